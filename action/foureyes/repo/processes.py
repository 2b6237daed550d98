"""Running git: its output through a spool file, the token it fetches with, each process kept where
its session can stop it, and work read ahead in a thread."""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import FoureyesError


class GitError(FoureyesError):
    """git failed, or a commit or path is not what it should be."""


def git(
    root: Path | str,
    *args: str,
    input: bytes | None = None,
    env_extra: dict | None = None,
    running: set[subprocess.Popen] | None = None,
) -> bytes:
    """git's output. ``running``: where the process is kept while it runs, for whoever must stop
    it if the run ends first (`Repo.close`: a history pass read ahead that nobody needed). It is
    written to a temporary file, not a pipe: a pipe fills up whenever the
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
            if running is not None:
                running.add(proc)
            try:
                _, stderr = proc.communicate(input)
            finally:
                if running is not None:
                    running.discard(proc)
            if proc.returncode != 0:
                message = stderr.decode("utf-8", "replace").strip().splitlines()
                raise GitError(f"git {' '.join(args[:2])}: {message[-1] if message else 'failed'}")
            spool.seek(0)
            return spool.read()
    except FileNotFoundError:
        raise GitError("git is not installed") from None
    except OSError as exc:  # no room for the spool file, too many processes
        raise GitError(f"git {' '.join(args[:2])}: {exc}") from None


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


class Ahead:
    """A result computed in a daemon thread (a run that ends early does not wait for it)."""

    def __init__(self, work: Callable[[], Any]) -> None:
        self._done = threading.Event()
        self._value = self._error = None

        def run() -> None:
            try:
                self._value = work()
            except BaseException as exc:  # handed to the caller, who would have met it anyway
                self._error = exc
            finally:
                self._done.set()

        threading.Thread(target=run, name="foureyes-history", daemon=True).start()

    def finished(self, timeout: float) -> bool:
        """Whether the work has ended, waiting at most ``timeout`` seconds for it."""
        return self._done.wait(timeout)

    def result(self) -> Any:
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._value
