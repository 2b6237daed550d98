"""`foureyes history`: the governance history of one deployment, and what was live in an
environment at a given time.

The history is read from the default branch's first-parent line, one entry per merged PR or
direct push: what changed (the same events the gate judges), who changed it, who approved it and in
which PR (traced with the same provenance check the deploy uses).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .. import repo as gitrepo
from ..judging.changes import deployment_events
from ..registry.model import Deployment, deployment_file
from ..registry.yamlload import LoadError, loads
from ..repo import Repo

if TYPE_CHECKING:
    from ..deploy.provenance import Checker


@dataclass
class HistoryRow:
    date: str
    commit: str
    event: str
    importance_before: str | None
    importance_after: str | None
    model_before: str | None
    model_after: str | None
    changed_by: str
    approved_by: list[str]
    pr: int | None
    approval: str  # approved | bootstrap | unapproved
    fields: list[str]  # for updates: which fields changed
    changes: dict = field(default_factory=dict)  # for updates: field -> (before, after)
    break_glass: bool = False  # the approving PR went through a freeze with break-glass (freeze.py)

    def to_json(self) -> dict:
        data = dict(self.__dict__)
        data["changes"] = {k: {"before": b, "after": a} for k, (b, a) in self.changes.items()}
        return data


def _deployment(data: bytes | None, path: str) -> Deployment | None:
    if data is None:
        return None
    try:
        doc = loads(data, path)
    except LoadError:
        return None
    if not isinstance(doc, dict) or not {"name", "importance", "model"} <= set(doc):
        return None
    return Deployment(path, doc)


def _model_text(model: dict | None) -> str | None:
    return f"{model.get('name')} v{model.get('version')}" if model else None


def governance_history(repo: Repo, name: str, ref: str, checker: Checker) -> list[HistoryRow]:
    """One `git log` (with parents), one `git cat-file --batch` for both sides of every change, and
    one provenance check for all the commits: the cost follows the file's history, not one git
    process per commit."""
    path = deployment_file(name)
    head = gitrepo.resolve(repo, ref)
    out = repo.git(
        "log",
        "--first-parent",
        "--reverse",
        "--format=%H%x1f%P%x1f%aI%x1f%an",
        head,
        "--",
        path,
    )
    changes = []
    for line in out.decode().splitlines():
        commit, parents, date, author = line.split("\x1f")
        changes.append((commit, parents.split()[:1], date, author))
    blobs = gitrepo.cat_blobs(
        repo,
        [
            n
            for commit, parent, _, _ in changes
            for n in [*(f"{p}:{path}" for p in parent), f"{commit}:{path}"]
        ],
    )
    approvals, _ = checker.check([commit for commit, _, _, _ in changes])
    rows: list[HistoryRow] = []
    for commit, parent, date, author in changes:
        before = _deployment(blobs.get(f"{parent[0]}:{path}") if parent else None, path)
        after = _deployment(blobs.get(f"{commit}:{path}"), path)
        approval = approvals.get(commit)
        for ev in deployment_events(path, before, after):
            rows.append(
                HistoryRow(
                    date=date,
                    commit=commit,
                    event=ev.type,
                    importance_before=ev.importance_before,
                    importance_after=ev.importance_after,
                    model_before=_model_text(ev.model_before),
                    model_after=_model_text(ev.model_after),
                    changed_by=(approval.author if approval and approval.author else author),
                    approved_by=approval.approvers if approval else [],
                    pr=approval.pr if approval else None,
                    approval=approval.status if approval else "unapproved",
                    fields=ev.fields,
                    changes=ev.changes,
                    break_glass=bool(approval and approval.break_glass),
                )
            )
    return rows


def change_text(row: dict) -> str:
    """What a history row changed, as a person reads it."""
    if row["event"] == "change_importance":
        return f"{row['importance_before']} -> {row['importance_after']}"
    if row["event"] in ("replace_model", "create", "delete"):
        return f"{row['model_before'] or '-'} -> {row['model_after'] or '-'}"
    if row.get("changes"):
        from ..report.reporters import changes_text

        return changes_text({k: (v["before"], v["after"]) for k, v in row["changes"].items()})
    return ", ".join(row["fields"])


def live_at(history: list[dict], moment: str) -> dict[str, dict]:
    """What served in an environment at ``moment`` (ISO UTC), from the deploy record's history."""
    live: dict[str, dict] = {}
    for h in history:
        if h["at"] > moment or h["status"] != "success":
            continue
        if h["action"] == "delete":
            live.pop(h["name"], None)
        else:
            live[h["name"]] = h
    return live
