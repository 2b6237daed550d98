"""PR facts from a local YAML file plus the real commits in git: offline what-if checks, the demo.

The file says who the people are (accounts, with the emails GitHub would link to them), the teams,
the PR's author and description, and the reviews; the commits are read from git between base and
head, and attributed the way GitHub does it: by linked email, or by a no-reply address.

    author: dana
    body: Replace the fraud model with v13 (AUC 0.91 -> 0.93).
    accounts:
      dana: {id: 104, emails: [dana@acme.example]}
      alice: {id: 201}
    teams:
      acme/mlops-admins: {members: [alice], pending: [carol]}
    reviews:
      - {user: alice, state: APPROVED, commit: head}    # head, head~1 or a sha
"""

from __future__ import annotations

import re
from pathlib import Path

from .. import repo as gitrepo
from ..errors import EvaluationError
from ..judging.facts import (
    Account,
    Commit,
    PRFacts,
    Review,
    account_from_noreply,
    resolve_co_authors,
)
from ..registry import yamlload
from ..registry.model import ConfigError
from ..repo import Repo

STATES = {"APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED"}
PR_FILE_FIELDS = (
    "base",
    "head",
    "merge_commit",
    "merged_at",
)  # what an offline PR file adds to the facts
_NUMBERED = re.compile(r"(?:pr-?)?(\d+)", re.IGNORECASE)  # 42.yaml, pr-42.yaml


def _fail(file: str, message: str) -> EvaluationError:
    return EvaluationError(f"{file}: {message}")


class PRFileError(ConfigError):
    """An offline PR file is malformed: a configuration error (exit 2), never a refused commit."""


def load_local_facts(
    file: Path, repo: Repo, base: str, head: str, doc: dict | None = None, base_ref: str = ""
) -> PRFacts:
    """``doc`` is the file's content when the caller has already read it (the deploy ledger).
    ``base_ref``: the branch the PR goes into, when known (a ledger entry's); the offline gate's
    facts carry none, so every environment's freeze holds them."""
    doc = yamlload.load_file(file) if doc is None else doc
    name = str(file)
    if not isinstance(doc, dict):
        raise _fail(name, "a PR facts file must be a mapping")
    unknown = set(doc) - {
        "number",
        "author",
        "body",
        "accounts",
        "teams",
        "reviews",
        "labels",
        *PR_FILE_FIELDS,
    }
    if unknown:
        raise _fail(name, f"unknown field {sorted(unknown)[0]!r}")
    accounts = {}
    by_email = {}
    if not isinstance(doc.get("accounts") or {}, dict):
        raise _fail(name, "accounts must map login to {id, type, emails}")
    for login, info in (doc.get("accounts") or {}).items():
        info = info or {}
        if not isinstance(info, dict) or not isinstance(info.get("id", 0), int):
            raise _fail(
                name, f"accounts.{login}: expected {{id: <number>, type: User|Bot, emails: [...]}}"
            )
        listed = Account(str(login), info.get("id"), info.get("type", "User"))
        accounts[str(login).lower()] = listed
        for email in info.get("emails", []):
            by_email[str(email).lower()] = listed

    def account(login: object) -> Account:
        key = str(login).lstrip("@").lower()
        if key not in accounts:
            raise _fail(name, f"{login!r} is not listed under accounts")
        return accounts[key]

    base_sha = gitrepo.resolve(repo, base)
    fork = gitrepo.merge_base(repo, base_sha, head)
    commits = read_commits(repo, fork, head, by_email)
    teams: dict[str, frozenset[int]] = {}
    pending: dict[str, frozenset[int]] = {}

    def ids(logins: list) -> frozenset[int]:
        """The account ids of team members (one listed with no id is matched by nobody)."""
        return frozenset(i for m in logins if (i := account(m).id) is not None)

    if not isinstance(doc.get("teams") or {}, dict):
        raise _fail(name, "teams must map org/team to {members: [...], pending: [...]}")
    for team, info in (doc.get("teams") or {}).items():
        key = str(team).lstrip("@").lower()
        teams[key] = ids((info or {}).get("members", []))
        pending[key] = ids((info or {}).get("pending", []))
    reviews = []
    if not isinstance(doc.get("reviews") or [], list):
        raise _fail(name, "reviews must be a list of {user, state, commit}")
    for i, item in enumerate(doc.get("reviews") or [], start=1):
        if not isinstance(item, dict) or "user" not in item:
            raise _fail(name, f"reviews[{i - 1}] must be a mapping with user, state and commit")
        state = str(item.get("state", "")).upper()
        if state not in STATES:
            raise _fail(name, f"reviews[{i - 1}].state must be one of {', '.join(sorted(STATES))}")
        ref = str(item.get("commit", "head"))
        commit = gitrepo.resolve(repo, head + ref[4:] if ref.lower().startswith("head") else ref)
        reviews.append(
            Review(i, account(item["user"]), state, commit, item.get("submitted_at", f"{i:06d}"))
        )
    if "author" not in doc:
        raise _fail(name, "author is required")
    return PRFacts(
        number=pr_number(file, doc, required=False) or 0,
        author=account(doc["author"]),
        base_sha=base_sha,
        head_sha=head,
        body=str(doc.get("body") or ""),
        commits=commits,
        reviews=reviews,
        team_members=teams,
        pending_members=pending,
        labels=tuple(doc.get("labels") or ()),
        base_ref=base_ref or "",
    )


