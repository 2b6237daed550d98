"""Git plumbing: read repository files at a ref, and what changed between two refs.

processes runs git; objects reads files and trees at a commit; graph names commits and their
ancestry; diffs says what changed between two commits; history reads whole spans of history.
session's `Repo` is the repository a command works on: every function that reads git takes it,
and it keeps what was read and the git processes still running.
"""

from .diffs import (
    Change,
    PathSet,
    changed,
    clean_merge_tree,
    clean_merge_trees,
    first_parent_changes,
    known_changes,
    prefetch_changes,
)
from .graph import (
    Graph,
    branch_tip,
    default_branch,
    ensure_commits,
    fetch_from_origin,
    is_ancestor,
    merge_base,
    prefetch_merge_bases,
    resolve,
    resolve_many,
    toplevel,
)
from .history import (
    commit_log,
    commits_changing,
    commits_touching,
    last_changes,
    prefetch_commit_logs,
    read_history_ahead,
    subjects,
)
from .objects import (
    SYMLINK_MODE,
    ZERO_SHA,
    GitTree,
    WorkTree,
    blob_ids,
    cat_blobs,
    prefetch_trees,
)
from .processes import (
    GitError,
    git,
    token_auth_env,
)
from .session import Repo

__all__ = [
    "SYMLINK_MODE",
    "ZERO_SHA",
    "Change",
    "GitError",
    "GitTree",
    "Graph",
    "PathSet",
    "Repo",
    "WorkTree",
    "blob_ids",
    "branch_tip",
    "cat_blobs",
    "changed",
    "clean_merge_tree",
    "clean_merge_trees",
    "commit_log",
    "commits_changing",
    "commits_touching",
    "default_branch",
    "ensure_commits",
    "fetch_from_origin",
    "first_parent_changes",
    "git",
    "is_ancestor",
    "known_changes",
    "last_changes",
    "merge_base",
    "prefetch_changes",
    "prefetch_commit_logs",
    "prefetch_merge_bases",
    "prefetch_trees",
    "read_history_ahead",
    "resolve",
    "resolve_many",
    "subjects",
    "token_auth_env",
    "toplevel",
]
