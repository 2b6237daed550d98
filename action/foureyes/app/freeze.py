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
    from ..gitrepo import GitTree, WorkTree, resolve
    from ..judging import freeze

    root = repo_root()
    tree = GitTree(root, resolve(root, request.ref)) if request.ref else WorkTree(root)
    if request.env_name:
        check_names(root, request.env_name, ref=request.ref or "HEAD")
    listing = freeze.listing(
        freeze.load(tree), request.now, request.env_name, request.importance, request.count
    )
    return FreezeResult(listing)
