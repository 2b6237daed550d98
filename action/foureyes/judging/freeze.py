"""Freeze windows, pure: which change freezes are in force at an instant, per
environment and importance, until when, and what breaking the glass costs.

Three sources, all read at the commit whose policy judges (never from a PR head):
- recurring windows in `policies/approval.yaml` (`freeze.windows[]` with `cron` + `duration`),
- one-off windows there too (`start` + `end`),
- incident freezes in `policies/freeze.yaml`, which a platform lead starts (adds an entry) and ends
  (removes it, or sets `end`) through a PR like any other governance change.

Times are computed in each window's zone (zoneinfo). A cron start in a skipped hour fires at the
first minute after it, and one in a repeated hour fires once, at the first (cronsim follows Debian
cron here). A `duration` is wall-clock time in the zone: `0 18 * * 5` for `62h` ends Monday 08:00
local whatever DST did over the weekend; an end that falls in a skipped hour moves past the gap
(the freeze gets longer, never shorter). No clock here: every function takes ``now``.

cronsim (maintained, no dependencies, reverse iteration, DST-aware) parses the cron expressions;
croniter is deprecated upstream.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ..registry.model import Environment, Snapshot
    from .changes import Event
    from .plan import Plan
    from .policy import Decision

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..registry import yamlload
from ..registry.model import POLICY_FILE, by_content, level_rank, load_checked
from ..registry.yamlload import LoadError

INCIDENT_FILE = "policies/freeze.yaml"
DEFAULT_LABEL = "break-glass"
MAX_DURATION = timedelta(days=31)  # a longer recurring window is a one-off window
_LOOKAHEAD = timedelta(days=400)  # how far "until when" and "next" look before saying "at least"
_DURATION = re.compile(r"^([1-9][0-9]*)([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


@dataclass(frozen=True)
class Window:
    name: str
    kind: str  # recurring | one-off | incident
    file: str
    line: int | None
    zone: ZoneInfo
    environments: frozenset[str] | None = None  # None: every environment
    importance: frozenset[str] | None = None  # None: every level
    reason: str = ""
    cron: str = ""
    duration: timedelta | None = None  # wall-clock time in ``zone``
    start: datetime | None = None  # None (incidents only): in force since the entry exists
    end: datetime | None = None  # None (incidents only): until the entry is removed

    def applies_to(self, environments: Iterable[str] | None, level: str | None) -> bool:
        """``environments`` None means every environment (a deployment that lists none)."""
        if self.importance is not None and level is not None and level not in self.importance:
            return False
        if self.environments is None or environments is None:
            return True
        return bool(self.environments & set(environments))

    def in_force(self, now: datetime) -> Occurrence | None:
        now = now.astimezone(UTC)  # compare instants, never wall times of one zone
        if self.kind != "recurring":
            if (self.start is None or self.start <= now) and (self.end is None or now < self.end):
                return Occurrence(self, self.start, self.end)
            return None
        start = _latest_start(self.cron, now, self.zone)
        if start is None:
            return None
        end = wall_add(start, self._length(), self.zone)
        return Occurrence(self, _utc(start), end) if now < end else None

    def _length(self) -> timedelta:
        """How long a recurring window lasts (its parsing gives every one a duration)."""
        if self.duration is None:
            raise ValueError(f"freeze window {self.name}: recurring, with no duration")
        return self.duration

    def next_starts(self, now: datetime, limit: int) -> list[Occurrence]:
        """Occurrences that start after ``now`` (at most ``limit``, within the look-ahead)."""
        if self.kind != "recurring":
            return (
                [Occurrence(self, self.start, self.end)]
                if self.start is not None and self.start > now
                else []
            )
        from cronsim import CronSim

        out: list[Occurrence] = []
        now = now.astimezone(UTC)
        for start in CronSim(self.cron, now.astimezone(self.zone).replace(microsecond=0)):
            if start > now + _LOOKAHEAD or len(out) >= limit:
                break
            out.append(Occurrence(self, _utc(start), wall_add(start, self._length(), self.zone)))
        return out


@dataclass(frozen=True)
class Occurrence:
    window: Window
    start: datetime | None
    end: datetime | None

    def to_json(self) -> dict:
        w = self.window
        return {
            "name": w.name,
            "kind": w.kind,
            "file": w.file,
            "line": w.line,
            "start": _iso(self.start),
            "end": _iso(self.end),
            "timezone": w.zone.key,
            "environments": sorted(w.environments) if w.environments is not None else None,
            "importance": sorted(w.importance, key=level_rank, reverse=True)
            if w.importance is not None
            else None,
            "reason": w.reason,
        }


@dataclass(frozen=True)
class BreakGlass:
    label: str
    extra_approvals: int


@dataclass(frozen=True)
class Freezes:
    windows: tuple[Window, ...] = ()
    break_glass: BreakGlass | None = None  # None: the policy offers no way through a freeze

    def in_force(
        self, now: datetime, environments: Iterable[str] | None = None, level: str | None = None
    ) -> list[Occurrence]:
        found = [w.in_force(now) for w in self.windows if w.applies_to(environments, level)]
        return [o for o in found if o is not None]

    def until(
        self, now: datetime, environments: Iterable[str] | None = None, level: str | None = None
    ) -> tuple[datetime | None, bool]:
        """When the freeze on (environments, level) ends: windows that overlap or touch are one
        freeze. (None, _): not before an incident entry is removed; (t, True): at least until t
        (still frozen at the look-ahead's end)."""
        now = t = now.astimezone(UTC)
        while t < now + _LOOKAHEAD:
            ends = [o.end for o in self.in_force(t, environments, level)]
            if not ends:
                return t, False
            known = [e for e in ends if e is not None]
            if len(known) < len(ends):
                return None, False
            t = max(known)
        return t, True

    def upcoming(
        self,
        now: datetime,
        limit: int = 5,
        environments: Iterable[str] | None = None,
        level: str | None = None,
    ) -> list[Occurrence]:
        found = [
            o
            for w in self.windows
            if w.applies_to(environments, level)
            for o in w.next_starts(now, limit)
        ]
        return sorted(found, key=lambda o: (o.start, o.window.name))[:limit]


# --- what a change is held by
# ----------------------------------------------------------------------


@dataclass(frozen=True)
class Touched:
    """One deployment a change touches: where it is served (None: every environment) and its level."""

    deployment: str
    environments: frozenset[str] | None
    level: str


@dataclass
class Hold:
    occurrences: list[Occurrence]
    until: datetime | None
    at_least: bool
    deployments: list[str]
    break_glass: BreakGlass | None  # set when the change carries the label and the policy allows it
    label: str = DEFAULT_LABEL

    @property
    def names(self) -> str:
        return ", ".join(dict.fromkeys(o.window.name for o in self.occurrences))

    def until_text(self) -> str:
        until = self.until
        if until is None:
            return "the incident freeze is lifted"
        zone = max(self.occurrences, key=lambda o: o.end or until).window.zone
        return ("at least " if self.at_least else "") + format_time(until, zone)

    def describe(self) -> str:
        return f"frozen until {self.until_text()} ({self.names})"

    def to_json(self) -> dict:
        return {
            "until": _iso(self.until),
            "at_least": self.at_least,
            "windows": [o.to_json() for o in self.occurrences],
            "deployments": self.deployments,
            "break_glass": self.break_glass is not None,
            "label": self.label,
            "extra_approvals": self.break_glass.extra_approvals if self.break_glass else 0,
        }


def hold(
    freezes: Freezes, now: datetime, touched: list[Touched], labels: Iterable[str] = ()
) -> Hold | None:
    """The freeze a change is held by at ``now``, or None. Governance changes are never held:
    a freeze must stay liftable, and the policy fixable, while it is in force."""
    occurrences: list[Occurrence] = []
    until: datetime | None = now
    at_least = False
    deployments = []
    for t in touched:
        found = freezes.in_force(now, t.environments, t.level)
        if not found:
            continue
        deployments.append(t.deployment)
        occurrences += [o for o in found if o not in occurrences]
        end, more = freezes.until(now, t.environments, t.level)
        if end is None or until is None:
            until = None
        else:
            until, at_least = (end, more) if end > until else (until, at_least or more)
    if not occurrences:
        return None
    label = freezes.break_glass.label if freezes.break_glass else DEFAULT_LABEL
    glass = (
        freezes.break_glass
        if freezes.break_glass and label.lower() in {lb.lower() for lb in labels}
        else None
    )
    return Hold(occurrences, until, at_least, sorted(set(deployments)), glass, label)


def apply_hold(decision: Decision, held: Hold | None) -> Decision:
    """Hold a gate decision: without break-glass the change is blocked (the status says until
    when); with it, the policy's extra approvals are required, counted by the same rule (the
    decision's approvals already exclude authors, contributors, owners, bots and stale reviews)."""
    from .policy import Block

    if held is None:
        return decision
    decision.freeze = held.to_json()
    if held.break_glass is not None:
        decision.required += held.break_glass.extra_approvals
        if decision.state == "approved" and len(decision.approvals) < decision.required:
            decision.state = "pending"
        return decision
    how = f"; to break glass, label {held.label!r}" if held.label else ""
    decision.blocking.insert(0, Block("freeze", held.describe() + how))
    if decision.state != "error":
        decision.state = "blocked"
    return decision


def touched_by(
    events: Iterable[Event], head_deployments: dict, base_deployments: dict
) -> list[Touched]:
    """The deployments a plan's events touch, each with the environments it is served in before
    and after (None, every environment, when a side lists none or cannot be read) and the event's
    level. A change that drops production from a deployment's list touches production too."""
    out = []
    for e in events:
        if not e.deployment:
            continue
        before, after = base_deployments.get(e.file), head_deployments.get(e.file)
        sides = [d for d in (before, after) if d is not None]
        unknown = (not e.creates and before is None) or (not e.deletes and after is None)
        if unknown or any(d.environments is None for d in sides):
            envs = None
        else:
            envs = frozenset(env for d in sides for env in d.environments)
        out.append(Touched(e.deployment, envs, e.level))
    return out


# --- loading
# ---------------------------------------------------------------------------------------


def load(snapshot: Snapshot) -> Freezes:
    """Windows from the policy and the incident file as ``snapshot`` (a commit or the working
    tree) has them. A policy the gate has already checked against its schema is read again here
    for lines (each file's parse is kept by its bytes)."""
    windows: list[Window] = []
    glass = None
    data = snapshot.read(POLICY_FILE)
    if data is not None:
        found, glass = parse_policy_section(data, POLICY_FILE)
        windows += found
    data = snapshot.read(INCIDENT_FILE)
    if data is not None:
        windows += parse_incidents(data, INCIDENT_FILE, _policy_zone(snapshot))
    return Freezes(tuple(windows), glass)


@by_content
def parse_policy_section(
    data: bytes, file: str = POLICY_FILE
) -> tuple[tuple[Window, ...], BreakGlass | None]:
    doc = load_checked(data, file, "approval.schema.json")
    section = doc.get("freeze") or {}
    text = yamlload.decode(data, file)
    zone = _zone(section.get("timezone", "UTC"), file, text, ("freeze", "timezone"))
    windows = [
        _window(w, "freeze", i, file, text, zone) for i, w in enumerate(section.get("windows", []))
    ]
    _no_duplicates(windows, file)
    glass = section.get("break_glass")
    return tuple(windows), (
        BreakGlass(glass.get("label", DEFAULT_LABEL), glass["extra_approvals"]) if glass else None
    )


@by_content
def parse_incidents(
    data: bytes, file: str = INCIDENT_FILE, zone: ZoneInfo | None = None
) -> tuple[Window, ...]:
    doc = load_checked(data, file, "freeze.schema.json")
    text = yamlload.decode(data, file)
    zone = (
        _zone(doc["timezone"], file, text, ("timezone",))
        if "timezone" in doc
        else (zone or ZoneInfo("UTC"))
    )
    windows = [
        _window(w, "incident", i, file, text, zone, incident=True)
        for i, w in enumerate(doc.get("freezes", []))
    ]
    _no_duplicates(windows, file)
    return tuple(windows)


def _policy_zone(snapshot: Snapshot) -> ZoneInfo:
    data = snapshot.read(POLICY_FILE)
    return ZoneInfo("UTC") if data is None else _zone_of_policy(data)


@by_content
def _zone_of_policy(data: bytes) -> ZoneInfo:
    try:
        doc = yamlload.loads(data, POLICY_FILE)
        return ZoneInfo(((doc or {}).get("freeze") or {}).get("timezone", "UTC"))
    except (LoadError, ZoneInfoNotFoundError, ValueError, AttributeError):
        return ZoneInfo("UTC")  # the policy's own loader reports it


def _window(
    w: dict, key: str, i: int, file: str, text: str, default_zone: ZoneInfo, incident: bool = False
) -> Window:
    path = ("freeze", "windows", i) if not incident else ("freezes", i)
    line, _ = yamlload.line_of(text, path)
    zone = (
        _zone(w["timezone"], file, text, (*path, "timezone")) if "timezone" in w else default_zone
    )
    common = dict(
        name=w["name"],
        file=file,
        line=line,
        zone=zone,
        reason=w.get("reason", ""),
        environments=frozenset(w["environments"]) if "environments" in w else None,
        importance=frozenset(w["importance"]) if "importance" in w else None,
    )
    if "cron" in w:
        _check_cron(w["cron"], file, text, (*path, "cron"))
        duration = _duration(w["duration"])
        if duration > MAX_DURATION:
            line, col = yamlload.line_of(text, (*path, "duration"))
            raise LoadError(
                file,
                f"duration {w['duration']!r} is longer than {MAX_DURATION.days}d: "
                "use a one-off window (start, end) for a long freeze",
                line,
                col,
            )
        return Window(kind="recurring", cron=w["cron"], duration=duration, **common)
    start = _instant(w["start"], zone, file, text, (*path, "start")) if "start" in w else None
    end = _instant(w["end"], zone, file, text, (*path, "end")) if w.get("end") is not None else None
    if start is not None and end is not None and end <= start:
        line, col = yamlload.line_of(text, (*path, "end"))
        raise LoadError(file, f"end {w['end']!r} is not after start {w['start']!r}", line, col)
    return Window(kind="incident" if incident else "one-off", start=start, end=end, **common)


def _no_duplicates(windows: list[Window], file: str) -> None:
    seen = set()
    for w in windows:
        if w.name in seen:
            raise LoadError(
                file,
                f"freeze window {w.name!r} is listed twice: names identify windows in "
                "statuses and the event log",
                w.line,
                None,
            )
        seen.add(w.name)


def _zone(name: str, file: str, text: str, path: tuple) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        line, col = yamlload.line_of(text, path)
        raise LoadError(
            file,
            f"unknown time zone {name!r}: expected an IANA name such as 'Europe/Berlin' or 'UTC'",
            line,
            col,
        ) from None


def _check_cron(expr: str, file: str, text: str, path: tuple) -> None:
    from cronsim import CronSim, CronSimError

    fields = expr.split()
    problem = None
    if len(fields) != 5:
        problem = (
            f"expected 5 fields (minute hour day-of-month month day-of-week), got {len(fields)}"
        )
    else:
        try:
            CronSim(expr, datetime(2000, 1, 1))
        except CronSimError as exc:
            problem = str(exc)
    if problem:
        line, col = yamlload.line_of(text, path)
        raise LoadError(
            file, f"cron {expr!r}: {problem}; e.g. '0 18 * * 5' is Fridays at 18:00", line, col
        )


def _duration(text: str) -> timedelta:
    found = _DURATION.match(text)
    if found is None:  # the schema allows only this pattern
        raise ValueError(f"not a duration: {text!r}")
    number, unit = found.groups()
    return timedelta(**{_UNITS[unit]: int(number)})


def _instant(value: str, zone: ZoneInfo, file: str, text: str, path: tuple) -> datetime:
    """An ISO 8601 time; without an offset it is wall time in ``zone``, and must exist there once."""
    line, col = yamlload.line_of(text, path)
    try:
        dt = datetime.fromisoformat(str(value))
    except ValueError:
        raise LoadError(
            file,
            f"{value!r} is not a time: expected ISO 8601 such as 2026-12-24T18:00 "
            "(wall time in the window's zone) or 2026-12-24T17:00Z",
            line,
            col,
        ) from None
    if dt.tzinfo is not None:
        return _utc(dt)
    local = dt.replace(tzinfo=zone)
    if _imaginary(local):
        raise LoadError(
            file,
            f"{value} does not exist in {zone.key} (the clocks skip it): give a time "
            "outside the DST gap, or an offset",
            line,
            col,
        )
    if local.utcoffset() != dt.replace(tzinfo=zone, fold=1).utcoffset():
        raise LoadError(
            file,
            f"{value} happens twice in {zone.key} (the clocks go back): add the "
            "offset you mean, e.g. +02:00 or +01:00",
            line,
            col,
        )
    return _utc(local)


# --- time
# ------------------------------------------------------------------------------------------


def _imaginary(dt: datetime) -> bool:
    return dt.astimezone(UTC).astimezone(dt.tzinfo).replace(tzinfo=None) != dt.replace(tzinfo=None)


def wall_add(start: datetime, duration: timedelta, zone: ZoneInfo) -> datetime:
    """``start`` plus a wall-clock ``duration`` in ``zone``. An end the clocks skip moves past the
    gap, and one they repeat is the second: a freeze may get longer at DST, never shorter."""
    local = start.astimezone(zone).replace(tzinfo=None) + duration
    return max(_utc(local.replace(tzinfo=zone, fold=0)), _utc(local.replace(tzinfo=zone, fold=1)))


def _latest_start(cron: str, now: datetime, zone: ZoneInfo) -> datetime | None:
    """The latest cron start at or before ``now``. cronsim walks wall time, which repeats when the
    clocks go back: walking back from an hour later finds a start made in the first pass of a
    repeated hour (02:30 CEST) when ``now`` is in the second (02:10 CET)."""
    from cronsim import CronSim

    later = (now + timedelta(hours=1, seconds=1)).astimezone(zone).replace(microsecond=0)
    for i, start in enumerate(CronSim(cron, later, reverse=True)):
        if start <= now:
            return start
        if i > 120:  # at most one start a minute, and cronsim yields none twice
            break
    return None


def _utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC)


