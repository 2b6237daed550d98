"""The MLflow target against a real model registry backed by SQLite that the test creates."""

import json

import pytest

from foureyes.deploy.targets import Change, TargetError, load_target
from support.targets import APPROVAL, FRAUD, change

mlflow = pytest.importorskip("mlflow", reason="the mlflow extra is not installed")


@pytest.fixture
def registry(tmp_path):
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    for name in ("fraud-xgb", "fraud-lgbm"):
        client.create_registered_model(name)
        for v in range(1, 15):  # MLflow numbers versions itself: 1..14
            client.create_model_version(
                name, source=f"s3://acme-models-prod/fraud/{v}"
            )  # FRAUD's uri
    return uri, client


def test_mlflow_moves_the_environment_alias_and_tags_the_version(registry, tmp_path):
    uri, client = registry
    target = load_target({"type": "mlflow", "tracking_uri": uri}, tmp_path)
    assert target.apply(change(env="staging")) == "alias @staging -> fraud-xgb v13"
    assert str(client.get_model_version_by_alias("fraud-xgb", "staging").version) == "13"
    tags = client.get_model_version("fraud-xgb", "13").tags
    assert json.loads(tags["foureyes.staging.approval"])["approvers"] == ["alice", "bob"]
    assert tags["foureyes.staging.approvers"] == "alice,bob"

    newer = json.loads(json.dumps(FRAUD))
    newer["model"].update(version="14", uri="models:/fraud-xgb/14")
    target.apply(Change("replace_model", "staging", "fraud-scorer", newer, APPROVAL, FRAUD))
    assert str(client.get_model_version_by_alias("fraud-xgb", "staging").version) == "14"


def test_mlflow_model_rename_moves_the_alias_off_the_old_model(registry, tmp_path):
    uri, client = registry
    target = load_target({"type": "mlflow", "tracking_uri": uri}, tmp_path)
    target.apply(change(env="staging"))
    renamed = json.loads(json.dumps(FRAUD))
    renamed["model"]["name"] = "fraud-lgbm"
    target.apply(Change("replace_model", "staging", "fraud-scorer", renamed, APPROVAL, FRAUD))
    assert str(client.get_model_version_by_alias("fraud-lgbm", "staging").version) == "13"
    with pytest.raises(mlflow.exceptions.MlflowException):
        client.get_model_version_by_alias("fraud-xgb", "staging")


def test_mlflow_delete_removes_the_alias_and_a_missing_version_fails(registry, tmp_path):
    uri, _client = registry
    target = load_target({"type": "mlflow", "tracking_uri": uri, "alias": "prod"}, tmp_path)
    target.apply(change())
    assert target.apply(change("delete")) == "removed alias @prod from fraud-xgb"
    missing = json.loads(json.dumps(FRAUD))
    missing["model"]["version"] = "99"
    with pytest.raises(TargetError, match="mlflow"):
        target.apply(change(deployment=missing))
