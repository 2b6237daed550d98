"""gate: decide whether a PR has the approvals its change needs, offline from a facts file or on
GitHub from the workflow's event; every decision is recorded in the local event log."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import EXIT_OK, EvaluationError
from ..repo import Repo
from .common import UsageProblem, local_record, repo_root

if TYPE_CHECKING:
    from ..github.client import GitHubClient
    from .gate_pipeline import GateResult


@dataclass(frozen=True)
class GateRequest:
    repo_name: str | None
    number: int | None  # None: the PR of the event
    token: str | None
    local_file: Path | None  # offline: a YAML file of PR facts
    base: str | None  # with local_file
    head: str
    app_slug: str | None
    publish: bool
    which_pr: bool  # only name the PR, post nothing
    now: datetime


@dataclass(frozen=True)
class GateOutcome:
    result: GateResult | None = None  # the decision (None when only the PR was asked for)
    which_pr: int | None = None

    @property
    def exit_code(self) -> int:
        if self.result is None:
            return EXIT_OK
        from ..vocabulary import State
        from .gate_pipeline import EXIT_CODES

        return EXIT_CODES[State(self.result.decision.state)]


def read_event(environ: Mapping[str, str] = os.environ) -> dict:
    """The webhook payload of the run ($GITHUB_EVENT_PATH, a JSON file the runner writes); none
    outside a workflow."""
    path = environ.get("GITHUB_EVENT_PATH")
    if not path:
        return {}
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def run(request: GateRequest, warn: Callable[[str], None]) -> GateOutcome:
    from .gate_pipeline import decide_local, decide_on_github, record_decision

    root = repo_root()
    with Repo(root) as repo:  # the command's session: what it reads of git
        if request.local_file:
            if not request.base:
                raise UsageProblem("--local needs --base")
            result = decide_local(
                repo, request.local_file, request.base, request.head, now=request.now
            )
        else:
            event = read_event()
            number = request.number or (event.get("pull_request") or {}).get("number")
            from ..github.client import make_client

            if not number and event.get("workflow_run") and request.repo_name:
                number = _pr_from_workflow_run(
                    make_client(request.token),
                    request.repo_name,
                    event,
                    request.token,
                    request.publish and not request.which_pr,
                )
            if not request.repo_name or not number:
                raise UsageProblem("give --repo and --pr (or run in a pull_request workflow)")
            if request.which_pr:
                return GateOutcome(which_pr=number)
            result = decide_on_github(
                repo,
                make_client(request.token),
                request.repo_name,
                number,
                event,
                request.publish,
                warn=warn,
                token=request.token,
                app_slug=request.app_slug,
                now=request.now,
            )
        record = local_record(root, None)
        try:
            record_decision(record, result)
        finally:
            record.close()
        return GateOutcome(result=result)


def _pr_from_workflow_run(
    gh: GitHubClient, repo_name: str, event: dict, token: str | None, publish: bool
) -> int:
    """The PR the review relay's run was about, checked against the API; on any failure the run's
    head gets an `error` status (never a stale success) and the gate ends with exit 2."""
    from ..errors import known_errors
    from ..github.trigger import head_sha_of, pr_from_workflow_run

    try:
        return pr_from_workflow_run(gh, repo_name, event, token or "")
    except known_errors() as exc:
        sha = head_sha_of(event)
        if publish and sha:
            from ..github.publish import post_status
            from ..judging.policy import error_decision

            post_status(gh, repo_name, sha, error_decision(f"cannot tell which PR: {exc}"))
        raise EvaluationError(str(exc)) from None
