"""Which record and which source of merged PRs a command uses: GitHub (in Actions, or with a
repository given) or the local SQLite file and PR folder."""

from __future__ import annotations

import contextlib
from pathlib import Path

from .record import DEFAULT_PATH, SqliteRecord


def open_record(root: Path, path: str | None, repo_name: str | None, token: str | None):
    """A context manager around the deploy record: the GitHub Deployments API when ``repo_name`` is
    given, else the SQLite file at ``path`` (default .foureyes/record.sqlite)."""
    if repo_name:
        from ..github.client import make_client
        from .github_record import GitHubRecord

        return contextlib.closing(GitHubRecord(make_client(token), repo_name, root / DEFAULT_PATH))
    return contextlib.closing(SqliteRecord(Path(path) if path else root / DEFAULT_PATH))


def provenance_source(root: Path, ledger: Path, repo_name: str | None, token: str | None):
    """Merged (and open) PRs: from GitHub when ``repo_name`` is given, else the local PR folder."""
    from .provenance import LocalLedger

    if repo_name:
        from ..github.client import make_client
        from .github_provenance import GitHubPRs

        return GitHubPRs(make_client(token), repo_name, root)
    return LocalLedger(root, ledger if ledger.is_absolute() else root / ledger)
