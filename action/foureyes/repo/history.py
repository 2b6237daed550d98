"""Whole-history reads, one git process per question however many commits it covers: commit logs,
the pass over a span's changes (read ahead in a thread), the commits that touched some paths."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .diffs import Change, PathSet, _diff_pairs
from .graph import Graph
from .objects import is_sha
from .processes import Ahead, GitError

if TYPE_CHECKING:
    from .session import Repo


_LOG_FORMAT = "%H%x1f%ae%x1f%ce%x1f%B%x1e"


def commit_log(repo: Repo, fork: str, head: str) -> list[tuple[str, str, str, str]]:
    """(sha, author email, committer email, message) of each commit of `fork..head`, oldest first
    (`git log --reverse`)."""
    key = ("log", fork, head)
    if key in repo.known:
        return list(repo.known[key])
    out = repo.git("log", "--reverse", f"--format={_LOG_FORMAT}", f"{fork}..{head}")
    found = _log_records(out)
    if is_sha(fork) and is_sha(head):
        repo.known[key] = tuple(found)
    return found


def _log_records(out: bytes) -> list[tuple[str, str, str, str]]:
    found = []
    for record in out.decode("utf-8", "replace").split("\x1e"):
        record = record.strip("\n")
        if record:
            sha, author, committer, message = record.split("\x1f", 3)
            found.append((sha, author, committer, message))
    return found


def prefetch_commit_logs(repo: Repo, graph: Graph, pairs: list[tuple[str, str]]) -> None:
    """`commit_log(fork, head)` for many pairs of full SHAs: the commits of each range from the
    graph,
    all their messages and dates in one `git log --no-walk --stdin`, in `git log`'s own order."""
    wanted = [
        (f, h)
        for f, h in dict.fromkeys(pairs)
        if is_sha(f) and is_sha(h) and f in graph and h in graph and ("log", f, h) not in repo.known
    ]
    if not wanted:
        return
    ranges = {(f, h): graph.only_in(h, f) for f, h in wanted}
    commits = list(dict.fromkeys(c for r in ranges.values() for c in r))
    by_sha: dict[str, tuple] = {}
    if commits:
        out = repo.git(
            "log",
            "--no-walk=unsorted",
            "--stdin",
            f"--format=%ct%x1f{_LOG_FORMAT}",
            input="".join(c + "\n" for c in commits).encode(),
        )
        for record in out.decode("utf-8", "replace").split("\x1e"):
            record = record.strip("\n")
            if record:
                when, sha, author, committer, message = record.split("\x1f", 4)
                by_sha[sha] = (int(when), (sha, author, committer, message))
    for (f, h), own in ranges.items():
        order = _log_order(graph, h, own, {c: by_sha[c][0] for c in own})
        repo.known[("log", f, h)] = tuple(by_sha[c][1] for c in reversed(order))


def _log_order(graph: Graph, head: str, own: frozenset[str], dates: dict[str, int]) -> list[str]:
    """The order `git log fork..head` prints ``own`` in: git walks from head taking the newest
    committer date first, equal dates in the order they were queued, and queues a commit's parents
    (in order) the first time it sees them. Only commits of the range queue commits of the range,
    so walking them alone gives their order."""
    import heapq

    if head not in own:
        return []
    queue = [(-dates[head], 0, head)]
    seen = {head}
    order: list[str] = []
    while queue:
        _, _, commit = heapq.heappop(queue)
        order.append(commit)
        for parent in graph.parents[commit]:
            if parent in own and parent not in seen:
                seen.add(parent)
                heapq.heappush(queue, (-dates[parent], len(seen), parent))
    return order


def read_history_ahead(repo: Repo, span: str, first_parent: bool = False) -> None:
    """Start the history pass `log_changes` will want for ``span`` (full SHAs only) in a thread,
    so that git walks the history on the other core while the caller parses the registry and the
    ledger; `log_changes` then waits for it. Nothing is shared but the answer, handed over once."""
    key = ("log-changes", span, first_parent)
    if not all(is_sha(part) for part in span.split("..")) or key in repo.known or key in repo.ahead:
        return
    repo.ahead[key] = Ahead(lambda: read_log_changes(repo, span, first_parent))


