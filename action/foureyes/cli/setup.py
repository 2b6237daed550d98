"""Setting a repository up: foureyes init, codeowners, pin and protect."""

from __future__ import annotations

import sys

import click

from .errors import fail_closed
from .options import REPO_OF_RUN, need_repo, token


@click.command()
@click.option("--check", is_flag=True, help="Exit 1 if .github/CODEOWNERS differs from the policy.")
@fail_closed
def codeowners(check: bool) -> None:
    """Write .github/CODEOWNERS from the policy: the registry and governance paths belong to the approvers."""
    from ..app.setup import codeowners as run
    from ..report import commands

    result = run(check)
    commands.codeowners(result)
    sys.exit(result.exit_code)


@click.command()
@click.option(
    "--check", is_flag=True, help="Look nothing up, write nothing: exit 1 if a user is not pinned."
)
@token()
@fail_closed
def pin(check: bool, token: str | None) -> None:
    """Pin each "@login" of the policy and the rules to its account id (only the id counts)."""
    from ..app.setup import PinRequest
    from ..app.setup import pin as run
    from ..report import commands

    outcome = run(PinRequest(check, token), found=commands.unpinned)
    commands.pin(outcome)
    sys.exit(outcome.exit_code)


@click.command()
@REPO_OF_RUN
@click.option(
    "--check", is_flag=True, help="Change nothing; exit 1 and name every setting that drifted."
)
@click.option(
    "--app-id",
    type=int,
    envvar="FOUREYES_APP_ID",
    help="Pin the required foureyes/approval status to this GitHub App (recommended).",
)
@token("A token with administration rights (default: $GITHUB_TOKEN).")
@fail_closed
def protect(repo_name: str | None, check: bool, app_id: int | None, token: str | None) -> None:
    """Apply (or verify) the GitHub environments and branch ruleset that back the gate."""
    from ..app.setup import ProtectRequest
    from ..app.setup import protect as run
    from ..report import commands

    outcome = run(ProtectRequest(need_repo(repo_name), check, app_id, token))
    commands.protect(outcome)
    sys.exit(outcome.exit_code)


@click.command()
@click.option("--force", is_flag=True, help="Overwrite files that already exist.")
@click.option(
    "--action-repo",
    default="foureyes/foureyes",
    show_default=True,
    help="The repository of the foureyes action the workflows use.",
)
@click.option(
    "--action-ref",
    "--ref",
    "ref",
    required=True,
    metavar="SHA",
    help="The commit of the foureyes action the workflows pin (40 hex digits; a tag can move "
    "or not exist).",
)
@token("GitHub token to pin policy users with (default: $GITHUB_TOKEN).")
@fail_closed
def init(force: bool, action_repo: str, ref: str, token: str | None) -> None:
    """Scaffold foureyes into this repository: policies, registry, workflows, CODEOWNERS."""
    from ..app.setup import InitRequest, pin_after_init
    from ..app.setup import init as run
    from ..report import commands

    outcome = run(InitRequest(force, action_repo, ref, token))
    commands.init(outcome)
    commands.init_pins(pin_after_init(outcome.root, token))
