"""PR facts from the GitHub REST API, in a small fixed number of requests:
the pull request, its commits, its reviews (100 per page), and one member list per approver team."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import EvaluationError
from ..judging.facts import Account, Commit, PRFacts, Review, resolve_co_authors
from .client import api_errors, describe
from .teams import direct_members

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from github.NamedUser import NamedUser
    from github.PullRequest import PullRequest

    from .client import GitHubClient

    # the approver teams ("org/slug"), or how to name them from (base branch, default branch)
    Teams = Iterable[str] | Callable[[str, str], Iterable[str]]


def account(user: NamedUser | None) -> Account | None:
    """A PyGithub NamedUser (or None: GitHub linked nothing) as an Account."""
    if user is None:
        return None
    return Account(user.login, user.id, user.type or "User")


def fetch_facts(
    gh: GitHubClient,
    repo_name: str,
    number: int,
    teams: Teams,
    listed: PullRequest | None = None,
) -> tuple[PRFacts, PullRequest]:
    """Returns (PRFacts, the PyGithub PullRequest for publishing). ``teams`` are the approver
    teams to read, or a function of (base branch, default branch) that returns them, so that they
    come from the policy that will judge the PR.

    ``listed``: the PR as a listing already returned it (`pull-request-simple`, from GET
    /repos/{owner}/{repo}/pulls or .../commits/{commit_sha}/pulls), which saves GET .../pulls/{n}.
    pull-request-simple carries every field read here but `mergeable_state` (full PR only, OpenAPI
    components/schemas/pull-request-simple); it is left empty then, as only the gate's auto-merge
    reads it. Reading it from a listed object would make PyGithub fetch the full PR after all."""

    try:
        repo = gh.get_repo(repo_name)
        pr = listed if listed is not None else repo.get_pull(number)
        head_sha = pr.head.sha  # the client is lazy: read the PR first, so its errors come first
        raw_commits = list(pr.get_commits())
        if len(raw_commits) >= 250:
            # the API lists at most 250 commits of a PR: the rest could not be checked
            raise EvaluationError(
                f"PR #{number} has 250 or more commits; foureyes cannot see them all"
            )
        base_ref, default_branch = pr.base.ref, pr.base.repo.default_branch
        if callable(teams):
            teams = teams(base_ref, default_branch)
        reviews = [
            Review(
                r.id,
                account(r.user) or Account("ghost"),
                r.state,
                r.commit_id or "",
                r.submitted_at.isoformat() if r.submitted_at else "",
            )
            for r in pr.get_reviews()
        ]
        members = {}
        for (
            team
        ) in teams:  # direct members only: child teams' members do not count (github/teams.py)
            members[team] = direct_members(gh, *team.split("/", 1))
    except EvaluationError:
        raise
    except api_errors() as exc:
        raise EvaluationError(describe(exc)) from None

    known: dict[str, Account] = {}
    for c in raw_commits:  # emails GitHub itself linked to accounts, for co-author trailers
        if c.author is not None and c.commit.author and c.commit.author.email:
            known[c.commit.author.email.lower()] = Account(
                c.author.login, c.author.id, c.author.type or "User"
            )
    commits = []
    for c in raw_commits:
        co_authors, missing = resolve_co_authors(c.commit.message or "", known)
        commits.append(Commit(c.sha, account(c.author), account(c.committer), co_authors, missing))

    author = account(pr.user)
    if author is None:  # pull-request-simple's `user` is nullable (GitHub's OpenAPI description)
        raise EvaluationError(f"PR #{number}: GitHub names no author account for it")
    facts = PRFacts(
        number=pr.number,
        author=author,
        base_sha=pr.base.sha,
        head_sha=head_sha,
        body=pr.body or "",
        commits=commits,
        reviews=reviews,
        team_members=members,
        labels=tuple(label.name for label in pr.labels),
        requested_users=tuple(u.login.lower() for u in pr.requested_reviewers),
        requested_teams=tuple(
            f"{repo_name.split('/')[0]}/{t.slug}".lower() for t in pr.requested_teams
        ),
        node_id=pr.node_id,
        draft=bool(pr.draft),
        base_ref=base_ref,
        default_branch=default_branch,
        mergeable_state="" if listed is not None else (pr.mergeable_state or ""),
    )
    return facts, pr


def resolve_owners(
    gh: GitHubClient, logins: Iterable[str], pinned: dict
) -> dict[str, Account | None]:
    """Each owner login as an Account, so owners are excluded by numeric id even after a rename
    (GET /users/{username}, as for approvers); an id the policy pins wins and costs no request. A
    login that is no account (404) maps to None, which blocks: a renamed owner must not silently
    lose the exclusion. Any other failure raises (the gate then ends in error)."""
    from urllib.parse import quote

    from github import GithubException

    found: dict[str, Account | None] = {}
    for login in sorted(logins):
        if login in pinned:
            found[login] = Account(login, pinned[login])
            continue
        try:
            _, data = gh.requester.requestJsonAndCheck("GET", f"/users/{quote(login)}")
        except GithubException as exc:
            if exc.status == 404:
                found[login] = None
                continue
            raise EvaluationError(f"cannot resolve owner @{login}: {describe(exc)}") from None
        except api_errors() as exc:
            raise EvaluationError(f"cannot resolve owner @{login}: {describe(exc)}") from None
        found[login] = Account(data["login"], data["id"], data.get("type") or "User")
    return found
