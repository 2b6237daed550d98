"""Steps the end-to-end tests share: Dana's change to churn-predictor opened as a PR or merged
after Alice's approval, the App's settings a workflow run is given, an earlier deploy's record,
and a run of the deploy workflow."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from foureyes.deploy.github_record import GitHubRecord
from foureyes.deploy.reconcile import deploy
from foureyes.repo import Repo as Session
from foureyes.sources.ledger import Ledger

from .harness import RemoteRepo
from .world import ALICE, APP_BOT, DANA, World

DEP = "registry/deployments/churn-predictor.yaml"  # importance moderate: one approval; staging + production


def bump(repo: RemoteRepo) -> None:
    """churn-predictor's model version becomes "999" (the working tree only)."""
    text = (repo.root / DEP).read_text()
    old = next(line for line in text.splitlines() if line.strip().startswith("version:"))
    repo.replace(DEP, old, old.replace(old.split(":", 1)[1].strip(), '"999"'))


def merge_approved_change(
    repo: RemoteRepo, world: World, number: int = 7, change: Callable[[RemoteRepo], None] = bump
) -> tuple[str, str]:
    """PR #7 (Dana's new churn-predictor version, approved by Alice) merged into main; ``change``
    edits the deployment on the PR's branch (default: version 999)."""
    base = repo.sha("main")
    repo.git("checkout", "-q", "-b", "change")
    change(repo)
    head = repo.commit("churn-predictor: new model version")
    repo.git("checkout", "-q", "main")
    repo.git(
        "-c",
        "user.name=Mo Admin",
        "-c",
        "user.email=mo@acme.example",
        "merge",
        "-q",
        "--no-ff",
        "-m",
        f"Merge pull request #{number} from acme/change",
        "change",
    )
    merge = repo.sha()
    repo.push("main")
    world.merged(number, DANA, base, head, merge, [ALICE])
    return base, merge


def app_settings(standin) -> tuple[dict, dict]:
    """The App's private key (a secret) and client id (a variable), as the admins set them."""
    return (
        {"FOUREYES_APP_PRIVATE_KEY": standin.app_private_key},
        {"FOUREYES_APP_CLIENT_ID": standin.app_client_id},
    )


def open_change(standin, tmp_path, world: World, number: int = 7, fork: bool = False):
    """Dana's PR #``number`` (from a fork if ``fork``): the clone and the stand-in's pull."""
    repo = RemoteRepo(tmp_path / "repo", standin.git_root / "acme" / "models.git")
    base = repo.sha()
    repo.git("checkout", "-q", "-b", "change")
    bump(repo)
    head = repo.commit("churn-predictor: new model version")
    if (
        not fork
    ):  # a fork's branch lives in the fork; GitHub keeps its head as refs/pull/N/head here
        repo.push("change")
    repo.push(f"{head}:refs/pull/{number}/head")
    repo.git("checkout", "-q", "main")
    pr = world.open_pull(number, DANA, base, head, fork=fork)
    return repo, pr


def run_gate(act, standin, repo: RemoteRepo, event_name: str, payload: dict):
    """foureyes-gate.yml on ``event_name`` with the App's settings."""
    secrets, variables = app_settings(standin)
    return act.run(
        repo, "foureyes-gate.yml", event_name, payload, secrets=secrets, variables=variables
    )


class _Requester:
    """PyGithub's requester, answered by the stand-in in-process (same routes, same validation)."""

    def __init__(self, standin, token: str):
        self.standin, self.token = standin, token

    def requestJsonAndCheck(self, method, url, parameters=None, input=None):
        query = {k: str(v) for k, v in (parameters or {}).items()}
        raw = json.dumps(input).encode() if input is not None else b""
        status, body = self.standin.rest(
            method, url, query, raw, {"Authorization": f"token {self.token}"}
        )
        assert status < 300, (method, url, status, body)
        return {}, body


class _GitHub:
    def __init__(self, standin):
        self.requester = _Requester(standin, standin.issue_token({"deployments": "write"}))


def deployed_earlier(standin, repo: RemoteRepo, environment: str, tmp_path: Path) -> None:
    """An earlier run deployed ENV at the bootstrap commit: its GitHub deploy record and sync."""
    record = GitHubRecord(
        _GitHub(standin), "acme/models", tmp_path / f"seed-{environment}.sqlite", APP_BOT["id"]
    )
    try:
        with Session(repo.root) as run:  # the earlier run's own session
            result = deploy(
                run,
                environment,
                record,
                Ledger(run, tmp_path / "no-prs"),
                commit=repo.sha("main"),
            )
    finally:
        record.close()
    assert result.ok and result.steps, result


def run_deploy(
    act, standin, repo, payload, trusted: str, event: str = "push", runner_env: dict | None = None
):
    """``trusted``: the foureyes commit the admins pinned (vars.FOUREYES_TRUSTED_REF)."""
    secrets, variables = app_settings(standin)
    return act.run(
        repo,
        "foureyes-deploy.yml",
        event,
        payload,
        secrets=secrets,
        variables={**variables, "FOUREYES_TRUSTED_REF": trusted},
        runner_env=runner_env,
    )
