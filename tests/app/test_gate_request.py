"""The gate use case with a request in and an outcome out: which PR the run is about comes from
the event file the runner writes, and a request that names no PR is a usage problem, never a
decision."""

from __future__ import annotations

import json

import pytest

from foureyes.app.common import UsageProblem
from foureyes.app.gate import GateRequest, read_event, run
from support.clock import NOW


def request(**changes) -> GateRequest:
    fields = dict(
        repo_name="acme/models",
        number=None,
        token="ghs_test",
        local_file=None,
        base=None,
        head="HEAD",
        app_slug=None,
        publish=True,
        which_pr=True,
        now=NOW,
    )
    fields.update(changes)
    return GateRequest(**fields)


def no_warning(message: str) -> None:
    raise AssertionError(f"unexpected warning: {message}")


def test_outside_a_workflow_there_is_no_event():
    assert read_event({}) == {}


def test_the_event_is_the_json_file_the_runner_names(tmp_path):
    path = tmp_path / "event.json"
    path.write_text(json.dumps({"pull_request": {"number": 7}}))
    assert read_event({"GITHUB_EVENT_PATH": str(path)}) == {"pull_request": {"number": 7}}


def test_which_pr_names_the_pr_of_the_event_and_decides_nothing(pr):
    outcome = run(request(), warn=no_warning)
    assert (outcome.which_pr, outcome.result, outcome.exit_code) == (7, None, 0)


def test_a_pr_given_on_the_command_line_wins_over_the_event(pr):
    assert run(request(number=12), warn=no_warning).which_pr == 12


def test_no_pr_in_the_event_and_none_given_is_a_usage_problem(repo, tmp_path, monkeypatch):
    path = tmp_path / "event.json"
    path.write_text(json.dumps({"push": {}}))
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(path))
    with pytest.raises(UsageProblem, match="give --repo and --pr"):
        run(request(), warn=no_warning)


def test_local_facts_without_a_base_is_a_usage_problem(repo, tmp_path):
    facts = tmp_path / "facts.yaml"
    facts.write_text("author: dana\naccounts: {dana: {id: 1}}\n")
    with pytest.raises(UsageProblem, match="--local needs --base"):
        run(request(local_file=facts, which_pr=False), warn=no_warning)
