"""The one judgment: is this change approved?

The gate, the deploy's provenance check, simulate and the review timeout all ask it here, so they
cannot disagree about which policies judge a PR, which teams must be read for it, or how freezes
hold it:

- ``judging_commits``: the commits whose policy, rules and freezes judge a PR. A PR into the
  default branch is judged by that branch's policy; a PR into a deploy branch by the deploy
  branch's AND the default branch's (anyone who can cut a `release/...` branch with a weak policy
  would otherwise approve with it). The stricter decision wins.
- ``teams_to_read``: every team those commits' policies and `require` rules name, so the facts
  hold the members each of them counts.
- ``plans_for``: the PR's change (its head over its fork from its base) once per judging commit,
  each judged by what that commit holds.
- ``judge``: each plan evaluated against the same facts at the same moment, a promotion's changes
  judged as `promote` events, freezes applied for the environments the PR's branch deploys, the
  policy's promotion floor applied to a PR into an environment's branch, the strictest outcome
  returned.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import TYPE_CHECKING

from ..repo import Repo
from ..vocabulary import State
from . import changes, freeze
from .plan import Plan, make_plan
from .policy import Decision, evaluate

if TYPE_CHECKING:
    from .facts import PRFacts

# Kept with every approval the deploy record caches: an approval worked out by another version of
# the judgment is worked out again. Raise it whenever the judgment could approve less than before.
# 1: a PR into a deploy branch judged by that branch's policy only, no `require` rule teams read at
# deploy.
# 2: people, labels and description read at the deploy, not from the gate's evidence.
# 3: a PR into a deploy branch planned from the default branch itself (a promotion: no change at
# all).
# 4: what `require_approval_for` exempts needed no approval in a PR into a deploy branch either.
# 5: an `environments` edit is its own event (`change_environments`), no longer an `update`.
VERSION = 6


def judging_commits(base: str, default_at: str | None) -> list[str]:
    """``base``: the commit of the PR's own base branch that judges it; ``default_at``: the default
    branch's commit when the PR goes into another (a deploy) branch, else None. Two commits, even
    when they are one: a PR into a deploy branch is judged as such (see ``judge``)."""
    return [base] if default_at is None else [base, default_at]


def commits_at_merge(
    repo: Repo, base: str, base_ref: str, default: tuple[str, str] | None, moment: str
) -> list[str]:
    """``judging_commits`` for a PR merged at ``moment`` (GitHub's merged_at) into ``base_ref``:
    for a PR into a deploy branch, the default branch as it was then. ``default``: the default
    branch's name and tip (None: judged by its base alone, as an offline ledger without one)."""
    if default is None or not base_ref or base_ref == default[0]:
        return judging_commits(base, None)
    return judging_commits(base, default_branch_at(repo, default[1], moment))


def default_branch_at(repo: Repo, tip: str, moment: str) -> str:
    """The default branch's commit when a PR was merged (``moment``, GitHub's merged_at): the
    newest first-parent commit of its ``tip`` committed by then, else the tip itself. The
    first-parent commits of a protected default branch are GitHub's merge and squash commits (the
    ruleset allows no other merge method and no direct push), whose committer date is the moment
    GitHub made them."""

    if not moment:
        return tip
    found = repo.git("rev-list", "-1", "--first-parent", f"--before={moment}", tip).decode().strip()
    return found or tip


def teams_to_read(repo: Repo, commits: list[str]) -> tuple[str, ...]:
    """The teams whose members the facts must hold for a PR judged at ``commits``: the policies'
    approver teams and the teams `require` rules name, in a stable order, each once. (Before the
    plans exist: the gate reads the PR's facts, teams included, before it plans.)"""
    from ..repo import GitTree
    from .plan import load_policy
    from .rules import approver_teams as rule_teams

    trees = [GitTree(repo, commit) for commit in commits]
    return _each_once(
        [team for tree in trees for team in (*load_policy(tree).approver_teams, *rule_teams(tree))]
    )


def teams_of_plans(plans: list[Plan]) -> tuple[str, ...]:
    """``teams_to_read`` for plans already made, from the policy and rules each read at its base."""
    from .rules import require_teams

    return _each_once(
        [team for p in plans for team in (*p.policy.approver_teams, *require_teams(p.rules))]
    )


def _each_once(names: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))


