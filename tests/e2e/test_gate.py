"""foureyes-gate.yml on pull_request_target, run by a real runner (act) against the GitHub stand-in:
the App token is minted by the pinned create-github-app-token, the default branch checked out by the
pinned checkout, the PR's commits fetched as data, and the decision posted as a commit status."""

from .harness import RemoteRepo
from .world import ALICE, DANA, World, pull_request_event

DEP = "registry/deployments/churn-predictor.yaml"  # importance moderate: one approval


def app_settings(standin):
    return (
        {"FOUREYES_APP_PRIVATE_KEY": standin.app_private_key},
        {"FOUREYES_APP_CLIENT_ID": standin.app_client_id},
    )


def open_change(standin, tmp_path, world, number=7, fork=False):
    repo = RemoteRepo(tmp_path / "repo", standin.git_root / "acme" / "models.git")
    base = repo.sha()
    repo.git("checkout", "-q", "-b", "change")
    text = (repo.root / DEP).read_text()
    old = next(line for line in text.splitlines() if line.strip().startswith("version:"))
    repo.replace(DEP, old, old.replace(old.split(":", 1)[1].strip(), '"999"'))
    head = repo.commit("churn-predictor: new model version")
    if (
        not fork
    ):  # a fork's branch lives in the fork; GitHub keeps its head as refs/pull/N/head here
        repo.push("change")
    repo.push(f"{head}:refs/pull/{number}/head")
    repo.git("checkout", "-q", "main")
    pr = world.open_pull(number, DANA, base, head, fork=fork)
    return repo, pr


def run_gate(act, standin, repo, event_name, payload):
    secrets, variables = app_settings(standin)
    return act.run(
        repo, "foureyes-gate.yml", event_name, payload, secrets=secrets, variables=variables
    )


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
