"""`foureyes gate --local` end to end on real git repositories: the decision through the CLI."""

import json

import pytest

from support.local_gate import gate, write_facts
from support.pr_facts import approvals
from support.repos import DEP

FRAUD = DEP.format("fraud-scorer")
RECS = DEP.format("product-recs")


@pytest.fixture
def pr(repo):
    """PR: Dana replaces the model of fraud-scorer (critical: 2 approvals)."""
    repo.branch("pr")
    repo.replace(FRAUD, 'version: "12"', 'version: "13"')
    repo.commit("fraud-scorer v13")
    return repo


def test_honest_approvals_pass(pr, cli):
    code, data, _ = gate(cli, pr, approvals("alice", "bob"))
    assert code == 0 and data["decision"] == "approved"
    assert data["approvals"] == ["alice", "bob"] and data["required_approvals"] == 2
    assert data["events"][0]["type"] == "replace_model" and data["level"] == "critical"
    assert data["reason"] == "Because the new model is better."


def test_one_approval_is_pending(pr, cli):
    code, data, _ = gate(cli, pr, approvals("alice"))
    assert code == 1 and data["decision"] == "pending"


def test_self_approval_and_bot_ignored(pr, cli):
    code, data, _ = gate(cli, pr, approvals("dana", "renovate[bot]", "alice"))
    assert code == 1
    assert {(i["login"], i["reason"]) for i in data["ignored"]} == {
        ("dana", "author"),
        ("renovate[bot]", "bot"),
    }


def test_approval_by_someone_who_pushed_a_commit(pr, cli):
    pr.write(FRAUD, pr.read(FRAUD) + "# tweak\n")
    pr.commit("tweak", "Alice Admin <alice@acme.example>")
    code, data, _ = gate(cli, pr, approvals("alice", "bob"))
    assert code == 1 and ("alice", "contributor") in {
        (i["login"], i["reason"]) for i in data["ignored"]
    }


def test_co_author_by_noreply_trailer(pr, cli):
    pr.write(FRAUD, pr.read(FRAUD) + "# pairing\n")
    pr.commit("pairing\n\nCo-authored-by: Bob <202+bob@users.noreply.github.com>")
    code, data, _ = gate(cli, pr, approvals("alice", "bob"))
    assert code == 1 and ("bob", "contributor") in {
        (i["login"], i["reason"]) for i in data["ignored"]
    }


def test_stale_approval(pr, cli):
    pr.write(FRAUD, pr.read(FRAUD) + "# later\n")
    pr.commit("later")
    code, data, _ = gate(cli, pr, approvals("alice") + approvals("bob", commit="head~1"))
    assert code == 1 and ("bob", "stale") in {(i["login"], i["reason"]) for i in data["ignored"]}


def test_owner_listed_as_user_cannot_approve(repo, cli):
    repo.branch("pr")
    repo.replace(RECS, 'version: "2026.11.3"', 'version: "2026.11.4"')
    repo.commit()
    code, data, _ = gate(cli, repo, approvals("lena-m"))
    assert code == 1 and ("lena-m", "owner") in {(i["login"], i["reason"]) for i in data["ignored"]}
    assert gate(cli, repo, approvals("alice"))[0] == 0


def test_unlinked_commit_author_blocks(pr, cli):
    pr.write(FRAUD, pr.read(FRAUD) + "# anon\n")
    pr.commit("anon", "Somebody <somebody@elsewhere.example>")
    code, data, _ = gate(cli, pr, approvals("alice", "bob"))
    assert code == 1 and data["decision"] == "blocked"
    assert data["blocking"][0]["reason"] == "unattributed_commit"


def test_empty_description_blocks(pr, cli):
    code, data, _ = gate(cli, pr, approvals("alice", "bob"), body="")
    assert code == 1 and data["blocking"][0]["reason"] == "no_reason"


def test_pr_that_edits_the_policy_to_lower_its_own_requirement(pr, cli):
    policy = (
        pr.read("policies/approval.yaml")
        .replace("approvals: 2", "approvals: 1")
        .replace("level: critical", "level: low")
    )
    pr.write("policies/approval.yaml", policy)
    pr.commit("lower the bar")
    code, data, _ = gate(cli, pr, approvals("alice"))
    assert code == 1 and data["required_approvals"] == 2 and data["level"] == "critical"


@pytest.mark.parametrize("path", [".github/CODEOWNERS", ".github/workflows/gate.yml"])
def test_pr_that_edits_codeowners_or_a_workflow_needs_governance_approval(repo, cli, path):
    repo.branch("pr")
    repo.write(path, "* @dana\n")
    repo.commit()
    code, data, _ = gate(cli, repo, approvals("alice"))
    assert code == 1 and data["level"] == "critical" and data["events"][0]["type"] == "governance"
    assert gate(cli, repo, approvals("alice", "bob"))[0] == 0


def test_rename_that_hides_a_model_replacement(repo, cli):
    repo.branch("pr")
    text = (
        repo.read(FRAUD)
        .replace("fraud-scorer", "fraud-scorer-2")
        .replace("importance: critical", "importance: low")
        .replace('version: "12"', 'version: "13"')
    )
    repo.rm(FRAUD)
    repo.write(DEP.format("fraud-scorer-2"), text)
    repo.commit()
    code, data, _ = gate(cli, repo, approvals("alice"))
    assert code == 1 and data["level"] == "critical"


def test_importance_lowered_from_critical_to_low(repo, cli):
    repo.branch("pr")
    repo.replace(FRAUD, "importance: critical", "importance: low")
    repo.commit()
    assert gate(cli, repo, approvals("alice"))[0] == 1


def test_bad_facts_file_is_an_error_exit_2(pr, cli):
    code, data, _output = gate(cli, pr, [{"user": "nobody", "state": "APPROVED"}])
    assert code == 2 and data["decision"] == "error"
    assert "'nobody' is not listed under accounts" in data["blocking"][0]["detail"]


def test_unreadable_policy_is_an_error_never_approved(repo, cli):
    repo.replace("policies/approval.yaml", "approvals: 2", "approvals: [")
    repo.commit("break policy on main")
    repo.branch("pr")
    repo.replace(RECS, "team: shop", "team: web")
    repo.commit()
    code, data, _ = gate(cli, repo, approvals("alice", "bob"))
    assert code == 2 and data["decision"] == "error"


def test_text_and_markdown_output(pr, cli, tmp_path):
    path = tmp_path / "f.yaml"
    write_facts(path, approvals("dana", "alice"))
    text = cli(
        "gate", "--local", str(path), "--base", "main", "--head", "pr", "--format", "text"
    ).output
    assert "decision: pending: 1 of 2 approvals from @acme/mlops-admins (critical)" in text
    md = cli(
        "gate", "--local", str(path), "--base", "main", "--head", "pr", "--format", "markdown"
    ).output
    assert md.startswith("<!-- foureyes:approval -->") and "> why" in md
    assert "not counted: @dana (author" in md and "**Missing:** 1 more approval(s)" in md


def test_unknown_base_is_named_as_such(pr, cli, tmp_path):
    path = tmp_path / "f.yaml"
    write_facts(path)
    result = cli("gate", "--local", str(path), "--base", "nope", "--head", "pr", "--format", "json")
    assert (
        result.exit_code == 2
        and "unknown git revision 'nope'" in json.loads(result.stdout)["blocking"][0]["detail"]
    )
