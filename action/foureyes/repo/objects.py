"""Objects of a repository: files at a commit (through one `git cat-file --batch` kept open), the
working tree, blob ids.

Reads are batched, so the cost of a plan follows the number of changed files, never the size of
the registry. PR code is only ever read as data.
"""

from __future__ import annotations

import builtins
import os
import re
import subprocess
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

from .processes import GitError

if TYPE_CHECKING:
    from .session import Repo

SYMLINK_MODE = "120000"
ZERO_SHA = "0" * 40


_SHA = re.compile(r"[0-9a-f]{40}")


def is_sha(text: str) -> bool:
    return _SHA.fullmatch(text) is not None


def cat_blobs(repo: Repo, names: list[str]) -> dict[str, bytes | None]:
    """Read many objects (`<sha>` or `<ref>:<path>`) in one `git cat-file --batch` call."""
    if not names:
        return {}
    for name in names:
        if "\n" in name:
            raise GitError(f"object name with a newline: {name!r}")
    if all(
        is_sha(n.split(":", 1)[0]) for n in names
    ):  # immutable names: the session's open reader answers
        return repo.reader().read(names)
    out = repo.git("cat-file", "--batch", input="".join(n + "\n" for n in names).encode())
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


class BatchReader:
    """One `git cat-file --batch` process kept open by a session (`Repo.reader`): reading a PR's files costs a
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
            if is_sha(name):
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

        def write() -> None:
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
            if kind == "commit" and data is not None and data.startswith(b"tree "):
                self._root_trees[commit] = data[5:45].decode()
            # a commit not here is not kept as absent: a fetch (ensure_commits) may bring it
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
        """A tree object's raw entries, kept (by id) for the session within TREE_CACHE_BYTES: every PR
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
            if not (kind == "commit" and data is not None and data.startswith(b"tree ")):
                return None  # not kept: a fetch (ensure_commits) may bring the commit later
            self._root_trees[commit] = data[5:45].decode()
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
            try:  # a read cut off mid-answer leaves git writing to a pipe nobody reads
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
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


def _tree_entries(data: bytes) -> Iterator[tuple[str, str, str]]:
    """(mode, name, object id) of each entry of a raw tree object."""
    for m in _TREE_ENTRY.finditer(data):
        yield m[1].decode().rjust(6, "0"), m[2].decode("utf-8", "surrogateescape"), m[3].hex()


def _symlink(path: str) -> Exception:
    """The error for a symlink where a file is read (the loader's error, imported when met: the
    CLI's start-up imports no YAML parser)."""
    from ..registry.yamlload import LoadError

    return LoadError(path, "symlinks are not allowed in the registry or policies")


class GitTree:
    """Files of the repository at one commit."""

    def __init__(self, repo: Repo, commit: str):
        self.repo = repo
        self.commit = commit

    @property
    def root(self) -> Path:
        """The repository's directory (a `WorkTree`'s is the directory it reads)."""
        return self.repo.path

    def read(self, path: str) -> bytes | None:
        return self.read_many([path]).get(path)

    def read_many(self, paths: list[str]) -> dict[str, bytes]:
        if self._fixed(paths):  # one walk of the (kept) trees per path, then the blob by its id
            files = self.repo.reader().files(self.commit, paths)
            for path, (mode, _) in files.items():
                if mode == SYMLINK_MODE:
                    raise _symlink(path)
            return {p: data for p, (_, data) in files.items() if data is not None}
        modes = self._modes(paths)
        for path, mode in modes.items():
            if mode == SYMLINK_MODE:
                raise _symlink(path)
        blobs = cat_blobs(self.repo, [f"{self.commit}:{p}" for p in paths])
        return {p: data for p in paths if (data := blobs[f"{self.commit}:{p}"]) is not None}

    def list(self, prefix: str) -> list[str]:
        if is_sha(self.commit) and not any(c in prefix for c in "*?[\\\n"):
            return self.repo.reader().list(self.commit, prefix)
        out = self.repo.git("ls-tree", "-r", "-z", "--name-only", self.commit, "--", prefix)
        return [p.decode() for p in out.split(b"\0") if p]

    def entries(self, paths: builtins.list[str]) -> dict[str, tuple[str, str] | None]:
        """(mode, object id) of the file or directory at each path (None: not there), as `git
        ls-tree` lists them: equal entries, equal contents."""
        if is_sha(self.commit):
            return {p: self.repo.reader().entry(self.commit, p) for p in paths}
        # one path per call: given a directory and a path inside it, ls-tree lists the directory's
        # contents instead of its own entry
        return {p: self._ls_tree([p.strip("/")]).get(p.strip("/")) for p in paths}

    def _ls_tree(self, paths: builtins.list[str]) -> dict[str, tuple[str, str]]:
        """{path: (mode, object id)} of what `git ls-tree <commit> -- <paths>` lists, in one call."""
        out = self.repo.git("ls-tree", "-z", "--full-tree", self.commit, "--", *paths)
        listed = {}
        for entry in out.split(b"\0"):
            if entry:
                meta, path = entry.split(b"\t", 1)
                mode, _kind, sha = meta.decode().split(" ")
                listed[path.decode("utf-8", "surrogateescape")] = (mode, sha)
        return listed

    def _fixed(self, paths: builtins.list[str]) -> bool:
        """Plain file names at a full SHA: the open reader answers them from tree objects."""
        return is_sha(self.commit) and not any(
            p.endswith("/") or any(c in p for c in "*?[\\\n") for p in paths
        )

    def _modes(self, paths: builtins.list[str]) -> dict[str, str]:
        if not paths:
            return {}
        if self._fixed(paths):
            return self.repo.reader().modes(self.commit, paths)
        return {path: mode for path, (mode, _) in self._ls_tree(paths).items()}


class WorkTree:
    """Files of a directory on disk (the working tree you stand in)."""

    def __init__(self, root: Path):
        self.root = root

    def read(self, path: str) -> bytes | None:
        from ..registry import yamlload
        from ..registry.yamlload import LoadError

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


def prefetch_trees(
    repo: Repo, commits: list[str], dirs: list[str], blobs: Sequence[str] = ()
) -> None:
    """What many reads at ``commits`` (full SHAs) will need, fetched in a few exchanges with the
    session's `cat-file --batch`: root trees, the trees of ``dirs`` (small directories: every one is
    kept), and blobs by id."""
    repo.reader().prefetch([c for c in commits if is_sha(c)], dirs, [b for b in blobs if is_sha(b)])


def blob_ids(
    repo: Repo, names: list[str], generation: dict[str, int] | None = None
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
        repo.git(
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
