"""`foureyes simulate`: policy what-if. Replays the merged and open PRs of a period under a
candidate policy and says, per PR, the decision then and now, and totals.

Both sides are the one judgment (judgment.py), as the gate and the deploy make it: "then" with the
policies that judged the PR, "now" with the candidate in place of the default branch's policy. The
candidate's plan is the same change with the policy-dependent parts (governance events, which
events need approval, the levels' counts) worked out again (``replan``). Sources list the PRs of
the period: the offline ledger (`.foureyes/prs/<n>.yaml`, local.read_pr_files) or GitHub (one
listing, then the PR's facts through github.facts.fetch_facts, merged PRs cached in the record so a
rerun does not refetch).

The candidate is only ever data: a YAML file parsed by registry.parse_policy, never executed. A
simulation never decides anything: the gate's decision on a policy PR is still made by the base
policy; the what-if is a section of its comment.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .. import repo as gitrepo
from ..judging import changes
from ..judging.facts import Account, Commit, PRFacts, Review
from ..judging.plan import Plan
from ..judging.policy import Decision, error_decision
from ..registry.model import POLICY_FILE, ConfigError, Policy, parse_policy
from ..registry.yamlload import LoadError
from ..repo import Repo
from ..report.escape import markdown, markdown_code
from ..sources.protocol import PRRef

if TYPE_CHECKING:
    import sqlite3

    from github.PullRequest import PullRequest

    from ..app.gate_pipeline import GateResult

# what changed for a PR, worst first (the order of the totals)
CHANGES = {
    "now_error": "now an evaluation error",
    "now_blocked": "now blocked",
    "now_pending": "now needs more approvals",
    "more_approvals": "more approvals required",
    "now_approved": "now approved",
    "now_auto_approved": "now auto-approved (no approval required)",
    "now_unblocked": "no longer blocked",
    "fewer_approvals": "fewer approvals required",
    "unchanged": "unchanged",
}


# --- the candidate -------------------------------------------------------------------------------


def load_candidate(path: Path) -> Policy:
    """The candidate policy from a file: data only; a broken file is a configuration error with
    its file and line (exit 2)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the candidate policy ({exc.strerror})") from None
    return candidate_from_bytes(data, str(path))


def candidate_from_bytes(data: bytes, label: str) -> Policy:
    try:
        return parse_policy(data, label)
    except LoadError as err:
        raise ConfigError(f"{err} (the candidate policy)") from None


# --- the pure core -------------------------------------------------------------------------------


def replan(plan: Plan, candidate: Policy, changed: list[gitrepo.Change]) -> Plan:
    """The same change judged by ``candidate``: deployment events keep their levels (importance is
    the registry's), governance events are worked out again (the candidate's paths, ungoverned globs
    and level), and which events need approval is the candidate's. ``changed``: the PR's diff."""
    deployment_events = [copy.copy(e) for e in plan.events if e.type != "governance"]
    modes = {c.path: c.new_mode if c.new_sha != gitrepo.ZERO_SHA else c.old_mode for c in changed}
    governance = changes.governance_events([c.path for c in changed], candidate, modes)
    described = {e.file: e.changes for e in plan.events if e.type == "governance"}
    for e in governance:
        e.changes = described.get(e.file, {})
    events = changes.apply_policy(deployment_events + governance, candidate)
    return dataclasses.replace(plan, policy=candidate, events=events)


def compare(then: Decision, now: Decision) -> str:
    """What the candidate changes for one PR (a key of CHANGES)."""
    if now.state == "error" and then.state != "error":
        return "now_error"
    if now.state == "blocked" and then.state != "blocked":
        return "now_blocked"
    if then.state == "approved" and now.state == "pending":
        return "now_pending"
    if then.state != "approved" and now.state == "approved":
        return "now_auto_approved" if now.required == 0 else "now_approved"
    if then.state == "blocked" and now.state != "blocked":
        return "now_unblocked"
    if now.required > then.required:
        return "more_approvals"
    if now.required < then.required:
        return "fewer_approvals"
    return "unchanged"


