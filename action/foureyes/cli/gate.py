"""foureyes gate: decide whether a PR has the approvals its change needs."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .errors import fail_closed
from .options import FORMAT, NOW, REPO_OF_RUN, now, token


@click.command()
@REPO_OF_RUN
@click.option("--pr", "number", type=int, help="PR number (default: from $GITHUB_EVENT_PATH).")
@token()
@click.option(
    "--local",
    "local_file",
    type=click.Path(exists=True, dir_okay=False),
    help="Decide offline from a YAML file of PR facts instead of GitHub.",
)
@click.option("--base", help="With --local: the ref the PR goes into.")
@click.option("--head", default="HEAD", show_default=True, help="With --local: the PR's head ref.")
@click.option(
    "--app-slug",
    envvar="FOUREYES_APP_SLUG",
    help="The GitHub App the token belongs to (its bot user writes the sticky comment; "
    "default: github-actions[bot], the GITHUB_TOKEN's identity).",
)
@click.option(
    "--publish/--no-publish",
    default=True,
    show_default=True,
    help="On GitHub: set the status, the sticky comment and review requests.",
)
@click.option(
    "--which-pr",
    is_flag=True,
    help="Only name the PR the event is about (checked as the gate checks it, nothing posted) "
    "as the step output `pr`: the gate job's per-PR concurrency group.",
)
@NOW
@FORMAT
@fail_closed
def gate(
    repo_name: str | None,
    number: int | None,
    token: str | None,
    local_file: str | None,
    base: str | None,
    head: str,
    app_slug: str | None,
    publish: bool,
    which_pr: bool,
    now_text: str | None,
    fmt: str,
) -> None:
    """Decide whether a PR has the approvals its change needs.

    Exit 0 approved, 1 pending or blocked, 2 error (never approved by mistake).
    """
    from ..app.gate import GateRequest, run
    from ..report import commands
    from ..report.console import warn

    request = GateRequest(
        repo_name=repo_name,
        number=number,
        token=token,
        local_file=Path(local_file) if local_file else None,
        base=base,
        head=head,
        app_slug=app_slug,
        publish=publish,
        which_pr=which_pr,
        now=now(now_text),
    )
    outcome = run(request, warn=warn)
    commands.gate(outcome, fmt)
    sys.exit(outcome.exit_code)
