"""Freeze windows: DST, overlapping windows, bad input, and the attacks on the
gate and the deploy played on real git repositories through the CLI."""

import json
from datetime import UTC, datetime

import pytest

from foureyes.judging import freeze
from foureyes.registry.yamlload import LoadError
from support.pr_facts import ERIN, approvals, write_pr_facts
from support.repos import DEP

FRAUD, RECS, CHURN = (
    DEP.format("fraud-scorer"),
    DEP.format("product-recs"),
    DEP.format("churn-predictor"),
)

LEVELS = b"""
approvers: {teams: ["@acme/mlops-admins"]}
levels:
  critical: {approvals: 2}
  high: {approvals: 2}
  moderate: {approvals: 1}
  low: {approvals: 1}
"""


def windows(section: str) -> freeze.Freezes:
    found, glass = freeze.parse_policy_section(LEVELS + section.encode())
    return freeze.Freezes(tuple(found), glass)


def at(text: str) -> datetime:
    return freeze.parse_now(text)


def utc(dt) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


WEEKEND = """
freeze:
  timezone: Europe/Berlin
  windows:
    - {name: weekend, cron: "0 18 * * 5", duration: 62h, environments: [production]}
"""


# --- time zones and DST -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "now, start, end",
    [
        # the clocks go back on Sunday 25 Oct 2026: Friday 18:00 CEST to Monday 08:00 CET is 63 hours
        ("2026-10-23T16:00:00Z", "2026-10-23T16:00Z", "2026-10-26T07:00Z"),
        ("2026-10-26T06:59:59Z", "2026-10-23T16:00Z", "2026-10-26T07:00Z"),
        # they go forward on Sunday 29 Mar 2026: Friday 18:00 CET to Monday 08:00 CEST is 61 hours
        ("2026-03-27T17:00:00Z", "2026-03-27T17:00Z", "2026-03-30T06:00Z"),
        ("2026-03-30T05:59:00Z", "2026-03-27T17:00Z", "2026-03-30T06:00Z"),
    ],
)
def test_a_weekly_window_keeps_its_wall_clock_times_across_dst(now, start, end):
    found = windows(WEEKEND).in_force(at(now))
    assert [(o.window.name, utc(o.start), utc(o.end)) for o in found] == [("weekend", start, end)]


@pytest.mark.parametrize(
    "now",
    [
        "2026-10-23T15:59:59Z",
        "2026-10-26T07:00:00Z",
        "2026-03-30T06:00:00Z",
        "2026-03-27T16:59:00Z",
    ],
)
def test_outside_the_weekly_window_nothing_is_in_force(now):
    assert windows(WEEKEND).in_force(at(now)) == []


NIGHTLY = """
freeze:
  windows:
    - {name: nightly, cron: "30 2 * * *", duration: 1h, timezone: Europe/Berlin}
"""


def test_a_start_in_the_skipped_hour_fires_right_after_the_gap():
    # 29 Mar 2026: 02:00 CET jumps to 03:00 CEST; 02:30 never happens, the window starts at 03:00
    found = windows(NIGHTLY).in_force(at("2026-03-29T01:30:00Z"))
    assert [(utc(o.start), utc(o.end)) for o in found] == [
        ("2026-03-29T01:00Z", "2026-03-29T02:00Z")
    ]
    assert windows(NIGHTLY).in_force(at("2026-03-29T00:59:00Z")) == []


def test_a_start_in_the_repeated_hour_fires_once_and_holds_through_the_second_pass():
    # 25 Oct 2026: 02:00-03:00 happens twice; 02:30 CEST (00:30Z) starts the window, once, and at
    # 02:10 CET (01:10Z, the second pass, wall time "before" 02:30) it is still in force
    nightly = windows(NIGHTLY)
    found = nightly.in_force(at("2026-10-25T01:10:00Z"))
    assert [(utc(o.start), utc(o.end)) for o in found] == [
        ("2026-10-25T00:30Z", "2026-10-25T02:30Z")
    ]
    assert nightly.in_force(at("2026-10-25T00:10:00Z")) == []
    starts = [utc(o.start) for o in nightly.upcoming(at("2026-10-24T12:00:00Z"), 2)]
    assert starts == ["2026-10-25T00:30Z", "2026-10-26T01:30Z"]


