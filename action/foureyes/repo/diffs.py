"""What changed between commits: diffs one by one or in batches, and merges worked out by git."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .objects import is_sha
from .processes import GitError

if TYPE_CHECKING:
    from .session import Repo


def clean_merge_tree(repo: Repo, ours: str, theirs: str) -> str | None:
    """The tree of a three-way merge of two commits, or None if it does not merge cleanly
    (`git merge-tree --write-tree`, git >= 2.38: exit 0 clean, 1 conflicts; the tree id is the
    first line of its output)."""
    proc = subprocess.run(
        ["git", "-C", str(repo.path), "merge-tree", "--write-tree", "--no-messages", ours, theirs],
        capture_output=True,
        env={**os.environ, "LC_ALL": "C"},
    )
    if proc.returncode == 1:
        return None
    if proc.returncode != 0:
        raise GitError(
            f"git merge-tree: {proc.stderr.decode('utf-8', 'replace').strip() or 'failed'}"
        )
    return proc.stdout.decode().split("\n", 1)[0].strip()


def clean_merge_trees(
    repo: Repo, pairs: list[tuple[str, str]]
) -> dict[tuple[str, str], str | None]:
    """`clean_merge_tree` of many pairs in one `git merge-tree --write-tree --stdin` (git >= 2.39:
    with -z, each merge answers `<1 clean | 0 conflicts>\\0<tree>\\0[<conflicted
    path>\\0...]\\0`)."""
    wanted = list(dict.fromkeys(pairs))
    if not wanted:
        return {}
    out = repo.git(
        "merge-tree",
        "--write-tree",
        "--stdin",
        "-z",
        "--no-messages",
        "--name-only",
        input="".join(f"{ours} {theirs}\n" for ours, theirs in wanted).encode(),
    ).decode("utf-8", "surrogateescape")
    tokens = out.split("\0")
    found: dict[tuple[str, str], str | None] = {}
    pos = 0
    for pair in wanted:
        status, tree = ([*tokens[pos : pos + 2], "", ""])[:2]
        if status not in ("0", "1") or not is_sha(tree):
            raise GitError(
                f"git merge-tree --stdin: unexpected answer {status!r} for {pair[0][:12]} "
                f"{pair[1][:12]}"
            )
        found[pair] = tree if status == "1" else None
        pos += 2
        while pos < len(tokens) and tokens[pos]:  # the conflicted paths, up to the empty end marker
            pos += 1
        pos += 1
    return found


def known_changes(repo: Repo, base: str, head: str) -> list[Change] | None:
    """`changed(merge_base(base, head), head)` (what the PR base..head changed) when this run has
    already worked it out, else None: no git process."""
    fork = repo.known.get(("merge-base", base, head))
    found = repo.known.get(("diff", fork, head)) if fork else None
    return None if found is None else list(found)


@dataclass(frozen=True)
class Change:
    """One changed path between two commits (renames are not detected: delete + add)."""

    path: str
    status: str  # A, D, M, T
    old_mode: str
    new_mode: str
    old_sha: str
    new_sha: str

    @classmethod
    def from_raw(cls, meta: bytes, path: bytes) -> Change:
        """The change one `--raw` record names: ``meta`` is `:<old mode> <new mode> <old id> <new
        id> <status>` (after a newline in `git log -z` output), ``path`` the path that follows it."""
        old_mode, new_mode, old_sha, new_sha, status = meta.decode().lstrip("\n:").split(" ")
        return cls(
            path.decode("utf-8", "surrogateescape"), status[0], old_mode, new_mode, old_sha, new_sha
        )


def changed(repo: Repo, base: str, head: str) -> list[Change]:
    key = ("diff", base, head)
    if key in repo.known:
        return list(repo.known[key])
    out = repo.git("diff", "--raw", "-z", "--no-renames", "--no-abbrev", base, head)
    parts = out.split(b"\0")
    changes = []
    for i in range(0, len(parts) - 1, 2):
        changes.append(Change.from_raw(parts[i], parts[i + 1]))
    if is_sha(base) and is_sha(head):
        repo.known[key] = tuple(changes)
    return changes


def prefetch_changes(
    repo: Repo, pairs: list[tuple[str, str]], generation: dict[str, int] | None = None
) -> None:
    """Work out `changed(base, head)` for many pairs of full SHAs in one `git diff-tree --stdin`
    (a line `<head> <base>` is "head, as if its parent were base"; `--always` prints the header of
    an
    empty diff too, so the answers come in the order asked), for `changed` to answer from memory.
    ``generation``: pairs are asked newest head first (see `blob_ids`)."""
    wanted = list(
        dict.fromkeys(
            (b, h) for b, h in pairs if is_sha(b) and is_sha(h) and ("diff", b, h) not in repo.known
        )
    )
    # a diff depends on the two trees alone: when a history pass met a commit whose parent is base
    # and whose tree is head's (a one-commit PR's own commit; the merge or squash of a PR that was
    # up to date), base..head changed what that commit changed
    reader = repo.reader()
    reader.prefetch([h for _, h in wanted], [], [])  # the heads' trees, in one exchange
    for b, h in wanted:
        seen = repo.known.get(("from-to", b, reader.root_tree(h)))
        if seen is not None:
            repo.known[("diff", b, h)] = repo.known[("first-parent", seen)]
    wanted = [(b, h) for b, h in wanted if ("diff", b, h) not in repo.known]
    if not wanted:
        return
    if generation:
        wanted.sort(key=lambda pair: -generation.get(pair[1], 0))
    for (b, h), block in zip(wanted, _diff_pairs(repo, wanted), strict=False):
        repo.known[("diff", b, h)] = tuple(block)


def _diff_pairs(
    repo: Repo, pairs: list[tuple[str, str]], pathspec: list[str] | None = None
) -> list[list[Change]]:
    """`changed(base, head)` of each pair, in order, from one `git diff-tree --stdin --always`."""
    out = repo.git(
        "diff-tree",
        "--stdin",
        "--always",
        "-r",
        "-z",
        "--no-renames",
        "--no-abbrev",
        *(["--", *pathspec] if pathspec else []),
        input="".join(f"{h} {b}\n" for b, h in pairs).encode(),
    )
    blocks: list[list[Change]] = []
    parts = out.split(b"\0")
    i = 0
    while i < len(parts):
        token = parts[i]
        if token.startswith(b":"):
            blocks[-1].append(Change.from_raw(token, parts[i + 1]))
            i += 2
            continue
        if token.strip():
            blocks.append([])
        i += 1
    if len(blocks) != len(pairs):
        raise GitError(f"git diff-tree --stdin: {len(blocks)} answers for {len(pairs)} questions")
    return blocks


class PathSet:
    """Paths asked about (files, and directories ending in "/"), with the few directories that
    cover them. git matches every changed entry of every commit against every pathspec, so a
    thousand file names cost a thousand comparisons per entry: asking for their directories and
    keeping the asked names here answers the same at the cost of a handful."""

    def __init__(self, paths: list[str]):
        self.exact = frozenset(
            p.rstrip("/") for p in paths
        )  # a name without "/" may be a directory too
        self.dirs = tuple(sorted({p.rstrip("/") + "/" for p in paths}))
        self.pathspec = sorted(
            {p if p.endswith("/") else p.rsplit("/", 1)[0] + "/" if "/" in p else p for p in paths}
        )

    def __contains__(self, name: str) -> bool:
        return name in self.exact or name.startswith(self.dirs)


def first_parent_changes(repo: Repo, commits: list[str]) -> dict[str, list[Change]]:
    """What each commit changed over its first parent (as `changed(parent, commit)`), for many
    commits in one `git diff-tree --stdin`. A root commit changes nothing here."""
    if not commits:
        return {}
    found: dict[str, list[Change]] = {c: [] for c in commits}
    for c in commits:  # what a pass over the history (commits_touching, last_changes) has seen
        if ("first-parent", c) in repo.known:
            found[c] = list(repo.known[("first-parent", c)])
    asked = [c for c in dict.fromkeys(commits) if ("first-parent", c) not in repo.known]
    if not asked:
        return found
    out = repo.git(
        "diff-tree",
        "--stdin",
        "-r",
        "-z",
        "-m",
        "--first-parent",
        "--no-renames",
        "--no-abbrev",
        input="".join(c + "\n" for c in asked).encode(),
    )
    parts = out.split(b"\0")
    current = None
    i = 0
    while i < len(parts):
        token = parts[i]
        if token.startswith(b":"):
            if current is None:  # diff-tree prints each commit's id before its changes
                raise GitError("git diff-tree --stdin: a change before any commit id")
            found[current].append(Change.from_raw(token, parts[i + 1]))
            i += 2
            continue
        if token.strip():
            current = token.decode().strip()
        i += 1
    return found