@dataclass
class Replay:
    number: int
    state: str  # merged | open
    title: str
    then: Decision
    now: Decision

    @property
    def change(self) -> str:
        return compare(self.then, self.now)

    def to_json(self) -> dict:
        def side(d: Decision) -> dict:
            return {
                "decision": d.state,
                "level": d.level,
                "required_approvals": d.required,
                "approvals": [a.login for a in d.approvals],
                "description": d.description,
                "blocking": [b.to_json() for b in d.blocking],
            }

        return {
            "pr": self.number,
            "state": self.state,
            "title": self.title,
            "change": self.change,
            "then": side(self.then),
            "now": side(self.now),
        }


@dataclass
class Simulation:
    candidate: str  # where the candidate policy came from
    period: str  # "since 2026-08-24T00:00:00Z" or "last 20 PRs"
    replays: list[Replay] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)  # PRs that could not be replayed

    @property
    def totals(self) -> dict[str, int]:
        counts = {key: 0 for key in CHANGES}
        for r in self.replays:
            counts[r.change] += 1
        return {"prs": len(self.replays), **counts, "not_replayed": len(self.failed)}

    def to_json(self) -> dict:
        return {
            "candidate": self.candidate,
            "period": self.period,
            "totals": self.totals,
            "prs": [r.to_json() for r in self.replays],
            "not_replayed": [{"pr": n, "error": m} for n, m in self.failed],
        }


class PRSource(Protocol):
    """Where a simulation reads the PRs of its period: the offline ledger (LedgerSource) or
    GitHub (GitHubSource)."""

    def prs(self) -> list[PRRef]: ...

    def default_branch(self) -> str: ...

    def facts(self, pr: PRRef, teams: tuple[str, ...]) -> PRFacts: ...


def replay(
    repo: Repo,
    pr: PRRef,
    candidate: Policy,
    load_facts: Callable[[tuple[str, ...]], PRFacts],
    default: tuple[str, str] | None = None,
    now: datetime | None = None,
) -> Replay:
    """``then``: the one judgment (judgment.py) as the gate and the deploy make it, with the
    policies that judge the PR (its base's, and for a PR into a deploy branch the default
    branch's at the merge) and the freezes of the PR's moment (its merge; ``now`` for an open PR).
    ``now``: the same judgment with ``candidate`` in place of the default branch's policy (the
    policy the candidate would replace); freeze windows stay those of the judging commits.
    ``load_facts(teams)``: the PR's facts, with the members of the teams both sides count. Only
    data is read: the plan reads the PR's files with git, never runs them."""
    from ..judging import judgment
    from ..judging.freeze import parse_now

    commits = judgment.commits_at_merge(repo, pr.base, pr.base_ref, default, pr.merged_at)
    plans = judgment.plans_for(repo, commits, pr.head)
    fork = gitrepo.merge_base(
        repo, pr.base, plans[-1].head
    )  # the PR's change, whichever commit judges it
    # the last judging commit is the default branch's (or the PR's own base, when that is it)
    candidate_plans = [
        *plans[:-1],
        replan(plans[-1], candidate, gitrepo.changed(repo, fork, plans[-1].head)),
    ]
    facts = load_facts(judgment.teams_of_plans(plans + candidate_plans))
    moment = parse_now(pr.merged_at) if pr.merged_at else now
    _, then = judgment.judge(repo, plans, facts, moment)
    try:
        _, after = judgment.judge(repo, candidate_plans, facts, moment)
    except KeyError as exc:  # a level the candidate does not define: fail closed, say which
        after = error_decision(f"the candidate policy has no rule for level {exc.args[0]!r}")
    return Replay(pr.number, pr.state, pr.title, then, after)


def simulate(
    repo: Repo,
    source: PRSource,
    candidate: Policy,
    label: str,
    period: str,
    now: datetime | None = None,
) -> Simulation:
    """Replay every PR the source lists; a PR that cannot be replayed is listed, never dropped.
    ``now``: the moment open PRs are judged at (freezes), default the clock."""
    from ..errors import known_errors

    now = now or datetime.now(UTC)
    sim = Simulation(label, period)
    for pr in source.prs():
        try:
            default = _default(repo, source, pr)
            sim.replays.append(
                replay(repo, pr, candidate, functools.partial(source.facts, pr), default, now)
            )
        except known_errors() as exc:
            sim.failed.append((pr.number, str(exc)))
        except Exception as exc:  # a report, not a decision: name the failure and go on
            sim.failed.append((pr.number, f"{type(exc).__name__}: {exc}"))
    return sim


