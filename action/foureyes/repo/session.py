"""One repository a command works on, and everything the command has read from it.

A `Repo` is made once where a command starts and handed to everything that reads git. What it
keeps is keyed by full SHAs and git object ids (an answer about them never changes, whatever happens
to refs meanwhile), so it is right for as long as the session lives; a session made for another
command starts empty. Closing it (or leaving its `with` block, or the interpreter exiting, or the
session being collected) stops the git processes it still runs: the open `cat-file --batch` and
any history pass read ahead that nobody waited for.
"""

from __future__ import annotations

import subprocess
import time
import weakref
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .processes import Ahead, git

if TYPE_CHECKING:
    from .objects import BatchReader


_PASS_GRACE = 5.0  # seconds a stopped history pass has to end when its session closes


class _Processes:
    """The session's git processes, apart from the session so that its finalizer can reach them
    without keeping the session alive."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.running: set[subprocess.Popen] = set()  # git calls under way, from any thread
        self.reader: BatchReader | None = None

    def batch_reader(self) -> BatchReader:
        from .objects import BatchReader

        if self.reader is None or self.reader.proc.poll() is not None:  # gone after an error
            self.reader = BatchReader(self.path)
        return self.reader

    def close(self) -> None:
        for proc in list(self.running):
            proc.kill()
        if self.reader is not None:
            self.reader.close()
            self.reader = None


class Repo:
    """A git repository and what this command has read from it.

    ``known``: answers about full SHAs, (question, *shas) -> answer; each question has its own
    answer type (a SHA, a tuple of Change, of log records...), known to the one function that asks
    it, hence Any. ``ahead``: history passes started in a thread, by (question, span, first
    parent). ``judging`` and ``freezes``: the governance and freezes `judging.reading` read at a
    commit, by the git entries it was read from.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.known: dict[tuple[object, ...], Any] = {}
        self.ahead: dict[tuple[object, ...], Ahead] = {}
        self.judging: dict[tuple[object, ...], Any] = {}
        self.freezes: dict[tuple[object, ...], Any] = {}
        self._processes = _Processes(self.path)
        # runs on close(), when the session is collected, or at interpreter exit, whichever first
        self._finalizer = weakref.finalize(self, self._processes.close)

    def __repr__(self) -> str:
        return f"Repo({str(self.path)!r})"

    def git(self, *args: str, input: bytes | None = None, env_extra: dict | None = None) -> bytes:
        """git's output (`processes.git` in this repository), the process stopped by `close`."""
        return git(
            self.path, *args, input=input, env_extra=env_extra, running=self._processes.running
        )

    def reader(self) -> BatchReader:
        """The session's `git cat-file --batch`, started on first use (again if it stopped)."""
        return self._processes.batch_reader()

    def running(self) -> list[subprocess.Popen]:
        """The git commands under way in this session (from any thread), not its reader."""
        return list(self._processes.running)

    def close(self) -> None:
        """Stop the session's git processes. What it learned stays; a history pass read ahead is
        forgotten (its git was stopped: a later question reads it again), a later read starts a new
        reader. A pass whose git was stopped may start its next git call meanwhile: its thread
        is given a few seconds to end, and what it started is stopped too."""
        passes = list(self.ahead.values())
        self.ahead.clear()
        self._finalizer()
        if passes:
            deadline = time.monotonic() + _PASS_GRACE
            for ahead in passes:
                ahead.finished(max(0.0, deadline - time.monotonic()))
            self._processes.close()
        self._finalizer = weakref.finalize(self, self._processes.close)

    def __enter__(self) -> Repo:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
