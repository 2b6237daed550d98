"""deploy: reconcile an environment with the registry at HEAD, after re-checking every change's
approval; resolve: the approved model a deployment serves in an environment."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import EXIT_FAILED, EXIT_OK
from ..repo import Repo
from .common import Failed, UsageProblem, check_names, repo_root

if TYPE_CHECKING:
    from ..deploy.reconcile import DeployResult, Step
    from ..deploy.record import Entry


@dataclass(frozen=True)
class DeployRequest:
    env_name: str
    dry_run: bool
    record_path: str | None
    ledger: Path
    repo_name: str | None
    repo_given: bool  # --repo on the command line, not only $GITHUB_REPOSITORY
    token: str | None
    only: frozenset[str]
    branch_name: str | None
    now: datetime


@dataclass(frozen=True)
class DeployOutcome:
    result: DeployResult

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.result.ok else EXIT_FAILED


def run(
    request: DeployRequest, progress: Callable[[Step], None], warn: Callable[[str], None]
) -> DeployOutcome:
    from ..deploy.reconcile import branch_mismatch, current_branch, deploy
    from ..deploy.stores import open_record, provenance_source
    from ..report.notify import notify_deploy

    root = repo_root()
    with Repo(root) as repo:  # the command's session: what it reads of git
        # on GitHub (in Actions, or --repo given) provenance comes from GitHub itself, never a local
        # file
        on_github = bool(request.repo_name) and (
            os.environ.get("GITHUB_ACTIONS") == "true" or request.repo_given
        )
        repo_name = request.repo_name if on_github else None
        branch = request.branch_name or os.environ.get("GITHUB_REF_NAME") or current_branch(root)
        wrong = branch_mismatch(repo, request.env_name, branch)
        if wrong:
            raise UsageProblem(wrong)
        with open_record(
            root,
            request.record_path,
            repo_name if not request.record_path else None,
            request.token,
            read_only=request.dry_run,
        ) as rec:
            source = provenance_source(repo, request.ledger, repo_name, request.token)
            result = deploy(
                repo,
                request.env_name,
                rec,
                source,
                dry_run=request.dry_run,
                progress=progress,
                only=set(request.only) if request.only else None,
                branch=branch,
                now=request.now,
            )
            notify_deploy(repo, result, rec, warn=warn)
        return DeployOutcome(result)


@dataclass(frozen=True)
class ResolveRequest:
    name: str
    env_name: str
    record_path: str | None


@dataclass(frozen=True)
class ResolveResult:
    name: str
    env_name: str
    entry: Entry | None  # None: never deployed there

    @property
    def served(self) -> bool:
        return self.entry is not None and self.entry.status == "success"

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.served else EXIT_FAILED


def resolve(request: ResolveRequest) -> ResolveResult:
    from ..deploy.record import DEFAULT_PATH, SqliteRecord

    root = repo_root(required=False)  # an inference pipeline may resolve from a copied record
    with Repo(root) as repo:  # the command's session: what it reads of git
        check_names(repo, request.env_name)
        path = Path(request.record_path) if request.record_path else root / DEFAULT_PATH
        if not path.exists():
            raise Failed(f"no deploy record at {path}: nothing has been deployed")
        record = SqliteRecord(path)
        try:
            entry = record.entries(request.env_name).get(request.name)
        finally:
            record.close()
        if entry is None:
            check_names(repo, deployment=request.name)  # a typo is not "not deployed"
        return ResolveResult(request.name, request.env_name, entry)
