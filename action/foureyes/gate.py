"""`foureyes gate`: plan + PR facts -> decision, failing closed on any error."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .plan import Plan, make_plan
from .policy import Decision, error_decision, evaluate


@dataclass
class GateResult:
    plan: Plan | None
    decision: Decision
    facts: object | None = None

    def to_json(self) -> dict:
        data = self.plan.to_json() if self.plan else {"events": [], "level": None, "required_approvals": 0}
        data.update(self.decision.to_json())
        if self.facts is not None:
            data["pr"] = self.facts.number
            data["reason"] = self.facts.body
        return data


def decide(root: Path, load_facts) -> GateResult:
    """``load_facts()`` returns PR facts; the plan is made between their base and head commits.
    Every failure becomes an ``error`` decision."""
    from .errors import known_errors

    plan = facts = None
    try:
        facts = load_facts()
        plan = make_plan(root, facts.base_sha, facts.head_sha)
        return GateResult(plan, evaluate(plan, facts), facts)
    except known_errors() as exc:
        return GateResult(plan, _error(plan, str(exc)), facts)
    except Exception as exc:  # fail closed on the unexpected too
        return GateResult(plan, _error(plan, f"{type(exc).__name__}: {exc}"), facts)


def _error(plan: Plan | None, message: str) -> Decision:
    if plan is None:
        return error_decision(message)
    return error_decision(message, plan.level, plan.required_approvals)


EXIT_CODES = {"approved": 0, "pending": 1, "blocked": 1, "error": 2}
EVENT_STATUS = {"approved": "ok", "pending": "info", "blocked": "warning", "error": "failing"}


def record_decision(record, result: GateResult) -> None:
    """Put the decision in the event log."""
    d = result.decision
    from .report import labelled

    pr = f"PR #{result.facts.number}: " if result.facts is not None and result.facts.number else ""
    deployments = sorted({e.deployment for e in result.plan.events if e.deployment}) if result.plan else []
    record.add_event("gate", EVENT_STATUS[d.state], f"{pr}{labelled(d.state, d.description)}",
                     deployments[0] if len(deployments) == 1 else None, None,
                     {"decision": d.state, "level": d.level, "approvals": [a.login for a in d.approvals],
                      "deployments": deployments, "head": result.plan.head if result.plan else None})


def decide_local(root: Path, facts_file: Path, base: str, head: str) -> GateResult:
    from .gitrepo import resolve
    from .local import load_local_facts

    return decide(root, lambda: load_local_facts(facts_file, root, base, resolve(root, head)))


def decide_on_github(root: Path, gh, repo_name: str, number: int, event: dict, publish: bool, warn) -> GateResult:
    """Fetch the PR, decide, and (with ``publish``) set the status, the sticky comment, review
    requests and notifications. ``event`` is the webhook payload, when there is one."""
    from .github.facts import fetch_facts
    from .github.publish import post_status, publish as publish_result
    from .gitrepo import GitTree, ensure_commits
    from .notify import gate_notifications, notify
    from .plan import load_policy

    pull_event = event.get("pull_request") or {}
    fetched = {}

    def load():
        # the teams to read come from the policy at the base the event names (or the default branch)
        base_hint = pull_event.get("base", {}).get("sha") or "HEAD"
        if base_hint != "HEAD":
            ensure_commits(root, [base_hint])
        policy = load_policy(GitTree(root, base_hint))
        facts, pr = fetch_facts(gh, repo_name, number, policy.approver_teams)
        fetched["pr"] = pr
        ensure_commits(root, [facts.base_sha, facts.head_sha])
        return facts

    result = decide(root, load)
    if not publish:
        return result
    pr = fetched.get("pr")
    if pr is not None:
        comment, requested = publish_result(gh, repo_name, pr, result, warn=warn)
        if result.plan is not None:
            warned: set = set()  # an unset webhook variable is said once per run
            for note in gate_notifications(result, comment, requested, getattr(pr, "html_url", "") or ""):
                notify(result.plan.policy, note, warn=warn, warned=warned)
    elif pull_event.get("head", {}).get("sha"):
        # the PR could not be read: still mark its head, so nothing merges on a missing check
        post_status(gh, repo_name, pull_event["head"]["sha"], result.decision)
    return result
