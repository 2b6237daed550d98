"""Deploy with GitHub as the source of provenance and as the deploy record (Deployments API),
against mocks built from GitHub's OpenAPI examples; requests are schema-checked too."""

import base64
import json
import os
import re
import subprocess

import pytest
import responses

from foureyes.deploy.github_record import GitHubRecord
from foureyes.deploy.reconcile import deploy
from foureyes.deploy.record import SqliteRecord
from foureyes.github.client import make_client
from foureyes.sources.github import GitHubPRs
from foureyes.sources.ledger import Ledger
from ghapi.mockgithub import (
    API,
    FOUREYES_BOT,
    FakeDeployments,
    MockGitHub,
    check,
    closed_pulls,
    commit_pulls,
    example,
    pull_simple,
    repository,
    user,
)
from support.clock import NOW, at, iso
from support.repos import DEP
from support.rules import SAME_STORE

FRAUD = DEP.format("fraud-scorer")
DANA, ALICE, BOB = user("dana", 104), user("alice", 201), user("bob", 202)


@pytest.fixture
def rsps(monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as r:
        repository(r)
        closed_pulls(r)  # GitHubPRs lists the closed PRs first; none unless a test adds them
        yield r


def deployed_from_bootstrap(repo):
    """Staging deployed from the bootstrap commit (no PR to check); ``repo.base`` is that commit."""
    record = SqliteRecord(repo.root / ".foureyes" / "record.sqlite")
    assert deploy(repo.session, "staging", record, Ledger(repo.session, repo.root / "none")).ok
    record.close()
    repo.base = repo.git("rev-parse", "HEAD")


def open_pr_42(repo):
    """main: the example registry (bootstrap), deployed to staging; PR #42 (fraud-scorer v13) open."""
    repo.write(".gitignore", ".foureyes/\n")
    repo.commit("ignore", "Mo Admin <mo@acme.example>")
    deployed_from_bootstrap(repo)
    repo.branch("pr-42")
    repo.replace(FRAUD, 'version: "12"', 'version: "13"')
    repo.head = repo.commit("fraud-scorer v13")
    repo.git("checkout", "-q", "main")
    return repo


def merge_pr_42(repo):
    repo.merge = repo.merge_as_mo("pr-42", "Merge #42")
    return repo


@pytest.fixture
def merged(repo, rsps):
    """PR #42 merged with a merge commit."""
    return merge_pr_42(open_pr_42(repo))


MERGED_AT = iso(NOW)


def github_pr(rsps, repo, reviews, merged_at=MERGED_AT):
    pr = pull_simple(42, repo.base, repo.head, merged_at, repo.merge)
    closed_pulls(rsps, pr)
    for commit in (repo.head, repo.merge):
        commit_pulls(rsps, commit, [pr])
    gh = MockGitHub(rsps, number=42)
    gh.pull(DANA, repo.base, repo.head)
    gh.commits({"sha": repo.head, "author": DANA})
    gh.reviews(*[{"user": u, "state": "APPROVED", "commit_id": repo.head} for u in reviews])
    gh.team("acme/mlops-admins", ALICE, BOB)


def run_with_github_provenance(repo):
    record = SqliteRecord(repo.root / ".foureyes" / "record.sqlite")
    try:
        return deploy(
            repo.session, "staging", record, GitHubPRs(make_client(), "acme/models", repo.session)
        )
    finally:
        record.close()


def test_approved_merge_on_github_deploys(merged, rsps):
    github_pr(rsps, merged, [ALICE, BOB])
    result = run_with_github_provenance(merged)
    assert result.ok and [(s.name, s.action) for s in result.steps] == [
        ("fraud-scorer", "replace_model")
    ]


def test_reviews_after_the_merge_do_not_count(merged, rsps, monkeypatch):
    # GitHub lists reviews in order; the mock stamps them NOW - 2h, so a merge at NOW - 3h precedes
    # them
    github_pr(rsps, merged, [ALICE, BOB], merged_at=iso(at(hours=-3)))
    result = run_with_github_provenance(merged)
    assert not result.ok and "merged without the approval" in result.violations[0].reason


def test_under_approved_merge_on_github_is_refused(merged, rsps):
    github_pr(rsps, merged, [ALICE])
    result = run_with_github_provenance(merged)
    assert not result.ok and "1 of 2 approvals" in result.violations[0].reason


def test_direct_push_has_no_pr_on_github(merged, rsps):
    merged.replace(FRAUD, 'version: "13"', 'version: "14"')
    bad = merged.commit("direct", "Eve <eve@acme.example>")
    github_pr(rsps, merged, [ALICE, BOB])
    commit_pulls(rsps, bad, [])
    result = run_with_github_provenance(merged)
    assert [v.commit for v in result.violations] == [bad]


def test_open_pr_containing_the_commit_is_not_a_merge(merged, rsps):
    merged.replace(FRAUD, 'version: "13"', 'version: "14"')
    pushed = merged.commit("pushed to main while a PR is open", "Eve <eve@acme.example>")
    github_pr(rsps, merged, [ALICE, BOB])
    commit_pulls(rsps, pushed, [pull_simple(43, merged.merge, pushed, None, None)])
    assert not run_with_github_provenance(merged).ok


# --- the Deployments API as the record ----------------------------------------------------------


def run_with_github_record(repo, fake=None):
    record = GitHubRecord(
        make_client(), "acme/models", repo.root / ".foureyes" / "events.sqlite", FOUREYES_BOT
    )
    try:
        return deploy(repo.session, "staging", record, Ledger(repo.session, repo.root / "none"))
    finally:
        record.close()


def test_deployments_api_record_is_idempotent(repo, rsps):
    fake = FakeDeployments(rsps)
    first = run_with_github_record(repo)
    assert first.ok and len(first.steps) == 4
    tasks = sorted(d["task"] for d in fake.deployments)
    assert tasks == [
        "deploy:churn-predictor",
        "deploy:credit-limit",
        "deploy:fraud-scorer",
        "deploy:product-recs",
        "foureyes:sync",
    ]
    fraud = next(d for d in fake.deployments if d["task"] == "deploy:fraud-scorer")
    assert fraud["environment"] == "staging" and fraud["payload"]["model"]["version"] == "12"
    assert fraud["payload"]["approval"]["status"] == "bootstrap"
    assert [s["state"] for s in fake.statuses[fraud["id"]]] == ["in_progress", "success"]
    before = len(fake.deployments)
    second = run_with_github_record(repo)
    assert second.ok and second.steps == [] and len(fake.deployments) == before


def test_retried_deploy_reuses_the_deployment_it_created(repo, rsps):
    fake = FakeDeployments(rsps)
    record = GitHubRecord(
        make_client(), "acme/models", repo.root / ".foureyes" / "events.sqlite", FOUREYES_BOT
    )
    from foureyes.deploy.record import Entry

    head = repo.git("rev-parse", "HEAD")
    entry = Entry(
        "staging",
        "fraud-scorer",
        {"name": "fraud-scorer", "model": {"name": "m", "version": "1"}},
        head,
        {"status": "bootstrap", "commit": head},
    )
    record.begin(entry, "create")  # the run dies here: in_progress, never finished
    record2 = GitHubRecord(
        make_client(), "acme/models", repo.root / ".foureyes" / "events.sqlite", FOUREYES_BOT
    )
    assert record2.entries("staging")["fraud-scorer"].status == "in_progress"
    record2.begin(entry, "create")
    record2.finish(entry, "create", True, "ok")
    assert len(fake.deployments) == 1
    assert [s["state"] for s in fake.statuses[1]] == ["in_progress", "in_progress", "success"]
    record.close()
    record2.close()


def test_deleted_deployment_is_inactive_and_gone_from_the_record(repo, rsps):
    fake = FakeDeployments(rsps)
    assert run_with_github_record(repo).ok
    repo.rm(DEP.format("churn-predictor"))
    repo.commit("retire churn-predictor", "Mo Admin <mo@acme.example>")
    # a direct push: refused, so nothing is marked inactive
    assert not run_with_github_record(repo).ok
    churn = next(d for d in fake.deployments if d["task"] == "deploy:churn-predictor")
    assert fake.latest(churn["id"]) == "success"


def test_github_record_history_answers_what_was_live(repo, rsps):
    fake = FakeDeployments(rsps)
    assert run_with_github_record(repo).ok
    record = GitHubRecord(
        make_client(), "acme/models", repo.root / ".foureyes" / "events.sqlite", FOUREYES_BOT
    )
    from foureyes.deploy.record import Entry
    from foureyes.views.history import live_at

    churn = record.entries("staging")["churn-predictor"]
    record.begin(
        Entry("staging", "churn-predictor", churn.data, churn.commit, churn.approval), "delete"
    )
    record.finish(
        Entry("staging", "churn-predictor", churn.data, churn.commit, churn.approval),
        "delete",
        True,
    )
    history = record.history("staging")
    record.close()
    live = live_at(history, "2100-01-01T00:00:00Z")
    assert "churn-predictor" not in live and {
        "fraud-scorer",
        "credit-limit",
        "product-recs",
    } <= set(live)
    # the delete is a deployment of its own: a sync named the first one's state, which stays final
    first, delete = [d for d in fake.deployments if d["task"] == "deploy:churn-predictor"]
    assert fake.latest(first["id"]) == "success" and fake.latest(delete["id"]) == "inactive"


# --- C: the approving PR must have been merged into the branch being deployed --------------------


def via_side_branch(repo, rsps, side: str, deploy_branch: str = "main"):
    """PR #42 (fraud-scorer v13, approved) merged on GitHub into ``side``; then ``side`` reaches
    ``deploy_branch`` by a direct push (a fast-forward)."""
    repo.write(".gitignore", ".foureyes/\n")
    repo.commit("ignore", "Mo Admin <mo@acme.example>")
    repo.branch(side)
    base = repo.git("rev-parse", "HEAD")
    repo.branch("pr-42")
    repo.replace(FRAUD, 'version: "12"', 'version: "13"')
    head = repo.commit("fraud-scorer v13")
    repo.git("checkout", "-q", side)
    merge = repo.merge_as_mo("pr-42", "Merge #42")
    if deploy_branch != side:
        repo.git("checkout", "-q", "-B", deploy_branch, side)
    pr = pull_simple(42, base, head, iso(NOW), merge, base_ref=side)
    closed_pulls(rsps, pr)
    for commit in (head, merge):
        commit_pulls(rsps, commit, [pr])
    gh = MockGitHub(rsps, number=42)
    gh.pull(DANA, base, head)
    gh.commits({"sha": head, "author": DANA})
    gh.reviews(*[{"user": u, "state": "APPROVED", "commit_id": head} for u in (ALICE, BOB)])
    gh.team("acme/mlops-admins", ALICE, BOB)
    return merge


def deploy_cli(cli, env):
    return cli(
        "deploy",
        "--env",
        env,
        "--repo",
        "acme/models",
        "--record",
        ".foureyes/record.sqlite",
        "--format",
        "text",
    )


def test_pr_merged_into_another_branch_does_not_approve_a_staging_deploy(repo, rsps, cli):
    merge = via_side_branch(repo, rsps, "feature")
    result = deploy_cli(cli, "staging")
    assert result.exit_code == 1 and f"refused: commit {merge[:12]}" in result.output
    assert "merged into 'feature', not 'main'" in result.output


def test_pr_merged_into_another_branch_does_not_approve_a_new_release_branch(repo, rsps, cli):
    via_side_branch(repo, rsps, "feature", deploy_branch="release/9")
    result = deploy_cli(cli, "production")
    assert (
        result.exit_code == 1
        and "merged into 'feature', not 'main' or 'release/9'" in result.output
    )


def test_pr_merged_into_the_release_branch_itself_deploys_to_production(repo, rsps, cli):
    via_side_branch(
        repo, rsps, "release/9", "release/9"
    )  # cut from main; the PR targets the release branch
    result = deploy_cli(cli, "production")
    assert result.exit_code == 0, result.output


def test_squash_merged_pr_into_main_deploys_via_the_cli(merged, rsps, cli):
    github_pr(rsps, merged, [ALICE, BOB])
    assert deploy_cli(cli, "staging").exit_code == 0


# --- E: only records written by foureyes' own identity count -------------------------------------

EVE = user("eve", 666)
ACTIONS_BOT = user("github-actions[bot]", 41898282, "Bot")


@pytest.fixture
def on_github(repo, rsps, monkeypatch):
    """The example repository on GitHub: the record in the Deployments API, written as foureyes[bot]."""
    monkeypatch.setenv("FOUREYES_APP_BOT_ID", str(FOUREYES_BOT))
    repo.write(".gitignore", ".foureyes/\n")
    repo.commit("ignore", "Mo Admin <mo@acme.example>")
    return FakeDeployments(rsps)


def github_deploy(cli):
    return cli("deploy", "--env", "staging", "--repo", "acme/models", "--format", "json")


def direct_push(repo, rsps, version="66"):
    repo.replace(FRAUD, 'version: "12"', f'version: "{version}"')
    bad = repo.commit("direct push", "Eve <eve@acme.example>")
    commit_pulls(rsps, bad, [])
    return bad


def test_a_forged_sync_record_does_not_skip_provenance(repo, rsps, on_github, cli):
    assert github_deploy(cli).exit_code == 0
    bad = direct_push(repo, rsps)
    forged = on_github.add(
        bad, "foureyes:sync", "staging", {"target": {}}, creator=EVE
    )  # eve's own token
    on_github.set_status(forged["id"], "success", creator=EVE, auto_inactive=False)
    result = github_deploy(cli)
    assert result.exit_code == 1 and [
        v["commit"] for v in json.loads(result.stdout)["violations"]
    ] == [bad]
    warnings = json.loads(cli("events", "--type", "record_ignored", "--format", "json").stdout)
    assert [w["status"] for w in warnings] == ["warning"] and "by eve (id 666)" in warnings[0][
        "message"
    ]


def test_a_forged_status_on_foureyes_record_does_not_count(repo, rsps, on_github, cli):
    assert github_deploy(cli).exit_code == 0
    sync = next(d for d in on_github.deployments if d["task"] == "foureyes:sync")
    bad = direct_push(repo, rsps)
    fake_sync = on_github.add(
        bad, "foureyes:sync", "staging", {"target": {}}
    )  # as if foureyes had begun one
    on_github.set_status(fake_sync["id"], "success", creator=EVE, auto_inactive=False)
    assert sync["id"] != fake_sync["id"]
    result = github_deploy(cli)
    assert result.exit_code == 1 and [
        v["commit"] for v in json.loads(result.stdout)["violations"]
    ] == [bad]


def test_without_foureyes_identity_the_github_record_fails_closed(repo, rsps, cli, monkeypatch):
    FakeDeployments(rsps)
    monkeypatch.delenv("FOUREYES_APP_BOT_ID", raising=False)
    monkeypatch.delenv("FOUREYES_APP_SLUG", raising=False)
    result = github_deploy(cli)
    assert (
        result.exit_code == 2
        and "FOUREYES_APP_BOT_ID" in result.output
        and "Traceback" not in result.output
    )


def test_identity_from_the_app_slug(repo, rsps, on_github, cli, monkeypatch):
    monkeypatch.delenv("FOUREYES_APP_BOT_ID")
    monkeypatch.setenv("FOUREYES_APP_SLUG", "foureyes")
    body = example("public-user-default-response")
    body.update(login="foureyes[bot]", id=FOUREYES_BOT, type="Bot", user_view_type="public")
    check("/users/{username}", "get", "200", body)
    rsps.get(
        re.compile(re.escape(API) + r"(?::443)?/users/foureyes(?:\[|%5B)bot(?:\]|%5D)$"), json=body
    )
    assert github_deploy(cli).exit_code == 0
    assert (
        github_deploy(cli).exit_code == 0 and len(on_github.deployments) == 5
    )  # found its own records again


# --- past the first page, and GitHub's own job deployments
# ------------------------


def test_records_survive_job_deployments_and_paging(repo, rsps, on_github, cli):
    assert github_deploy(cli).exit_code == 0
    head = repo.git("rev-parse", "HEAD")
    for _ in range(150):  # one deployment per job that names the environment, by GitHub Actions
        job = on_github.add(head, "deploy", "staging", creator=ACTIONS_BOT)
        on_github.set_status(
            job["id"], "success", creator=ACTIONS_BOT
        )  # auto_inactive: GitHub's default
    ours = [d for d in on_github.deployments if d["creator"]["id"] == FOUREYES_BOT]
    assert {on_github.latest(d["id"]) for d in ours} == {"inactive"}  # GitHub marked them all
    before = len(on_github.deployments)
    again = github_deploy(cli)
    assert again.exit_code == 0 and json.loads(again.stdout)["steps"] == []
    assert len(on_github.deployments) == before  # nothing re-created


def test_a_delete_after_more_than_a_page_of_records_is_applied(repo, rsps, on_github, cli):
    assert github_deploy(cli).exit_code == 0
    head = repo.git("rev-parse", "HEAD")
    for _ in range(120):
        on_github.add(head, "deploy", "staging", creator=ACTIONS_BOT)
    repo.rm(DEP.format("churn-predictor"))
    gone = repo.commit("retire churn-predictor", "Mo Admin <mo@acme.example>")
    base = repo.git("rev-parse", "HEAD~1")
    pr = pull_simple(44, base, gone, iso(NOW), gone)
    closed_pulls(rsps, pr)
    commit_pulls(rsps, gone, [pr])
    gh = MockGitHub(rsps, number=44)
    gh.pull(DANA, base, gone)
    gh.commits({"sha": gone, "author": DANA})
    gh.reviews(*[{"user": u, "state": "APPROVED", "commit_id": gone} for u in (ALICE, BOB)])
    gh.team("acme/mlops-admins", ALICE, BOB)
    result = github_deploy(cli)
    assert result.exit_code == 0, result.output
    assert [(s["deployment"], s["action"]) for s in json.loads(result.stdout)["steps"]] == [
        ("churn-predictor", "delete")
    ]
    churn = [d for d in on_github.deployments if d["task"] == "deploy:churn-predictor"][-1]
    assert on_github.latest(churn["id"]) == "inactive" and churn["payload"]["action"] == "delete"
    assert (
        github_deploy(cli).exit_code == 0 and json.loads(github_deploy(cli).stdout)["steps"] == []
    )


# --- provenance fetches with the token
# ---------------------------------------------


def test_squash_merged_pr_on_a_private_repository_is_fetched_with_the_token(
    tmp_path, rsps, cli, monkeypatch
):
    """The checkout has no credentials (persist-credentials: false) and the PR's branch is gone:
    its head is only on the server, which answers nobody without the token."""
    from foureyes.app.demo import copy_template
    from support.githttp import PrivateGitServer
    from support.repos import Repo

    secret = "ghs_s3cr3t-token-value"
    upstream = Repo(tmp_path / "upstream")
    copy_template(upstream.root)
    upstream.write(".gitignore", ".foureyes/\n")
    upstream.commit("initial registry", "Mo Admin <mo@acme.example>")
    base = upstream.git("rev-parse", "HEAD")
    upstream.branch("pr-42")
    upstream.replace(FRAUD, 'version: "12"', 'version: "13"')
    head = upstream.commit("fraud-scorer v13")
    upstream.git("checkout", "-q", "main")
    upstream.git("merge", "-q", "--squash", "pr-42")
    squash = upstream.commit("fraud-scorer v13 (#42)", "Mo Admin <mo@acme.example>")
    upstream.git("update-ref", "refs/pull/42/head", head)
    upstream.git("branch", "-q", "-D", "pr-42")  # the PR branch was deleted after the merge
    served = tmp_path / "served"
    served.mkdir()
    subprocess.run(
        ["git", "clone", "-q", "--bare", str(upstream.root), str(served / "models.git")], check=True
    )
    subprocess.run(
        [
            "git",
            "-C",
            str(served / "models.git"),
            "config",
            "uploadpack.allowAnySHA1InWant",
            "true",
        ],
        check=True,
    )

    with PrivateGitServer(served, secret) as server:
        work = tmp_path / "work"
        basic = base64.b64encode(f"x-access-token:{secret}".encode()).decode()
        auth = {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "http.extraheader",
            "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {basic}",
        }
        subprocess.run(
            ["git", "clone", "-q", server.url("models.git"), str(work)],
            check=True,
            env={**os.environ, **auth, "GIT_TERMINAL_PROMPT": "0"},
        )  # actions/checkout, then forgets
        assert (
            subprocess.run(
                ["git", "-C", str(work), "cat-file", "-e", head], capture_output=True
            ).returncode
            != 0
        )
        monkeypatch.chdir(work)
        monkeypatch.setenv("GITHUB_TOKEN", secret)
        monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
        pr = pull_simple(42, base, head, iso(NOW), squash)
        closed_pulls(rsps, pr)
        commit_pulls(rsps, squash, [pr])
        gh = MockGitHub(rsps, number=42)
        gh.pull(DANA, base, head)
        gh.commits({"sha": head, "author": DANA})
        gh.reviews(*[{"user": u, "state": "APPROVED", "commit_id": head} for u in (ALICE, BOB)])
        gh.team("acme/mlops-admins", ALICE, BOB)
        result = deploy_cli(cli, "staging")
        assert result.exit_code == 0, result.output
        assert secret not in result.output
        fetches = [ok for path, ok in server.requests if "upload-pack" in path]
        assert fetches and all(fetches)
    assert "extraheader" not in (work / ".git" / "config").read_text()  # nothing persisted


def test_a_forged_per_deployment_record_is_not_what_was_live(repo, rsps, on_github, cli):
    """Eve's `deploy:fraud-scorer` record claiming v66 went live changes neither the deploy nor the audit."""
    assert github_deploy(cli).exit_code == 0
    head = repo.git("rev-parse", "HEAD")
    real = next(d for d in on_github.deployments if d["task"] == "deploy:fraud-scorer")
    payload = {**real["payload"], "model": {**real["payload"]["model"], "version": "66"}}
    payload["deployment"] = {**payload["deployment"], "model": payload["model"]}
    forged = on_github.add(head, "deploy:fraud-scorer", "staging", payload, creator=EVE)
    on_github.set_status(forged["id"], "success", creator=EVE, auto_inactive=False)
    live = json.loads(
        cli(
            "history",
            "--env",
            "staging",
            "--at",
            "2100-01-01",
            "--repo",
            "acme/models",
            "--format",
            "json",
        ).stdout
    )
    assert {r["deployment"]: r["version"] for r in live}["fraud-scorer"] == "12"
    again = github_deploy(cli)
    assert again.exit_code == 0 and json.loads(again.stdout)["steps"] == []


# --- one judgment: the deploy reads the teams the gate read ------------------------------------


@pytest.mark.parametrize(
    "reviewers, served",
    [((ALICE, BOB, user("lena", 203)), True), ((ALICE, BOB), False)],
    ids=["lead-approved", "lead-missing"],
)
def test_a_require_rule_team_counts_at_the_deploy_as_at_the_gate(repo, rsps, reviewers, served):
    """A `require` rule naming a team was met at the gate, then every deploy on GitHub refused the
    PR
    ("0 of 1 from @acme/ml-platform-leads"): the deploy read only the policy's approver teams.
    Both now ask reading.teams_to_read; without the lead's approval the deploy still refuses."""
    repo.write(".gitignore", ".foureyes/\n")
    repo.write("policies/rules/same-store.yaml", SAME_STORE)
    repo.git("add", "-A")
    repo.git("commit", "-q", "--amend", "--no-edit")  # the rule is part of the root of trust
    deployed_from_bootstrap(repo)
    repo.branch("pr-42")
    repo.replace(FRAUD, 'version: "12"', 'version: "13"')
    repo.replace(FRAUD, "uri: models:/fraud-xgb/12", "uri: gs://acme-ml/fraud-xgb/13")
    repo.head = repo.commit("fraud-scorer v13 from another store")
    repo.git("checkout", "-q", "main")
    repo.merge = repo.merge_as_mo("pr-42", "Merge #42")
    github_pr(rsps, repo, reviewers)
    MockGitHub(rsps, number=42).team("acme/ml-platform-leads", user("lena", 203))
    result = run_with_github_provenance(repo)
    assert result.ok is served, result.violations
    if not served:
        assert any("0 of 1 from @acme/ml-platform-leads" in v.reason for v in result.violations)


@pytest.mark.parametrize("merged_approvals, deployed", [([], False), ([ALICE, BOB], True)])
def test_a_shared_head_is_judged_by_the_pr_its_merge_commit_belongs_to(
    merged, rsps, merged_approvals, deployed
):
    """Two PRs at the same head into main: #41 open, #42 merged. The gate's status on the shared
    head
    shows the better of the two judgments (github/latest.py), so #42 could be merged on #41's
    approval; the deploy judges #42, the PR the merge commit belongs to: refused unless #42 itself
    was approved."""
    other = pull_simple(41, merged.base, merged.head, None, None)  # still open, approved
    this = pull_simple(42, merged.base, merged.head, iso(NOW), merged.merge)
    closed_pulls(rsps, this)
    commit_pulls(rsps, merged.head, [this, other])
    commit_pulls(rsps, merged.merge, [this])
    for number, approvers in ((41, [ALICE, BOB]), (42, merged_approvals)):
        gh = MockGitHub(rsps, number=number)
        gh.pull(DANA, merged.base, merged.head)
        gh.commits({"sha": merged.head, "author": DANA})
        gh.reviews(*[{"user": u, "state": "APPROVED", "commit_id": merged.head} for u in approvers])
    MockGitHub(rsps).team("acme/mlops-admins", ALICE, BOB)
    result = run_with_github_provenance(merged)
    assert result.ok is deployed
    if not deployed:
        assert "0 of 2 approvals" in result.violations[0].reason


# --- evidence: the deploy judges by the facts the gate recorded -----------------------------------


@pytest.fixture
def opened(repo, rsps):
    """PR #42 open, not merged yet."""
    return open_pr_42(repo)


def gate_on_github(
    rsps, repo, reviewers, members, body="v13 stops the false declines.", evidence_refused=False
):
    """The gate judges the open PR on GitHub, recording its evidence (unless GitHub refuses it)."""
    from foureyes.app.gate_pipeline import decide_on_github

    gh = MockGitHub(rsps, number=42)
    gh.pull(DANA, repo.base, repo.head, body=body)
    gh.commits({"sha": repo.head, "author": DANA})
    gh.reviews(*[{"user": u, "state": "APPROVED", "commit_id": repo.head} for u in reviewers])
    gh.team("acme/mlops-admins", *members)
    gh.existing_comments()
    gh.accept_writes()
    if evidence_refused:
        gh.check_runs.refusal = (403, "Resource not accessible by integration")  # no checks: write
    return decide_on_github(
        repo.session, make_client(), "acme/models", 42, {}, publish=True, warn=print
    ), gh


def gate_then_merge(rsps, repo, reviewers, members):
    """The gate's run, then GitHub merges the PR."""
    result, gh = gate_on_github(rsps, repo, reviewers, members)
    merge_pr_42(repo)
    pr = pull_simple(42, repo.base, repo.head, iso(NOW), repo.merge)
    closed_pulls(rsps, pr)
    for commit in (repo.head, repo.merge):
        commit_pulls(rsps, commit, [pr])
    return result, gh


def members_now(rsps, *members):
    """The team as it is at the deploy, after the merge."""
    url = MockGitHub(rsps).url("/orgs/acme/teams/mlops-admins/members")
    rsps.remove(responses.GET, url)
    rsps.get(url, json=list(members))


def test_an_approval_recorded_by_the_gate_survives_an_approver_leaving_the_team(opened, rsps):
    result, gh = gate_then_merge(rsps, opened, [ALICE, BOB], [ALICE, BOB])
    assert result.decision.state == "approved" and len(gh.check_runs.runs) == 1
    members_now(rsps, BOB)  # alice left the team after the merge
    deployed = run_with_github_provenance(opened)
    assert deployed.ok, deployed.violations


def test_a_reviewer_who_joins_the_team_after_the_merge_does_not_count(opened, rsps):
    result, _ = gate_then_merge(rsps, opened, [ALICE, BOB], [ALICE])  # bob is no admin yet
    assert result.decision.state == "pending"  # an admin merged it anyway
    members_now(rsps, ALICE, BOB)
    deployed = run_with_github_provenance(opened)
    assert not deployed.ok and "1 of 2 approvals" in deployed.violations[0].reason


def test_an_emptied_description_after_the_merge_changes_nothing(opened, rsps):
    result, _gh = gate_then_merge(rsps, opened, [ALICE, BOB], [ALICE, BOB])
    assert result.decision.state == "approved"
    listed = pull_simple(42, opened.base, opened.head, iso(NOW), opened.merge)
    listed["body"] = ""  # the author empties it after the merge
    closed_pulls(rsps, listed)
    commit_pulls(rsps, opened.merge, [listed])
    commit_pulls(rsps, opened.head, [listed])
    assert run_with_github_provenance(opened).ok


def test_evidence_written_by_another_app_is_ignored(opened, rsps):
    """Anyone with write access can install an App that writes a check run named foureyes/evidence:
    only the trusted App's runs count (by app id), so the forged 'team' does not lift the PR."""
    import json as _json

    result, gh = gate_then_merge(rsps, opened, [ALICE, BOB], [ALICE])
    assert result.decision.state == "pending"
    recorded = _json.loads(gh.check_runs.runs[-1]["output"]["text"])
    forged = {**recorded, "teams": {"acme/mlops-admins": [201, 202]}, "decision": "approved"}
    gh.check_runs.add(
        {
            "name": "foureyes/evidence",
            "head_sha": opened.head,
            "external_id": "pr-42",
            "output": {"title": "decision: approved", "summary": "x", "text": _json.dumps(forged)},
        },
        app=777,
    )
    deployed = run_with_github_provenance(opened)
    assert not deployed.ok and "1 of 2 approvals" in deployed.violations[0].reason


def test_a_gate_that_cannot_record_its_evidence_posts_an_error(opened, rsps):
    """No evidence, no success: the deploy could not verify it later."""
    result, gh = gate_on_github(rsps, opened, [ALICE, BOB], [ALICE, BOB], evidence_refused=True)
    assert result.decision.state == "error" and gh.statuses[-1]["state"] == "error"
