"""`foureyes gate`: plan + PR facts -> decision, failing closed on any error."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

from ..judging.facts import PRFacts
from ..judging.plan import Plan
from ..judging.policy import Block, Decision, error_decision
from ..repo import Repo
from ..vocabulary import LogStatus, State

if TYPE_CHECKING:
    from datetime import datetime

    from github.PullRequest import PullRequest

    from ..deploy.record import Record
    from ..github.client import GitHubClient
    from ..judging.facts import Account


class UntrustedBase(Exception):
    """The PR goes into a branch whose policy may not judge anything (see ``judged_base``)."""


@dataclass
class GateResult:
    plan: Plan | None
    decision: Decision
    facts: PRFacts | None = None
    notes: list[str] = field(
        default_factory=list
    )  # what publishing did (auto-merge), for the comment
    what_if: str | None = (
        None  # a policy PR: its policy replayed over the last PRs (views/simulate.py), for the comment
    )

    def to_json(self) -> dict:
        data = (
            self.plan.to_json()
            if self.plan
            else {"events": [], "level": None, "required_approvals": 0}
        )
        data.update(self.decision.to_json())
        if self.facts is not None:
            data["pr"] = self.facts.number
            data["reason"] = self.facts.body
        return data


def branch_tip(repo: Repo, branch: str) -> str:
    """The commit a branch points at now, as this clone knows it (the gate's checkout fetches
    every branch: actions/checkout with fetch-depth 0), fetched from origin if it is missing (a
    missing branch on a private repository fails closed: the fetch has no credentials)."""
    from ..errors import EvaluationError
    from ..repo import GitError, fetch_from_origin
    from ..repo import branch_tip as known_tip

    try:
        return known_tip(repo, branch)
    except GitError:
        pass
    try:
        fetch_from_origin(repo, [f"+refs/heads/{branch}:refs/remotes/origin/{branch}"])
        return known_tip(repo, branch)
    except GitError:
        raise EvaluationError(
            f"branch {branch!r} cannot be read from this clone or from origin"
        ) from None


def judged_base(repo: Repo, facts: PRFacts | SimpleNamespace) -> str:
    """The commit whose policy judges the PR: the current tip of its base branch, and only when
    that branch is the default branch or a deploy branch (registry/environments.yaml at the
    default branch). A status belongs to a commit, not to a PR: a success earned against any other
    branch's policy would count for every PR with the same head. Offline facts carry
    no branch: the base is the one the user named."""
    from ..registry.model import ENVIRONMENTS_FILE, parse_environments
    from ..repo import GitTree

    if not facts.base_ref:
        return facts.base_sha
    default = facts.default_branch
    if not default:
        raise UntrustedBase("the repository's default branch is unknown")
    if facts.base_ref != default:
        data = GitTree(repo, branch_tip(repo, default)).read(ENVIRONMENTS_FILE)
        envs = parse_environments(data) if data else []
        if not any(e.matches_branch(facts.base_ref) for e in envs):
            deploy = sorted({e.branch for e in envs} - {default})
            into = " or ".join([repr(default)] + [repr(b) for b in deploy])
            raise UntrustedBase(
                f"PR into {facts.base_ref!r}: only PRs into {into} are judged; retarget the PR"
            )
    return branch_tip(repo, facts.base_ref)


def decide(
    repo: Repo,
    load_facts: Callable[[], PRFacts],
    resolve_owners: Callable[[SimpleNamespace], dict[str, Account | None]] | None = None,
    now: datetime | None = None,
) -> GateResult:
    """``load_facts()`` returns PR facts; the plan is made between the judged base (see
    ``judged_base``) and the head; ``resolve_owners(plan)``, when given, maps the plan's owner
    logins to accounts (see github.facts.resolve_owners); ``now`` (default: the clock) is when
    freeze windows are judged. Every failure becomes an ``error``."""
    from dataclasses import replace
    from datetime import datetime

    from ..errors import known_errors
    from ..judging import judgment, reading

    plan = facts = None
    try:
        facts = load_facts()
        facts = replace(facts, base_sha=judged_base(repo, facts))
        into_deploy_branch = facts.base_ref and facts.base_ref != facts.default_branch
        default_at = branch_tip(repo, facts.default_branch) if into_deploy_branch else None
        case = reading.case_for(
            repo, judgment.judging_commits(facts.base_sha, default_at), facts.head_sha
        )
        plan = case.plans[0]
        if resolve_owners is not None:
            owners: dict = {}
            for p in case.plans:
                todo = p.owners - owners.keys()
                if todo:
                    owners.update(resolve_owners(SimpleNamespace(owners=todo, policy=p.policy)))
            facts = replace(facts, owner_accounts=owners)
        plan, decision = judgment.judge(case, facts, now or datetime.now(UTC))
        return GateResult(plan, decision, facts)
    except UntrustedBase as exc:
        return GateResult(
            None, Decision("blocked", None, 0, blocking=[Block("untrusted_base", str(exc))]), facts
        )
    except known_errors() as exc:
        return GateResult(plan, _error(plan, str(exc)), facts)
    except Exception as exc:  # fail closed on the unexpected too
        return GateResult(plan, _error(plan, f"{type(exc).__name__}: {exc}"), facts)


def _error(plan: Plan | None, message: str) -> Decision:
    if plan is None:
        return error_decision(message)
    return error_decision(message, plan.level, plan.required_approvals)


EXIT_CODES = {State.APPROVED: 0, State.PENDING: 1, State.BLOCKED: 1, State.ERROR: 2}
EVENT_STATUS = {
    State.APPROVED: LogStatus.OK,
    State.PENDING: LogStatus.INFO,
    State.BLOCKED: LogStatus.WARNING,
    State.ERROR: LogStatus.FAILING,
}


def record_decision(record: Record, result: GateResult) -> None:
    """Put the decision in the event log."""
    d = result.decision
    from ..report.reporters import labelled

    pr = f"PR #{result.facts.number}: " if result.facts is not None and result.facts.number else ""
    deployments = (
        sorted({e.deployment for e in result.plan.events if e.deployment}) if result.plan else []
    )
    record.add_event(
        "gate",
        EVENT_STATUS[State(d.state)],
        f"{pr}{labelled(d.state, d.description)}",
        deployments[0] if len(deployments) == 1 else None,
        None,
        {
            "decision": d.state,
            "level": d.level,
            "approvals": [a.login for a in d.approvals],
            "deployments": deployments,
            "head": result.plan.head if result.plan else None,
            **({"freeze": d.freeze} if d.freeze else {}),
        },
    )
    if d.freeze and d.freeze.get(
        "break_glass"
    ):  # break-glass use is an event of its own, for audits
        windows = ", ".join(w["name"] for w in d.freeze["windows"])
        record.add_event(
            "break_glass",
            "warning" if d.state != "approved" else "info",
            f"{pr}break-glass label during freeze ({windows}): {d.required} approvals required, "
            f"{len(d.approvals)} counted",
            deployments[0] if len(deployments) == 1 else None,
            None,
            {"decision": d.state, "freeze": d.freeze, "approvals": [a.login for a in d.approvals]},
        )


def decide_local(
    repo: Repo, facts_file: Path, base: str, head: str, now: datetime | None = None
) -> GateResult:
    """The offline gate. A ``base`` that names a deploy branch (one registry/environments.yaml on
    the default branch deploys) is judged as a PR into it is on GitHub: by its policy and the
    default branch's, every deployment event needing approval."""
    from dataclasses import replace

    from ..judging.reading import deploy_branch_tip
    from ..repo import default_branch, resolve
    from ..sources.pr_file import load_local_facts

    default = default_branch(repo)
    into = base if deploy_branch_tip(repo, base, default) else ""

    def load() -> PRFacts:
        facts = load_local_facts(facts_file, repo, base, resolve(repo, head), base_ref=into)
        return replace(facts, default_branch=default) if into else facts

    return decide(repo, load, now=now)


