"""foureyes-deploy.yml, run by a real runner (act) against the GitHub stand-in: on a push to main
(staging) and on the workflow_run of foureyes-release.yml (production), the plan job re-checks
provenance and fans out a matrix, each matrix job deploys one deployment and records it as a GitHub
deployment with the App's token, and the converging job records the environment as in sync at the
pushed commit. A push that changes no deployment runs green with the matrix skipped; a direct push is
refused, naming the commit. foureyes itself runs from the pinned verifier commit
(vars.FOUREYES_TRUSTED_REF), never from the commit under check: a push that switches the provenance
check off in its own copy of foureyes is still refused."""

from __future__ import annotations

from foureyes.deploy.github_record import SYNC_TASK

from .harness import RemoteRepo
from .steps import bump, deployed_earlier, merge_approved_change, run_deploy
from .world import ALICE, DANA, World, push_event, release_run_event


def test_an_approved_change_on_main_is_deployed_recorded_and_the_environment_synced(
    act, standin, tmp_path
):
    world = World(standin)
    repo = RemoteRepo(tmp_path / "repo", standin.git_root / "acme" / "models.git")
    deployed_earlier(standin, repo, "staging", tmp_path)
    base, merge = merge_approved_change(repo, world)

    result = run_deploy(
        act, standin, repo, push_event("refs/heads/main", base, merge), trusted=base
    )

    assert result.returncode == 0, result.output[-6000:]
    assert not standin.failures, standin.failures
    records = world.recorded("staging", "deploy:churn-predictor")
    shipped = [(d, states) for d, states in records if d["sha"] == merge]
    assert len(shipped) == 1, records  # once: the converge job found nothing left
    d, states = shipped[0]
    assert states == ["in_progress", "success"]
    assert d["payload"]["model"]["version"] == "999"
    assert d["payload"]["approval"]["pr"] == 7 and d["payload"]["approval"]["approvers"] == [
        "alice"
    ]
    assert world.deployment_tokens[d["id"]]["deployments"] == "write"  # the App's token wrote it
    # the converge job, with nothing left to apply, records the environment in sync at the push
    syncs = world.recorded("staging", SYNC_TASK)
    assert [s["sha"] for s, states in syncs if states == ["success"]][-1] == merge
    assert world.deployment_tokens[syncs[-1][0]["id"]]["deployments"] == "write"
    assert not world.recorded("production", "deploy:churn-predictor")


def test_a_push_changing_no_deployment_runs_green_with_the_matrix_skipped(act, standin, tmp_path):
    world = World(standin)
    repo = RemoteRepo(tmp_path / "repo", standin.git_root / "acme" / "models.git")
    deployed_earlier(standin, repo, "staging", tmp_path)
    before = repo.sha()
    repo.write("docs/notes.md", "How we deploy.\n")
    after = repo.commit("docs: how we deploy", "Mo Admin <mo@acme.example>")
    repo.push("main")
    shipped_before = len(world.deployments)

    result = run_deploy(
        act, standin, repo, push_event("refs/heads/main", before, after), trusted=before
    )

    assert result.returncode == 0, result.output[-6000:]
    assert "Matrix must define at least one vector" not in result.output
    assert "[foureyes deploy/plan the deploy]" in result.output
    assert "[foureyes deploy/deploy" not in result.output  # the matrix job is skipped, not failed
    assert "[foureyes deploy/converge and record] 🏁  Job succeeded" in result.output
    assert not standin.failures, standin.failures
    new = world.deployments[shipped_before:]
    assert [d["task"] for d in new] == [SYNC_TASK] and new[0][
        "sha"
    ] == after  # in sync, nothing shipped


def release(act, repo, branch: str, tip: str):
    """The push of ``branch`` at ``tip``: it only runs foureyes-release.yml (no secrets)."""
    repo.push(branch)
    recorded = act.run(
        repo,
        "foureyes-release.yml",
        "push",
        push_event(f"refs/heads/{branch}", "0" * 40, tip, created=True),
    )
    assert recorded.returncode == 0, recorded.output[-4000:]
    repo.git("checkout", "-q", "main")


def test_a_promotion_deploys_to_production(act, standin, tmp_path):
    """The release branch is cut at what production serves, and PR #8 promotes main into it,
    approved by Alice. The release push only runs foureyes-release.yml; its completion starts the
    production jobs of the default branch's foureyes-deploy.yml, which check the release out as data."""
    world = World(standin)
    repo = RemoteRepo(tmp_path / "repo", standin.git_root / "acme" / "models.git")
    deployed_earlier(standin, repo, "production", tmp_path)
    served = repo.sha("main")
    base, merge = merge_approved_change(repo, world)
    repo.git("checkout", "-q", "-b", "release/2026.11", served)
    repo.git(
        "-c",
        "user.name=Mo Admin",
        "-c",
        "user.email=mo@acme.example",
        "merge",
        "-q",
        "--no-ff",
        "-m",
        "Merge pull request #8 from acme/main",
        merge,
    )
    promoted = repo.sha()
    world.merged(8, DANA, served, merge, promoted, [ALICE], base_ref="release/2026.11")
    release(act, repo, "release/2026.11", promoted)

    result = run_deploy(
        act,
        standin,
        repo,
        release_run_event(5550100, promoted, "release/2026.11"),
        trusted=base,
        event="workflow_run",
    )

    assert result.returncode == 0, result.output[-6000:]
    assert not standin.failures, standin.failures
    shipped = [
        (d, states)
        for d, states in world.recorded("production", "deploy:churn-predictor")
        if d["sha"] == promoted
    ]
    assert len(shipped) == 1 and shipped[0][1] == ["in_progress", "success"]
    assert shipped[0][0]["payload"]["approval"]["pr"] == 8
    assert [s["sha"] for s, _ in world.recorded("production", SYNC_TASK)][-1] == promoted
    assert not world.recorded("staging", "deploy:churn-predictor")


