"""Evidence on GitHub: a check run on the PR's head commit, written by foureyes' own App.

Why a check run: only the GitHub App that created a check run can update it, and check runs cannot
be deleted through the API (REST "Check runs": create and update "must be authenticated as a GitHub
App"; there is no delete endpoint), while anyone with write access can edit issue comments and post
commit statuses. Each check run says which App created it (`app.id`), and only runs of foureyes'
own App count. Without an App (the workflow's GITHUB_TOKEN) the creator is the `github-actions` App
(id 15368, as GitHub's API examples show it in `performed_via_github_app`), which every workflow of
the repository writes as: the security model says what that leaves open.

The document is the check run's `output.text` (JSON, at most 65,535 characters: REST "Create a check
run", `output.text`); `external_id` names the PR, so two PRs at one head keep their own evidence.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from urllib.parse import quote

from ..errors import EvaluationError
from ..judging import evidence
from .client import api_errors, describe, get_json
from .identity import configured_slug

if TYPE_CHECKING:
    from .client import GitHubClient

CHECK_NAME = "foureyes/evidence"
GITHUB_ACTIONS_APP = 15368  # the App a GITHUB_TOKEN writes as
MAX_TEXT = 65535
MAX_PAGES = 10  # 100 runs a page: a head the gate judged 1,000 times fails closed


def app_id(gh: GitHubClient, app_slug: str | None = None) -> int:
    """The id of the App whose check runs are evidence: the App named by its slug (GET
    /apps/{app_slug}, public), else the github-actions App."""
    slug = configured_slug(app_slug)
    if slug is None:
        return GITHUB_ACTIONS_APP
    data = get_json(
        gh, f"/apps/{quote(slug)}", f"cannot resolve the App {slug!r} whose evidence counts"
    )
    return int(data["id"])


def record(gh: GitHubClient, repo_name: str, doc: dict) -> None:
    """Write one decision's evidence on its head commit; fails closed (the status must not say
    success for a decision the deploy could not verify)."""
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    if (
        len(text) > MAX_TEXT
    ):  # a long description is kept as its digest: the deploy compares today's
        text = json.dumps(evidence.body_as_digest(doc), sort_keys=True, separators=(",", ":"))
    if len(text) > MAX_TEXT:
        raise EvaluationError(
            f"the evidence of PR #{doc['pr']} is {len(text)} characters, more than a check run "
            f"holds ({MAX_TEXT}): fewer team members or reviews than that fit"
        )
    body = {
        "name": CHECK_NAME,
        "head_sha": doc["head"],
        "external_id": f"pr-{doc['pr']}",
        "status": "completed",
        "conclusion": "neutral",
        "output": {
            "title": f"decision: {doc['decision']}",
            "summary": "The facts foureyes' gate decided on; the deploy verifies them.",
            "text": text,
        },
    }
    try:
        gh.requester.requestJsonAndCheck("POST", f"/repos/{repo_name}/check-runs", input=body)
    except api_errors() as exc:
        raise EvaluationError(f"could not record the gate's evidence: {describe(exc)}") from None


def latest(
    gh: GitHubClient, repo_name: str, number: int, head: str, trusted_app: int
) -> dict | None:
    """The newest evidence the trusted App recorded for PR ``number`` at ``head``, or None.
    GET /repos/{owner}/{repo}/commits/{ref}/check-runs with check_name, filter=all (every run, not
    only the latest per name) and app_id; the App is checked on each run too."""
    found = []
    for page in range(1, MAX_PAGES + 1):
        try:
            runs = gh.requester.requestJsonAndCheck(
                "GET",
                f"/repos/{repo_name}/commits/{head}/check-runs",
                parameters={
                    "check_name": CHECK_NAME,
                    "filter": "all",
                    "app_id": trusted_app,
                    "per_page": 100,
                    "page": page,
                },
            )[1].get("check_runs", [])
        except api_errors() as exc:
            raise EvaluationError(
                f"could not read the gate's evidence for PR #{number}: {describe(exc)}"
            ) from None
        for run in runs:
            if (run.get("app") or {}).get("id") != trusted_app or run.get(
                "external_id"
            ) != f"pr-{number}":
                continue
            try:
                doc = json.loads((run.get("output") or {}).get("text") or "")
            except ValueError:
                continue
            if evidence.matches(doc, number, head):
                found.append((run["id"], doc))
        if len(runs) < 100:
            break
    else:
        raise EvaluationError(
            f"more than {MAX_PAGES * 100} evidence runs at {head[:12]}: cannot tell the latest"
        )
    return max(found, key=lambda item: item[0])[1] if found else None
