"""foureyes-gate.yml on pull_request_target, run by a real runner (act) against the GitHub stand-in:
the App token is minted by the pinned create-github-app-token, the default branch checked out by the
pinned checkout, the PR's commits fetched as data, and the decision posted as a commit status."""

from .steps import open_change, run_gate
from .world import ALICE, World, pull_request_event


def test_no_reviews_leaves_the_pr_pending(act, standin, tmp_path):
    world = World(standin)
    repo, pr = open_change(standin, tmp_path, world)
    result = run_gate(act, standin, repo, "pull_request_target", pull_request_event(pr))
    assert result.returncode == 0, result.output[-5000:]
    assert world.status_on(pr["head"]["sha"]) == "pending"
    assert not standin.failures, standin.failures
    posted = [s for s in world.statuses if s["sha"] == pr["head"]["sha"]][-1]
    assert posted["token_permissions"]["statuses"] == "write"  # the App token, not GITHUB_TOKEN


def test_enough_valid_approvals_succeed(act, standin, tmp_path):
    world = World(standin)
    repo, pr = open_change(standin, tmp_path, world)
    world.review(7, ALICE, "APPROVED", pr["head"]["sha"])
    result = run_gate(
        act, standin, repo, "pull_request_target", pull_request_event(pr, "synchronize")
    )
    assert result.returncode == 0, result.output[-5000:]
    assert world.status_on(pr["head"]["sha"]) == "success"
    assert not standin.failures, standin.failures


def test_an_api_error_posts_error_and_fails_the_job(act, standin, tmp_path):
    world = World(standin)
    repo, pr = open_change(standin, tmp_path, world)
    world.review(7, ALICE, "APPROVED", pr["head"]["sha"])
    world.broken.add("/repos/{owner}/{repo}/pulls/{pull_number}/reviews")
    result = run_gate(act, standin, repo, "pull_request_target", pull_request_event(pr))
    assert result.returncode != 0
    assert world.status_on(pr["head"]["sha"]) == "error"
    assert not standin.failures, standin.failures
