"""What a change means: diff two registry snapshots into events (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .registry import DEPLOYMENTS_DIR, Deployment, Policy, max_level

# fields whose change is an event of its own; any other field is an "update"
_OWN_EVENT_FIELDS = ("model", "importance")


@dataclass
class Event:
    type: str  # create | delete | replace_model | change_importance | update | governance
    file: str
    level: str
    deployment: str | None = None
    importance_before: str | None = None
    importance_after: str | None = None
    model_before: dict | None = None
    model_after: dict | None = None
    fields: list[str] = field(default_factory=list)
    requires_approval: bool = True
    changes: dict = field(default_factory=dict)  # for updates: "metrics.auc" -> (before, after)

    def to_json(self) -> dict:
        return {
            "deployment": self.deployment,
            "type": self.type,
            "file": self.file,
            "level": self.level,
            "requires_approval": self.requires_approval,
            "importance": {"before": self.importance_before, "after": self.importance_after},
            "model": {"before": self.model_before, "after": self.model_after},
            "fields": self.fields,
            "changes": {k: {"before": b, "after": a} for k, (b, a) in self.changes.items()},
        }


def field_changes(before: dict, after: dict, skip=()) -> dict[str, tuple]:
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


def is_deployment_path(path: str) -> bool:
    return path.startswith(DEPLOYMENTS_DIR + "/")


def deployment_events(path: str, before: Deployment | None, after: Deployment | None) -> list[Event]:
    """Events for one deployment file. ``before``/``after`` are None when the file is absent on
    that side. A rename arrives as two paths, so it is always a delete plus a create."""
    if before is None and after is None:
        return []
    if before is None:
        return [_event("create", path, after.importance, None, after)]
    if after is None:
        return [_event("delete", path, before.importance, before, None)]
    level = max_level(before.importance, after.importance)
    events = []
    if before.model != after.model:
        events.append(_event("replace_model", path, level, before, after))
    if before.importance != after.importance:
        events.append(_event("change_importance", path, level, before, after))
    others = sorted(
        k for k in set(before.data) | set(after.data)
        if k not in _OWN_EVENT_FIELDS and before.data.get(k) != after.data.get(k)
    )
    if others or not events:
        # a change that only touches comments or layout is still a change to an approved file
        events.append(_event("update", path, level, before, after, others or ["(formatting only)"]))
        events[-1].changes = field_changes(before.data, after.data, skip=_OWN_EVENT_FIELDS)
    return events


def governance_events(paths: list[str], policy: Policy) -> list[Event]:
    return [Event("governance", p, policy.governance_level) for p in paths if policy.is_governance_path(p)]


def apply_policy(events: list[Event], policy: Policy) -> list[Event]:
    for ev in events:
        ev.requires_approval = ev.type == "governance" or ev.type in policy.require_approval_for
    return events


def _event(kind: str, path: str, level: str, before: Deployment | None, after: Deployment | None,
           fields: list[str] | None = None) -> Event:
    return Event(
        type=kind,
        file=path,
        level=level,
        deployment=(after or before).name,
        importance_before=before.importance if before else None,
        importance_after=after.importance if after else None,
        model_before=dict(before.model) if before else None,
        model_after=dict(after.model) if after else None,
        fields=fields or [],
    )
