"""Git plumbing: read repository files at a ref, and what changed between two refs.

Reads are batched through one `git cat-file --batch` process, so the cost of a plan follows the
number of changed files, never the size of the registry. PR code is only ever read as data.
"""

from __future__ import annotations

import atexit
import builtins
import os
import re
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..errors import FoureyesError
from ..registry import yamlload
from ..registry.yamlload import LoadError

SYMLINK_MODE = "120000"
ZERO_SHA = "0" * 40


class GitError(FoureyesError):
    """git failed, or a commit or path is not what it should be."""


def git(
    root: Path | str, *args: str, input: bytes | None = None, env_extra: dict | None = None
) -> bytes:
    """git's output. It is written to a temporary file, not a pipe: a pipe fills up whenever the
    thread reading it waits for the interpreter lock (a history pass read in a thread while the main
    thread parses YAML), and git then stops until it is drained."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", **(env_extra or {})}
    try:
        with tempfile.TemporaryFile() as spool:
            proc = subprocess.Popen(
                ["git", "-C", str(root), *args],
                stdout=spool,
                stderr=subprocess.PIPE,
                env=env,
                stdin=subprocess.PIPE if input is not None else None,
            )
            _RUNNING.add(proc)
            try:
                _, stderr = proc.communicate(input)
            finally:
                _RUNNING.discard(proc)
            if proc.returncode != 0:
                message = stderr.decode("utf-8", "replace").strip().splitlines()
                raise GitError(f"git {' '.join(args[:2])}: {message[-1] if message else 'failed'}")
            spool.seek(0)
            return spool.read()
    except FileNotFoundError:
        raise GitError("git is not installed") from None
    except OSError as exc:  # no room for the spool file, too many processes
        raise GitError(f"git {' '.join(args[:2])}: {exc}") from None


_RUNNING: set = set()  # git processes under way, e.g. a history pass read ahead that nobody needed


@atexit.register
def _stop_running() -> None:
    """A run that ends (done, or on an error) does not leave git working for nobody."""
    for proc in list(_RUNNING):
        proc.kill()


def toplevel(start: Path | str = ".") -> Path | None:
    try:
        return Path(git(start, "rev-parse", "--show-toplevel").decode().strip())
    except GitError:
        return None


_SHA = re.compile(r"[0-9a-f]{40}")


def _is_sha(text: str) -> bool:
    return _SHA.fullmatch(text) is not None


# answers about full SHAs, which never change: (question, root, shas) -> answer. Each question
# has its own answer type (a SHA, a tuple of Change, of log records...), known to the one function
# that asks it, hence Any
_IMMUTABLE: dict[tuple[object, ...], Any] = {}


_FIXED_NAME = re.compile(r"[0-9a-f]{40}(?:[~^][0-9]*)*")  # a full SHA, maybe with ~N / ^N after it


def resolve(root: Path, ref: str) -> str:
    """A ref's commit. A name that starts with a full SHA (``<sha>``, ``<sha>~1``) always names the
    same commit: it is asked of the run's open `cat-file --batch` (no new git process) and kept."""
    if _FIXED_NAME.fullmatch(ref):
        key = ("resolve", str(root), ref)
        if key not in _IMMUTABLE:
            found = _reader(root).peel(ref)
            if found is None:
                raise GitError(f"unknown git revision {ref!r}")
            _IMMUTABLE[key] = found
        return _IMMUTABLE[key]
    return _resolve(root, ref)


def _resolve(root: Path, ref: str) -> str:
    try:
        return (
            git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
            .decode()
            .strip()
        )
    except GitError:
        hint = ": the repository has no commits yet" if ref == "HEAD" else ""
        raise GitError(f"unknown git revision {ref!r}{hint}") from None


