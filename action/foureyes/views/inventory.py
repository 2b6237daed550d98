"""`foureyes inventory`: every deployment, its importance, owners and model, whether it is
Approved (as it stands on the default branch) or Needs approval (an open PR changes it), and the
version each environment serves (from the deploy record)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .. import repo as gitrepo
from ..registry.model import (
    DEPLOYMENTS_DIR,
    ENVIRONMENTS_FILE,
    ConfigError,
    Schemas,
    is_deployment_file,
    layout_problem,
    parse_deployment,
    parse_environments,
)
from ..registry.yamlload import LoadError, loads
from ..repo import Repo
from ..report.escape import csv_cell

if TYPE_CHECKING:
    from ..deploy.provenance import Checker
    from ..deploy.record import Record

APPROVED, NEEDS_APPROVAL, UNAPPROVED = "Approved", "Needs approval", "Unapproved change"


@dataclass
class Row:
    name: str
    importance: str
    owners: list[str]
    model: str
    status: str
    prs: list[int] = field(default_factory=list)
    environments: dict[str, str | None] = field(
        default_factory=dict
    )  # env -> version served, or None
    history: list[dict] = field(default_factory=list)  # recent deploys, newest first
    description: str = ""
    break_glass: bool = False  # its last change went through a freeze with break-glass (freeze.py)

    def to_json(self) -> dict:
        return dict(self.__dict__)


def read_ahead(repo: Repo, ref: str) -> None:
    """Start the history pass `build` reads, so that git walks it on the other core while the
    caller reads open PRs and `build` reads the registry. The whole history, not only the first
    parents: each deployment's last change on ``ref`` comes from its first-parent chain, and the
    provenance check finds there what each PR's own commit changed (no diff of its own)."""
    gitrepo.read_history_ahead(repo, gitrepo.resolve(repo, ref))


def build(
    repo: Repo,
    ref: str,
    record: Record,
    open_prs: dict[int, list[str]],
    history_depth: int = 5,
    checker: Checker | None = None,
) -> tuple[list[Row], list[str]]:
    """Rows for the deployments at ``ref``, and the environment names (in promotion order).
    With a provenance ``checker``, a deployment whose last change on ``ref`` did not come through
    an approved PR (a direct push) is an "Unapproved change"."""
    commit = gitrepo.resolve(repo, ref)
    if checker is not None:
        read_ahead(repo, commit)
    tree = gitrepo.GitTree(repo, commit)
    env_data = tree.read(ENVIRONMENTS_FILE)
    env_names = [e.name for e in parse_environments(env_data)] if env_data else []
    listed = tree.list(DEPLOYMENTS_DIR)
    misplaced = next((found for p in listed if (found := layout_problem(p))), None)
    if (
        misplaced is not None
    ):  # listed by nobody, deployed by nobody: the registry must say so, not hide it
        raise ConfigError(str(misplaced))
    paths = [p for p in listed if is_deployment_file(p)]
    touched: dict[str, list[int]] = {}
    for number, changed in sorted(open_prs.items()):
        for path in changed:
            if is_deployment_file(path):
                touched.setdefault(path.rsplit("/", 1)[1][:-5], []).append(number)
    served = {env: record.entries(env) for env in env_names}
    try:  # parsed as the provenance check parses them, so each PR head still current is parsed once
        schemas = Schemas.from_snapshot(tree)
    except (LoadError, ConfigError):
        schemas = (
            None  # a broken schema is validate's to report; the inventory lists what can be read
        )
    docs = []
    for path, data in sorted(tree.read_many(paths).items()):
        dep = parse_deployment(data, path, schemas)[0] if schemas is not None else None
        try:
            doc = dep.data if dep is not None else loads(data, path)
        except LoadError:
            continue  # validate reports broken files; the inventory lists what can be read
        if isinstance(doc, dict) and "name" in doc:
            docs.append((path, doc))
    recent: dict[str, list[dict]] = {}  # newest first, per name: one pass over the record's history
    for h in reversed(record.history()):
        if h["status"] != "in_progress" and len(recent.setdefault(h["name"], [])) < history_depth:
            recent[h["name"]].append(h)
    unapproved: dict[str, str] = {}  # the provenance check last: its git pass has run meanwhile
    glass: set[str] = set()
    if checker is not None:
        last = gitrepo.last_changes(repo, commit, [DEPLOYMENTS_DIR], first_parent=True)
        approvals, violations = checker.check(sorted({last[p] for p in paths if p in last}))
        bad = {v.commit for v in violations}
        unapproved = {p: sha for p, sha in last.items() if sha in bad}
        glass = {p for p, sha in last.items() if sha in approvals and approvals[sha].break_glass}
    rows = []
    for path, doc in docs:
        name = doc["name"]
        owners = (
            [doc["owner"]] if isinstance(doc.get("owner"), str) else list(doc.get("owner") or [])
        )
        model = doc.get("model") or {}
        rows.append(
            Row(
                name=name,
                importance=str(doc.get("importance", "")),
                owners=owners,
                model=f"{model.get('name')} v{model.get('version')}",
                status=UNAPPROVED
                if path in unapproved
                else NEEDS_APPROVAL
                if name in touched
                else APPROVED,
                prs=touched.get(name, []),
                environments={
                    env: (
                        served[env][name].model.get("version")
                        if name in served[env] and served[env][name].status == "success"
                        else None
                    )
                    for env in env_names
                },
                history=recent.get(name, []),
                description=str(doc.get("description", "")),
                break_glass=path in glass,
            )
        )
    return rows, env_names


def to_csv(rows: list[Row], env_names: list[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["name", "importance", "owners", "model", "status", "prs"]
        + [f"served_{e}" for e in env_names]
    )
    for r in rows:
        writer.writerow(
            [
                csv_cell(v)
                for v in [
                    r.name,
                    r.importance,
                    " ".join(r.owners),
                    r.model,
                    r.status,
                    " ".join(f"#{n}" for n in r.prs),
                ]
                + [r.environments.get(e) or "" for e in env_names]
            ]
        )
    return out.getvalue()


def to_text(rows: list[Row], env_names: list[str]) -> str:
    owners = {r.name: ", ".join(r.owners) for r in rows}
    width = max([len("owners")] + [len(o) for o in owners.values()])
    head = (
        f"{'deployment':<24} {'importance':<10} {'status':<20} {'owners':<{width}} {'model':<28}"
        + "".join(f" {e:<12}" for e in env_names)
    )
    lines = [head.rstrip()]
    for r in rows:
        status = (
            r.status
            + ("*" if r.break_glass else "")
            + (" " + ",".join(f"#{n}" for n in r.prs) if r.prs else "")
        )
        lines.append(
            (
                f"{r.name:<24} {r.importance:<10} {status:<20} {owners[r.name]:<{width}} "
                f"{r.model:<28}"
                + "".join(f" {(r.environments.get(e) or '-'):<12}" for e in env_names)
            ).rstrip()
        )
    if any(r.break_glass for r in rows):
        lines.append("* approved through a freeze with break-glass")
    return "\n".join(lines)
