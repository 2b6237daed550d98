"""Provenance from GitHub: the merged PRs that brought a commit in, their reviews until the merge."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..repo import Repo

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .. import repo as gitrepo
from ..errors import EvaluationError
from ..github import evidence as on_github
from ..github.client import api_errors, describe
from ..github.facts import fetch_facts
from ..github.teams import direct_members
from ..judging import evidence
from .protocol import MergedPR

if TYPE_CHECKING:
    from github.PullRequest import PullRequest

    from ..github.client import GitHubClient
    from ..judging.facts import PRFacts


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


CLOCK_SKEW = timedelta(
    days=1
)  # committer clocks run ahead of GitHub's by less than this, or cost a request


def _listing_bound(repo: Repo, commits: list[str]) -> datetime | None:
    """How far back the closed-PR listing must go: the oldest committer date among the commits,
    less CLOCK_SKEW (None: nothing to look for).

    Why it is safe: a PR that brought commit C in was merged after C was pushed (GitHub cannot
    merge what it does not have), and a PR's `updated_at` is never before its `merged_at` (a
    merge updates the PR; an assumption: GitHub's docs do not state it, and were it wrong, the
    fallback below would still ask), so a PR merged after the bound is listed before the
    listing, sorted by update, passes it. Committer dates are
    written by whoever committed, so they prove nothing: a date forged into the past only widens
    the listing (more pages, never fewer PRs); one forged into the future can leave the PR that
    brought C unlisted, and then C is simply asked about on its own (`merged_prs`' fallback).
    Either way a forged date costs requests; it never decides provenance, which the checker
    works out in git from whatever PRs are found."""
    if not commits:
        return None
    out = (
        repo.git(
            "log",
            "--no-walk=unsorted",
            "--stdin",
            "--format=%ct",
            input="".join(f"{c}\n" for c in commits).encode(),
        )
        .decode()
        .split()
    )
    return datetime.fromtimestamp(min(int(t) for t in out), UTC) - CLOCK_SKEW


def _merged_at(pr: PullRequest) -> str:
    """When a PR kept as merged was merged (the listing kept only PRs with a `merged_at`)."""
    if pr.merged_at is None:
        raise EvaluationError(f"PR #{pr.number}: merged, with no merge time")
    return pr.merged_at.isoformat()


class GitHubPRs:
    def __init__(self, gh: GitHubClient, repo_name: str, repo: Repo, token: str | None = None):
        """``token`` authenticates fetching PR commits the checkout lacks (never printed)."""
        self.gh = _RepoOnce(gh)
        self.repo_name = repo_name
        self.repo = repo
        self.token = token
        self._default: str | None = None
        self._teams: dict[str, object] = {}
        self._app: int | None = None

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

        First one listing of the closed PRs, newest update first, down to the bound of
        `_listing_bound` (`_listed`): a listed PR is kept when it was merged and its merge (or
        squash) commit is among the commits, or its own commits (`rev-list head ^base`, from one
        graph read) are. Then, failing closed, every commit no kept PR explains is asked about
        on its own, newest first (GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls: "the merged
        pull request that introduced the commit",
        https://docs.github.com/en/rest/commits/commits#list-pull-requests-associated-with-a-commit),
        as before: direct pushes, PRs past the bound, PRs the listing missed while it was paged. A
        commit among the own commits of a PR found so far is not asked about again. So the requests
        follow the pages of PRs merged since the oldest commit, not the commits. PR commits the
        checkout lacks are fetched in one git call at the end."""
        from github.PaginatedList import PaginatedList
        from github.PullRequest import PullRequest

        graph = gitrepo.Graph(self.repo, commits)
        wanted = set(commits)
        covered: set[str] = set()
        found: dict[int, PullRequest] = {}

        def own(pr: PullRequest) -> frozenset[str]:
            if pr.head.sha in graph and pr.base.sha in graph:
                return graph.only_in(pr.head.sha, pr.base.sha)
            return frozenset()

        try:
            for pr in self._listed(_listing_bound(self.repo, commits)):
                if pr.merged_at is None or pr.number in found:
                    continue
                mine = own(pr)
                if pr.merge_commit_sha in wanted or mine & wanted:
                    found[pr.number] = pr
                    covered |= mine | {pr.merge_commit_sha}
            for commit in reversed(commits):
                if commit in covered:
                    continue
                for pr in PaginatedList(
                    PullRequest,
                    self.gh.requester,
                    f"/repos/{self.repo_name}/commits/{commit}/pulls",
                    None,
                ):
                    if pr.merged_at is None or pr.number in found:
                        continue
                    found[pr.number] = pr
                    covered |= own(pr)
            gitrepo.ensure_commits(
                self.repo,
                [s for pr in found.values() for s in (pr.base.sha, pr.head.sha)],
                self.token,
            )
            return [
                MergedPR(
                    pr.number,
                    pr.base.sha,
                    pr.head.sha,
                    pr.merge_commit_sha or "",
                    _merged_at(pr),
                    self._facts_loader(pr),
                    pr.base.ref,
                )
                for pr in found.values()
            ]
        except api_errors() as exc:
            raise EvaluationError(describe(exc)) from None

    def _listed(self, bound: datetime | None) -> Iterator[PullRequest]:
        """Closed PRs, most recently updated first, until one was last updated before ``bound``
        (GET /repos/{owner}/{repo}/pulls,
        https://docs.github.com/rest/pulls/pulls#list-pull-requests:
        `state` open|closed|all, `sort` created|updated|popularity|long-running, `direction`
        asc|desc, `per_page` at most 100; items are `pull-request-simple`). The client asks 100 per
        page (client.make_client) and PyGithub follows the Link header lazily, so stopping here
        stops the paging. All bases are listed: the checker, not the listing, decides which base
        counts, and a PR into another branch only adds a candidate it refuses."""
        if bound is None:
            return
        repo = self.gh.get_repo(self.repo_name)
        for pr in repo.get_pulls(state="closed", sort="updated", direction="desc"):
            if pr.updated_at is not None and pr.updated_at < bound:
                return
            yield pr

    def open_prs(self) -> dict[int, list[str]]:
        """Open PRs and the paths each one changes (one request per PR for its files)."""
        try:
            repo = self.gh.get_repo(self.repo_name)
            return {
                pr.number: [f.filename for f in pr.get_files()]
                for pr in repo.get_pulls(state="open")
            }
        except api_errors() as exc:
            raise EvaluationError(describe(exc)) from None

    def _members(self, team: str) -> Any:  # direct_members' frozenset, kept in an object map
        """A team's direct members, read once per run however many PRs name the team."""
        if team not in self._teams:
            self._teams[team] = direct_members(self.gh, *team.split("/", 1))
        return self._teams[team]

    def _facts_loader(
        self,
        listed: Any,  # a merged PullRequest: PyGithub's stubs say merged_at may be None
    ) -> Callable[[tuple[str, ...]], PRFacts]:
        """Facts of a listed PR (pull-request-simple): its commits and reviews, no GET pulls/{n}."""
        number, _base, merged_at = listed.number, listed.base.sha, listed.merged_at

        def load(teams: tuple[str, ...]) -> PRFacts:
            try:
                facts, _ = fetch_facts(self.gh, self.repo_name, number, [], listed=listed)
                # the approval that counts is the one the PR had when it was merged
                facts.reviews = [
                    r for r in facts.reviews if r.submitted_at and _at(r.submitted_at) <= merged_at
                ]
                recorded = on_github.latest(
                    self.gh, self.repo_name, number, facts.head_sha, self._trusted_app()
                )
                known = recorded["teams"] if recorded is not None else {}
                facts.team_members = {
                    team: self._members(team) for team in teams if team not in known
                }
            except api_errors() as exc:
                raise EvaluationError(describe(exc)) from None
            # the facts of the decision, where the gate recorded them; today's otherwise
            return evidence.apply(recorded, facts) if recorded is not None else facts

        return load

    def _trusted_app(self) -> int:
        """The App whose evidence counts, resolved once per run."""
        if self._app is None:
            self._app = on_github.app_id(self.gh)
        return self._app


class _RepoOnce:
    """The client, with GET /repos/{owner}/{repo} made once per run (the default branch and every
    PR's facts read the same repository)."""

    def __init__(self, gh: GitHubClient):
        self._gh = gh
        self._repos: dict[str, object] = {}

    def get_repo(self, name: str) -> Any:  # what the client's get_repo gave, kept as it came
        if name not in self._repos:
            self._repos[name] = self._gh.get_repo(name)
        return self._repos[name]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._gh, name)
