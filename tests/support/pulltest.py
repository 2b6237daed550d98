"""An in-memory PR for pure policy tests (the policy-bot `pulltest` pattern): build PR facts and a
plan without git or GitHub, then call the policy evaluation directly."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from foureyes.judging.changes import Event
from foureyes.judging.facts import Account, Commit, PRFacts, Review
from foureyes.judging.plan import Plan
from foureyes.registry.model import parse_policy
from support.clock import review_time

POLICY = (Path(__file__).parents[2] / "policies" / "approval.yaml").read_bytes()
HEAD, OLD = "h" * 40, "o" * 40

DANA = Account("dana", 104)  # the PR author
ALICE = Account("alice", 201)  # admins
BOB = Account("bob", 202)
ERIN = Account("erin", 204)
CAROL = Account("carol", 203)  # invited to the admin team, not yet a member
MALLORY = Account("mallory", 666)  # not an approver
RENOVATE = Account("renovate[bot]", 29139614, "Bot")
TEAM = "acme/mlops-admins"


def policy(text: bytes = POLICY):
    return parse_policy(text)


def event(kind="replace_model", level="critical", deployment="fraud-scorer", **kw) -> Event:
    return Event(kind, f"registry/deployments/{deployment}.yaml", level, deployment, **kw)


def make_plan(*events: Event, owners=(), problems=(), pol=None) -> Plan:
    return Plan(
        "b" * 40,
        HEAD,
        pol or policy(),
        list(events) or [event()],
        list(problems),
        frozenset(owners),
    )


def commit(sha="c1", author=DANA, committer=None, co_authors=(), unattributed=()) -> Commit:
    return Commit(
        sha * 20 if len(sha) < 40 else sha,
        author,
        committer or author,
        tuple(co_authors),
        tuple(unattributed),
    )


def approve(user, commit_id=HEAD, state="APPROVED", id=None, at=None) -> Review:
    approve.counter += 1
    n = id or approve.counter
    return Review(n, user, state, commit_id, at or review_time(n))


approve.counter = 0


def facts(
    *reviews: Review,
    commits=None,
    body="Replace fraud-xgb v12 by v13: AUC 0.91 -> 0.93.",
    author=DANA,
    members=(ALICE, BOB, ERIN, RENOVATE),
    pending=(CAROL,),
) -> PRFacts:
    return PRFacts(
        number=7,
        author=author,
        base_sha="b" * 40,
        head_sha=HEAD,
        body=body,
        commits=list(commits) if commits is not None else [commit()],
        reviews=list(reviews),
        team_members={TEAM: frozenset(a.id for a in members)},
        pending_members={TEAM: frozenset(a.id for a in pending)},
    )


def with_policy_change(old: str, new: str):
    return policy(POLICY.replace(old.encode(), new.encode()))


__all__ = ["replace"]