def _default(repo: Repo, source: PRSource, pr: PRRef) -> tuple[str, str]:
    """The default branch's name, and its tip when the PR goes into another branch (the only case
    the judgment reads it)."""
    name = source.default_branch()
    return name, (gitrepo.branch_tip(repo, name) if pr.base_ref and pr.base_ref != name else "")


# --- sources -------------------------------------------------------------------------------------


def _at(text: str) -> datetime:
    value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class LedgerSource:
    """The offline ledger (`.foureyes/prs/<n>.yaml`): merged PRs (with merge_commit and merged_at)
    merged since ``since``, and every open PR. The ledger's rules hold
    (deploy.provenance.LocalLedger:
    a ledger tracked by git is refused)."""

    def __init__(
        self, repo: Repo, directory: Path, since: datetime | None, limit: int | None = None
    ):
        from ..deploy.provenance import LocalLedger

        self.repo = repo
        self.ledger = LocalLedger(repo, directory)
        self.since = since
        self.limit = limit
        self._docs: dict[int, tuple[Path, dict]] = {}

    def prs(self) -> list[PRRef]:
        from ..errors import EvaluationError
        from ..sources.pr_file import read_pr_files

        found = []
        for path, doc in read_pr_files(self.ledger.directory):
            merged = bool(doc.get("merge_commit"))
            if merged:
                if not doc.get("merged_at"):
                    raise EvaluationError(
                        f"{path}: a merged PR file needs merged_at (when it was merged)"
                    )
                try:
                    when = _at(doc["merged_at"])
                except ValueError:
                    raise EvaluationError(
                        f"{path}: merged_at {doc['merged_at']!r} is not an ISO 8601 time"
                    ) from None
                if self.since is not None and when < self.since:
                    continue
            self._docs[doc["number"]] = (path, doc)
            found.append(
                (
                    str(doc.get("merged_at") or "~open"),
                    PRRef(
                        doc["number"],
                        "merged" if merged else "open",
                        str(doc["base"]),
                        str(doc["head"]),
                        "",
                        str(doc.get("merged_at") or ""),
                        str(doc.get("base_ref") or self.ledger.default_branch()),
                    ),
                )
            )
        found.sort(
            key=lambda item: (item[0], item[1].number), reverse=True
        )  # newest first, open PRs on top
        refs = [ref for _, ref in found]
        return refs[: self.limit] if self.limit else refs

    def default_branch(self) -> str:
        return self.ledger.default_branch()

    def facts(self, pr: PRRef, teams: tuple[str, ...]) -> PRFacts:
        from ..deploy.provenance import LocalLedger
        from ..sources.pr_file import load_local_facts

        path, doc = self._docs[pr.number]
        facts_doc = {k: v for k, v in doc.items() if k not in LocalLedger.META}
        return load_local_facts(
            path, self.repo, pr.base, gitrepo.resolve(self.repo, pr.head), facts_doc, pr.base_ref
        )


