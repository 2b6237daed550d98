"""The commit graph: names to commits, ancestry, merge bases, branches, fetching what is missing."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from .objects import is_sha
from .processes import GitError, git, token_auth_env

if TYPE_CHECKING:
    from .session import Repo


def toplevel(start: Path | str = ".") -> Path | None:
    try:
        return Path(git(start, "rev-parse", "--show-toplevel").decode().strip())
    except GitError:
        return None


_FIXED_NAME = re.compile(r"[0-9a-f]{40}(?:[~^][0-9]*)*")  # a full SHA, maybe with ~N / ^N after it


def resolve(repo: Repo, ref: str) -> str:
    """A ref's commit. A name that starts with a full SHA (``<sha>``, ``<sha>~1``) always names the
    same commit: it is asked of the session's open `cat-file --batch` (no new git process) and kept."""
    if _FIXED_NAME.fullmatch(ref):
        key = ("resolve", ref)
        if key not in repo.known:
            found = repo.reader().peel(ref)
            if found is None:
                raise GitError(f"unknown git revision {ref!r}")
            repo.known[key] = found
        return repo.known[key]
    return _resolve(repo, ref)


def _resolve(repo: Repo, ref: str) -> str:
    try:
        return (
            repo.git("rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
            .decode()
            .strip()
        )
    except GitError:
        hint = ": the repository has no commits yet" if ref == "HEAD" else ""
        raise GitError(f"unknown git revision {ref!r}{hint}") from None


def branch_tip(repo: Repo, name: str) -> str:
    """A branch's commit as the server has it (origin/<name>, what a CI checkout fetches), else the
    local branch."""
    for ref in (f"refs/remotes/origin/{name}", f"refs/heads/{name}"):
        try:
            return (
                repo.git(
                    "rev-parse",
                    "--verify",
                    "--quiet",
                    "--end-of-options",
                    f"{ref}^{{commit}}",
                )
                .decode()
                .strip()
            )
        except GitError:
            continue
    raise GitError(f"branch {name!r} is not here: fetch it (actions/checkout with fetch-depth: 0)")


def is_ancestor(repo: Repo, a: str, b: str) -> bool:
    """``a`` is ``b`` or one of its ancestors."""
    proc = subprocess.run(
        ["git", "-C", str(repo.path), "merge-base", "--is-ancestor", a, b], capture_output=True
    )
    if proc.returncode not in (0, 1):
        raise GitError(
            f"git merge-base --is-ancestor: {proc.stderr.decode('utf-8', 'replace').strip()}"
        )
    return proc.returncode == 0


def default_branch(repo: Repo) -> str:
    """The default branch offline: origin's HEAD when known, else main."""
    try:
        return (
            repo.git("symbolic-ref", "--short", "refs/remotes/origin/HEAD")
            .decode()
            .strip()
            .split("/", 1)[1]
        )
    except (GitError, IndexError):
        return "main"


def merge_base(repo: Repo, a: str, b: str) -> str:
    key = ("merge-base", a, b)
    if key in repo.known:
        return repo.known[key]
    try:
        found = repo.git("merge-base", a, b).decode().strip()
    except GitError:
        raise GitError(f"{a[:12]} and {b[:12]} share no history") from None
    if is_sha(a) and is_sha(b):
        repo.known[key] = found
    return found


def prefetch_merge_bases(repo: Repo, graph: Graph, pairs: list[tuple[str, str]]) -> None:
    """`merge_base` of many pairs of full SHAs worked out from a graph already read, for
    `merge_base` to answer from memory; a pair with several best common ancestors is left to git."""
    for a, b in pairs:
        key = ("merge-base", a, b)
        if key not in repo.known and is_sha(a) and is_sha(b):
            found = graph.merge_base(a, b)
            if found is not None:
                repo.known[key] = found


def ensure_commits(repo: Repo, shas: list[str], token: str | None = None) -> None:
    """Fetch commits that are not here yet (a PR head is fetched as data, never checked out).
    With ``token``, the fetch authenticates: the deploy checks out with `persist-credentials:
    false`, and on a private repository the head of a squash-merged PR whose branch is gone can
    only be fetched with credentials."""
    wanted = list(dict.fromkeys(s for s in shas if s))
    if not wanted:
        return
    out = (
        repo.git(
            "cat-file",
            "--batch-check=%(objecttype)",  # one process, whatever the number of commits
            input="".join(f"{s}^{{commit}}\n" for s in wanted).encode(),
        )
        .decode()
        .splitlines()
    )
    missing = [s for s, kind in zip(wanted, out, strict=False) if kind != "commit"]
    if missing:
        fetch_from_origin(repo, missing, token)


def fetch_from_origin(repo: Repo, refspecs: list[str], token: str | None = None) -> None:
    """`git fetch` of ``refspecs`` (commit ids, or `+<src>:<dst>` refs) from origin, no tags; with
    ``token``, authenticated as `token_auth_env` says."""
    repo.git("fetch", "--no-tags", "--quiet", "origin", *refspecs, env_extra=token_auth_env(token))


def resolve_many(repo: Repo, refs: list[str]) -> dict[str, str]:
    """Each ref's commit in one `git cat-file --batch-check` (``<ref>^{commit}``); an unknown ref is
    the same error `resolve` gives."""
    wanted = list(dict.fromkeys(refs))
    if not wanted:
        return {}
    for ref in wanted:
        if "\n" in ref or not ref.strip():
            raise GitError(f"unknown git revision {ref!r}")
    out = (
        repo.git(
            "cat-file",
            "--batch-check=%(objectname) %(objecttype)",
            input="".join(f"{r}^{{commit}}\n" for r in wanted).encode(),
        )
        .decode()
        .splitlines()
    )
    found = {}
    for ref, line in zip(wanted, out, strict=False):
        sha, _, kind = line.partition(" ")
        if kind != "commit":
            raise GitError(f"unknown git revision {ref!r}")
        found[ref] = sha
        if _FIXED_NAME.fullmatch(ref):  # `resolve` of it later answers from memory
            repo.known[("resolve", ref)] = sha
    return found


class Graph:
    """The commit graph reachable from some tips, read once (`git rev-list --parents`), so that
    ancestry and "the commits a PR brought" are answered without a git process per question."""

    def __init__(self, repo: Repo, tips: list[str]):
        self.parents: dict[str, list[str]] = {}
        self.generation: dict[str, int] = {}
        tips = list(dict.fromkeys(t for t in tips if t))
        if not tips:
            return
        out = repo.git("rev-list", "--topo-order", "--reverse", "--parents", *tips).decode()
        for line in out.splitlines():  # parents come before their children
            commit, *parents = line.split()
            self.parents[commit] = parents
            self.generation[commit] = 1 + max((self.generation[p] for p in parents), default=0)
        self._ancestors: dict[str, frozenset[str]] = {}

    def __contains__(self, commit: str) -> bool:
        return commit in self.parents

    def ancestors(self, commit: str) -> frozenset[str]:
        """``commit`` and every commit before it."""
        if commit not in self._ancestors:
            seen = {commit}
            stack = [commit]
            while stack:
                for parent in self.parents.get(stack.pop(), ()):
                    if parent not in seen:
                        seen.add(parent)
                        stack.append(parent)
            self._ancestors[commit] = frozenset(seen)
        return self._ancestors[commit]

    def merge_base(self, a: str, b: str) -> str | None:
        """The best common ancestor of ``a`` and ``b`` when there is exactly one (what `git
        merge-base a b` answers then), else None. git's own walk: down from both by generation,
        painting each commit with the sides it is reachable from; a commit painted by both is a
        common ancestor, and everything below it is stale. Commits come off the queue in falling
        generation, so no later common ancestor can be above an earlier one."""
        import heapq

        if a not in self.parents or b not in self.parents:
            return None
        if a == b:
            return a
        A, B, STALE = 1, 2, 4
        flags = {a: A, b: B}
        queue = [(-self.generation[a], a), (-self.generation[b], b)]
        heapq.heapify(queue)
        done: set[str] = set()
        found: list[str] = []
        while queue and not all(flags[c] & STALE for _, c in queue):
            _, commit = heapq.heappop(queue)
            if commit in done:
                continue
            done.add(commit)
            flag = flags[commit]
            if flag & (A | B) == A | B:
                if not flag & STALE:
                    found.append(commit)
                flag |= STALE
            for parent in self.parents[commit]:
                if flags.get(parent, 0) | flag != flags.get(parent, 0):
                    flags[parent] = flags.get(parent, 0) | flag
                    heapq.heappush(queue, (-self.generation[parent], parent))
        return found[0] if len(found) == 1 else None

    def only_in(self, head: str, base: str) -> frozenset[str]:
        """`git rev-list head ^base`: commits reachable from head and not from base. Walks down
        from both by generation (a parent's is always lower than its child's) and stops once every
        commit left to visit is reachable from base."""
        import heapq

        HEAD, BASE = 1, 2
        flags: dict[str, int] = {head: HEAD}
        flags[base] = flags.get(base, 0) | BASE
        queue = [(-self.generation[c], c) for c in {head, base}]
        heapq.heapify(queue)
        done: set[str] = set()
        result = set()
        while queue and any(flags[c] == HEAD for _, c in queue):
            _, commit = heapq.heappop(queue)
            if commit in done:
                continue
            done.add(commit)
            flag = flags[commit]
            if flag == HEAD:
                result.add(commit)
            for parent in self.parents[commit]:
                before = flags.get(parent, 0)
                flags[parent] = before | flag
                if parent not in done:
                    heapq.heappush(queue, (-self.generation[parent], parent))
        return frozenset(result)
