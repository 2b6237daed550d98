"""The words foureyes decides and records in, each kept once: what a change does (`EventType`),
what the judgment says (`State`), and what the event log holds (`LogType`, `LogStatus`).

They are string enums, so a member is the word itself wherever it is written (JSON, the record,
a status description) and compares equal to it. The JSON Schemas that let a policy or a rule
name them are checked against these by tests/test_vocabulary.py, as are the README's tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class EventType(StrEnum):
    """What a change does to one deployment file, or to a governance file."""

    CREATE = "create"
    REPLACE_MODEL = "replace_model"
    CHANGE_IMPORTANCE = "change_importance"
    DELETE = "delete"
    UPDATE = "update"
    CHANGE_ENVIRONMENTS = "change_environments"  # where it serves: an environment added or removed
    GOVERNANCE = "governance"  # any file that is not a deployment (deny by default)
    PROMOTE = (
        "promote"  # a deployment's change carried from the default branch into a deploy branch
    )

    @property
    def label(self) -> str:
        """As a person reads it in a table: `replace model`."""
        return self.value.replace("_", " ")

    @property
    def refines(self) -> EventType | None:
        """The event this one was split out of, if any. A policy or a rule written before the split
        named that one and still means this one too: a new event type is never exempt from what
        an existing policy requires (deny by default)."""
        return EventType.UPDATE if self is EventType.CHANGE_ENVIRONMENTS else None


# the events a change to a deployment file is made of: what a policy's `require_approval_for`
# and a rule's `match.events` may name
DEPLOYMENT_EVENTS: tuple[EventType, ...] = (
    EventType.CREATE,
    EventType.REPLACE_MODEL,
    EventType.CHANGE_IMPORTANCE,
    EventType.DELETE,
    EventType.UPDATE,
    EventType.CHANGE_ENVIRONMENTS,
)


def named_events(names: Iterable[str]) -> tuple[EventType, ...]:
    """The deployment events a list in a policy or a rule covers: each it names, and each split
    out of one it names (`EventType.refines`), in `DEPLOYMENT_EVENTS` order."""
    named = {EventType(name) for name in names}
    return tuple(t for t in DEPLOYMENT_EVENTS if t in named or t.refines in named)


class State(StrEnum):
    """The judgment's outcome for a change, from best to worst."""

    APPROVED = "approved"
    PENDING = "pending"  # not yet: approvals missing
    BLOCKED = "blocked"  # refused as it stands: invalid, frozen, a rule or a reviewer says no
    ERROR = "error"  # no judgment could be made: fail closed

    @property
    def strictness(self) -> int:
        """When two policies judge one change, the worse outcome stands."""
        return list(State).index(self)


class LogType(StrEnum):
    """What an event in the event log (`foureyes events`) is about."""

    DEPLOY = "deploy"
    GATE = "gate"
    TIMEOUT = "timeout"
    PROVENANCE_VIOLATION = "provenance_violation"
    NOTIFICATION = "notification"
    FREEZE = "freeze"  # a deploy held by a freeze
    BREAK_GLASS = "break_glass"  # a frozen change let through by its break-glass PR
    RECORD_IGNORED = "record_ignored"  # a Deployments entry not written by foureyes, ignored


class LogStatus(StrEnum):
    """How an event in the event log went."""

    OK = "ok"
    WARNING = "warning"
    FAILING = "failing"
    UNKNOWN = "unknown"
    INFO = "info"
