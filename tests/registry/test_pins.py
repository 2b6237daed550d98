"""Policy users are pinned by account id: a login reclaimed by a new account does not approve, a
bare login is an error (validate and gate, fail closed), and `foureyes pin` writes the ids from
GET /users/{username} (the GitHub mock, OpenAPI-checked), keeping the file's comments."""

import json

import pytest
import responses

from ghapi.mockgithub import API, MockGitHub, user
from support.github_gate import ALICE, BOB, DANA, TEAM, open_pr, run
from support.pr_facts import approvals
from support.repos import DEP
from support.rules import S3, STORE, STORE_RULE, V13, change, with_rules, write_rules_facts

ERIN = user("erin", 204)
ERIN_RENAMED = user("erin-now", 204)  # the same account under a new login
IMPOSTOR = user("erin", 9999)  # a new account that registered the freed login "erin"
PINNED = 'users: [{login: "@erin", id: 204}]'


@pytest.fixture
def gh():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield MockGitHub(rsps)


def erin_policy(repo, users=PINNED):
    repo.replace("policies/approval.yaml", "users: []", users)
    repo.commit("erin approves", "Mo Admin <mo@acme.example>")


def dana_pr(repo, tmp_path, monkeypatch, gh, *reviewers):
    pr = open_pr(
        repo,
        tmp_path,
        monkeypatch,
        lambda r: r.replace(DEP.format("fraud-scorer"), 'version: "12"', 'version: "13"'),
    )
    gh.pull(DANA, pr.base, pr.head, body="v13 is better: AUC 0.93.")
    gh.commits({"sha": pr.head, "author": DANA, "email": "dana@acme.example"})
    gh.reviews(*[{"user": u, "state": "APPROVED", "commit_id": pr.head} for u in reviewers])
    gh.team(TEAM, ALICE, BOB)
    gh.existing_comments()
    gh.accept_writes()
    return pr


# --- matching: an account counts only by id ------------------------------------------------------


def test_a_login_reclaimed_by_another_account_does_not_approve(
    repo, gh, cli, tmp_path, monkeypatch
):
    """erin (account 204) left; someone registered "erin" (account 9999) and approves the critical
    change next to alice. The review is not erin's: the PR stays pending, and the decision says
    why."""
    erin_policy(repo)
    dana_pr(repo, tmp_path, monkeypatch, gh, ALICE, IMPOSTOR)
    code, data = run(cli)
    assert code == 1 and data["decision"] == "pending" and data["approvals"] == ["alice"]
    erin = next(i for i in data["ignored"] if i["login"] == "erin")
    assert erin["reason"] == "not_approver"
    assert "listed with account id 204, and this account is 9999" in erin["detail"]
    assert gh.statuses[0]["state"] == "pending"


@pytest.mark.parametrize("erin", [ERIN, ERIN_RENAMED], ids=["same_login", "renamed"])
def test_the_pinned_account_approves_under_any_login(repo, gh, cli, tmp_path, monkeypatch, erin):
    erin_policy(repo)
    dana_pr(repo, tmp_path, monkeypatch, gh, ALICE, erin)
    code, data = run(cli)
    assert (
        code == 0
        and data["decision"] == "approved"
        and data["approvals"] == ["alice", erin["login"]]
    )


def test_a_require_rules_user_counts_only_by_its_pinned_id(repo, cli):
    rule = STORE.replace('from: ["@acme/ml-platform-leads"]', 'from: [{login: "@lena", id: 300}]')
    with_rules(repo, (STORE_RULE, rule))
    change(repo, V13, S3)
    path = repo.root.parent / "facts.yaml"
    for lena_id, decision in ((300, "approved"), (9999, "pending")):
        write_rules_facts(path, approvals("alice", "bob", "lena"), lena_id=lena_id)
        result = cli(
            "gate", "--local", str(path), "--base", "main", "--head", "pr", "--format", "json"
        )
        data = json.loads(result.output)
        assert data["decision"] == decision, lena_id
    assert data["requirements"][0]["counted"] == [] and data["requirements"][0]["from"] == ["@lena"]


# --- a bare login is an error, never a login match -----------------------------------------------


def test_an_unpinned_policy_user_is_invalid_with_its_line(repo, cli):
    repo.replace("policies/approval.yaml", "users: []", 'users: ["@erin"]')
    result = cli("validate")
    assert result.exit_code == 1
    assert "policies/approval.yaml:8:11: @erin is not pinned to an account id" in result.output
    assert "foureyes pin" in result.output


def test_an_unpinned_rule_user_is_invalid(repo, cli):
    repo.write(
        STORE_RULE,
        STORE.replace(
            'from: ["@acme/ml-platform-leads"]', 'from: ["@acme/ml-platform-leads", "@lena"]'
        ),
    )
    result = cli("validate")
    assert (
        result.exit_code == 1
        and f"{STORE_RULE}:6:" in result.output
        and "@lena is not pinned" in result.output
    )


