"""foureyes-deploy.yml, run by a real runner (act), deploying to a real MLflow tracking server:
staging's target is `type: mlflow` with `tracking_uri` naming the server, and the workflows carry
the wiring `foureyes init` writes for it (`extras: mlflow`, which the runner installs from
requirements/action-mlflow.txt). The server holds churn-logreg v1 (served in staging, as an
earlier deploy left it) and v2. What reaches the registry is read back with MlflowClient."""

from __future__ import annotations

import json
from pathlib import Path

from foureyes.deploy.github_record import SYNC_TASK
from foureyes.registry.model import parse_environments
from foureyes.setup import wiring

from .harness import InNamespace, RemoteRepo
from .mlflowserver import QUIET
from .steps import DEP, deployed_earlier, merge_approved_change, run_deploy
from .world import World, push_event

MODEL = "churn-logreg"
REGISTERED = ("1", "2")  # the versions the server holds; the registry serves v1 to start with
TASK = "deploy:churn-predictor"
LOCAL_STAGING = "type: local\n      path: .foureyes/serving/staging\n"
# the runner's MLflow client: a registry that is down fails the step at once, not after the client's
# retries with backoff (MLFLOW_HTTP_REQUEST_MAX_RETRIES, default 7, about 4 minutes); no telemetry.
# And the action's install skips byte-compiling the extra's ~4,700 modules (measured here: about
# half of each job's install): pip takes a boolean option's variable as its value, so
# PIP_NO_COMPILE=0 is --no-compile. Speed only: the same hash-checked wheels are installed.
RUNNER_ENV = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    "PIP_NO_COMPILE": "0",
    **{k: QUIET[k] for k in ("MLFLOW_DISABLE_TELEMETRY", "DO_NOT_TRACK")},
}
PLAN_STEP = "What changes, after the provenance re-check"


def churn_predictor(version: str) -> str:
    return (
        "name: churn-predictor\n"
        'owner: "@acme/growth-ds"\n'
        "importance: moderate\n"
        "description: Weekly churn propensity for retention campaigns.\n"
        f'model:\n  name: {MODEL}\n  version: "{version}"\n  uri: models:/{MODEL}/{version}\n'
        "environments: [staging, production]\n"
        "apply: auto\n"
    )


def to_version(version: str):
    def change(repo: RemoteRepo) -> None:
        repo.write(DEP, churn_predictor(version))

    return change


def registry_on(uri: str):
    """The bootstrap of a repository whose staging is that MLflow server: churn-predictor alone (at
    the version the server serves), staging's target `type: mlflow` with `tracking_uri`, and the
    workflows wired for it as `foureyes init` writes them (checked as `foureyes validate` does)."""

    def prepare(root: Path) -> None:
        for path in (root / "registry" / "deployments").glob("*.yaml"):
            path.unlink()
        (root / DEP).write_text(churn_predictor(REGISTERED[0]))
        envs = root / "registry" / "environments.yaml"
        text = envs.read_text()
        assert LOCAL_STAGING in text
        envs.write_text(
            text.replace(LOCAL_STAGING, f"type: mlflow\n      tracking_uri: {uri}\n", 1)
        )
        environments = parse_environments(envs.read_bytes())
        for workflow in (wiring.DEPLOY_WORKFLOW, wiring.VALIDATE_WORKFLOW):
            path = root / workflow
            path.write_text(wiring.render(path.read_text(), workflow, environments))
        read = lambda rel: (root / rel).read_bytes() if (root / rel).exists() else None  # noqa: E731
        assert "extras: mlflow" in (root / wiring.DEPLOY_WORKFLOW).read_text()
        assert wiring.problems(read, environments) == []

    return prepare


def mlflow_world(standin, server, tmp_path: Path) -> tuple[World, RemoteRepo]:
    """The server holds churn-logreg v1 and v2; an earlier deploy (in-process) serves v1 in
    staging."""
    with server.client() as client:
        client.create_registered_model(MODEL)
        for version in REGISTERED:
            made = client.create_model_version(MODEL, f"s3://acme-models/{MODEL}/{version}")
            assert made.version == version
    world = World(standin)
    repo = RemoteRepo(
        tmp_path / "repo",
        standin.git_root / "acme" / "models.git",
        prepare=registry_on(server.uri),
    )
    with InNamespace(server.netns):  # the seed's mlflow target talks to the server
        deployed_earlier(standin, repo, "staging", tmp_path)
    return world, repo


def served(server, environment: str = "staging") -> tuple[str, dict[str, dict[str, str]]]:
    """(the version the environment's alias points at, {version: its foureyes.<env>.* tags})."""
    prefix = f"foureyes.{environment}."
    with server.client() as client:
        alias = client.get_model_version_by_alias(MODEL, environment).version
        tags = {
            str(v.version): {k: t for k, t in (v.tags or {}).items() if k.startswith(prefix)}
            for v in client.search_model_versions(f"name = '{MODEL}'")
        }
    return str(alias), tags


