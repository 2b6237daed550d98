"""Under FOUREYES_E2E_REQUIRED=1 (.ci/run) a missing prerequisite fails the end-to-end suite: CI can
never pass having skipped every workflow run."""

import os
import subprocess
import sys

from .harness import ROOT


def run_validate_case(tmp_path, wheelhouse, **env):
    env = {
        **os.environ,
        "FOUREYES_E2E_WHEELHOUSE": str(wheelhouse),
        "FOUREYES_E2E_ACTIONS": str(tmp_path / "no-actions-here"),
        **env,
    }
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/e2e/test_validate.py",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )


def test_missing_actions_skip_locally_but_fail_when_required(tmp_path, wheelhouse):
    local = run_validate_case(tmp_path, wheelhouse, FOUREYES_E2E_REQUIRED="0")
    assert local.returncode == 0 and "1 skipped" in local.stdout, local.stdout[-2000:]
    required = run_validate_case(tmp_path, wheelhouse, FOUREYES_E2E_REQUIRED="1")
    assert required.returncode != 0, required.stdout[-2000:]
    assert "FOUREYES_E2E_REQUIRED=1 and pinned actions not found" in required.stdout