def test_an_end_the_clocks_skip_moves_past_the_gap_and_a_repeated_one_is_the_later():
    zone = freeze.ZoneInfo("Europe/Berlin")
    # 01:30 CET + 1h wall = 02:30, which does not exist: the freeze ends at 03:30 CEST (01:30Z), not earlier
    assert (
        utc(freeze.wall_add(at("2026-03-29T00:30:00Z"), freeze.timedelta(hours=1), zone))
        == "2026-03-29T01:30Z"
    )
    # 01:30 CEST + 1h wall = 02:30, which happens twice: the later one (02:30 CET = 01:30Z)
    assert (
        utc(freeze.wall_add(at("2026-10-24T23:30:00Z"), freeze.timedelta(hours=1), zone))
        == "2026-10-25T01:30Z"
    )


# --- overlapping windows ----------------------------------------------------------------------------

OVERLAP = """
freeze:
  timezone: Europe/Berlin
  break_glass: {extra_approvals: 1}
  windows:
    - {name: weekend, cron: "0 18 * * 5", duration: 62h}
    - {name: year-end, start: "2026-12-23T00:00", end: "2027-01-02T00:00", importance: [critical, high]}
"""


def test_overlapping_windows_are_one_freeze_until_the_last_one_ends():
    f = windows(OVERLAP)
    now = at("2026-12-28T10:00:00Z")
    assert [o.window.name for o in f.in_force(now, {"production"}, "critical")] == ["year-end"]
    # year-end ends Saturday 2 Jan 00:00; the weekend began Friday 1 Jan 18:00: frozen until Monday 08:00
    until, at_least = f.until(now, {"production"}, "critical")
    assert utc(until) == "2027-01-04T07:00Z" and not at_least
    # a low change is not in year-end's scope: only the weekend, later on, holds it
    assert f.in_force(now, {"production"}, "low") == []
    assert utc(f.until(at("2027-01-01T18:00:00Z"), None, "low")[0]) == "2027-01-04T07:00Z"


def test_an_open_incident_freeze_holds_until_it_is_lifted():
    incidents = freeze.parse_incidents(b"freezes:\n  - {name: INC-7, environments: [production]}\n")
    f = freeze.Freezes(tuple(windows(OVERLAP).windows) + tuple(incidents))
    wednesday = at("2026-11-25T10:00:00Z")
    assert f.until(wednesday, {"production"}, "low") == (None, False)
    assert f.in_force(wednesday, {"staging"}, "low") == []


def test_the_hold_of_a_change_names_the_windows_and_the_latest_end():
    f = windows(OVERLAP)
    touched = [
        freeze.Touched("fraud-scorer", frozenset({"production"}), "critical"),
        freeze.Touched("product-recs", frozenset({"staging"}), "low"),
    ]
    held = freeze.hold(f, at("2026-12-28T10:00:00Z"), touched)
    assert (
        held.deployments == ["fraud-scorer"]
        and held.names == "year-end"
        and held.break_glass is None
    )
    assert held.describe() == "frozen until 2027-01-04 08:00 CET (year-end)"
    assert (
        freeze.hold(
            f, at("2026-12-28T10:00:00Z"), touched, labels=["Break-Glass"]
        ).break_glass.extra_approvals
        == 1
    )
    assert freeze.hold(f, at("2026-12-21T10:00:00Z"), touched) is None


# --- bad input: one line with file and line ---------------------------------------------------------


