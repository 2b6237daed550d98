"""Evidence: the facts a gate decision was made on, recorded when it is made.

The gate records, with every decision it publishes, what it read that can change later: the PR's
author, description and labels, the members of every team it counted, the owners' accounts, and
the reviews it saw (by id and account id). The deploy judges a merged PR by the latest evidence
recorded for its merged head instead of by today's people and labels, so an approval survives an
approver leaving a team or a description being emptied, and a PR that was not approved is not
lifted by a reviewer joining a team or a label added after the merge.

What GitHub keeps immutably is re-checked, not taken from the evidence: the reviews submitted up
to the merge and the PR's commits come from GitHub, and every review the evidence names must be
among them (same review id, account id and commit). The judgment itself (judgment.py) runs again
on those facts, with the policies read at the judging commits.

Pure: no network, no git. Where it is stored and who may write it is github/evidence.py's concern.
"""

from __future__ import annotations

import dataclasses
import hashlib

from ..errors import EvaluationError
from .facts import Account, PRFacts

FORMAT = 1  # the layout of an evidence document; another layout is not read


def of(facts: PRFacts, decision_state: str) -> dict:
    """The evidence of one gate decision."""
    return {
        "format": FORMAT,
        "pr": facts.number,
        "head": facts.head_sha,
        "base": facts.base_sha,
        "base_ref": facts.base_ref,
        "decision": decision_state,
        "author": _account(facts.author),
        "body": facts.body,
        "labels": list(facts.labels),
        "teams": {team: sorted(ids) for team, ids in sorted(facts.team_members.items())},
        "pending": {team: sorted(ids) for team, ids in sorted(facts.pending_members.items())},
        "owners": {login: _account(a) for login, a in sorted(facts.owner_accounts.items())},
        "reviews": [[r.id, r.user.id, r.state, r.commit_id] for r in facts.reviews],
    }


def matches(doc: object, number: int, head: str) -> bool:
    """The document is evidence, in this layout, about this PR at this head."""
    return (
        isinstance(doc, dict)
        and doc.get("format") == FORMAT
        and doc.get("pr") == number
        and doc.get("head") == head
    )


def apply(doc: dict, facts: PRFacts) -> PRFacts:
    """``facts`` as GitHub serves them now (reviews up to the merge, commits), with what the
    evidence recorded in place of what may have changed since. Teams the evidence does not hold
    (a policy at the judging commits names one the gate did not read) keep the members ``facts``
    has. Raises when GitHub no longer holds a review the evidence names as it was recorded."""
    held = {r.id: r for r in facts.reviews}
    for review_id, user_id, _state, commit in doc["reviews"]:
        now = held.get(review_id)
        if now is None or now.user.id != user_id or now.commit_id != commit:
            raise EvaluationError(
                f"PR #{facts.number}: the gate's evidence names review {review_id}, which "
                "GitHub does not hold as recorded before the merge"
            )
    return dataclasses.replace(
        facts,
        author=_recorded_author(doc, facts),
        body=_body(doc.get("body"), facts),
        labels=tuple(doc["labels"]),
        team_members={
            **facts.team_members,
            **{t: frozenset(ids) for t, ids in doc["teams"].items()},
        },
        pending_members={t: frozenset(ids) for t, ids in doc.get("pending", {}).items()},
        owner_accounts={login: _from_account(a) for login, a in doc.get("owners", {}).items()},
    )


def body_as_digest(doc: dict) -> dict:
    """The evidence with the description kept as its SHA-256 (a description too long to store)."""
    return {**doc, "body": {"sha256": hashlib.sha256(doc["body"].encode()).hexdigest()}}


def _body(recorded: object, facts: PRFacts) -> str:
    if not isinstance(recorded, dict):
        return str(recorded or "")
    if hashlib.sha256(facts.body.encode()).hexdigest() != recorded.get("sha256"):
        raise EvaluationError(
            f"PR #{facts.number}: its description changed after the gate decided, and the "
            "evidence holds only the digest of the long description it read"
        )
    return facts.body


def _recorded_author(doc: dict, facts: PRFacts) -> Account:
    author = _from_account(doc["author"])
    if author is None:
        raise EvaluationError(f"PR #{facts.number}: the gate's evidence names no author")
    return author


def _account(a: Account | None) -> dict | None:
    return None if a is None else {"login": a.login, "id": a.id, "type": a.type}


def _from_account(d: dict | None) -> Account | None:
    return None if d is None else Account(d["login"], d.get("id"), d.get("type", "User"))
