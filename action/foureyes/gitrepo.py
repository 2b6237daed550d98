"""Git plumbing: read repository files at a ref, and what changed between two refs.

Reads are batched through one `git cat-file --batch` process, so the cost of a plan follows the
number of changed files, never the size of the registry. PR code is only ever read as data.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import yamlload
from .yamlload import LoadError

SYMLINK_MODE = "120000"
ZERO_SHA = "0" * 40


class GitError(Exception):
    pass


def git(root: Path | str, *args: str, input: bytes | None = None, env_extra: dict | None = None) -> bytes:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", **(env_extra or {})}
    try:
        proc = subprocess.run(["git", "-C", str(root), *args], input=input, capture_output=True, env=env, check=False)
    except FileNotFoundError:
        raise GitError("git is not installed") from None
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git {' '.join(args[:2])}: {message[-1] if message else 'failed'}")
    return proc.stdout


def toplevel(start: Path | str = ".") -> Path | None:
    try:
        return Path(git(start, "rev-parse", "--show-toplevel").decode().strip())
    except GitError:
        return None


def resolve(root: Path, ref: str) -> str:
    try:
        return git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}").decode().strip()
    except GitError:
        hint = ": the repository has no commits yet" if ref == "HEAD" else ""
        raise GitError(f"unknown git revision {ref!r}{hint}") from None


def branch_tip(root: Path, name: str) -> str:
    """A branch's commit as the server has it (origin/<name>, what a CI checkout fetches), else the
    local branch."""
    for ref in (f"refs/remotes/origin/{name}", f"refs/heads/{name}"):
        try:
            return git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}").decode().strip()
        except GitError:
            continue
    raise GitError(f"branch {name!r} is not here: fetch it (actions/checkout with fetch-depth: 0)")


def is_ancestor(root: Path, a: str, b: str) -> bool:
    """``a`` is ``b`` or one of its ancestors."""
    proc = subprocess.run(["git", "-C", str(root), "merge-base", "--is-ancestor", a, b], capture_output=True)
    if proc.returncode not in (0, 1):
        raise GitError(f"git merge-base --is-ancestor: {proc.stderr.decode('utf-8', 'replace').strip()}")
    return proc.returncode == 0


def default_branch(root: Path) -> str:
    """The default branch offline: origin's HEAD when known, else main."""
    try:
        return git(root, "symbolic-ref", "--short", "refs/remotes/origin/HEAD").decode().strip().split("/", 1)[1]
    except (GitError, IndexError):
        return "main"


def clean_merge_tree(root: Path, ours: str, theirs: str) -> str | None:
    """The tree of a three-way merge of two commits, or None if it does not merge cleanly
    (`git merge-tree --write-tree`, git >= 2.38: exit 0 clean, 1 conflicts; the tree id is the
    first line of its output)."""
    proc = subprocess.run(["git", "-C", str(root), "merge-tree", "--write-tree", "--no-messages", ours, theirs],
                          capture_output=True, env={**os.environ, "LC_ALL": "C"})
    if proc.returncode == 1:
        return None
    if proc.returncode != 0:
        raise GitError(f"git merge-tree: {proc.stderr.decode('utf-8', 'replace').strip() or 'failed'}")
    return proc.stdout.decode().split("\n", 1)[0].strip()


def merge_base(root: Path, a: str, b: str) -> str:
    try:
        return git(root, "merge-base", a, b).decode().strip()
    except GitError:
        raise GitError(f"{a[:12]} and {b[:12]} share no history") from None


def cat_blobs(root: Path, names: list[str]) -> dict[str, bytes | None]:
    """Read many objects (`<sha>` or `<ref>:<path>`) in one `git cat-file --batch` call."""
    if not names:
        return {}
    for name in names:
        if "\n" in name:
            raise GitError(f"object name with a newline: {name!r}")
    out = git(root, "cat-file", "--batch", input="".join(n + "\n" for n in names).encode())
    result: dict[str, bytes | None] = {}
    pos = 0
    for name in names:
        end = out.index(b"\n", pos)
        header = out[pos:end].decode()
        pos = end + 1
        if header.endswith(" missing") or header.endswith(" ambiguous"):
            result[name] = None
            continue
        _sha, kind, size = header.split(" ")
        size_n = int(size)
        result[name] = out[pos:pos + size_n] if kind == "blob" else None
        pos += size_n + 1
    return result


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
    out = git(root, "diff", "--raw", "-z", "--no-renames", "--no-abbrev", base, head)
    parts = out.split(b"\0")
    changes = []
    for i in range(0, len(parts) - 1, 2):
        meta, path = parts[i].decode(), parts[i + 1].decode("utf-8", "surrogateescape")
        old_mode, new_mode, old_sha, new_sha, status = meta.lstrip(":").split(" ")
        changes.append(Change(path, status[0], old_mode, new_mode, old_sha, new_sha))
    return changes