def parse_now(text: str) -> datetime:
    """--now: an ISO 8601 time with an offset or Z (a time without one is UTC)."""
    dt = datetime.fromisoformat(text)
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def format_time(dt: datetime, zone: ZoneInfo) -> str:
    return dt.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def _iso(dt: datetime | None) -> str | None:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z") if dt is not None else None


# --- a plan's freeze: the windows and deployments its judging commit holds
# ---------------------------------


def check_plan(plan: Plan, labels: Iterable[str], now: datetime, branch: str = "") -> Hold | None:
    """The freeze holding a plan at ``now``: windows as the plan's base has them (the policy that
    judges the change), deployments as the base and the head have them. A freeze holds what would
    reach its environments: a PR into ``branch`` is held only for the environments deployed from
    that branch (``served_by``); a production freeze holds PRs into release branches, the
    promotion and the production deploy, not PRs into the default branch."""
    if not plan.freezes.windows:
        return None
    touched = touched_by(plan.events, plan.head_deployments, plan.base_deployments)
    return hold(plan.freezes, now, within(touched, served_by(plan.environments, branch)), labels)


def served_by(environments: Iterable[Environment] | None, branch: str) -> frozenset[str] | None:
    """The environments deployed from ``branch``; None (every environment) when the branch is
    unknown or there is no environments file: deny by default."""
    if environments is None or not branch:
        return None
    return frozenset(e.name for e in environments if e.matches_branch(branch))