@pytest.mark.parametrize(
    "window, message",
    [
        ('{name: w, cron: "0 18 * *", duration: 2h}', "expected 5 fields"),
        ('{name: w, cron: "0 25 * * *", duration: 2h}', "cron '0 25 * * *'"),
        ('{name: w, cron: "0 1 * * *", duration: 40d}', "longer than 31d"),
        (
            '{name: w, start: "2026-03-29T02:30", end: "2026-03-30T00:00", timezone: Europe/Berlin}',
            "does not exist",
        ),
        (
            '{name: w, start: "2026-10-25T02:30", end: "2026-10-26T00:00", timezone: Europe/Berlin}',
            "happens twice",
        ),
        ('{name: w, start: "2026-12-24", end: "2026-12-23"}', "is not after start"),
        ('{name: w, start: "christmas", end: "2026-12-23"}', "is not a time"),
        (
            '{name: w, start: "2026-12-24", end: "2026-12-25", timezone: Mars/Olympus}',
            "unknown time zone",
        ),
    ],
)
def test_a_bad_window_is_an_error_with_file_and_line(window, message):
    with pytest.raises(LoadError) as err:
        windows(f"freeze:\n  windows:\n    - {window}\n")
    assert message in str(err.value) and str(err.value).startswith("policies/approval.yaml:")
    assert err.value.line == 10


def test_two_windows_with_one_name_are_refused():
    with pytest.raises(LoadError, match="listed twice"):
        windows(
            'freeze:\n  windows:\n    - {name: w, cron: "0 1 * * *", duration: 1h}\n'
            '    - {name: w, cron: "0 2 * * *", duration: 1h}\n'
        )


def test_the_schema_wants_either_cron_and_duration_or_start_and_end():
    with pytest.raises(LoadError):
        windows('freeze:\n  windows:\n    - {name: w, cron: "0 1 * * *", end: "2026-12-24"}\n')


# --- the gate, on a real repository -------------------------------------------------------------------

INCIDENT = """\
freezes:
  - name: INC-2041
    reason: payments outage
    environments: [production]
    importance: [critical, high]
"""
NOW = "2026-11-22T10:00:00Z"


def gate(cli, repo, reviews, labels=(), head="pr", now=NOW):
    path = repo.root.parent / "facts.yaml"
    write_pr_facts(
        path,
        reviews,
        body="Serve the new model.",
        labels=labels,
        accounts=ERIN,
        admins=("mo", "alice", "bob", "erin", "dana"),
    )
    result = cli(
        "gate",
        "--local",
        str(path),
        "--base",
        "main",
        "--head",
        head,
        "--format",
        "json",
        "--now",
        now,
    )
    return result.exit_code, json.loads(result.output)


@pytest.fixture
def frozen(repo):
    """main under incident INC-2041 (production, critical and high); PR: fraud-scorer v13 (critical)."""
    repo.write("policies/freeze.yaml", INCIDENT)
    repo.commit("INC-2041: freeze production", "Mo Admin <mo@acme.example>")
    repo.branch("pr")
    repo.replace(FRAUD, 'version: "12"', 'version: "13"')
    repo.commit("fraud-scorer v13")
    return repo


def test_the_gate_holds_a_change_during_a_freeze_and_says_until_when(frozen, cli):
    code, data = gate(cli, frozen, approvals("alice", "bob"))
    assert code == 1 and data["decision"] == "blocked"
    assert data["blocking"][0]["reason"] == "freeze"
    assert data["description"].startswith(
        "blocked: frozen until the incident freeze is lifted (INC-2041)"
    )
    assert (
        data["freeze"]["deployments"] == ["fraud-scorer"] and data["freeze"]["break_glass"] is False
    )


def test_a_change_outside_the_freeze_scope_is_not_held(frozen, cli):
    frozen.git("checkout", "-q", "-b", "recs", "main")
    frozen.replace(RECS, '"2026.11.3"', '"2026.11.4"')  # low, and staging only
    frozen.commit("recs")
    code, data = gate(cli, frozen, approvals("alice"), head="recs")
    assert code == 0 and data["decision"] == "approved" and "freeze" not in data


