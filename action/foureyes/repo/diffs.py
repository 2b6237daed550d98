"""What changed between commits: diffs one by one or in batches, and merges worked out by git."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .objects import _reader, is_sha
from .processes import GitError, git
from .session import _IMMUTABLE


def clean_merge_tree(root: Path, ours: str, theirs: str) -> str | None:
    """The tree of a three-way merge of two commits, or None if it does not merge cleanly
    (`git merge-tree --write-tree`, git >= 2.38: exit 0 clean, 1 conflicts; the tree id is the
    first line of its output)."""
    proc = subprocess.run(
        ["git", "-C", str(root), "merge-tree", "--write-tree", "--no-messages", ours, theirs],
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
    root: Path, pairs: list[tuple[str, str]]
) -> dict[tuple[str, str], str | None]:
    """`clean_merge_tree` of many pairs in one `git merge-tree --write-tree --stdin` (git >= 2.39:
    with -z, each merge answers `<1 clean | 0 conflicts>\\0<tree>\\0[<conflicted
    path>\\0...]\\0`)."""
    wanted = list(dict.fromkeys(pairs))
    if not wanted:
        return {}
    out = git(
        root,
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


def known_changes(root: Path, base: str, head: str) -> list[Change] | None:
    """`changed(merge_base(base, head), head)` (what the PR base..head changed) when this run has
    already worked it out, else None: no git process."""
    fork = _IMMUTABLE.get(("merge-base", str(root), base, head))
    found = _IMMUTABLE.get(("diff", str(root), fork, head)) if fork else None
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


def changed(root: Path, base: str, head: str) -> list[Change]:
    key = ("diff", str(root), base, head)
    if key in _IMMUTABLE:
        return list(_IMMUTABLE[key])
    out = git(root, "diff", "--raw", "-z", "--no-renames", "--no-abbrev", base, head)
    parts = out.split(b"\0")
    changes = []
    for i in range(0, len(parts) - 1, 2):
        meta, path = parts[i].decode(), parts[i + 1].decode("utf-8", "surrogateescape")
        old_mode, new_mode, old_sha, new_sha, status = meta.lstrip(":").split(" ")
        changes.append(Change(path, status[0], old_mode, new_mode, old_sha, new_sha))
    if is_sha(base) and is_sha(head):
        _IMMUTABLE[key] = tuple(changes)
    return changes


def prefetch_changes(
    root: Path, pairs: list[tuple[str, str]], generation: dict[str, int] | None = None
) -> None:
    """Work out `changed(base, head)` for many pairs of full SHAs in one `git diff-tree --stdin`
    (a line `<head> <base>` is "head, as if its parent were base"; `--always` prints the header of
    an
    empty diff too, so the answers come in the order asked), for `changed` to answer from memory.
    ``generation``: pairs are asked newest head first (see `blob_ids`)."""
    wanted = list(
        dict.fromkeys(
            (b, h)
            for b, h in pairs
            if is_sha(b) and is_sha(h) and ("diff", str(root), b, h) not in _IMMUTABLE
        )
    )
    # a diff depends on the two trees alone: when a history pass met a commit whose parent is base
    # and whose tree is head's (a one-commit PR's own commit; the merge or squash of a PR that was
    # up to date), base..head changed what that commit changed
    reader = _reader(root)
    reader.prefetch([h for _, h in wanted], [], [])  # the heads' trees, in one exchange
    for b, h in wanted:
        seen = _IMMUTABLE.get(("from-to", str(root), b, reader.root_tree(h)))
        if seen is not None:
            _IMMUTABLE[("diff", str(root), b, h)] = _IMMUTABLE[("first-parent", str(root), seen)]
    wanted = [(b, h) for b, h in wanted if ("diff", str(root), b, h) not in _IMMUTABLE]
    if not wanted:
        return
    if generation:
        wanted.sort(key=lambda pair: -generation.get(pair[1], 0))
    for (b, h), block in zip(wanted, _diff_pairs(root, wanted), strict=False):
        _IMMUTABLE[("diff", str(root), b, h)] = tuple(block)


def _diff_pairs(
    root: Path, pairs: list[tuple[str, str]], pathspec: list[str] | None = None
) -> list[list[Change]]:
    """`changed(base, head)` of each pair, in order, from one `git diff-tree --stdin --always`."""
    out = git(
        root,
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
            old_mode, new_mode, old_sha, new_sha, status = token.decode().lstrip(":").split(" ")
            blocks[-1].append(
                Change(
                    parts[i + 1].decode("utf-8", "surrogateescape"),
                    status[0],
                    old_mode,
                    new_mode,
                    old_sha,
                    new_sha,
                )
            )
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


def first_parent_changes(root: Path, commits: list[str]) -> dict[str, list[Change]]:
    """What each commit changed over its first parent (as `changed(parent, commit)`), for many
    commits in one `git diff-tree --stdin`. A root commit changes nothing here."""
    if not commits:
        return {}
    found: dict[str, list[Change]] = {c: [] for c in commits}
    for c in commits:  # what a pass over the history (commits_touching, last_changes) has seen
        if ("first-parent", str(root), c) in _IMMUTABLE:
            found[c] = list(_IMMUTABLE[("first-parent", str(root), c)])
    asked = [c for c in dict.fromkeys(commits) if ("first-parent", str(root), c) not in _IMMUTABLE]
    if not asked:
        return found
    out = git(
        root,
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
            old_mode, new_mode, old_sha, new_sha, status = token.decode().lstrip(":").split(" ")
            path = parts[i + 1].decode("utf-8", "surrogateescape")
            if current is None:  # diff-tree prints each commit's id before its changes
                raise GitError("git diff-tree --stdin: a change before any commit id")
            found[current].append(Change(path, status[0], old_mode, new_mode, old_sha, new_sha))
            i += 2
            continue
        if token.strip():
            current = token.decode().strip()
        i += 1
    return found