class GitHubSource:
    """PRs from GitHub in a bounded number of requests: ONE listing (GET
    /repos/{owner}/{repo}/pulls,
    state=all, sort=updated, direction=desc, 100 per page, stopping at the first PR last updated
    before the period or once ``limit`` PRs are found), then per PR its facts
    (github.facts.fetch_facts:
    the pull, its commits, its reviews) and once per run each approver team's members. A merged PR's
    facts never change (reviews until the merge), so they are cached in the record (table
    simulate_facts) and a rerun does not fetch them again; open PRs are read fresh.

    `direction=desc` must be sent: with sort=updated GitHub's default direction is `asc` (OpenAPI
    description of GET /repos/{owner}/{repo}/pulls, parameter `direction`). A merged PR's
    `updated_at` is at or after its `merged_at`, so stopping at updated_at < since
    never misses a PR merged in the period (OpenAPI: pulls/list, `sort` "updated", `direction`).
    Closed, unmerged PRs are skipped: nothing of theirs was ever judged final."""

    def __init__(
        self,
        gh: Any,  # a GitHubClient; PyGithub's stubs say updated_at may be None, read as set
        repo_name: str,
        repo: Repo,
        token: str | None,
        since: datetime | None,
        limit: int | None = None,
        cache_db: sqlite3.Connection | None = None,
    ) -> None:
        self.gh = gh  # make_client is lazy: get_repo and get_pull cost nothing until read
        self.repo_name = repo_name
        self.repo = repo
        self.token = token
        self.since = since
        self.limit = limit
        self.db = cache_db
        self._members: dict[str, frozenset[int]] = {}
        self._listed: dict[int, PullRequest] = {}
        self._default_name: str | None = None
        self._app: int | None = None  # the App whose evidence counts, resolved once
        if self.db is not None:
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS simulate_facts (repo TEXT NOT NULL, number "
                "INTEGER NOT NULL, "
                "head TEXT NOT NULL, merge_commit TEXT NOT NULL, facts TEXT NOT NULL, "
                "PRIMARY KEY (repo, number, head, merge_commit))"
            )

    def prs(self) -> list[PRRef]:
        from ..errors import EvaluationError
        from ..github.client import api_errors, describe

        found = []
        try:
            repo = self.gh.get_repo(self.repo_name)
            for pr in repo.get_pulls(state="all", sort="updated", direction="desc"):
                if (
                    self.since is not None
                    and pr.updated_at.replace(tzinfo=pr.updated_at.tzinfo or UTC) < self.since
                ):
                    break
                if pr.merged_at is not None:
                    if (
                        self.since is not None
                        and pr.merged_at.replace(tzinfo=pr.merged_at.tzinfo or UTC) < self.since
                    ):
                        continue
                    state = "merged"
                elif pr.state == "open":
                    state = "open"
                else:
                    continue  # closed without merging
                self._listed[pr.number] = pr
                found.append(
                    PRRef(
                        pr.number,
                        state,
                        pr.base.sha,
                        pr.head.sha,
                        pr.title or "",
                        pr.merged_at.isoformat() if pr.merged_at else "",
                        pr.base.ref,
                    )
                )
                # the listing's base repository is this one: its default branch costs no request
                self._default_name = self._default_name or pr.base.repo.default_branch
                if self.limit and len(found) >= self.limit:
                    break
        except api_errors() as exc:
            raise EvaluationError(describe(exc)) from None
        try:  # noqa: SIM105  one fetch for every commit the checkout lacks, not one per PR
            gitrepo.ensure_commits(
                self.repo, sorted({s for p in found for s in (p.base, p.head)}), self.token
            )
        except gitrepo.GitError:
            pass  # one unfetchable head: each PR tries its own, and only that PR is not replayed
        return found

    def default_branch(self) -> str:
        """The default branch, as the PR listing names it."""
        from ..errors import EvaluationError

        if not self._default_name:
            raise EvaluationError("the PR listing names no default branch")
        return self._default_name

    def facts(self, pr: PRRef, teams: tuple[str, ...]) -> PRFacts:
        from ..errors import EvaluationError
        from ..github.client import api_errors, describe
        from ..github.facts import fetch_facts
        from ..github.teams import direct_members

        listed = self._listed[pr.number]
        merge_commit = (
            getattr(listed, "merge_commit_sha", None) or "" if pr.state == "merged" else ""
        )
        try:
            gitrepo.ensure_commits(self.repo, [pr.base, pr.head], self.token)
            facts = self._cached(pr, merge_commit) if pr.state == "merged" else None
            if facts is None:
                facts, _ = fetch_facts(self.gh, self.repo_name, pr.number, ())
                if pr.state == "merged":  # the approval that counts is the one it had when merged
                    if listed.merged_at is None:
                        raise EvaluationError(f"PR #{pr.number}: merged, with no merge time")
                    merged_at = listed.merged_at.replace(tzinfo=listed.merged_at.tzinfo or UTC)
                    facts.reviews = [
                        r
                        for r in facts.reviews
                        if r.submitted_at and _at(r.submitted_at) <= merged_at
                    ]
                    facts = self._as_decided(pr, facts)
                    self._store(pr, merge_commit, facts)
            for team in teams:
                if team not in self._members and team not in facts.team_members:
                    self._members[team] = direct_members(self.gh, *team.split("/", 1))
        except EvaluationError:
            raise
        except api_errors() as exc:
            raise EvaluationError(describe(exc)) from None
        # the listing's head is the one replayed: a head that moved since is read at the next run
        return dataclasses.replace(
            facts,
            head_sha=pr.head,
            base_sha=pr.base,
            team_members={
                t: facts.team_members[t] if t in facts.team_members else self._members[t]
                for t in teams
            },
        )

    def _as_decided(self, pr: PRRef, facts: PRFacts) -> PRFacts:
        """A merged PR's facts as the gate recorded them when it decided (evidence.py), as the
        deploy reads them; today's where no evidence was recorded."""
        from ..github import evidence as on_github
        from ..judging import evidence

        if self._app is None:
            self._app = on_github.app_id(self.gh)
        recorded = on_github.latest(self.gh, self.repo_name, pr.number, pr.head, self._app)
        return (
            evidence.apply(recorded, dataclasses.replace(facts, team_members={}))
            if recorded
            else facts
        )

    def _cached(self, pr: PRRef, merge_commit: str) -> PRFacts | None:
        if self.db is None:
            return None
        row = self.db.execute(
            "SELECT facts FROM simulate_facts WHERE repo = ? AND number = ? AND head = ? "
            "AND merge_commit = ?",
            (self.repo_name, pr.number, pr.head, merge_commit),
        ).fetchone()
        return facts_from_json(json.loads(row[0])) if row else None

    def _store(self, pr: PRRef, merge_commit: str, facts: PRFacts) -> None:
        if self.db is None:
            return
        self.db.execute(
            "INSERT OR REPLACE INTO simulate_facts VALUES (?, ?, ?, ?, ?)",
            (self.repo_name, pr.number, pr.head, merge_commit, json.dumps(facts_to_json(facts))),
        )
        self.db.commit()


