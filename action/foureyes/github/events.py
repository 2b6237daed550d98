"""The event log on GitHub: each workflow job that runs foureyes uploads its events as an artifact
(`foureyes-events-*`, kept 90 days like the log's default retention); `foureyes events --repo`
downloads the ones it has not seen into the local SQLite log, then queries it as usual.

Trust: any workflow run can upload an artifact with that name, including
runs of a PR branch, which could forge back-dated "approved"/"deployed" events. An artifact is
imported only from a run of this repository's own foureyes workflows: workflow file
`.github/workflows/foureyes-*.yml`, triggered by push, schedule, workflow_run,
pull_request_target or workflow_dispatch, on the default branch or a deploy branch (the branch
patterns of registry/environments.yaml on the default branch), with head_repository this
repository (not a fork). The run's facts come from GET /repos/{owner}/{repo}/actions/runs/{run_id}
(`path`, `event`, `head_branch`, `head_repository`, `repository`); the artifact's `workflow_run`
only gives ids and the branch. Archives are streamed with a cap, and so is their inflated content:
a small zip that inflates to gigabytes is refused, never held in memory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..repo import Repo

import io
import json
import re
import zipfile
from typing import TYPE_CHECKING

from ..errors import EvaluationError
from .client import api_errors, describe

if TYPE_CHECKING:
    from collections.abc import Callable

    import requests

    from ..deploy.record import Record, SqliteRecord
    from .client import GitHubClient

    BranchCheck = Callable[[str], bool]  # whether a branch's runs may be trusted

PREFIX = "foureyes-events-"
MAX_ARCHIVE = 20 * 1024 * 1024  # bytes downloaded
MAX_INFLATED = 20 * 1024 * 1024  # bytes of event JSON one artifact may inflate to
TRUSTED_EVENTS = frozenset(
    {"push", "schedule", "workflow_run", "pull_request_target", "workflow_dispatch"}
)
FOUREYES_WORKFLOW = re.compile(r"\.github/workflows/foureyes-[A-Za-z0-9._-]+\.ya?ml")


def workflow_file(path: str, repo_name: str) -> str | None:
    """The run's workflow file inside this repository (GitHub may write it as
    `.github/workflows/x.yml@ref` or `owner/repo/.github/workflows/x.yml@ref`), else None."""
    path = path.split("@", 1)[0]
    if path.lower().startswith(repo_name.lower() + "/"):
        path = path[len(repo_name) + 1 :]
    return path if path.startswith(".github/workflows/") else None


def untrusted_run(run: dict, repo_name: str, branch_ok: BranchCheck) -> str | None:
    """Why a workflow run's artifacts are not evidence, or None when it is one of ours."""
    repository, head = run.get("repository") or {}, run.get("head_repository") or {}
    if str(repository.get("full_name", "")).lower() != repo_name.lower():
        return f"run {run.get('id')} belongs to {repository.get('full_name')!r}"
    if head.get("id") != repository.get("id"):
        return f"run {run.get('id')} is of a fork ({head.get('full_name')!r})"
    workflow = workflow_file(str(run.get("path") or ""), repo_name)
    if workflow is None or not FOUREYES_WORKFLOW.fullmatch(workflow):
        return (
            f"run {run.get('id')} is of workflow {run.get('path')!r}, not a foureyes-*.yml workflow"
        )
    if run.get("event") not in TRUSTED_EVENTS:
        return f"run {run.get('id')} was triggered by {run.get('event')!r}"
    if not branch_ok(str(run.get("head_branch") or "")):
        return (
            f"run {run.get('id')} ran on branch {run.get('head_branch')!r}, not the "
            "default or a deploy branch"
        )
    return None


def event_artifacts(gh: GitHubClient, repo_name: str) -> list[dict]:
    """Every unexpired foureyes event artifact of the repository (the API filters by exact name only)."""
    found, page = [], 1
    while True:
        try:
            _, data = gh.requester.requestJsonAndCheck(
                "GET",
                f"/repos/{repo_name}/actions/artifacts",
                parameters={"per_page": 100, "page": page},
            )
        except api_errors() as exc:
            raise EvaluationError(f"event artifacts: {describe(exc)}") from None
        batch = data.get("artifacts", [])
        found += [a for a in batch if a["name"].startswith(PREFIX) and not a.get("expired")]
        if len(batch) < 100:
            return found
        page += 1


def _download(session: requests.Session, artifact: dict) -> bytes:
    """The archive, streamed: refused as soon as it passes MAX_ARCHIVE bytes."""
    with session.get(artifact["archive_download_url"], timeout=60, stream=True) as response:
        if response.status_code != 200:
            raise EvaluationError(
                f"artifact {artifact['id']}: download answered {response.status_code}"
            )
        buffer = bytearray()
        for chunk in response.iter_content(64 * 1024):
            buffer += chunk
            if len(buffer) > MAX_ARCHIVE:
                raise EvaluationError(
                    f"artifact {artifact['id']} is over {MAX_ARCHIVE} bytes: refused"
                )
        return bytes(buffer)


def _inflate(archive: zipfile.ZipFile, name: str, budget: int) -> bytes:
    """One member, inflated chunk by chunk up to ``budget`` bytes (the zip's declared sizes can lie)."""
    out = bytearray()
    with archive.open(name) as member:
        while chunk := member.read(64 * 1024):
            out += chunk
            if len(out) > budget:
                raise EvaluationError(f"{name} inflates past {MAX_INFLATED} bytes: refused")
    return bytes(out)


