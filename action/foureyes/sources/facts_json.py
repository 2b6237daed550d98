"""A PR's facts as JSON and back: how the GitHub source keeps a merged PR's decided facts (the
record's table simulate_facts), so a rerun of the what-if does not fetch them again, and judges
with the same people: the team members, invitations and owners the first run counted."""

from __future__ import annotations

from ..errors import EvaluationError
from ..judging.facts import Account, Commit, PRFacts, Review


def _account(a: Account | None) -> dict | None:
    return None if a is None else {"login": a.login, "id": a.id, "type": a.type}


def _from_account(d: dict | None) -> Account | None:
    return None if d is None else Account(d["login"], d.get("id"), d.get("type", "User"))


def _known_account(d: dict | None, who: str) -> Account:
    """An account the recorded facts must name (a PR's author, a reviewer, a co-author)."""
    found = _from_account(d)
    if found is None:
        raise EvaluationError(f"the recorded facts name no account for {who}")
    return found


def facts_to_json(f: PRFacts) -> dict:
    return {
        "number": f.number,
        "author": _account(f.author),
        "base_sha": f.base_sha,
        "head_sha": f.head_sha,
        "body": f.body,
        "labels": list(f.labels),
        "base_ref": f.base_ref,
        "default_branch": f.default_branch,
        "commits": [
            {
                "sha": c.sha,
                "author": _account(c.author),
                "committer": _account(c.committer),
                "co_authors": [_account(a) for a in c.co_authors],
                "unattributed": list(c.unattributed),
            }
            for c in f.commits
        ],
        "reviews": [
            {
                "id": r.id,
                "user": _account(r.user),
                "state": r.state,
                "commit_id": r.commit_id,
                "submitted_at": r.submitted_at,
            }
            for r in f.reviews
        ],
        "teams": {t: sorted(ids) for t, ids in f.team_members.items()},
        "pending": {t: sorted(ids) for t, ids in f.pending_members.items()},
        "owners": {login: _account(a) for login, a in f.owner_accounts.items()},
    }


def facts_from_json(d: dict) -> PRFacts:
    return PRFacts(
        number=d["number"],
        author=_known_account(d["author"], f"PR #{d['number']}'s author"),
        base_sha=d["base_sha"],
        head_sha=d["head_sha"],
        body=d["body"],
        labels=tuple(d.get("labels", ())),
        base_ref=d.get("base_ref", ""),
        default_branch=d.get("default_branch", ""),
        team_members={t: frozenset(ids) for t, ids in d["teams"].items()},
        pending_members={t: frozenset(ids) for t, ids in d["pending"].items()},
        owner_accounts={login: _from_account(a) for login, a in d["owners"].items()},
        commits=[
            Commit(
                c["sha"],
                _from_account(c["author"]),
                _from_account(c["committer"]),
                tuple(_known_account(a, f"a co-author of {c['sha']}") for a in c["co_authors"]),
                tuple(c["unattributed"]),
            )
            for c in d["commits"]
        ],
        reviews=[
            Review(
                r["id"],
                _known_account(r["user"], f"the author of review {r['id']}"),
                r["state"],
                r["commit_id"],
                r["submitted_at"],
            )
            for r in d["reviews"]
        ],
    )