def test_break_glass_needs_the_extra_approvals_counted_by_the_four_eyes_rule(frozen, cli):
    code, data = gate(cli, frozen, approvals("alice", "bob"), labels=["break-glass"])
    assert code == 1 and data["decision"] == "pending" and data["required_approvals"] == 3
    assert data["description"].startswith("break-glass (INC-2041): 2 of 3 approvals")
    # the author's own approval is no third pair of eyes, even as an admin
    code, data = gate(cli, frozen, approvals("alice", "bob", "dana"), labels=["break-glass"])
    assert code == 1 and ("dana", "author") in {(i["login"], i["reason"]) for i in data["ignored"]}
    code, data = gate(cli, frozen, approvals("alice", "bob", "erin"), labels=["break-glass"])
    assert code == 0 and data["decision"] == "approved" and data["freeze"]["break_glass"] is True


def test_break_glass_is_recorded_in_the_event_log(frozen, cli):
    gate(cli, frozen, approvals("alice", "bob", "erin"), labels=["break-glass"])
    out = cli("events", "--type", "break_glass", "--format", "json")
    events = json.loads(out.output)
    assert (
        len(events) == 1
        and "INC-2041" in events[0]["message"]
        and events[0]["data"]["decision"] == "approved"
    )


def test_a_pr_cannot_lift_the_freeze_that_judges_it(frozen, cli):
    """The PR deletes the incident entry and changes the model: the freeze is read at the base."""
    frozen.write("policies/freeze.yaml", "freezes: []\n")
    frozen.commit("lift the freeze myself")
    code, data = gate(cli, frozen, approvals("alice", "bob"))
    assert code == 1 and data["blocking"][0]["reason"] == "freeze"


def test_the_pr_that_lifts_an_incident_freeze_is_not_held(frozen, cli):
    frozen.git("checkout", "-q", "-b", "lift", "main")
    frozen.write("policies/freeze.yaml", "freezes: []\n")
    frozen.commit("INC-2041 resolved")
    code, data = gate(cli, frozen, approvals("alice", "bob"), head="lift")
    assert code == 0 and data["decision"] == "approved" and "freeze" not in data


def test_a_policy_window_holds_at_its_time_only(repo, cli):
    repo.replace(
        "policies/approval.yaml",
        "  windows: []\n",
        '  windows:\n    - {name: weekend, cron: "0 18 * * 5", duration: 62h, timezone: Europe/Berlin}\n',
    )
    repo.commit("weekend freeze", "Mo Admin <mo@acme.example>")
    repo.branch("pr")
    repo.replace(FRAUD, 'version: "12"', 'version: "13"')
    repo.commit("fraud-scorer v13")
    code, data = gate(
        cli, repo, approvals("alice", "bob"), now="2026-11-28T10:00:00Z"
    )  # a Saturday
    assert code == 1 and "frozen until 2026-11-30 08:00 CET (weekend)" in data["description"]
    code, data = gate(
        cli, repo, approvals("alice", "bob"), now="2026-11-30T07:00:00Z"
    )  # Monday 08:00 CET
    assert code == 0 and data["decision"] == "approved"


def test_a_broken_freeze_file_fails_closed(frozen, cli):
    frozen.git("checkout", "-q", "main")
    frozen.write("policies/freeze.yaml", 'freezes:\n  - {name: x, start: "soon"}\n')
    frozen.commit("typo", "Mo Admin <mo@acme.example>")
    code, data = gate(cli, frozen, approvals("alice", "bob"))
    assert (
        code == 2
        and data["decision"] == "error"
        and "policies/freeze.yaml:2" in data["description"]
    )


# --- `foureyes freeze` ------------------------------------------------------------------------------