def log_changes(
    repo: Repo, span: str, first_parent: bool = False, reverse: bool = False
) -> list[tuple]:
    """`read_log_changes`, kept in the session when the span is made of full SHAs (commits_touching
    and last_changes read the same span in one deploy). Each non-root commit's changes are kept for
    `first_parent_changes` and `prefetch_changes`."""
    fixed = all(is_sha(part) for part in span.split(".."))
    key = ("log-changes", span, first_parent)
    whole = ("log-changes", span, False)
    if (
        fixed
        and first_parent
        and key not in repo.known
        and (whole in repo.known or whole in repo.ahead)
    ):
        repo.known[key] = _first_parent_chain(
            log_changes(repo, span), span.split("..")[-1]
        )  # from the whole pass
    if not fixed or key not in repo.known:
        ahead = repo.ahead.pop(key, None)
        found, trees = (
            ahead.result() if ahead is not None else read_log_changes(repo, span, first_parent)
        )
        for commit, parents, changes in found:
            if parents:
                repo.known[("first-parent", commit)] = changes
                repo.known[("parent", commit)] = parents[0]
                if (
                    commit in trees
                ):  # (a ref that moved between the pass's two git calls: not known)
                    repo.known[("from-to", parents[0], trees[commit])] = commit
        if not fixed:
            return list(reversed(found)) if reverse else list(found)
        repo.known[key] = found
    return list(reversed(repo.known[key])) if reverse else list(repo.known[key])


def _first_parent_chain(found: list, tip: str) -> tuple:
    """What `git log --first-parent` lists of a span, from what `git log` lists of it: the tip and
    each first parent in turn while it is in the span."""
    by_commit = {entry[0]: entry for entry in found}
    chain = []
    commit: str | None = tip
    while commit in by_commit:
        chain.append(by_commit[commit])
        parents = by_commit[commit][1]
        commit = parents[0] if parents else None
    return tuple(chain)


def read_log_changes(
    repo: Repo, span: str, first_parent: bool = False
) -> tuple[tuple, dict[str, str]]:
    """(commit, parents, what it changed over its first parent) of every commit of ``span`` in
    `git log` order, and each commit's tree. No pathspec: git would work out for every commit and
    every parent whether it matches there (the cost of the whole diff, again per parent) before
    printing anything; callers filter the paths.

    Merges are not diffed by `git log` here. A merge whose tree is its second parent's, where that
    parent's only parent is the first (a PR branch up to date when merged), changed over its first
    parent exactly what that parent changed (the same two trees). The other merges are diffed as
    `--diff-merges=first-parent` would, by one `git diff-tree --stdin` that runs on the other core
    while `git log` diffs the rest: the commits and their trees come first, from a `git log` with no
    diff (a fraction of a second), so which merges need it is known before either starts."""
    only_first = ["--first-parent"] if first_parent else []
    shape: dict[str, tuple[str, list[str]]] = {}
    listed = repo.git("log", *only_first, "--no-show-signature", "--format=%H %T %P", span)
    for line in listed.decode().splitlines():
        commit, tree, *parents = line.split()
        shape[commit] = (tree, parents)
    derived: dict[str, str] = {}  # merge -> the side commit whose changes are its own
    unknown: list[tuple[str, str]] = []
    for commit, (tree, parents) in shape.items():
        if len(parents) < 2:
            continue
        side = shape.get(parents[1])
        if len(parents) == 2 and side is not None and side[0] == tree and side[1] == parents[:1]:
            derived[commit] = parents[1]
        else:
            unknown.append((parents[0], commit))
    pending = Ahead(lambda: _diff_pairs(repo, unknown)) if unknown else None
    out = repo.git(
        "log",
        *only_first,
        "--no-show-signature",
        "--diff-merges=off",
        "--no-renames",
        "--no-abbrev",
        "--format=%x00%H %P",
        "--raw",
        "-z",
        span,
    )
    # -z: each commit is "\0<sha> <parents>\0", then "\n:<modes> <ids>
    # <status>\0<path>\0:...\0<path>\0"
    # when it changed anything; a path is never empty, so an empty token announces the next commit
    tokens = out.split(b"\0")
    found: list[tuple[str, list[str], tuple]] = []
    i = 0
    while i + 1 < len(tokens):
        if tokens[i] or not tokens[i + 1]:
            raise GitError(f"git log --raw: unexpected output at {tokens[i][:60]!r}")
        commit, *parents = tokens[i + 1].decode().split()
        i += 2
        changes = []
        while i < len(tokens) and tokens[i]:
            changes.append(Change.from_raw(tokens[i], tokens[i + 1]))
            i += 2
        found.append((commit, parents, tuple(changes)))
        if i == len(tokens) - 1 and not tokens[i]:
            break
    own = {commit: changes for commit, _, changes in found}
    merged = {commit: own[side] for commit, side in derived.items() if side in own}
    for (_, commit), block in zip(
        unknown, pending.result() if pending is not None else [], strict=False
    ):
        merged[commit] = tuple(block)
    late = [
        (parents[0], commit)
        for commit, parents, _ in found
        if len(parents) > 1 and commit not in merged
    ]
    for (_, commit), block in zip(
        late, _diff_pairs(repo, late) if late else [], strict=False
    ):  # a ref moved between the two
        merged[commit] = tuple(block)
    return (
        tuple((commit, parents, merged.get(commit, changes)) for commit, parents, changes in found),
        {commit: tree for commit, (tree, _) in shape.items()},
    )


