"""The scheduled workflows, run by a real runner (act) against the GitHub stand-in: review timeouts
act on a PR left pending too long, and the inventory page is built from the full history with the
App's token: a direct push shows as an Unapproved change, an approved PR as Approved."""

from __future__ import annotations

import re

from .harness import RemoteRepo
from .steps import app_settings, merge_approved_change, open_change
from .world import World

MARKER = "<!-- foureyes:timeout -->"  # app/timeout_pipeline.py marks its comments


def schedule_event(cron: str) -> dict:
    """GitHub's schedule payload names the cron that fired, and the repository."""
    return {
        "schedule": cron,
        "repository": {
            "full_name": "acme/models",
            "name": "models",
            "owner": {"login": "acme"},
            "default_branch": "main",
        },
    }


def run_scheduled(act, standin, repo, workflow, cron, job):
    secrets, variables = app_settings(standin)
    return act.run(
        repo,
        workflow,
        "schedule",
        schedule_event(cron),
        job=job,
        secrets=secrets,
        variables=variables,
    )


def test_a_pr_pending_past_its_review_timeout_gets_a_reminder(act, standin, tmp_path):
    world = World(standin)
    repo, _pr = open_change(
        standin, tmp_path, world
    )  # moderate: remind after 72h; opened years ago
    result = run_scheduled(act, standin, repo, "foureyes-timeout.yml", "17 * * * *", "timeout")

    assert result.returncode == 0, result.output[-6000:]
    assert not standin.failures, standin.failures
    posted = world.comments.get(7, [])
    assert len(posted) == 1 and posted[0]["body"].startswith(MARKER), posted
    comment_calls = standin.called("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments")
    assert standin.tokens[comment_calls[0].token]["pull_requests"] == "write"  # the App token


def test_the_inventory_page_shows_a_direct_push_as_unapproved(act, standin, tmp_path):
    world = World(standin)
    repo = RemoteRepo(tmp_path / "repo", standin.git_root / "acme" / "models.git")
    merge_approved_change(repo, world)  # churn-predictor: PR #7, approved
    text = (repo.root / "registry/deployments/fraud-scorer.yaml").read_text()
    repo.write(
        "registry/deployments/fraud-scorer.yaml",
        text.replace("description:", "description: (hotfix)", 1),
    )
    repo.commit("fraud-scorer: hotfix", "Mallory <mallory@acme.example>")
    repo.push("main")

    result = run_scheduled(act, standin, repo, "foureyes-inventory.yml", "40 5 * * *", "build")

    assert result.returncode == 0, result.output[-6000:]
    assert not standin.failures, standin.failures
    site = next(act.artifacts.rglob("github-pages"))
    page = (site / "index.html").read_text()
    rows = inventory_rows(page)
    assert rows["fraud-scorer"] == "Unapproved change", rows
    assert rows["churn-predictor"] == "Approved", rows
    pulls = standin.called("GET", "/repos/{owner}/{repo}/commits/{commit_sha}/pulls")
    assert pulls and all(
        standin.tokens[c.token]["members"] == "read" for c in pulls
    )  # App token, not GITHUB_TOKEN


def inventory_rows(page: str) -> dict[str, str]:
    """deployment -> the status the page shows for it (each row carries data-status)."""
    rows = re.findall(
        r'<tr data-importance="[^"]*" data-status="([^"]*)"[^>]*><td><strong>([^<]+)</strong>', page
    )
    assert rows, page[:2000]
    return {name: status for status, name in rows}