def test_the_freeze_command_lists_windows_in_force_and_the_next_ones(frozen, cli):
    frozen.replace(
        "policies/approval.yaml",
        "  windows: []\n",
        '  windows:\n    - {name: weekend, cron: "0 18 * * 5", duration: 62h, timezone: Europe/Berlin}\n',
    )
    out = cli("freeze", "--now", "2026-11-26T10:00:00Z", "--env", "production", "--format", "json")
    data = json.loads(out.output)
    assert out.exit_code == 0 and data["frozen"] and data["until"] is None
    assert [w["name"] for w in data["in_force"]] == ["INC-2041"]
    assert [w["start"] for w in data["next"][:2]] == [
        "2026-11-27T17:00:00Z",
        "2026-12-04T17:00:00Z",
    ]
    text = cli("freeze", "--now", "2026-11-26T10:00:00Z", "--importance", "low").output
    assert "is not frozen" in text and "weekend" in text and "2026-11-27 18:00 CET" in text


def test_the_freeze_command_refuses_bad_input_with_exit_2(repo, cli):
    assert cli("freeze", "--now", "yesterday").exit_code == 2
    repo.write("policies/freeze.yaml", "freezes:\n  - {name: x, timezone: Europe/Bern}\n")
    out = cli("freeze")
    assert (
        out.exit_code == 2
        and "policies/freeze.yaml:2" in out.output
        and "unknown time zone" in out.output
    )


# --- the deploy, on a real repository with the offline ledger ------------------------------------------


def merge_pr(repo, number, edit, reviews, labels=(), merged_at=NOW, into="main"):
    base = repo.git("rev-parse", into)
    repo.git("checkout", "-q", "-b", f"pr-{number}", into)
    edit(repo)
    head = repo.commit(f"change for #{number}")
    repo.git("checkout", "-q", into)
    merge = repo.merge_as_mo(f"pr-{number}")
    ledger = repo.root / ".foureyes" / "prs"
    ledger.mkdir(parents=True, exist_ok=True)
    write_pr_facts(
        ledger / f"{number}.yaml",
        reviews,
        number=number,
        base=base,
        head=head,
        merge_commit=merge,
        merged_at=merged_at,
        base_ref=into,
        labels=labels,
        accounts=ERIN,
        admins=("alice", "bob", "erin"),
    )
    return merge


def deploy(repo, env="production", now=NOW):
    from foureyes.deploy.reconcile import deploy as run
    from foureyes.deploy.record import SqliteRecord
    from foureyes.sources.ledger import Ledger

    record = SqliteRecord(repo.root / ".foureyes" / "record.sqlite")
    try:
        return run(
            repo.session,
            env,
            record,
            Ledger(repo.session, repo.root / ".foureyes" / "prs"),
            now=at(now),
            branch=repo.git("rev-parse", "--abbrev-ref", "HEAD"),
        )
    finally:
        record.close()


def events(repo, kind):
    import sqlite3

    db = sqlite3.connect(repo.root / ".foureyes" / "record.sqlite")
    try:
        return [m for (m,) in db.execute("SELECT message FROM events WHERE type = ?", (kind,))]
    finally:
        db.close()


def served(repo, env="production"):
    path = repo.root / ".foureyes" / "serving" / env / "fraud-scorer.json"
    return json.loads(path.read_text())


def bump(version):
    def edit(repo):
        repo.replace(
            FRAUD,
            repo.read(FRAUD).split('version: "')[1].split('"')[0].join(['version: "', '"']),
            f'version: "{version}"',
        )

    return edit


def declare(repo, merged_at="2026-11-22T09:00:00Z"):
    """INC-2041 through PR #50, approved as governance (critical: two approvals)."""
    return merge_pr(
        repo,
        50,
        lambda r: r.write("policies/freeze.yaml", INCIDENT),
        approvals("alice", "bob"),
        merged_at=merged_at,
    )


@pytest.fixture
def deployed(repo):
    repo.write(".gitignore", ".foureyes/\n")
    repo.commit("ignore local state", "Mo Admin <mo@acme.example>")
    assert deploy(repo).ok and deploy(repo, "staging").ok
    return repo


