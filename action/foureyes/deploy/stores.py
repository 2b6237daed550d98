"""Which record and which source of merged PRs a command uses: GitHub (in Actions, or with a
repository given) or the local SQLite file and PR folder."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import EvaluationError
from ..repo import Repo
from .record import DEFAULT_PATH, Record, SqliteRecord

if TYPE_CHECKING:
    from ..github.client import GitHubClient
    from ..sources.protocol import PRSource


def record_identity(gh: GitHubClient, identity: int | None = None) -> int:
    """The account id the GitHub deploy record is written as: only its records are trusted. Given,
    or foureyes' App account (github/identity.py). Without one the record cannot be trusted: fail
    closed."""
    from ..github.identity import IDENTITY_ENV, SLUG_ENV, app_account

    if identity is not None:
        return identity
    account = app_account(gh)
    if account is None or account.id is None:
        raise EvaluationError(
            f"the GitHub deploy record trusts only foureyes' own identity: set {IDENTITY_ENV} "
            f"(the App's bot account id) or {SLUG_ENV} (the App's slug)"
        )
    return account.id


def open_record(
    root: Path,
    path: str | None,
    repo_name: str | None,
    token: str | None,
    identity: int | None = None,
    read_only: bool = False,
) -> contextlib.AbstractContextManager[Record]:
    """A context manager around the deploy record: the GitHub Deployments API when ``repo_name`` is
    given (records written by ``identity`` only), else the SQLite file at ``path`` (default
    .foureyes/record.sqlite). ``read_only`` (a dry run): a record that does not exist yet is read as
    an empty one, and no file is created."""
    if repo_name:
        from ..github.client import make_client
        from .github_record import GitHubRecord

        gh = make_client(token)
        return contextlib.closing(
            GitHubRecord(gh, repo_name, root / DEFAULT_PATH, record_identity(gh, identity))
        )
    file = Path(path) if path else root / DEFAULT_PATH
    if read_only and not file.exists():
        return contextlib.closing(SqliteRecord(":memory:"))
    return contextlib.closing(SqliteRecord(file))


def provenance_source(
    repo: Repo, ledger: Path, repo_name: str | None, token: str | None
) -> PRSource:
    """Merged (and open) PRs: from GitHub when ``repo_name`` is given, else the local PR folder."""
    from ..sources.ledger import Ledger

    if repo_name:
        from ..github.client import make_client
        from ..sources.github import GitHubPRs

        return GitHubPRs(make_client(token), repo_name, repo, token)
    return Ledger(repo, ledger if ledger.is_absolute() else repo.path / ledger)
