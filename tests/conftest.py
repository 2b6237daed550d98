"""Shared fixtures: real git repositories in temp dirs, seeded with the bundled example registry."""

from __future__ import annotations

import pytest

from foureyes.demo import copy_template
from support.repos import Repo


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
