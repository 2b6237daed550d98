"""What the use cases share, with a request in and a result (or an error) out: the repository a
command stands in, the names it must know, and validate's verdict as an exit code."""

from __future__ import annotations

import pytest

from foureyes.app.common import UsageProblem, check_names, repo_root
from foureyes.app.validate import ValidateRequest, run
from foureyes.errors import SetupError
from support.repos import Repo


def test_outside_a_repository_a_command_that_needs_one_says_how_to_get_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SetupError, match="foureyes init"):
        repo_root()
    assert repo_root(required=False) == tmp_path


def test_an_unknown_environment_is_an_error_that_offers_the_closest(repo):
    with pytest.raises(SetupError, match="staging"):
        check_names(repo.session, "stagign")
    check_names(repo.session, "staging", "fraud-scorer")


def test_an_unknown_deployment_is_an_error(repo):
    with pytest.raises(SetupError, match="fraud-scorer"):
        check_names(repo.session, deployment="fraud-scorrer")


def test_a_valid_registry_exits_0_and_a_broken_one_1(repo):
    assert run(ValidateRequest(())).exit_code == 0
    repo.replace("registry/deployments/fraud-scorer.yaml", "importance:", "importanse:")
    assert run(ValidateRequest(())).exit_code == 1


def test_a_repository_without_a_registry_is_a_setup_error(tmp_path, monkeypatch):
    Repo(tmp_path / "empty")
    monkeypatch.chdir(tmp_path / "empty")
    with pytest.raises(SetupError, match="no registry"):
        run(ValidateRequest(()))


def test_a_path_outside_the_repository_is_a_usage_problem(repo, tmp_path):
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text("a: 1\n")
    with pytest.raises(UsageProblem, match="outside the repository"):
        run(ValidateRequest((str(outside),)))