def served_from(tree: Snapshot, branch: str) -> frozenset[str] | None:
    """``served_by`` the environments file ``tree`` holds; None when it cannot be read."""
    from ..registry.model import ENVIRONMENTS_FILE, parse_environments

    data = tree.read(ENVIRONMENTS_FILE) if branch else None
    if data is None:
        return None
    try:
        return served_by(parse_environments(data), branch)
    except LoadError:
        return None


def within(touched: list[Touched], served: frozenset[str] | None) -> list[Touched]:
    """What of each touched deployment reaches ``served`` (None: everything); a deployment served
    in none of them is not held."""
    if served is None:
        return touched
    out = []
    for t in touched:
        envs = served if t.environments is None else t.environments & served
        if envs:
            out.append(Touched(t.deployment, envs, t.level))
    return out


def break_glass_used(plan: Plan, labels: Iterable[str], approvals: int) -> bool:
    """The PR carried the policy's break-glass label and has the extra approvals on top of its
    level's: what lets its change through a freeze at deploy time."""
    glass = plan.freezes.break_glass
    return (
        glass is not None
        and glass.label.lower() in {lb.lower() for lb in labels}
        and approvals >= plan.required_approvals + glass.extra_approvals
    )


# --- `foureyes freeze`: what is in force, and what comes next
# ----------------------------------------


