"""What several use cases need: the repository a command stands in, the names it must know, the
local record, and the two problems that are the caller's to word (a usage error, a plain failure)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import SetupError

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from ..deploy.record import Record, SqliteRecord
    from ..repo import Repo


class UsageProblem(Exception):
    """The options do not make a request (`--local needs --base`): the command's usage error, exit 2."""


class Failed(Exception):
    """What was asked cannot be had (no deploy record to read): `Error: ...`, exit 1."""


def repo_root(required: bool = True) -> Path:
    """The top of the git repository the command runs in; without one, the current folder (when a
    copied record is enough) or an error that says how to get one."""
    from ..repo import toplevel

    root = toplevel(Path.cwd())
    if root is None and required:
        raise SetupError(
            f"{Path.cwd()} is not inside a git repository: run foureyes in the repository that "
            "holds registry/ (`foureyes init` sets one up)"
        )
    return root or Path.cwd()


def unknown(kind: str, name: str, known: Iterable[str], where: str = "") -> SetupError:
    """An unknown name is an error (exit 2) that offers the closest known one."""
    from ..registry.model import unknown_name

    return SetupError(unknown_name(kind, name, known, where))


def check_names(
    repo: Repo, env_name: str | None = None, deployment: str | None = None, ref: str = "HEAD"
) -> None:
    """Environment and deployment names must exist in the registry at ``ref``."""
    from ..registry.model import DEPLOYMENTS_DIR, ENVIRONMENTS_FILE, parse_environments
    from ..repo import GitTree, resolve, toplevel

    if (
        toplevel(repo.path) is None
    ):  # resolve/events with --record can run where there is no registry
        return
    tree = GitTree(repo, resolve(repo, ref))
    if env_name:
        data = tree.read(ENVIRONMENTS_FILE)
        names = [e.name for e in parse_environments(data)] if data is not None else []
        if env_name not in names:
            raise unknown("environment", env_name, names, ENVIRONMENTS_FILE)
    if deployment:
        names = [
            p.rsplit("/", 1)[1][:-5] for p in tree.list(DEPLOYMENTS_DIR) if p.endswith(".yaml")
        ]
        if deployment not in names:
            raise unknown("deployment", deployment, names, DEPLOYMENTS_DIR)


def local_record(root: Path, record_path: str | None) -> SqliteRecord:
    """The SQLite deploy record and event log: --record, else .foureyes/record.sqlite."""
    from ..deploy.record import DEFAULT_PATH, SqliteRecord

    return SqliteRecord(Path(record_path) if record_path else root / DEFAULT_PATH)


def deploy_record(
    root: Path, record_path: str | None, repo_name: str | None, token: str | None
) -> AbstractContextManager[Record]:
    """The deploy record a view reads: --record when given, else GitHub's Deployments when a
    repository is named, else the local file."""
    from ..deploy.stores import open_record

    return open_record(root, record_path, repo_name if not record_path else None, token)
