"""The PR facts file the local gate (`gate --local FILE`) and the offline ledger
(`.foureyes/prs/<n>.yaml`) read: one builder, so every test names the same people by the same ids
and says only what its PR does differently."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import yaml

# login -> account as the facts file gives it: the ids are those of the GitHub mock's users too
PEOPLE: dict[str, dict] = {
    "dana": {"id": 104, "emails": ["dana@acme.example"]},  # the usual author
    "mo": {"id": 101, "emails": ["mo@acme.example"]},  # merges
    "alice": {"id": 201},  # approvers
    "bob": {"id": 202},
}
ADMINS = "acme/mlops-admins"
# libyaml's safe dumper where PyYAML has it: the history generator writes thousands of entries
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
ERIN = {"erin": {"id": 205}}
RENOVATE = {"renovate[bot]": {"id": 29139614, "type": "Bot"}}


def approvals(*users: str, commit: str = "head") -> list[dict]:
    """An APPROVED review by each of ``users`` on ``commit`` ("head": the PR's head)."""
    return [{"user": u, "state": "APPROVED", "commit": commit} for u in users]


TWO = approvals("alice", "bob")  # what a critical change needs


def pr_facts(
    reviews: Iterable[dict] = (),
    *,
    body: str = "A reason.",
    author: str = "dana",
    labels: Iterable[str] | None = None,
    admins: Iterable[str] = ("alice", "bob"),
    pending: Iterable[str] = (),
    accounts: Mapping[str, dict] | None = None,
    teams: Mapping[str, Iterable[str]] | None = None,
    **fields: object,
) -> str:
    """The YAML text of one PR's facts. ``admins`` (and ``pending``, invited but not yet members)
    make up acme/mlops-admins; ``teams`` adds other teams by their members; ``accounts`` adds to
    (or replaces some of) PEOPLE. ``fields`` are the ledger's own keys (number, base, head,
    merge_commit, merged_at, base_ref); one given as None is left out. ``labels`` None leaves the
    key out, as a file written by hand would."""
    doc: dict = {"author": author, "body": body}
    doc |= {key: value for key, value in fields.items() if value is not None}
    doc["accounts"] = {**PEOPLE, **(accounts or {})}
    admin_team: dict = {"members": list(admins)}
    if pending:
        admin_team["pending"] = list(pending)
    doc["teams"] = {ADMINS: admin_team}
    doc["teams"] |= {team: {"members": list(members)} for team, members in (teams or {}).items()}
    doc["reviews"] = list(reviews)
    if labels is not None:
        doc["labels"] = list(labels)
    return yaml.dump(doc, Dumper=DUMPER, sort_keys=False)


def write_pr_facts(path: Path, reviews: Iterable[dict] = (), **kw: object) -> Path:
    """Write ``pr_facts(reviews, **kw)`` to ``path`` (its folder made if need be)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(pr_facts(reviews, **kw), "utf-8")
    return path
