"""Review timeouts: the rule at the edges of the period (pure), and `foureyes timeout` against a
mocked GitHub on a real repository: one action per period, the level's action, idempotent."""

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import responses

from foureyes.app.timeout_pipeline import MARKER, due_action
from foureyes.registry.model import LevelRule
from ghapi.mockgithub import (
    API,
    MockGitHub,
    check,
    commit_statuses,
    example,
    open_pulls,
    pull_simple,
    user,
)
from support.repos import DEP
from support.rules import SAME_STORE

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
DAY = LevelRule(
    approvals=2, review_timeout=24 * 3600, on_timeout="escalate", escalate_to=("@acme/leads",)
)


@pytest.mark.parametrize(
    "now, last, expected",
    [
        (T0 + timedelta(hours=24) - timedelta(seconds=1), None, None),  # just before the timeout
        (T0 + timedelta(hours=24), None, "escalate"),  # exactly at it
        (T0 + timedelta(hours=30), T0 + timedelta(hours=24), None),  # acted 6h ago: same period
        (T0 + timedelta(hours=48) - timedelta(seconds=1), T0 + timedelta(hours=24), None),
        (
            T0 + timedelta(hours=48),
            T0 + timedelta(hours=24),
            "escalate",
        ),  # a period after the last action
        (
            T0 + timedelta(hours=25),
            T0 - timedelta(hours=1),
            "escalate",
        ),  # acted on an older head: counts anew
    ],
)
def test_one_action_per_period(now, last, expected):
    assert due_action(DAY, T0, last, now) == expected


def test_no_timeout_configured_means_no_action():
    rule = LevelRule(approvals=1, review_timeout=None, on_timeout="remind", escalate_to=())
    assert due_action(rule, T0, None, T0 + timedelta(days=365)) is None


DANA, ALICE, BOB = user("dana", 104), user("alice", 201), user("bob", 202)
GHA = user("github-actions[bot]", 41898282, "Bot")


