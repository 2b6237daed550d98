"""Publish a gate decision on GitHub: the commit status (the enforcement), the sticky comment,
review requests and auto-merge (conveniences: their failure is a warning, not a decision)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import EvaluationError
from ..judging.facts import Account
from ..report.reporters import STICKY_MARKER, gate_markdown
from .client import api_errors, cap_comment, describe

if TYPE_CHECKING:
    from collections.abc import Callable

    from github import GithubException
    from github.IssueComment import IssueComment
    from github.PullRequest import PullRequest

    from ..app.gate_pipeline import GateResult
    from ..judging.policy import Decision
    from .client import GitHubClient

STATUS_CONTEXT = "foureyes/approval"
STATES = {"approved": "success", "pending": "pending", "blocked": "failure", "error": "error"}


def post_status(
    gh: GitHubClient,
    repo_name: str,
    sha: str,
    decision: Decision,
    target_url: str | None = None,
    judged_pr: int | None = None,
) -> None:
    """``judged_pr``: the decision is another PR's at the same head (github/latest.py): say whose."""
    description = (
        decision.description if judged_pr is None else f"PR #{judged_pr}: {decision.description}"
    )
    body = {"state": STATES[decision.state], "context": STATUS_CONTEXT, "description": description}
    if target_url:
        body["target_url"] = target_url
    try:
        gh.requester.requestJsonAndCheck("POST", f"/repos/{repo_name}/statuses/{sha}", input=body)
    except api_errors() as exc:
        raise EvaluationError(
            f"could not set the {STATUS_CONTEXT} status: {describe(exc)}"
        ) from None


# Without an App (the workflow's GITHUB_TOKEN) the gate writes as github-actions[bot], account id
# 41898282 (the no-reply address 41898282+github-actions[bot]@users.noreply.github.com in
# actions/checkout's README); with one, as the App's bot (github/identity.py).
GITHUB_ACTIONS_BOT = Account("github-actions[bot]", 41898282, "Bot")


def gate_identity(gh: GitHubClient, app_slug: str | None = None) -> Account:
    """The account whose comments are the gate's own; any other author's marker is a forgery."""
    from .identity import app_account

    return app_account(gh, app_slug) or GITHUB_ACTIONS_BOT


def is_own_comment(comment: IssueComment, identity: Account) -> bool:
    """A marker counts only in a comment the gate's own account wrote (compared by id)."""
    return (
        comment.user is not None
        and comment.user.id == identity.id
        and STICKY_MARKER in (comment.body or "")
    )


def upsert_comment(
    pr: PullRequest, result: GateResult, identity: Account = GITHUB_ACTIONS_BOT
) -> str:
    """Edit our earlier comment in place (found by marker and written by ``identity``), or create one."""
    body = cap_comment(gate_markdown(result))  # GitHub refuses a body over 65,536 characters
    for comment in pr.get_issue_comments():
        if is_own_comment(comment, identity):
            if comment.body != body:
                comment.edit(body)
                return "updated"
            return "unchanged"
    pr.create_issue_comment(body)
    return "created"


def reviewers_to_request(result: GateResult, repo_owner: str) -> tuple[list[str], list[str]]:
    """Approvers not yet asked, excluding anyone whose review could not count anyway."""
    d, facts, plan = result.decision, result.facts, result.plan
    if plan is None or facts is None:  # no PR read, or nothing judged: nobody to ask
        return [], []
    policy = plan.policy
    if d.state not in ("pending", "blocked") or d.required == 0:
        return [], []
    ignored = {i.login.lower() for i in d.ignored if i.reason in ("author", "contributor", "owner")}
    reviewed = {r.user.login.lower() for r in facts.reviews}
    users = sorted(
        u
        for u in policy.approver_users
        if u not in facts.requested_users
        and u not in ignored
        and u not in reviewed
        and u != facts.author.login.lower()
        and u not in plan.owners
    )
    teams = sorted(
        t.split("/", 1)[1]
        for t in policy.approver_teams
        if t not in facts.requested_teams and t.split("/", 1)[0] == repo_owner.lower()
    )
    return users, teams


def wants_auto_merge(result: GateResult) -> bool:
    plan = result.plan
    if plan is None:  # nothing was judged: nothing is merged
        return False
    deployment_events = [e for e in plan.events if e.deployment]
    if result.decision.state != "approved" or not deployment_events:
        return False
    if any(e.type == "governance" for e in plan.events):
        return False
    for e in deployment_events:
        dep = plan.head_deployments.get(e.file)
        if (
            dep is None or dep.apply != "auto"
        ):  # deletions and manual deployments are merged by people
            return False
    return True


class MergeRefused(Exception):
    """GitHub would neither merge nor enable auto-merge; the message says what is missing."""


