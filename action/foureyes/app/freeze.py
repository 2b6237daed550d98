"""freeze: the freeze windows in force and the next ones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .common import check_names, repo_root


@dataclass(frozen=True)
class FreezeRequest:
    now: datetime
    env_name: str | None
    importance: str | None
    ref: str | None  # None: the working tree
    count: int


@dataclass(frozen=True)
class FreezeResult:
    listing: dict  # judging.freeze.listing


def run(request: FreezeRequest) -> FreezeResult:
    from ..judging import freeze
    from ..repo import GitTree, Repo, WorkTree, resolve

    root = repo_root()
    with Repo(root) as repo:  # the command's session: what it reads of git
        tree = GitTree(repo, resolve(repo, request.ref)) if request.ref else WorkTree(root)
        if request.env_name:
            check_names(repo, request.env_name, ref=request.ref or "HEAD")
        listing = freeze.listing(
            freeze.load(tree), request.now, request.env_name, request.importance, request.count
        )
        return FreezeResult(listing)