def last_changes(root: Path, span: str, paths: list[str], first_parent: bool = False) -> dict[str, str]:
    """The newest commit in ``span`` that changed each path under ``paths``, in one `git log`
    (a merge counts as changing what it brought in over its first parent)."""
    if not paths:
        return {}
    history = ["--first-parent"] if first_parent else ["--full-history"]
    out = git(root, "log", *history, "--diff-merges=first-parent", "--format=%x00%H", "--name-only", span, "--", *paths)
    last: dict[str, str] = {}
    for block in out.decode("utf-8", "surrogateescape").split("\x00")[1:]:
        sha, *names = block.split("\n")
        for name in filter(None, names):
            last.setdefault(name, sha)
    return last


class GitTree:
    """Files of the repository at one commit."""

    def __init__(self, root: Path, commit: str):
        self.root = root
        self.commit = commit

    def read(self, path: str) -> bytes | None:
        return self.read_many([path]).get(path)

    def read_many(self, paths: list[str]) -> dict[str, bytes]:
        modes = self._modes(paths)
        for path, mode in modes.items():
            if mode == SYMLINK_MODE:
                raise LoadError(path, "symlinks are not allowed in the registry or policies")
        blobs = cat_blobs(self.root, [f"{self.commit}:{p}" for p in paths])
        return {p: data for p in paths if (data := blobs[f"{self.commit}:{p}"]) is not None}

    def list(self, prefix: str) -> list[str]:
        out = git(self.root, "ls-tree", "-r", "-z", "--name-only", self.commit, "--", prefix)
        return [p.decode() for p in out.split(b"\0") if p]

    def _modes(self, paths: list[str]) -> dict[str, str]:
        if not paths:
            return {}
        out = git(self.root, "ls-tree", "-z", self.commit, "--", *paths)
        modes = {}
        for entry in out.split(b"\0"):
            if entry:
                meta, path = entry.split(b"\t", 1)
                modes[path.decode()] = meta.decode().split(" ")[0]
        return modes


class WorkTree:
    """Files of a directory on disk (the working tree you stand in)."""

    def __init__(self, root: Path):
        self.root = root

    def read(self, path: str) -> bytes | None:
        try:
            return yamlload.read_bytes(self.root / path, self.root)
        except FileNotFoundError:
            return None
        except LoadError as err:
            raise LoadError(path, err.message, err.line, err.col) from None

    def read_many(self, paths: list[str]) -> dict[str, bytes]:
        return {p: data for p in paths if (data := self.read(p)) is not None}

    def list(self, prefix: str) -> list[str]:
        base = self.root / prefix
        if not base.is_dir():
            return []
        return sorted(p.relative_to(self.root).as_posix() for p in base.rglob("*") if p.is_file() or p.is_symlink())


def ensure_commits(root: Path, shas: list[str], token: str | None = None) -> None:
    """Fetch commits that are not here yet (a PR head is fetched as data, never checked out).
    With ``token``, the fetch authenticates: the deploy checks out with `persist-credentials:
    false`, and on a private repository the head of a squash-merged PR whose branch is gone can
    only be fetched with credentials."""
    missing = [s for s in shas if subprocess.run(
        ["git", "-C", str(root), "cat-file", "-e", f"{s}^{{commit}}"], capture_output=True).returncode != 0]
    if missing:
        git(root, "fetch", "--no-tags", "--quiet", "origin", *missing, env_extra=token_auth_env(token))


def token_auth_env(token: str | None) -> dict:
    """Git configuration that sends ``token`` as GitHub expects from Actions (the header
    actions/checkout sets: `AUTHORIZATION: basic base64(x-access-token:TOKEN)`), passed through
    GIT_CONFIG_COUNT/KEY/VALUE (git >= 2.31) so it never appears in a process's argv or in a
    config file. Appended after any GIT_CONFIG_* entries already in the environment."""
    if not token:
        return {}
    import base64

    count = int(os.environ.get("GIT_CONFIG_COUNT", "0") or 0)
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return {"GIT_CONFIG_COUNT": str(count + 1), f"GIT_CONFIG_KEY_{count}": "http.extraheader",
            f"GIT_CONFIG_VALUE_{count}": f"AUTHORIZATION: basic {basic}"}
