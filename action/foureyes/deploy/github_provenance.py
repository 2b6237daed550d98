"""Provenance from GitHub: the merged PRs that brought a commit in, their reviews until the merge."""

from __future__ import annotations

from datetime import datetime

from .. import gitrepo
from ..errors import EvaluationError
from ..github.client import api_errors, describe
from ..github.facts import fetch_facts
from ..github.teams import direct_members
from ..plan import load_policy
from .provenance import MergedPR


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class GitHubPRs:
    def __init__(self, gh, repo_name: str, root, token: str | None = None):
        """``token`` authenticates fetching PR commits the checkout lacks (never printed)."""
        self.gh = _RepoOnce(gh)
        self.repo_name = repo_name
        self.root = root
        self.token = token
        self._default: str | None = None
        self._teams: dict[str, object] = {}

    def default_branch(self) -> str:
        """The repository's default branch (GET /repos/{owner}/{repo}: `default_branch`)."""
        if self._default is None:
            try:
                self._default = self.gh.get_repo(self.repo_name).default_branch
            except api_errors() as exc:
                raise EvaluationError(describe(exc)) from None
        return self._default

    def merged_prs(self, commits: list[str]) -> list[MergedPR]:
        """The merged PRs that brought the commits in, each PR once; the checker then decides in git
        which commits each one brought, so this is only where to look.

        GitHub is asked per commit (GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls: "the merged
        pull request that introduced the commit", https://docs.github.com/en/rest/commits/commits#list-pull-requests-associated-with-a-commit),
        newest first, and a commit already among the own commits of a PR found so far (`rev-list
        head ^base`, from one graph read) is not asked about again: the requests follow the merged
        PRs (their merge or squash commits) and the direct pushes, not every commit of every PR.
        PR commits the checkout lacks are fetched in one git call at the end."""
        from github.PaginatedList import PaginatedList
        from github.PullRequest import PullRequest

        graph = gitrepo.Graph(self.root, commits)
        covered: set[str] = set()
        found: dict[int, object] = {}
        try:
            for commit in reversed(commits):
                if commit in covered:
                    continue
                for pr in PaginatedList(PullRequest, self.gh.requester, f"/repos/{self.repo_name}/commits/{commit}/pulls",
                                        None):
                    if pr.merged_at is None or pr.number in found:
                        continue
                    found[pr.number] = pr
                    if pr.head.sha in graph and pr.base.sha in graph:
                        covered |= graph.only_in(pr.head.sha, pr.base.sha)
            gitrepo.ensure_commits(self.root, [s for pr in found.values() for s in (pr.base.sha, pr.head.sha)], self.token)
            return [MergedPR(pr.number, pr.base.sha, pr.head.sha, pr.merge_commit_sha or "", pr.merged_at.isoformat(),
                             self._facts_loader(pr.number, pr.base.sha, pr.merged_at), pr.base.ref)
                    for pr in found.values()]
        except api_errors() as exc:
            raise EvaluationError(describe(exc)) from None

    def open_prs(self) -> dict[int, list[str]]:
        """Open PRs and the paths each one changes (one request per PR for its files)."""
        try:
            repo = self.gh.get_repo(self.repo_name)
            return {pr.number: [f.filename for f in pr.get_files()] for pr in repo.get_pulls(state="open")}
        except api_errors() as exc:
            raise EvaluationError(describe(exc)) from None

    def _members(self, team: str):
        """A team's direct members, read once per run however many PRs name the team."""
        if team not in self._teams:
            self._teams[team] = direct_members(self.gh, *team.split("/", 1))
        return self._teams[team]

    def _facts_loader(self, number: int, base: str, merged_at: datetime):
        def load():
            policy = load_policy(gitrepo.GitTree(self.root, base))
            try:
                facts, _ = fetch_facts(self.gh, self.repo_name, number, [])
                facts.team_members = {team: self._members(team) for team in policy.approver_teams}
            except api_errors() as exc:
                raise EvaluationError(describe(exc)) from None
            # the approval that counts is the one the PR had when it was merged
            facts.reviews = [r for r in facts.reviews if r.submitted_at and _at(r.submitted_at) <= merged_at]
            return facts
        return load


class _RepoOnce:
    """The client, with GET /repos/{owner}/{repo} made once per run (the default branch and every
    PR's facts read the same repository)."""

    def __init__(self, gh):
        self._gh = gh
        self._repos: dict[str, object] = {}

    def get_repo(self, name: str):
        if name not in self._repos:
            self._repos[name] = self._gh.get_repo(name)
        return self._repos[name]

    def __getattr__(self, name: str):
        return getattr(self._gh, name)
