"""The deploy record on GitHub: the Deployments API.

One deployment per environment and deployment name (task `deploy:<name>`), whose payload carries
the deployment as applied, its model and the approval record; statuses in_progress, then success or
failure; `inactive` once deleted. Creating is find-before-create on (environment, task, sha), so a
retried run never duplicates. The environment's last complete deploy is a `foureyes:sync`
deployment. Events (violations, results) also go to the local SQLite event log of the run.

Trust: anyone with write access can create deployments and statuses (and so can a workflow run
of any branch, with its GITHUB_TOKEN). Only deployments whose `creator.id` is foureyes' own
identity (the GitHub App's bot account, by numeric id) count, and of their statuses only those
whose `creator.id` is that identity; anything else is ignored and logged as a warning event.

Survival: GitHub adds a deployment for every job that names an environment, and a `success` status
marks earlier successful deployments of a non-production environment `inactive` unless it says
`auto_inactive: false` (POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses,
`auto_inactive`: "Adds a new inactive status to all prior non-transient, non-production
environment deployments with the same repository and environment name ... Default: true").
foureyes' own statuses send `auto_inactive: false`, and an `inactive` status counts as a delete
only when foureyes wrote it with its delete marker, so a job's automatic `inactive` never
deletes a record. Lists are read page by page (Link rel="next"), filtered by environment, task
and sha where the API allows (GET /repos/{owner}/{repo}/deployments: `sha`, `ref`, `task`,
`environment`), so records past the first 100 are seen.

States without a request per deployment: a deployment's state is its newest status foureyes
wrote (GET /repos/{owner}/{repo}/deployments/{deployment_id}/statuses, one request each). So that
reading the record does not cost one request per deployment, each `foureyes:sync` deployment
carries in its payload (`states`) the final state of every deployment its run wrote or had to ask
GitHub about; a reader takes a deployment's state from the newest of foureyes' own syncs that
names it, and asks `/statuses` only for deployments no sync names (a run cut short, a matrix job,
records written before syncs carried states), which the next sync then names. A named state is
final: foureyes never posts a status to a deployment a sync names (a retry or a delete creates a
new deployment), so a sync cannot go stale. Syncs are trusted only when foureyes' own identity
created them, as every record. Payload size: GitHub documents no limit for a deployment's
`payload` (OpenAPI: POST /repos/{owner}/{repo}/deployments, `payload`: object or string; the one
documented JSON payload limit nearby is repository_dispatch's `client_payload`, under 64 KB), so
a sync names at most STATES_BUDGET bytes of ids; those left out are asked about, as unnamed ones.

Events survive a run killed at any instant: GitHub and the run's event log cannot change in one
transaction, so a deploy event is derivable from what was recorded. The status that records an
outcome is posted first; its event follows with the key `<type>:github-status:<status id>`. A
run killed between the two leaves a final status that no sync names (the sync is written only
after every step), so the next run asks its statuses, finds the outcome, and writes the deploy
event from the deployment's payload and the status, under the same key. The event log keeps one
event per key, so an event written by both runs, or imported from both runs' logs, counts once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import EvaluationError
from ..github.client import api_errors, describe
from .eventlog import Event
from .record import Entry, Record, SqliteRecord

if TYPE_CHECKING:
    from ..github.client import GitHubClient

TASK_PREFIX = "deploy:"
SYNC_TASK = "foureyes:sync"
DELETED = (
    "foureyes: deleted. "  # the description prefix of the inactive status that records a delete
)
STATES_BUDGET = 60_000  # bytes of deployment ids one sync names (see the module docstring)


class GitHubRecord(Record):
    def __init__(self, gh: GitHubClient, repo_name: str, events_path: Path, identity: int):
        """``identity``: the numeric account id foureyes writes the record as (its App's bot user)."""
        if not isinstance(identity, int) or isinstance(identity, bool):
            raise EvaluationError(
                "deploy record: foureyes' own identity (the App's bot account id) is not known"
            )
        self.gh = gh
        self.base = f"/repos/{repo_name}"
        self.identity = identity
        self.ids: dict[tuple[str, str], int] = {}
        self.local = SqliteRecord(events_path)
        self._warned: set[int] = set()
        self._synced: dict[
            int, str
        ] = {}  # deployment id -> state, from the newest own sync naming it
        self._seen_syncs: set[int] = set()
        self._syncs_read: set[str | None] = (
            set()
        )  # environments (None: all) whose syncs were listed
        self._written: dict[int, str] = {}  # states this run wrote: the next sync names them first
        self._asked: dict[int, str] = {}  # states read from /statuses: the next sync names them too
        self._asked_status: dict[int, dict] = {}  # ... and the status each was read from

    def close(self) -> None:
        self.local.close()

    # --- API helpers -----------------------------------------------------------------------------

    def _get(self, url: str, params: dict | None = None) -> list:
        """Every page of a list (GitHub's Link header, rel="next")."""
        items: list = []
        next_url: str | None = url
        parameters: dict | None = {"per_page": 100, **(params or {})}
        while next_url:
            try:
                headers, data = self.gh.requester.requestJsonAndCheck(
                    "GET", next_url, parameters=parameters
                )
            except api_errors() as exc:
                raise EvaluationError(f"deploy record: {describe(exc)}") from None
            if not isinstance(data, list):
                raise EvaluationError(f"deploy record: GET {url} did not answer with a list")
            items += data
            next_url, parameters = _next_link(headers), None
        return items

    def _post(self, url: str, body: dict) -> dict:
        try:
            _, data = self.gh.requester.requestJsonAndCheck("POST", url, input=body)
        except api_errors() as exc:
            raise EvaluationError(f"deploy record: {describe(exc)}") from None
        return data

    def _ours(self, item: dict) -> bool:
        creator = item.get("creator") or {}
        return creator.get("id") == self.identity

    def _owned(self, deployments: list[dict], environment: str | None) -> list[dict]:
        """foureyes' own deployments; each one by anyone else is logged once as a warning."""
        mine = []
        for d in deployments:
            if self._ours(d):
                mine.append(d)
            elif d["id"] not in self._warned and (d.get("task") or "").startswith(
                (TASK_PREFIX, SYNC_TASK)
            ):
                self._warned.add(d["id"])
                creator = d.get("creator") or {}
                self.local.add_event(
                    "record_ignored",
                    "warning",
                    f"ignored deployment {d['id']} ({d.get('task')}) by "
                    f"{creator.get('login', 'nobody')} "
                    f"(id {creator.get('id')}): not written by foureyes' identity (id "
                    f"{self.identity})",
                    environment=d.get("environment") or environment,
                    data={
                        "deployment_id": d["id"],
                        "creator": creator.get("id"),
                        "task": d.get("task"),
                    },
                )
        return mine

    def _latest_status(self, deployment_id: int) -> str:
        status = self._latest_own_status(deployment_id)
        return status["state"] if status else "pending"

    def _latest_own_status(self, deployment_id: int) -> dict | None:
        """The newest status foureyes wrote; an `inactive` counts only with foureyes' delete marker
        (GitHub's automatic inactive statuses do not delete anything)."""
        for status in self._get(f"{self.base}/deployments/{deployment_id}/statuses"):
            if not self._ours(status):
                continue
            if status["state"] == "inactive" and not (status.get("description") or "").startswith(
                DELETED
            ):
                continue
            return status
        return None

    def _learn_syncs(self, deployments: list[dict]) -> None:
        """Take the states named by foureyes' own syncs among ``deployments`` (listed newest first):
        for each deployment id, the newest sync that names it wins."""
        for d in deployments:
            if d.get("task") != SYNC_TASK or d["id"] in self._seen_syncs or not self._ours(d):
                continue
            self._seen_syncs.add(d["id"])
            payload = d.get("payload")
            states = (payload if isinstance(payload, dict) else {}).get("states")
            if not isinstance(states, dict):
                continue  # a sync from before syncs named states
            for state, ids in states.items():
                if isinstance(state, str) and isinstance(ids, list):
                    for i in ids:
                        if isinstance(i, int) and not isinstance(i, bool):
                            self._synced.setdefault(i, state)

    def _syncs(self, environment: str | None) -> None:
        """Read the syncs (of one environment, or of all: None) unless a listing already held them."""
        if environment in self._syncs_read or None in self._syncs_read:
            return
        params = {"task": SYNC_TASK, **({"environment": environment} if environment else {})}
        self._learn_syncs(self._owned(self._get(f"{self.base}/deployments", params), environment))
        self._syncs_read.add(environment)

    def _state(self, deployment_id: int) -> str:
        """The deployment's state: what this run wrote, else what a sync names, else its statuses."""
        if deployment_id in self._written:
            return self._written[deployment_id]
        if deployment_id in self._synced:
            return self._synced[deployment_id]
        if deployment_id not in self._asked:
            status = self._latest_own_status(deployment_id)
            self._asked[deployment_id] = status["state"] if status else "pending"
            if status:
                self._asked_status[deployment_id] = status
        return self._asked[deployment_id]

    def _sync_states(self) -> dict[str, list[int]]:
        """The states the next sync names: those written first, then those asked about, within budget."""
        named: dict[str, list[int]] = {}
        size = 0
        asked = ((i, state) for i, state in self._asked.items() if i not in self._written)
        for deployment_id, state in [*self._written.items(), *asked]:
            size += len(str(deployment_id)) + 1
            if size > STATES_BUDGET:
                break
            named.setdefault(state, []).append(deployment_id)
        return named

    # --- Record
    # ------------------------------------------------------------------------------------

    def entries(self, environment: str) -> dict[str, Entry]:
        """The newest deployment per name (GitHub lists newest first) and its latest status."""
        newest: dict[str, dict] = {}
        listed = self._owned(
            self._get(f"{self.base}/deployments", {"environment": environment}), environment
        )
        self._learn_syncs(listed)  # the environment's syncs are in the same listing
        self._syncs_read.add(environment)
        for d in listed:
            task = d.get("task") or ""
            if task.startswith(TASK_PREFIX):
                newest.setdefault(task[len(TASK_PREFIX) :], d)
        entries = {}
        for name, d in newest.items():
            status = self._state(d["id"])
            if d["id"] in self._asked_status:
                self._derive_event(d, name, self._asked_status[d["id"]])
            if status == "inactive":
                continue  # deleted
            payload = d.get("payload")
            payload = payload if isinstance(payload, dict) else {}
            state = {
                "success": "success",
                "in_progress": "in_progress",
                "queued": "in_progress",
                "pending": "in_progress",
            }.get(status, "failure")
            entries[name] = Entry(
                environment,
                name,
                payload.get("deployment", {}),
                d["sha"],
                payload.get("approval", {}),
                state,
                d.get("updated_at", ""),
            )
            self.ids[(environment, name)] = d["id"]
        return entries

    def _derive_event(self, deployment: dict, name: str, status: dict) -> None:
        """The deploy event of an outcome read from GitHub (a run may have died before writing it):
        what `deploy` writes, from the deployment's payload and foureyes' status, under its key."""
        state = status["state"]
        if state not in ("success", "failure", "inactive"):
            return  # no outcome yet: the next run applies it again
        payload = deployment.get("payload")
        payload = payload if isinstance(payload, dict) else {}
        said = status.get("description") or ""
        said = said[len(DELETED) :] if state == "inactive" else said
        self.local.add_event(
            "deploy",
            "failing" if state == "failure" else "ok",
            f"{payload.get('action', '')} {name}: {said}",
            name,
            deployment.get("environment"),
            {
                "commit": payload.get("commit", deployment["sha"]),
                "approval": payload.get("approval", {}),
            },
            at=status.get("created_at"),
            key=event_key("deploy", status["id"]),
        )

    def begin(self, entry: Entry, action: str) -> None:
        task = TASK_PREFIX + entry.name
        payload = {
            "deployment": entry.data,
            "model": entry.data.get("model", {}),
            "digest": entry.data.get("model", {}).get("digest"),
            "commit": entry.commit,
            "pr": entry.approval.get("pr"),
            "approvers": entry.approval.get("approvers", []),
            "approval": entry.approval,
            "action": action,
        }
        current = self.ids.get((entry.environment, entry.name))
        if action == "delete" and current is not None and current not in self._synced:
            deployment_id = current  # a sync names none of its states yet: the delete goes on it
        else:  # a state a sync names is final (module docstring): a delete gets its own deployment
            deployment_id = self._find_or_create(entry, task, payload)
        self.ids[(entry.environment, entry.name)] = deployment_id
        self._post(
            f"{self.base}/deployments/{deployment_id}/statuses",
            {
                "state": "in_progress",
                "description": f"{action} {entry.name}"[:140],
                "auto_inactive": False,
            },
        )
        self._written[deployment_id] = "in_progress"

    def _find_or_create(self, entry: Entry, task: str, payload: dict) -> int:
        found = self._get(
            f"{self.base}/deployments",
            {"environment": entry.environment, "task": task, "sha": entry.commit},
        )
        owned = self._owned(found, entry.environment)
        self._syncs(entry.environment)  # which of them a sync names, so a retry never reopens those
        for d in owned:
            if d.get("payload") == payload and d["id"] not in self._synced:
                return d["id"]
        created = self._post(
            f"{self.base}/deployments",
            {
                "ref": entry.commit,
                "task": task,
                "environment": entry.environment,
                "payload": payload,
                "auto_merge": False,
                "required_contexts": [],
                "description": f"{entry.name}: {payload['model'].get('name')} "
                f"v{payload['model'].get('version')}"[:140],
            },
        )
        if "id" not in created:
            raise EvaluationError(
                f"deploy record: GitHub did not create a deployment: {created.get('message')}"
            )
        return created["id"]

    def finish(
        self, entry: Entry, action: str, ok: bool, message: str = "", events: Sequence[Event] = ()
    ) -> None:
        """The status first, then its events under its key (module docstring: a run killed between
        the two leaves the next run to derive the deploy event)."""
        deployment_id = self.ids[(entry.environment, entry.name)]
        state = ("inactive" if action == "delete" else "success") if ok else "failure"
        description = (DELETED + message) if state == "inactive" else message
        posted = self._post(
            f"{self.base}/deployments/{deployment_id}/statuses",
            {"state": state, "description": description[:140], "auto_inactive": False},
        )
        self._written[deployment_id] = state
        status_id = posted.get("id") if isinstance(posted, dict) else None
        if not events:
            return
        with self.local._tx():
            for e in events:
                keyed = replace(e, key=event_key(e.type, status_id)) if status_id is not None else e
                self.local.log_event(keyed)

    def last_commit(self, environment: str) -> str | None:
        sync = self._last_sync(environment)
        return sync["sha"] if sync else None

    def last_target(self, environment: str) -> dict | None:
        sync = self._last_sync(environment)
        return (sync.get("payload") or {}).get("target") if sync else None

    def _last_sync(self, environment: str) -> dict | None:
        syncs = self._owned(
            self._get(f"{self.base}/deployments", {"environment": environment, "task": SYNC_TASK}),
            environment,
        )
        self._learn_syncs(syncs)
        self._syncs_read.add(environment)
        for d in syncs:
            if self._latest_status(d["id"]) == "success":
                return d
        return None

    def set_last_commit(
        self, environment: str, commit: str, target: dict | None = None, state: str | None = None
    ) -> None:
        # ``state`` is not kept: "nothing written since" would need every status of every deployment
        # read back, which is what `entries` costs anyway, so `in_sync` stays False (full
        # comparison)
        created = self._post(
            f"{self.base}/deployments",
            {
                "ref": commit,
                "task": SYNC_TASK,
                "environment": environment,
                "payload": {"target": target or {}, "states": self._sync_states()},
                "auto_merge": False,
                "required_contexts": [],
                "description": "foureyes: environment in sync",
            },
        )
        self._post(
            f"{self.base}/deployments/{created['id']}/statuses",
            {"state": "success", "auto_inactive": False},
        )

    def history(self, environment: str | None = None, name: str | None = None) -> list[dict]:
        params = {"environment": environment} if environment else {}
        if name:
            params["task"] = TASK_PREFIX + name
        listed = self._owned(self._get(f"{self.base}/deployments", params), environment)
        if name:
            self._syncs(environment)  # the task filter left the syncs out
        else:
            self._learn_syncs(listed)
            self._syncs_read.add(environment)
        out = []
        for d in reversed(listed):
            if not (d.get("task") or "").startswith(TASK_PREFIX):
                continue
            payload = d.get("payload") if isinstance(d.get("payload"), dict) else {}
            status = self._state(d["id"])
            if status == "inactive" and payload.get("action") == "delete":
                status = "success"  # a delete that went through leaves its deployment inactive
            out.append(
                {
                    "environment": d["environment"],
                    "name": d["task"][len(TASK_PREFIX) :],
                    "action": payload.get("action", ""),
                    "data": payload.get("deployment", {}),
                    "commit": d["sha"],
                    "approval": payload.get("approval", {}),
                    "status": status,
                    "message": d.get("description") or "",
                    "at": d.get("created_at", ""),
                }
            )
        return out

    def log_event(self, event: Event, at: str | None = None) -> bool:
        return self.local.log_event(event, at)


def event_key(type: str, status_id: int) -> str:
    """The key of the event of TYPE that foureyes' deployment status ``status_id`` raised."""
    return f"{type}:github-status:{status_id}"


def _next_link(headers: dict) -> str | None:
    """The rel="next" URL of GitHub's Link header, if any."""
    link = next((v for k, v in (headers or {}).items() if k.lower() == "link"), "")
    for part in link.split(","):
        url, _, rel = part.partition(";")
        if 'rel="next"' in rel:
            return url.strip().strip("<>")
    return None
