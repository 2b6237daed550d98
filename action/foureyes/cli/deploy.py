"""foureyes deploy and foureyes resolve: reconcile an environment, read back what it serves."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .errors import fail_closed
from .options import MATRIX_FORMAT, NOW, ledger, now, record, repo, token


@click.command()
@click.option(
    "--env",
    "env_name",
    required=True,
    help="The environment to reconcile (registry/environments.yaml).",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Show what would change, after the provenance check; apply nothing.",
)
@record("SQLite deploy record (default: .foureyes/record.sqlite; in Actions: GitHub Deployments).")
@ledger(
    "Offline provenance: folder of merged-PR files (gate --local facts plus base, head, "
    "merge_commit)."
)
@repo("Check provenance on GitHub (default in Actions).", envvar="GITHUB_REPOSITORY")
@token()
@click.option(
    "--only",
    "only",
    multiple=True,
    help="Apply only this deployment (repeatable): one matrix job each.",
)
@click.option(
    "--branch",
    "branch_name",
    envvar="FOUREYES_BRANCH",
    default=None,
    help="The branch being deployed (default: $FOUREYES_BRANCH, $GITHUB_REF_NAME, else the "
    "checkout's "
    "branch). A workflow_run job runs on the default branch and deploys another one.",
)
@NOW
@MATRIX_FORMAT
@fail_closed
def deploy(
    env_name: str,
    dry_run: bool,
    record_path: str | None,
    ledger: str,
    repo_name: str | None,
    token: str | None,
    only: tuple[str, ...],
    branch_name: str | None,
    now_text: str | None,
    fmt: str,
) -> None:
    """Reconcile ENV with the registry at HEAD, after re-checking every change's approval."""
    from ..app.deploy import DeployRequest, run
    from ..report.console import warn
    from ..report.reporters import reporter

    source = click.get_current_context().get_parameter_source("repo_name")
    request = DeployRequest(
        env_name=env_name,
        dry_run=dry_run,
        record_path=record_path,
        ledger=Path(ledger),
        repo_name=repo_name,
        repo_given=source == click.core.ParameterSource.COMMANDLINE,
        token=token,
        only=frozenset(only),
        branch_name=branch_name,
        now=now(now_text),
    )
    out = reporter(fmt)
    outcome = run(request, progress=out.deploy_step, warn=warn)
    out.deploy(outcome.result)
    sys.exit(outcome.exit_code)


@click.command()
@click.argument("name")
@click.option(
    "--env", "env_name", required=True, help="The environment whose approved model to resolve."
)
@record()
@fail_closed
def resolve(name: str, env_name: str, record_path: str | None) -> None:
    """Print the approved model NAME serves in ENV, as JSON (pin this version; resolve once)."""
    from ..app.deploy import ResolveRequest
    from ..app.deploy import resolve as run
    from ..report import commands

    result = run(ResolveRequest(name, env_name, record_path))
    commands.resolve(result)
    sys.exit(result.exit_code)
