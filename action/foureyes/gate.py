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
