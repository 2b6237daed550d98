"""foureyes demo: the whole loop on a scratch repository, offline (app/demo.py runs it)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .errors import fail_closed


@click.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False),
    default=None,
    help="Where to build the scratch repository (default: a new temporary folder).",
)
@fail_closed
def demo(directory: str | None) -> None:
    """Run the whole loop on a scratch repository, offline."""
    from ..app.demo import run

    sys.exit(run(Path(directory) if directory else None))
