"""Names that become a git ref or a URL path segment: refused by the schemas where they are
written, and made safe in code where a repository's own schema may allow anything."""

import json
import subprocess

import pytest

from support.repos import DEP

FRAUD = DEP.format("fraud-scorer")


def problems_of(cli):
    result = cli("validate", "--format", "json")
    return result.exit_code, json.loads(result.output)["problems"]


@pytest.mark.parametrize(
    "version", ["../../../../user/keys", "12/../13", "1..2", ".hidden", "12\\u0007"]
)
def test_a_model_version_that_would_leave_its_path_segment_is_refused(repo, cli, version):
    repo.replace(FRAUD, 'version: "12"', f'version: "{version}"')
    code, problems = problems_of(cli)
    assert code == 1 and problems[0]["file"] == FRAUD and problems[0]["line"] == 8


@pytest.mark.parametrize("name", ["../fraud-xgb", "/fraud-xgb", "fraud/xgb", "fraud\\u0000xgb"])
def test_a_model_name_that_would_leave_its_path_segment_is_refused(repo, cli, name):
    repo.replace(FRAUD, "  name: fraud-xgb", f'  name: "{name}"')
    code, problems = problems_of(cli)
    assert code == 1 and problems[0]["file"] == FRAUD and problems[0]["line"] == 7


@pytest.mark.parametrize(
    "branch",
    ["../main", "/main", "release/", "release//x", "-main", "main.lock", "a b", "main@{1}"],
)
def test_an_environment_branch_that_is_not_a_ref_is_refused(repo, cli, branch):
    repo.replace("registry/environments.yaml", "branch: main", f"branch: {json.dumps(branch)}")
    code, problems = problems_of(cli)
    assert code == 1 and problems[0]["file"] == "registry/environments.yaml"


def test_honest_names_pass(repo, cli):
    repo.replace(FRAUD, 'version: "12"', 'version: "v1.2.0-rc.1+build5"')
    repo.replace(
        FRAUD, "  name: fraud-xgb", "  name: payments.fraud.fraud_xgb"
    )  # a Unity Catalog name
    repo.replace("registry/environments.yaml", "branch: release/*", "branch: release/2026.*")
    assert problems_of(cli) == (0, [])


@pytest.mark.parametrize(
    "version", ["../../../../heads/main", "1..2", "x.lock", "~1^2:3", "a b\nc", "-"]
)
def test_a_rollback_branch_is_a_valid_ref_whatever_the_version(tmp_path, version):
    """A repository whose own schema allows any version: the rollback branch (a git ref, and the
    path of the GitHub API's git/refs/heads/...) is still one valid ref under rollback/."""
    from foureyes.deploy.rollback import Rollback

    rollback = Rollback(
        "fraud-scorer", "staging", FRAUD, {}, {"name": "fraud-xgb", "version": version}, {}, ""
    )
    branch = rollback.branch
    assert (
        branch.startswith("rollback/fraud-scorer-staging")
        and branch.count("/") == 1
        and ".." not in branch
    )
    subprocess.run(["git", "check-ref-format", f"refs/heads/{branch}"], check=True)
