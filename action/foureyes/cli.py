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
