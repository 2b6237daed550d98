"""The mlflow target must say which registry it moves aliases in, and that registry must outlive
the deploy.

The failure: `{type: mlflow}` with no URI passed validate, and the deploy's MLflow client fell back
to MLFLOW_TRACKING_URI from the runner or a store in the folder it ran in (./mlruns, ./mlflow.db):
a deploy that "succeeded" into a folder on the runner, which nothing serves from.
"""

import pytest

from support.cli_steps import ENVS, line_of, problems_of
from support.repos import use_target

SERVER = "https://mlflow.acme.example"


def test_a_target_naming_no_registry_is_refused_at_its_line(repo, cli):
    use_target(repo, "staging", "{type: mlflow, alias: staging}")
    code, problems = problems_of(cli)
    ours = [p for p in problems if "names no registry" in p["message"]]
    assert code == 1 and len(ours) == 1
    assert ours[0]["line"] == line_of(repo, "type: mlflow") and "registry_uri" in ours[0]["message"]


def test_the_deploy_refuses_it_before_any_client_falls_back_to_a_local_store(repo, cli):
    use_target(repo, "staging", "{type: mlflow}")
    repo.write(".gitignore", ".foureyes/\n")
    repo.commit("staging on mlflow", "Mo Admin <mo@acme.example>")
    result = cli("deploy", "--env", "staging", "--dry-run")
    assert result.exit_code == 2 and "registry_uri" in result.output
    assert not (repo.root / "mlruns").exists() and not (repo.root / "mlflow.db").exists()


@pytest.mark.parametrize(
    "target",
    [
        f"{{type: mlflow, registry_uri: {SERVER}}}",
        f"{{type: mlflow, tracking_uri: {SERVER}}}",
        "{type: mlflow, env: {MLFLOW_TRACKING_URI: {secret: MLFLOW_URI}}}",
        "{type: mlflow, env: {MLFLOW_REGISTRY_URI: {secret: MLFLOW_URI}}}",
        "{type: mlflow, registry_uri: databricks-uc}",
        "{type: mlflow, tracking_uri: 'sqlite:///mlflow.db'}",  # a workstation: its own folder
        "{type: mlflow, tracking_uri: 'sqlite:////srv/mlflow/registry.db'}",
    ],
)
def test_a_named_registry_is_accepted(repo, cli, target):
    pytest.importorskip("mlflow", reason="the mlflow extra is not installed")
    use_target(repo, "staging", target)
    assert problems_of(cli) == (0, [])


@pytest.mark.parametrize("uri", ["sqlite://", "sqlite:///:memory:"])
def test_an_in_memory_registry_is_refused_everywhere(repo, cli, uri):
    use_target(repo, "staging", f"{{type: mlflow, registry_uri: '{uri}'}}")
    code, problems = problems_of(cli)
    assert code == 1 and problems[-1]["line"] == line_of(repo, "registry_uri")
    assert "in-memory" in problems[-1]["message"]


@pytest.mark.parametrize("uri", ["sqlite:///mlflow.db", "mlruns", "./mlruns", "file:mlruns"])
def test_a_relative_store_is_refused_in_github_actions(repo, cli, monkeypatch, uri):
    """In Actions the checkout is wiped between jobs: every deploy would start from an empty
    registry. The same file on a workstation is accepted (above)."""
    use_target(repo, "staging", f"{{type: mlflow, tracking_uri: '{uri}'}}")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    code, problems = problems_of(cli)
    assert code == 1 and problems[-1]["line"] == line_of(repo, "tracking_uri")
    assert "`tracking_uri` is a path relative to the checkout" in problems[-1]["message"]


def test_an_absolute_store_is_accepted_in_github_actions(repo, cli, monkeypatch):
    """A self-hosted runner may keep it on a persistent disk; validate cannot tell the runner."""
    pytest.importorskip("mlflow", reason="the mlflow extra is not installed")
    use_target(repo, "staging", "{type: mlflow, tracking_uri: 'sqlite:////srv/mlflow.db'}")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert problems_of(cli) == (0, [])


def test_a_wired_variable_is_judged_at_the_deploy_without_quoting_the_secret(
    repo, cli, monkeypatch
):
    secret = "sqlite:///tok3n-in-a-path.db"
    use_target(repo, "staging", "{type: mlflow, env: {MLFLOW_TRACKING_URI: {secret: MLFLOW_URI}}}")
    repo.write(".gitignore", ".foureyes/\n")
    repo.commit("staging on mlflow", "Mo Admin <mo@acme.example>")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", secret)
    result = cli("deploy", "--env", "staging", "--dry-run")
    assert result.exit_code == 2 and "MLFLOW_TRACKING_URI is a path relative" in result.output
    assert secret not in result.output
    assert ENVS in result.output
