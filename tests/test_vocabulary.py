"""One vocabulary: the event types, decision states and event-log words live in
foureyes.vocabulary; every list a user or a reader sees elsewhere (the JSON Schemas a policy or a
rule is checked with, the README's tables) and every map over them must agree with it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from foureyes.app import gate_pipeline as gate
from foureyes.registry.model import parse_policy
from foureyes.report import reporters as report
from foureyes.vocabulary import DEPLOYMENT_EVENTS, EventType, LogStatus, LogType, State

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_COPIES = [ROOT / "policies", ROOT / "action" / "foureyes" / "template" / "policies"]


def _enum_at(schema: dict, *path: str) -> set[str]:
    node = schema
    for key in path:
        node = node[key]
    return set(node["enum"])


@pytest.mark.parametrize("folder", SCHEMA_COPIES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_schemas_name_exactly_the_deployment_events(folder):
    approval = json.loads((folder / "approval.schema.json").read_text())
    rules = json.loads((folder / "rules.schema.json").read_text())
    assert _enum_at(approval, "properties", "require_approval_for", "items") == set(
        DEPLOYMENT_EVENTS
    )
    assert _enum_at(rules, "properties", "match", "properties", "events", "items") == set(
        DEPLOYMENT_EVENTS
    )


def test_a_policy_that_names_no_events_requires_approval_for_every_deployment_event():
    bundled = (SCHEMA_COPIES[1] / "approval.yaml").read_text()
    policy = parse_policy(re.sub(r"(?m)^require_approval_for:.*\n", "", bundled).encode())
    assert policy.require_approval_for == frozenset(DEPLOYMENT_EVENTS)


def test_a_list_naming_an_event_covers_the_events_split_out_of_it():
    from foureyes.vocabulary import named_events

    assert named_events(DEPLOYMENT_EVENTS) == DEPLOYMENT_EVENTS
    assert named_events(["delete", "create"]) == (EventType.CREATE, EventType.DELETE)
    for event in DEPLOYMENT_EVENTS:
        if event.refines is not None:
            assert event in named_events([event.refines])
            assert event.refines not in named_events([event])
            assert event.refines in DEPLOYMENT_EVENTS  # a split keeps what it came from


def _table_after(heading: str) -> list[str]:
    """The first column of the first table under ``heading`` in the README."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index(heading) :]
    rows = re.findall(r"^\| ([^|]+?) \|", section.split("\n\n", 2)[1], re.M)
    return [r for r in rows if not set(r) <= {"-"}][1:]  # the header row and its rule left out


def test_the_readme_events_table_lists_every_event_type_once():
    assert sorted(_table_after("## Events and levels")) == sorted(EventType)


@pytest.mark.parametrize(
    "mapping",
    [gate.EXIT_CODES, gate.EVENT_STATUS, report._ICONS],
    ids=["exit codes", "event-log status", "comment icons"],
)
def test_every_map_over_the_states_covers_each_state(mapping):
    assert set(mapping) == set(State)


def test_the_strictness_of_the_states_runs_from_approved_to_error():
    assert sorted(State, key=lambda s: s.strictness) == [
        State.APPROVED,
        State.PENDING,
        State.BLOCKED,
        State.ERROR,
    ]


def test_every_event_log_type_foureyes_writes_is_known_to_the_log():
    """Each `add_event(<type>, ...)` in the package names a LogType (the log's filters list them)."""
    package = ROOT / "action" / "foureyes"
    written = set()
    for path in package.rglob("*.py"):
        written |= set(re.findall(r"add_event\(\s*\"([a-z_]+)\"", path.read_text()))
    assert written and written <= set(LogType)
    assert set(gate.EVENT_STATUS.values()) <= set(LogStatus)