def teams_of_pr(repo: Repo, base_ref: str, default_branch: str) -> tuple[str, ...]:
    """The teams to read for an open PR into ``base_ref``: those of the policies that will judge
    it (none for an untrusted base)."""
    from ..judging import judgment, reading

    probe = SimpleNamespace(base_ref=base_ref, default_branch=default_branch, base_sha="")
    try:
        base = judged_base(repo, probe)
    except UntrustedBase:
        return ()
    default_at = branch_tip(repo, default_branch) if base_ref != default_branch else None
    return reading.teams_to_read(repo, judgment.judging_commits(base, default_at))


def decide_on_github(
    repo: Repo,
    gh: GitHubClient,
    repo_name: str,
    number: int,
    event: dict,
    publish: bool,
    warn: Callable[[str], object],
    token: str | None = None,
    app_slug: str | None = None,
    now: datetime | None = None,
) -> GateResult:
    """Fetch the PR, decide, and (with ``publish``) set the status, the sticky comment, review
    requests and notifications. ``event`` is the webhook payload, when there is one."""
    from ..errors import EvaluationError
    from ..github.facts import fetch_facts, resolve_owners
    from ..github.latest import still_latest
    from ..github.publish import post_status
    from ..github.publish import publish as publish_result
    from ..repo import ensure_commits
    from ..report.notify import gate_notifications, notify

    event.get("pull_request") or {}
    fetched = {}

    def load() -> PRFacts:
        facts, pr = fetch_facts(
            gh, repo_name, number, lambda ref, default: teams_of_pr(repo, ref, default)
        )
        fetched["pr"] = pr
        ensure_commits(repo, [facts.base_sha, facts.head_sha], token)
        return facts

    result = decide(
        repo, load, lambda plan: resolve_owners(gh, plan.owners, plan.policy.approver_ids), now=now
    )
    from ..sources.github import GitHubPRs
    from ..views.simulate import gate_what_if

    # after the decision, which it never changes: the head's policy is only data to replay
    result.what_if = gate_what_if(repo, result, GitHubPRs(gh, repo_name, repo, token))
    if not publish:
        return result
    pr = fetched.get("pr")
    if pr is not None:
        head = result.facts.head_sha if result.facts is not None else pr.head.sha
        try:
            moved = still_latest(gh, repo_name, number, head)
        except EvaluationError:
            post_status(
                gh,
                repo_name,
                head,
                _error(result.plan, "the PR could not be re-read before posting"),
            )
            raise
        if (
            moved is not None
        ):  # a newer run judges the new head; this one must not overwrite anything
            warn(moved.reason)
            return result
        result = record_evidence(gh, repo_name, pr, result, app_slug)
        status_from = best_at_head(repo, gh, repo_name, result, warn, token, now)
        comment, requested = publish_result(
            gh, repo_name, pr, result, warn=warn, app_slug=app_slug, status_from=status_from
        )
        if result.plan is not None:
            warned: set = set()  # an unset webhook variable is said once per run
            for note in gate_notifications(
                result, comment, requested, getattr(pr, "html_url", "") or ""
            ):
                notify(result.plan.policy, note, warn=warn, warned=warned)
    else:
        # the PR could not be read: still mark the head the event names (pull_request_target or the
        # relay's workflow_run), so an earlier success does not stay on it
        from ..github.trigger import head_sha_of

        event_head = head_sha_of(event)
        if event_head:
            post_status(gh, repo_name, event_head, result.decision)
    return result