def test_deploy_refuses_a_frozen_change_and_applies_the_rest(deployed):
    # approved before the freeze: fraud-scorer (critical) and churn-predictor (moderate: not in scope)
    merge_pr(deployed, 42, bump("13"), approvals("alice", "bob"), merged_at="2026-11-21T09:00:00Z")
    merge_pr(
        deployed,
        43,
        lambda r: r.replace(CHURN, "auc: 0.78", "auc: 0.79"),
        approvals("alice"),
        merged_at="2026-11-21T09:00:00Z",
    )
    declare(deployed)
    result = deploy(deployed)
    assert (
        not result.ok
        and len(result.frozen) == 1
        and result.frozen[0].startswith(
            "fraud-scorer: frozen until the incident freeze is lifted (INC-2041) in production"
        )
    )
    assert served(deployed)["deployment"]["model"]["version"] == "12"  # nothing reached production
    assert {s.name: s.ok for s in result.steps} == {"fraud-scorer": None, "churn-predictor": True}
    assert any("INC-2041" in m for m in events(deployed, "freeze"))
    assert deploy(deployed, "staging").ok  # staging is not frozen
    # lifted: the same change deploys
    merge_pr(
        deployed,
        51,
        lambda r: r.write("policies/freeze.yaml", "freezes: []\n"),
        approvals("alice", "bob"),
    )
    assert deploy(deployed).ok and served(deployed)["deployment"]["model"]["version"] == "13"


def test_an_incident_freeze_on_main_stops_a_release_branch_that_lacks_it(deployed):
    merge_pr(deployed, 42, bump("13"), approvals("alice", "bob"), merged_at="2026-11-21T09:00:00Z")
    deployed.git("checkout", "-q", "-b", "release/2026.11")
    deployed.git("checkout", "-q", "main")
    declare(deployed)
    deployed.git("checkout", "-q", "release/2026.11")
    result = deploy(deployed)
    assert (
        not result.ok
        and result.frozen
        and served(deployed)["deployment"]["model"]["version"] == "12"
    )


def test_a_break_glass_pr_deploys_through_the_freeze_and_is_recorded(deployed, cli):
    declare(deployed)
    merge_pr(deployed, 44, bump("13"), approvals("alice", "bob", "erin"), labels=["break-glass"])
    result = deploy(deployed)
    assert result.ok and served(deployed)["approval"]["break_glass"] is True
    assert any("INC-2041" in m and "fraud-scorer" in m for m in events(deployed, "break_glass"))
    history = json.loads(cli("history", "fraud-scorer", "--format", "json").output)
    assert history[-1]["pr"] == 44 and history[-1]["break_glass"] is True
    inventory = json.loads(cli("inventory", "--format", "json").output)
    assert {r["name"]: r["break_glass"] for r in inventory}["fraud-scorer"] is True


def test_a_pr_merged_during_a_freeze_without_break_glass_never_deploys(deployed):
    """An admin merges past the held status into the frozen environment's branch: its approval did
    not satisfy the policy at merge time, so the deploy refuses it, even once the freeze is over."""
    declare(deployed)
    deployed.git("branch", "release/2026.11", "main")
    merge_pr(
        deployed,
        45,
        bump("13"),
        approvals("alice", "bob"),
        merged_at="2026-11-22T11:00:00Z",
        into="release/2026.11",
    )
    merge_pr(
        deployed,
        51,
        lambda r: r.write("policies/freeze.yaml", "freezes: []\n"),
        approvals("alice", "bob"),
        into="release/2026.11",
    )
    result = deploy(deployed, now="2026-11-30T10:00:00Z")
    assert (
        not result.ok
        and "frozen until the incident freeze is lifted (INC-2041)" in result.violations[0].reason
    )


