"""`foureyes timeout`: act on PRs whose approval has been pending longer than their level allows.

The action is the level's `on_timeout`: remind (comment and ask the approvers again), escalate (ask
the `escalate_to` users or teams and comment) or cancel (comment with the reason and close the PR).
At most one action per period: the period is the level's review_timeout, counted from when the
approval went pending on the current head (a new push starts again), and from the last action. The
last action is read from foureyes' own marker comments only: a comment anyone else writes (another
bot, the PR author) with the marker could otherwise silence the timeout for a period.
The clock is passed in, so the rule is tested at the edges of the period.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..github.client import cap_comment
from ..registry.model import LevelRule

if TYPE_CHECKING:
    from github.IssueComment import IssueComment
    from github.PullRequest import PullRequest

    from ..deploy.record import Record
    from ..github.client import GitHubClient
    from ..judging.facts import Account, PRFacts
    from ..registry.model import Policy
    from ..repo import Repo

MARKER = "<!-- foureyes:timeout -->"


def due_action(
    rule: LevelRule, pending_since: datetime, last_action: datetime | None, now: datetime
) -> str | None:
    """The action due now, or None. Pure."""
    if rule.review_timeout is None:
        return None
    period = timedelta(seconds=rule.review_timeout)
    if now - pending_since < period:
        return None
    if last_action is not None and last_action >= pending_since and now - last_action < period:
        return None
    return rule.on_timeout


def _hours(seconds: int) -> str:
    return (
        f"{seconds // 86400}d"
        if seconds % 86400 == 0
        else f"{seconds // 3600}h"
        if seconds % 3600 == 0
        else f"{seconds // 60}m"
    )


@dataclass
class TimeoutAction:
    pr: int
    action: str  # remind | escalate | cancel
    level: str
    waited: timedelta
    users: list[str]
    teams: list[str]
    comment: str

    def to_json(self) -> dict:
        return {
            "pr": self.pr,
            "action": self.action,
            "level": self.level,
            "waited_hours": round(self.waited.total_seconds() / 3600, 1),
            "users": self.users,
            "teams": self.teams,
        }


def cannot_approve(
    facts: Any,  # PRFacts; the caller passes a result's facts it knows are set
    owners: Iterable[str],
) -> frozenset[str]:
    """Lower-case logins whose review could never count (as judging/policy.py rules them out: the PR author, anyone
    who
    authored, committed or co-authored a commit, an owner of a touched deployment): asking them is
    noise, and asking the PR author makes GitHub refuse the whole request (422 "Review cannot be
    requested from pull request author.", POST /repos/{o}/{r}/pulls/{n}/requested_reviewers)."""
    people = {facts.author.login} | {p.login for c in facts.commits for p in c.people}
    return frozenset(p.lower() for p in people) | frozenset(o.lower() for o in owners)


def plan_action(
    number: int,
    action: str,
    level: str,
    rule: LevelRule,
    waited: timedelta,
    policy: Policy,
    decision_line: str,
    repo_owner: str,
    excluded: frozenset[str] = frozenset(),
) -> TimeoutAction:
    if action == "escalate":
        names = [n.lstrip("@") for n in rule.escalate_to]
    else:
        names = [f"{u}" for u in sorted(policy.approver_users)] + list(policy.approver_teams)
    # a team is asked as a team (GitHub skips the author inside it); a person who cannot approve is
    # not
    names = [n for n in names if "/" in n or n.lower() not in excluded]
    users = [n for n in names if "/" not in n]
    teams = [
        n.split("/", 1)[1] for n in names if "/" in n and n.split("/", 1)[0] == repo_owner.lower()
    ]
    who = ", ".join(f"@{n}" for n in names) or (
        "nobody who may approve it (escalate_to names only its author, contributors or owners)"
        if action == "escalate"
        else "the approvers"
    )
    waited_text = f"{int(waited.total_seconds() // 3600)}h"
    if rule.review_timeout is None:  # due_action acts only on a level with a review timeout
        raise ValueError(f"level {level} has no review timeout")
    timeout = _hours(rule.review_timeout)
    lines = {
        "remind": f"⏰ This {level} change has waited {waited_text} for approval (timeout "
        f"{timeout}). "
        f"{who}: please review. Status: {decision_line}.",
        "escalate": f"⏫ This {level} change has waited {waited_text} for approval (timeout "
        f"{timeout}): "
        f"escalated to {who}. Status: {decision_line}.",
        "cancel": f"🛑 Closed: this {level} change waited {waited_text} for approval, past its "
        f"{timeout} review timeout. Reopen it when reviewers are available.",
    }
    return TimeoutAction(
        number,
        action,
        level,
        waited,
        users if action != "cancel" else [],
        teams if action != "cancel" else [],
        cap_comment(f"{MARKER}\n{lines[action]}"),
    )


def is_own_marker(comment: IssueComment, identity: Account) -> bool:
    """A timeout marker counts only in a comment foureyes' own account wrote, compared by id: any
    bot or user can write the marker text."""
    return (
        comment.user is not None
        and comment.user.id == identity.id
        and MARKER in (comment.body or "")
    )


def run(
    gh: GitHubClient,
    repo_name: str,
    repo: Repo,
    now: datetime,
    dry_run: bool,
    report: Callable[[TimeoutAction], object],
    record: Record | None = None,
    warn: Callable[[str], object] = lambda m: None,
    token: str | None = None,
) -> list[TimeoutAction]:
    """Evaluate every open, non-draft PR with the gate; act on the pending ones that are due."""
    from github.CommitStatus import CommitStatus
    from github.PaginatedList import PaginatedList

    from .. import repo as gitrepo
    from ..github.client import api_errors, describe
    from ..github.facts import fetch_facts
    from ..github.publish import gate_identity
    from ..report.notify import Notification, notify
    from .gate_pipeline import decide, teams_of_pr

    github_repo = gh.get_repo(repo_name)
    owner = repo_name.split("/")[0]
    identity = gate_identity(
        gh
    )  # the account foureyes comments as; resolved once, errors fail closed
    actions = []
    for pr in github_repo.get_pulls(state="open"):
        if pr.draft:
            continue
        fetched: dict[str, PullRequest] = {}

        def load(number: int = pr.number, fetched: dict[str, PullRequest] = fetched) -> PRFacts:
            # the teams the gate reads for this PR (reading.teams_to_read), `require` rules'
            # included
            facts, full = fetch_facts(
                gh, repo_name, number, lambda ref, default: teams_of_pr(repo, ref, default)
            )
            fetched["pr"] = full
            gitrepo.ensure_commits(repo, [facts.base_sha, facts.head_sha], token)
            return facts

        result = decide(repo, load)
        if result.decision.state != "pending" or result.plan is None or not result.decision.level:
            continue
        pr = fetched["pr"]  # the full PR, read by the gate
        facts = result.facts
        if facts is None:  # a pending decision was made on the PR's facts
            continue
        level = result.decision.level
        rule = result.plan.policy.rule(level)
        try:
            statuses = [
                s
                for s in PaginatedList(
                    CommitStatus,
                    gh.requester,
                    f"/repos/{repo_name}/commits/{facts.head_sha}/statuses",
                    None,
                )
                if s.context == "foureyes/approval"
            ]
            since = min((s.created_at for s in statuses), default=pr.created_at)
            ours = [c for c in pr.get_issue_comments() if is_own_marker(c, identity)]
        except api_errors() as exc:
            warn(f"PR #{pr.number}: {describe(exc)}")
            continue
        last = max((c.created_at for c in ours), default=None)
        action = due_action(rule, since, last, now)
        if action is None:
            continue
        planned = plan_action(
            pr.number,
            action,
            level,
            rule,
            now - since,
            result.plan.policy,
            result.decision.description,
            owner,
            cannot_approve(result.facts, result.plan.owners),
        )
        actions.append(planned)
        report(planned)
        if dry_run:
            continue
        try:
            pr.create_issue_comment(planned.comment)
            if planned.users or planned.teams:
                pr.create_review_request(reviewers=planned.users, team_reviewers=planned.teams)
            if action == "cancel":
                pr.edit(state="closed")
        except api_errors() as exc:
            warn(f"PR #{pr.number}: {action} failed: {describe(exc)}")
            continue
        if record is not None:
            record.add_event(
                "timeout",
                "warning",
                f"PR #{pr.number}: {action} after {planned.to_json()['waited_hours']}h "
                f"pending ({level})",
                data=planned.to_json(),
            )
        notify(
            result.plan.policy,
            Notification(
                "timeout",
                f"PR #{pr.number}: review timeout ({action})",
                planned.comment.replace(MARKER + "\n", ""),
                pr.html_url or "",
                {"pr": pr.number, "level": level},
            ),
            warn=warn,
            record=record,
        )
    return actions
