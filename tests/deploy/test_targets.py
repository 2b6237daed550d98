"""Deploy targets: KServe manifests checked against the real InferenceService CRD schema, the MLflow
target against a real SQLite-backed model registry, plugin discovery through entry points."""

import json

import jsonschema
import pytest
import yaml

from foureyes.deploy.kubernetes import SCHEMA, KubernetesTarget, render
from foureyes.deploy.targets import TargetError, load_target
from support.targets import FRAUD, change


def strict(schema):
    """The CRD's structural schema, closed: an unknown field is an error (the API server would
    silently prune it, so a typo would deploy something else than what was approved)."""
    if isinstance(schema, list):
        return [strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: strict(v) for k, v in schema.items()}
    if "properties" in out and not out.get("x-kubernetes-preserve-unknown-fields"):
        out.setdefault("additionalProperties", False)
    return out


@pytest.fixture(scope="module")
def isvc_validator():
    schema = strict(json.loads(SCHEMA.read_text()))
    return jsonschema.Draft7Validator(schema)


def test_rendered_inferenceservice_is_valid_for_kserve(isvc_validator):
    manifest = render(change(), {"namespace": "ml-prod", "runtime": "kserve-mlserver"})
    errors = list(isvc_validator.iter_errors(manifest))
    assert not errors, errors[0].message
    meta = manifest["metadata"]
    assert meta["labels"]["foureyes.dev/approval"] == "approved"
    assert meta["annotations"]["foureyes.dev/approvers"] == "alice,bob"
    assert json.loads(meta["annotations"]["foureyes.dev/approval-record"])["pr"] == 42
    assert manifest["spec"]["predictor"]["model"]["storageUri"] == "s3://acme-models-prod/fraud/13"


def test_the_strict_schema_catches_a_typo(isvc_validator):
    manifest = render(change(), {})
    manifest["spec"]["predictor"]["model"]["storageURI"] = manifest["spec"]["predictor"][
        "model"
    ].pop("storageUri")
    assert list(isvc_validator.iter_errors(manifest))


def test_label_values_stay_valid_for_odd_versions(isvc_validator):
    odd = json.loads(json.dumps(FRAUD))
    odd["model"]["version"] = "2026.11.3+build/7 (rc)" + "x" * 80
    manifest = render(change(deployment=odd), {})
    assert not list(isvc_validator.iter_errors(manifest))
    value = manifest["metadata"]["labels"]["foureyes.dev/model-version"]
    assert len(value) <= 63 and value[0].isalnum() and value[-1].isalnum()


def test_gitops_mode_writes_and_removes_manifests(tmp_path):
    target = KubernetesTarget({"type": "kubernetes", "path": "manifests"}, tmp_path)
    assert target.apply(change()) == "wrote fraud-scorer.yaml"
    assert (
        yaml.safe_load((tmp_path / "manifests" / "fraud-scorer.yaml").read_text())["kind"]
        == "InferenceService"
    )
    assert target.apply(change("delete")) == "removed fraud-scorer.yaml"
    assert target.apply(change("delete")) == "fraud-scorer.yaml already absent"


def test_kubectl_mode_passes_the_manifest_on_stdin(tmp_path):
    fake = tmp_path / "kubectl"
    fake.write_text(
        '#!/bin/sh\necho "$@" > "$(dirname "$0")/args"\ncat > "$(dirname "$0")/stdin"\necho '
        "applied\n"
    )
    fake.chmod(0o755)
    target = KubernetesTarget(
        {"type": "kubernetes", "context": "prod", "kubectl": str(fake)}, tmp_path
    )
    assert target.apply(change()) == "applied"
    assert (tmp_path / "args").read_text().split() == ["--context", "prod", "apply", "-f", "-"]
    assert json.loads((tmp_path / "stdin").read_text())["metadata"]["name"] == "fraud-scorer"
    fake.write_text("#!/bin/sh\necho 'error: no context' >&2\nexit 1\n")
    with pytest.raises(TargetError, match="kubectl exited 1: error: no context"):
        target.apply(change())


def test_unknown_target_is_a_clear_error(tmp_path):
    with pytest.raises(
        TargetError,
        match=r"unknown deploy target type 'ftp'.*installed: command, kubernetes, local, mlflow",
    ):
        load_target({"type": "ftp"}, tmp_path)


def test_targets_are_found_through_entry_points(tmp_path):
    assert type(load_target({"type": "local", "path": "x"}, tmp_path)).__name__ == "LocalTarget"
