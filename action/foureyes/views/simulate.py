"""`foureyes simulate`: policy what-if. Replays the merged and open PRs of a period under a
candidate policy and says, per PR, the decision then and now, and totals.

Both sides are the one judgment (judgment.py), as the gate and the deploy make it: "then" with the
policies that judged the PR, "now" with the candidate in place of the default branch's policy. The
candidate's plan is the same change with the policy-dependent parts (governance events, which
events need approval, the levels' counts) worked out again (``replan``). A `sources.PRSource`
lists the PRs of the period: the offline ledger (`sources.ledger`) or GitHub (`sources.github`: one
listing, then each PR's facts, merged PRs' cached in the record so a rerun does not refetch).

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
from typing import TYPE_CHECKING

from .. import repo as gitrepo
from ..judging import changes
from ..judging.facts import PRFacts
from ..judging.plan import Plan
from ..judging.policy import Decision, error_decision
from ..registry.model import POLICY_FILE, ConfigError, Policy, parse_policy
from ..registry.yamlload import LoadError
from ..repo import Repo
from ..report.escape import markdown, markdown_code
from ..sources.protocol import PRRef, PRSource

if TYPE_CHECKING:
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
    from ..judging import judgment, reading
    from ..judging.freeze import parse_now

    commits = reading.commits_at_merge(repo, pr.base, pr.base_ref, default, pr.merged_at)
    case = reading.case_for(repo, commits, pr.head)
    plans = case.plans
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
    _, then = judgment.judge(case, facts, moment)
    try:
        _, after = judgment.judge(dataclasses.replace(case, plans=candidate_plans), facts, moment)
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
    since: datetime | None = None,
    limit: int | None = None,
) -> Simulation:
    """Replay every PR the source lists for the period (merged since ``since``, and open; at most
    ``limit``); a PR that cannot be replayed is listed, never dropped. ``now``: the moment open
    PRs are judged at (freezes), default the clock; ``period``: how the report names it."""
    from ..errors import known_errors

    now = now or datetime.now(UTC)
    sim = Simulation(label, period)
    for pr in source.prs(since, limit):
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


def gate_what_if(repo: Repo, result: GateResult, source: PRSource) -> str | None:
    """The what-if section for the sticky comment of a PR that edits the policy, or None. The
    candidate is the PR head's policy file, read with git as data; the decision stays the base
    policy's. ``source`` lists the last PRs. Never raises: a failure is said in the section, and
    changes nothing else."""
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
            repo, source, candidate, candidate.source, f"of the last {last} updated", limit=last
        )
    except Exception as exc:  # the what-if is a convenience: it never turns the decision
        return f"{heading}\n\nNot available: {_cell(str(exc) or type(exc).__name__)}"
    return to_markdown(sim, heading) + "\n\n" + note
