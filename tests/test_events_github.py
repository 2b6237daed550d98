"""Event logs kept as workflow-run artifacts: `foureyes events --repo` imports each once, and a bad
artifact is skipped with a warning. Gate decisions land in the event log too."""

import io
import json
import re
import zipfile

import responses

from ghapi.mockgithub import API, check, example

BLOB = "https://pipelines.actions.githubusercontent.com/signed/{}.zip"


def artifact(id, name, expired=False):
    item = example("artifact-paginated")["artifacts"][0]
    item.update(id=id, name=name, expired=expired, url=f"{API}/repos/acme/models/actions/artifacts/{id}",
                archive_download_url=f"{API}/repos/acme/models/actions/artifacts/{id}/zip")
    return item


def zipped(events):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("events-gate-123.json", json.dumps(events))
    return buffer.getvalue()


EVENTS = [{"at": "2026-11-21T10:00:00Z", "type": "deploy", "status": "ok", "deployment": "fraud-scorer",
           "environment": "production", "message": "replace_model fraud-scorer: alias moved", "data": {"pr": 42}},
          {"at": "2026-11-21T10:05:00Z", "type": "provenance_violation", "status": "failing", "deployment": None,
           "environment": "production", "message": "commit abc (hotfix): no merged pull request", "data": {}}]


def mock_artifacts(rsps, items):
    body = {"total_count": len(items), "artifacts": items}
    check("/repos/{owner}/{repo}/actions/artifacts", "get", "200", body)
    rsps.get(re.compile(re.escape(API) + r"(?::443)?/repos/acme/models/actions/artifacts(?:\?.*)?$"), json=body)


def test_events_are_imported_once_from_run_artifacts(repo, cli, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        mock_artifacts(rsps, [artifact(1, "foureyes-events-9-1-deploy-0"), artifact(2, "coverage-report"),
                              artifact(3, "foureyes-events-9-1-gate-0", expired=True),
                              artifact(4, "foureyes-events-10-1-deploy-0")])
        for i, payload in ((1, zipped(EVENTS)), (4, b"not a zip")):
            rsps.get(f"{API}/repos/acme/models/actions/artifacts/{i}/zip", status=302,
                     headers={"Location": BLOB.format(i)})
            rsps.get(BLOB.format(i), body=payload, content_type="application/zip")
        result = cli("events", "--repo", "acme/models", "--format", "json")
        assert result.exit_code == 0
        assert "imported 2 event(s)" in result.stderr and "skipped foureyes-events-10-1-deploy-0" in result.stderr
        rows = json.loads(result.stdout)
        assert [(r["type"], r["status"]) for r in rows] == [("deploy", "ok"), ("provenance_violation", "failing")]
        downloads = [c.request.url for c in rsps.calls if "/zip" in c.request.url]
        assert all("Authorization" not in c.request.headers for c in rsps.calls if "pipelines" in c.request.url)
        again = cli("events", "--repo", "acme/models", "--format", "json")
        assert "imported 0 event(s)" in again.stderr and len(json.loads(again.stdout)) == 2
        assert [c.request.url for c in rsps.calls if "/zip" in c.request.url].count(downloads[0]) == 1


def test_gate_decisions_are_in_the_event_log(repo, cli, tmp_path):
    repo.branch("pr")
    repo.replace("registry/deployments/product-recs.yaml", "team: shop", "team: web")
    repo.commit()
    facts = tmp_path / "facts.yaml"
    facts.write_text("author: dana\nbody: why\naccounts:\n  dana: {id: 1, emails: [dana@acme.example]}\n"
                     "  alice: {id: 2}\nteams:\n  acme/mlops-admins: {members: [alice]}\nreviews: []\n")
    assert cli("gate", "--local", str(facts), "--base", "main").exit_code == 1
    rows = json.loads(cli("events", "--type", "gate", "--format", "json").stdout)
    assert [(r["status"], r["deployment"]) for r in rows] == [("info", "product-recs")]
    assert rows[0]["message"].startswith("pending: 0 of 1 approvals")  # no number: no "PR #"