# --- the facts cache: PRFacts as JSON ------------------------------------------------------------


def _account(a: Account | None) -> dict | None:
    return None if a is None else {"login": a.login, "id": a.id, "type": a.type}


def _from_account(d: dict | None) -> Account | None:
    return None if d is None else Account(d["login"], d.get("id"), d.get("type", "User"))


def _known_account(d: dict | None, who: str) -> Account:
    """An account the recorded facts must name (a PR's author, a reviewer, a co-author)."""
    from ..errors import EvaluationError

    found = _from_account(d)
    if found is None:
        raise EvaluationError(f"the recorded facts name no account for {who}")
    return found


def facts_to_json(f: PRFacts) -> dict:
    return {
        "number": f.number,
        "author": _account(f.author),
        "base_sha": f.base_sha,
        "head_sha": f.head_sha,
        "body": f.body,
        "labels": list(f.labels),
        "base_ref": f.base_ref,
        "default_branch": f.default_branch,
        "commits": [
            {
                "sha": c.sha,
                "author": _account(c.author),
                "committer": _account(c.committer),
                "co_authors": [_account(a) for a in c.co_authors],
                "unattributed": list(c.unattributed),
            }
            for c in f.commits
        ],
        "reviews": [
            {
                "id": r.id,
                "user": _account(r.user),
                "state": r.state,
                "commit_id": r.commit_id,
                "submitted_at": r.submitted_at,
            }
            for r in f.reviews
        ],
    }


def facts_from_json(d: dict) -> PRFacts:
    return PRFacts(
        number=d["number"],
        author=_known_account(d["author"], f"PR #{d['number']}'s author"),
        base_sha=d["base_sha"],
        head_sha=d["head_sha"],
        body=d["body"],
        labels=tuple(d.get("labels", ())),
        base_ref=d.get("base_ref", ""),
        default_branch=d.get("default_branch", ""),
        team_members={},
        commits=[
            Commit(
                c["sha"],
                _from_account(c["author"]),
                _from_account(c["committer"]),
                tuple(_known_account(a, f"a co-author of {c['sha']}") for a in c["co_authors"]),
                tuple(c["unattributed"]),
            )
            for c in d["commits"]
        ],
        reviews=[
            Review(
                r["id"],
                _known_account(r["user"], f"the author of review {r['id']}"),
                r["state"],
                r["commit_id"],
                r["submitted_at"],
            )
            for r in d["reviews"]
        ],
    )


# --- rendering -----------------------------------------------------------------------------------


def _side(d: Decision) -> str:
    if d.state == "approved" and d.required == 0:
        return "approved (none required)"
    if d.state in ("blocked", "error"):
        return d.state
    return f"{d.state} {len(d.approvals)}/{d.required}"


def _why(r: Replay) -> str:
    if (
        r.now.state in ("blocked", "error")
        and r.now.blocking
        and r.change in ("now_blocked", "now_error")
    ):
        return r.now.blocking[0].detail
    return ""


