"""Where PRs come from, as the deploy's provenance check and the policy what-if ask it: one
protocol, two places (the offline ledger, `sources.ledger.Ledger`; GitHub, `sources.github.GitHubPRs`).

Every question either caller asks is in `PRSource`, so the two places answer the same questions
and mypy checks both. `read_ahead` and `prefetch` are hints (read now what will be asked later,
in one batch): the ledger acts on them, GitHub has nothing to read ahead and ignores them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..judging.facts import PRFacts
    from ..repo import Graph


@dataclass
class MergedPR:
    """What a source knows about the PR that brought a commit in (the provenance check)."""

    number: int
    base: str
    head: str
    merge_commit: str
    merged_at: str
    # (teams) -> PRFacts with the reviews made until the merge, and those teams' members
    load_facts: Callable[[tuple[str, ...]], PRFacts]
    base_ref: str = ""  # the branch the PR was merged into


@dataclass
class PRRef:
    """One PR of a period, as a source lists it (the what-if)."""

    number: int
    state: str  # merged | open
    base: str
    head: str
    title: str = ""
    merged_at: str = ""
    base_ref: str = ""  # the branch the PR goes into ("": the ledger's default branch)


class PRSource(Protocol):
    """Where PRs come from: the offline ledger or GitHub."""

    def default_branch(self) -> str:
        """The repository's default branch."""
        ...

    def merged_prs(self, commits: list[str]) -> list[MergedPR]:
        """The merged PRs that may have brought ``commits`` in (the checker decides in git which
        commits each one brought: this is only where to look)."""
        ...

    def open_prs(self) -> dict[int, list[str]]:
        """Open PRs and the paths each one changes (the inventory)."""
        ...

    def prs(self, since: datetime | None = None, limit: int | None = None) -> list[PRRef]:
        """The PRs of a period, newest first: merged since ``since`` (all when None), and open
        ones; at most ``limit``."""
        ...

    def facts(self, pr: PRRef, teams: tuple[str, ...]) -> PRFacts:
        """The facts of a PR ``prs`` listed, with the members of ``teams``."""
        ...

    def read_ahead(self) -> None:
        """A hint: read what the source reads of its own now (a deploy does it while git walks)."""
        ...

    def prefetch(self, graph: Graph, ranges: list[tuple[str, str]]) -> None:
        """A hint: the ``(fork, head)`` ranges whose facts the checker will ask for."""
        ...