def best_at_head(
    repo: Repo,
    gh: GitHubClient,
    repo_name: str,
    result: GateResult,
    warn: Callable[[str], object],
    token: str | None,
    now: datetime | None = None,
) -> tuple[Decision, int] | None:
    """(decision, PR number) of another open PR at the same head and base that is approved, when
    this
    PR is not: the status on a shared head shows the best judgment among them (github/latest.py);
    None to show this PR's own. A failure to look shows this PR's own (never a success it did not
    earn)."""
    from ..errors import EvaluationError
    from ..github.facts import fetch_facts, resolve_owners
    from ..github.latest import siblings_at_head
    from ..repo import ensure_commits

    facts = result.facts
    if result.decision.state == "approved" or facts is None or not facts.base_ref:
        return None
    try:
        others = siblings_at_head(gh, repo_name, facts.number, facts.head_sha, facts.base_ref)
    except EvaluationError as exc:
        warn(f"other PRs at this head not checked: {exc}")
        return None
    for other in others:

        def load(n: int = other) -> PRFacts:
            found, _ = fetch_facts(
                gh, repo_name, n, lambda ref, default: teams_of_pr(repo, ref, default)
            )
            ensure_commits(repo, [found.base_sha, found.head_sha], token)
            return found

        judged = decide(
            repo,
            load,
            lambda plan: resolve_owners(gh, plan.owners, plan.policy.approver_ids),
            now=now,
        )
        if (
            judged.decision.state == "approved"
            and judged.facts is not None
            and judged.facts.head_sha == facts.head_sha
            and judged.facts.base_ref == facts.base_ref
        ):
            warn(
                f"the foureyes/approval status on {facts.head_sha[:12]} shows PR #{other}'s "
                "approval (same head "
                f"and base); PR #{facts.number} itself is {result.decision.state}, and its "
                "merge is not "
                "deployable unless it is approved itself"
            )
            return judged.decision, other
    return None


def record_evidence(
    gh: GitHubClient, repo_name: str, pr: PullRequest, result: GateResult, app_slug: str | None
) -> GateResult:
    """Record the facts of this decision before its status is posted (evidence.py); a decision
    whose evidence cannot be recorded is an error, never a success the deploy could not verify.
    A closed PR records nothing: what judged it is the evidence from before its merge."""
    import dataclasses

    from ..errors import EvaluationError
    from ..github import evidence as on_github
    from ..judging import evidence

    if result.facts is None or getattr(pr, "state", "open") != "open":
        return result
    try:
        on_github.record(gh, repo_name, evidence.of(result.facts, result.decision.state))
    except EvaluationError as exc:
        return dataclasses.replace(result, decision=_error(result.plan, str(exc)))
    return result
