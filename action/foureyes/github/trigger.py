"""Which PR a gate run is about, taken from the event safely.

pull_request_target: the payload is GitHub's own, for the PR it names.
workflow_run (the review relay completed): `workflow_run.pull_requests` is empty for PRs from forks
and
may list another PR of the same branch
(https://docs.github.com/webhooks/webhook-events-and-payloads#workflow_run), so the relay uploads
the
PR number and head SHA as the artifact `foureyes-relay` of its own run. That run executed the PR's
workflow file, so its artifact is a claim, not a fact: it is accepted only if it belongs to the very
run id the event names, and the PR's head on GitHub equals the run's head_sha. Anything else fails
closed (EvaluationError).
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from typing import TYPE_CHECKING

from ..errors import EvaluationError
from .client import DEFAULT_API

if TYPE_CHECKING:
    from .client import GitHubClient

RELAY_ARTIFACT = "foureyes-relay"
SHA = re.compile(r"^[0-9a-f]{40}$")
MAX_ARTIFACT_BYTES = 64 * 1024


def head_sha_of(event: dict) -> str | None:
    """The commit the event is about, to mark with an `error` status when the gate cannot decide."""
    sha = (event.get("pull_request") or {}).get("head", {}).get("sha") or (
        event.get("workflow_run") or {}
    ).get("head_sha")
    return sha if isinstance(sha, str) and SHA.match(sha) else None


def pr_from_workflow_run(
    gh: GitHubClient, repo_name: str, event: dict, token: str, api_url: str | None = None
) -> int:
    run = event.get("workflow_run") or {}
    run_id, head_sha = run.get("id"), run.get("head_sha")
    if not isinstance(run_id, int) or not isinstance(head_sha, str) or not SHA.match(head_sha):
        raise EvaluationError("workflow_run event without a run id and head_sha")
    claim = _relay_claim(repo_name, run_id, token, api_url)
    number, claimed_head = claim.get("pr"), claim.get("head_sha")
    if not isinstance(number, int) or isinstance(number, bool) or number <= 0:
        raise EvaluationError(f"the relay artifact of run {run_id} names no PR number")
    if claimed_head != head_sha:
        raise EvaluationError(
            f"the relay artifact of run {run_id} names head {claimed_head}, the run ran on "
            f"{head_sha}"
        )
    from .client import api_errors, describe

    try:
        pr = gh.get_repo(repo_name).get_pull(number)
        actual_head, base_repo = pr.head.sha, pr.base.repo.full_name
    except api_errors() as exc:
        raise EvaluationError(f"reading PR #{number}: {describe(exc)}") from exc
    if base_repo.lower() != repo_name.lower():
        raise EvaluationError(f"PR #{number} is not a PR into {repo_name}")
    if actual_head != head_sha:
        raise EvaluationError(
            f"PR #{number}'s head is {actual_head}, not the reviewed run's head {head_sha}: "
            "a newer push is gated by its own run"
        )
    return number


def _relay_claim(repo_name: str, run_id: int, token: str, api_url: str | None) -> dict:
    """The relay.json in the `foureyes-relay` artifact of this run (GET
    .../actions/runs/{run_id}/artifacts,
    then the artifact's zip, which GitHub serves as a 302 to a short-lived blob URL)."""
    import requests

    base = (api_url or os.environ.get("GITHUB_API_URL") or DEFAULT_API).rstrip("/")
    session = requests.Session()
    session.headers.update(
        {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }
    )
    try:
        listing = session.get(
            f"{base}/repos/{repo_name}/actions/runs/{run_id}/artifacts",
            params={"name": RELAY_ARTIFACT},
            timeout=30,
        )
        if listing.status_code != 200:
            raise EvaluationError(
                f"listing the artifacts of run {run_id}: GitHub API returned {listing.status_code}"
            )
        found = [
            a
            for a in listing.json().get("artifacts", [])
            if a.get("name") == RELAY_ARTIFACT
            and not a.get("expired")
            and (a.get("workflow_run") or {}).get("id") == run_id
        ]
        if len(found) != 1:
            raise EvaluationError(
                f"run {run_id} has {len(found)} '{RELAY_ARTIFACT}' artifacts, expected one"
            )
        if found[0].get("size_in_bytes", 0) > MAX_ARTIFACT_BYTES:
            raise EvaluationError(f"the '{RELAY_ARTIFACT}' artifact of run {run_id} is too large")
        download = session.get(
            f"{base}/repos/{repo_name}/actions/artifacts/{found[0]['id']}/zip", timeout=30
        )
        if download.status_code != 200:
            raise EvaluationError(
                f"downloading the relay artifact: GitHub returned {download.status_code}"
            )
        with zipfile.ZipFile(io.BytesIO(download.content[: MAX_ARTIFACT_BYTES * 4])) as archive:
            claim = json.loads(archive.read("relay.json")[:MAX_ARTIFACT_BYTES])
    except requests.RequestException as exc:
        raise EvaluationError(f"GitHub API unreachable: {type(exc).__name__}") from exc
    except (KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise EvaluationError(
            f"the relay artifact of run {run_id} is not a relay.json: {exc}"
        ) from exc
    if not isinstance(claim, dict):
        raise EvaluationError(f"the relay artifact of run {run_id} is not a JSON object")
    return claim
