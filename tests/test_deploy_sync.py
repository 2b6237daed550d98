"""Finding 13: the converging run records the environment as in sync at the commit whenever nothing
is left to apply, so the next deploy re-checks only the commits after it."""

from foureyes.deploy.record import SqliteRecord
from test_deploy import bump, env_repo, merge_pr, run  # noqa: F401 (env_repo is a fixture)


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
    assert last_commit(env_repo) != merge            # a matrix job never moves the environment

    converge = run(env_repo)
    assert converge.ok and converge.steps == []      # nothing left: the matrix job applied it
    assert last_commit(env_repo) == merge            # ... and the environment is in sync at the push


def test_a_push_changing_no_deployment_moves_the_sync_but_a_dry_run_does_not(env_repo):
    run(env_repo)
    env_repo.write("README.md", "docs only\n")
    docs = env_repo.commit("docs", "Mo Admin <mo@acme.example>")
    assert run(env_repo, dry_run=True).steps == [] and last_commit(env_repo) != docs
    assert run(env_repo).steps == [] and last_commit(env_repo) == docs
