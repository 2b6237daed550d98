"""The one way foureyes' output reaches the Actions log.

Inside GitHub Actions (GITHUB_ACTIONS=true) the runner reads every line a step prints to stdout and
stderr as a possible workflow command (escape.actions_log), and foureyes prints text it did not
write: model names, descriptions, commit subjects, file paths, error messages quoting them. So for
the length of a command both streams are replaced by a guard that passes every line through
escape.actions_log, whoever writes it (click.echo, print, a library's warning). The only way past
it is ``command``: the workflow commands foureyes builds itself (report.annotation, ::group::),
whose data is escaped as the docs say (escape.command_data, escape.command_property).

A stream redirected to a regular file (`foureyes inventory --format csv > inventory.csv`) is not
the log and is left exact.
"""

from __future__ import annotations

import io
import os
import stat
import sys
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from .reporters import Output

from .escape import actions_log


class LogGuard(io.TextIOBase):
    """A text stream whose every line is made unable to start a workflow command. A line is held
    until it ends (or the guard is closed): where a line starts decides whether it is a command."""

    def __init__(self, out: TextIO) -> None:
        super().__init__()
        self.out = out
        self._partial = ""

    # click.echo checks these to decide the stream needs no re-wrapping. typeshed declares them
    # plain attributes of io.TextIOBase, where they are read-only properties at run time too
    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.out, "encoding", "utf-8")

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self.out, "errors", "strict")

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self.out.isatty()

    def write(self, text: str) -> int:
        if not isinstance(text, str):  # click asks whether the stream takes bytes: it does not
            raise TypeError("a text stream")
        pending = self._partial + text.replace("\r\n", "\n").replace("\r", "\n")
        lines = pending.split("\n")
        self._partial = lines.pop()
        if lines:
            self.out.write("\n".join(actions_log(line) for line in lines) + "\n")
        return len(text)

    def command(self, line: str) -> None:
        """One workflow command foureyes built itself, on a line of its own."""
        self.finish()
        self.out.write(line + "\n")
        self.out.flush()

    def finish(self) -> None:
        """End a held partial line (escaped like any other)."""
        if self._partial:
            self.out.write(actions_log(self._partial))
            self._partial = ""

    def flush(self) -> None:
        self.out.flush()


def _is_regular_file(stream: IO) -> bool:
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return False


def guard_streams() -> Callable[[], None]:
    """In Actions, put a LogGuard on stdout and stderr; returns what undoes it (flushing)."""
    if os.environ.get("GITHUB_ACTIONS") != "true":
        return lambda: None
    saved = sys.stdout, sys.stderr
    guards = []
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, LogGuard) and not _is_regular_file(stream):
            guard = LogGuard(stream)
            guards.append(guard)
            setattr(sys, name, guard)

    def restore() -> None:
        for guard in guards:
            guard.finish()
            guard.flush()
        sys.stdout, sys.stderr = saved

    return restore


def command(line: str, stream: Output | None = None) -> None:
    """Write a workflow command foureyes built (its values escaped) past the guard."""
    stream = stream or sys.stdout
    if isinstance(stream, LogGuard):
        stream.command(line)
    else:
        stream.write(line + "\n")


def json_text(text: str) -> str:
    """JSON printed in Actions: the same value, with no `##[` the runner could read."""
    from .escape import actions_log_json

    return actions_log_json(text) if os.environ.get("GITHUB_ACTIONS") == "true" else text