def test_a_production_freeze_does_not_hold_a_pr_into_the_default_branch(deployed):
    """What a freeze holds is what would reach its environment: a PR into main reaches staging, so
    a production freeze does not hold it; production receives it later, through its own branch
    and its own deploy, both of which the freeze holds. The gate and the deploy judge it alike."""
    declare(deployed)
    merge_pr(deployed, 45, bump("13"), approvals("alice", "bob"), merged_at="2026-11-22T11:00:00Z")
    assert (
        deploy(deployed, "staging").ok
        and served(deployed, "staging")["deployment"]["model"]["version"] == "13"
    )
    held = deploy(
        deployed, now="2026-11-22T12:00:00Z"
    )  # production, while frozen: held at the deploy
    assert not held.ok and held.frozen and not held.violations
    merge_pr(
        deployed,
        51,
        lambda r: r.write("policies/freeze.yaml", "freezes: []\n"),
        approvals("alice", "bob"),
    )
    assert deploy(
        deployed, now="2026-11-30T10:00:00Z"
    ).ok  # lifted: nothing about #45 was unapproved


def test_a_label_without_the_extra_approvals_does_not_break_glass_at_deploy(deployed):
    merge_pr(
        deployed,
        42,
        bump("13"),
        approvals("alice", "bob"),
        labels=["break-glass"],
        merged_at="2026-11-21T09:00:00Z",
    )
    declare(deployed)
    result = deploy(deployed)
    assert (
        not result.ok
        and result.frozen
        and served(deployed)["deployment"]["model"]["version"] == "12"
    )


# --- the same through GitHub (the mocked API: bodies from GitHub's examples, schema-checked) ---------


@pytest.fixture
def frozen_on_github(repo, tmp_path, monkeypatch):
    """Dana's PR (fraud-scorer v13, critical) into release/2026.11, opened before main declared INC-2041."""
    from ghapi.mockgithub import HERE

    base = repo.git("rev-parse", "HEAD")
    repo.branch("change")
    repo.replace(FRAUD, 'version: "12"', 'version: "13"')
    head = repo.commit("fraud-scorer v13")
    repo.git("checkout", "-q", "main")
    repo.write("policies/freeze.yaml", INCIDENT)
    repo.commit("INC-2041: freeze production", "Mo Admin <mo@acme.example>")
    repo.git("branch", "release/2026.11", "main")  # production's branch: what the freeze holds
    event = json.loads((HERE / "webhook-pull_request.json").read_text())["examples"][0]
    event["pull_request"].update(number=7)
    event["pull_request"]["base"]["sha"], event["pull_request"]["head"]["sha"] = base, head
    (tmp_path / "event.json").write_text(json.dumps(event))
    for name, value in (
        ("GITHUB_EVENT_PATH", str(tmp_path / "event.json")),
        ("GITHUB_REPOSITORY", "acme/models"),
        ("GITHUB_TOKEN", "ghs_test"),
    ):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("GITHUB_API_URL", raising=False)
    repo.base, repo.head = base, head
    return repo


@pytest.mark.parametrize(
    "labels, approvers, decision, status",
    [
        ((), ("alice", "bob"), "blocked", "failure"),  # held, whatever the approvals
        (
            ("break-glass",),
            ("alice", "bob"),
            "pending",
            "pending",
        ),  # break-glass asks one more pair of eyes
        (
            ("break-glass",),
            ("alice", "bob", "dana"),
            "pending",
            "pending",
        ),  # the author's own is no extra pair
        (("break-glass",), ("alice", "bob", "erin"), "approved", "success"),
    ],
)
def test_a_freeze_holds_the_pr_on_github_and_break_glass_counts_by_the_four_eyes_rule(
    frozen_on_github, cli, labels, approvers, decision, status, into="release/2026.11"
):
    """Labels come from the PR GitHub serves; the freeze from the base branch's tip, as on the gate."""
    import responses

    from ghapi.mockgithub import MockGitHub, user

    people = {
        "dana": user("dana", 104),
        "alice": user("alice", 201),
        "bob": user("bob", 202),
        "erin": user("erin", 205),
    }
    repo = frozen_on_github
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        gh = MockGitHub(rsps)
        gh.pull(
            people["dana"],
            repo.base,
            repo.head,
            body="v13 stops the false declines.",
            labels=labels,
            base_ref=into,
        )
        gh.commits({"sha": repo.head, "author": people["dana"], "email": "dana@acme.example"})
        gh.reviews(
            *[{"user": people[a], "state": "APPROVED", "commit_id": repo.head} for a in approvers]
        )
        gh.team("acme/mlops-admins", people["alice"], people["bob"], people["erin"], people["dana"])
        gh.existing_comments()
        gh.accept_writes()
        result = cli("gate", "--format", "json")
    data = json.loads(result.stdout)
    assert data["decision"] == decision, result.output
    assert gh.statuses[-1]["state"] == status
    assert data["freeze"]["windows"][0]["name"] == "INC-2041"
    if decision == "approved":
        assert "break-glass (INC-2041)" in gh.statuses[-1]["description"]


