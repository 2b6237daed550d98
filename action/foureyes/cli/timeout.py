"""foureyes timeout: review-timeout actions for open PRs pending too long."""

from __future__ import annotations

import functools
from datetime import UTC, datetime

import click

from .errors import fail_closed
from .options import RECORD, REPO_OF_RUN, moment, need_repo, plain_format, token


@click.command()
@REPO_OF_RUN
@click.option(
    "--dry-run", is_flag=True, help="Say what is due; comment, request and close nothing."
)
@token()
@click.option(
    "--now", "now_text", hidden=True, help="The time to judge by (tests and what-if checks)."
)
@RECORD
@plain_format("text", "json")
@fail_closed
def timeout(
    repo_name: str | None,
    dry_run: bool,
    token: str | None,
    now_text: str | None,
    record_path: str | None,
    fmt: str,
) -> None:
    """Apply review-timeout actions (remind, escalate, cancel) to open PRs pending too long."""
    from ..app.timeout import TimeoutRequest, run
    from ..report import commands
    from ..report.console import warn

    repo_name = need_repo(repo_name)
    now = moment(now_text, param_hint="--now") if now_text else datetime.now(UTC)
    request = TimeoutRequest(repo_name, dry_run, token, now, record_path)
    acted = functools.partial(commands.timeout_action, dry_run=dry_run, fmt=fmt)
    commands.timeout(run(request, acted=acted, warn=warn), fmt)
