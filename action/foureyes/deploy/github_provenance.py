"""Provenance from GitHub: the merged PRs that brought a commit in, their reviews until the merge."""

from __future__ import annotations

from datetime import datetime

from .. import gitrepo
from ..errors import EvaluationError
from ..github.client import api_errors, describe
from ..github.facts import fetch_facts
from ..plan import load_policy
from .provenance import MergedPR


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class GitHubPRs:
    def __init__(self, gh, repo_name: str, root, token: str | None = None):
        """``token`` authenticates fetching PR commits the checkout lacks (never printed)."""
        self.gh = gh
        self.repo_name = repo_name
        self.root = root
        self.token = token
        self._default: str | None = None

    def default_branch(self) -> str:
        """The repository's default branch (GET /repos/{owner}/{repo}: `default_branch`)."""
        if self._default is None:
            try:
                self._default = self.gh.get_repo(self.repo_name).default_branch
            except api_errors() as exc:
                raise EvaluationError(describe(exc)) from None
        return self._default

    def merged_prs_containing(self, commit: str) -> list[MergedPR]:
        from github.PaginatedList import PaginatedList
        from github.PullRequest import PullRequest

        try:
            pulls = list(PaginatedList(PullRequest, self.gh.requester,
                                       f"/repos/{self.repo_name}/commits/{commit}/pulls", None))
            merged = [p for p in pulls if p.merged_at is not None]
            found = []
            for pr in merged:
                base, head = pr.base.sha, pr.head.sha
                gitrepo.ensure_commits(self.root, [base, head], self.token)
                found.append(MergedPR(pr.number, base, head, pr.merge_commit_sha or "",
                                      pr.merged_at.isoformat(), self._facts_loader(pr.number, base, pr.merged_at),
                                      pr.base.ref))
            return found
        except api_errors() as exc:
            raise EvaluationError(describe(exc)) from None

    def open_prs(self) -> dict[int, list[str]]:
        """Open PRs and the paths each one changes (one request per PR for its files)."""
        try:
            repo = self.gh.get_repo(self.repo_name)
            return {pr.number: [f.filename for f in pr.get_files()] for pr in repo.get_pulls(state="open")}
        except api_errors() as exc:
            raise EvaluationError(describe(exc)) from None

    def _facts_loader(self, number: int, base: str, merged_at: datetime):
        def load():
            policy = load_policy(gitrepo.GitTree(self.root, base))
            try:
                facts, _ = fetch_facts(self.gh, self.repo_name, number, policy.approver_teams)
            except api_errors() as exc:
                raise EvaluationError(describe(exc)) from None
            # the approval that counts is the one the PR had when it was merged
            facts.reviews = [r for r in facts.reviews if r.submitted_at and _at(r.submitted_at) <= merged_at]
            return facts
        return load
