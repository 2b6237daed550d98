"""The GitHub deploy record under a run killed at any instant: every applied change ends with
exactly one success status and, in the event log the jobs' logs import into, exactly one deploy
event. Each job has its own log (a fresh runner); a killed job's log is either uploaded (a
cancelled job's `if: always()` export) or lost with its runner. Kill points: before each POST
(not sent), after GitHub applied it but before the answer arrived, and each write to the job's
local log (tests/support/faults.py)."""

from __future__ import annotations

import shutil
from collections import Counter

import pytest
import responses

from foureyes.deploy import reconcile
from foureyes.deploy.eventlog import Filters, query
from foureyes.deploy.github_record import SYNC_TASK, TASK_PREFIX, GitHubRecord
from foureyes.deploy.record import SqliteRecord
from foureyes.github.client import make_client
from foureyes.github.events import import_events
from foureyes.repo import Repo
from foureyes.sources.ledger import Ledger
from ghapi.mockgithub import FOUREYES_BOT, FakeDeployments
from support.faults import DyingConnection, Faults, Killed


class DyingDeployments(FakeDeployments):
    """The Deployments API, whose every create can be the instant the run dies."""

    faults: Faults | None = None

    def _point(self, name: str) -> None:
        if self.faults is not None:
            self.faults.point(name)

    def on_create(self, request):
        self._point("before POST deployment")
        answer = super().on_create(request)
        self._point("after POST deployment (answer lost)")
        return answer

    def on_status(self, request):
        self._point("before POST status")
        answer = super().on_status(request)
        self._point("after POST status (answer lost)")
        return answer


JOBS = iter(range(10**6))


def job(root, logs, fake, faults=None):
    """One job on a fresh runner: its own event log; killed at ``faults``' point if given."""
    log = root.parent / f"job-{next(JOBS)}.sqlite"
    record = GitHubRecord(make_client(), "acme/models", log, FOUREYES_BOT)
    fake.faults = faults
    if faults is not None:
        record.local.db = DyingConnection(record.local.db, faults)
    try:
        with Repo(root) as repo:  # one job, one session, as the command makes it
            return reconcile.deploy(repo, "staging", record, Ledger(repo, root / "none"))
    finally:
        fake.faults = None
        (record.local.db._db if faults is not None else record.local.db).close()
        logs.append(log)


def merged_log(logs, tmp_path):
    """What `foureyes events --repo` builds from the jobs' uploaded logs."""
    merged = SqliteRecord(tmp_path / "merged.sqlite")
    for log in logs:
        source = SqliteRecord(log)
        import_events(merged, query(source.db, Filters()))
        source.close()
    events = query(merged.db, Filters(type="deploy"))
    merged.close()
    (tmp_path / "merged.sqlite").unlink()
    return events


def once_each(fake, events) -> set:
    successes = Counter()
    for d in fake.deployments:
        if d["task"].startswith(TASK_PREFIX):
            n = sum(s["state"] == "success" for s in fake.statuses[d["id"]])
            if n:
                successes[(d["task"][len(TASK_PREFIX) :], d["sha"])] += n
    evented = Counter((e["deployment"], e["data"]["commit"]) for e in events if e["status"] == "ok")
    assert set(successes.values()) == {1}, successes  # one success status per applied change
    assert successes == evented, (successes, evented)  # ... and one deploy event for each
    return set(successes)


@pytest.mark.parametrize("upload", ["uploaded", "lost"])
def test_a_deploy_killed_at_any_write_converges_recorded_once_and_evented_once(
    repo, monkeypatch, tmp_path, upload
):
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    repo.write(".gitignore", ".foureyes/\n")
    repo.commit("ignore", "Mo Admin <mo@acme.example>")
    probe_faults = Faults()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake, logs = DyingDeployments(rsps), []
        assert job(repo.root, logs, fake, probe_faults).ok
        expected = once_each(fake, merged_log(logs, tmp_path))
    points = probe_faults.names
    assert len(expected) == 4 and len(points) > 20
    sync_at = points.index(
        "before POST deployment", max(i for i, p in enumerate(points) if "deployment" in p) - 1
    )
    for at in range(1, len(points) + 1):
        if upload == "lost" and at > sync_at:
            continue  # a runner lost after the sync named the states: see the report's residual
        shutil.rmtree(repo.root / ".foureyes", ignore_errors=True)
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            fake, logs = DyingDeployments(rsps), []
            with pytest.raises(Killed):
                job(repo.root, logs, fake, Faults(at))
            if upload == "lost":
                logs.pop()
            assert job(repo.root, logs, fake).ok
            assert job(repo.root, logs, fake).steps == []
            assert once_each(fake, merged_log(logs, tmp_path)) == expected, (at, points[at - 1])
        assert sum(d["task"] == SYNC_TASK for d in fake.deployments) >= 1
