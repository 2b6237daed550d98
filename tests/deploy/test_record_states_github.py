"""The GitHub deploy record reads deployment states from foureyes' own sync deployments:
reading the record costs pages, not one /statuses request per deployment, and says exactly what
the statuses say; a sync written by anyone else names nothing; a run cut short (no sync) is read
from its statuses."""

import pytest
import responses

from foureyes.deploy.github_record import SYNC_TASK, GitHubRecord
from foureyes.deploy.record import Entry
from foureyes.github.client import make_client
from ghapi.mockgithub import FOUREYES_BOT, FakeDeployments, user

EVE = user("eve", 666)
SHA1, SHA2, SHA3 = "1" * 40, "2" * 40, "3" * 40
N = 250


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeDeployments(rsps), rsps


def record(tmp_path, cls=GitHubRecord):
    return cls(make_client(), "acme/models", tmp_path / "events.sqlite", FOUREYES_BOT)


def entry(name: str, commit: str, version: str = "1") -> Entry:
    return Entry(
        "staging",
        name,
        {"name": name, "importance": "low", "model": {"name": name, "version": version}},
        commit,
        {"status": "approved", "pr": 1},
    )


def apply(rec, e: Entry, action: str, ok: bool = True, finish: bool = True) -> None:
    rec.begin(e, action)
    if finish:
        rec.finish(e, action, ok, "done" if ok else "target failed")


class StatusesOnly(GitHubRecord):
    """The reader as it was: every state from the deployment's own statuses, syncs name nothing."""

    def _learn_syncs(self, deployments):
        pass


def history_of(fake_and_rsps, tmp_path):
    """Three runs and a forger: N creates (three fail), a run deleting two, replacing one and
    retrying a failed one, then a run cut short after one replace and during another; Eve's
    deployment and her sync claiming states."""
    fake, _ = fake_and_rsps
    names = [f"model-{i:03d}" for i in range(N)]
    run1 = record(tmp_path)
    run1.entries("staging")
    for i, name in enumerate(names):
        apply(run1, entry(name, SHA1), "create", ok=i not in (5, 6, 7))
    run1.set_last_commit("staging", SHA1)
    run1.close()

    run2 = record(tmp_path)
    current = run2.entries("staging")
    for name in names[:2]:
        apply(
            run2, Entry("staging", name, current[name].data, SHA2, current[name].approval), "delete"
        )
    apply(run2, entry(names[2], SHA2, "2"), "replace_model")
    apply(run2, entry(names[5], SHA1), "create")  # the failed create, retried at the same commit
    run2.set_last_commit("staging", SHA2)
    run2.close()

    run3 = record(tmp_path)
    run3.entries("staging")
    apply(run3, entry(names[3], SHA3, "3"), "replace_model")
    apply(
        run3, entry(names[4], SHA3, "3"), "replace_model", finish=False
    )  # cut short: no finish, no sync
    run3.close()

    eve = fake.add(
        SHA3, "deploy:model-006", "staging", {"deployment": {"name": "model-006"}}, creator=EVE
    )
    fake.set_status(eve["id"], "success", creator=EVE, auto_inactive=False)
    unnamed = [d["id"] for d in fake.deployments if d["task"] == "deploy:model-004"][-1]
    failed = next(d["id"] for d in fake.deployments if d["task"] == "deploy:model-007")
    fake.add(
        SHA3,
        SYNC_TASK,
        "staging",
        {"target": {}, "states": {"success": [failed, unnamed]}},
        creator=EVE,
    )
    return names, unnamed


def statuses_asked(rsps) -> list[str]:
    return [
        c.request.url
        for c in rsps.calls
        if c.request.method == "GET" and "/statuses" in c.request.url
    ]


