"""timeout: apply review-timeout actions (remind, escalate, cancel) to open PRs pending too long."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ..repo import Repo
from .common import local_record, repo_root

if TYPE_CHECKING:
    from .timeout_pipeline import TimeoutAction


@dataclass(frozen=True)
class TimeoutRequest:
    repo_name: str
    dry_run: bool  # say what is due, do nothing
    token: str | None
    now: datetime
    record_path: str | None


@dataclass(frozen=True)
class TimeoutResult:
    dry_run: bool
    actions: list[TimeoutAction]


def run(
    request: TimeoutRequest,
    acted: Callable[[TimeoutAction], None],
    warn: Callable[[str], None],
) -> TimeoutResult:
    """``acted``: told each action as it is taken (or found due, in a dry run)."""
    from ..github.client import make_client
    from .timeout_pipeline import run as apply

    root = repo_root()
    with Repo(root) as repo:  # the command's session: what it reads of git
        record = local_record(root, request.record_path)
        try:
            actions = apply(
                make_client(request.token),
                request.repo_name,
                repo,
                request.now,
                request.dry_run,
                acted,
                record,
                warn=warn,
                token=request.token,
            )
        finally:
            record.close()
        return TimeoutResult(request.dry_run, actions)