def last_changes(
    repo: Repo, span: str, paths: list[str], first_parent: bool = False
) -> dict[str, str]:
    """The newest commit in ``span`` that changed each path under ``paths``, in one `git log`
    (a merge counts as changing what it brought in over its first parent)."""
    if not paths:
        return {}
    asked = PathSet(paths)
    last: dict[str, str] = {}
    for commit, _, changes in log_changes(repo, span, first_parent=first_parent):
        for c in changes:
            if c.path in asked:
                last.setdefault(c.path, commit)
    return last


def commits_changing(repo: Repo, span: str, paths: list[str]) -> dict[str, list[str]]:
    """Every commit in ``span`` (newest first) that changed each path under ``paths``, over its
    first parent (a merge counts as changing what it brought in), from the same pass as
    ``last_changes``."""
    asked = PathSet(paths)
    found: dict[str, list[str]] = {}
    for commit, _, changes in log_changes(repo, span):
        for c in changes:
            if c.path in asked and commit not in found.setdefault(c.path, []):
                found[c.path].append(commit)
    return found


def commits_touching(repo: Repo, span: str, paths: list[str]) -> list[str]:
    """Commits (oldest first) in ``span`` that changed any of ``paths``: what `git log
    --full-history -- <paths>` lists, which keeps a merge unless it matches every parent at those
    paths. Each commit's changes over its first parent come from one pass; a merge that matches its
    first parent is then compared with its other parents, all of them in one `git diff-tree`."""
    if not paths:
        return []
    asked = PathSet(paths)
    found: dict[str, bool] = {}
    others: list[tuple[str, str]] = []
    for commit, parents, changes in log_changes(repo, span, reverse=True):
        found[commit] = any(c.path in asked for c in changes)
        if not found[commit] and len(parents) > 1:
            others += [(parent, commit) for parent in parents[1:]]
    if others:
        for (_, merge), block in zip(
            others, _diff_pairs(repo, others, asked.pathspec), strict=False
        ):
            found[merge] = found[merge] or any(c.path in asked for c in block)
    return [commit for commit, touched in found.items() if touched]


def subjects(repo: Repo, commits: list[str]) -> dict[str, str]:
    """Each commit's subject line (first 80 characters), in one `git log --no-walk`."""
    if not commits:
        return {}
    out = repo.git("log", "--no-walk=unsorted", "--format=%H%x1f%s%x1e", *dict.fromkeys(commits))
    found = {}
    for record in out.decode("utf-8", "replace").split("\x1e"):
        if "\x1f" in record:
            sha, text = record.strip("\n").split("\x1f", 1)
            found[sha] = text.strip()[:80]
    return found
