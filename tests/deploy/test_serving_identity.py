"""A serving identity (an MLflow registered model's alias, an InferenceService, a file) belongs to
exactly one deployment per environment.

The attack: a new low-importance deployment (one approval) names the critical deployment's MLflow
registered model, and its deploy moves `fraud-xgb@staging` from the approved version to its own.
"""

import json

import pytest

from support.ledger import merge_pr, run
from support.local_gate import gate
from support.pr_facts import approvals
from support.repos import DEP, use_target

FRAUD, RECS = DEP.format("fraud-scorer"), DEP.format("product-recs")
SNEAKY = DEP.format("sneaky")

SNEAKY_TEXT = """\
name: sneaky
owner: "@eve"
importance: low
model:
  name: fraud-xgb
  version: "2"
  uri: models:/fraud-xgb/2
environments: [staging]
"""


def validate(cli):
    result = cli("validate", "--format", "json")
    return result.exit_code, json.loads(result.output)["problems"]


def identity_problems(problems):
    return [p for p in problems if p["title"] == "serving identity"]


# --- validate -------------------------------------------------------------------------------------


def test_a_second_deployment_on_one_mlflow_model_is_refused_naming_both_files(repo, cli):
    use_target(repo, "staging", "{type: mlflow, tracking_uri: sqlite:///mlflow.db}")
    assert validate(cli)[0] == 0  # honest: fraud-scorer alone on fraud-xgb@staging
    repo.write(SNEAKY, SNEAKY_TEXT)
    code, problems = validate(cli)
    assert code == 1
    found = identity_problems(problems)
    assert {p["file"] for p in found} == {FRAUD, SNEAKY}
    sneaky = next(p for p in found if p["file"] == SNEAKY)
    assert sneaky["line"] == 5  # model.name
    assert f"{FRAUD}:7" in sneaky["message"] and "fraud-xgb@staging" in sneaky["message"]
    assert "model name" in sneaky["message"]  # the hint


def test_validating_only_the_new_file_still_sees_the_existing_claimant(repo, cli):
    use_target(repo, "staging", "{type: mlflow, registry_uri: https://mlflow.acme.example}")
    repo.write(SNEAKY, SNEAKY_TEXT)
    result = cli("validate", "--format", "json", SNEAKY)
    problems = identity_problems(json.loads(result.output)["problems"])
    assert result.exit_code == 1 and [p["file"] for p in problems] == [SNEAKY]
    assert FRAUD in problems[0]["message"]


def test_model_names_are_compared_case_folded(repo, cli):
    use_target(repo, "staging", "{type: mlflow, registry_uri: https://mlflow.acme.example}")
    repo.write(SNEAKY, SNEAKY_TEXT.replace("name: fraud-xgb", "name: Fraud-XGB"))
    assert identity_problems(validate(cli)[1])


def test_one_model_with_an_alias_per_environment_is_honest(repo, cli):
    """fraud-scorer serves fraud-xgb@staging and fraud-xgb@production: two identities, one owner."""
    use_target(repo, "staging", "{type: mlflow, registry_uri: https://mlflow.acme.example}")
    use_target(repo, "production", "{type: mlflow, registry_uri: https://mlflow.acme.example}")
    assert validate(cli)[0] == 0
    repo.write(SNEAKY, SNEAKY_TEXT.replace("[staging]", "[production]"))
    code, problems = validate(cli)
    assert code == 1 and "fraud-xgb@production" in identity_problems(problems)[0]["message"]


def test_two_environments_moving_one_alias_are_refused(repo, cli):
    """staging configured with `alias: production`: a staging deploy would move production."""
    use_target(
        repo,
        "staging",
        "{type: mlflow, registry_uri: https://mlflow.acme.example, alias: production}",
    )
    use_target(repo, "production", "{type: mlflow, registry_uri: https://mlflow.acme.example}")
    code, problems = validate(cli)
    assert code == 1
    messages = [p["message"] for p in identity_problems(problems) if p["file"] == FRAUD]
    assert messages and "fraud-xgb@production" in messages[0] and "'production'" in messages[0]


def test_two_environments_writing_one_folder_are_refused(repo, cli):
    use_target(repo, "production", "{type: local, path: .foureyes/serving/staging}")
    code, problems = validate(cli)
    assert code == 1
    [fraud] = [
        p
        for p in identity_problems(problems)
        if p["file"] == FRAUD and "in environment 'staging'" in p["message"]
    ]
    assert "the file .foureyes/serving/staging/fraud-scorer.json" in fraud["message"]
    assert (
        "registry/environments.yaml" in fraud["message"]
    )  # the hint: the environments share a target


