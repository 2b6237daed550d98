"""The approval rule (README, "The approval rule"), pure: plan + PR facts -> decision.

No network, no git, no clock. Every review gets a reason for counting or not; every block a reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..registry.model import Policy
from .facts import Account, PRFacts, Review

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable

    from .plan import Plan
    from .rules import Rule

# states that are a verdict; a later COMMENTED review does not replace one (as on GitHub)
VERDICTS = ("APPROVED", "CHANGES_REQUESTED", "DISMISSED")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)


@dataclass
class Ignored:
    login: str
    # author | contributor | owner | stale | not_approver | bot | superseded | dismissed | ...
    reason: str
    detail: str = ""

    def to_json(self) -> dict:
        return {"login": self.login, "reason": self.reason, "detail": self.detail}


@dataclass
class Block:
    reason: str  # invalid_file | no_reason | unattributed_commit | changes_requested | error
    detail: str

    def to_json(self) -> dict:
        return {"reason": self.reason, "detail": self.detail}


@dataclass
class Decision:
    state: str  # approved | pending | blocked | error
    level: str | None
    required: int
    approvals: list[Account] = field(default_factory=list)
    ignored: list[Ignored] = field(default_factory=list)
    blocking: list[Block] = field(default_factory=list)
    approvers: str = ""
    freeze: dict | None = None  # the freeze window holding the change (freeze.Hold.to_json), if any
    rules: list = field(default_factory=list)  # rules.Outcome of every transition rule that applied
    requirements: list[Requirement] = field(default_factory=list)  # approvals `require` rules add

    @property
    def description(self) -> str:
        """One line, as shown next to the commit status (GitHub cuts it at 140 characters)."""
        if self.state == "error":
            text = f"error: {self.blocking[0].detail}" if self.blocking else "error"
        elif self.state == "blocked":
            text = f"blocked: {self.blocking[0].detail}"
        elif self.required == 0:
            text = "no approval required"
        else:
            text = f"{len(self.approvals)} of {self.required} approvals from {self.approvers}"
            if self.level:
                text += f" ({self.level})"
            if self.freeze:  # first, so that GitHub's cut at 140 characters keeps it
                text = f"break-glass ({self.freeze['windows'][0]['name']}): {text}"
        for req in self.requirements:
            if not req.met:
                text += f"; {req.short}"
        return text if len(text) <= 140 else text[:139] + "…"

    def to_json(self) -> dict:
        return {
            "decision": self.state,
            "level": self.level,
            "required_approvals": self.required,
            "approvals": [a.login for a in self.approvals],
            "ignored": [i.to_json() for i in self.ignored],
            "blocking": [b.to_json() for b in self.blocking],
            "description": self.description,
            **({"freeze": self.freeze} if self.freeze else {}),
            "rules": [o.to_json() for o in self.rules],
            "requirements": [r.to_json() for r in self.requirements],
        }


@dataclass
class Requirement:
    """Approvals a violated `require` rule adds: counted like any approval, from its own people."""

    rule: Rule
    counted: list[Account] = field(default_factory=list)

    @property
    def met(self) -> bool:
        return len(self.counted) >= self.rule.approvals

    @property
    def short(self) -> str:
        return (
            f"rule {self.rule.name}: {len(self.counted)} of {self.rule.approvals} from "
            f"{self.rule.describe_approvers()}"
        )

    def to_json(self) -> dict:
        return {
            "rule": self.rule.name,
            "message": self.rule.message,
            "approvals": self.rule.approvals,
            "from": list(self.rule.approvers),
            "counted": [a.login for a in self.counted],
            "met": self.met,
        }


def error_decision(message: str, level: str | None = None, required: int = 0) -> Decision:
    return Decision("error", level, required, blocking=[Block("error", message)])


def has_reason(body: str | None) -> bool:
    """A PR template's HTML comments are not a reason."""
    return bool(_HTML_COMMENT.sub("", body or "").strip())


