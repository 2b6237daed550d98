"""`foureyes events`: the event log (deploys, gate decisions, timeout actions, provenance
violations, notifications), kept in the same SQLite file as the deploy record.

Each event has a status: ok, warning, failing, unknown or info. The log can be filtered, searched,
exported (JSON, CSV) and pruned to a retention window (90 days by default).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from ..vocabulary import LogStatus, LogType

if TYPE_CHECKING:
    import sqlite3

STATUSES = tuple(LogStatus)
TYPES = tuple(LogType)


def known_types(db: sqlite3.Connection) -> set[str]:
    """The event types foureyes writes, and any other type already in the log (imported ones)."""
    return set(TYPES) | {t for (t,) in db.execute("SELECT DISTINCT type FROM events")}


RETENTION_DAYS = 90


def parse_time(text: str, now: datetime) -> datetime:
    """ISO 8601 (a date, or a date and time; UTC unless it says otherwise) or a span back from now: 30m, 12h, 7d."""
    m = re.fullmatch(r"(\d+)([mhd])", text.strip())
    if m:
        return now - timedelta(
            **{{"m": "minutes", "h": "hours", "d": "days"}[m.group(2)]: int(m.group(1))}
        )
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{text!r} is not a time (use 2026-11-22, 2026-11-22T10:00:00Z or 7d)"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Event:
    """One event, as a record writes it together with the outcome it describes (`Record.finish`).
    ``key``: what makes it unique; the log keeps one event per key (none: every write is new)."""

    type: str
    status: str
    message: str
    deployment: str | None = None
    environment: str | None = None
    data: dict = field(default_factory=dict)
    key: str | None = None


@dataclass
class Filters:
    deployment: str | None = None
    environment: str | None = None
    type: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None


def query(db: sqlite3.Connection, filters: Filters) -> list[dict]:
    sql = (
        "SELECT id, at, type, status, deployment, environment, message, data, key FROM "
        "events WHERE 1=1"
    )
    args: list = []
    for column in ("deployment", "environment", "type", "status"):
        value = getattr(filters, column)
        if value:
            sql += f" AND {column} = ?"
            args.append(value)
    if filters.since:
        sql += " AND at >= ?"
        args.append(iso(filters.since))
    if filters.until:
        sql += " AND at <= ?"
        args.append(iso(filters.until))
    if filters.text:
        sql += " AND (message LIKE ? ESCAPE '\\' OR data LIKE ? ESCAPE '\\')"
        pattern = (
            "%" + filters.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        args += [pattern, pattern]
    rows = db.execute(sql + " ORDER BY at, id", args)
    return [
        {
            "id": i,
            "at": at,
            "type": t,
            "status": s,
            "deployment": d,
            "environment": e,
            "message": m,
            "data": json.loads(data or "{}"),
            **({"key": key} if key else {}),
        }
        for i, at, t, s, d, e, m, data, key in rows
    ]


def prune(db: sqlite3.Connection, now: datetime, days: int = RETENTION_DAYS) -> int:
    """Delete events older than the retention window; returns how many went."""
    cursor = db.execute("DELETE FROM events WHERE at < ?", (iso(now - timedelta(days=days)),))
    return cursor.rowcount
