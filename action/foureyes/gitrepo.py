"""Git plumbing: read repository files at a ref, and what changed between two refs.

Reads are batched through one `git cat-file --batch` process, so the cost of a plan follows the
number of changed files, never the size of the registry. PR code is only ever read as data.
"""

from __future__ import annotations

import atexit
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


def _is_sha(text: str) -> bool:
    return len(text) == 40 and all(c in "0123456789abcdef" for c in text)


_IMMUTABLE: dict[tuple, str] = {}  # answers about full SHAs, which never change: (question, root, shas) -> answer


def resolve(root: Path, ref: str) -> str:
    """A ref's commit. A full SHA's answer is kept for the run (the commit it names never changes),
    so re-checking the same PR base and head costs no new git process."""
    if _is_sha(ref):
        key = ("resolve", str(root), ref)
        if key not in _IMMUTABLE:
            _IMMUTABLE[key] = _resolve(root, ref)
        return _IMMUTABLE[key]
    return _resolve(root, ref)


def _resolve(root: Path, ref: str) -> str:
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
    key = ("merge-base", str(root), a, b)
    if key in _IMMUTABLE:
        return _IMMUTABLE[key]
    try:
        found = git(root, "merge-base", a, b).decode().strip()
    except GitError:
        raise GitError(f"{a[:12]} and {b[:12]} share no history") from None
    if _is_sha(a) and _is_sha(b):
        _IMMUTABLE[key] = found
    return found


def cat_blobs(root: Path, names: list[str]) -> dict[str, bytes | None]:
    """Read many objects (`<sha>` or `<ref>:<path>`) in one `git cat-file --batch` call."""
    if not names:
        return {}
    for name in names:
        if "\n" in name:
            raise GitError(f"object name with a newline: {name!r}")
    if all(_is_sha(n.split(":", 1)[0]) for n in names):  # immutable names: the run's open reader answers
        return _reader(root).read(names)
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