def test_two_environments_on_one_inference_service_are_refused(repo, cli):
    use_target(repo, "staging", "{type: kubernetes, context: prod-cluster, namespace: ml}")
    use_target(repo, "production", "{type: kubernetes, context: prod-cluster, namespace: ml}")
    code, problems = validate(cli)
    assert code == 1
    assert any(
        "InferenceService ml/fraud-scorer" in p["message"]
        for p in identity_problems(problems)
        if p["file"] == FRAUD
    )
    use_target(repo, "staging", "{type: kubernetes, context: prod-cluster, namespace: ml-staging}")
    assert validate(cli)[0] == 0


def test_the_command_target_exposes_no_identity(repo, cli):
    use_target(repo, "staging", "{type: command, command: [policies/hooks/deploy.sh]}")
    repo.write(SNEAKY, SNEAKY_TEXT)
    assert validate(cli)[0] == 0


# --- the gate -------------------------------------------------------------------------------------


def test_a_low_deployment_renamed_onto_the_critical_ones_model_is_blocked_by_the_gate(repo, cli):
    """product-recs (low, one approval) changes its model to fraud-xgb: judged at low it would pass
    with one approval and then move the critical deployment's alias."""
    use_target(repo, "staging", "{type: mlflow, registry_uri: https://mlflow.acme.example}")
    repo.commit("staging on MLflow", "Mo Admin <mo@acme.example>")
    repo.branch("pr")
    text = repo.read(RECS)
    model = text[text.index("model:") : text.index("environments:")]
    repo.write(
        RECS,
        text.replace(
            model, 'model:\n  name: fraud-xgb\n  version: "2"\n  uri: models:/fraud-xgb/2\n'
        ),
    )
    repo.commit("product-recs on the fraud model")
    code, data, out = gate(cli, repo, approvals("alice"))
    assert code == 1 and data["decision"] == "blocked", out
    details = [b["detail"] for b in data["blocking"] if b["reason"] == "invalid_file"]
    assert details and RECS in details[0] and FRAUD in details[0]


def test_a_new_model_version_does_not_read_the_registry_and_passes(repo, cli, monkeypatch):
    from foureyes.judging import plan

    use_target(repo, "staging", "{type: mlflow, registry_uri: https://mlflow.acme.example}")
    repo.commit("staging on MLflow", "Mo Admin <mo@acme.example>")
    repo.branch("pr")
    repo.replace(RECS, "2026.11.3", "2026.11.4")
    repo.commit("product-recs 2026.11.4")
    read = []
    monkeypatch.setattr(
        plan, "parse_deployment", lambda *a, **k: read.append(a[1]) or _parse(*a, **k)
    )
    code, data, out = gate(cli, repo, approvals("alice"))
    assert code == 0 and data["decision"] == "approved", out
    assert set(read) <= {RECS}  # only the changed file, at its two sides


def _parse(*args, **kwargs):
    from foureyes.registry.model import parse_deployment

    return parse_deployment(*args, **kwargs)


# --- the deploy -----------------------------------------------------------------------------------


@pytest.fixture
def mlflow_registry(tmp_path):
    pytest.importorskip("mlflow", reason="the mlflow extra is not installed")
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    client.create_registered_model("fraud-xgb")
    for v in range(1, 14):
        client.create_model_version("fraud-xgb", source=f"s3://acme-models-prod/fraud-xgb/{v}")
    return uri, client


def test_the_deploy_refuses_a_shared_identity_and_leaves_the_alias_where_it_was(
    repo, mlflow_registry
):
    uri, client = mlflow_registry
    repo.write(".gitignore", ".foureyes/\n")
    repo.commit("ignore local state", "Mo Admin <mo@acme.example>")

    def staging_on_mlflow(r):
        use_target(r, "staging", f"{{type: mlflow, tracking_uri: '{uri}'}}")
        for name in (
            "product-recs",
            "churn-predictor",
            "credit-limit",
        ):  # fraud-scorer alone, for the test
            r.rm(DEP.format(name))

    merge_pr(repo, 1, staging_on_mlflow)
    first = run(repo)
    assert first.ok, (first.problems, first.violations, [s.message for s in first.steps])
    assert str(client.get_model_version_by_alias("fraud-xgb", "staging").version) == "12"

    # the sneaky deployment, merged with the one approval its level asks for
    merge_pr(
        repo,
        2,
        lambda r: r.write(SNEAKY, SNEAKY_TEXT),
        reviews=[{"user": "alice", "state": "APPROVED", "commit": "head"}],
    )
    result = run(repo)
    assert not result.ok and result.steps == []
    assert any(p.file == SNEAKY and FRAUD in p.message for p in result.problems)
    assert str(client.get_model_version_by_alias("fraud-xgb", "staging").version) == "12"
