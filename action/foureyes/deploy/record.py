"""The deploy record: what was last applied to each environment, and how it went.

One interface, two stores: SQLite (locally, the demo) and the GitHub Deployments API (in Actions,
`github_record.py`). A deployment is marked in_progress before its target is called and
success/failure after, so a run cut short leaves a record the next run converges from.

The outcome and its events change together: `finish` takes the events an outcome raises (the
deploy event, a break-glass warning) and writes them in the same SQLite transaction as the record,
so a run killed at any instant leaves both or neither. An event may carry a `key`; the log keeps
one event per key, so an event written again (re-derived, or imported twice) is not duplicated.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from .eventlog import Event

DEFAULT_PATH = ".foureyes/record.sqlite"


def utcnow() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Entry:
    """What one environment serves for one deployment name."""

    environment: str
    name: str
    data: dict  # the deployment as applied (its registry YAML as data)
    commit: str
    approval: dict = field(default_factory=dict)
    status: str = "success"  # in_progress | success | failure
    updated_at: str = ""

    @property
    def model(self) -> dict:
        return self.data.get("model", {})

    def to_json(self) -> dict:
        return {
            "environment": self.environment,
            "name": self.name,
            "model": self.model,
            "commit": self.commit,
            "approval": self.approval,
            "status": self.status,
            "deployed_at": self.updated_at,
            "importance": self.data.get("importance"),
        }


class Record:
    """The interface both stores implement."""

    keeps_sync_state = False  # whether `set_last_commit` keeps ``state`` for `in_sync`

    def entries(self, environment: str) -> dict[str, Entry]:
        raise NotImplementedError

    def begin(self, entry: Entry, action: str) -> None:
        raise NotImplementedError

    def finish(
        self, entry: Entry, action: str, ok: bool, message: str = "", events: Sequence[Event] = ()
    ) -> None:
        """Record the outcome, and ``events`` with it: both are written, or neither."""
        raise NotImplementedError

    def last_commit(self, environment: str) -> str | None:
        raise NotImplementedError

    def last_target(self, environment: str) -> dict | None:
        """The target settings of the last complete deploy: a new target gets everything again."""
        raise NotImplementedError

    def set_last_commit(
        self, environment: str, commit: str, target: dict | None = None, state: str | None = None
    ) -> None:
        """``state``: what decided ENVIRONMENT's desired state at ``commit``
        (`reconcile.state_key`),
        now applied in full; `in_sync` answers from it."""
        raise NotImplementedError

    def in_sync(self, environment: str, state: str) -> bool:
        """True only when the last complete deploy of ENVIRONMENT recorded ``state`` and nothing was
        written for ENVIRONMENT since: then the record matches what ``state`` decides, and a deploy
        has nothing to apply. False whenever that is not known (the default)."""
        return False

    def history(self, environment: str | None = None, name: str | None = None) -> list[dict]:
        raise NotImplementedError

    def add_event(
        self,
        type: str,
        status: str,
        message: str,
        deployment: str | None = None,
        environment: str | None = None,
        data: dict | None = None,
        at: str | None = None,
        key: str | None = None,
    ) -> bool:
        """Add an event (at ``at``, now by default); False when the log already holds one with
        ``key`` (nothing is added)."""
        return self.log_event(
            Event(type, status, message, deployment, environment, data or {}, key), at
        )

    def log_event(self, event: Event, at: str | None = None) -> bool:
        """Add ``event`` (at ``at``, now by default); False when the log already holds one with
        its key (nothing is added)."""
        raise NotImplementedError

    def evaluations(self) -> dict[tuple[int, str], dict]:
        """Approvals of merged PRs worked out by earlier runs, by (PR number, merge commit)."""
        return {}

    def keep_evaluations(self, approvals: dict[tuple[int, str], dict]) -> None:
        """Keep approvals of merged PRs for later runs (immutable: policy at base, reviews until merge)."""


SCHEMA = """
CREATE TABLE IF NOT EXISTS current (
    environment TEXT NOT NULL, name TEXT NOT NULL, data TEXT NOT NULL, commit_sha TEXT NOT NULL,
    approval TEXT NOT NULL, status TEXT NOT NULL, updated_at TEXT NOT NULL,
    PRIMARY KEY (environment, name));
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY AUTOINCREMENT, environment TEXT NOT NULL, name TEXT NOT NULL,
    action TEXT NOT NULL, data TEXT NOT NULL, commit_sha TEXT NOT NULL, approval TEXT NOT NULL,
    status TEXT NOT NULL, message TEXT NOT NULL DEFAULT '', at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS environments (
    environment TEXT PRIMARY KEY, commit_sha TEXT NOT NULL, at TEXT NOT NULL, target TEXT NOT NULL DEFAULT '{}');
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, type TEXT NOT NULL, status TEXT NOT NULL,
    deployment TEXT, environment TEXT, message TEXT NOT NULL, data TEXT NOT NULL DEFAULT '{}', key TEXT);
