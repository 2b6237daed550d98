"""foureyes rollback and foureyes promote: prepare the change request, never apply it."""

from __future__ import annotations

import sys

import click

from .errors import fail_closed
from .options import record, repo, token


@click.command()
@click.argument("name")
@click.option("--env", "env_name", required=True, help="The environment to roll back.")
@click.option(
    "--to", "to_version", help="The model version to return to (default: the one served before)."
)
@record()
@repo("Open the rollback as a PR on this GitHub repository.")
@click.option(
    "--base",
    "base_branch",
    default="main",
    show_default=True,
    help="The branch the rollback PR targets.",
)
@token()
@fail_closed
def rollback(
    name: str,
    env_name: str,
    to_version: str | None,
    record_path: str | None,
    repo_name: str | None,
    base_branch: str,
    token: str | None,
) -> None:
    """Prepare the change request that restores an earlier approved model of NAME in ENV.

    Locally: a branch with one commit, and its patch on stdout. With --repo: a branch and a PR.
    """
    from ..app.changes import RollbackRequest
    from ..app.changes import rollback as run
    from ..report import commands

    request = RollbackRequest(
        name, env_name, to_version, record_path, repo_name, base_branch, token
    )
    result = run(request)
    commands.rollback(result)
    sys.exit(result.exit_code)


@click.command()
@click.option(
    "--env", "env_name", required=True, help="The environment to promote to (e.g. production)."
)
@click.option(
    "--into", help="The environment's branch (needed when it is a pattern such as release/*)."
)
@click.option(
    "--to", "to_commit", help="The commit of the default branch to promote (default: its tip)."
)
@repo("Open the promotion as a PR on this GitHub repository.")
@token()
@fail_closed
def promote(
    env_name: str,
    into: str | None,
    to_commit: str | None,
    repo_name: str | None,
    token: str | None,
) -> None:
    """Prepare the change request that promotes a commit of the default branch into ENV's branch.

    Locally: a branch promote/ENV-SHA at the commit, to push and open as a PR into the branch.
    With --repo: the branch and the PR. Either way the PR is judged and approved like any change,
    and ENV serves only what an approved PR into its branch brought in.
    """
    from ..app.changes import PromoteRequest
    from ..app.changes import promote as run
    from ..report import commands

    request = PromoteRequest(env_name, into, to_commit, repo_name, token)
    result = run(request, prepared=commands.promotion_steps)
    commands.promote(result)
    sys.exit(result.exit_code)
