"""Event logs kept as workflow-run artifacts: `foureyes events --repo` imports each once, and a bad
artifact is skipped with a warning. Gate decisions land in the event log too."""

import io
import json
import re
import zipfile

import responses

from ghapi.mockgithub import API, check, example, repository

BLOB = "https://pipelines.actions.githubusercontent.com/signed/{}.zip"
REPO_ID, FORK_ID = 1296269, 999


def artifact(id, name, expired=False, run=9, branch="main", head_repository_id=REPO_ID):
    item = example("artifact-paginated")["artifacts"][0]
    item.update(
        id=id,
        name=name,
        expired=expired,
        url=f"{API}/repos/acme/models/actions/artifacts/{id}",
        archive_download_url=f"{API}/repos/acme/models/actions/artifacts/{id}/zip",
    )
    item["workflow_run"].update(
        id=run, head_branch=branch, repository_id=REPO_ID, head_repository_id=head_repository_id
    )
    return item


def workflow_run(
    rsps, id, path=".github/workflows/foureyes-deploy.yml", event="push", branch="main", fork=False
):
    """GET /repos/{owner}/{repo}/actions/runs/{run_id} from GitHub's example."""
    run = example("workflow-run")
    run.update(id=id, path=path, event=event, head_branch=branch)
    run["repository"].update(full_name="acme/models", id=REPO_ID)
    run["head_repository"].update(
        full_name="eve/models" if fork else "acme/models", id=FORK_ID if fork else REPO_ID
    )
    check("/repos/{owner}/{repo}/actions/runs/{run_id}", "get", "200", run)
    rsps.get(
        re.compile(re.escape(API) + rf"(?::443)?/repos/acme/models/actions/runs/{id}$"), json=run
    )


def served_zip(rsps, id, payload):
    rsps.get(
        f"{API}/repos/acme/models/actions/artifacts/{id}/zip",
        status=302,
        headers={"Location": BLOB.format(id)},
    )
    rsps.get(BLOB.format(id), body=payload, content_type="application/zip")


def zipped(events):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("events-gate-123.json", json.dumps(events))
    return buffer.getvalue()


EVENTS = [
    {
        "at": "2026-11-21T10:00:00Z",
        "type": "deploy",
        "status": "ok",
        "deployment": "fraud-scorer",
        "environment": "production",
        "message": "replace_model fraud-scorer: alias moved",
        "data": {"pr": 42},
    },
    {
        "at": "2026-11-21T10:05:00Z",
        "type": "provenance_violation",
        "status": "failing",
        "deployment": None,
        "environment": "production",
        "message": "commit abc (hotfix): no merged pull request",
        "data": {},
    },
]


def mock_artifacts(rsps, items):
    body = {"total_count": len(items), "artifacts": items}
    check("/repos/{owner}/{repo}/actions/artifacts", "get", "200", body)
    rsps.get(
        re.compile(re.escape(API) + r"(?::443)?/repos/acme/models/actions/artifacts(?:\?.*)?$"),
        json=body,
    )


