"""foureyes validate and foureyes plan: what the registry holds and what a change means."""

from __future__ import annotations

import sys

import click

from .errors import fail_closed
from .options import FORMAT, MATRIX_FORMAT


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@FORMAT
@fail_closed
def validate(paths: tuple[str, ...], fmt: str) -> None:
    """Check registry files against the schema and the organisation rules.

    PATHS are files or folders; default: the registry and policy of the repository you stand in.
    """
    from ..app.validate import ValidateRequest, run
    from ..report.reporters import reporter

    result = run(ValidateRequest(paths))
    reporter(fmt).validation(result.validation)
    sys.exit(result.exit_code)


@click.command()
@click.option(
    "--base", required=True, help="The ref the change goes into (its policy judges the change)."
)
@click.option("--head", default="HEAD", show_default=True, help="The ref with the change.")
@MATRIX_FORMAT
@fail_closed
def plan(base: str, head: str, fmt: str) -> None:
    """Show the events of a change and the approval it needs, by the policy at BASE."""
    from ..app.plan import PlanRequest, run
    from ..report.reporters import reporter

    result = run(PlanRequest(base, head))
    reporter(fmt).plan(result.plan)
    sys.exit(result.exit_code)
