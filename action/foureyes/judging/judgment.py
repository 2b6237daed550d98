"""The one judgment: is this change approved?

The gate, the deploy's provenance check, simulate and the review timeout all ask it here, so they
cannot disagree about which policies judge a PR, which teams must be read for it, or how freezes
hold it. It is pure: ``reading.py`` reads its inputs from git.

- ``judging_commits``: the commits whose policy, rules and freezes judge a PR. A PR into the
  default branch is judged by that branch's policy; a PR into a deploy branch by the deploy
  branch's AND the default branch's (anyone who can cut a `release/...` branch with a weak policy
  would otherwise approve with it). The stricter decision wins.
- ``teams_of``: every team those commits' policies and `require` rules name, so the facts hold
  the members each of them counts.
- ``Case``: the PR's change (its head over its fork from its base) planned once per judging
  commit, each judged by what that commit holds, and whether it is a promotion.
- ``judge``: each plan evaluated against the same facts at the same moment, a promotion's changes
  judged as `promote` events, freezes applied for the environments the PR's branch deploys, the
  policy's promotion floor applied to a PR into an environment's branch, the strictest outcome
  returned.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ..vocabulary import State
from . import changes, freeze
from .plan import Plan
from .policy import Decision, evaluate
from .rules import require_teams

if TYPE_CHECKING:
    from .facts import PRFacts
    from .plan import Governance

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


@dataclass(frozen=True)
class Case:
    """A PR as the judgment sees it: one plan per judging commit (``judging_commits``), and
    whether it is a promotion: a PR into a deploy branch whose head is a commit of the default
    branch, carrying what was merged there into the branch."""

    plans: list[Plan]
    promoting: bool = False


def teams_of(governances: Sequence[Governance]) -> tuple[str, ...]:
    """The teams whose members the facts must hold for a PR judged by ``governances``: the
    policies' approver teams and the teams `require` rules name, in a stable order, each once."""
    return _each_once(
        [t for g in governances for t in (*g.policy.approver_teams, *require_teams(g.rules))]
    )


def teams_of_plans(plans: list[Plan]) -> tuple[str, ...]:
    """``teams_of`` for plans already made, from the policy and rules each read at its base."""
    return _each_once(
        [team for p in plans for team in (*p.policy.approver_teams, *require_teams(p.rules))]
    )


def _each_once(names: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))


def judge(case: Case, facts: PRFacts, now: datetime | None) -> tuple[Plan, Decision]:
    """Every plan evaluated with the same facts and freezes judged at ``now`` (None: a moment
    nobody recorded, as for an offline ledger entry without merged_at, judges no freeze); the worst
    outcome (then the one needing more approvals) is the decision."""
    judged = []
    into_deploy_branch = len(case.plans) == 2
    for p in case.plans:
        if into_deploy_branch:
            p = into_branch(p, facts.base_ref, case.promoting)
        decision = evaluate(p, facts)
        if now is not None:
            decision = freeze.apply_hold(
                decision, freeze.check_plan(p, facts.labels, now, facts.base_ref)
            )
        judged.append((p, promotion_floor(p, decision, facts.base_ref)))
    return max(judged, key=lambda pd: (State(pd[1].state).strictness, pd[1].required))


def into_branch(plan: Plan, branch: str, promoting: bool) -> Plan:
    """A change into a deploy branch ``branch``, when promotion is on for an environment it deploys
    (by default it is; a branch that deploys none or is unknown: on, deny by default). Every
    deployment event needs approval at its level: `require_approval_for` exempts changes made on
    the default branch, not what reaches a deploy branch, however the PR is cut. A promotion's
    events (``promoting``: its head is a commit of the default branch) are one `promote` per
    deployment. The rules still see the events as they are (``plan.subjects``)."""
    served = freeze.served_by(plan.environments, branch)
    if served and not any(plan.policy.promotion_on(env) for env in served):
        return plan
    if promoting:
        return dataclasses.replace(plan, events=changes.promotion_events(plan.events))
    required = [dataclasses.replace(e, requires_approval=True) for e in plan.events]
    return dataclasses.replace(plan, events=required)


def promotion_floor(plan: Plan, decision: Decision, branch: str) -> Decision:
    """A PR into the branch of an environment whose policy sets `promotion: {ENV: {approvals: N}}`
    needs at least N approvals, whatever its level; counted by the same rule as the others."""
    if plan.level is None or not branch or not plan.policy.promotion:
        return decision
    served = freeze.served_by(plan.environments, branch) or ()
    floor = max([plan.policy.promotion_approvals(env) for env in served] or [0])
    if floor > decision.required:
        decision.required = floor
        if decision.state == "approved" and len(decision.approvals) < floor:
            decision.state = "pending"
    return decision