def plans_for(repo: Repo, commits: list[str], head: str) -> list[Plan]:
    """One plan per judging commit: the PR's change (its head over its fork from its base,
    ``commits[0]``), judged by what each commit holds. A promotion's head is a commit of the default
    branch: planned from the default branch itself it would be no change at all."""
    return [make_plan(repo, commits[0], head, judged_at=commit) for commit in commits]


def judge(
    repo: Repo, plans: list[Plan], facts: PRFacts, now: datetime | None
) -> tuple[Plan, Decision]:
    """Every plan evaluated with the same facts and freezes judged at ``now`` (None: a moment
    nobody recorded, as for an offline ledger entry without merged_at, judges no freeze); the worst
    outcome (then the one needing more approvals) is the decision."""
    judged = []
    into_deploy_branch = len(plans) == 2
    promoting = into_deploy_branch and _is_promotion(repo, plans)
    for p in plans:
        if into_deploy_branch:
            p = into_branch(repo, p, facts.base_ref, promoting)
        decision = evaluate(p, facts)
        if now is not None:
            decision = freeze.apply_hold(
                decision, freeze.check_plan(repo, p, facts.labels, now, facts.base_ref)
            )
        judged.append((p, promotion_floor(repo, p, decision, facts.base_ref)))
    return max(judged, key=lambda pd: (State(pd[1].state).strictness, pd[1].required))


def _is_promotion(repo: Repo, plans: list[Plan]) -> bool:
    """A PR into a deploy branch (judged at two commits, its base's and the default branch's) whose
    head is a commit of the default branch: it carries what was merged there into the branch."""
    from ..repo import is_ancestor

    return is_ancestor(repo, plans[0].head, plans[1].base)


def as_planned(repo: Repo, plan: Plan, base_ref: str, default_branch: str) -> Plan:
    """The plan as the judgment sees its events (`foureyes plan`, which has no PR facts): a
    change into a deploy branch ``base_ref`` whose head is a commit of ``default_branch`` is a
    promotion there."""
    from ..repo import is_ancestor

    base_ref = base_ref.removeprefix("origin/")
    default_tip = deploy_branch_tip(repo, base_ref, default_branch)
    if default_tip is None:
        return plan
    return into_branch(repo, plan, base_ref, is_ancestor(repo, plan.head, default_tip))


def deploy_branch_tip(repo: Repo, name: str, default_branch: str) -> str | None:
    """The default branch's tip when ``name`` is a deploy branch here: a branch, not the default
    one, that registry/environments.yaml on the default branch deploys (as the gate's
    `judged_base` asks); None for anything else (a commit, an expression, no default branch)."""
    from ..repo import GitError, GitTree, branch_tip

    if not name or name == default_branch:
        return None
    try:
        branch_tip(repo, name)
        default_tip = branch_tip(repo, default_branch)
    except GitError:
        return None
    return default_tip if freeze.served_from(GitTree(repo, default_tip), name) else None


def into_branch(repo: Repo, plan: Plan, branch: str, promoting: bool) -> Plan:
    """A change into a deploy branch ``branch``, when promotion is on for an environment it deploys
    (by default it is; a branch that deploys none or is unknown: on, deny by default). Every
    deployment event needs approval at its level: `require_approval_for` exempts changes made on
    the default branch, not what reaches a deploy branch, however the PR is cut. A promotion's
    events (``promoting``: its head is a commit of the default branch) are one `promote` per
    deployment. The rules still see the events as they are (``plan.subjects``)."""
    from ..repo import GitTree

    served = freeze.served_from(GitTree(repo, plan.base), branch)
    if served and not any(plan.policy.promotion_on(env) for env in served):
        return plan
    if promoting:
        return dataclasses.replace(plan, events=changes.promotion_events(plan.events))
    required = [dataclasses.replace(e, requires_approval=True) for e in plan.events]
    return dataclasses.replace(plan, events=required)


def promotion_floor(repo: Repo, plan: Plan, decision: Decision, branch: str) -> Decision:
    """A PR into the branch of an environment whose policy sets `promotion: {ENV: {approvals: N}}`
    needs at least N approvals, whatever its level; counted by the same rule as the others."""
    from ..repo import GitTree

    if plan.level is None or not branch or not plan.policy.promotion:
        return decision
    served = freeze.served_from(GitTree(repo, plan.base), branch) or ()
    floor = max([plan.policy.promotion_approvals(env) for env in served] or [0])
    if floor > decision.required:
        decision.required = floor
        if decision.state == "approved" and len(decision.approvals) < floor:
            decision.state = "pending"
    return decision
