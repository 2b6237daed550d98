"""What `foureyes demo` shows, as data, and the one place it is printed.

The demo (app/demo.py) yields these items as it goes; `DemoReporter` prints each one as it
arrives, so the story reads in the order it happens. A command's result is printed by the same
text reporter the command itself uses, so the demo shows exactly what a user would see.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

from .reporters import TextReporter, plan_markdown

if TYPE_CHECKING:
    from pathlib import Path

    from ..app.gate_pipeline import GateResult
    from ..deploy.reconcile import DeployResult, Step
    from ..judging.plan import Plan
    from ..registry.validate import Validation


@dataclass(frozen=True)
class Line:
    """A line as it is: a command typed, a file listed, a note."""

    text: str


class Heading(Line):
    """The start of a scene: what happens next, in words."""


class Statement(Line):
    """A statement about what just happened, made only once the demo has checked it holds."""


@dataclass(frozen=True)
class Validated:
    """`foureyes validate`'s result."""

    validation: Validation


@dataclass(frozen=True)
class Planned:
    """`foureyes plan`'s result; ``comment``: as the PR comment (`--format markdown`) instead."""

    plan: Plan
    comment: bool = False


@dataclass(frozen=True)
class Gated:
    """`foureyes gate`'s decision."""

    result: GateResult


@dataclass(frozen=True)
class Deployed:
    """`foureyes deploy`: each step as it was applied, then the result."""

    steps: tuple[Step, ...]
    result: DeployResult


DemoItem = Line | Validated | Planned | Gated | Deployed


class DemoReporter:
    """Prints the demo's items to stdout; a statement that did not hold goes to stderr."""

    def __init__(self, results: TextReporter | None = None) -> None:
        self.results = results or TextReporter()

    def show(self, item: DemoItem) -> None:
        if isinstance(item, Heading):
            click.echo(click.style(f"\n== {item.text}", bold=True))
        elif isinstance(item, Line):  # a statement too
            click.echo(item.text)
        elif isinstance(item, Validated):
            self.results.validation(item.validation)
        elif isinstance(item, Planned):
            if item.comment:
                click.echo(plan_markdown(item.plan))
            else:
                self.results.plan(item.plan)
        elif isinstance(item, Gated):
            self.results.gate(item.result)
        elif isinstance(item, Deployed):
            for step in item.steps:
                self.results.deploy_step(step)
            self.results.deploy(item.result)
        else:  # a new kind of item must be given its rendering here, not printed as a repr
            raise TypeError(f"the demo reporter cannot show {type(item).__name__}")

    def stopped(self, statement: str) -> None:
        """The demo stops because ``statement`` was about to be made and did not hold."""
        click.echo(
            f"\ndemo: this statement did not hold, so the demo stops here: {statement}", err=True
        )

    def done(self, root: Path) -> None:
        click.echo(f"\nDone. The scratch repository stays in {root}.")