def assert_serves_the_approved_v2(server, world: World, merge: str) -> None:
    """Staging's alias points at v2, which carries the approval GitHub's deploy record holds; v1
    keeps none of staging's tags; the environment is recorded in sync at the merge."""
    shipped = [(d, states) for d, states in world.recorded("staging", TASK) if d["sha"] == merge]
    assert shipped and shipped[-1][1][-1] == "success", shipped
    approval = shipped[-1][0]["payload"]["approval"]
    assert approval["pr"] == 7 and approval["approvers"] == ["alice"]
    alias, tags = served(server)
    assert alias == "2"
    assert json.loads(tags["2"].pop("foureyes.staging.approval")) == approval
    assert tags["2"] == {
        "foureyes.staging.approvers": "alice",
        "foureyes.staging.commit": approval["commit"],
        "foureyes.staging.deployment": "churn-predictor",
    }
    assert tags["1"] == {}  # the tags moved with the alias
    syncs = world.recorded("staging", SYNC_TASK)
    assert [s["sha"] for s, states in syncs if states == ["success"]][-1] == merge


def test_an_approved_change_moves_the_mlflow_alias_and_tags_the_version_with_its_approval(
    act, standin, mlflow_server, tmp_path
):
    world, repo = mlflow_world(standin, mlflow_server, tmp_path)
    alias, tags = served(mlflow_server)
    assert alias == "1" and tags["1"]["foureyes.staging.deployment"] == "churn-predictor"
    base, merge = merge_approved_change(repo, world, change=to_version("2"))

    result = run_deploy(
        act,
        standin,
        repo,
        push_event("refs/heads/main", base, merge),
        trusted=base,
        runner_env=RUNNER_ENV,
    )

    assert result.returncode == 0, result.output[-6000:]
    assert not standin.failures, standin.failures
    assert_serves_the_approved_v2(mlflow_server, world, merge)


def test_a_version_the_registry_lacks_fails_the_plan_job_before_anything_moves(
    act, standin, mlflow_server, tmp_path
):
    """PR #7, approved, names churn-logreg v3, which the registry does not hold: the plan job's
    dry run asks the target, which refuses it; no deploy job runs, the registry is as it was."""
    world, repo = mlflow_world(standin, mlflow_server, tmp_path)
    before = served(mlflow_server)
    base, merge = merge_approved_change(repo, world, change=to_version("3"))

    result = run_deploy(
        act,
        standin,
        repo,
        push_event("refs/heads/main", base, merge),
        trusted=base,
        runner_env=RUNNER_ENV,
    )

    assert result.returncode != 0
    assert result.step_failed(PLAN_STEP), result.output[-6000:]
    assert f"{MODEL} has no version 3" in result.output
    assert "[foureyes deploy/deploy" not in result.output  # the matrix job never started
    assert "[foureyes deploy/converge and record]" not in result.output
    assert served(mlflow_server) == before
    assert not [d for d, _ in world.recorded("staging", TASK) if d["sha"] == merge]
    assert merge not in [s["sha"] for s, _ in world.recorded("staging", SYNC_TASK)]


def stop_when_applying(world: World, server, sha: str) -> None:
    """The registry goes away mid-deploy, once: when a deploy job first marks churn-predictor in
    progress at ``sha`` (the record's begin, just before the target applies), the stand-in stops
    the server before it answers, so the failure lands after the plan job checked the change."""
    key = ("POST", "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses")
    route = world.s.routes[key]

    def answer(call, **params):
        deployment = world.deployments[int(params["deployment_id"]) - 1]
        if (call.body or {}).get("state") == "in_progress" and (
            deployment["task"],
            deployment["sha"],
        ) == (TASK, sha):
            world.s.routes[key] = route  # from here on the stand-in answers as before
            server.stop()
        return route(call, **params)

    world.s.routes[key] = answer


def test_a_registry_down_mid_deploy_leaves_the_record_resumable_and_the_next_run_converges(
    act, standin, mlflow_server, tmp_path
):
    world, repo = mlflow_world(standin, mlflow_server, tmp_path)
    base, merge = merge_approved_change(repo, world, change=to_version("2"))
    payload = push_event("refs/heads/main", base, merge)
    stop_when_applying(world, mlflow_server, merge)

    failed = run_deploy(act, standin, repo, payload, trusted=base, runner_env=RUNNER_ENV)

    assert failed.returncode != 0
    assert failed.step_succeeded(PLAN_STEP), failed.output[-6000:]  # checked while it was up
    assert failed.step_failed("Deploy")
    attempts = [states for d, states in world.recorded("staging", TASK) if d["sha"] == merge]
    assert attempts and all(states[-1] == "failure" for states in attempts), attempts
    assert merge not in [s["sha"] for s, _ in world.recorded("staging", SYNC_TASK)]

    mlflow_server.start()  # the registry is back: same port, same database
    assert served(mlflow_server)[0] == "1"  # nothing moved while it was away
    converged = run_deploy(act, standin, repo, payload, trusted=base, runner_env=RUNNER_ENV)

    assert converged.returncode == 0, converged.output[-6000:]
    assert not standin.failures, standin.failures
    assert_serves_the_approved_v2(mlflow_server, world, merge)
