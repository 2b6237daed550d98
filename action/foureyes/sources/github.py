"""PRs from GitHub, for the deploy's provenance check (the merged PRs that brought commits in, their
reviews until the merge, the facts the gate recorded) and for the what-if (the PRs of a period, a
merged PR's decided facts cached in the record): one `PRSource`, one way of reading GitHub."""

from __future__ import annotations

import dataclasses
import json
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
from .facts_json import facts_from_json, facts_to_json
from .protocol import MergedPR, PRRef

if TYPE_CHECKING:
    import sqlite3

    from github.PullRequest import PullRequest

    from ..github.client import GitHubClient
    from ..judging.facts import PRFacts, Review
    from ..repo import Repo


def _at(text: str) -> datetime:
    value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _aware(moment: datetime) -> datetime:
    """A time PyGithub gave, read as UTC when it carries no zone."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _until_merge(reviews: list[Review], merged_at: datetime) -> list[Review]:
    """The reviews submitted up to the merge: the approval that counts is the one the PR had when
    it was merged (a review is immutable once submitted, and carries its `submitted_at`)."""
    merged = _aware(merged_at)
    return [r for r in reviews if r.submitted_at and _at(r.submitted_at) <= merged]


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
    """GitHub as a `PRSource`. The deploy asks `merged_prs` (one listing of the closed PRs, then
    the commits it left unexplained one by one); the what-if asks `prs` and `facts` (one listing of
    every PR of the period, then each PR's facts). Both read a PR's facts through
    github.facts.fetch_facts, keep the reviews made until the merge, take what the gate recorded
    as the facts of its decision, and read each team's members and the trusted App once per run."""

    def __init__(
        self,
        gh: GitHubClient,
        repo_name: str,
        repo: Repo,
        token: str | None = None,
        facts_cache: sqlite3.Connection | None = None,
    ) -> None:
        """``token`` authenticates fetching PR commits the checkout lacks (never printed).
        ``facts_cache``: the record's database, where a merged PR's decided facts are kept for the
        what-if (table simulate_facts), so that a rerun does not fetch them again."""
        # make_client is lazy: get_repo and get_pull cost nothing until read
        self.gh = _RepoOnce(gh)
        self.repo_name = repo_name
        self.repo = repo
        self.token = token
        self.db = facts_cache
        self._default: str | None = None
        self._teams: dict[str, object] = {}
        self._app: int | None = None
        self._listed: dict[int, Any] = {}  # PRs `prs` listed, by number
        if self.db is not None:
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS simulate_facts (repo TEXT NOT NULL, number "
                "INTEGER NOT NULL, "
                "head TEXT NOT NULL, merge_commit TEXT NOT NULL, facts TEXT NOT NULL, "
                "PRIMARY KEY (repo, number, head, merge_commit))"
            )

    def default_branch(self) -> str:
        """The repository's default branch: as the what-if's PR listing named it (its base
        repository is this one, so it costs no request), else GET /repos/{owner}/{repo}:
        `default_branch`."""
        if self._default is None:
            try:
                self._default = self.gh.get_repo(self.repo_name).default_branch
            except api_errors() as exc:
                raise EvaluationError(describe(exc)) from None
        if not self._default:
            raise EvaluationError(f"GitHub names no default branch for {self.repo_name}")
        return self._default

    def read_ahead(self) -> None:
        """Nothing to read ahead: GitHub is asked when the checker asks."""

    def prefetch(self, graph: gitrepo.Graph, ranges: list[tuple[str, str]]) -> None:
        """Nothing to prefetch: a PR's commits come from GitHub with its facts."""

    # --- the provenance check -------------------------------------------------------------------

    def merged_prs(self, commits: list[str]) -> list[MergedPR]:
        """The merged PRs that brought the commits in, each PR once; the checker then decides in git
        which commits each one brought, so this is only where to look.

        First one listing of the closed PRs, newest update first, down to the bound of
        `_listing_bound` (`_closed_since`): a listed PR is kept when it was merged and its merge (or
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
            for pr in self._closed_since(_listing_bound(self.repo, commits)):
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

    def _closed_since(self, bound: datetime | None) -> Iterator[PullRequest]:
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

    def _facts_loader(
        self,
        listed: Any,  # a merged PullRequest: PyGithub's stubs say merged_at may be None
    ) -> Callable[[tuple[str, ...]], PRFacts]:
        """Facts of a listed PR (pull-request-simple): its commits and reviews, no GET pulls/{n}."""
        number, merged_at = listed.number, listed.merged_at

        def load(teams: tuple[str, ...]) -> PRFacts:
            try:
                facts, _ = fetch_facts(self.gh, self.repo_name, number, [], listed=listed)
                facts.reviews = _until_merge(facts.reviews, merged_at)
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

    # --- the what-if ----------------------------------------------------------------------------

    def prs(self, since: datetime | None = None, limit: int | None = None) -> list[PRRef]:
        """The PRs of the period in ONE listing (GET /repos/{owner}/{repo}/pulls, state=all,
        sort=updated, direction=desc, 100 per page), stopping at the first PR last updated before
        ``since`` or once ``limit`` PRs are found; merged PRs merged since ``since`` and open PRs.

        `direction=desc` must be sent: with sort=updated GitHub's default direction is `asc`
        (OpenAPI description of GET /repos/{owner}/{repo}/pulls, parameter `direction`). A merged
        PR's `updated_at` is at or after its `merged_at`, so stopping at updated_at < since never
        misses a PR merged in the period (OpenAPI: pulls/list, `sort` "updated", `direction`).
        Closed, unmerged PRs are skipped: nothing of theirs was ever judged final."""
        found = []
        try:
            repo = self.gh.get_repo(self.repo_name)
            for pr in repo.get_pulls(state="all", sort="updated", direction="desc"):
                if since is not None and _aware(pr.updated_at) < since:
                    break
                if pr.merged_at is not None:
                    if since is not None and _aware(pr.merged_at) < since:
                        continue
                    state = "merged"
                elif pr.state == "open":
                    state = "open"
                else:
                    continue  # closed without merging
                self._listed[pr.number] = pr
                found.append(
                    PRRef(
                        pr.number,
                        state,
                        pr.base.sha,
                        pr.head.sha,
                        pr.title or "",
                        pr.merged_at.isoformat() if pr.merged_at else "",
                        pr.base.ref,
                    )
                )
                # the listing's base repository is this one: its default branch costs no request
                self._default = self._default or pr.base.repo.default_branch
                if limit and len(found) >= limit:
                    break
        except api_errors() as exc:
            raise EvaluationError(describe(exc)) from None
        try:  # noqa: SIM105  one fetch for every commit the checkout lacks, not one per PR
            gitrepo.ensure_commits(
                self.repo, sorted({s for p in found for s in (p.base, p.head)}), self.token
            )
        except gitrepo.GitError:
            pass  # one unfetchable head: each PR tries its own, and only that PR is not replayed
        return found

    def facts(self, pr: PRRef, teams: tuple[str, ...]) -> PRFacts:
        """A listed PR's facts (the pull as the listing returned it, its commits, its reviews:
        github.facts.fetch_facts) and the members of ``teams``. A merged PR's facts never change (reviews until the merge, as
        the gate recorded them when it decided), so they are read from ``facts_cache`` when kept
        there and kept once read; an open PR's are read fresh."""
        listed = self._listed[pr.number]
        merge_commit = (
            getattr(listed, "merge_commit_sha", None) or "" if pr.state == "merged" else ""
        )
        try:
            gitrepo.ensure_commits(self.repo, [pr.base, pr.head], self.token)
            cached = self._cached(pr, merge_commit) if pr.state == "merged" else None
            facts = cached
            if facts is None:
                facts, _ = fetch_facts(self.gh, self.repo_name, pr.number, (), listed=listed)
                if pr.state == "merged":
                    if listed.merged_at is None:
                        raise EvaluationError(f"PR #{pr.number}: merged, with no merge time")
                    facts.reviews = _until_merge(facts.reviews, listed.merged_at)
                    facts = self._as_decided(pr, facts)
            members = {
                t: facts.team_members[t] if t in facts.team_members else self._members(t)
                for t in teams
            }
            if pr.state == "merged" and cached is None:
                # kept with the members this run counted: a rerun judges as this one did, whoever
                # joined or left a team since
                kept = {**facts.team_members, **members}
                self._store(pr, merge_commit, dataclasses.replace(facts, team_members=kept))
        except EvaluationError:
            raise
        except api_errors() as exc:
            raise EvaluationError(describe(exc)) from None
        # the listing's head is the one replayed: a head that moved since is read at the next run
        return dataclasses.replace(facts, head_sha=pr.head, base_sha=pr.base, team_members=members)

    def _as_decided(self, pr: PRRef, facts: PRFacts) -> PRFacts:
        """A merged PR's facts as the gate recorded them when it decided (evidence.py), as the
        deploy reads them; today's where no evidence was recorded."""
        recorded = on_github.latest(
            self.gh, self.repo_name, pr.number, pr.head, self._trusted_app()
        )
        return (
            evidence.apply(recorded, dataclasses.replace(facts, team_members={}))
            if recorded
            else facts
        )

    def _cached(self, pr: PRRef, merge_commit: str) -> PRFacts | None:
        if self.db is None:
            return None
        row = self.db.execute(
            "SELECT facts FROM simulate_facts WHERE repo = ? AND number = ? AND head = ? "
            "AND merge_commit = ?",
            (self.repo_name, pr.number, pr.head, merge_commit),
        ).fetchone()
        doc = json.loads(row[0]) if row else None
        # kept before the facts held their people (team members, owners): read again
        return facts_from_json(doc) if doc and "teams" in doc else None

    def _store(self, pr: PRRef, merge_commit: str, facts: PRFacts) -> None:
        if self.db is None:
            return
        self.db.execute(
            "INSERT OR REPLACE INTO simulate_facts VALUES (?, ?, ?, ?, ?)",
            (self.repo_name, pr.number, pr.head, merge_commit, json.dumps(facts_to_json(facts))),
        )
        self.db.commit()

    # --- what both read once per run ------------------------------------------------------------

    def _members(self, team: str) -> Any:  # direct_members' frozenset, kept in an object map
        """A team's direct members, read once per run however many PRs name the team."""
        if team not in self._teams:
            self._teams[team] = direct_members(self.gh, *team.split("/", 1))
        return self._teams[team]

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
