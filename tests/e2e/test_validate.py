"""foureyes-validate.yml on pull_request, run by a real runner (act) against the GitHub stand-in."""

from .harness import RemoteRepo
from .world import DANA, World, pull_request_event

DEP = "registry/deployments/churn-predictor.yaml"


def test_validate_runs_on_a_pull_request(act, standin, tmp_path):
    world = World(standin)
    repo = RemoteRepo(tmp_path / "repo", standin.git_root / "acme" / "models.git")
    base = repo.sha()
    repo.git("checkout", "-q", "-b", "change")
    repo.replace(DEP, "importance:", "# a comment\nimportance:")
    head = repo.commit("churn-predictor: a comment")
    repo.push("change")
    repo.set_ref("refs/pull/7/head", head)
    repo.set_ref("refs/pull/7/merge", head)
    repo.git("checkout", "-q", "main")
    pr = world.open_pull(7, DANA, base, head)

    result = act.run(repo, "foureyes-validate.yml", "pull_request", pull_request_event(pr))

    assert result.returncode == 0, result.output[-4000:]
    assert result.step_succeeded("Validate the registry") and result.step_succeeded(
        "Plan the change"
    )
    assert not standin.failures, standin.failures
