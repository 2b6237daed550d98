"""The plan, the freeze and the judgment as pure functions: commits as dicts (support/snapshots),
no repository and no git process. What the gate, the deploy and the what-if decide is these
functions applied to what judging/reading.py read from git."""

from __future__ import annotations

import dataclasses

import pytest

from foureyes.judging import freeze, judgment
from foureyes.judging.plan import Base, ChangeSet, FileChange, Governance, classify
from foureyes.registry.model import ConfigError
from support.clock import NOW
from support.pulltest import ALICE, BOB, approve, facts
from support.snapshots import ABSENT, BASE, FILE, HEAD, ROOT, example, plan_of

FRAUD = "registry/deployments/fraud-scorer.yaml"
CHURN = "registry/deployments/churn-predictor.yaml"
POLICY = "policies/approval.yaml"
INCIDENT = "policies/freeze.yaml"
V13 = ('version: "12"', 'version: "13"')
RELEASE = "release/2026-12"


def test_a_model_replacement_is_planned_from_the_commits_alone():
    base = example()
    plan = plan_of(base, base.replace(FRAUD, *V13))
    assert [(e.type, e.deployment, e.level) for e in plan.events] == [
        ("replace_model", "fraud-scorer", "critical")
    ]
    assert plan.required_approvals == 2 and plan.problems == []
    assert plan.base_deployments[FRAUD].importance == "critical"


def test_the_importance_the_base_holds_now_counts_when_the_base_moved():
    """Forked while churn-predictor was moderate; the base raised it to critical since: the change
    is judged at critical, and the base's deployment is the one the freeze reads."""
    fork = example()
    head = fork.with_file(CHURN, fork.files[CHURN] + b"# retrained\n")
    tip = fork.replace(CHURN, "importance: moderate", "importance: critical")
    assert [e.level for e in plan_of(fork, head).events] == ["moderate"]
    moved = plan_of(fork, head, base=tip)
    assert [e.level for e in moved.events] == ["critical"]
    assert moved.base_deployments[CHURN].importance == "critical"


def test_a_deployment_git_could_not_read_at_the_head_is_a_problem_not_a_pass():
    base = example()
    unread = ChangeSet(BASE, HEAD, (FileChange(FRAUD, FILE, FILE, base.files[FRAUD], None),))
    plan = classify(Base(BASE, base, Governance.read(base)), unread, base, ROOT)
    assert [p.file for p in plan.problems] == [FRAUD]


def test_a_file_absent_at_the_fork_is_a_creation():
    base = example()
    path = "registry/deployments/fraud-scorer-eu.yaml"
    new = base.files[FRAUD].replace(b"name: fraud-scorer", b"name: fraud-scorer-eu")
    head = base.with_file(path, new)
    change = ChangeSet(BASE, HEAD, (FileChange(path, ABSENT, FILE, None, new),))
    plan = classify(Base(BASE, base, Governance.read(base)), change, head, ROOT)
    assert [e.type for e in plan.events] == ["create"]


@pytest.mark.parametrize(
    ("path", "data"),
    [
        (POLICY, None),
        (INCIDENT, b"freezes:\n  - {name: INC-7, environments: production}\n"),
        ("registry/environments.yaml", b"environments: {}\n"),
    ],
    ids=["no-policy", "broken-incident-file", "broken-environments"],
)
def test_what_cannot_be_read_at_the_judging_commit_is_a_configuration_error(path, data):
    """Whatever judges the change must be read whole, or nothing is judged (exit 2), whether or
    not the judgment reads a moment's freezes."""
    with pytest.raises(ConfigError):
        Governance.read(example().with_file(path, data))


@pytest.mark.parametrize(
    ("branch", "held"),
    [("main", False), (RELEASE, True), ("", True)],
    ids=["into-main-deploys-staging", "into-a-release-branch-deploys-production", "unknown"],
)
def test_an_incident_freeze_holds_what_reaches_its_environment(branch, held):
    """The freeze reads the plan's own base (its windows, environments and deployments): a
    production incident holds a PR into a release branch, not one into main; a PR whose branch is
    unknown is held (deny by default)."""
    base = example().with_file(
        INCIDENT, b"freezes:\n  - {name: INC-7, environments: [production]}\n"
    )
    hold = freeze.check_plan(plan_of(base, base.replace(FRAUD, *V13)), [], NOW, branch)
    assert (hold is not None) == held


def test_break_glass_needs_the_label_and_the_extra_approvals_the_base_sets():
    base = example()
    plan = plan_of(base, base.replace(FRAUD, *V13))
    assert plan.freezes.break_glass is not None
    needed = plan.required_approvals + plan.freezes.break_glass.extra_approvals
    assert freeze.break_glass_used(plan, ["Break-Glass"], needed)
    assert not freeze.break_glass_used(plan, ["Break-Glass"], needed - 1)
    assert not freeze.break_glass_used(plan, [], needed)


def test_a_promotion_is_judged_as_promote_events_and_a_cut_into_the_branch_as_it_is():
    base = example()
    plan = plan_of(base, base.replace(FRAUD, *V13))
    assert [e.type for e in judgment.into_branch(plan, RELEASE, promoting=True).events] == [
        "promote"
    ]
    cut = judgment.into_branch(plan, RELEASE, promoting=False)
    assert [e.type for e in cut.events] == ["replace_model"]
    assert all(e.requires_approval for e in cut.events)


def test_a_case_is_judged_by_its_strictest_plan():
    """A PR into a deploy branch is judged by both commits with the same facts: two approvals
    meet the branch's policy but not the default branch's, which asks three for critical."""
    base = example()
    head = base.replace(FRAUD, *V13)
    strict = base.replace(POLICY, "critical:\n    approvals: 2", "critical:\n    approvals: 3")
    pr = dataclasses.replace(facts(approve(ALICE), approve(BOB)), base_ref=RELEASE)
    _, alone = judgment.judge(judgment.Case([plan_of(base, head)]), pr, NOW)
    _, both = judgment.judge(judgment.Case([plan_of(base, head), plan_of(strict, head)]), pr, NOW)
    assert (alone.state, alone.required) == ("approved", 2)
    assert (both.state, both.required) == ("pending", 3)


def test_a_deployment_git_could_not_read_at_the_fork_is_a_problem_not_an_owner_left_out():
    """The fork's side of a changed deployment that git could not read (a blob a partial or damaged
    clone lacks) was an error before the judging was pure; read as an unknown deployment it drops
    that side's owners, so an owner the PR removes could approve their own change: Bob, owner at
    the fork, replaces the model, moves ownership to the team, and approves it with Alice."""
    fork = example().replace(FRAUD, 'owner: "@acme/fraud-team"', 'owner: "@bob"')
    head = fork.replace(FRAUD, 'owner: "@bob"', 'owner: "@acme/fraud-team"').replace(FRAUD, *V13)
    whole = plan_of(fork, head)
    both = facts(approve(ALICE), approve(BOB))
    assert judgment.judge(judgment.Case([whole]), both, NOW)[1].state == "pending"  # Bob excluded
    unread = ChangeSet(BASE, HEAD, (FileChange(FRAUD, FILE, FILE, None, head.files[FRAUD]),))
    plan = classify(Base(BASE, fork, Governance.read(fork)), unread, head, ROOT)
    _, decision = judgment.judge(judgment.Case([plan]), both, NOW)
    assert decision.state != "approved", "an unreadable fork side let its owner approve"