def download_events(session: requests.Session, artifact: dict) -> list[dict]:
    """The events in one artifact's zip (GitHub answers with a redirect to a signed URL)."""
    content = _download(session, artifact)
    events = []
    budget = MAX_INFLATED
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            for name in archive.namelist():
                if name.endswith(".json"):
                    raw = _inflate(archive, name, budget)
                    budget -= len(raw)
                    data = json.loads(raw)
                    events += [
                        e
                        for e in data
                        if isinstance(e, dict) and {"at", "type", "status", "message"} <= set(e)
                    ]
    except (zipfile.BadZipFile, ValueError, TypeError) as exc:
        raise EvaluationError(f"artifact {artifact['id']}: not an event log ({exc})") from None
    except EvaluationError as exc:
        raise EvaluationError(f"artifact {artifact['id']}: {exc}") from None
    return events


def trusted_branches(gh: GitHubClient, repo_name: str, repo: Repo | None) -> BranchCheck:
    """A predicate: the default branch, or a branch an environment deploys from (patterns read
    from registry/environments.yaml on the local copy of the default branch; none readable: the
    default branch only)."""
    from .. import repo as gitrepo
    from ..registry.model import ENVIRONMENTS_FILE, parse_environments
    from ..registry.yamlload import LoadError

    try:
        default = gh.get_repo(repo_name).default_branch
    except api_errors() as exc:
        raise EvaluationError(f"event artifacts: {describe(exc)}") from None
    envs = []
    if repo is not None:
        try:
            data = gitrepo.GitTree(repo, gitrepo.branch_tip(repo, default)).read(ENVIRONMENTS_FILE)
            envs = parse_environments(data) if data else []
        except (
            gitrepo.GitError,
            LoadError,
        ):  # deny by default: without the file, only the default branch
            envs = []
    return lambda branch: branch == default or any(e.matches_branch(branch) for e in envs)


def pull_events(
    gh: GitHubClient,
    repo_name: str,
    token: str,
    record: SqliteRecord,
    warn: Callable[[str], object] = lambda m: None,
    repo: Repo | None = None,
) -> int:
    """Import events from artifacts not imported before, of foureyes' own workflow runs only;
    returns how many events were added. An untrusted artifact is skipped (and not asked about
    again)."""
    import requests

    db = record.db
    db.execute(
        "CREATE TABLE IF NOT EXISTS imported_artifacts (id INTEGER PRIMARY KEY, name TEXT NOT NULL)"
    )
    seen = {row[0] for row in db.execute("SELECT id FROM imported_artifacts")}
    session = requests.Session()
    session.headers["Authorization"] = (
        f"Bearer {token}"  # requests drops it on the redirect to storage
    )
    added = 0
    branch_ok = None
    runs: dict[int, dict] = {}
    for artifact in event_artifacts(gh, repo_name):
        if artifact["id"] in seen:
            continue
        branch_ok = branch_ok or trusted_branches(gh, repo_name, repo)
        why = _untrusted_artifact(gh, repo_name, artifact, branch_ok, runs)
        if why:
            warn(f"skipped {artifact['name']}: {why}")
            db.execute(
                "INSERT INTO imported_artifacts VALUES (?, ?)", (artifact["id"], artifact["name"])
            )
            continue
        try:
            events = download_events(session, artifact)
        except (EvaluationError, requests.RequestException) as exc:
            warn(f"skipped {artifact['name']}: {exc}")
            continue
        db.execute("BEGIN IMMEDIATE")
        added += import_events(record, events)
        db.execute(
            "INSERT INTO imported_artifacts VALUES (?, ?)", (artifact["id"], artifact["name"])
        )
        db.execute("COMMIT")
    return added


def import_events(record: Record, events: list[dict]) -> int:
    """Add one job's exported events to ``record``'s log; an event the log already holds under the
    same key (two runs' logs both hold it: written, then derived again) is kept once. Returns how
    many were added."""
    added = 0
    for e in events:
        key = e.get("key") if isinstance(e.get("key"), str) else None
        added += record.add_event(
            e["type"],
            e["status"],
            e["message"],
            e.get("deployment"),
            e.get("environment"),
            e.get("data") or {},
            at=e["at"],
            key=key,
        )
    return added


def _untrusted_artifact(
    gh: GitHubClient, repo_name: str, artifact: dict, branch_ok: BranchCheck, runs: dict[int, dict]
) -> str | None:
    meta = artifact.get("workflow_run") or {}
    if "id" not in meta:
        return "no workflow run"
    if meta.get("head_repository_id") != meta.get("repository_id"):
        return f"run {meta['id']} is of a fork"
    if not branch_ok(str(meta.get("head_branch") or "")):
        return (
            f"run {meta['id']} ran on branch {meta.get('head_branch')!r}, not the default "
            "or a deploy branch"
        )
    if meta["id"] not in runs:
        try:
            _, runs[meta["id"]] = gh.requester.requestJsonAndCheck(
                "GET", f"/repos/{repo_name}/actions/runs/{meta['id']}"
            )
        except api_errors() as exc:
            raise EvaluationError(f"event artifacts: run {meta['id']}: {describe(exc)}") from None
    return untrusted_run(runs[meta["id"]], repo_name, branch_ok)