class _BatchReader:
    """One `git cat-file --batch` process kept open for the run: reading a PR's files costs a
    round trip on a pipe, not a new git process. Only names that start with a full SHA are asked
    (their answer never changes, whatever happens to refs meanwhile); one name at a time, so the
    pipes never fill up."""

    def __init__(self, root: Path):
        self.proc = subprocess.Popen(["git", "-C", str(root), "cat-file", "--batch"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"})

    def read(self, names: list[str]) -> dict[str, bytes | None]:
        result: dict[str, bytes | None] = {}
        for name in names:
            kind, data = self.object(name)
            result[name] = data if kind == "blob" else None
        return result

    def object(self, name: str) -> tuple[str | None, bytes | None]:
        self.proc.stdin.write(name.encode() + b"\n")
        self.proc.stdin.flush()
        header = self.proc.stdout.readline().decode()
        if not header:
            raise GitError("git cat-file --batch stopped")
        if header.endswith(" missing\n") or header.endswith(" ambiguous\n"):
            return None, None
        _sha, kind, size = header.split()
        return kind, self.proc.stdout.read(int(size) + 1)[:-1]

    def modes(self, commit: str, paths: list[str]) -> dict[str, str]:
        """The mode of each path that exists at ``commit`` (what `git ls-tree <commit> -- <path>`
        lists), read from the tree objects."""
        found = {}
        for path in paths:
            parts = path.strip("/").split("/")
            tree, mode = f"{commit}^{{tree}}", None
            for i, part in enumerate(parts):
                kind, data = self.object(tree)
                if kind != "tree":
                    mode = None
                    break
                entry = _tree_entry(data, part.encode("utf-8", "surrogateescape"))
                if entry is None:
                    mode = None
                    break
                mode, tree = entry
            if mode is not None:
                found[path] = mode
        return found

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait()


def _tree_entry(data: bytes, name: bytes) -> tuple[str, str] | None:
    """(mode, object id) of ``name`` in a raw tree object (`<mode> <name>\\0<20-byte id>` entries)."""
    pos = 0
    while pos < len(data):
        space = data.index(b" ", pos)
        nul = data.index(b"\0", space)
        if data[space + 1:nul] == name:
            mode = data[pos:space].decode()
            return mode.rjust(6, "0"), data[nul + 1:nul + 21].hex()
        pos = nul + 21
    return None


_READERS: dict[str, _BatchReader] = {}


def _reader(root: Path) -> _BatchReader:
    path = Path(root).resolve()
    try:  # a repository removed and made again at the same place gets a new reader
        stat = (path / ".git").stat()
        key = f"{path}\0{stat.st_dev}:{stat.st_ino}"
    except OSError:
        key = str(path)
    reader = _READERS.get(key)
    if reader is None or reader.proc.poll() is not None:
        while len(_READERS) >= 4:  # a few repositories at a time (tests make many)
            _READERS.pop(next(iter(_READERS))).close()
        reader = _READERS[key] = _BatchReader(Path(root))
    return reader


@atexit.register
def close_readers() -> None:
    while _READERS:
        _READERS.popitem()[1].close()


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
        if _is_sha(self.commit) and not any(p.endswith("/") or any(c in p for c in "*?[\\\n") for p in paths):
            return _reader(self.root).modes(self.commit, paths)
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
    wanted = list(dict.fromkeys(s for s in shas if s))
    if not wanted:
        return
    out = git(root, "cat-file", "--batch-check=%(objecttype)",  # one process, whatever the number of commits
              input="".join(f"{s}^{{commit}}\n" for s in wanted).encode()).decode().splitlines()
    missing = [s for s, kind in zip(wanted, out) if kind != "commit"]
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


# --- whole-history reads: one git process per question, however many commits it covers ----------


def resolve_many(root: Path, refs: list[str]) -> dict[str, str]:
    """Each ref's commit in one `git cat-file --batch-check` (``<ref>^{commit}``); an unknown ref is
    the same error `resolve` gives."""
    wanted = list(dict.fromkeys(refs))
    if not wanted:
        return {}
    for ref in wanted:
        if "\n" in ref or not ref.strip():
            raise GitError(f"unknown git revision {ref!r}")
    out = git(root, "cat-file", "--batch-check=%(objectname) %(objecttype)",
              input="".join(f"{r}^{{commit}}\n" for r in wanted).encode()).decode().splitlines()
    found = {}
    for ref, line in zip(wanted, out):
        sha, _, kind = line.partition(" ")
        if kind != "commit":
            raise GitError(f"unknown git revision {ref!r}")
        found[ref] = sha
    return found


def blob_ids(root: Path, names: list[str]) -> dict[str, str | None]:
    """The blob id of each ``<commit>:<path>`` (None: missing or not a blob), one process."""
    if not names:
        return {}
    for name in names:
        if "\n" in name:
            raise GitError(f"object name with a newline: {name!r}")
    out = git(root, "cat-file", "--batch-check=%(objectname) %(objecttype)",
              input="".join(n + "\n" for n in names).encode()).decode().splitlines()
    return {n: (line.split(" ")[0] if line.endswith(" blob") else None) for n, line in zip(names, out)}


def subjects(root: Path, commits: list[str]) -> dict[str, str]:
    """Each commit's subject line (first 80 characters), in one `git log --no-walk`."""
    if not commits:
        return {}
    out = git(root, "log", "--no-walk=unsorted", "--format=%H%x1f%s%x1e", *dict.fromkeys(commits))
    found = {}
    for record in out.decode("utf-8", "replace").split("\x1e"):
        if "\x1f" in record:
            sha, text = record.strip("\n").split("\x1f", 1)
            found[sha] = text.strip()[:80]
    return found


def first_parent_changes(root: Path, commits: list[str]) -> dict[str, list[Change]]:
    """What each commit changed over its first parent (as `changed(parent, commit)`), for many
    commits in one `git diff-tree --stdin`. A root commit changes nothing here."""
    if not commits:
        return {}
    out = git(root, "diff-tree", "--stdin", "-r", "-z", "-m", "--first-parent", "--no-renames", "--no-abbrev",
              input="".join(c + "\n" for c in dict.fromkeys(commits)).encode())
    found: dict[str, list[Change]] = {c: [] for c in commits}
    parts = out.split(b"\0")
    current = None
    i = 0
    while i < len(parts):
        token = parts[i]
        if token.startswith(b":"):
            old_mode, new_mode, old_sha, new_sha, status = token.decode().lstrip(":").split(" ")
            path = parts[i + 1].decode("utf-8", "surrogateescape")
            found[current].append(Change(path, status[0], old_mode, new_mode, old_sha, new_sha))
            i += 2
            continue
        if token.strip():
            current = token.decode().strip()
        i += 1
    return found


class Graph:
    """The commit graph reachable from some tips, read once (`git rev-list --parents`), so that
    ancestry and "the commits a PR brought" are answered without a git process per question."""

    def __init__(self, root: Path, tips: list[str]):
        self.parents: dict[str, list[str]] = {}
        self.generation: dict[str, int] = {}
        tips = list(dict.fromkeys(t for t in tips if t))
        if not tips:
            return
        out = git(root, "rev-list", "--topo-order", "--reverse", "--parents", *tips).decode()
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