# GraphQL answers enablePullRequestAutoMerge on a PR that could be merged right now with "Pull
# request
# Pull request is in clean status" (also: "Protected branch rules not configured for this branch"
# when no rule makes it wait): auto-merge exists to wait, and there is nothing to wait for
# (github.com/peter-evans/enable-pull-request-automerge/issues/343; cli/cli merges such PRs
# directly). Those PRs are merged with PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge and
# `sha` = the approved head, which GitHub refuses (409) if the head moved in between.
_MERGE_NOW = (
    "is in clean status",
    "is in has_hooks status",
    "protected branch rules not configured",
)
_HINTS = (
    (
        "auto merge is not allowed",
        'enable "Allow auto-merge" in the repository\'s Settings > General',
    ),
    (
        "resource not accessible by integration",
        "the gate's token may not merge: give the GitHub App (and the gate job's token) "
        "contents: write "
        "and pull-requests: write",
    ),
    ("merges are not allowed", "allow squash merging in the repository's Settings > General"),
    ("head branch was modified", "the PR head moved after the approval: nothing was merged"),
    ("is in draft state", "the PR is a draft: mark it ready for review"),
)


def _messages(exc: GithubException) -> str:
    data = exc.data if isinstance(exc.data, dict) else {}
    errors = data.get("errors")
    errors = errors if isinstance(errors, list) else []
    found = [e.get("message", "") for e in errors if isinstance(e, dict)] or [describe(exc)]
    return "; ".join(m for m in found if m)


def _refusal(what: str, message: str) -> MergeRefused:
    hint = next((h for key, h in _HINTS if key in message.lower()), None)
    return MergeRefused(f"{what}: {message}" + (f" ({hint})" if hint else ""))


def merge_when_approved(pr: PullRequest, head_sha: str) -> str:
    """``apply: auto``: enable auto-merge pinned to the approved head, or merge right away when
    the PR is already mergeable. Returns what happened; raises MergeRefused with what is missing."""
    from github import GithubException

    try:
        pr.enable_automerge(merge_method="SQUASH", expected_head_oid=head_sha)
        return (
            f"auto-merge enabled for {head_sha[:12]}: GitHub merges it once the required "
            "checks pass"
        )
    except GithubException as exc:
        message = _messages(exc)
        if not any(key in message.lower() for key in _MERGE_NOW):
            raise _refusal("auto-merge refused", message) from None
    try:
        pr.merge(merge_method="squash", sha=head_sha)
    except GithubException as exc:
        raise _refusal("merge refused", _messages(exc)) from None
    return f"merged {head_sha[:12]} (squash): the PR was already mergeable"


def publish(
    gh: GitHubClient,
    repo_name: str,
    pr: PullRequest,
    result: GateResult,
    warn: Callable[[str], object],
    app_slug: str | None = None,
    status_from: tuple[Decision, int] | None = None,
) -> tuple[str, tuple[list[str], list[str]]]:
    """``warn(message)`` reports a failure of a convenience step. ``status_from``: (decision, PR
    number) of another open PR at the same head and base whose judgment the status shows instead
    (github/latest.py). Returns what happened to the sticky comment (created, updated, unchanged,
    failed) and the reviews requested."""
    shown, judged_pr = status_from or (result.decision, None)
    post_status(
        gh,
        repo_name,
        result.facts.head_sha if result.facts else pr.head.sha,
        shown,
        judged_pr=judged_pr,
    )
    said = "failed"  # what became of the comment
    requested: tuple[list[str], list[str]] = ([], [])  # the reviewers asked for, once asked

    def comment() -> None:
        nonlocal said
        said = upsert_comment(pr, result, gate_identity(gh, app_slug))

    if result.plan is not None and result.facts is not None and wants_auto_merge(result):
        # before the comment, so that the comment says whether the PR was merged
        try:
            result.notes.append(merge_when_approved(pr, result.facts.head_sha))
        except MergeRefused as exc:
            result.notes.append(f"not merged: {exc}")
            warn(f"apply: auto: {exc}")
        except api_errors() as exc:
            result.notes.append(f"not merged: {describe(exc)}")
            warn(f"apply: auto: {describe(exc)}")
    steps = [("comment", comment)]
    if result.plan is not None and result.facts is not None:
        users, teams = reviewers_to_request(result, repo_name.split("/")[0])
        if users or teams:

            def request() -> None:
                nonlocal requested
                pr.create_review_request(reviewers=users, team_reviewers=teams)
                requested = (users, teams)

            steps.append(("review request", request))
    for name, step in steps:
        try:
            step()
        except api_errors() as exc:
            warn(f"{name} failed: {describe(exc)}")
        except EvaluationError as exc:
            warn(f"{name} failed: {exc}")
    return said, requested
