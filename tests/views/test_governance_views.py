"""inventory, history, history --at and events on a repository with a scripted history of creates,
replacements, importance changes, deletions and deploys (real git, real SQLite)."""

import csv
import io
import json
import sqlite3
from datetime import UTC, datetime, timedelta

from foureyes.deploy.eventlog import iso
from foureyes.deploy.record import SqliteRecord
from support.ledger import run
from support.repos import DEP

FRAUD, RECS, CHURN = (
    DEP.format("fraud-scorer"),
    DEP.format("product-recs"),
    DEP.format("churn-predictor"),
)


def test_inventory_statuses_and_served_versions(scripted, cli):
    data = json.loads(cli("inventory", "--format", "json").stdout)
    rows = {r["name"]: r for r in data}
    assert set(rows) == {"fraud-scorer", "credit-limit", "churn-predictor", "eta-model"}
    assert rows["credit-limit"]["status"] == "Needs approval" and rows["credit-limit"]["prs"] == [
        46
    ]
    assert rows["fraud-scorer"]["status"] == "Approved"
    assert rows["fraud-scorer"]["environments"] == {"staging": "13", "production": None}
    assert rows["churn-predictor"]["importance"] == "low"
    assert rows["fraud-scorer"]["history"][0]["approval"]["pr"] == 42


def test_inventory_csv(scripted, cli):
    table = list(csv.DictReader(io.StringIO(cli("inventory", "--format", "csv").stdout)))
    assert [r["name"] for r in table] == [
        "churn-predictor",
        "credit-limit",
        "eta-model",
        "fraud-scorer",
    ]
    assert (
        table[1]["status"] == "Needs approval"
        and table[1]["prs"] == "#46"
        and table[3]["served_staging"] == "13"
    )


def test_history_of_a_deployment(scripted, cli):
    rows = json.loads(cli("history", "fraud-scorer", "--format", "json").stdout)
    assert [(r["event"], r["approval"], r["pr"]) for r in rows] == [
        ("create", "bootstrap", None),
        ("replace_model", "approved", 42),
    ]
    assert rows[1]["model_before"] == "fraud-xgb v12" and rows[1]["model_after"] == "fraud-xgb v13"
    assert rows[1]["changed_by"] == "dana" and rows[1]["approved_by"] == ["alice", "bob"]
    churn = json.loads(cli("history", "churn-predictor", "--format", "json").stdout)
    assert (churn[-1]["event"], churn[-1]["importance_before"], churn[-1]["importance_after"]) == (
        "change_importance",
        "moderate",
        "low",
    )
    recs = json.loads(cli("history", "product-recs", "--format", "json").stdout)
    assert recs[-1]["event"] == "delete" and recs[-1]["pr"] == 45


def test_history_marks_a_direct_push_unapproved(scripted, cli):
    scripted.replace(FRAUD, 'version: "13"', 'version: "14"')
    scripted.commit("hotfix", "Eve Hurry <eve@acme.example>")
    rows = json.loads(cli("history", "fraud-scorer", "--format", "json").stdout)
    assert (rows[-1]["approval"], rows[-1]["changed_by"]) == ("unapproved", "Eve Hurry")


def test_history_at_a_time(scripted, cli):
    db = sqlite3.connect(scripted.root / ".foureyes" / "record.sqlite")
    # spread the recorded deploys out in time: the n-th history row happened n hours after the first
    start = datetime(2026, 11, 1, tzinfo=UTC)
    ids = [r[0] for r in db.execute("SELECT id FROM history ORDER BY id")]
    for n, i in enumerate(ids):
        db.execute("UPDATE history SET at = ? WHERE id = ?", (iso(start + timedelta(hours=n)), i))
    db.commit()
    replace_row = db.execute(
        "SELECT at FROM history WHERE name = 'fraud-scorer' AND action = 'replace_model' "
        "AND status = 'success'"
    ).fetchone()[0]
    before = iso(datetime.fromisoformat(replace_row.replace("Z", "+00:00")) - timedelta(minutes=1))
    live_before = {
        r["deployment"]: r["version"]
        for r in json.loads(
            cli("history", "--env", "staging", "--at", before, "--format", "json").stdout
        )
    }
    live_at = {
        r["deployment"]: r["version"]
        for r in json.loads(
            cli("history", "--env", "staging", "--at", replace_row, "--format", "json").stdout
        )
    }
    assert live_before["fraud-scorer"] == "12" and live_at["fraud-scorer"] == "13"
    assert "eta-model" not in live_at and "product-recs" in live_at
    final = json.loads(
        cli("history", "--env", "staging", "--at", "2030-01-01", "--format", "json").stdout
    )
    assert {r["deployment"] for r in final} == {
        "fraud-scorer",
        "credit-limit",
        "churn-predictor",
        "eta-model",
    }
    assert cli("history", "--env", "staging", "--at", "yesterday-ish").exit_code == 2