def latest_verdicts(reviews: list[Review]) -> tuple[dict, list[Review]]:
    """Each reviewer's latest verdict (by account), and the earlier reviews it supersedes."""
    ordered = sorted(reviews, key=lambda r: (r.submitted_at or "", r.id))
    latest: dict = {}
    superseded = []
    for review in ordered:
        if review.state not in VERDICTS:
            continue
        key = review.user.id if review.user.id is not None else review.user.login.lower()
        if key in latest:
            superseded.append(latest[key])
        latest[key] = review
    return latest, superseded


def is_approver(account: Account, policy: Policy, facts: PRFacts) -> tuple[bool, str]:
    return in_group(
        account, policy.approver_ids, policy.approver_teams, facts, policy.describe_approvers()
    )


def in_group(
    account: Account, user_ids: dict, teams: Iterable[str], facts: PRFacts, described: str
) -> tuple[bool, str]:
    """Whether an account is one of the users ``user_ids`` pins (login -> account id: only the id
    counts, a login can be reclaimed by another account) or an active member of one of ``teams``;
    if not, why not."""
    if account.id is not None and account.id in user_ids.values():
        return True, ""
    pinned = user_ids.get(account.login.lower())
    if pinned is not None:
        return False, (
            f"@{account.login} is listed with account id {pinned}, and this account is "
            f"{account.id}: "
            f"the login belongs to another account now"
        )
    pending_in = []
    for team in teams:
        if account.id is not None and account.id in facts.team_members.get(team, frozenset()):
            return True, ""
        if account.id is not None and account.id in facts.pending_members.get(team, frozenset()):
            pending_in.append(team)
    if pending_in:
        return False, f"membership of @{pending_in[0]} is pending, not active"
    return False, f"not in {described}"


def evaluate(plan: Plan, facts: PRFacts) -> Decision:
    """Decide a PR from its plan (events, level, owners, invalid files; policy at base) and facts."""
    policy: Policy = plan.policy
    decision = Decision(
        "pending", plan.level, plan.required_approvals, approvers=policy.describe_approvers()
    )
    if facts.head_sha != plan.head:
        return error_decision(
            f"the plan is for {plan.head[:12]} but the PR head is {facts.head_sha[:12]}",
            plan.level,
            plan.required_approvals,
        )

    for problem in plan.problems:
        decision.blocking.append(Block("invalid_file", str(problem)))
    if policy.require_reason and not has_reason(facts.body):
        decision.blocking.append(Block("no_reason", "the PR description must explain the change"))

    contributors: list[Account] = []
    for commit in facts.commits:
        contributors += commit.people
        missing = commit.who_is_unattributed()
        if missing and policy.block_unattributed:
            decision.blocking.append(
                Block(
                    "unattributed_commit",
                    f"commit {commit.sha[:12]}: {', '.join(missing)} not linked to a GitHub "
                    "account",
                )
            )

    latest, superseded = latest_verdicts(facts.reviews)
    for review in superseded:
        decision.ignored.append(
            Ignored(
                review.user.login, "superseded", f"review {review.id} was replaced by a later one"
            )
        )

    for login, owner in sorted(facts.owner_accounts.items()):
        if (
            owner is None
        ):  # fail closed: an owner we cannot identify could approve under a new login
            decision.blocking.append(
                Block(
                    "unresolved_owner",
                    f"owner @{login} of a touched deployment is no GitHub account (renamed "
                    "or deleted?): "
                    f"update the owner field, or pin the id in the policy",
                )
            )
    owner_accounts = [a for a in facts.owner_accounts.values() if a is not None]

    _apply_rules(plan, facts, decision)
    groups = [
        (req, (req.rule.user_ids, req.rule.teams, facts, req.rule.describe_approvers()))
        for req in decision.requirements
    ]

    counted: list[Account] = []
    for review in latest.values():
        user = review.user
        approver, why_not = is_approver(user, policy, facts)
        # the people a `require` rule names count for it with the same exclusions as any approver
        for req, group in groups:
            member, why_not_member = in_group(user, *group)
            if review.state == "CHANGES_REQUESTED" and member and not approver:
                decision.blocking.append(
                    Block(
                        "changes_requested",
                        f"@{user.login} requested changes (rule {req.rule.name})",
                    )
                )
            elif (
                review.state == "APPROVED"
                and not user.is_bot
                and not _why_not_counted(
                    review,
                    user,
                    member,
                    why_not_member,
                    facts,
                    contributors,
                    plan.owners,
                    owner_accounts,
                )
            ):
                req.counted.append(user)
        if review.state == "DISMISSED":
            decision.ignored.append(Ignored(user.login, "dismissed", "the review was dismissed"))
            continue
        if user.is_bot:
            decision.ignored.append(Ignored(user.login, "bot", "bots cannot review"))
            continue
        if review.state == "CHANGES_REQUESTED":
            if approver:
                decision.blocking.append(
                    Block("changes_requested", f"@{user.login} requested changes")
                )
            else:
                decision.ignored.append(
                    Ignored(user.login, "not_approver", f"changes requested, but {why_not}")
                )
            continue
        reason = _why_not_counted(
            review, user, approver, why_not, facts, contributors, plan.owners, owner_accounts
        )
        if reason:
            decision.ignored.append(Ignored(user.login, *reason))
        else:
            counted.append(user)

    decision.approvals = counted
    errors = [b for b in decision.blocking if b.reason == "rule_error"]
    if errors:  # a rule that cannot be evaluated fails closed: error, never approved
        decision.blocking = errors + [b for b in decision.blocking if b.reason != "rule_error"]
        decision.state = "error"
    elif decision.blocking:
        decision.state = "blocked"
    elif len(counted) >= decision.required and all(r.met for r in decision.requirements):
        decision.state = "approved"
    return decision


