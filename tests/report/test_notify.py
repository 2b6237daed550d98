"""Notifications through `responses`: Slack and generic webhooks, retries, and failures that never
change a gate decision or a deploy result."""

import json

import pytest
import requests
import responses

from foureyes.registry.model import parse_policy
from foureyes.report.notify import Notification, deploy_notifications, gate_notifications, notify
from support.pulltest import ALICE, BOB, POLICY, approve, event, facts, make_plan

SLACK = "https://hooks.slack.com/services/T000/B000/XXXX"
HOOK = "https://ops.acme.example/foureyes"
POLICY_WITH_HOOKS = parse_policy(
    POLICY.replace(
        b"""notifications:
  - type: slack
    url_from: FOUREYES_SLACK_WEBHOOK_URL
    events: [approved, changes_requested, blocked, timeout, deploy_failed, provenance_violation]""",
        b"""notifications:
  - type: slack
    url_from: SLACK_URL
    events: [approved, blocked]
  - type: webhook
    url_from: HOOK_URL""",
    )
)
ENV = {"SLACK_URL": SLACK, "HOOK_URL": HOOK}
NOTE = Notification(
    "approved",
    "PR #7 approved",
    "2 of 2 approvals",
    "https://github.com/acme/models/pull/7",
    {"pr": 7},
)


def test_slack_and_webhook_bodies():
    with responses.RequestsMock() as rsps:
        rsps.post(SLACK, body="ok")
        rsps.post(HOOK, json={})
        assert notify(POLICY_WITH_HOOKS, NOTE, environ=ENV) == 2
        slack, hook = (json.loads(c.request.body) for c in rsps.calls)
    assert slack == {
        "text": "*PR #7 approved*\n2 of 2 approvals <https://github.com/acme/models/pull/7|open>"
    }
    assert hook == {
        "event": "approved",
        "title": "PR #7 approved",
        "text": "2 of 2 approvals",
        "url": "https://github.com/acme/models/pull/7",
        "data": {"pr": 7},
    }


def test_events_filter_per_notifier():
    with responses.RequestsMock() as rsps:
        rsps.post(HOOK, json={})
        assert (
            notify(POLICY_WITH_HOOKS, Notification("deploy_succeeded", "t", "x"), environ=ENV) == 1
        )


def test_5xx_is_retried_then_succeeds():
    with responses.RequestsMock() as rsps:
        rsps.post(SLACK, status=503, body="busy")
        rsps.post(SLACK, body="ok")
        rsps.post(HOOK, json={})
        assert notify(POLICY_WITH_HOOKS, NOTE, environ=ENV) == 2


def test_failure_is_a_warning_and_an_event_never_an_exception(tmp_path):
    from foureyes.deploy.record import SqliteRecord

    warnings = []
    record = SqliteRecord(tmp_path / "r.sqlite")
    with responses.RequestsMock() as rsps:
        for _ in range(4):
            rsps.post(SLACK, status=500, body="no")
        rsps.post(HOOK, body=requests.exceptions.ConnectionError("down"))
        assert (
            notify(POLICY_WITH_HOOKS, NOTE, warn=warnings.append, record=record, environ=ENV) == 0
        )
    assert any("slack answered 500" in w for w in warnings) and any(
        "webhook unreachable" in w for w in warnings
    )
    rows = record.db.execute("SELECT type, status FROM events").fetchall()
    assert rows == [("notification", "warning"), ("notification", "warning")]
    record.close()


def test_missing_url_variable_is_reported_and_nothing_is_sent():
    warnings = []
    assert notify(POLICY_WITH_HOOKS, NOTE, warn=warnings.append, environ={}) == 0
    assert warnings == [
        "notification slack: $SLACK_URL is not set, nothing sent",
        "notification webhook: $HOOK_URL is not set, nothing sent",
    ]


def test_the_url_cannot_come_from_the_repository():
    from foureyes.registry.yamlload import LoadError

    bad = POLICY.replace(b"url_from: FOUREYES_SLACK_WEBHOOK_URL", b"url: https://hooks.slack.com/x")
    with pytest.raises(LoadError, match="unknown field 'url'"):
        parse_policy(bad)


def test_gate_notifications_only_when_the_decision_changed():
    from foureyes.app.gate_pipeline import GateResult
    from foureyes.judging.policy import evaluate

    plan = make_plan(event(level="low"))
    approved = GateResult(plan, evaluate(plan, facts(approve(ALICE))), facts(approve(ALICE)))
    assert [n.event for n in gate_notifications(approved, "updated", ([], []))] == ["approved"]
    assert gate_notifications(approved, "unchanged", ([], [])) == []
    blocked_facts = facts(approve(BOB, state="CHANGES_REQUESTED"))
    blocked = GateResult(plan, evaluate(plan, blocked_facts), blocked_facts)
    assert [n.event for n in gate_notifications(blocked, "created", ([], ["mlops-admins"]))] == [
        "changes_requested",
        "review_requested",
    ]


def test_deploy_notifications():
    from foureyes.deploy.provenance import Violation
    from foureyes.deploy.reconcile import DeployResult, Step

    ok = DeployResult(
        "staging", "c" * 40, [Step("fraud-scorer", "replace_model", {}, {}, True, "wrote")]
    )
    assert [n.event for n in deploy_notifications(ok)] == ["deploy_succeeded"]
    failed = DeployResult(
        "staging", "c" * 40, [Step("fraud-scorer", "create", None, {}, False, "boom")]
    )
    assert deploy_notifications(failed)[0].text == "fraud-scorer: boom"
    refused = DeployResult("staging", "c" * 40, violations=[Violation("d" * 40, "hotfix", "no PR")])
    assert deploy_notifications(refused)[0].event == "provenance_violation"


def test_a_failing_notification_does_not_change_a_deploy(repo, cli, monkeypatch):
    monkeypatch.setenv("FOUREYES_SLACK_WEBHOOK_URL", SLACK)
    repo.write(".gitignore", ".foureyes/\n")
    repo.commit("ignore", "Mo Admin <mo@acme.example>")
    repo.replace("registry/deployments/fraud-scorer.yaml", 'version: "12"', 'version: "13"')
    repo.commit(
        "direct push", "Eve <eve@acme.example>"
    )  # refused -> provenance_violation notification
    with responses.RequestsMock() as rsps:
        for _ in range(4):
            rsps.post(SLACK, status=500, body="no")
        result = cli("deploy", "--env", "staging", "--format", "json")
    assert result.exit_code == 1 and json.loads(result.stdout)["violations"]
    assert "notification failed: slack answered 500" in result.stderr