def to_text(sim: Simulation) -> str:
    lines = [f"Candidate policy {sim.candidate}, PRs {sim.period}:"]
    for r in sim.replays:
        why = _why(r)
        lines.append(
            f"  PR #{r.number:<5} {r.state:<6} then {_side(r.then):<26} now {_side(r.now):<26} "
            f"{CHANGES[r.change]}" + (f" ({why})" if why else "")
        )
    for number, message in sim.failed:
        lines.append(f"  PR #{number:<5} not replayed: {message}")
    if not sim.replays and not sim.failed:
        lines.append("  no PRs in the period")
    lines.append(totals_line(sim))
    return "\n".join(lines)


def totals_line(sim: Simulation) -> str:
    t = sim.totals
    parts = [f"{t[k]} {CHANGES[k]}" for k in CHANGES if t[k] and k != "unchanged"]
    parts.append(f"{t['unchanged']} unchanged")
    if t["not_replayed"]:
        parts.append(f"{t['not_replayed']} not replayed")
    return f"Totals: {t['prs']} PRs replayed: " + ", ".join(parts)


def _cell(value: object) -> str:
    """A table cell or sentence part: the blocking detail of another PR (a co-author trailer's
    name) and an error message are anyone's text, so they render as text, never a link or mention."""
    return markdown(value) or "–"


def to_markdown(sim: Simulation, heading: str = "## Policy what-if") -> str:
    parts = [
        heading,
        "",
        f"Candidate policy {markdown_code(sim.candidate)}, PRs {markdown(sim.period)}.",
        "",
        f"**{totals_line(sim)}**",
        "",
    ]
    if sim.replays or sim.failed:
        parts += ["| PR | state | then | now | change |", "|---|---|---|---|---|"]
        for r in sim.replays:
            why = _why(r)
            parts.append(
                f"| #{r.number} | {r.state} | {_side(r.then)} | {_side(r.now)} | "
                f"{_cell(CHANGES[r.change] + (f': {why}' if why else ''))} |"
            )
        for number, message in sim.failed:
            parts.append(f"| #{number} | – | – | – | not replayed: {_cell(message)} |")
    return "\n".join(parts)


def render(sim: Simulation, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(sim.to_json(), indent=2, sort_keys=True)
    if fmt == "markdown":
        return to_markdown(sim)
    return to_text(sim)


# --- the gate's hook -----------------------------------------------------------------------------

GATE_LAST = 20  # PRs the gate's comment replays on a policy PR (FOUREYES_SIMULATE_LAST overrides)


def edits_policy(plan: Plan | None) -> bool:
    return plan is not None and any(
        e.type == "governance" and e.file == POLICY_FILE for e in plan.events
    )


def gate_what_if(
    repo: Repo, result: GateResult, make_source: Callable[[int], PRSource]
) -> str | None:
    """The what-if section for the sticky comment of a PR that edits the policy, or None. The
    candidate is the PR head's policy file, read with git as data; the decision stays the base
    policy's. ``make_source(limit)`` lists the last PRs. Never raises: a failure is said in the
    section, and changes nothing else."""
    import os

    if result.facts is None or not edits_policy(result.plan):
        return None
    try:
        last = int(os.environ.get("FOUREYES_SIMULATE_LAST", GATE_LAST))
    except ValueError:
        last = GATE_LAST
    if last <= 0:
        return None
    heading = f"### Policy what-if: the last {last} PRs under this PR's {POLICY_FILE}"
    note = (
        "_This PR itself is still judged by the policy at its base; the table shows what the "
        "proposed "
        "policy would have decided._"
    )
    try:
        data = gitrepo.GitTree(repo, result.facts.head_sha).read(POLICY_FILE)
        if data is None:
            return (
                f"{heading}\n\nThe PR deletes {POLICY_FILE}: there is no candidate policy "
                "to replay."
            )
        candidate = candidate_from_bytes(data, f"{POLICY_FILE} at {result.facts.head_sha[:12]}")
        sim = simulate(
            repo, make_source(last), candidate, candidate.source, f"of the last {last} updated"
        )
    except Exception as exc:  # the what-if is a convenience: it never turns the decision
        return f"{heading}\n\nNot available: {_cell(str(exc) or type(exc).__name__)}"
    return to_markdown(sim, heading) + "\n\n" + note
