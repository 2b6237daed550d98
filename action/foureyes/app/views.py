"""The read-only governance views: inventory, history, events (the event log) and simulate (a
policy what-if). Each reads the registry, the deploy record and the PRs; none changes them."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import EXIT_FAILED, EXIT_OK
from ..repo import Repo
from .common import check_names, deploy_record, local_record, repo_root, unknown

if TYPE_CHECKING:
    from ..views.inventory import Row
    from ..views.simulate import Simulation


@dataclass(frozen=True)
class Sources:
    """Where a view reads PRs and the deploy record from: GitHub (``repo_name``), a record file,
    or the local PR files (``ledger``)."""

    repo_name: str | None  # PRs (and the record, unless record_path) from GitHub
    token: str | None
    record_path: str | None
    ledger: Path


@dataclass(frozen=True)
class InventoryRequest:
    ref: str
    sources: Sources


@dataclass(frozen=True)
class InventoryResult:
    root: Path
    rows: list[Row]
    environments: list[str]
    repository: str  # what the page is titled: owner/name on GitHub, else the checkout's folder


def inventory(request: InventoryRequest) -> InventoryResult:
    from ..deploy.provenance import Checker
    from ..deploy.stores import provenance_source
    from ..views.inventory import build, read_ahead

    root = repo_root()
    with Repo(root) as repo:  # the command's session: what it reads of git
        read_ahead(repo, request.ref)
        with deploy_record(
            root, request.sources.record_path, request.sources.repo_name, request.sources.token
        ) as record:
            source = provenance_source(
                repo, request.sources.ledger, request.sources.repo_name, request.sources.token
            )
            rows, envs = build(
                repo,
                request.ref,
                record,
                source.open_prs(),
                checker=Checker(repo, source, cache=record),
            )
        return InventoryResult(root, rows, envs, request.sources.repo_name or root.name)


@dataclass(frozen=True)
class HistoryRequest:
    name: str | None  # the deployment whose changes to list
    env_name: str | None  # with at: the environment whose live deployments to show
    at: datetime | None
    ref: str
    sources: Sources


@dataclass(frozen=True)
class HistoryResult:
    rows: list[dict]
    name: str | None = None  # the changes of this deployment, or
    env_name: str | None = None  # what was live in this environment
    at: str | None = None  # at this moment (ISO 8601)


def history(request: HistoryRequest) -> HistoryResult:
    from ..deploy.eventlog import iso
    from ..deploy.provenance import Checker
    from ..deploy.stores import provenance_source
    from ..views.history import governance_history, live_at

    root = repo_root()
    with Repo(root) as repo:  # the command's session: what it reads of git
        if request.env_name and request.at:
            when = iso(request.at)
            check_names(repo, request.env_name, ref=request.ref)
            record_of = deploy_record(
                root, request.sources.record_path, request.sources.repo_name, request.sources.token
            )
            with record_of as record:
                live = live_at(record.history(request.env_name), when)
            rows = [
                {
                    "deployment": n,
                    "model": h["data"].get("model", {}).get("name"),
                    "version": h["data"].get("model", {}).get("version"),
                    "deployed_at": h["at"],
                    "commit": h["commit"],
                    "pr": h["approval"].get("pr"),
                    "approvers": h["approval"].get("approvers", []),
                }
                for n, h in sorted(live.items())
            ]
            return HistoryResult(rows, env_name=request.env_name, at=when)
        name = request.name or ""
        from ..deploy.record import DEFAULT_PATH

        # approvals kept by earlier deploys are read back from a local record, when there is one
        kept = (
            Path(request.sources.record_path)
            if request.sources.record_path
            else None
            if request.sources.repo_name
            else root / DEFAULT_PATH
        )
        with (
            contextlib.closing(local_record(root, str(kept)))
            if kept and kept.is_file()
            else contextlib.nullcontext() as cache
        ):
            source = provenance_source(
                repo, request.sources.ledger, request.sources.repo_name, request.sources.token
            )
            checker = Checker(repo, source, cache=cache)
            rows = [r.to_json() for r in governance_history(repo, name, request.ref, checker)]
        if not rows:  # never in the history: a typo (a deleted deployment still has its history)
            check_names(repo, deployment=name, ref=request.ref)
        return HistoryResult(rows, name=name)


@dataclass(frozen=True)
class EventsRequest:
    deployment: str | None
    environment: str | None
    event_type: str | None
    status: str | None
    since: datetime | None
    until: datetime | None
    text: str | None
    prune: bool
    retention_days: int
    repo_name: str | None  # first import the event logs its workflow runs uploaded
    token: str | None
    record_path: str | None
    now: datetime


@dataclass(frozen=True)
class EventsResult:
    rows: list[dict]


def events(
    request: EventsRequest,
    imported: Callable[[int], None],
    pruned: Callable[[int], None],
    warn: Callable[[str], None],
) -> EventsResult:
    """``imported``, ``pruned``: told how many events came in from GitHub, went by retention."""
    from ..deploy.eventlog import Filters, known_types, prune, query

    root = repo_root(required=False)  # the log can be read from a copied --record
    filters = Filters(
        request.deployment,
        request.environment,
        request.event_type,
        request.status,
        request.since,
        request.until,
        request.text,
    )
    record = local_record(root, request.record_path)
    try:
        if request.event_type and request.event_type not in known_types(record.db):
            raise unknown("event type", request.event_type, known_types(record.db))
        if request.repo_name:
            from ..github.client import make_client
            from ..github.events import pull_events

            token = request.token
            gh = make_client(token)
            with Repo(root) as repo:  # the command's session: what it reads of git
                imported(
                    pull_events(gh, request.repo_name, token or "", record, warn=warn, repo=repo)
                )
        if request.prune:
            pruned(prune(record.db, request.now, request.retention_days))
        rows = query(record.db, filters)
    finally:
        record.close()
    return EventsResult(rows)


@dataclass(frozen=True)
class SimulateRequest:
    policy_file: str  # the candidate policy (read as data, never run), as given
    since: datetime
    limit: int | None
    sources: Sources


@dataclass(frozen=True)
class SimulateResult:
    simulation: Simulation

    @property
    def exit_code(self) -> int:
        return EXIT_FAILED if self.simulation.failed else EXIT_OK


def simulate(request: SimulateRequest) -> SimulateResult:
    from ..deploy.eventlog import iso
    from ..sources.github import GitHubPRs
    from ..sources.ledger import Ledger
    from ..views.simulate import load_candidate
    from ..views.simulate import simulate as replay_all

    root = repo_root()
    with Repo(root) as repo:  # the command's session: what it reads of git
        candidate = load_candidate(Path(request.policy_file))
        label = request.policy_file
        limit = request.limit
        period = f"merged since {iso(request.since)} and open" + (
            f" (at most {limit})" if limit else ""
        )
        if request.sources.repo_name:
            from ..github.client import make_client

            # the record caches merged PRs' facts: a rerun does not refetch
            record = local_record(root, request.sources.record_path)
            try:
                gh = make_client(request.sources.token)
                source = GitHubPRs(
                    gh,
                    request.sources.repo_name,
                    repo,
                    request.sources.token,
                    facts_cache=record.db,
                )
                sim = replay_all(
                    repo, source, candidate, label, period, since=request.since, limit=limit
                )
            finally:
                record.close()
        else:
            ledger = (
                request.sources.ledger
                if request.sources.ledger.is_absolute()
                else root / request.sources.ledger
            )
            sim = replay_all(
                repo,
                Ledger(repo, ledger),
                candidate,
                label,
                period,
                since=request.since,
                limit=limit,
            )
        return SimulateResult(sim)
