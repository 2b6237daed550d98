"""A day as a new user (issue 10): each surprise a new user met, played at the CLI on a real git
repository, with the behaviour they should have met instead."""

import json

import pytest

from conftest import DEP
from test_deploy import FACTS, TWO, merge_pr

FRAUD, RECS, CHURN, CREDIT = (DEP.format(n) for n in ("fraud-scorer", "product-recs", "churn-predictor", "credit-limit"))


@pytest.fixture
def env_repo(repo, monkeypatch):
    monkeypatch.delenv("FOUREYES_SLACK_WEBHOOK_URL", raising=False)
    repo.write(".gitignore", ".foureyes/\n")
    repo.commit("ignore local state", "Mo Admin <mo@acme.example>")
    return repo


def events(cli, *args):
    result = cli("events", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# --- 2: a dry run changes nothing, the event log included ----------------------------------------


def test_dry_run_writes_no_event_and_sends_no_notification(env_repo, cli):
    assert cli("deploy", "--env", "staging").exit_code == 0
    before = events(cli)
    env_repo.replace(FRAUD, 'version: "12"', 'version: "13"')
    env_repo.commit("direct push", "Eve Hurry <eve@acme.example>")
    result = cli("deploy", "--env", "staging", "--dry-run")
    assert result.exit_code == 1 and "refused: commit" in result.stdout
    assert events(cli) == before  # no provenance_violation logged by a dry run
    assert "FOUREYES_SLACK_WEBHOOK_URL" not in result.stderr  # nothing to notify: no warning either
    real = cli("deploy", "--env", "staging")
    assert real.exit_code == 1
    assert [e["type"] for e in events(cli)].count("provenance_violation") == 1


def test_dry_run_then_approved_deploy_leaves_no_stale_violation(env_repo, cli):
    assert cli("deploy", "--env", "staging").exit_code == 0
    merge_pr(env_repo, 42, lambda r: r.replace(FRAUD, 'version: "12"', 'version: "13"'))
    # the PR file is written after the merge; a dry run before it found no PR for the commits
    pr_file = env_repo.root / ".foureyes" / "prs" / "42.yaml"
    saved = pr_file.read_text()
    pr_file.unlink()
    assert cli("deploy", "--env", "staging", "--dry-run").exit_code == 1
    pr_file.write_text(saved)
    assert cli("deploy", "--env", "staging").exit_code == 0
    assert not [e for e in events(cli) if e["type"] == "provenance_violation"]