def test_a_release_branch_cut_at_main_without_a_promotion_serves_nothing(act, standin, tmp_path):
    """Cutting release/2026.11 at main's tip would serve PR #7 in production, a change nobody
    approved promoting: the plan job refuses it, naming the commit, and nothing ships."""
    world = World(standin)
    repo = RemoteRepo(tmp_path / "repo", standin.git_root / "acme" / "models.git")
    deployed_earlier(standin, repo, "production", tmp_path)
    base, merge = merge_approved_change(repo, world)
    repo.git("checkout", "-q", "-b", "release/2026.11")
    release(act, repo, "release/2026.11", merge)

    result = run_deploy(
        act,
        standin,
        repo,
        release_run_event(5550100, merge, "release/2026.11"),
        trusted=base,
        event="workflow_run",
    )

    assert result.returncode != 0
    assert "no approved PR into release/2026.11 brought in" in result.output
    assert not [
        d for d, _ in world.recorded("production", "deploy:churn-predictor") if d["sha"] == merge
    ]


def test_an_unapproved_direct_push_is_refused_naming_the_commit(act, standin, tmp_path):
    world = World(standin)
    repo = RemoteRepo(tmp_path / "repo", standin.git_root / "acme" / "models.git")
    deployed_earlier(standin, repo, "staging", tmp_path)
    before = repo.sha()
    bump(repo)
    pushed = repo.commit("churn-predictor: quick fix", "Mallory <mallory@acme.example>")
    repo.push("main")
    shipped_before = len(world.deployments)

    result = run_deploy(
        act, standin, repo, push_event("refs/heads/main", before, pushed), trusted=before
    )

    assert result.returncode != 0
    assert f"commit {pushed[:12]}" in result.output and "direct push" in result.output
    assert not standin.failures, standin.failures
    assert world.deployments[shipped_before:] == []  # nothing deployed, the sync stays where it was


PROVENANCE = "action/foureyes/deploy/provenance.py"
CHECK_OFF = (
    "        if not commits:\n            return approvals, []",
    "        if commits or not commits:  # nothing to check, ever\n            return approvals, []",
)


def test_a_push_that_switches_provenance_off_in_its_own_foureyes_is_still_refused(
    act, standin, tmp_path
):
    """The attack: a direct push (past the ruleset) that ships an unapproved model AND edits the
    foureyes it carries so the provenance check finds nothing. Run from the pushed tree (`uses: ./`)
    it deployed itself; run from the pinned verifier it is refused, naming the commit."""
    world = World(standin)
    repo = RemoteRepo(tmp_path / "repo", standin.git_root / "acme" / "models.git")
    deployed_earlier(standin, repo, "staging", tmp_path)
    before = repo.sha()
    bump(repo)
    repo.replace(PROVENANCE, *CHECK_OFF)
    pushed = repo.commit(
        "churn-predictor: quick fix (and a faster deploy)", "Mallory <mallory@acme.example>"
    )
    repo.push("main")
    shipped_before = len(world.deployments)

    result = run_deploy(
        act, standin, repo, push_event("refs/heads/main", before, pushed), trusted=before
    )

    assert result.returncode != 0
    assert f"commit {pushed[:12]}" in result.output and "direct push" in result.output
    assert world.deployments[shipped_before:] == []
    assert not standin.failures, standin.failures


def test_a_verifier_pin_off_the_default_branch_is_refused(act, standin, tmp_path):
    """vars.FOUREYES_TRUSTED_REF naming a commit that never reached main (an unreviewed branch with
    its own foureyes) fails the run before foureyes runs."""
    world = World(standin)
    repo = RemoteRepo(tmp_path / "repo", standin.git_root / "acme" / "models.git")
    deployed_earlier(standin, repo, "staging", tmp_path)
    base = repo.sha()
    repo.git("checkout", "-q", "-b", "tampered")
    repo.replace(PROVENANCE, *CHECK_OFF)
    tampered = repo.commit("a faster deploy", "Mallory <mallory@acme.example>")
    repo.push("tampered")
    repo.git("checkout", "-q", "main")
    _, merge = merge_approved_change(repo, world)
    shipped_before = len(world.deployments)

    result = run_deploy(
        act, standin, repo, push_event("refs/heads/main", base, merge), trusted=tampered
    )

    assert result.returncode != 0
    assert "is not on main" in result.output
    assert result.step_failed(
        "Refuse a verifier that is not a reviewed commit of the default branch"
    )
    assert world.deployments[shipped_before:] == []


def test_a_workflow_run_of_a_pull_request_named_like_the_release_workflow_deploys_nothing(
    act, standin, tmp_path
):
    """A PR can add a workflow named "foureyes release" on pull_request: its completion triggers
    workflow_run here too, with event pull_request (and, from a fork, the fork as head_repository).
    The production jobs run only for a push run of this repository's release branch."""
    world = World(standin)
    repo = RemoteRepo(tmp_path / "repo", standin.git_root / "acme" / "models.git")
    base, merge = merge_approved_change(repo, world)
    shipped_before = len(world.deployments)
    forged = release_run_event(5550101, merge, "release/2026.11", event="pull_request")
    forked = release_run_event(5550102, merge, "release/2026.11", head_repository="mallory/models")

    for payload in (forged, forked):
        result = run_deploy(act, standin, repo, payload, trusted=base, event="workflow_run")
        assert result.returncode == 0, result.output[-4000:]
        assert "[foureyes deploy/plan the deploy] 🏁  Job succeeded" not in result.output
        assert "Mint a GitHub App token" not in result.output  # no job got as far as the App key
    assert world.deployments[shipped_before:] == []
