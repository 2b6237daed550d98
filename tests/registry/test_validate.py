"""`foureyes validate` through the CLI on real files: every schema rule and bad-input class."""

import json
from pathlib import Path

import pytest
import yaml

from support.repos import DEP

GOOD = """\
name: {name}
owner: "@acme/team"
importance: low
model:
  name: m
  version: "1"
  uri: models:/m/1
"""


def test_example_registry_is_valid(repo, cli):
    result = cli("validate")
    assert result.exit_code == 0, result.output
    assert "0 problem(s)" in result.output


def problems_of(cli, *args):
    result = cli("validate", "--format", "json", *args)
    return result.exit_code, json.loads(result.output)["problems"]


# Registry files as data, kept as files as check-jsonschema keeps its example files: each one in
# positive/ must validate, each one in negative/ must fail at the line EXPECTED.yaml gives, saying
# what it gives there. A new case is a new file (and a line in EXPECTED.yaml), no code.
EXAMPLES = Path(__file__).parent / "example-files"
EXPECTED = yaml.safe_load((EXAMPLES / "negative" / "EXPECTED.yaml").read_text())


def _examples(kind: str) -> list[Path]:
    return sorted((EXAMPLES / kind).glob("*.yaml"))


def test_every_negative_example_has_an_expectation_and_every_expectation_a_file():
    files = {p.name for p in _examples("negative")} - {"EXPECTED.yaml"}
    assert files == set(EXPECTED)


@pytest.mark.parametrize("example", _examples("positive"), ids=lambda p: p.stem)
def test_a_positive_example_validates(repo, cli, example):
    repo.write(DEP.format("good"), example.read_text())
    code, problems = problems_of(cli)
    assert (code, problems) == (0, [])


@pytest.mark.parametrize(
    "example",
    [p for p in _examples("negative") if p.name in EXPECTED],
    ids=lambda p: p.stem,
)
def test_a_negative_example_fails_at_its_line_saying_why(repo, cli, example):
    repo.write(DEP.format("bad"), example.read_text())
    code, problems = problems_of(cli)
    assert code == 1
    assert len(problems) >= 1
    p = problems[0]
    assert p["file"] == DEP.format("bad")
    assert p["line"] == EXPECTED[example.name]["line"]
    assert EXPECTED[example.name]["says"] in p["message"], p["message"]
    assert len(p["message"]) < 160  # a person's message, never a regular expression


def test_a_misspelled_field_is_one_problem_with_a_suggestion(repo, cli):
    repo.write(DEP.format("bad"), GOOD.replace("{name}", "bad").replace("  version:", "  verison:"))
    code, problems = problems_of(cli)
    assert code == 1 and len(problems) == 1
    assert (
        problems[0]["message"] == "model.verison: unknown field 'verison'; did you mean 'version'?"
    )
    assert problems[0]["line"] == 6


def test_yes_is_not_a_boolean_so_it_fails_the_schema(repo, cli):
    repo.write(DEP.format("bad"), GOOD.format(name="bad").replace('"1"', "yes"))
    code, _problems = problems_of(cli)
    assert code == 0  # "yes" is the string "yes": a valid version string, not True


def test_name_must_equal_file_name(repo, cli):
    repo.write(DEP.format("other"), GOOD.format(name="bad"))
    code, problems = problems_of(cli)
    assert code == 1
    assert (
        problems[0]["line"] == 1 and "differs from the file name 'other'" in problems[0]["message"]
    )


def test_unknown_environment(repo, cli):
    repo.write(DEP.format("bad"), GOOD.format(name="bad") + "environments: [staging, prod]\n")
    code, problems = problems_of(cli)
    assert code == 1
    assert problems[0]["line"] == 8 and "unknown environment 'prod'" in problems[0]["message"]


def test_organisation_rule_message_comes_from_its_title(repo, cli):
    repo.write(
        DEP.format("bad"),
        GOOD.format(name="bad").replace("importance: low", "importance: critical"),
    )
    code, problems = problems_of(cli)
    assert code == 1
    assert problems[0]["title"] == "critical deployments pin a digest"
    assert "must set model.digest" in problems[0]["message"]


def test_non_utf8_symlink_and_huge_files(repo, cli, tmp_path):
    repo.write(DEP.format("latin"), "name: latin\ndescription: caf\xe9\n".encode("latin-1"))
    (tmp_path / "secret.yaml").write_text("name: x\n")
    (repo.root / DEP.format("link")).symlink_to(tmp_path / "secret.yaml")
    repo.write(DEP.format("huge"), b"name: huge\ndescription: " + b"x" * 300_000 + b"\n")
    code, problems = problems_of(cli)
    assert code == 1
    by_file = {p["file"]: p for p in problems}
    assert (
        "not UTF-8" in by_file[DEP.format("latin")]["message"]
        and by_file[DEP.format("latin")]["line"] == 2
    )
    assert "outside the repository" in by_file[DEP.format("link")]["message"]
    assert "over the" in by_file[DEP.format("huge")]["message"]


