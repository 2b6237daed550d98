"""rollback and promote: prepare the change request (a branch, or a PR on GitHub) that restores an
earlier approved model, or promotes a commit of the default branch into an environment's branch.
Either way the PR is judged and approved like any change."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import EXIT_FAILED, EXIT_OK
from .common import deploy_record, repo_root

if TYPE_CHECKING:
    from ..deploy.promote import Promotion
    from ..deploy.rollback import Rollback


@dataclass(frozen=True)
class RollbackRequest:
    name: str
    env_name: str
    to_version: str | None
    record_path: str | None
    repo_name: str | None  # open the rollback as a PR here
    base_branch: str
    token: str | None


@dataclass(frozen=True)
class RollbackResult:
    change: Rollback | None = None
    refused: str | None = None  # why there is nothing to roll back to
    url: str | None = None  # the PR opened on GitHub
    patch: str | None = None  # the local commit's patch

    @property
    def exit_code(self) -> int:
        return EXIT_FAILED if self.refused else EXIT_OK


def rollback(request: RollbackRequest) -> RollbackResult:
    from ..deploy.rollback import RollbackError, commit_locally, open_pull_request, prepare
    from ..repo import Repo, resolve

    root = repo_root()
    with Repo(root) as repo:  # the command's session: what it reads of git
        base_sha = resolve(repo, request.base_branch if request.repo_name else "HEAD")
        with deploy_record(root, request.record_path, request.repo_name, request.token) as record:
            history = record.history(request.env_name, request.name)
        try:
            change = prepare(
                repo, base_sha, request.name, request.env_name, history, request.to_version
            )
        except RollbackError as exc:
            return RollbackResult(refused=str(exc))
        if request.repo_name:
            from ..github.client import make_client

            url = open_pull_request(
                make_client(request.token), request.repo_name, change, request.base_branch, base_sha
            )
            return RollbackResult(change, url=url)
        return RollbackResult(change, patch=commit_locally(root, change))


@dataclass(frozen=True)
class PromoteRequest:
    env_name: str
    into: str | None  # the environment's branch, when it is a pattern
    to_commit: str | None  # default: the default branch's tip
    repo_name: str | None  # open the promotion as a PR here
    token: str | None


@dataclass(frozen=True)
class PromoteResult:
    promotion: Promotion | None = None
    refused: str | None = None  # why there is nothing to promote
    url: str | None = None  # the PR opened on GitHub (else a local branch)

    @property
    def exit_code(self) -> int:
        return EXIT_FAILED if self.refused else EXIT_OK


def promote(request: PromoteRequest, prepared: Callable[[Promotion], None]) -> PromoteResult:
    """``prepared``: told what the promotion changes before any branch or PR is made."""
    from ..deploy.promote import PromoteError, branch_locally, open_pull_request, prepare
    from ..errors import EvaluationError
    from ..repo import Repo, default_branch

    root = repo_root()
    with Repo(root) as repo:  # the command's session: what it reads of git
        gh = None
        if request.repo_name:
            from ..github.client import api_errors, describe, make_client

            gh = make_client(request.token)
            try:
                default = gh.get_repo(request.repo_name).default_branch
            except api_errors() as exc:
                raise EvaluationError(describe(exc)) from None
        else:
            default = default_branch(repo)
        try:
            promotion = prepare(repo, request.env_name, request.into, request.to_commit, default)
        except PromoteError as exc:
            return PromoteResult(refused=str(exc))
        prepared(promotion)
        if gh is not None and request.repo_name:
            return PromoteResult(promotion, url=open_pull_request(gh, request.repo_name, promotion))
        branch_locally(root, promotion)
        return PromoteResult(promotion)
