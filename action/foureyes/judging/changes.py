"""What a change means: diff two registry snapshots into events (pure)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from functools import lru_cache

from ..registry.model import DEPLOYMENTS_DIR, STATE_PATHS, Deployment, Policy, max_level
from ..vocabulary import EventType

# fields whose change is an event of its own; any other field is an "update"
_OWN_EVENT_FIELDS = ("model", "importance", "environments")


@dataclass
class Event:
    type: EventType
    file: str
    level: str
    deployment: str | None = None
    importance_before: str | None = None
    importance_after: str | None = None
    model_before: dict | None = None
    model_after: dict | None = None
    fields: list[str] = field(default_factory=list)
    requires_approval: bool = True
    importance_at_base: str | None = None  # at the base tip, when the base moved since the fork
    changes: dict = field(default_factory=dict)  # for updates: "metrics.auc" -> (before, after)
    includes: tuple[EventType, ...] = ()  # for a promotion: the events it carries

    @property
    def creates(self) -> bool:
        """The deployment did not exist before (a create, or a promotion carrying one)."""
        return EventType.CREATE in (self.type, *self.includes)

    @property
    def deletes(self) -> bool:
        return EventType.DELETE in (self.type, *self.includes)

    def to_json(self) -> dict:
        return {
            "deployment": self.deployment,
            "type": self.type,
            "file": self.file,
            "level": self.level,
            "requires_approval": self.requires_approval,
            "importance": {
                "before": self.importance_before,
                "after": self.importance_after,
                **({"base_tip": self.importance_at_base} if self.importance_at_base else {}),
            },
            "model": {"before": self.model_before, "after": self.model_after},
            "fields": self.fields,
            "changes": {k: {"before": b, "after": a} for k, (b, a) in self.changes.items()},
            **({"includes": list(self.includes)} if self.includes else {}),
        }


def field_changes(before: dict, after: dict, skip: Collection[str] = ()) -> dict[str, tuple]:
    """Every changed value, before and after; mappings (metrics, labels) one level deep, so a
    person reads `metrics.auc: 0.91 -> 0.93`, not just `metrics`."""
    out = {}
    for key in sorted(set(before) | set(after)):
        if key in skip or before.get(key) == after.get(key):
            continue
        b, a = before.get(key), after.get(key)
        if isinstance(b, dict) and isinstance(a, dict):
            out.update({f"{key}.{k}": v for k, v in field_changes(b, a).items()})
        else:
            out[key] = (b, a)
    return out


def _name(before: Deployment | None, after: Deployment | None) -> str:
    either = after or before
    if either is None:  # an event has a deployment on at least one side
        raise ValueError("an event with no deployment on either side")
    return either.name


def is_deployment_path(path: str) -> bool:
    return path.startswith(DEPLOYMENTS_DIR + "/")


def deployment_events(
    path: str, before: Deployment | None, after: Deployment | None
) -> list[Event]:
    """Events for one deployment file. ``before``/``after`` are None when the file is absent on
    that side. A rename arrives as two paths, so it is always a delete plus a create."""
    if before is None:
        if after is None:
            return []
        return [_event(EventType.CREATE, path, after.importance, None, after)]
    if after is None:
        return [_event(EventType.DELETE, path, before.importance, before, None)]
    level = max_level(before.importance, after.importance)
    events = []
    if before.model != after.model:
        events.append(_event(EventType.REPLACE_MODEL, path, level, before, after))
    if before.importance != after.importance:
        events.append(_event(EventType.CHANGE_IMPORTANCE, path, level, before, after))
    if before.environments != after.environments:
        events.append(
            _event(EventType.CHANGE_ENVIRONMENTS, path, level, before, after, ["environments"])
        )
        events[-1].changes = {"environments": (before.environments, after.environments)}
    others = sorted(
        k
        for k in set(before.data) | set(after.data)
        if k not in _OWN_EVENT_FIELDS and before.data.get(k) != after.data.get(k)
    )
    if others or not events:
        # a change that only touches comments or layout is still a change to an approved file
        fields = others or ["(formatting only)"]
        events.append(_event(EventType.UPDATE, path, level, before, after, fields))
        events[-1].changes = field_changes(before.data, after.data, skip=_OWN_EVENT_FIELDS)
    return events


# git modes that are not plain files: a symlink or a submodule in an "ungoverned" folder could
# still point at, or pull in, what the build uses, so they are governance wherever they are
_NOT_A_FILE = ("120000", "160000")


@lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern:
    """Glob semantics, anchored at the repository root and matched against the whole path:
    ``**`` matches across folders (``docs/**``: everything below docs; ``**/`` also matches no
    folder), ``*`` and ``?`` never cross a ``/``, every other character is literal, and a trailing
    ``/`` means the folder and everything below it. So ``*.md`` matches ``README.md`` but not
    ``action/README.md``."""
    if pattern.endswith("/"):
        pattern += "**"
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out), re.S)


def glob_match(pattern: str, path: str) -> bool:
    return _glob_regex(pattern).fullmatch(path) is not None


def is_governance(path: str, policy: Policy, mode: str = "100644") -> bool:
    """Deny by default: every path that is not a deployment file is governance, because anything
    else may feed the action, its install (pyproject.toml, a new package folder, a .pth file) or
    the workflows. Only a plain file matching the base policy's ``governance.ungoverned`` globs is
    not, and ``governance.paths`` are governance even then (deny wins)."""
    if is_deployment_path(path):
        return False
    # the registry and the policies make the served state (a deploy target's program may live
    # there): no glob of a policy takes them out of governance
    if path.startswith(STATE_PATHS) or policy.is_governance_path(path) or mode in _NOT_A_FILE:
        return True
    return not any(glob_match(g, path) for g in policy.ungoverned)


def governance_events(
    paths: list[str], policy: Policy, modes: dict[str, str] | None = None
) -> list[Event]:
    """``modes``: each path's git mode at head (or at base when deleted)."""
    modes = modes or {}
    return [
        Event(EventType.GOVERNANCE, p, policy.governance_level)
        for p in paths
        if is_governance(p, policy, modes.get(p, "100644"))
    ]


