"""Bugs the type checker found (mypy on action/foureyes), each played where it bit."""

import pytest

from foureyes.deploy.targets import load_target

pytest.importorskip("mlflow", reason="the mlflow extra is not installed")


def test_a_registry_uri_with_credentials_and_no_host_is_named_without_them(tmp_path):
    # urlsplit gives no hostname for `user:password@` with an empty host: naming the registry in
    # an error message crashed (None + str) instead of saying where the model is missing
    target = load_target(
        {
            "type": "mlflow",
            "tracking_uri": f"sqlite:///{tmp_path / 'mlflow.db'}",
            "registry_uri": "http://alice:s3cret@/api",
        },
        tmp_path,
    )
    where = target._where()
    assert "s3cret" not in where
    assert "alice" not in where
    assert where.startswith("the registry http:")
