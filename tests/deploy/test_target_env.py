"""What a target needs where it runs: its extra installed, and its credentials named in
registry/environments.yaml (`target.env`) under the names the target reads. `validate` and the
deploy
refuse a target that cannot load, and a credential mapped where it would steer the job instead."""

import json
import sys

import pytest
import yaml

from support.cli_steps import ENVS, line_of, problems_of
from support.repos import DEP, MO_MERGES, use_target

HOOK = "policies/hooks/deploy.sh"  # a command target's program lives in a governed folder
MLFLOW = (
    "{type: mlflow, registry_uri: 'sqlite:///mlflow.db', env: {MLFLOW_TRACKING_TOKEN: "
    "{secret: MLFLOW_TOKEN}}}"
)


@pytest.fixture
def without_mlflow(monkeypatch):
    """The mlflow extra not installed: `import mlflow` fails as it does in a bare install."""
    monkeypatch.setitem(sys.modules, "mlflow", None)


# --- the extra ------------------------------------------------------------------------------------


def test_validate_refuses_a_target_whose_extra_is_missing(repo, cli, without_mlflow):
    """Before: validate said ok and the deploy ended in `ModuleNotFoundError: No module named 'mlflow'`."""
    use_target(repo, "staging", MLFLOW)
    code, problems = problems_of(cli)
    assert code == 1 and len(problems) == 1
    assert problems[0]["line"] == line_of(repo, "type: mlflow")
    assert "needs the `mlflow` extra" in problems[0]["message"]
    assert (
        "foureyes[mlflow]" in problems[0]["message"] and "extras: mlflow" in problems[0]["message"]
    )


def test_validate_passes_the_same_target_with_its_extra(repo, cli):
    pytest.importorskip("mlflow", reason="the mlflow extra is not installed")
    use_target(repo, "staging", MLFLOW)
    assert problems_of(cli) == (0, [])


def test_deploy_without_the_extra_is_a_configuration_error_before_anything_moves(
    repo, cli, without_mlflow
):
    use_target(repo, "staging", MLFLOW)
    repo.write(".gitignore", ".foureyes/\n")
    repo.commit("staging deploys to MLflow", "Mo Admin <mo@acme.example>")
    result = cli("deploy", "--env", "staging", "--dry-run")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "needs the `mlflow` extra" in result.output
    assert cli("deploy", "--env", "staging").exit_code == 2
    assert (
        cli("resolve", "fraud-scorer", "--env", "staging").exit_code != 0
    )  # nothing recorded as served


def test_deploy_with_the_extra_moves_the_alias_in_the_registry(repo, cli):
    """The honest run of the same set-up: a SQL-backed MLflow registry the test creates."""
    mlflow = pytest.importorskip("mlflow", reason="the mlflow extra is not installed")
    uri = f"sqlite:///{repo.root / '.foureyes' / 'mlflow.db'}"
    (repo.root / ".foureyes").mkdir()
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    # each version's source as the example registry's `uri` names it (the target checks they agree)
    sources = {"credit-limit-lgbm": "s3://acme-models-prod/credit-limit/7/model.tar.gz"}
    for name, version in (("fraud-xgb", 12), ("churn-logreg", 31), ("credit-limit-lgbm", 7)):
        client.create_registered_model(name)
        for _ in range(version):
            client.create_model_version(name, source=sources.get(name, f"s3://models/{name}"))
    repo.write(".gitignore", ".foureyes/\n")
    use_target(repo, "staging", f"{{type: mlflow, registry_uri: '{uri}', tracking_uri: '{uri}'}}")
    repo.rm(DEP.format("product-recs"))  # a version MLflow cannot number (2026.11.3)
    # the registry as first committed (a later direct push would be refused by provenance)
    repo.git("add", "-A")
    repo.git(
        *MO_MERGES,
        "commit",
        "-q",
        "--amend",
        "--no-edit",
    )
    result = cli("deploy", "--env", "staging")
    assert result.exit_code == 0, result.output
    assert str(client.get_model_version_by_alias("fraud-xgb", "staging").version) == "12"


# --- credentials
# ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "LD_PRELOAD",
        "PYTHONPATH",
        "PATH",
        "GITHUB_TOKEN",
        "BASH_ENV",
        "INPUT_TOKEN",
        "HTTPS_PROXY",
        "REQUESTS_CA_BUNDLE",
        "GIT_SSH_COMMAND",
        "FOUREYES_APP_SLUG",
    ],
)
def test_a_credential_cannot_steer_the_deploy_job(repo, cli, name):
    """A secret wired under a name the runner, the shell or Python act on would run the deploy job
    (which
    holds the App token) differently: refused even for the command target, which may read any
    name."""
    use_target(
        repo,
        "staging",
        f"{{type: command, command: [{HOOK}], env: {{{name}: {{secret: DEPLOY_KEY}}}}}}",
    )
    code, problems = problems_of(cli)
    assert code == 1 and len(problems) == 1
    assert (
        problems[0]["line"] == line_of(repo, name)
        and f"{name} is reserved" in problems[0]["message"]
    )


