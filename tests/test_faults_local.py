"""A deploy killed at any instant converges: every applied change is recorded once and evented once.

The reviewer's attack: a deploy SIGKILLed at a random instant (a cancelled job, a lost runner) and
re-run converged, but an applied change could keep its `success` in the record and have no
`deploy` event (they were written in separate transactions; the re-run sees success and applies
nothing). Here a run is killed just before EVERY write a sync makes (tests/support/faults.py
enumerates them), then re-run; the record and the event log must agree exactly."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from foureyes.deploy import reconcile
from foureyes.deploy.eventlog import Filters, query
from foureyes.deploy.record import SqliteRecord
from support.faults import Faults, Killed, deploy_staging, dying_target
from support.ledger import bump, merge_pr, served
from support.repos import DEP

RECORD = Path(".foureyes") / "record.sqlite"


def kill_at(root: Path, at: int, monkeypatch) -> Faults:
    faults = Faults(at)
    with monkeypatch.context() as m:
        m.setattr(reconcile, "load_target", dying_target(reconcile.load_target, faults))
        with pytest.raises(Killed):
            deploy_staging(root, faults)
    return faults


def count_points(root: Path, monkeypatch) -> list[str]:
    """The write points of one honest sync (played on a copy, which it consumes)."""
    faults = Faults()
    with monkeypatch.context() as m:
        m.setattr(reconcile, "load_target", dying_target(reconcile.load_target, faults))
        assert deploy_staging(root, faults).ok
    return faults.names


def applied_once_and_evented_once(root: Path) -> dict:
    """Every (deployment, commit) with a success in the record has exactly one success and exactly
    one ok deploy event, of the same action, and no deploy event lacks its success."""
    record = SqliteRecord(root / RECORD)
    try:
        successes = Counter(
            (h["name"], h["commit"], h["action"])
            for h in record.history("staging")
            if h["status"] == "success"
        )
        events = Counter(
            (e["deployment"], e["data"]["commit"], e["message"].split(" ", 1)[0])
            for e in query(record.db, Filters(type="deploy", environment="staging"))
        )
        assert all(e["status"] == "ok" for e in query(record.db, Filters(type="deploy")))
    finally:
        record.close()
    assert successes == events, (successes, events)
    assert set(successes.values()) == {1}
    per_change = Counter((name, commit) for name, commit, _ in successes)
    assert set(per_change.values()) == {
        1
    }  # one applied change, one record, whatever action the re-run took
    return dict(successes)


def converge(root: Path) -> None:
    again = deploy_staging(root)
    assert again.ok
    assert deploy_staging(root).steps == []  # converged: nothing left to apply


def scenarios(env_repo):
    """(name, a repository ready for the sync under test, what the sync must leave served)."""
    first = env_repo.root.parent / "first"
    shutil.copytree(env_repo.root, first)
    yield "first deploy: four creates", first
    assert deploy_staging(env_repo.root).ok
    merge_pr(env_repo, 7, lambda r: (bump("13")(r), r.rm(DEP.format("churn-predictor"))))
    yield "a replace and a delete", env_repo.root


def test_a_sync_killed_before_any_of_its_writes_converges_with_each_change_recorded_and_evented_once(
    env_repo, monkeypatch, tmp_path
):
    for label, root in scenarios(env_repo):
        probe = tmp_path / "probe"
        shutil.copytree(root, probe)
        points = count_points(probe, monkeypatch)
        expected = applied_once_and_evented_once(probe)
        wanted = served(type("R", (), {"root": probe}))
        assert len(points) > 10 and any(p.startswith("apply") for p in points)
        for at in range(1, len(points) + 1):
            trial = tmp_path / f"trial-{at}"
            shutil.copytree(root, trial)
            faults = kill_at(trial, at, monkeypatch)
            converge(trial)
            got = applied_once_and_evented_once(trial)
            assert {(n, c) for n, c, _ in got} == {(n, c) for n, c, _ in expected}, (
                label,
                faults.names[-1],
            )
            assert served(type("R", (), {"root": trial})) == wanted, (label, faults.names[-1])
            shutil.rmtree(trial)
        shutil.rmtree(probe)


KILLED_RUN = """
import sys
from pathlib import Path
from foureyes.deploy import reconcile
from support.faults import Faults, deploy_staging, dying_target

faults = Faults(int(sys.argv[2]), sigkill=True)
reconcile.load_target = dying_target(reconcile.load_target, faults)
deploy_staging(Path(sys.argv[1]), faults)
"""


def test_a_real_sigkill_at_a_few_instants_converges_the_same(env_repo, monkeypatch, tmp_path):
    """The kernel kills the process (SIGKILL: no exception, no finally, no rollback by foureyes):
    mid-way through the transaction that records a success, just after a target applied, and at
    the very last write."""
    probe = tmp_path / "probe"
    shutil.copytree(env_repo.root, probe)
    points = count_points(probe, monkeypatch)
    expected = {(n, c) for n, c, _ in applied_once_and_evented_once(probe)}
    instants = [
        points.index("sql: INSERT INTO events") + 1,
        next(i for i, p in enumerate(points, 1) if p.startswith("applied")),
        len(points),
    ]
    tests = Path(__file__).parent
    environ = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tests.parent / "action"), str(tests)]),
    }
    for at in instants:
        trial = tmp_path / f"sigkill-{at}"
        shutil.copytree(env_repo.root, trial)
        done = subprocess.run(
            [sys.executable, "-c", KILLED_RUN, str(trial), str(at)],
            env=environ,
            cwd=tests,
            capture_output=True,
            text=True,
        )
        assert done.returncode == -9, done.stderr  # killed by SIGKILL, not finished
        converge(trial)
        assert {(n, c) for n, c, _ in applied_once_and_evented_once(trial)} == expected
