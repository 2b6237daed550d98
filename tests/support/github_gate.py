"""`foureyes gate` against the GitHub mock: the people, Dana's PR as the mock serves it, and a PR
whose head an attacker wrote, with the webhook event file the gate reads."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from ghapi.mockgithub import HERE, MockGitHub, user
from support.repos import Repo

DANA, ALICE, BOB = user("dana", 104), user("alice", 201), user("bob", 202)
MALLORY, BOT = user("mallory", 666), user("renovate[bot]", 29139614, "Bot")
GHA = user("github-actions[bot]", 41898282, "Bot")
TEAM = "acme/mlops-admins"


def given_pr(
    gh: MockGitHub,
    pr: Repo,
    reviews: Iterable[tuple[dict, str, str | None]],
    commits: list[dict] | None = None,
    members: Iterable[dict] = (ALICE, BOB, BOT),
    body: str = "v13 is better: AUC 0.93.",
    **pull: object,
) -> None:
    """The mock serves Dana's PR ``pr`` with ``reviews`` ((user, state, commit or None for the
    head)), ``commits`` and the admin team's ``members``, and accepts the gate's writes."""
    gh.pull(DANA, pr.base, pr.head, body=body, **pull)
    gh.commits(*(commits or [{"sha": pr.head, "author": DANA, "email": "dana@acme.example"}]))
    gh.reviews(*[{"user": u, "state": s, "commit_id": c or pr.head} for u, s, c in reviews])
    gh.team(TEAM, *members)
    gh.existing_comments()
    gh.accept_writes()


def run(cli: Callable) -> tuple[int, dict | None]:
    """`foureyes gate --format json`: the exit code and the decision (None when no JSON)."""
    result = cli("gate", "--format", "json")
    print(result.stderr)
    return result.exit_code, json.loads(result.stdout) if result.stdout.startswith("{") else None


def open_pr(
    repo: Repo,
    tmp_path,
    monkeypatch,
    edit: Callable[[Repo], object],
    base_ref: str = "main",
    branch: str = "attack",
) -> Repo:
    """A PR whose head is ``edit`` applied on top of ``base_ref``; the gate runs on main."""
    repo.git("checkout", "-q", base_ref)
    base = repo.git("rev-parse", "HEAD")
    repo.branch(branch)
    edit(repo)
    head = repo.commit("attack", "Mallory <mallory@evil.example>")
    repo.git("checkout", "-q", "main")
    return pull_request_event(repo, tmp_path, monkeypatch, base, head, base_ref)


def pull_request_event(
    repo: Repo, tmp_path, monkeypatch, base: str, head: str, base_ref: str | None = None
) -> Repo:
    """GitHub's pull_request webhook example as PR #7 from ``base`` to ``head`` (and into
    ``base_ref``, when given), in the environment the gate reads it from; the repository keeps
    ``base`` and ``head``."""
    event = json.loads((HERE / "webhook-pull_request.json").read_text())["examples"][0]
    event["pull_request"].update(number=7)
    event["pull_request"]["base"]["sha"] = base
    if base_ref is not None:
        event["pull_request"]["base"]["ref"] = base_ref
    event["pull_request"]["head"]["sha"] = head
    event_path = tmp_path / "event.json"
    event_path.write_text(json.dumps(event))
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event_path))
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/models")
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_test")
    monkeypatch.delenv("GITHUB_API_URL", raising=False)
    repo.base, repo.head = base, head
    return repo
