"""Setting a repository up: init (scaffold), codeowners, pin (policy users to account ids) and
protect (the GitHub environments and rulesets that back the gate)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import EXIT_FAILED, EXIT_OK, EvaluationError
from .common import Failed, repo_root

if TYPE_CHECKING:
    from ..github.protect import ProtectResult
    from ..registry.pins import PinResult, Unpinned
    from ..setup.init import InitResult


@dataclass(frozen=True)
class InitRequest:
    force: bool
    action_repo: str
    ref: str  # the action commit the workflows pin
    token: str | None  # pins the policy users, when given


@dataclass(frozen=True)
class InitOutcome:
    root: Path
    files: InitResult
    codeowners_skipped: str = ""  # why .github/CODEOWNERS was not written


def init(request: InitRequest) -> InitOutcome:
    from ..registry.model import ConfigError
    from ..setup.codeowners import render, write_or_check
    from ..setup.init import scaffold, write

    root = repo_root(required=False)
    own = root / "registry" / "environments.yaml"  # kept unless --force: wire its targets
    result = write(
        root,
        scaffold(
            request.action_repo,
            request.ref,
            own.read_bytes() if own.exists() and not request.force else None,
        ),
        request.force,
    )
    codeowners = root / ".github" / "CODEOWNERS"
    skipped = ""
    if codeowners.exists() and not request.force:
        result.kept.append(".github/CODEOWNERS")
    else:
        try:
            write_or_check(root, render(root), check=False)
            result.written.append(".github/CODEOWNERS")
        except ConfigError as exc:  # a policy kept from before may be broken: write the rest
            skipped = f"skipped .github/CODEOWNERS: {exc}"
    return InitOutcome(root, result, skipped)


@dataclass(frozen=True)
class PinAfterInit:
    unreadable: str | None = None  # a kept file that does not parse (validate says more)
    unpinned: int = 0  # users left unpinned for want of a token
    pinned: list[tuple[str, str, int]] = field(default_factory=list)  # (file, login, id)


def pin_after_init(root: Path, token: str | None) -> PinAfterInit:
    """A policy kept from before may list bare logins: pin them now if there is a token."""
    from ..registry.pins import pin
    from ..registry.yamlload import LoadError

    try:
        _, unpinned = pin(root, None, check=True)
    except LoadError as exc:
        return PinAfterInit(unreadable=str(exc))
    if not unpinned:
        return PinAfterInit()
    if not token:
        return PinAfterInit(unpinned=len(unpinned))
    from ..github.accounts import pin_lookup
    from ..github.client import make_client

    result, _ = pin(root, pin_lookup(make_client(token)))
    return PinAfterInit(pinned=result.pinned)


@dataclass(frozen=True)
class CodeownersResult:
    exit_code: int
    message: str


def codeowners(check: bool) -> CodeownersResult:
    from ..setup.codeowners import render, write_or_check

    root = repo_root()
    status, message = write_or_check(root, render(root), check)
    return CodeownersResult(status, message)


@dataclass(frozen=True)
class PinRequest:
    check: bool  # look nothing up, write nothing
    token: str | None


@dataclass(frozen=True)
class PinOutcome:
    unpinned: list[Unpinned]
    exit_code: int
    result: PinResult | None = None  # what was pinned (None: nothing was looked up)


def pin(request: PinRequest, found: Callable[[list[Unpinned]], None]) -> PinOutcome:
    """``found``: told the unpinned users before any lookup (and before a missing token fails)."""
    from ..registry.pins import pin as pin_users

    root = repo_root()
    _, unpinned = pin_users(root, None, check=True)
    found(unpinned)
    if not unpinned:
        return PinOutcome(unpinned, EXIT_OK)
    if request.check:
        return PinOutcome(unpinned, EXIT_FAILED)
    if not (request.token or os.environ.get("GITHUB_TOKEN")):
        raise EvaluationError(
            "no GitHub token: pinning looks each login up on GitHub (GET /users/{username}); "
            "set GITHUB_TOKEN (any token, e.g. `gh auth token`) or pass --token, or write "
            '{login: "@name", id: N} by hand from https://api.github.com/users/<name>'
        )
    from ..github.accounts import pin_lookup
    from ..github.client import make_client

    result, _ = pin_users(root, pin_lookup(make_client(request.token)))
    return PinOutcome(unpinned, EXIT_OK, result)


@dataclass(frozen=True)
class ProtectRequest:
    repo_name: str
    check: bool  # change nothing, report drift
    app_id: int | None
    token: str | None


@dataclass(frozen=True)
class ProtectOutcome:
    check: bool
    result: ProtectResult
    waits_once: bool  # the deploy workflow asks the environment's reviewers once

    @property
    def exit_code(self) -> int:
        failed = self.result.unapplied or (self.check and self.result.drift)
        return EXIT_FAILED if failed else EXIT_OK


def protect(request: ProtectRequest) -> ProtectOutcome:
    from ..github.client import make_client
    from ..github.protect import deploy_waits_once
    from ..github.protect import protect as apply
    from ..registry.model import ENVIRONMENTS_FILE, parse_environments
    from ..repo import WorkTree

    root = repo_root()
    data = WorkTree(root).read(ENVIRONMENTS_FILE)
    if data is None:
        raise Failed(f"{ENVIRONMENTS_FILE} not found")
    waits_once = deploy_waits_once(WorkTree(root).read(".github/workflows/foureyes-deploy.yml"))
    result = apply(
        make_client(request.token),
        request.repo_name,
        parse_environments(data),
        request.check,
        request.app_id,
        waits_once,
    )
    return ProtectOutcome(request.check, result, waits_once)
