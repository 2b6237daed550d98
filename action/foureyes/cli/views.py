"""The read-only governance views: foureyes inventory, history, events and simulate."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .errors import fail_closed
from .options import RECORD, TABLE_FORMAT, moment, plain_format, repo, sources, token

if TYPE_CHECKING:
    from ..app.views import Sources


@click.command()
@click.option(
    "--ref", default="HEAD", show_default=True, help="The default branch's commit to list."
)
@click.option(
    "--html",
    "html_dir",
    type=click.Path(file_okay=False),
    help="Also write DIR/index.html, one self-contained page.",
)
@sources("Read open PRs from GitHub (default: the local PR files).")
@TABLE_FORMAT
@fail_closed
def inventory(
    ref: str,
    html_dir: str | None,
    sources: Sources,
    fmt: str,
) -> None:
    """Every deployment: importance, owners, model, approval status, what each environment serves."""
    from ..app.views import InventoryRequest
    from ..app.views import inventory as run
    from ..report import commands

    result = run(InventoryRequest(ref, sources))
    commands.inventory(result, fmt)
    if html_dir:
        commands.inventory_page(result, Path(html_dir))


@click.command()
@click.argument("name", required=False)
@click.option(
    "--env", "env_name", help="With --at: the environment whose live deployments to show."
)
@click.option(
    "--at",
    "moment_text",
    help="With --env: a time (2026-11-22T10:00:00Z, 2026-11-22, or 3d for three days ago).",
)
@click.option(
    "--ref",
    default="HEAD",
    show_default=True,
    help="The default branch's commit to read history from.",
)
@sources("Trace approvals on GitHub (default: the local PR files).")
@TABLE_FORMAT
@fail_closed
def history(
    name: str | None,
    env_name: str | None,
    moment_text: str | None,
    ref: str,
    sources: Sources,
    fmt: str,
) -> None:
    """The governance history of deployment NAME, or (with --env and --at) what was live then."""
    from ..app.views import HistoryRequest
    from ..app.views import history as run
    from ..report import commands

    if (env_name or moment_text) and not (env_name and moment_text):
        raise click.UsageError("--env and --at go together")
    if not (name or env_name):
        raise click.UsageError("give a deployment NAME, or --env and --at")
    at = moment(moment_text, param_hint="--at") if moment_text else None
    request = HistoryRequest(name, env_name, at, ref, sources)
    commands.history(run(request), fmt)


@click.command()
@click.option(
    "--policy",
    "policy_file",
    required=True,
    type=click.Path(dir_okay=False),
    help="The candidate policies/approval.yaml (read as data, never run).",
)
@click.option(
    "--since",
    default="90d",
    show_default=True,
    help="PRs merged from this time (ISO 8601) or span back (90d).",
)
@click.option(
    "--last", "limit", type=click.IntRange(min=1), help="At most this many PRs, newest first."
)
@sources("Replay PRs from GitHub (default: the local PR files).")
@plain_format("text", "json", "markdown")
@fail_closed
def simulate(
    policy_file: str,
    since: str,
    limit: int | None,
    sources: Sources,
    fmt: str,
) -> None:
    """Policy what-if: replay the period's merged and open PRs under a candidate policy.

    Per PR the decision then (the policy at its base) and now (the candidate), and totals.
    Exit 0 when every PR was replayed, 1 when some could not be, 2 on a bad candidate or source.
    """
    from ..app.views import SimulateRequest
    from ..app.views import simulate as run
    from ..report import commands

    start = moment(since, param_hint="--since")
    request = SimulateRequest(policy_file, start, limit, sources)
    result = run(request)
    commands.simulate(result, fmt)
    sys.exit(result.exit_code)


@click.command()
@click.option("--deployment", help="Only events about this deployment.")
@click.option("--env", "environment", help="Only events in this environment.")
@click.option(
    "--type",
    "event_type",
    help="Only this type (deploy, gate, timeout, provenance_violation, notification).",
)
@click.option(
    "--status",
    type=click.Choice(["ok", "warning", "failing", "unknown", "info"]),
    help="Only this status.",
)
@click.option("--since", help="From this time (ISO 8601) or span back (7d, 12h).")
@click.option("--until", help="Up to this time (ISO 8601) or span back.")
@click.option("--grep", "text", help="Text search in the message and data.")
@click.option(
    "--prune", is_flag=True, help="Delete events older than the retention window, then list."
)
@click.option(
    "--retention-days",
    type=click.IntRange(min=1),
    default=90,
    show_default=True,
    envvar="FOUREYES_RETENTION_DAYS",
)
@repo("First import the event logs that workflow runs uploaded as artifacts.")
@token("GitHub token with actions: read (default: $GITHUB_TOKEN).")
@RECORD
@TABLE_FORMAT
@fail_closed
def events(
    deployment: str | None,
    environment: str | None,
    event_type: str | None,
    status: str | None,
    since: str | None,
    until: str | None,
    text: str | None,
    prune: bool,
    retention_days: int,
    repo_name: str | None,
    token: str | None,
    record_path: str | None,
    fmt: str,
) -> None:
    """The event log: filter, search, export (json, csv) and prune."""
    from ..app.views import EventsRequest
    from ..app.views import events as run
    from ..report import commands
    from ..report.console import warn

    now = datetime.now(UTC)
    request = EventsRequest(
        deployment,
        environment,
        event_type,
        status,
        moment(since, now=now) if since else None,
        moment(until, now=now) if until else None,
        text,
        prune,
        retention_days,
        repo_name,
        token,
        record_path,
        now,
    )
    result = run(
        request,
        imported=lambda count: commands.imported(count, repo_name or ""),
        pruned=lambda count: commands.pruned(count, retention_days),
        warn=warn,
    )
    commands.events(result, fmt)
