"""Adversarial review of the trust chain (helper V): each test plays one attack end to end.

A test marked xfail(strict=True) is a confirmed hole not fixed here: it fails on the code as it is
and will start passing (and so fail the suite, strict) once the hole is closed."""

import pytest
import yaml

from support.ledger import bump, merge_pr, record_pr, run, served
from support.pr_facts import TWO

POLICY = "policies/approval.yaml"


# --- 1. the policy that judges a PR at deploy time is itself never provenance-checked -------------


def test_a_directly_pushed_policy_cannot_approve_an_unreviewed_deploy(env_repo):
    assert run(env_repo).ok
    # an admin bypasses the ruleset once, for a commit that touches no deployment file
    env_repo.replace(
        POLICY,
        "require_approval_for: [create, replace_model, change_importance, delete, update]",
        "require_approval_for: []",
    )
    env_repo.commit("tidy the policy", "Eve Hurry <eve@acme.example>")
    pushed = env_repo.git("rev-parse", "HEAD")
    refused = run(
        env_repo
    )  # nothing to deploy, yet the environment is not recorded in sync past it
    assert not refused.ok and [v.commit for v in refused.violations] == [pushed]
    merge_pr(env_repo, 77, bump("66"), reviews=[])  # no review at all
    result = run(env_repo)
    assert not result.ok, "an unreviewed model change reached staging"
    assert served(env_repo)["fraud-scorer"]["deployment"]["model"]["version"] == "12"


# --- 2. a PR into a deploy branch: the gate and the deploy both judge it by that branch AND the
#        default branch (judgment.judging_commits) -------------------------------------------------


@pytest.fixture
def approved_by_an_old_release_policy(repo):
    """main requires two approvals for critical; release/old, cut before that, requires one; PR #91
    into release/old has one approval. Returns (repo, merge commit)."""
    # bootstrap: critical needs one approval; .foureyes/ ignored, all in the root of trust
    repo.replace(POLICY, "  critical:\n    approvals: 2", "  critical:\n    approvals: 1")
    repo.write(".gitignore", ".foureyes/\n")
    repo.git("add", "-A")
    repo.git("commit", "-q", "--amend", "--no-edit")
    old = repo.git("rev-parse", "HEAD")
    # an approved policy PR raises critical to two approvals on main
    merge_pr(
        repo,
        90,
        lambda r: r.replace(
            POLICY, "  critical:\n    approvals: 1", "  critical:\n    approvals: 2"
        ),
    )
    # anyone who may create branches cuts release/old from the old commit (no new commit: no PR
    # needed)
    repo.git("checkout", "-q", "-b", "release/old", old)
    repo.git("checkout", "-q", "-b", "pr-91")
    bump("66")(repo)
    head = repo.commit("fraud-scorer v66")
    repo.git("checkout", "-q", "release/old")
    merge = repo.merge_as_mo("pr-91")
    record_pr(repo, 91, old, head, merge, TWO[:1], base_ref="release/old")
    return repo, merge


def test_an_old_release_branch_policy_does_not_approve_a_production_deploy(
    approved_by_an_old_release_policy,
):
    repo, _ = approved_by_an_old_release_policy
    result = run(repo, "production", branch="release/old")
    assert not result.ok, (
        "one approval shipped a critical model to production; main's policy requires two"
    )
    assert "fraud-scorer" not in served(repo, "production")


def test_an_approval_cached_by_an_older_judgment_is_judged_again(approved_by_an_old_release_policy):
    """The deploy record keeps approvals for later runs. One that an older foureyes worked out (by
    the release branch's policy alone) must not carry PR #91 past today's judgment."""
    from foureyes.deploy.record import SqliteRecord

    repo, merge = approved_by_an_old_release_policy
    doc = yaml.safe_load((repo.root / ".foureyes" / "prs" / "91.yaml").read_text())
    record = SqliteRecord(repo.root / ".foureyes" / "record.sqlite")
    record.keep_evaluations(
        {
            (91, merge): {
                "status": "approved",
                "commit": merge,
                "pr": 91,
                "approvers": ["alice"],
                "approved_at": doc["merged_at"],
                "base": repo.git("rev-parse", f"{merge}^1"),
                "head": repo.git("rev-parse", f"{merge}^2"),
                "author": "dana",
                "base_ref": "release/old",
            }
        }
    )  # as version 1 kept it: no judged_by
    record.close()
    result = run(repo, "production", branch="release/old")
    assert not result.ok and "fraud-scorer" not in served(repo, "production")
    record = SqliteRecord(repo.root / ".foureyes" / "record.sqlite")
    assert record.evaluations()[(91, merge)].get("judged_by") is None  # a refusal is never kept
    record.close()