def test_the_deploy_refuses_a_reserved_credential_too(repo, cli):
    use_target(repo, "staging", "{type: local, path: out, env: {LD_PRELOAD: {secret: X}}}")
    repo.write(".gitignore", ".foureyes/\n")
    repo.commit("wire a credential", "Mo Admin <mo@acme.example>")
    result = cli("deploy", "--env", "staging", "--dry-run")
    assert result.exit_code == 2 and "LD_PRELOAD is reserved" in result.output
    assert not (repo.root / "out").exists()


@pytest.mark.parametrize(
    "target, name, fragment",
    [
        (
            "{type: mlflow, registry_uri: https://mlflow.acme.example, "
            "env: {AWS_SECRET_ACCESS_KEY: {secret: AWS_KEY}}}",
            "AWS_SECRET_ACCESS_KEY",
            "reads only MLFLOW_*, DATABRICKS_*, not AWS_SECRET_ACCESS_KEY",
        ),
        (
            "{type: local, path: out, env: {DEPLOY_TOKEN: {secret: T}}}",
            "DEPLOY_TOKEN",
            "reads no environment variables",
        ),
    ],
)
def test_a_credential_goes_only_where_the_target_reads(repo, cli, target, name, fragment):
    pytest.importorskip("mlflow", reason="the mlflow extra is not installed")
    use_target(repo, "staging", target)
    code, problems = problems_of(cli)
    assert code == 1 and len(problems) == 1
    assert problems[0]["line"] == line_of(repo, name) and fragment in problems[0]["message"]


def test_names_the_targets_read_are_accepted(repo, cli):
    pytest.importorskip("mlflow", reason="the mlflow extra is not installed")
    use_target(
        repo,
        "staging",
        f"{{type: command, command: [{HOOK}], env: {{DEPLOY_TOKEN: {{secret: DEPLOY_TOKEN}}}}}}",
    )
    use_target(
        repo,
        "production",
        "{type: mlflow, env: {MLFLOW_TRACKING_URI: {secret: MLFLOW_URI}, "
        "DATABRICKS_TOKEN: {secret: DATABRICKS_TOKEN}}}",
    )
    assert problems_of(cli) == (0, [])


@pytest.mark.parametrize(
    "env, fragment",
    [
        ("{MLFLOW_TRACKING_TOKEN: {}}", "'secret' is a required property"),
        ("{MLFLOW_TRACKING_TOKEN: {secret: GITHUB_TOKEN}}", "GITHUB_TOKEN"),
        ("{MLFLOW_TRACKING_TOKEN: {secret: 'MY TOKEN'}}", "MY TOKEN"),
        ("{mlflow_tracking_token: {secret: T}}", "mlflow_tracking_token"),
        ("{MLFLOW_TRACKING_TOKEN: {secret: T, value: hunter2}}", "value"),
    ],
)
def test_incomplete_or_malformed_credentials_fail_the_schema(repo, cli, env, fragment):
    """A credential names exactly one GitHub secret (never a value in the file, never GitHub's own token)."""
    use_target(repo, "staging", f"{{type: mlflow, env: {env}}}")
    code, problems = problems_of(cli)
    assert code == 1 and problems and fragment in problems[0]["message"]
    assert problems[0]["line"] == line_of(repo, "type: mlflow")


def test_incomplete_target_settings_fail_with_their_line(repo, cli):
    use_target(repo, "staging", "{type: local, env: {}}")
    code, problems = problems_of(cli)
    assert code == 1 and "'path' is a required property" in problems[0]["message"]


# --- the workflow wiring init writes and validate checks ------------------------------------------

WIRED_ENVS = """\
environments:
  - name: staging
    branch: main
    target:
      type: mlflow
      registry_uri: https://mlflow.acme.example
      env:
        MLFLOW_TRACKING_TOKEN: {secret: MLFLOW_TOKEN}
        MLFLOW_TRACKING_USERNAME: {secret: MLFLOW_STAGING_USER}
  - name: production
    branch: release/*
    target:
      type: mlflow
      registry_uri: https://mlflow.acme.example
      env:
        MLFLOW_TRACKING_TOKEN: {secret: MLFLOW_TOKEN}
        MLFLOW_TRACKING_USERNAME: {secret: MLFLOW_PROD_USER}
"""
SHA = "0123456789abcdef0123456789abcdef01234567"
DEPLOY_WF, VALIDATE_WF = (
    ".github/workflows/foureyes-deploy.yml",
    ".github/workflows/foureyes-validate.yml",
)


def action_steps(repo, workflow, command):
    doc = yaml.safe_load(repo.read(workflow))
    return [
        s
        for job in doc["jobs"].values()
        for s in job["steps"]
        if (s.get("with") or {}).get("command") == command
    ]


@pytest.fixture
def wired(tmp_path, cli, monkeypatch):
    """A repository whose own environments.yaml (kept by init) deploys to MLflow with credentials."""
    from support.repos import Repo

    r = Repo(tmp_path / "wired")
    r.write(ENVS, WIRED_ENVS)
    monkeypatch.chdir(r.root)
    result = cli("init", "--action-ref", SHA)
    assert result.exit_code == 0, result.output
    return r


