"""The options several commands share, written once, and the parsing of their values (a time, a
repository that may come from the environment)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import click

F = TypeVar("F", bound=Callable[..., Any])
Decorator = Callable[[F], F]

_FORMATS = ["auto", "text", "json", "github", "markdown"]

FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(_FORMATS),
    default="auto",
    show_default=True,
    help="Output format; auto is github inside GitHub Actions, text elsewhere.",
)

MATRIX_FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice([*_FORMATS, "matrix"]),
    default="auto",
    show_default=True,
    help="Output format; matrix is a GitHub Actions job matrix of the deployments that change.",
)

TABLE_FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "csv"]),
    default="text",
    show_default=True,
    help="Output format.",
)


def plain_format(*choices: str) -> Decorator:
    """--format for a command that writes text or a few data formats (no github reporter)."""
    return click.option(
        "--format", "fmt", type=click.Choice(list(choices)), default="text", show_default=True
    )


NOW = click.option(
    "--now",
    "now_text",
    metavar="TIME",
    help="Judge freeze windows at this ISO 8601 time (default: now).",
)


def now(text: str | None) -> datetime:
    """--now: the instant freeze windows are judged at (tests, what-ifs); default the clock."""
    if not text:
        return datetime.now(UTC)
    from ..judging.freeze import parse_now

    try:
        return parse_now(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r}: expected an ISO 8601 time such as 2026-12-24T18:00:00Z", param_hint="--now"
        ) from None


def moment(text: str, param_hint: str | None = None, now: datetime | None = None) -> datetime:
    """A time option: ISO 8601, or a span back from ``now`` (7d, 12h; default the clock)."""
    from ..deploy.eventlog import parse_time

    try:
        return parse_time(text, now or datetime.now(UTC))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=param_hint) from None


TOKEN_HELP = "GitHub token (default: $GITHUB_TOKEN)."


def token(help: str = TOKEN_HELP) -> Decorator:
    return click.option("--token", envvar="GITHUB_TOKEN", help=help)


token_option = token  # for `sources`, where the name `token` is its parameter


def repo(help: str, envvar: str | None = None) -> Decorator:
    return click.option("--repo", "repo_name", envvar=envvar, help=help)


# the commands that act on GitHub: the repository of the workflow run unless told otherwise
REPO_OF_RUN = repo("owner/name (default: $GITHUB_REPOSITORY).", envvar="GITHUB_REPOSITORY")


def need_repo(repo_name: str | None) -> str:
    """Not click's required=True: $GITHUB_REPOSITORY satisfies it, so --help must not say [required]."""
    if not repo_name:
        raise click.UsageError("give --repo owner/name (or set $GITHUB_REPOSITORY)")
    return repo_name


def record(help: str = "SQLite deploy record (default: .foureyes/record.sqlite).") -> Decorator:
    return click.option(
        "--record", "record_path", type=click.Path(dir_okay=False), default=None, help=help
    )


RECORD = record("SQLite deploy record and event log (default: .foureyes/record.sqlite).")


def ledger(
    help: str = "Offline: folder of PR files (open ones have no merge_commit).",
) -> Decorator:
    return click.option(
        "--prs",
        "ledger",
        type=click.Path(file_okay=False),
        default=".foureyes/prs",
        show_default=True,
        help=help,
    )


LEDGER = ledger()


def sources(repo_help: str) -> Decorator:
    """`--repo`, `--token`, `--record`, `--prs`: where a view reads PRs and the record from, handed
    to the command as one `sources` argument (`app.views.Sources`)."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def with_sources(
            *args: Any,
            repo_name: str | None,
            token: str | None,
            record_path: str | None,
            ledger: str,
            **kwargs: Any,
        ) -> Any:
            from ..app.views import Sources

            return func(
                *args, sources=Sources(repo_name, token, record_path, Path(ledger)), **kwargs
            )

        for option in (LEDGER, RECORD, token_option(), repo(repo_help)):
            with_sources = option(with_sources)
        return cast(F, with_sources)

    return decorate
