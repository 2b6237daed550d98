"""The converging run records the environment as in sync at the commit whenever nothing
is left to apply, so the next deploy re-checks only the commits after it."""

import json

from foureyes.deploy.record import SqliteRecord
from support.ledger import bump, merge_pr, run


def last_commit(repo, env="staging"):
    record = SqliteRecord(repo.root / ".foureyes" / "record.sqlite")
    try:
        return record.last_commit(env)
    finally:
        record.close()


def test_after_the_matrix_jobs_applied_everything_the_converging_run_records_the_sync(env_repo):
    run(env_repo)
    merge = merge_pr(env_repo, 1, bump("13"))
    only = run(env_repo, only={"fraud-scorer"})
    assert only.ok and [s.name for s in only.steps] == ["fraud-scorer"]
    assert last_commit(env_repo) != merge  # a matrix job never moves the environment

    converge = run(env_repo)
    assert converge.ok and converge.steps == []  # nothing left: the matrix job applied it
    assert last_commit(env_repo) == merge  # ... and the environment is in sync at the push


def test_a_push_changing_no_deployment_moves_the_sync_but_a_dry_run_does_not(env_repo):
    run(env_repo)
    env_repo.write("README.md", "docs only\n")
    docs = env_repo.commit("docs", "Mo Admin <mo@acme.example>")
    assert run(env_repo, dry_run=True).steps == [] and last_commit(env_repo) != docs
    assert run(env_repo).steps == [] and last_commit(env_repo) == docs


# --- "nothing new" without reading every deployment: the record's in-sync state ------------------
import pytest  # noqa: E402  (this part's own imports, kept with it)

from foureyes.deploy import reconcile  # noqa: E402
from foureyes.deploy.record import Entry  # noqa: E402


@pytest.fixture
def counted(monkeypatch):
    """How many times a deploy worked out the desired state from the deployment files."""
    calls = []
    real = reconcile.desired_state
    monkeypatch.setattr(
        reconcile, "desired_state", lambda *a, **kw: calls.append(1) or real(*a, **kw)
    )
    return calls


def test_a_deploy_with_nothing_new_does_not_read_the_deployments_again(env_repo, counted):
    run(env_repo)
    assert len(counted) == 1
    assert run(env_repo).steps == [] and len(counted) == 1  # same commit: answered from the record
    env_repo.write("README.md", "docs only\n")
    docs = env_repo.commit("docs", "Mo Admin <mo@acme.example>")
    assert run(env_repo).steps == [] and len(counted) == 1  # nothing deployed changed: same state
    assert last_commit(env_repo) == docs  # ... and the sync still moves


def test_a_changed_deployment_is_never_skipped(env_repo, counted):
    run(env_repo)
    merge_pr(env_repo, 1, bump("13"))
    steps = run(env_repo).steps
    assert [(s.name, s.action) for s in steps] == [("fraud-scorer", "replace_model")] and len(
        counted
    ) == 2


def test_a_record_written_after_the_sync_is_compared_in_full(env_repo, counted):
    """Anything written for the environment after the last complete deploy (a matrix job, a run cut
    short, a failure) means the record may differ from the registry: the full comparison repairs
    it."""
    run(env_repo)
    record = SqliteRecord(env_repo.root / ".foureyes" / "record.sqlite")
    try:
        entry = record.entries("staging")["fraud-scorer"]
        record.finish(
            Entry(
                "staging", "fraud-scorer", {**entry.data, "model": {"name": "other"}}, entry.commit
            ),
            "update",
            ok=False,
            message="cut short",
        )
    finally:
        record.close()
    again = run(env_repo)
    assert len(counted) == 2 and [(s.name, s.action) for s in again.steps] == [
        ("fraud-scorer", "replace_model")
    ]
    assert (
        again.ok and run(env_repo).steps == [] and len(counted) == 2
    )  # in sync again, answered from the record


def test_another_environment_s_writes_do_not_matter_but_a_new_foureyes_does(
    env_repo, counted, monkeypatch
):
    run(env_repo)
    assert (
        run(env_repo, env="production").ok and len(counted) == 2
    )  # production's own deploy writes its entries
    assert (
        run(env_repo).steps == [] and len(counted) == 2
    )  # staging: still answered from the record
    monkeypatch.setattr(reconcile, "_own_digest", lambda: "another foureyes, with other checks")
    assert (
        run(env_repo).steps == [] and len(counted) == 3
    )  # its checks may judge the files differently


def test_cli_a_failed_apply_recorded_after_the_sync_is_applied_again(env_repo, cli):
    """The same through the CLI: the registry did not change, the record did (a run cut short left a
    failure), so the deploy compares in full and applies the deployment again."""
    assert cli("deploy", "--env", "staging").exit_code == 0
    record = SqliteRecord(env_repo.root / ".foureyes" / "record.sqlite")
    try:
        entry = record.entries("staging")["fraud-scorer"]
        record.finish(
            Entry("staging", "fraud-scorer", entry.data, entry.commit),
            "update",
            ok=False,
            message="cut short",
        )
    finally:
        record.close()
    result = cli("deploy", "--env", "staging", "--format", "json")
    assert result.exit_code == 0
    assert [(s["deployment"], s["ok"]) for s in json.loads(result.stdout)["steps"]] == [
        ("fraud-scorer", True)
    ]
    assert json.loads(cli("deploy", "--env", "staging", "--format", "json").stdout)["steps"] == []
