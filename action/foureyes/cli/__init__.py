"""The click layer: each command parses its options into a request, calls its use case (app/) and
hands the result to a reporter (report/). Nothing else.

Heavy modules (jsonschema, PyGithub) are imported inside the commands so `foureyes --help` is fast.
Exit codes: 0 ok/approved/valid, 1 the check failed, 2 usage, configuration or evaluation error.
"""

from __future__ import annotations

from typing import Any

import click

from . import changes, demo, deploy, freeze, gate, setup, timeout, validate, views


class GuardedGroup(click.Group):
    """The command group, with the Actions stream guard up for the whole run: click prints a usage
    error and a ClickException (a use case's Failed or UsageProblem, a bad option value) in
    ``main``, after the command's context has closed, and those messages quote what a user or a
    repository wrote."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        from ..report.output import guard_streams

        # in Actions no line foureyes prints can start a workflow command
        restore = guard_streams()
        try:
            return super().main(*args, **kwargs)
        finally:
            restore()


@click.group(cls=GuardedGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="foureyes")
def main() -> None:
    """foureyes: four-eyes approval for ML model deployments, the GitOps way."""


# in the order --help has always listed them (click sorts them by name anyway)
for command in (
    validate.validate,
    validate.plan,
    demo.demo,
    gate.gate,
    freeze.freeze_cmd,
    setup.codeowners,
    setup.pin,
    deploy.deploy,
    deploy.resolve,
    setup.protect,
    changes.rollback,
    changes.promote,
    views.inventory,
    views.history,
    views.simulate,
    views.events,
    timeout.timeout,
    setup.init,
):
    main.add_command(command)