def test_init_wires_the_extras_and_each_credential_from_its_secret(wired):
    deploys = action_steps(wired, DEPLOY_WF, "deploy")
    assert len(deploys) == 3  # plan (dry run), the matrix jobs, converge: each loads the target
    for step in deploys:
        assert step["with"]["extras"] == "mlflow"
        assert step["env"]["MLFLOW_TRACKING_TOKEN"] == "${{ secrets.MLFLOW_TOKEN }}"
        # a name that differs per environment: each job takes its own, and nothing else when unset
        assert step["env"]["MLFLOW_TRACKING_USERNAME"] == (
            "${{ github.event_name == 'workflow_run' && secrets.MLFLOW_PROD_USER || "
            "github.event_name != 'workflow_run' && secrets.MLFLOW_STAGING_USER || '' }}"
        )
    assert [s["with"]["extras"] for s in action_steps(wired, VALIDATE_WF, "validate")] == ["mlflow"]
    assert "extras" not in action_steps(wired, VALIDATE_WF, "plan")[0]["with"]


def test_the_job_conditions_init_assumes_are_the_deploy_workflow_s(wired):
    """The credentials' conditions mirror how the deploy jobs pick their GitHub environment."""
    from foureyes.setup.wiring import JOB_ENVIRONMENTS

    doc = yaml.safe_load(wired.read(DEPLOY_WF))
    for name, job in doc["jobs"].items():
        suffix = "-approval" if name == "approve" else ""  # the job that only waits for reviewers
        assert job["environment"] == (
            f"${{{{ github.event_name == 'workflow_run' && 'production{suffix}' "
            f"|| 'staging{suffix}' }}}}"
        )
    assert JOB_ENVIRONMENTS == {
        "production": "github.event_name == 'workflow_run'",
        "staging": "github.event_name != 'workflow_run'",
    }


def test_validate_accepts_what_init_wrote(wired, cli):
    pytest.importorskip("mlflow", reason="the mlflow extra is not installed")
    result = cli("validate", "--format", "json")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    "edit, fragment",
    [
        # a credential added to environments.yaml after init: the deploy would run without it
        (
            lambda r: r.replace(
                ENVS,
                "{secret: MLFLOW_STAGING_USER}\n",
                "{secret: MLFLOW_STAGING_USER}\n        MLFLOW_TRACKING_PASSWORD: {secret: "
                "MLFLOW_PASSWORD}\n",
            ),
            "names the credential MLFLOW_TRACKING_PASSWORD",
        ),
        # production's job handed the staging user's secret
        (
            lambda r: r.write(
                DEPLOY_WF,
                r.read(DEPLOY_WF).replace(
                    "secrets.MLFLOW_PROD_USER", "secrets.MLFLOW_STAGING_USER"
                ),
            ),
            "names the credential MLFLOW_TRACKING_USERNAME",
        ),
        # the extra dropped from the validate step: validate in Actions could not load the target
        (
            lambda r: r.write(
                VALIDATE_WF, r.read(VALIDATE_WF).replace("          extras: mlflow\n", "")
            ),
            "lacks `extras: mlflow`",
        ),
        # a workflow foureyes cannot read cannot be shown to pass anything
        (lambda r: r.write(DEPLOY_WF, r.read(DEPLOY_WF) + "  broken: [\n"), "cannot check"),
    ],
)
def test_validate_refuses_workflows_that_do_not_pass_what_the_targets_need(
    wired, cli, edit, fragment
):
    pytest.importorskip("mlflow", reason="the mlflow extra is not installed")
    edit(wired)
    result = cli("validate", "--format", "json")
    assert result.exit_code == 1, result.output
    wiring = [p for p in json.loads(result.output)["problems"] if p["title"] == "target wiring"]
    assert (
        wiring and all(fragment in p["message"] for p in wiring) and all(p["line"] for p in wiring)
    )
    assert wiring[0]["file"] in (DEPLOY_WF, VALIDATE_WF)


def test_init_refuses_to_wire_a_reserved_credential(tmp_path, cli, monkeypatch):
    from support.repos import Repo

    r = Repo(tmp_path / "bad")
    r.write(
        ENVS,
        WIRED_ENVS.replace(
            "MLFLOW_TRACKING_USERNAME: {secret: MLFLOW_PROD_USER}", "LD_PRELOAD: {secret: X}"
        ),
    )
    monkeypatch.chdir(r.root)
    result = cli("init", "--action-ref", SHA)
    assert result.exit_code == 2 and "LD_PRELOAD is reserved" in result.output
    assert not (r.root / DEPLOY_WF).exists()


def test_the_bundled_workflows_stay_unwired(repo, cli):
    """foureyes' own registry deploys to folders: nothing to install, nothing to pass."""
    from foureyes.setup.init import scaffold

    files = scaffold("acme/foureyes", SHA)
    assert "extras:" not in files[DEPLOY_WF] and "extras:" not in files[VALIDATE_WF]