def test_events_filter_search_export(scripted, cli):
    scripted.replace(FRAUD, 'version: "13"', 'version: "14"')
    scripted.commit("hotfix", "Eve Hurry <eve@acme.example>")
    run(scripted)
    failing = json.loads(cli("events", "--status", "failing", "--format", "json").stdout)
    assert [e["type"] for e in failing] == ["provenance_violation"] and "hotfix" in failing[0][
        "message"
    ]
    deploys = json.loads(
        cli("events", "--type", "deploy", "--deployment", "eta-model", "--format", "json").stdout
    )
    assert [e["message"].split(":")[0] for e in deploys] == ["create eta-model"]
    assert json.loads(cli("events", "--grep", "PR #", "--format", "json").stdout) == []
    found = json.loads(cli("events", "--grep", "50%_", "--format", "json").stdout)
    assert found == []  # LIKE wildcards in the search text are literal
    rows = list(
        csv.DictReader(io.StringIO(cli("events", "--env", "staging", "--format", "csv").stdout))
    )
    assert rows and set(rows[0]) == {
        "at",
        "type",
        "status",
        "deployment",
        "environment",
        "message",
        "data",
    }


def test_events_retention_at_the_edge_of_the_window(repo, cli):
    record = SqliteRecord(repo.root / ".foureyes" / "record.sqlite")
    now = datetime.now(UTC)
    record.add_event(
        "deploy", "ok", "just inside", at=iso(now - timedelta(days=90) + timedelta(minutes=5))
    )
    record.add_event(
        "deploy", "ok", "just outside", at=iso(now - timedelta(days=90) - timedelta(minutes=5))
    )
    record.add_event("deploy", "ok", "recent", at=iso(now - timedelta(days=1)))
    record.close()
    result = cli("events", "--prune", "--format", "json")
    assert "pruned 1 event(s) older than 90 days" in result.output
    assert [e["message"] for e in json.loads(result.stdout)] == ["just inside", "recent"]
    kept = json.loads(cli("events", "--prune", "--retention-days", "30", "--format", "json").stdout)
    assert [e["message"] for e in kept] == ["recent"]
    since = json.loads(cli("events", "--since", "2d", "--format", "json").stdout)
    assert [e["message"] for e in since] == ["recent"]


def test_inventory_flags_a_direct_push_as_an_unapproved_change(scripted, cli):
    scripted.replace(FRAUD, 'version: "13"', 'version: "14"')
    scripted.commit("hotfix", "Eve Hurry <eve@acme.example>")
    rows = {r["name"]: r for r in json.loads(cli("inventory", "--format", "json").stdout)}
    assert rows["fraud-scorer"]["status"] == "Unapproved change"
    assert (
        rows["eta-model"]["status"] == "Approved"
        and rows["credit-limit"]["status"] == "Needs approval"
    )


def test_inventory_lists_a_deployment_its_schema_refuses_and_reads_past_a_broken_schema(
    scripted, cli
):
    """The inventory lists what can be read: a file the schema refuses is still a row (validate is
    the place for the error), and a broken schema does not hide the registry."""
    scripted.replace(DEP.format("credit-limit"), "importance: high", "importance: sky-high")
    scripted.commit("a direct push the schema refuses", "Mo Admin <mo@acme.example>")
    out = cli("inventory", "--format", "json")
    assert out.exit_code == 0, out.output
    rows = {r["name"]: r for r in json.loads(out.stdout)}
    assert (
        rows["credit-limit"]["importance"] == "sky-high"
        and rows["credit-limit"]["status"] == "Unapproved change"
    )
    scripted.write("policies/deployment.schema.json", "{ not json")
    scripted.commit("break the schema", "Mo Admin <mo@acme.example>")
    out = cli("inventory", "--format", "json")
    assert out.exit_code == 0, out.output
    rows = {r["name"]: r for r in json.loads(out.stdout)}
    assert set(rows) == {"fraud-scorer", "credit-limit", "churn-predictor", "eta-model"}