def branch_tip(root: Path, name: str) -> str:
    """A branch's commit as the server has it (origin/<name>, what a CI checkout fetches), else the
    local branch."""
    for ref in (f"refs/remotes/origin/{name}", f"refs/heads/{name}"):
        try:
            return (
                git(
                    root,
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


def is_ancestor(root: Path, a: str, b: str) -> bool:
    """``a`` is ``b`` or one of its ancestors."""
    proc = subprocess.run(
        ["git", "-C", str(root), "merge-base", "--is-ancestor", a, b], capture_output=True
    )
    if proc.returncode not in (0, 1):
        raise GitError(
            f"git merge-base --is-ancestor: {proc.stderr.decode('utf-8', 'replace').strip()}"
        )
    return proc.returncode == 0


def default_branch(root: Path) -> str:
    """The default branch offline: origin's HEAD when known, else main."""
    try:
        return (
            git(root, "symbolic-ref", "--short", "refs/remotes/origin/HEAD")
            .decode()
            .strip()
            .split("/", 1)[1]
        )
    except (GitError, IndexError):
        return "main"


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
        if status not in ("0", "1") or not _is_sha(tree):
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


def known_changes(root: Path, base: str, head: str) -> list[Change] | None:
    """`changed(merge_base(base, head), head)` (what the PR base..head changed) when this run has
    already worked it out, else None: no git process."""
    fork = _IMMUTABLE.get(("merge-base", str(root), base, head))
    found = _IMMUTABLE.get(("diff", str(root), fork, head)) if fork else None
    return None if found is None else list(found)


def prefetch_merge_bases(root: Path, graph: Graph, pairs: list[tuple[str, str]]) -> None:
    """`merge_base` of many pairs of full SHAs worked out from a graph already read, for
    `merge_base` to answer from memory; a pair with several best common ancestors is left to git."""
    for a, b in pairs:
        key = ("merge-base", str(root), a, b)
        if key not in _IMMUTABLE and _is_sha(a) and _is_sha(b):
            found = graph.merge_base(a, b)
            if found is not None:
                _IMMUTABLE[key] = found


_LOG_FORMAT = "%H%x1f%ae%x1f%ce%x1f%B%x1e"


def commit_log(root: Path, fork: str, head: str) -> list[tuple[str, str, str, str]]:
    """(sha, author email, committer email, message) of each commit of `fork..head`, oldest first
    (`git log --reverse`)."""
    key = ("log", str(root), fork, head)
    if key in _IMMUTABLE:
        return list(_IMMUTABLE[key])
    out = git(root, "log", "--reverse", f"--format={_LOG_FORMAT}", f"{fork}..{head}")
    found = _log_records(out)
    if _is_sha(fork) and _is_sha(head):
        _IMMUTABLE[key] = tuple(found)
    return found


def _log_records(out: bytes) -> list[tuple[str, str, str, str]]:
    found = []
    for record in out.decode("utf-8", "replace").split("\x1e"):
        record = record.strip("\n")
        if record:
            sha, author, committer, message = record.split("\x1f", 3)
            found.append((sha, author, committer, message))
    return found


def prefetch_commit_logs(root: Path, graph: Graph, pairs: list[tuple[str, str]]) -> None:
    """`commit_log(fork, head)` for many pairs of full SHAs: the commits of each range from the
    graph,
    all their messages and dates in one `git log --no-walk --stdin`, in `git log`'s own order."""
    wanted = [
        (f, h)
        for f, h in dict.fromkeys(pairs)
        if _is_sha(f)
        and _is_sha(h)
        and f in graph
        and h in graph
        and ("log", str(root), f, h) not in _IMMUTABLE
    ]
    if not wanted:
        return
    ranges = {(f, h): graph.only_in(h, f) for f, h in wanted}
    commits = list(dict.fromkeys(c for r in ranges.values() for c in r))
    by_sha: dict[str, tuple] = {}
    if commits:
        out = git(
            root,
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
        _IMMUTABLE[("log", str(root), f, h)] = tuple(by_sha[c][1] for c in reversed(order))


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


def cat_blobs(root: Path, names: list[str]) -> dict[str, bytes | None]:
    """Read many objects (`<sha>` or `<ref>:<path>`) in one `git cat-file --batch` call."""
    if not names:
        return {}
    for name in names:
        if "\n" in name:
            raise GitError(f"object name with a newline: {name!r}")
    if all(
        _is_sha(n.split(":", 1)[0]) for n in names
    ):  # immutable names: the run's open reader answers
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
        result[name] = out[pos : pos + size_n] if kind == "blob" else None
        pos += size_n + 1
    return result


# (type, content) of an object, or (None, None) for a missing name
_Answer = tuple[str, bytes] | tuple[None, None]


class _BatchReader:
    """One `git cat-file --batch` process kept open for the run: reading a PR's files costs a
    round trip on a pipe, not a new git process. Only names that start with a full SHA are asked
    (their answer never changes, whatever happens to refs meanwhile); one name at a time, so the
    pipes never fill up."""

    TREE_CACHE_BYTES = 32 << 20  # trees are kept by id (they never change), up to this much

    def __init__(self, root: Path):
        self.proc = subprocess.Popen(
            ["git", "-C", str(root), "cat-file", "--batch"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"},
        )
        if self.proc.stdin is None or self.proc.stdout is None:  # both are PIPE: always there
            raise GitError("git cat-file --batch started without its pipes")
        self._stdin: IO[bytes] = self.proc.stdin
        self._stdout: IO[bytes] = self.proc.stdout
        self._trees: dict[str, bytes] = {}  # insertion order = age: the oldest go first
        self._blobs: dict[str, bytes] = {}
        self._tree_bytes = 0
        self._root_trees: dict[str, str | None] = {}

    def read(self, names: list[str]) -> dict[str, bytes | None]:
        result: dict[str, bytes | None] = {}
        for name in names:
            if _is_sha(name):
                result[name] = self.blob(name)
                continue
            kind, data = self.object(name)
            result[name] = data if kind == "blob" else None
        return result

    def objects(self, names: list[str]) -> list[_Answer]:
        """Many objects in one exchange: a thread writes every name while this one reads the
        answers (written one by one, a question waits for each answer; all at once with no reader,
        both pipes fill up and neither side moves)."""
        if not names:
            return []
        payload = b"".join(n.encode() + b"\n" for n in names)

        def write():
            try:
                self._stdin.write(payload)
                self._stdin.flush()
            except OSError:
                pass  # the reader below meets the same end

        writer = threading.Thread(target=write, name="foureyes-cat-file", daemon=True)
        writer.start()
        out: builtins.list[_Answer] = []
        try:
            for _ in names:
                found = self._answer()
                out.append((None, None) if found is None else found[1:])
        except BaseException:
            self.proc.kill()  # half an exchange left on the pipes: the next `_reader` starts afresh
            self.proc.wait()
            raise
        writer.join()
        return out

    def prefetch(self, commits: list[str], dirs: list[str], blobs: list[str]) -> None:
        """Keep, in as many exchanges as the deepest directory has levels: each commit's root tree,
        the trees of ``dirs`` at each commit, and the blobs ``blobs`` (ids). What plans of many PRs
        read at their bases then costs no round trip each."""
        commits = [c for c in dict.fromkeys(commits) if c not in self._root_trees]
        for commit, (kind, data) in zip(
            commits, self.objects([f"{c}^{{commit}}" for c in commits]), strict=False
        ):
            self._root_trees[commit] = (
                data[5:45].decode()
                if kind == "commit" and data is not None and data.startswith(b"tree ")
                else None
            )
        level = {tree for c in commits if (tree := self._root_trees.get(c))}
        parts = [d.strip("/").split("/") for d in dirs]
        for depth in range(
            max((len(p) for p in parts), default=-1) + 1
        ):  # no dirs: the commits only
            wanted = [t for t in level if t not in self._trees]
            for tree, (kind, data) in zip(wanted, self.objects(wanted), strict=False):
                if kind == "tree" and data is not None:
                    self._keep_tree(tree, data)
            names = {p[depth].encode("utf-8", "surrogateescape") for p in parts if len(p) > depth}
            level = {
                found[1]
                for t in level
                if (data := self._trees.get(t)) is not None
                for n in names
                if (found := _tree_entry(data, n)) is not None and found[0] == "040000"
            }
        wanted = [b for b in dict.fromkeys(blobs) if b not in self._blobs and b != ZERO_SHA]
        for sha, (kind, data) in zip(wanted, self.objects(wanted), strict=False):
            if kind == "blob" and data is not None:
                self._keep_blob(sha, data)

    def object(self, name: str) -> _Answer:
        self._stdin.write(name.encode() + b"\n")
        self._stdin.flush()
        found = self._answer()
        return (None, None) if found is None else found[1:]

    def peel(self, name: str) -> str | None:
        """The commit ``name`` names (what `rev-parse --verify name^{commit}` answers), or None."""
        self._stdin.write(name.encode() + b"^{commit}\n")
        self._stdin.flush()
        found = self._answer()
        return None if found is None else found[0]

    def _answer(self) -> tuple[str, str, bytes] | None:
        """The next answer on the pipe: (object id, type, content), or None for a missing name."""
        header = self._stdout.readline().decode()
        if not header:
            raise GitError("git cat-file --batch stopped")
        if header.endswith(" missing\n") or header.endswith(" ambiguous\n"):
            return None
        sha, kind, size = header.split()
        return sha, kind, self._stdout.read(int(size) + 1)[:-1]

    def tree(self, sha: str) -> bytes | None:
        """A tree object's raw entries, kept (by id) for the run within TREE_CACHE_BYTES: every PR
        a deploy re-checks reads the same policy and schema directories at its own base."""
        if sha in self._trees:
            return self._trees[sha]
        kind, data = self.object(sha)
        if kind != "tree" or data is None:
            return None
        self._keep_tree(sha, data)
        return data

    def _keep_tree(self, sha: str, data: bytes) -> None:
        self._trees[sha] = data
        self._tree_bytes += len(data)
        while self._tree_bytes > self.TREE_CACHE_BYTES and len(self._trees) > 1:
            self._tree_bytes -= len(self._trees.pop(next(iter(self._trees))))

    def root_tree(self, commit: str) -> str | None:
        if commit not in self._root_trees:
            kind, data = self.object(f"{commit}^{{commit}}")
            self._root_trees[commit] = (
                data[5:45].decode()
                if kind == "commit" and data is not None and data.startswith(b"tree ")
                else None
            )
        return self._root_trees[commit]

    def entry(self, commit: str, path: str) -> tuple[str, str] | None:
        """(mode, object id) of ``path`` at ``commit`` (what `git ls-tree <commit> -- <path>` lists)."""
        tree = self.root_tree(commit)  # the directory the next part is looked up in, if any
        found: tuple[str, str] | None = None
        for part in path.strip("/").split("/"):  # at least one part
            data = self.tree(tree) if tree is not None else None
            found = (
                _tree_entry(data, part.encode("utf-8", "surrogateescape"))
                if data is not None
                else None
            )
            if found is None:
                return None
            tree = found[1] if found[0] == "040000" else None
        return found

    def list(self, commit: str, prefix: str) -> list[str]:
        """Every file at or under ``prefix`` at ``commit``, as `git ls-tree -r --name-only commit --
        prefix` lists them (blobs, symlinks and submodules; sorted as git sorts tree entries)."""
        at = "/".join(p for p in prefix.split("/") if p)
        found = self.entry(commit, at) if at else ("040000", self.root_tree(commit))
        if found is None or found[1] is None:
            return []
        return self._walk(found[1], at) if found[0] == "040000" else [at]

    def _walk(self, tree: str, at: str) -> builtins.list[str]:
        found: builtins.list[str] = []
        for mode, name, sha in _tree_entries(self.tree(tree) or b""):
            path = f"{at}/{name}" if at else name
            found += self._walk(sha, path) if mode == "040000" else [path]
        return found

    def modes(self, commit: str, paths: builtins.list[str]) -> dict[str, str]:
        """The mode of each path that exists at ``commit``, read from the tree objects."""
        return {path: found[0] for path in paths if (found := self.entry(commit, path)) is not None}

    def files(self, commit: str, paths: builtins.list[str]) -> dict[str, tuple[str, bytes | None]]:
        """(mode, content) of each path that exists at ``commit``; content None when it is not a
        blob.
        Many files of one directory (a registry of thousands) are looked up in that directory's
        entries read once, not by a scan of the directory per file."""
        out = {}
        by_dir: dict[str, list[str]] = {}
        for path in paths:
            by_dir.setdefault(path.rsplit("/", 1)[0] if "/" in path else "", []).append(path)
        entries: dict[str, dict[bytes, tuple[str, str]]] = {}
        for directory, names in by_dir.items():
            if len(names) >= 16:
                tree = (
                    self.entry(commit, directory)
                    if directory
                    else ("040000", self.root_tree(commit))
                )
                data = (
                    self.tree(tree[1])
                    if tree is not None and tree[0] == "040000" and tree[1]
                    else None
                )
                entries[directory] = _tree_dict(data or b"")
        for path in paths:
            directory, _, name = path.rpartition("/")
            if directory in entries:
                found = entries[directory].get(name.encode("utf-8", "surrogateescape"))
            else:
                found = self.entry(commit, path)
            if found is not None:
                out[path] = (
                    found[0],
                    self.blob(found[1]) if found[0] not in ("040000", "160000") else None,
                )
        return out

    def blob(self, sha: str) -> bytes | None:
        """A blob's content; small ones are kept by id (the policy, the schemas: every PR's base
        has the same) within the tree budget."""
        if sha in self._blobs:
            return self._blobs[sha]
        kind, data = self.object(sha)
        data = data if kind == "blob" else None
        if data is not None:
            self._keep_blob(sha, data)
        return data

    def _keep_blob(self, sha: str, data: bytes) -> None:
        if len(data) <= 64 * 1024:
            self._blobs[sha] = data
            self._tree_bytes += len(data)
            while self._tree_bytes > self.TREE_CACHE_BYTES and len(self._blobs) > 1:
                self._tree_bytes -= len(self._blobs.pop(next(iter(self._blobs))))

    def close(self) -> None:
        if self.proc.poll() is None:
            self._stdin.close()
            self.proc.wait()


def _tree_entry(data: bytes, name: bytes) -> tuple[str, str] | None:
    """(mode, object id) of ``name`` in a raw tree object (`<mode> <name>\\0<20-byte id>` entries)."""
    pos = 0
    while pos < len(data):
        space = data.index(b" ", pos)
        nul = data.index(b"\0", space)
        if data[space + 1 : nul] == name:
            mode = data[pos:space].decode()
            return mode.rjust(6, "0"), data[nul + 1 : nul + 21].hex()
        pos = nul + 21
    return None


_TREE_ENTRY = re.compile(
    rb"([0-7]+) ([^\0]*)\0(.{20})", re.S
)  # entries are contiguous: each match starts the next


def _tree_dict(data: bytes) -> dict[bytes, tuple[str, str]]:
    """{name: (mode, object id)} of a raw tree object, parsed in one pass."""
    return {m[2]: (m[1].decode().rjust(6, "0"), m[3].hex()) for m in _TREE_ENTRY.finditer(data)}


def _tree_entries(data: bytes):
    """(mode, name, object id) of each entry of a raw tree object."""
    for m in _TREE_ENTRY.finditer(data):
        yield m[1].decode().rjust(6, "0"), m[2].decode("utf-8", "surrogateescape"), m[3].hex()


_READERS: dict[str, _BatchReader] = {}


def _reader(root: Path) -> _BatchReader:
    try:  # a repository removed and made again at the same place gets a new reader
        stat = os.stat(os.path.join(root, ".git"))
        key = f"{root}\0{stat.st_dev}:{stat.st_ino}"
    except OSError:
        key = str(root)
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
    if _is_sha(base) and _is_sha(head):
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
            if _is_sha(b) and _is_sha(h) and ("diff", str(root), b, h) not in _IMMUTABLE
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


def read_history_ahead(root: Path, span: str, first_parent: bool = False) -> None:
    """Start the history pass `_log_changes` will want for ``span`` (full SHAs only) in a thread,
    so that git walks the history on the other core while the caller parses the registry and the
    ledger; `_log_changes` then waits for it. Nothing is shared but the answer, handed over once."""
    key = ("log-changes", str(root), span, first_parent)
    if not all(_is_sha(part) for part in span.split("..")) or key in _IMMUTABLE or key in _AHEAD:
        return
    _AHEAD[key] = _Ahead(lambda: _read_log_changes(root, span, first_parent))


class _Ahead:
    """A result computed in a daemon thread (a run that ends early does not wait for it)."""

    def __init__(self, work):
        self._done = threading.Event()
        self._value = self._error = None

        def run():
            try:
                self._value = work()
            except BaseException as exc:  # handed to the caller, who would have met it anyway
                self._error = exc
            finally:
                self._done.set()

        threading.Thread(target=run, name="foureyes-history", daemon=True).start()

    def result(self):
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._value


_AHEAD: dict[tuple, _Ahead] = {}


def _log_changes(root: Path, span: str, first_parent: bool = False, reverse: bool = False):
    """`_read_log_changes`, kept for the run when the span is made of full SHAs (commits_touching
    and last_changes read the same span in one deploy). Each non-root commit's changes are kept for
    `first_parent_changes` and `prefetch_changes`."""
    fixed = all(_is_sha(part) for part in span.split(".."))
    key = ("log-changes", str(root), span, first_parent)
    whole = ("log-changes", str(root), span, False)
    if (
        fixed
        and first_parent
        and key not in _IMMUTABLE
        and (whole in _IMMUTABLE or whole in _AHEAD)
    ):
        _IMMUTABLE[key] = _first_parent_chain(
            _log_changes(root, span), span.split("..")[-1]
        )  # from the whole pass
    if not fixed or key not in _IMMUTABLE:
        ahead = _AHEAD.pop(key, None)
        found, trees = (
            ahead.result() if ahead is not None else _read_log_changes(root, span, first_parent)
        )
        for commit, parents, changes in found:
            if parents:
                _IMMUTABLE[("first-parent", str(root), commit)] = changes
                _IMMUTABLE[("parent", str(root), commit)] = parents[0]
                if (
                    commit in trees
                ):  # (a ref that moved between the pass's two git calls: not known)
                    _IMMUTABLE[("from-to", str(root), parents[0], trees[commit])] = commit
        if not fixed:
            return list(reversed(found)) if reverse else list(found)
        _IMMUTABLE[key] = found
    return list(reversed(_IMMUTABLE[key])) if reverse else list(_IMMUTABLE[key])


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


def _read_log_changes(
    root: Path, span: str, first_parent: bool = False
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
    listed = git(root, "log", *only_first, "--no-show-signature", "--format=%H %T %P", span)
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
    pending = _Ahead(lambda: _diff_pairs(root, unknown)) if unknown else None
    out = git(
        root,
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
            old_mode, new_mode, old_sha, new_sha, status = (
                tokens[i].decode().lstrip("\n:").split(" ")
            )
            changes.append(
                Change(
                    tokens[i + 1].decode("utf-8", "surrogateescape"),
                    status[0],
                    old_mode,
                    new_mode,
                    old_sha,
                    new_sha,
                )
            )
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
        late, _diff_pairs(root, late) if late else [], strict=False
    ):  # a ref moved between the two
        merged[commit] = tuple(block)
    return (
        tuple((commit, parents, merged.get(commit, changes)) for commit, parents, changes in found),
        {commit: tree for commit, (tree, _) in shape.items()},
    )


def last_changes(
    root: Path, span: str, paths: list[str], first_parent: bool = False
) -> dict[str, str]:
    """The newest commit in ``span`` that changed each path under ``paths``, in one `git log`
    (a merge counts as changing what it brought in over its first parent)."""
    if not paths:
        return {}
    asked = PathSet(paths)
    last: dict[str, str] = {}
    for commit, _, changes in _log_changes(root, span, first_parent=first_parent):
        for c in changes:
            if c.path in asked:
                last.setdefault(c.path, commit)
    return last


def commits_changing(root: Path, span: str, paths: list[str]) -> dict[str, list[str]]:
    """Every commit in ``span`` (newest first) that changed each path under ``paths``, over its
    first parent (a merge counts as changing what it brought in), from the same pass as
    ``last_changes``."""
    asked = PathSet(paths)
    found: dict[str, list[str]] = {}
    for commit, _, changes in _log_changes(root, span):
        for c in changes:
            if c.path in asked and commit not in found.setdefault(c.path, []):
                found[c.path].append(commit)
    return found


def commits_touching(root: Path, span: str, paths: list[str]) -> list[str]:
    """Commits (oldest first) in ``span`` that changed any of ``paths``: what `git log
    --full-history -- <paths>` lists, which keeps a merge unless it matches every parent at those
    paths. Each commit's changes over its first parent come from one pass; a merge that matches its
    first parent is then compared with its other parents, all of them in one `git diff-tree`."""
    if not paths:
        return []
    asked = PathSet(paths)
    found: dict[str, bool] = {}
    others: list[tuple[str, str]] = []
    for commit, parents, changes in _log_changes(root, span, reverse=True):
        found[commit] = any(c.path in asked for c in changes)
        if not found[commit] and len(parents) > 1:
            others += [(parent, commit) for parent in parents[1:]]
    if others:
        for (_, merge), block in zip(
            others, _diff_pairs(root, others, asked.pathspec), strict=False
        ):
            found[merge] = found[merge] or any(c.path in asked for c in block)
    return [commit for commit, touched in found.items() if touched]


class GitTree:
    """Files of the repository at one commit."""

    def __init__(self, root: Path, commit: str):
        self.root = root
        self.commit = commit

    def read(self, path: str) -> bytes | None:
        return self.read_many([path]).get(path)

    def read_many(self, paths: list[str]) -> dict[str, bytes]:
        if self._fixed(paths):  # one walk of the (kept) trees per path, then the blob by its id
            files = _reader(self.root).files(self.commit, paths)
            for path, (mode, _) in files.items():
                if mode == SYMLINK_MODE:
                    raise LoadError(path, "symlinks are not allowed in the registry or policies")
            return {p: data for p, (_, data) in files.items() if data is not None}
        modes = self._modes(paths)
        for path, mode in modes.items():
            if mode == SYMLINK_MODE:
                raise LoadError(path, "symlinks are not allowed in the registry or policies")
        blobs = cat_blobs(self.root, [f"{self.commit}:{p}" for p in paths])
        return {p: data for p in paths if (data := blobs[f"{self.commit}:{p}"]) is not None}

    def list(self, prefix: str) -> list[str]:
        if _is_sha(self.commit) and not any(c in prefix for c in "*?[\\\n"):
            return _reader(self.root).list(self.commit, prefix)
        out = git(self.root, "ls-tree", "-r", "-z", "--name-only", self.commit, "--", prefix)
        return [p.decode() for p in out.split(b"\0") if p]

    def entries(self, paths: builtins.list[str]) -> dict[str, tuple[str, str] | None]:
        """(mode, object id) of the file or directory at each path (None: not there), as `git
        ls-tree` lists them: equal entries, equal contents."""
        if _is_sha(self.commit):
            return {p: _reader(self.root).entry(self.commit, p) for p in paths}
        # one path per call: given a directory and a path inside it, ls-tree lists the directory's
        # contents instead of its own entry
        return {p: self._ls_tree([p.strip("/")]).get(p.strip("/")) for p in paths}

    def _ls_tree(self, paths: builtins.list[str]) -> dict[str, tuple[str, str]]:
        """{path: (mode, object id)} of what `git ls-tree <commit> -- <paths>` lists, in one call."""
        out = git(self.root, "ls-tree", "-z", "--full-tree", self.commit, "--", *paths)
        listed = {}
        for entry in out.split(b"\0"):
            if entry:
                meta, path = entry.split(b"\t", 1)
                mode, _kind, sha = meta.decode().split(" ")
                listed[path.decode("utf-8", "surrogateescape")] = (mode, sha)
        return listed

    def _fixed(self, paths: builtins.list[str]) -> bool:
        """Plain file names at a full SHA: the open reader answers them from tree objects."""
        return _is_sha(self.commit) and not any(
            p.endswith("/") or any(c in p for c in "*?[\\\n") for p in paths
        )

    def _modes(self, paths: builtins.list[str]) -> dict[str, str]:
        if not paths:
            return {}
        if self._fixed(paths):
            return _reader(self.root).modes(self.commit, paths)
        return {path: mode for path, (mode, _) in self._ls_tree(paths).items()}


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
        return sorted(
            p.relative_to(self.root).as_posix()
            for p in base.rglob("*")
            if p.is_file() or p.is_symlink()
        )


def ensure_commits(root: Path, shas: list[str], token: str | None = None) -> None:
    """Fetch commits that are not here yet (a PR head is fetched as data, never checked out).
    With ``token``, the fetch authenticates: the deploy checks out with `persist-credentials:
    false`, and on a private repository the head of a squash-merged PR whose branch is gone can
    only be fetched with credentials."""
    wanted = list(dict.fromkeys(s for s in shas if s))
    if not wanted:
        return
    out = (
        git(
            root,
            "cat-file",
            "--batch-check=%(objecttype)",  # one process, whatever the number of commits
            input="".join(f"{s}^{{commit}}\n" for s in wanted).encode(),
        )
        .decode()
        .splitlines()
    )
    missing = [s for s, kind in zip(wanted, out, strict=False) if kind != "commit"]
    if missing:
        git(
            root,
            "fetch",
            "--no-tags",
            "--quiet",
            "origin",
            *missing,
            env_extra=token_auth_env(token),
        )


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
    return {
        "GIT_CONFIG_COUNT": str(count + 1),
        f"GIT_CONFIG_KEY_{count}": "http.extraheader",
        f"GIT_CONFIG_VALUE_{count}": f"AUTHORIZATION: basic {basic}",
    }


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
    out = (
        git(
            root,
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
            _IMMUTABLE[("resolve", str(root), ref)] = sha
    return found


def prefetch_trees(
    root: Path, commits: list[str], dirs: list[str], blobs: Sequence[str] = ()
) -> None:
    """What many reads at ``commits`` (full SHAs) will need, fetched in a few exchanges with the
    run's `cat-file --batch`: root trees, the trees of ``dirs`` (small directories: every one is
    kept), and blobs by id."""
    _reader(root).prefetch(
        [c for c in commits if _is_sha(c)], dirs, [b for b in blobs if _is_sha(b)]
    )


def blob_ids(
    root: Path, names: list[str], generation: dict[str, int] | None = None
) -> dict[str, str | None]:
    """The blob id of each ``<commit>:<path>`` (None: missing or not a blob), one process.
    ``generation`` (`Graph.generation`): names are asked newest commit first, so consecutive
    lookups read trees along the same delta chains and git's delta-base cache serves them; in an
    arbitrary order each lookup may rebuild a large tree from its chain (1,500 lookups in a
    10,000-entry directory: 6.9 s in PR order, 0.4 s in history order)."""
    if not names:
        return {}
    for name in names:
        if "\n" in name:
            raise GitError(f"object name with a newline: {name!r}")
    asked = list(dict.fromkeys(names))
    if generation:
        asked.sort(key=lambda n: -generation.get(n.split(":", 1)[0], 0))
    out = (
        git(
            root,
            "cat-file",
            "--batch-check=%(objectname) %(objecttype)",
            input="".join(n + "\n" for n in asked).encode(),
        )
        .decode()
        .splitlines()
    )
    return {
        n: (line.split(" ")[0] if line.endswith(" blob") else None)
        for n, line in zip(asked, out, strict=False)
    }


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
