"""Commits as values, for the pure judging: a snapshot's files from a dict, and a change between
two of them, as judging/reading.py would read them from git (no repository, no git process)."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from pathlib import Path

from foureyes.judging.plan import (
    ABSENT,
    Base,
    ChangeSet,
    FileChange,
    Governance,
    Plan,
    classify,
)
from foureyes.registry.model import BUNDLED

FILE = "100644"  # git's mode of a plain file


class Files:
    """The ``Snapshot`` of a commit that holds ``files`` (path -> bytes)."""

    def __init__(self, files: Mapping[str, bytes]):
        self.files = dict(files)

    def read(self, path: str) -> bytes | None:
        return self.files.get(path)

    def read_many(self, paths: builtins.list[str]) -> dict[str, bytes]:
        return {p: self.files[p] for p in paths if p in self.files}

    def list(self, prefix: str) -> builtins.list[str]:
        return sorted(p for p in self.files if p.startswith(prefix.rstrip("/") + "/"))

    def with_file(self, path: str, data: bytes | None) -> Files:
        """This commit with ``path`` written (None: deleted)."""
        files = dict(self.files)
        if data is None:
            files.pop(path, None)
        else:
            files[path] = data
        return Files(files)

    def replace(self, path: str, old: str, new: str) -> Files:
        """This commit with ``old`` replaced by ``new`` in ``path`` (which must hold it)."""
        text = self.files[path].decode()
        assert old in text, f"{path} has no {old!r}"
        return self.with_file(path, text.replace(old, new).encode())


def example() -> Files:
    """The example repository's registry and policies (the template `foureyes init` writes)."""
    return Files(
        {
            p.relative_to(BUNDLED).as_posix(): p.read_bytes()
            for top in ("registry", "policies")
            for p in sorted((BUNDLED / top).rglob("*"))
            if p.is_file()
        }
    )


def change_between(fork: Files, head: Files, fork_id: str, head_id: str) -> ChangeSet:
    """What ``head`` changed over ``fork``, every side's bytes included."""
    paths = sorted(set(fork.files) | set(head.files))
    return ChangeSet(
        fork_id,
        head_id,
        tuple(
            FileChange(
                p,
                FILE if p in fork.files else ABSENT,
                FILE if p in head.files else ABSENT,
                fork.files.get(p),
                head.files.get(p),
            )
            for p in paths
            if fork.files.get(p) != head.files.get(p)
        ),
    )


BASE, FORK, HEAD = "b" * 40, "e" * 40, "h" * 40  # HEAD: support.pulltest's PR head
ROOT = Path("/nonexistent")  # no local target's file is read


def plan_of(fork: Files, head: Files, base: Files | None = None) -> Plan:
    """The plan of ``head`` over ``fork``, judged by ``base`` (default: the fork itself, a base
    that has not moved)."""
    judging = fork if base is None else base
    change = change_between(fork, head, BASE if base is None else FORK, HEAD)
    return classify(Base(BASE, judging, Governance.read(judging)), change, head, ROOT)
