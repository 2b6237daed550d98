"""A change request foureyes opens itself (a rollback, a promotion): a branch at a commit and a PR
from it, both idempotent, so a second run refreshes instead of failing."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from github.Requester import Requester


def put_branch(req: Requester, repo_name: str, branch: str, sha: str) -> None:
    """``branch`` at ``sha``: created, or force-moved there when it exists (422 "Reference already
    exists" from POST /repos/{owner}/{repo}/git/refs; https://docs.github.com/rest/git/refs#update-a-reference)."""
    from github import GithubException

    repo = f"/repos/{repo_name}"
    try:
        req.requestJsonAndCheck(
            "POST", f"{repo}/git/refs", input={"ref": f"refs/heads/{branch}", "sha": sha}
        )
    except GithubException as exc:
        if exc.status != 422:
            raise
        req.requestJsonAndCheck(
            "PATCH", f"{repo}/git/refs/heads/{branch}", input={"sha": sha, "force": True}
        )


def open_pull(
    req: Requester,
    repo_name: str,
    head: str,
    base: str,
    title: str,
    body: str,
    rewrite: bool = False,
) -> dict:
    """The PR from ``head`` into ``base``: created, or the one already open for that head (422 from
    POST /repos/{owner}/{repo}/pulls), its title and body rewritten when ``rewrite``."""
    from github import GithubException

    repo = f"/repos/{repo_name}"
    try:
        return req.requestJsonAndCheck(
            "POST",
            f"{repo}/pulls",
            input={"title": title, "head": head, "base": base, "body": body},
        )[1]
    except GithubException as exc:
        if exc.status != 422:
            raise
        owner = repo_name.split("/")[0]
        _, found = req.requestJsonAndCheck(
            "GET",
            f"{repo}/pulls",
            parameters={"head": f"{owner}:{head}", "base": base, "state": "open"},
        )
        if not found:
            raise
    if not rewrite:
        return found[0]
    return req.requestJsonAndCheck(
        "PATCH", f"{repo}/pulls/{found[0]['number']}", input={"title": title, "body": body}
    )[1]