def _apply_rules(plan: Plan, facts: PRFacts, decision: Decision) -> None:
    """Transition rules of the base (plan.rules), with the PR's facts: a violated `deny` blocks,
    a violated `require` adds a requirement, an evaluation error fails closed."""
    from . import rules

    decision.rules = rules.check(
        getattr(plan, "rules", []), getattr(plan, "subjects", []), rules.pr_context(facts)
    )
    seen = set()
    for outcome in decision.rules:
        rule = outcome.rule
        if outcome.result == "error":
            decision.blocking.append(
                Block(
                    "rule_error",
                    f"rule {rule.name} ({rule.file}) cannot be evaluated "
                    f"for {outcome.deployment}: {outcome.detail}",
                )
            )
        elif outcome.result == "violated" and rule.action == "deny":
            decision.blocking.append(
                Block("rule", f"rule {rule.name}: {rule.message} ({outcome.deployment})")
            )
        elif outcome.result == "violated" and rule.name not in seen:
            seen.add(rule.name)  # one requirement per rule, however many deployments violate it
            decision.requirements.append(Requirement(rule))


def _why_not_counted(
    review: Review,
    user: Account,
    approver: bool,
    why_not: str,
    facts: PRFacts,
    contributors: Iterable[Account],
    owners: Collection[str],
    owner_accounts: Iterable[Account] = (),
) -> tuple[str, str] | None:
    if user.same(facts.author):
        return "author", "the PR author cannot approve their own change"
    if any(user.same(c) for c in contributors):
        return "contributor", "authored, committed or co-authored a commit in this PR"
    if user.login.lower() in owners or any(user.same(o) for o in owner_accounts):
        return "owner", "listed as owner of a deployment this PR touches"
    if not approver:
        return "not_approver", why_not
    if review.commit_id != facts.head_sha:
        return (
            "stale",
            f"approved {review.commit_id[:12]}, not the current head {facts.head_sha[:12]}",
        )
    return None