def listing(
    freezes: Freezes,
    now: datetime,
    environment: str | None = None,
    level: str | None = None,
    count: int = 5,
) -> dict:
    envs = {environment} if environment else None
    in_force = freezes.in_force(now, envs, level)
    until, at_least = freezes.until(now, envs, level) if in_force else (None, False)
    return {
        "now": _iso(now.replace(microsecond=0)),
        "environment": environment,
        "importance": level,
        "frozen": bool(in_force),
        "until": _iso(until) if in_force else None,
        "at_least": at_least,
        "in_force": [o.to_json() for o in in_force],
        "next": [o.to_json() for o in freezes.upcoming(now, count, envs, level)],
        "break_glass": (
            {
                "label": freezes.break_glass.label,
                "extra_approvals": freezes.break_glass.extra_approvals,
            }
            if freezes.break_glass
            else None
        ),
    }


def listing_text(data: dict) -> str:
    def scope(w: dict) -> str:
        envs = ", ".join(w["environments"]) if w["environments"] else "every environment"
        levels = ", ".join(w["importance"]) if w["importance"] else "every level"
        return f"{envs}; {levels}"

    def when(w: dict) -> str:
        zone = ZoneInfo(w["timezone"])
        start = (
            format_time(datetime.fromisoformat(w["start"]), zone)
            if w["start"]
            else "(since merged)"
        )
        end = format_time(datetime.fromisoformat(w["end"]), zone) if w["end"] else "(until removed)"
        return f"{start} -> {end}"

    def line(w: dict) -> str:
        where = f"{w['file']}:{w['line']}" if w["line"] else w["file"]
        reason = f"  {w['reason']}" if w["reason"] else ""
        return f"  {w['name']:<20} {w['kind']:<9} {when(w):<44} {scope(w)}  ({where}){reason}"

    what = " and ".join(x for x in (data["environment"], data["importance"]) if x) or "any change"
    lines = [
        f"at {data['now']}: "
        + (
            f"{what} is FROZEN until "
            + ("at least " if data["at_least"] else "")
            + (data["until"] or "an incident freeze is lifted")
            if data["frozen"]
            else f"{what} is not frozen"
        )
    ]
    lines += ["in force:"] + ([line(w) for w in data["in_force"]] or ["  none"])
    lines += ["next:"] + ([line(w) for w in data["next"]] or ["  none"])
    glass = data["break_glass"]
    lines.append(
        f"break-glass: label {glass['label']!r} and {glass['extra_approvals']} extra approval(s)"
        if glass
        else "break-glass: not offered by the policy (nothing goes through a freeze)"
    )
    return "\n".join(lines)
