"""Shared fixtures: real git repositories in temp dirs, seeded with the bundled example registry."""

from __future__ import annotations

import pytest
import responses

from foureyes.app.demo import copy_template
from ghapi.mockgithub import MockGitHub
from support.github_gate import pull_request_event
from support.repos import DEP, Repo
from support.scripted import scripted_history


@pytest.fixture
def repo(tmp_path, monkeypatch) -> Repo:
    """A git repository whose main holds the example registry; the cwd is its root."""
    r = Repo(tmp_path / "repo")
    copy_template(r.root)
    r.commit("initial registry", "Mo Admin <mo@acme.example>")
    monkeypatch.chdir(r.root)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.delenv("GITHUB_OUTPUT", raising=False)
    return r


@pytest.fixture
def env_repo(repo: Repo) -> Repo:
    """The example repository with .foureyes/ ignored, like a real one."""
    repo.write(".gitignore", ".foureyes/\n")
    repo.commit("ignore local state", "Mo Admin <mo@acme.example>")  # touches nothing deployed
    return repo


@pytest.fixture
def cli():
    from click.testing import CliRunner

    from foureyes.cli import main

    runner = CliRunner()

    def invoke(*args: str, **kwargs):
        return runner.invoke(main, list(args), catch_exceptions=False, **kwargs)

    return invoke


@pytest.fixture
def pr(repo: Repo, tmp_path, monkeypatch) -> Repo:
    """Dana's PR replacing fraud-scorer's model (critical), with a webhook event file."""
    base = repo.git("rev-parse", "HEAD")
    repo.branch("change")
    repo.replace(DEP.format("fraud-scorer"), 'version: "12"', 'version: "13"')
    head = repo.commit("fraud-scorer v13")
    repo.git("checkout", "-q", "main")  # the gate runs on the default branch, PR head only as data
    return pull_request_event(repo, tmp_path, monkeypatch, base, head)


@pytest.fixture
def gh() -> MockGitHub:
    """The GitHub mock, for the test's duration."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield MockGitHub(rsps)


@pytest.fixture
def scripted(repo: Repo) -> Repo:
    """The example repository with support/scripted.py's history, deployed to staging."""
    return scripted_history(repo)