CREATE INDEX IF NOT EXISTS events_at ON events (at);
CREATE TABLE IF NOT EXISTS in_sync (
    environment TEXT PRIMARY KEY, state TEXT NOT NULL, history_id INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS history_environment ON history (environment, id);
CREATE TABLE IF NOT EXISTS evaluations (
    pr INTEGER NOT NULL, merge_commit TEXT NOT NULL, approval TEXT NOT NULL, PRIMARY KEY (pr, merge_commit));
"""


class SqliteRecord(Record):
    keeps_sync_state = True

    def __init__(self, path: Path | str):
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)
        if "key" not in {row[1] for row in self.db.execute("PRAGMA table_info(events)")}:
            self.db.execute(
                "ALTER TABLE events ADD COLUMN key TEXT"
            )  # a log written before events had keys
        # one event per key (SQLite lets any number of rows have no key: NULLs are distinct)
        self.db.execute("CREATE UNIQUE INDEX IF NOT EXISTS events_key ON events (key)")

    def close(self) -> None:
        self.db.close()

    def entries(self, environment: str) -> dict[str, Entry]:
        rows = self.db.execute(
            "SELECT name, data, commit_sha, approval, status, updated_at FROM current WHERE "
            "environment = ?",
            (environment,),
        )
        return {
            name: Entry(
                environment, name, json.loads(data), commit, json.loads(approval), status, at
            )
            for name, data, commit, approval, status, at in rows
        }

    def begin(self, entry: Entry, action: str) -> None:
        self._write(entry, action, "in_progress", "")

    def finish(
        self, entry: Entry, action: str, ok: bool, message: str = "", events: Sequence[Event] = ()
    ) -> None:
        status = "success" if ok else "failure"
        if ok and action == "delete":
            with self._tx():
                self.db.execute(
                    "DELETE FROM current WHERE environment = ? AND name = ?",
                    (entry.environment, entry.name),
                )
                self._history(entry, action, status, message)
                self._events(events)
            return
        self._write(entry, action, status, message, events)

    def _write(
        self, entry: Entry, action: str, status: str, message: str, events: Sequence[Event] = ()
    ) -> None:
        entry.status, entry.updated_at = status, utcnow()
        with self._tx():
            self.db.execute(
                "INSERT INTO current VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (environment, "
                "name) DO UPDATE SET "
                "data = excluded.data, commit_sha = excluded.commit_sha, approval = "
                "excluded.approval, "
                "status = excluded.status, updated_at = excluded.updated_at",
                (
                    entry.environment,
                    entry.name,
                    json.dumps(entry.data, sort_keys=True),
                    entry.commit,
                    json.dumps(entry.approval, sort_keys=True),
                    status,
                    entry.updated_at,
                ),
            )
            self._history(entry, action, status, message)
            self._events(events)

    def _events(self, events: Sequence[Event]) -> None:
        for e in events:
            self.log_event(e)

    def _history(self, entry: Entry, action: str, status: str, message: str) -> None:
        self.db.execute(
            "INSERT INTO history (environment, name, action, data, commit_sha, approval, "
            "status, message, at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                entry.environment,
                entry.name,
                action,
                json.dumps(entry.data, sort_keys=True),
                entry.commit,
                json.dumps(entry.approval, sort_keys=True),
                status,
                message,
                utcnow(),
            ),
        )

    def _tx(self) -> _Transaction:
        return _Transaction(self.db)

    def last_commit(self, environment: str) -> str | None:
        row = self.db.execute(
            "SELECT commit_sha FROM environments WHERE environment = ?", (environment,)
        ).fetchone()
        return row[0] if row else None

    def last_target(self, environment: str) -> dict | None:
        row = self.db.execute(
            "SELECT target FROM environments WHERE environment = ?", (environment,)
        ).fetchone()
        return json.loads(row[0]) if row else None

    def set_last_commit(
        self, environment: str, commit: str, target: dict | None = None, state: str | None = None
    ) -> None:
        with self._tx():
            self.db.execute(
                "INSERT INTO environments VALUES (?, ?, ?, ?) ON CONFLICT (environment) DO "
                "UPDATE SET "
                "commit_sha = excluded.commit_sha, at = excluded.at, target = excluded.target",
                (environment, commit, utcnow(), json.dumps(target or {}, sort_keys=True)),
            )
            self.db.execute("DELETE FROM in_sync WHERE environment = ?", (environment,))
            # every write for an environment adds a history row: its newest id marks "nothing since"
            if state:
                self.db.execute(
                    "INSERT INTO in_sync VALUES (?, ?, ?)",
                    (environment, state, self._newest_history_id(environment)),
                )

    def in_sync(self, environment: str, state: str) -> bool:
        row = self.db.execute(
            "SELECT state, history_id FROM in_sync WHERE environment = ?", (environment,)
        ).fetchone()
        return (
            row is not None and row[0] == state and row[1] == self._newest_history_id(environment)
        )

    def _newest_history_id(self, environment: str) -> int:
        return self.db.execute(
            "SELECT coalesce(max(id), 0) FROM history WHERE environment = ?", (environment,)
        ).fetchone()[0]

    def log_event(self, event: Event, at: str | None = None) -> bool:
        cursor = self.db.execute(
            "INSERT INTO events (at, type, status, deployment, environment, message, data, key) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
            (
                at or utcnow(),
                event.type,
                event.status,
                event.deployment,
                event.environment,
                event.message,
                json.dumps(event.data or {}, sort_keys=True),
                event.key,
            ),
        )
        return cursor.rowcount == 1

    def evaluations(self) -> dict[tuple[int, str], dict]:
        return {
            (pr, merge): json.loads(approval)
            for pr, merge, approval in self.db.execute(
                "SELECT pr, merge_commit, approval FROM evaluations"
            )
        }

    def keep_evaluations(self, approvals: dict[tuple[int, str], dict]) -> None:
        with self._tx():
            # an approval worked out again by a newer judgment replaces the one kept before
            self.db.executemany(
                "INSERT OR REPLACE INTO evaluations VALUES (?, ?, ?)",
                [
                    (pr, merge, json.dumps(a, sort_keys=True))
                    for (pr, merge), a in approvals.items()
                ],
            )

    def history(self, environment: str | None = None, name: str | None = None) -> list[dict]:
        query = (
            "SELECT environment, name, action, data, commit_sha, approval, status, "
            "message, at FROM history WHERE 1=1"
        )
        args: list = []
        if environment:
            query += " AND environment = ?"
            args.append(environment)
        if name:
            query += " AND name = ?"
            args.append(name)
        rows = self.db.execute(query + " ORDER BY id", args)
        return [
            {
                "environment": e,
                "name": n,
                "action": a,
                "data": json.loads(d),
                "commit": c,
                "approval": json.loads(ap),
                "status": s,
                "message": m,
                "at": at,
            }
            for e, n, a, d, c, ap, s, m, at in rows
        ]


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")
