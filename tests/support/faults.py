"""Fault injection for the deploy: every write a sync makes is a numbered point, and a run can be
killed just before any one of them (as a cancelled job or a lost runner kills it, between two
instructions). Writes are the SQLite statements that change the record or the event log (and the
BEGIN/COMMIT around them), the target's applies, and, on GitHub, each request that creates
something (killed before it is sent, or after GitHub applied it but before its answer arrived)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "BEGIN", "COMMIT")


class Killed(BaseException):
    """The process died here: a BaseException, so no `except Exception` in foureyes can swallow it."""


class Faults:
    """Counts write points; at point ``at`` (1-based) the run dies: ``Killed`` is raised, or with
    ``sigkill`` the process is killed by the kernel (no cleanup, no finally, no rollback)."""

    def __init__(self, at: int | None = None, sigkill: bool = False):
        self.at, self.sigkill, self.count = at, sigkill, 0
        self.names: list[str] = []

    def point(self, name: str) -> None:
        self.count += 1
        self.names.append(name)
        if self.count == self.at:
            if self.sigkill:
                os.kill(os.getpid(), signal.SIGKILL)
            raise Killed(name)


class DyingConnection:
    """A SQLite connection whose every write statement is a fault point."""

    def __init__(self, db, faults: Faults):
        self._db, self._faults = db, faults

    def execute(self, sql: str, *args):
        if sql.lstrip().upper().startswith(WRITES):
            self._faults.point(f"sql: {' '.join(sql.split()[:3])}")
        return self._db.execute(sql, *args)

    def executemany(self, sql: str, *args):
        self._faults.point(f"sql: {' '.join(sql.split()[:3])}")
        return self._db.executemany(sql, *args)

    def __getattr__(self, name):
        return getattr(self._db, name)


def dying_target(load_target, faults: Faults):
    """``load_target`` whose targets die just before and just after each apply."""

    def load(*args, **kwargs):
        target = load_target(*args, **kwargs)
        apply = target.apply

        def dying_apply(change):
            faults.point(f"apply {change.action} {change.name}")
            result = apply(change)
            faults.point(f"applied {change.action} {change.name}")
            return result

        target.apply = dying_apply
        return target

    return load


def deploy_staging(root: Path, faults: Faults | None = None):
    """`deploy` of staging from ``root``'s offline ledger, its record's connection dying at
    ``faults`` (a killed run's locks go with it: the connection is closed either way)."""
    from foureyes.deploy import reconcile
    from foureyes.deploy.record import SqliteRecord
    from foureyes.repo import Repo
    from foureyes.sources.ledger import Ledger

    record = SqliteRecord(root / ".foureyes" / "record.sqlite")
    if faults is not None:
        record.db = DyingConnection(record.db, faults)
    try:
        with Repo(root) as repo:  # one run, one session, as the command makes it
            return reconcile.deploy(
                repo, "staging", record, Ledger(repo, root / ".foureyes" / "prs")
            )
    finally:
        (record.db._db if faults is not None else record.db).close()