@pytest.mark.parametrize("erin", [IMPOSTOR, ERIN], ids=["reclaimed_login", "right_account"])
def test_the_gate_ends_in_error_on_an_unpinned_policy_user(
    repo, gh, cli, tmp_path, monkeypatch, erin
):
    """The policy lists "@erin" by login and whoever holds that login approves: the gate cannot tell
    the account it meant, so it decides `error`, whichever account it is."""
    erin_policy(repo, 'users: ["@erin"]')
    dana_pr(repo, tmp_path, monkeypatch, gh, ALICE, erin)
    code, data = run(cli)
    assert (
        code == 2
        and data["decision"] == "error"
        and "@erin is not pinned" in data["blocking"][0]["detail"]
    )
    assert gh.statuses[0]["state"] == "error"


# --- foureyes pin
# ----------------------------------------------------------------------------------

POLICY_WITH_COMMENTS = """\
approvers:
  # people who may approve on their own (the platform leads)
  users: ["@Erin",   {login: "@bob", id: 202}]  # keep this comment
  teams: ["@acme/mlops-admins"]
"""


def _unpinned_policy(repo):
    text = (repo.root / "policies/approval.yaml").read_text()
    head, _, tail = text.partition("approvers:\n")
    tail = tail.split("\n", 2)[2]  # drop the template's users and teams lines
    repo.write("policies/approval.yaml", head + POLICY_WITH_COMMENTS + tail)
    repo.write(
        STORE_RULE,
        STORE.replace(
            'require: {approvals: 1, from: ["@acme/ml-platform-leads"]}',
            'require:\n  approvals: 1\n  from:\n    - "@acme/ml-platform-leads"\n'
            '    - "@lena"   # the store owner',
        ),
    )
    repo.commit("approvers by login", "Mo Admin <mo@acme.example>")


def test_pin_writes_each_id_beside_its_login_and_keeps_the_rest(repo, gh, cli, monkeypatch):
    _unpinned_policy(repo)
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_test")
    monkeypatch.delenv("GITHUB_API_URL", raising=False)
    gh.users(Erin=(204, "User"), lena=(300, "User"))
    result = cli("pin")
    assert result.exit_code == 0, result.output
    policy = (repo.root / "policies/approval.yaml").read_text()
    assert (
        "  # people who may approve on their own (the platform leads)\n"
        '  users: [{login: "@Erin", id: 204},   {login: "@bob", id: 202}]  # keep this comment\n'
    ) in policy
    assert (
        '    - {login: "@lena", id: 300}   # the store owner\n'
        in (repo.root / STORE_RULE).read_text()
    )
    assert "pinned @Erin to account 204 in policies/approval.yaml" in result.output
    assert [c.request.url.split("?")[0].replace(":443", "") for c in gh.rsps.calls] == [
        f"{API}/users/Erin",
        f"{API}/users/lena",
    ]  # one GET /users/{username} per login, nothing else
    assert cli("validate").exit_code == 0
    gh.rsps.calls.reset()
    assert (
        cli("pin").output == "every policy user is pinned to an account id\n" and not gh.rsps.calls
    )


@pytest.mark.parametrize(
    "account, message",
    [
        (None, "@lena is no GitHub account"),
        ((300, "Organization"), "@lena is a GitHub Organization account, not a person's"),
    ],
)
def test_pin_refuses_a_login_that_is_no_person_and_writes_nothing(
    repo, gh, cli, monkeypatch, account, message
):
    _unpinned_policy(repo)
    before = (repo.root / "policies/approval.yaml").read_text()
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_test")
    monkeypatch.delenv("GITHUB_API_URL", raising=False)
    gh.users(Erin=(204, "User"), lena=account)
    result = cli("pin")
    assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.output
    assert (repo.root / "policies/approval.yaml").read_text() == before


def test_pin_offline_fails_with_a_hint_and_check_only_reports(repo, gh, cli, monkeypatch):
    _unpinned_policy(repo)
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    result = cli("pin")
    assert (
        result.exit_code == 2
        and "no GitHub token" in result.stderr
        and "GET /users/{username}" in result.stderr
    )
    result = cli("pin", "--check")
    assert (
        result.exit_code == 1 and "policies/approval.yaml:9: @Erin is not pinned" in result.output
    )
    assert f"{STORE_RULE}:10: @lena is not pinned" in result.output
    assert not gh.rsps.calls


def test_init_says_to_pin_a_kept_policy_that_lists_logins(repo, cli, monkeypatch):
    _unpinned_policy(repo)
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    result = cli("init", "--action-ref", "a" * 40)
    assert (
        result.exit_code == 0
        and "2 policy user(s) not pinned to an account id: run `foureyes pin`" in result.output
    )
