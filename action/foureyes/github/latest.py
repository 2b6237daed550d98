"""What the gate's status may say, given the latest facts, right before it is posted.

A commit status belongs to a commit, not to a PR, and the required `foureyes/approval` context is
the
same for every PR (the ruleset fixes it). Two rules follow:

- A run posts only while its facts are still the latest: the PR is re-read just before posting, and
  if it was closed or its head moved, nothing is posted (the run for the new head sets that head's
  status; an old run finishing late must not leave a stale success, nor knock down a newer one).
- PRs sharing a head into the same base share its status. Merging either gives the same content, so
  the status on that head is the best judgment among the open PRs at that head into that base: an
  unapproved PR B cannot knock down approved PR A's success. Each PR's own comment still says its
  own
  judgment, and B's merge does not become deployable through A's success: the deploy judges the PR a
  merge commit belongs to (provenance), and refuses B's merge because B was not approved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import EvaluationError
from .client import api_errors, describe

if TYPE_CHECKING:
    from .client import GitHubClient


@dataclass(frozen=True)
class Moved:
    """Why a run's judgment is no longer the latest: say it, post nothing."""

    reason: str


def still_latest(gh: GitHubClient, repo_name: str, number: int, head_sha: str) -> Moved | None:
    """Re-read the PR (GET /repos/{owner}/{repo}/pulls/{pull_number}): None while it is open at
    ``head_sha``; else why this run's judgment is stale."""
    try:
        pr = gh.get_repo(repo_name).get_pull(number)
        state, head = pr.state, pr.head.sha
    except api_errors() as exc:
        raise EvaluationError(f"re-reading PR #{number} before posting: {describe(exc)}") from None
    if state != "open":
        return Moved(f"PR #{number} is {state} now: no status posted")
    if head != head_sha:
        return Moved(
            f"PR #{number}'s head moved to {head[:12]} after this run read {head_sha[:12]}: "
            "the run for the new head sets its status"
        )
    return None


def siblings_at_head(
    gh: GitHubClient, repo_name: str, number: int, head_sha: str, base_ref: str
) -> list[int]:
    """The other open PRs whose head is ``head_sha`` and whose base is ``base_ref``. GET
    /repos/{owner}/{repo}/commits/{commit_sha}/pulls lists, for a commit not on the default branch,
    the merged and open PRs associated with it (GitHub docs, "List pull requests associated with a
    commit"); the list is filtered to the exact head and base, since a PR whose branch merely
    contains the commit has another head."""
    try:
        _, listed = gh.requester.requestJsonAndCheck(
            "GET", f"/repos/{repo_name}/commits/{head_sha}/pulls", parameters={"per_page": 100}
        )
    except api_errors() as exc:
        raise EvaluationError(f"listing the PRs at {head_sha[:12]}: {describe(exc)}") from None
    found = []
    for pr in listed or []:
        if (
            pr.get("number") != number
            and pr.get("state") == "open"
            and (pr.get("head") or {}).get("sha") == head_sha
            and (pr.get("base") or {}).get("ref") == base_ref
        ):
            found.append(pr["number"])
    return sorted(found)