def test_entries_and_history_cost_pages_not_deployments_and_say_what_the_statuses_say(
    fake, tmp_path
):
    names, unnamed = history_of(fake, tmp_path)
    _, rsps = fake
    reference = record(tmp_path, StatusesOnly)
    want = (
        reference.entries("staging"),
        reference.history("staging"),
        reference.history(),
        reference.history("staging", names[3]),
    )
    reference.close()
    assert len(statuses_asked(rsps)) > N  # the old way: one request per deployment

    rsps.calls.reset()
    reader = record(tmp_path)
    assert reader.entries("staging") == want[0]
    entries_calls = len(rsps.calls)
    assert reader.history("staging") == want[1]
    assert reader.history() == want[2]
    assert record(tmp_path).history("staging", names[3]) == want[3]
    reader.close()
    deployments = len(fake[0].deployments)
    pages = -(-deployments // 100)
    # entries: the listing's pages, plus /statuses for the two deployments of the run cut short, the
    # newest of their names, which no sync names
    assert entries_calls <= pages + 2, entries_calls
    asked = statuses_asked(rsps)
    assert any(
        f"/deployments/{unnamed}/statuses" in url for url in asked
    )  # the interrupted run: its statuses
    assert (
        len(asked) <= 2 * 4
    )  # two unnamed deployments, read by each reader of the four calls at most
    # what the record says, spelled out: deletes gone, the retried create live, the failures failing
    got = want[0]
    assert names[0] not in got and names[1] not in got
    assert got[names[5]].status == "success" and got[names[6]].status == "failure"
    assert got[names[7]].status == "failure"  # Eve's sync claims success: ignored
    assert (
        got[names[4]].status == "in_progress"
    )  # Eve's sync claims success for the run cut short: ignored
    assert (
        got[names[2]].data["model"]["version"] == "2"
        and got[names[3]].data["model"]["version"] == "3"
    )


def test_a_forged_sync_names_nothing(fake, tmp_path):
    """Eve's sync claims a failed deployment went through: the record still says it failed, and her
    sync
    is logged as ignored."""
    fake_deployments, _ = fake
    rec = record(tmp_path)
    rec.entries("staging")
    apply(rec, entry("fraud-scorer", SHA1), "create", ok=False)
    rec.close()
    failed = fake_deployments.deployments[-1]["id"]
    fake_deployments.add(
        SHA2, SYNC_TASK, "staging", {"target": {}, "states": {"success": [failed]}}, creator=EVE
    )
    reader = record(tmp_path)
    assert reader.entries("staging")["fraud-scorer"].status == "failure"
    events = [
        m
        for (m,) in reader.local.db.execute(
            "SELECT message FROM events WHERE type = 'record_ignored'"
        )
    ]
    reader.close()
    assert any(SYNC_TASK in m and "eve" in m for m in events)


def test_a_state_a_sync_names_is_final(fake, tmp_path):
    """A retry at the same commit and a delete after a sync get deployments of their own, so the
    sync that named the earlier state never goes stale."""
    fake_deployments, _ = fake
    rec = record(tmp_path)
    rec.entries("staging")
    apply(rec, entry("fraud-scorer", SHA1), "create", ok=False)
    rec.set_last_commit("staging", SHA1)
    rec.close()
    rec = record(tmp_path)
    current = rec.entries("staging")
    apply(rec, entry("fraud-scorer", SHA1), "create")  # same commit, same payload
    first, retry = [
        d["id"] for d in fake_deployments.deployments if d["task"] == "deploy:fraud-scorer"
    ]
    assert (
        fake_deployments.latest(first) == "failure" and fake_deployments.latest(retry) == "success"
    )
    rec.set_last_commit("staging", SHA2)
    rec.close()
    rec = record(tmp_path)
    current = rec.entries("staging")
    assert current["fraud-scorer"].status == "success"
    apply(rec, Entry("staging", "fraud-scorer", current["fraud-scorer"].data, SHA3, {}), "delete")
    rec.close()
    assert fake_deployments.latest(retry) == "success"  # what the sync said, still true
    reader = record(tmp_path)
    assert "fraud-scorer" not in reader.entries("staging")
    assert [h["action"] for h in reader.history("staging")] == ["create", "create", "delete"]
    reader.close()


def test_a_sync_names_what_its_run_asked_about(fake, tmp_path):
    """Records no sync names (a matrix job, a run cut short, an older version) are asked about once:
    the next sync names them."""
    _, rsps = fake
    rec = record(tmp_path)
    rec.entries("staging")
    apply(rec, entry("fraud-scorer", SHA1), "create")
    rec.close()  # a matrix job: no sync
    rec = record(tmp_path)
    rsps.calls.reset()
    assert rec.entries("staging")["fraud-scorer"].status == "success"
    assert len(statuses_asked(rsps)) == 1
    rec.set_last_commit("staging", SHA1)  # the converging run
    rec.close()
    rsps.calls.reset()
    reader = record(tmp_path)
    assert reader.entries("staging")["fraud-scorer"].status == "success"
    assert statuses_asked(rsps) == []
    reader.close()
