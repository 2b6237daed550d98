"""The event log on GitHub: each workflow job that runs foureyes uploads its events as an artifact
(`foureyes-events-*`, kept 90 days like the log's default retention); `foureyes events --repo`
downloads the ones it has not seen into the local SQLite log, then queries it as usual."""

from __future__ import annotations

import io
import json
import zipfile

from ..errors import EvaluationError
from .client import api_errors, describe

PREFIX = "foureyes-events-"
MAX_ARCHIVE = 20 * 1024 * 1024


def event_artifacts(gh, repo_name: str) -> list[dict]:
    """Every unexpired foureyes event artifact of the repository (the API filters by exact name only)."""
    found, page = [], 1
    while True:
        try:
            _, data = gh.requester.requestJsonAndCheck(
                "GET", f"/repos/{repo_name}/actions/artifacts", parameters={"per_page": 100, "page": page})
        except api_errors() as exc:
            raise EvaluationError(f"event artifacts: {describe(exc)}") from None
        batch = data.get("artifacts", [])
        found += [a for a in batch if a["name"].startswith(PREFIX) and not a.get("expired")]
        if len(batch) < 100:
            return found
        page += 1


def download_events(session, artifact: dict) -> list[dict]:
    """The events in one artifact's zip (GitHub answers with a redirect to a signed URL)."""
    response = session.get(artifact["archive_download_url"], timeout=60)
    if response.status_code != 200:
        raise EvaluationError(f"artifact {artifact['id']}: download answered {response.status_code}")
    if len(response.content) > MAX_ARCHIVE:
        raise EvaluationError(f"artifact {artifact['id']} is over {MAX_ARCHIVE} bytes")
    events = []
    try:
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            for name in archive.namelist():
                if name.endswith(".json"):
                    data = json.loads(archive.read(name))
                    events += [e for e in data if isinstance(e, dict) and {"at", "type", "status", "message"} <= set(e)]
    except (zipfile.BadZipFile, ValueError) as exc:
        raise EvaluationError(f"artifact {artifact['id']}: not an event log ({exc})") from None
    return events


def pull_events(gh, repo_name: str, token: str, record, warn=lambda m: None) -> int:
    """Import events from artifacts not imported before; returns how many events were added."""
    import requests

    db = record.db
    db.execute("CREATE TABLE IF NOT EXISTS imported_artifacts (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
    seen = {row[0] for row in db.execute("SELECT id FROM imported_artifacts")}
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"  # requests drops it on the redirect to storage
    added = 0
    for artifact in event_artifacts(gh, repo_name):
        if artifact["id"] in seen:
            continue
        try:
            events = download_events(session, artifact)
        except (EvaluationError, requests.RequestException) as exc:
            warn(f"skipped {artifact['name']}: {exc}")
            continue
        db.execute("BEGIN IMMEDIATE")
        for e in events:
            record.add_event(e["type"], e["status"], e["message"], e.get("deployment"), e.get("environment"),
                             e.get("data") or {}, at=e["at"])
            added += 1
        db.execute("INSERT INTO imported_artifacts VALUES (?, ?)", (artifact["id"], artifact["name"]))
        db.execute("COMMIT")
    return added