def test_a_production_freeze_does_not_hold_a_pr_on_github_into_the_default_branch(
    frozen_on_github, cli
):
    """The same PR into main reaches staging only: the production freeze does not hold it."""
    import responses

    from ghapi.mockgithub import MockGitHub, user

    people = {"dana": user("dana", 104), "alice": user("alice", 201), "bob": user("bob", 202)}
    repo = frozen_on_github
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        gh = MockGitHub(rsps)
        gh.pull(people["dana"], repo.base, repo.head, body="v13 stops the false declines.")
        gh.commits({"sha": repo.head, "author": people["dana"], "email": "dana@acme.example"})
        gh.reviews(
            *[
                {"user": people[a], "state": "APPROVED", "commit_id": repo.head}
                for a in ("alice", "bob")
            ]
        )
        gh.team("acme/mlops-admins", people["alice"], people["bob"], people["dana"])
        gh.existing_comments()
        gh.accept_writes()
        result = cli("gate", "--format", "json")
    data = json.loads(result.stdout)
    assert data["decision"] == "approved" and "freeze" not in data, result.output
    assert gh.statuses[-1]["state"] == "success"


def test_a_kept_evaluation_keeps_its_break_glass(tmp_path):
    """The deploy keeps approvals of merged PRs (the evaluations cache); a break-glass approval read
    back must still say so, or a later run would refuse the change it let through the freeze."""
    from foureyes.deploy.provenance import Approval, Checker
    from foureyes.judging import judgment
    from foureyes.repo import Repo as Session
    from foureyes.sources.protocol import MergedPR

    pr = MergedPR(44, "b" * 40, "h" * 40, "m" * 40, NOW, lambda teams=(): None, "main")
    kept = {
        **Approval(
            "approved",
            pr.merge_commit,
            44,
            ["alice", "bob", "erin"],
            NOW,
            pr.base,
            pr.head,
            "dana",
            True,
        ).to_json(),
        "base_ref": "main",
        "judged_by": judgment.VERSION,
    }

    class Cache:
        def evaluations(self):
            return {(44, pr.merge_commit): kept}

    assert Checker(Session(tmp_path), None, cache=Cache())._from_cache(pr).break_glass is True


def test_a_later_break_glass_pr_does_not_carry_an_earlier_frozen_change(deployed):
    """PR #45 replaces the model without break-glass; PR #46, labelled and with the extra
    approvals, only rewords the description. The production deploy during the freeze would serve
    both: break-glass belongs to #46's change alone, so the step is refused."""
    declare(deployed)
    merge_pr(deployed, 45, bump("13"), approvals("alice", "bob"), merged_at="2026-11-22T11:00:00Z")
    merge_pr(
        deployed,
        46,
        lambda r: r.replace(FRAUD, "description: Scores", "description: Reworded, scores"),
        approvals("alice", "bob", "erin"),
        labels=["break-glass"],
        merged_at="2026-11-22T11:30:00Z",
    )
    result = deploy(deployed, now="2026-11-22T12:00:00Z")
    assert not result.ok and result.frozen and result.frozen[0].startswith("fraud-scorer:")
    assert served(deployed)["deployment"]["model"]["version"] == "12"
