"""`foureyes promote`: open the change request that promotes a commit of the default branch into
an environment's branch.

A promotion is a PR like any other: its head is the commit (a branch `promote/<env>-<sha>` at it),
its base the environment's branch, and the gate judges what it changes there under the branch's
policy and the default branch's. Only what an approved PR into the branch brought in is served
(deploy/provenance.unpromoted), so the release branch cannot be moved some other way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .. import repo as gitrepo
from ..errors import ConfigError, Refused
from ..repo import Repo
from .rollback import ref_component

if TYPE_CHECKING:
    from ..github.client import GitHubClient


class PromoteError(Refused):
    """Nothing to promote, or a commit that cannot be promoted (exit 1)."""


@dataclass
class Step:
    name: str
    before: dict | None  # the model the environment's branch serves now
    after: dict | None  # the model the promoted commit serves

    def describe(self, text: Callable[[str], str] = str) -> str:
        """``text``: the escaping of the medium it goes to (the names come from registry files)."""

        def model(m: dict | None) -> str:
            return text(f"{m['name']} v{m['version']}") if m else "nothing"

        return f"{text(self.name)}: {model(self.before)} -> {model(self.after)}"


@dataclass
class Promotion:
    environment: str
    into: str  # the environment's branch
    commit: str  # the commit of the default branch being promoted
    steps: list[Step]

    @property
    def branch(self) -> str:
        return f"promote/{ref_component(f'{self.environment}-{self.commit[:12]}')}"

    @property
    def title(self) -> str:
        return f"Promote {self.commit[:12]} to {self.environment}"

    @property
    def body(self) -> str:
        from ..report.escape import (
            markdown,  # names and versions come from registry files any PR may edit
        )

        lines = [
            f"Promotes {self.commit} of the default branch into {markdown(self.into)}, which "
            "deploys "
            f"**{markdown(self.environment)}**. What it serves changes:",
            "",
        ]
        lines += [f"- {s.describe(markdown)}" for s in self.steps]
        lines += [
            "",
            "_Opened by `foureyes promote`; approved like any change, by someone other than "
            "its author._",
        ]
        return "\n".join(lines)


def prepare(
    repo: Repo, env_name: str, into: str | None, to: str | None, default_branch: str
) -> Promotion:
    """What promoting ``to`` (default: the default branch's tip) into ENV's branch changes there."""
    from .reconcile import desired_state, environment

    tip = gitrepo.branch_tip(repo, default_branch)
    env, all_envs = environment(repo, tip, env_name)
    if env.matches_branch(default_branch):
        raise ConfigError(
            f"{env.name} deploys from the default branch {default_branch!r}: every merge there "
            "is its promotion"
        )
    if into is None:
        if "*" in env.branch:
            raise ConfigError(
                f"{env.name} deploys from {env.branch!r}: name the branch with --into, "
                f"e.g. --into {env.branch.replace('*', 'YYYY.MM')}"
            )
        into = env.branch
    if not env.matches_branch(into):
        raise ConfigError(f"{into!r} is not a branch {env.name} deploys from ({env.branch!r})")
    commit = gitrepo.resolve(repo, to or tip)
    if not gitrepo.is_ancestor(repo, commit, tip):
        raise PromoteError(
            f"{commit[:12]} is not a commit of {default_branch}: only what was merged there "
            "is promoted"
        )
    current = _branch_or_none(repo, into)
    if current is not None and gitrepo.is_ancestor(repo, commit, current):
        raise PromoteError(
            f"{commit[:12]} is already in {into}: to go back, roll the deployment back "
            f"(foureyes rollback NAME --env {env.name})"
        )
    wanted, problems = desired_state(repo, commit, env, all_envs)
    if problems:
        raise PromoteError(
            f"the registry at {commit[:12]} has {len(problems)} problem(s), e.g. {problems[0]}"
        )
    served = desired_state(repo, current, env, all_envs)[0] if current is not None else {}
    steps = [
        Step(
            name,
            served[name].model if name in served else None,
            wanted[name].model if name in wanted else None,
        )
        for name in sorted({*wanted, *served})
        if (served[name].data if name in served else None)
        != (wanted[name].data if name in wanted else None)
    ]
    if not steps:
        raise PromoteError(f"{commit[:12]} changes nothing {env.name} serves from {into}")
    return Promotion(env.name, into, commit, steps)


def _branch_or_none(repo: Repo, name: str) -> str | None:
    try:
        return gitrepo.branch_tip(repo, name)
    except gitrepo.GitError:
        return None


def branch_locally(root: Path, promotion: Promotion) -> None:
    """The promotion's head branch at the commit (moved there if it exists)."""
    gitrepo.git(root, "branch", "-f", promotion.branch, promotion.commit)


def open_pull_request(gh: GitHubClient, repo_name: str, promotion: Promotion) -> str:
    """A branch at the commit and a PR into the environment's branch: two API calls. A second run
    moves the branch (force) and reuses the PR already open for it, its description rewritten."""
    from ..errors import EvaluationError
    from ..github.client import api_errors, describe
    from ..github.pulls import open_pull, put_branch

    try:
        put_branch(gh.requester, repo_name, promotion.branch, promotion.commit)
        # a reused PR keeps its number and reviews; its description says what it promotes now
        pr = open_pull(
            gh.requester,
            repo_name,
            promotion.branch,
            promotion.into,
            promotion.title,
            promotion.body,
            rewrite=True,
        )
    except api_errors() as exc:
        raise EvaluationError(f"could not open the promotion PR: {describe(exc)}") from None
    return pr["html_url"]
