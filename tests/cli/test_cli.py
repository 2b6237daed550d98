"""CLI conventions: every command has --help, the package imports no heavy module up front, and
bad input files give a one-line error, never a traceback."""

import subprocess
import sys

import pytest

from foureyes.cli import main

COMMANDS = sorted(main.commands)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(cli, command):
    result = cli(command, "--help")
    assert result.exit_code == 0 and "Usage: main " + command in result.output


def test_help_imports_no_heavy_module():
    code = (
        "import sys; from foureyes.cli import main; "
        "print(sorted(m for m in ('jsonschema', 'github', 'jsonschema_rs', 'requests', "
        "'yaml') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize(
    "facts, message",
    [
        (
            "author: dana\nreviews: [alice]\naccounts: {dana: {id: 1}}\n",
            "reviews[0] must be a mapping",
        ),
        (
            "author: dana\nreviews: {alice: APPROVED}\naccounts: {dana: {id: 1}}\n",
            "reviews must be a list",
        ),
        ("author: dana\naccounts: [dana]\n", "accounts must map login"),
        ("author: dana\nteams: [x]\naccounts: {dana: {id: 1}}\n", "teams must map org/team"),
        ("author: dana\naccounts: {dana: {id: one}}\n", "accounts.dana: expected"),
        ("author: [\n", "invalid YAML"),
        ("- a list\n", "must be a mapping"),
    ],
)
def test_bad_local_facts_are_a_clear_error(repo, cli, tmp_path, facts, message):
    repo.branch("pr")
    repo.commit("empty")
    path = tmp_path / "facts.yaml"
    path.write_text(facts)
    result = cli("gate", "--local", str(path), "--base", "main", "--format", "text")
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_empty_policy_file_is_reported_as_empty(repo, cli):
    repo.write("policies/approval.yaml", "# nothing here yet\n")
    result = cli("validate", "--format", "text")
    assert (
        result.exit_code == 1 and "policies/approval.yaml:1:1: the file is empty" in result.output
    )
