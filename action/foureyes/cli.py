"""The click layer: parse options, call the core, pick a reporter. Nothing else.

Heavy modules (jsonschema, PyGithub) are imported inside the commands so `foureyes --help` is fast.
Exit codes: 0 ok/approved/valid, 1 the check failed, 2 usage, configuration or evaluation error.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import click

EXIT_OK, EXIT_FAILED, EXIT_ERROR = 0, 1, 2

FORMAT = click.option(
    "--format", "fmt", type=click.Choice(["auto", "text", "json", "github", "markdown"]), default="auto",
    show_default=True, help="Output format; auto is github inside GitHub Actions, text elsewhere.",
)


def fail_closed(func):
    """Known errors become a one-line message and exit 2; an unexpected one too, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from .errors import known_errors

        try:
            return func(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except known_errors() as exc:
            click.echo(f"foureyes: error: {exc}", err=True)
            sys.exit(EXIT_ERROR)
        except Exception as exc:  # fail closed, but say what happened
            click.echo(f"foureyes: internal error: {type(exc).__name__}: {exc}", err=True)
            sys.exit(EXIT_ERROR)

    return wrapper


def repo_root() -> Path:
    from .gitrepo import toplevel

    return toplevel(Path.cwd()) or Path.cwd()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="foureyes")
def main() -> None:
    """foureyes: four-eyes approval for ML model deployments, the GitOps way."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@FORMAT
@fail_closed
def validate(paths: tuple[str, ...], fmt: str) -> None:
    """Check registry files against the schema and the organisation rules.

    PATHS are files or folders; default: the registry and policy of the repository you stand in.
    """
    from .report import reporter
    from .validate import targets, validate as run
    from .yamlload import LoadError

    root = repo_root()
    try:
        files = targets(root, list(paths), Path.cwd())
    except LoadError as err:
        raise click.UsageError(str(err)) from None
    result = run(root, files)
    reporter(fmt).validation(result)
    sys.exit(EXIT_OK if result.ok else EXIT_FAILED)


@main.command()
@click.option("--base", required=True, help="The ref the change goes into (its policy judges the change).")
@click.option("--head", default="HEAD", show_default=True, help="The ref with the change.")
@FORMAT
@fail_closed
def plan(base: str, head: str, fmt: str) -> None:
    """Show the events of a change and the approval it needs, by the policy at BASE."""
    from .plan import make_plan
    from .report import reporter

    result = make_plan(repo_root(), base, head)
    reporter(fmt).plan(result)
    sys.exit(EXIT_FAILED if result.problems else EXIT_OK)


@main.command()
@click.option("--dir", "directory", type=click.Path(file_okay=False), default=None,
              help="Where to build the scratch repository (default: a new temporary folder).")
@fail_closed
def demo(directory: str | None) -> None:
    """Run the whole loop on a scratch repository, offline."""
    from .demo import run

    sys.exit(run(Path(directory) if directory else None))


@main.command()
@click.option("--repo", "repo_name", envvar="GITHUB_REPOSITORY", help="owner/name (default: $GITHUB_REPOSITORY).")
@click.option("--pr", "number", type=int, help="PR number (default: from $GITHUB_EVENT_PATH).")
@click.option("--token", envvar="GITHUB_TOKEN", help="GitHub token (default: $GITHUB_TOKEN).")
@click.option("--local", "local_file", type=click.Path(exists=True, dir_okay=False),
              help="Decide offline from a YAML file of PR facts instead of GitHub.")
@click.option("--base", help="With --local: the ref the PR goes into.")
@click.option("--head", default="HEAD", show_default=True, help="With --local: the PR's head ref.")
@click.option("--publish/--no-publish", default=True, show_default=True,
              help="On GitHub: set the status, the sticky comment and review requests.")
@FORMAT
@fail_closed
def gate(repo_name, number, token, local_file, base, head, publish, fmt) -> None:
    """Decide whether a PR has the approvals its change needs.

    Exit 0 approved, 1 pending or blocked, 2 error (never approved by mistake).
    """
    from .gate import EXIT_CODES
    from .report import reporter

    if local_file:
        if not base:
            raise click.UsageError("--local needs --base")
        result = gate_local(Path(local_file), base, head)
    else:
        result = gate_github(repo_name, number, token, publish)
    reporter(fmt).gate(result)
    sys.exit(EXIT_CODES[result.decision.state])


def gate_local(facts_file: Path, base: str, head: str):
    from .gate import decide
    from .gitrepo import resolve
    from .local import load_local_facts

    root = repo_root()
    return decide(root, lambda: load_local_facts(facts_file, root, base, resolve(root, head)))


def gate_github(repo_name: str | None, number: int | None, token: str | None, publish: bool):
    import json
    import os

    from .gate import decide
    from .github.client import make_client
    from .github.facts import fetch_facts
    from .github.publish import post_status, publish as publish_result
    from .gitrepo import ensure_commits
    from .plan import load_policy

    event = {}
    if os.environ.get("GITHUB_EVENT_PATH"):
        with open(os.environ["GITHUB_EVENT_PATH"], encoding="utf-8") as fh:
            event = json.load(fh)
    number = number or (event.get("pull_request") or {}).get("number")
    if not repo_name or not number:
        raise click.UsageError("give --repo and --pr (or run in a pull_request workflow)")
    root = repo_root()
    gh = make_client(token)
    fetched = {}

    def load():
        from .gitrepo import GitTree

        # the teams to read come from the policy at the base the event names (or the default branch)
        base_hint = (event.get("pull_request") or {}).get("base", {}).get("sha") or "HEAD"
        if base_hint != "HEAD":
            ensure_commits(root, [base_hint])
        policy = load_policy(GitTree(root, base_hint))
        facts, pr = fetch_facts(gh, repo_name, number, policy.approver_teams)
        fetched["pr"] = pr
        ensure_commits(root, [facts.base_sha, facts.head_sha])
        return facts

    result = decide(root, load)
    if publish:
        if fetched.get("pr") is not None:
            publish_result(gh, repo_name, fetched["pr"], result, warn=_warn)
        elif (event.get("pull_request") or {}).get("head", {}).get("sha"):
            # the PR could not be read: still mark its head, so nothing merges on a missing check
            post_status(gh, repo_name, event["pull_request"]["head"]["sha"], result.decision)
    return result


def _warn(message: str) -> None:
    import os

    in_actions = os.environ.get("GITHUB_ACTIONS") == "true"
    click.echo(f"::warning title=foureyes::{message}" if in_actions else f"warning: {message}", err=True)


@main.command()
@click.option("--check", is_flag=True, help="Exit 1 if .github/CODEOWNERS differs from the policy.")
@fail_closed
def codeowners(check: bool) -> None:
    """Write .github/CODEOWNERS from the policy: the registry and governance paths belong to the approvers."""
    from .codeowners import render, write_or_check

    root = repo_root()
    status, message = write_or_check(root, render(root), check)
    click.echo(message)
    sys.exit(status)