def apply_policy(events: list[Event], policy: Policy) -> list[Event]:
    for ev in events:
        ev.requires_approval = (
            ev.type == EventType.GOVERNANCE or ev.type in policy.require_approval_for
        )
    return events


def promotion_events(events: list[Event]) -> list[Event]:
    """A promotion's events: one `promote` per deployment it changes in the environment's branch,
    carrying (``includes``) the deployment events it is made of, at the highest of their levels,
    and always requiring approval (the policy's `require_approval_for` exempts a change made on
    the default branch, not its promotion). Governance events stay as they are."""
    out: list[Event] = []
    by_file: dict[str, Event] = {}
    for e in events:
        if e.type == EventType.GOVERNANCE:
            out.append(e)
            continue
        promoted = by_file.get(e.file)
        if promoted is None:
            promoted = by_file[e.file] = dataclasses.replace(
                e, type=EventType.PROMOTE, fields=[], changes={}, includes=()
            )
            out.append(promoted)
        promoted.includes += (e.type,)
        promoted.level = max_level(promoted.level, e.level)
        promoted.fields += [f for f in e.fields if f not in promoted.fields]
        promoted.changes.update(e.changes)
        promoted.requires_approval = True
    return out


def _event(
    kind: EventType,
    path: str,
    level: str,
    before: Deployment | None,
    after: Deployment | None,
    fields: list[str] | None = None,
) -> Event:
    return Event(
        type=kind,
        file=path,
        level=level,
        deployment=_name(before, after),
        importance_before=before.importance if before else None,
        importance_after=after.importance if after else None,
        model_before=dict(before.model) if before else None,
        model_after=dict(after.model) if after else None,
        fields=fields or [],
    )