def test_invalid_policy_and_environments_are_reported(repo, cli):
    repo.replace("policies/approval.yaml", "approvals: 2", "approvals: two")
    repo.replace("registry/environments.yaml", "branch: main", "branch: main\n    colour: red")
    code, problems = problems_of(cli)
    assert code == 1
    files = {p["file"]: p for p in problems}
    assert files["policies/approval.yaml"]["line"] == 15
    assert "unknown field 'colour'" in files["registry/environments.yaml"]["message"]


def test_given_paths_only(repo, cli):
    repo.write(DEP.format("bad"), "name: [\n")
    result = cli("validate", DEP.format("fraud-scorer"))
    assert result.exit_code == 0
    assert cli("validate", "registry/deployments").exit_code == 1


def test_path_outside_repository_is_a_usage_error(repo, cli, tmp_path):
    result = cli("validate", str(tmp_path))
    assert result.exit_code == 2
    assert "outside the repository" in result.output


def test_broken_schema_is_a_configuration_error(repo, cli):
    repo.write("policies/rules/broken.schema.json", "{not json")
    result = cli("validate")
    assert result.exit_code == 2
    assert "policies/rules/broken.schema.json: not valid JSON" in result.output
    assert "Traceback" not in result.output


def test_github_format_annotations_summary_and_outputs(repo, cli, tmp_path, monkeypatch):
    summary, outputs = tmp_path / "summary.md", tmp_path / "out.txt"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    for i in range(12):
        repo.write(DEP.format(f"bad{i}"), GOOD.format(name=f"bad{i}") + "extra: 1\n")
    repo.write(DEP.format("comma"), "name: comma\nowner: 'x'\n%bad: 1\n")
    result = cli("validate")  # auto -> github
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("::error ")]
    assert len(errors) == 10  # the runner's per-step limit
    assert errors[0].startswith(
        "::error file=registry/deployments/bad0.yaml,line=8,col=1,title=schema::"
    )
    assert "::notice::3 more problem(s)" in result.output
    assert summary.read_text().count("| `registry/deployments/") == 13
    assert "valid=false" in outputs.read_text()


def test_annotation_escaping():
    from foureyes.report.reporters import annotation

    line = annotation("error", "50% done\nnext", "a,b:c.yaml", 3, 1, "t:1,2")
    assert line == "::error file=a%2Cb%3Ac.yaml,line=3,col=1,title=t%3A1%2C2::50%25 done%0Anext"


def test_parallel_validation_finds_the_same_problems(repo, cli, monkeypatch):
    from foureyes.registry import validate as validate_module

    for i in range(40):
        repo.write(DEP.format(f"d{i}"), GOOD.replace("{name}", f"d{i}"))
    repo.write(DEP.format("d7"), GOOD.replace("{name}", "d7") + "extra: 1\n")
    repo.write(DEP.format("d8"), GOOD.replace("{name}", "d8x"))
    serial = problems_of(cli)
    monkeypatch.setattr(validate_module, "PARALLEL_MIN", 10)
    parallel = problems_of(cli)
    assert serial == parallel and serial[0] == 1 and len(serial[1]) == 2


def test_parallel_workers_inherit_their_schemas_and_leave_the_parent_clean(repo, monkeypatch):
    """The forked workers get root and the compiled schemas through the pool's initializer, by
    inheritance: schemas that cannot be pickled still reach them, and the parent keeps no state."""
    import multiprocessing
    import os

    import pytest

    from foureyes.registry import validate as validate_module
    from foureyes.registry.model import Schemas

    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork start method on this platform")
    for i in range(12):
        repo.write(DEP.format(f"d{i}"), GOOD.replace("{name}", f"d{i}"))
    repo.write(DEP.format("d3"), GOOD.replace("{name}", "d3") + "extra: 1\n")
    monkeypatch.setattr(validate_module, "PARALLEL_MIN", 10)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)

    def refuse(self, protocol):
        raise AssertionError("the schemas were pickled")

    monkeypatch.setattr(Schemas, "__reduce_ex__", refuse, raising=False)
    files = validate_module.targets(repo.root, [], repo.root)
    result = validate_module.validate(repo.root, files)
    assert [p.file for p in result.problems] == [DEP.format("d3")]
    assert validate_module._worker_args is None