def test_events_are_imported_once_from_run_artifacts(repo, cli, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        repository(rsps)
        workflow_run(rsps, 9)
        mock_artifacts(
            rsps,
            [
                artifact(1, "foureyes-events-9-1-deploy-0"),
                artifact(2, "coverage-report"),
                artifact(3, "foureyes-events-9-1-gate-0", expired=True),
                artifact(4, "foureyes-events-10-1-deploy-0"),
            ],
        )
        for i, payload in ((1, zipped(EVENTS)), (4, b"not a zip")):
            rsps.get(
                f"{API}/repos/acme/models/actions/artifacts/{i}/zip",
                status=302,
                headers={"Location": BLOB.format(i)},
            )
            rsps.get(BLOB.format(i), body=payload, content_type="application/zip")
        result = cli("events", "--repo", "acme/models", "--format", "json")
        assert result.exit_code == 0
        assert (
            "imported 2 event(s)" in result.stderr
            and "skipped foureyes-events-10-1-deploy-0" in result.stderr
        )
        rows = json.loads(result.stdout)
        assert [(r["type"], r["status"]) for r in rows] == [
            ("deploy", "ok"),
            ("provenance_violation", "failing"),
        ]
        downloads = [c.request.url for c in rsps.calls if "/zip" in c.request.url]
        assert all(
            "Authorization" not in c.request.headers
            for c in rsps.calls
            if "pipelines" in c.request.url
        )
        again = cli("events", "--repo", "acme/models", "--format", "json")
        assert "imported 0 event(s)" in again.stderr and len(json.loads(again.stdout)) == 2
        assert [c.request.url for c in rsps.calls if "/zip" in c.request.url].count(
            downloads[0]
        ) == 1


def test_gate_decisions_are_in_the_event_log(repo, cli, tmp_path):
    repo.branch("pr")
    repo.replace("registry/deployments/product-recs.yaml", "team: shop", "team: web")
    repo.commit()
    facts = tmp_path / "facts.yaml"
    facts.write_text(
        "author: dana\nbody: why\naccounts:\n  dana: {id: 1, emails: [dana@acme.example]}\n"
        "  alice: {id: 2}\nteams:\n  acme/mlops-admins: {members: [alice]}\nreviews: []\n"
    )
    assert cli("gate", "--local", str(facts), "--base", "main").exit_code == 1
    rows = json.loads(cli("events", "--type", "gate", "--format", "json").stdout)
    assert [(r["status"], r["deployment"]) for r in rows] == [("info", "product-recs")]
    assert rows[0]["message"].startswith("pending: 0 of 1 approvals")  # no number: no "PR #"


FORGED = [
    {
        "at": "2026-01-01T00:00:00Z",
        "type": "deploy",
        "status": "ok",
        "deployment": "fraud-scorer",
        "environment": "production",
        "message": "replace_model fraud-scorer: approved by alice, bob",
        "data": {},
    }
]


def test_only_artifacts_of_foureyes_own_runs_are_imported(repo, cli, monkeypatch):
    """Any run can upload `foureyes-events-*`: a PR branch's run, another workflow, a fork."""
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        repository(rsps)
        workflow_run(rsps, 20, event="pull_request", branch="pr-branch")  # a PR's own run
        workflow_run(rsps, 21, path=".github/workflows/ci.yml")  # another workflow on main
        workflow_run(rsps, 22, fork=True)  # a fork's run
        workflow_run(rsps, 23, event="push", branch="release/1")  # a deploy branch: trusted
        workflow_run(
            rsps,
            24,
            path="acme/models/.github/workflows/foureyes-gate.yml@refs/heads/main",
            event="pull_request_target",
        )  # trusted, written the long way
        mock_artifacts(
            rsps,
            [
                artifact(30, "foureyes-events-pr", run=20, branch="main"),
                artifact(31, "foureyes-events-ci", run=21),
                artifact(32, "foureyes-events-fork", run=22, head_repository_id=FORK_ID),
                artifact(33, "foureyes-events-fork-claims-main", run=22),
                artifact(34, "foureyes-events-branch", run=20, branch="pr-branch"),
                artifact(35, "foureyes-events-release", run=23, branch="release/1"),
                artifact(36, "foureyes-events-gate", run=24),
            ],
        )
        for i in range(30, 35):
            served_zip(rsps, i, zipped(FORGED))
        served_zip(rsps, 35, zipped(EVENTS[:1]))
        served_zip(rsps, 36, zipped(EVENTS[1:]))
        result = cli("events", "--repo", "acme/models", "--format", "json")
        assert result.exit_code == 0, result.output
        assert "imported 2 event(s)" in result.stderr
        for name in ("pr", "ci", "fork", "fork-claims-main", "branch"):
            assert f"skipped foureyes-events-{name}:" in result.stderr
        assert (
            "triggered by 'pull_request'" in result.stderr
            and "not a foureyes-*.yml workflow" in result.stderr
        )
        rows = json.loads(result.stdout)
        assert [r["at"] for r in rows] == [EVENTS[0]["at"], EVENTS[1]["at"]]
        assert not [
            c for c in rsps.calls if re.search(r"/artifacts/3[0-4]/zip", c.request.url)
        ]  # never downloaded


def test_an_artifact_that_inflates_past_the_cap_is_refused(repo, cli, monkeypatch):
    """A small zip that inflates to more than the cap is refused while inflating, not after."""
    from foureyes.github import events

    monkeypatch.setenv("GITHUB_TOKEN", "t")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("events.json", b"[" + b" " * (events.MAX_INFLATED + 1) + b"]")
    assert len(buffer.getvalue()) < 100 * 1024
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        repository(rsps)
        workflow_run(rsps, 9)
        mock_artifacts(
            rsps, [artifact(40, "foureyes-events-bomb"), artifact(41, "foureyes-events-ok")]
        )
        served_zip(rsps, 40, buffer.getvalue())
        served_zip(rsps, 41, zipped(EVENTS[:1]))
        result = cli("events", "--repo", "acme/models", "--format", "json")
        assert result.exit_code == 0
        assert (
            "skipped foureyes-events-bomb: artifact 40: events.json inflates past "
            f"{events.MAX_INFLATED} bytes" in result.stderr
        )
        assert len(json.loads(result.stdout)) == 1