@pytest.fixture
def world(repo, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield repo, rsps


def open_pr(
    repo, rsps, number, path_edit, reviews=(), pending_since="2026-11-20T08:00:00Z", comments=()
):
    base = repo.git("rev-parse", "main")
    repo.git("checkout", "-q", "-b", f"pr-{number}", "main")
    path_edit(repo)
    head = repo.commit(f"change #{number}")
    repo.git("checkout", "-q", "main")
    gh = MockGitHub(rsps, number=number)
    gh.pull(DANA, base, head)
    gh.commits({"sha": head, "author": DANA})
    gh.reviews(*[{"user": u, "state": "APPROVED", "commit_id": head} for u in reviews])
    gh.existing_comments(*comments)
    commit_statuses(rsps, head, [pending_since])
    gh.accept_writes()
    closes = []

    def on_patch(request):
        sent = json.loads(request.body)
        closes.append(sent)
        pr = example("pull-request")
        pr.update(number=number, state=sent.get("state", "open"))
        check("/repos/{owner}/{repo}/pulls/{pull_number}", "patch", "200", pr)
        return 200, {}, json.dumps(pr)

    rsps.add_callback(
        responses.PATCH,
        re.compile(re.escape(API) + f"(?::443)?/repos/acme/models/pulls/{number}$"),
        on_patch,
    )
    gh.closes = closes
    return gh, pull_simple(number, base, head, None, None)


def fraud(version):
    return lambda r: r.replace(DEP.format("fraud-scorer"), 'version: "12"', f'version: "{version}"')


def run(cli, now, *extra):
    result = cli("timeout", "--repo", "acme/models", "--now", now, "--format", "json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_critical_pr_past_its_timeout_is_escalated_once(world, cli):
    repo, rsps = world
    gh, item = open_pr(repo, rsps, 7, fraud("13"), reviews=[ALICE])
    MockGitHub(rsps).team("acme/mlops-admins", ALICE, BOB)
    open_pulls(rsps, [item])
    actions = run(cli, "2026-11-21T09:00:00Z")
    assert [(a["pr"], a["action"], a["level"], a["teams"]) for a in actions] == [
        (7, "escalate", "critical", ["ml-platform-leads"])
    ]
    assert (
        gh.comments[0]["body"].startswith(MARKER)
        and "escalated to @acme/ml-platform-leads" in gh.comments[0]["body"]
    )
    assert gh.review_requests == [{"reviewers": [], "team_reviewers": ["ml-platform-leads"]}]
    events = json.loads(cli("events", "--type", "timeout", "--format", "json").stdout)
    assert len(events) == 1 and "PR #7: escalate" in events[0]["message"]


def test_the_same_period_is_not_acted_on_twice(world, cli):
    repo, rsps = world
    gh, item = open_pr(
        repo,
        rsps,
        7,
        fraud("13"),
        comments=[
            {"body": f"{MARKER}\nescalated", "user": GHA, "created_at": "2026-11-21T08:30:00Z"}
        ],
    )
    MockGitHub(rsps).team("acme/mlops-admins", ALICE, BOB)
    open_pulls(rsps, [item])
    assert run(cli, "2026-11-21T20:00:00Z") == []
    assert gh.comments == [] and gh.review_requests == []
    assert [a["action"] for a in run(cli, "2026-11-22T08:30:00Z")] == ["escalate"]


def test_a_spoofed_timeout_comment_does_not_silence_the_timeout(world, cli):
    repo, rsps = world
    _gh, item = open_pr(
        repo,
        rsps,
        7,
        fraud("13"),
        comments=[
            {
                "body": f"{MARKER}\nI already reminded everyone",
                "user": DANA,
                "created_at": "2026-11-21T08:30:00Z",
            }
        ],
    )
    MockGitHub(rsps).team("acme/mlops-admins", ALICE, BOB)
    open_pulls(rsps, [item])
    assert [a["action"] for a in run(cli, "2026-11-21T09:00:00Z")] == ["escalate"]


OTHER_BOT = user("renovate[bot]", 29139614, "Bot")
APP_BOT = user("foureyes-acme[bot]", 149000001, "Bot")


@pytest.mark.parametrize("writer", [OTHER_BOT, ALICE], ids=["another_bot", "a_user"])
def test_a_marker_written_by_anyone_but_foureyes_does_not_reset_the_clock(world, cli, writer):
    """Another bot (or an approver) posts the timeout marker inside the period: it is not foureyes'
    own comment, so the escalation still happens when due."""
    repo, rsps = world
    gh, item = open_pr(
        repo,
        rsps,
        7,
        fraud("13"),
        comments=[
            {"body": f"{MARKER}\nescalated", "user": writer, "created_at": "2026-11-21T08:30:00Z"}
        ],
    )
    MockGitHub(rsps).team("acme/mlops-admins", ALICE, BOB)
    open_pulls(rsps, [item])
    assert [a["action"] for a in run(cli, "2026-11-21T20:00:00Z")] == ["escalate"]
    assert len(gh.comments) == 1


def test_with_an_app_only_the_apps_bot_writes_the_marker(world, cli, monkeypatch):
    """With foureyes' GitHub App, github-actions[bot] is just another bot: its marker (a workflow
    any PR can trigger writes as it) does not count; the App's own does."""
    repo, rsps = world
    monkeypatch.setenv("FOUREYES_APP_BOT_ID", str(APP_BOT["id"]))
    gh, item = open_pr(
        repo,
        rsps,
        7,
        fraud("13"),
        comments=[
            {"body": f"{MARKER}\nescalated", "user": GHA, "created_at": "2026-11-21T08:30:00Z"}
        ],
    )
    MockGitHub(rsps).team("acme/mlops-admins", ALICE, BOB)
    open_pulls(rsps, [item])
    assert [a["action"] for a in run(cli, "2026-11-21T20:00:00Z", "--dry-run")] == ["escalate"]
    gh.existing_comments(
        {"body": f"{MARKER}\nescalated", "user": APP_BOT, "created_at": "2026-11-21T08:30:00Z"}
    )
    assert run(cli, "2026-11-21T20:00:00Z", "--dry-run") == []


def test_low_pr_is_cancelled_after_a_week(world, cli):
    repo, rsps = world
    gh, item = open_pr(
        repo, rsps, 8, lambda r: r.replace(DEP.format("product-recs"), "team: shop", "team: web")
    )
    MockGitHub(rsps).team("acme/mlops-admins", ALICE, BOB)
    open_pulls(rsps, [item])
    assert run(cli, "2026-11-26T08:00:00Z") == []  # 6 days
    actions = run(cli, "2026-11-27T08:00:00Z")
    assert [a["action"] for a in actions] == ["cancel"]
    assert gh.closes == [{"state": "closed"}] and "Closed:" in gh.comments[0]["body"]


def test_moderate_pr_gets_a_reminder_and_approvers_are_asked_again(world, cli):
    repo, rsps = world
    gh, item = open_pr(
        repo,
        rsps,
        9,
        lambda r: r.replace(DEP.format("churn-predictor"), 'version: "31"', 'version: "32"'),
    )
    MockGitHub(rsps).team("acme/mlops-admins", ALICE, BOB)
    open_pulls(rsps, [item])
    actions = run(cli, "2026-11-23T09:00:00Z")
    assert [a["action"] for a in actions] == ["remind"]
    assert gh.review_requests == [{"reviewers": [], "team_reviewers": ["mlops-admins"]}]


def test_dry_run_changes_nothing_and_approved_prs_are_left_alone(world, cli):
    repo, rsps = world
    gh7, item7 = open_pr(repo, rsps, 7, fraud("13"))
    gh8, item8 = open_pr(
        repo,
        rsps,
        8,
        lambda r: r.replace(DEP.format("product-recs"), "team: shop", "team: web"),
        reviews=[ALICE],
    )
    MockGitHub(rsps).team("acme/mlops-admins", ALICE, BOB)
    open_pulls(rsps, [item7, item8])
    actions = run(cli, "2026-12-30T00:00:00Z", "--dry-run")
    assert [(a["pr"], a["action"], a["done"]) for a in actions] == [
        (7, "escalate", False)
    ]  # 8 is approved
    assert gh7.comments == [] and gh7.review_requests == [] and gh8.comments == []


# --- ask only people who can approve; GitHub refuses a request naming the author
# -----


def test_a_reminder_never_asks_the_pr_author(world, cli):
    repo, rsps = world
    repo.replace(
        "policies/approval.yaml",
        "users: []",
        'users: [{login: "@dana", id: 104}, {login: "@erin", id: 204}]',
    )  # dana opens the PR below
    repo.commit("approvers by account")
    gh, item = open_pr(
        repo,
        rsps,
        9,
        lambda r: r.replace(DEP.format("churn-predictor"), 'version: "31"', 'version: "32"'),
    )
    MockGitHub(rsps).team("acme/mlops-admins", ALICE, BOB)
    open_pulls(rsps, [item])
    assert [a["users"] for a in run(cli, "2026-11-23T09:00:00Z")] == [["erin"]]
    assert gh.refused == []  # GitHub answers 422 to the whole request if the author is in it
    assert gh.review_requests == [{"reviewers": ["erin"], "team_reviewers": ["mlops-admins"]}]
    assert "@erin, @acme/mlops-admins: please review" in gh.comments[0]["body"]


def test_escalation_skips_the_author_and_the_owners_it_names(world, cli):
    repo, rsps = world
    repo.replace(
        "policies/approval.yaml",
        'escalate_to: ["@acme/ml-platform-leads"]',
        'escalate_to: ["@dana", "@hana-k", "@cto"]',
    )
    repo.commit("escalate to people")
    # dana's PR raises credit-limit (owned by hana-k) to critical
    gh, item = open_pr(
        repo,
        rsps,
        8,
        lambda r: r.replace(DEP.format("credit-limit"), "importance: high", "importance: critical"),
    )
    MockGitHub(rsps).team("acme/mlops-admins", ALICE, BOB)
    open_pulls(rsps, [item])
    actions = run(cli, "2026-11-21T09:00:00Z")
    assert [(a["action"], a["users"]) for a in actions] == [("escalate", ["cto"])]
    assert gh.review_requests == [{"reviewers": ["cto"], "team_reviewers": []}] and gh.refused == []
    assert "escalated to @cto." in gh.comments[0]["body"]


def test_timeout_comments_are_capped_at_githubs_limit():
    from foureyes.app.timeout_pipeline import plan_action
    from foureyes.github.client import MAX_COMMENT, cap_comment

    rule = LevelRule(
        approvals=1,
        review_timeout=3600,
        on_timeout="escalate",
        escalate_to=tuple(f"@reviewer-{i:05d}" for i in range(6000)),
    )
    planned = plan_action(
        7, "escalate", "critical", rule, timedelta(hours=2), None, "0 of 1", "acme"
    )
    assert len(planned.comment) <= MAX_COMMENT and planned.comment.startswith(MARKER)
    assert "cut this comment at GitHub's limit of 65,536 characters" in planned.comment
    assert (
        len(cap_comment("😀" * 40000).encode("utf-16-le")) // 2 <= MAX_COMMENT
    )  # UTF-16 units, the strict count
    assert cap_comment("short") == "short"


def test_a_pr_approved_through_a_require_rule_team_is_not_timed_out(world, cli):
    """The gate counts a `require` rule's team; the timeout judges with the same teams
    (reading.teams_to_read), so it does not escalate or close the PR the gate approved."""
    repo, rsps = world
    repo.write("policies/rules/same-store.yaml", SAME_STORE)
    repo.commit("rule: same store", "Mo Admin <mo@acme.example>")
    lena = user("lena", 203)

    def other_store(r):
        r.replace(DEP.format("fraud-scorer"), 'version: "12"', 'version: "13"')
        r.replace(
            DEP.format("fraud-scorer"),
            "uri: models:/fraud-xgb/12",
            "uri: gs://acme-ml/fraud-xgb/13",
        )

    gh, item = open_pr(repo, rsps, 7, other_store, reviews=[ALICE, BOB, lena])
    MockGitHub(rsps).team("acme/mlops-admins", ALICE, BOB)
    MockGitHub(rsps).team("acme/ml-platform-leads", lena)
    open_pulls(rsps, [item])
    assert run(cli, "2026-12-30T00:00:00Z") == [] and gh.comments == [] and gh.closes == []


def test_a_bad_now_is_a_usage_error_before_github_is_asked(world, cli):
    """--now is parsed like every other --now: the caller's mistake, said as such, exit 2."""
    _repo, rsps = world
    result = cli("timeout", "--repo", "acme/models", "--now", "yesterday-ish")
    assert result.exit_code == 2 and "--now" in result.stderr
    assert "internal error" not in result.stderr and len(rsps.calls) == 0
