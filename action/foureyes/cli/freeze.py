"""foureyes freeze: the freeze windows in force and the next ones."""

from __future__ import annotations

import click

from .errors import fail_closed
from .options import NOW, now, plain_format


@click.command(name="freeze")
@NOW
@click.option("--env", "env_name", help="Only windows that freeze this environment.")
@click.option(
    "--importance",
    type=click.Choice(["critical", "high", "moderate", "low"]),
    help="Only windows that freeze this importance level.",
)
@click.option(
    "--ref",
    help="Read the policy and policies/freeze.yaml at this ref (default: the working tree).",
)
@click.option(
    "--next",
    "count",
    type=click.IntRange(0, 100),
    default=5,
    show_default=True,
    help="How many upcoming windows to list.",
)
@plain_format("text", "json")
@fail_closed
def freeze_cmd(
    now_text: str | None,
    env_name: str | None,
    importance: str | None,
    ref: str | None,
    count: int,
    fmt: str,
) -> None:
    """List the freeze windows in force and the next ones (policy windows and incident freezes)."""
    from ..app.freeze import FreezeRequest, run
    from ..report import commands

    commands.freeze(run(FreezeRequest(now(now_text), env_name, importance, ref, count)), fmt)