def read_commits(repo: Repo, fork: str, head: str, by_email: dict[str, Account]) -> list[Commit]:
    def link(email: str) -> Account | None:
        return account_from_noreply(email) or by_email.get(email.lower())

    commits = []
    for sha, author_email, committer_email, message in gitrepo.commit_log(repo, fork, head):
        co_authors, missing = resolve_co_authors(message, by_email)
        commits.append(Commit(sha, link(author_email), link(committer_email), co_authors, missing))
    return commits


def pr_number(file: Path, doc: dict, required: bool = True) -> int | None:
    """The PR number of a facts file: its name (``42.yaml``, ``pr-42.yaml``) or its ``number:``
    field; when both are there they must agree. An offline PR file needs one of them: without it
    every PR was "#0", and two of them collided."""

    def _fail(name: str, message: str) -> PRFileError:
        return PRFileError(f"{name}: {message}")

    match = _NUMBERED.fullmatch(file.stem)
    from_name = int(match.group(1)) if match else None
    given = doc.get("number")
    if given is not None and (not isinstance(given, int) or isinstance(given, bool) or given < 1):
        raise _fail(
            str(file), f"number must be a positive whole number (the PR's number), not {given!r}"
        )
    if given is not None and from_name is not None and given != from_name:
        raise _fail(
            str(file), f"number: {given} differs from the file name, which says PR #{from_name}"
        )
    number = given if given is not None else from_name
    if number is None and required:
        raise _fail(
            str(file),
            "which PR is this? name the file after its number (42.yaml) or add `number: 42`",
        )
    return number


def read_pr_files(directory: Path) -> list[tuple[Path, dict]]:
    """The offline PR files (``.foureyes/prs/*.yaml``): `gate --local` facts plus ``base``, ``head``
    and, once merged, ``merge_commit`` and ``merged_at``. Each gets its ``number`` checked and
    filled in;
    two files for one PR are an error."""

    def _fail(name: str, message: str) -> PRFileError:
        return PRFileError(f"{name}: {message}")

    out: list[tuple[Path, dict]] = []
    seen: dict[int, Path] = {}
    for path in sorted(directory.glob("*.yaml")) if directory.is_dir() else []:
        doc = yamlload.load_file(path)
        if not isinstance(doc, dict) or "base" not in doc or "head" not in doc:
            raise _fail(
                str(path),
                "a PR file needs base and head (and merge_commit and merged_at once merged)",
            )
        number = pr_number(path, doc)
        if number is None:  # required=True: pr_number raises instead
            raise _fail(str(path), "a PR file needs its number")
        if number in seen:
            raise _fail(str(path), f"PR #{number} is also described by {seen[number].name}")
        seen[number] = path
        out.append((path, {**doc, "number": number}))
    return out
