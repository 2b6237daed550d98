"""Publish a gate decision on GitHub: the commit status (the enforcement), the sticky comment,
review requests and auto-merge (conveniences: their failure is a warning, not a decision)."""

from __future__ import annotations

from ..errors import EvaluationError
from ..report import STICKY_MARKER, gate_markdown
from .client import api_errors, cap_comment, describe

STATUS_CONTEXT = "foureyes/approval"
STATES = {"approved": "success", "pending": "pending", "blocked": "failure", "error": "error"}


def post_status(gh, repo_name: str, sha: str, decision, target_url: str | None = None) -> None:
    body = {"state": STATES[decision.state], "context": STATUS_CONTEXT, "description": decision.description}
    if target_url:
        body["target_url"] = target_url
    try:
        gh.requester.requestJsonAndCheck("POST", f"/repos/{repo_name}/statuses/{sha}", input=body)
    except api_errors() as exc:
        raise EvaluationError(f"could not set the {STATUS_CONTEXT} status: {describe(exc)}") from None


def upsert_comment(pr, result) -> str:
    """Edit our earlier comment in place (found by marker, written by a bot), or create one."""
    body = cap_comment(gate_markdown(result))  # GitHub refuses a body over 65,536 characters
    for comment in pr.get_issue_comments():
        if STICKY_MARKER in (comment.body or "") and comment.user is not None and comment.user.type == "Bot":
            if comment.body != body:
                comment.edit(body)
                return "updated"
            return "unchanged"
    pr.create_issue_comment(body)
    return "created"


def reviewers_to_request(result, repo_owner: str) -> tuple[list[str], list[str]]:
    """Approvers not yet asked, excluding anyone whose review could not count anyway."""
    d, facts, policy = result.decision, result.facts, result.plan.policy
    if d.state not in ("pending", "blocked") or d.required == 0:
        return [], []
    ignored = {i.login.lower() for i in d.ignored if i.reason in ("author", "contributor", "owner")}
    reviewed = {r.user.login.lower() for r in facts.reviews}
    users = sorted(
        u for u in policy.approver_users
        if u not in facts.requested_users and u not in ignored and u not in reviewed
        and u != facts.author.login.lower() and u not in result.plan.owners
    )
    teams = sorted(
        t.split("/", 1)[1] for t in policy.approver_teams
        if t not in facts.requested_teams and t.split("/", 1)[0] == repo_owner.lower()
    )
    return users, teams


def wants_auto_merge(result) -> bool:
    plan = result.plan
    deployment_events = [e for e in plan.events if e.deployment]
    if result.decision.state != "approved" or not deployment_events:
        return False
    if any(e.type == "governance" for e in plan.events):
        return False
    for e in deployment_events:
        dep = plan.head_deployments.get(e.file)
        if dep is None or dep.apply != "auto":  # deletions and manual deployments are merged by people
            return False
    return True


def publish(gh, repo_name: str, pr, result, warn) -> tuple[str, tuple[list[str], list[str]]]:
    """``warn(message)`` reports a failure of a convenience step. Returns what happened to the
    sticky comment (created, updated, unchanged, failed) and the reviews requested."""
    post_status(gh, repo_name, result.facts.head_sha if result.facts else pr.head.sha, result.decision)
    outcome = {"comment": "failed"}
    requested: tuple[list[str], list[str]] = ([], [])
    steps = [("comment", lambda: outcome.update(comment=upsert_comment(pr, result)))]
    if result.plan is not None and result.facts is not None:
        users, teams = reviewers_to_request(result, repo_name.split("/")[0])
        if users or teams:
            def request():
                pr.create_review_request(reviewers=users, team_reviewers=teams)
                outcome["requested"] = (users, teams)
            steps.append(("review request", request))
        if wants_auto_merge(result):
            steps.append(("auto-merge", lambda: pr.enable_automerge(
                merge_method="SQUASH", expected_head_oid=result.facts.head_sha)))
    for name, step in steps:
        try:
            step()
        except api_errors() as exc:
            warn(f"{name} failed: {describe(exc)}")
    return outcome["comment"], outcome.get("requested", requested)
