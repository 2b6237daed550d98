"""plan: the events of a change and the approval it needs, by the policy at the base."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import EXIT_FAILED, EXIT_OK
from .common import repo_root

if TYPE_CHECKING:
    from ..judging.plan import Plan


@dataclass(frozen=True)
class PlanRequest:
    base: str
    head: str


@dataclass(frozen=True)
class PlanResult:
    plan: Plan

    @property
    def exit_code(self) -> int:
        return EXIT_FAILED if self.plan.problems else EXIT_OK


def run(request: PlanRequest) -> PlanResult:
    from ..judging.reading import as_planned, make_plan
    from ..repo import Repo, default_branch

    with Repo(repo_root()) as repo:  # the command's session: what it reads of git
        plan = make_plan(repo, request.base, request.head)
        return PlanResult(as_planned(repo, plan, request.base, default_branch(repo)))
