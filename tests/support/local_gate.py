"""`foureyes gate --local FILE` as the local gate tests run it: the PR facts file beside the
repository, the decision read back from the JSON output."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path

from support.pr_facts import RENOVATE, write_pr_facts
from support.repos import Repo

GATE_PEOPLE = {
    **RENOVATE,
    "alice": {"id": 201, "emails": ["alice@acme.example"]},
    "carol": {"id": 203},
    "lena-m": {"id": 300},
}
ADMIN_TEAM = ("mo", "alice", "bob", "lena-m", "renovate[bot]")


def write_facts(path: Path, reviews: Iterable[dict] = (), body: str = "why") -> None:
    """The local gate tests' PR facts: alice has an email, carol is invited to the admin team,
    lena-m and the bot are admins."""
    write_pr_facts(
        path, reviews, body=body, accounts=GATE_PEOPLE, admins=ADMIN_TEAM, pending=["carol"]
    )


def gate(
    cli: Callable,
    repo: Repo,
    reviews: list[dict],
    body: str = "Because the new model is better.",
    head: str = "pr",
) -> tuple[int, dict | None, str]:
    """Gate ``head`` against main with ``reviews``: the exit code, the JSON decision (None when the
    output is no JSON) and the output."""
    path = repo.root.parent / "facts.yaml"
    write_facts(path, reviews, body)
    result = cli("gate", "--local", str(path), "--base", "main", "--head", head, "--format", "json")
    data = json.loads(result.output) if result.output.startswith("{") else None
    return result.exit_code, data, result.output
