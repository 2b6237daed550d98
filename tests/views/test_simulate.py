"""`foureyes simulate` (policy what-if) on real git repositories: offline from the PR ledger, on
GitHub against the OpenAPI-validated mock, and the what-if section of the gate's comment on a PR
that edits the policy (which must never change that PR's own decision)."""

import json
import re

import pytest
import responses

from foureyes.judging.policy import Block, Decision
from foureyes.views.simulate import compare
from ghapi.mockgithub import API, HERE, MockGitHub, open_pulls, pull_simple, user
from support.clock import NOW, at, iso
from support.pr_facts import approvals, write_pr_facts
from support.repos import DEP

POLICY = "policies/approval.yaml"
DANA, ALICE, BOB = user("dana", 104), user("alice", 201), user("bob", 202)
TEAM = "acme/mlops-admins"
MERGED = iso(NOW)  # after the mock's reviews (NOW - 2h): they count
BEFORE_REVIEWS = iso(at(days=-2, hours=-2))  # merged before the reviews were submitted
SINCE = at(days=-21).date().isoformat()  # the period replayed: the three weeks up to NOW


def d(state, required, approvals=0):
    from foureyes.judging.facts import Account

    return Decision(
        state,
        "critical",
        required,
        approvals=[Account(f"u{i}", i) for i in range(approvals)],
        blocking=[Block("error", "x")] if state in ("blocked", "error") else [],
    )


@pytest.mark.parametrize(
    "then, now, change",
    [
        (d("approved", 2, 2), d("pending", 3, 2), "now_pending"),
        (d("pending", 2), d("pending", 3), "more_approvals"),
        (d("pending", 2), d("pending", 1), "fewer_approvals"),
        (d("pending", 2, 1), d("approved", 1, 1), "now_approved"),
        (d("pending", 2), d("approved", 0), "now_auto_approved"),
        (d("approved", 1, 1), d("blocked", 1, 1), "now_blocked"),
        (d("blocked", 1, 1), d("approved", 1, 1), "now_approved"),
        (d("blocked", 1), d("pending", 1), "now_unblocked"),
        (d("approved", 1, 1), d("error", 1), "now_error"),
        (d("approved", 2, 2), d("approved", 2, 2), "unchanged"),
    ],
)
def test_compare_names_what_the_candidate_changes(then, now, change):
    assert compare(then, now) == change


# --- offline: the PR ledger ---------------------------------------------------------------------


@pytest.fixture
def world(repo):
    repo.write(".gitignore", ".foureyes/\n")
    repo.commit("ignore the local ledger", "Mo Admin <mo@acme.example>")
    repo.ledger = repo.root / ".foureyes" / "prs"
    repo.ledger.mkdir(parents=True)
    return repo


def fraud(version):
    def edit(r):
        path = DEP.format("fraud-scorer")
        r.write(path, re.sub(r'version: "\d+"', f'version: "{version}"', r.read(path), count=1))

    return edit


def docs(r):
    r.write("docs/guide.md", "How we deploy.\n")


def pr(repo, number, edit, reviewers=(), merged_at=None, body="A reason."):
    """A PR branch off main; merged (--no-ff, by Mo) when ``merged_at`` is given; its ledger file."""
    base = repo.git("rev-parse", "main")
    repo.git("checkout", "-q", "-b", f"pr-{number}", "main")
    edit(repo)
    head = repo.commit(f"change #{number}")
    repo.git("checkout", "-q", "main")
    extra = {"base": base, "head": head}
    if merged_at:
        merge = repo.merge_as_mo(f"pr-{number}", f"Merge #{number}")
        extra |= {"merge_commit": merge, "merged_at": merged_at}
    write_pr_facts(repo.ledger / f"{number}.yaml", approvals(*reviewers), body=body, **extra)
    return head


def candidate(repo, tmp_path, *edits):
    text = repo.read(POLICY)
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / "candidate.yaml"
    path.write_text(text, "utf-8")
    return str(path)


def simulate(cli, *args):
    result = cli("simulate", "--format", "json", *args)
    assert result.stdout.startswith("{"), result.output
    return result.exit_code, json.loads(result.stdout)


def by_pr(data):
    return {
        p["pr"]: (p["then"]["decision"], p["now"]["decision"], p["change"]) for p in data["prs"]
    }


def test_a_stricter_candidate_names_the_merged_prs_it_would_have_held(world, cli, tmp_path):
    pr(world, 41, fraud("13"), ["alice", "bob"], merged_at=BEFORE_REVIEWS)
    pr(world, 43, fraud("14"))  # open, unreviewed
    policy = candidate(world, tmp_path, ("approvals: 2", "approvals: 3"))
    code, data = simulate(cli, "--policy", policy, "--since", SINCE)
    assert code == 0
    assert by_pr(data) == {
        41: ("approved", "pending", "now_pending"),
        43: ("pending", "pending", "more_approvals"),
    }
    assert (
        data["totals"]["prs"] == 2
        and data["totals"]["now_pending"] == 1
        and data["totals"]["more_approvals"] == 1
    )
    assert [p["now"]["required_approvals"] for p in data["prs"]] == [3, 3]
    text = cli("simulate", "--policy", policy, "--since", SINCE).stdout
    assert (
        "PR #41" in text and "now needs more approvals" in text and "Totals: 2 PRs replayed" in text
    )


def test_a_candidate_that_drops_an_event_type_auto_approves(world, cli, tmp_path):
    pr(world, 43, fraud("14"))
    policy = candidate(
        world,
        tmp_path,
        ("require_approval_for: [create, replace_model,", "require_approval_for: [create,"),
    )
    _code, data = simulate(cli, "--policy", policy)
    assert by_pr(data) == {43: ("pending", "approved", "now_auto_approved")}
    md = cli("simulate", "--policy", policy, "--format", "markdown").stdout
    assert (
        md.startswith("## Policy what-if")
        and "| #43 | open | pending 0/2 | approved (none required) |" in md
    )


def test_a_candidate_that_governs_more_paths_is_replayed_on_the_diff(world, cli, tmp_path):
    """docs/** is ungoverned today: a PR changing only docs needs nobody. Without the glob the
    same PR is a critical governance change."""
    pr(world, 44, docs, merged_at=BEFORE_REVIEWS)
    policy = candidate(world, tmp_path, ('    - "docs/**"\n', ""))
    _code, data = simulate(cli, "--policy", policy, "--since", SINCE)
    assert by_pr(data) == {44: ("approved", "pending", "now_pending")}
    assert data["prs"][0]["now"]["level"] == "critical"


def test_a_candidate_requiring_a_reason_blocks_a_pr_without_one(world, cli, tmp_path):
    world.replace(POLICY, "require_reason: true", "require_reason: false")
    world.commit("no reason needed", "Mo Admin <mo@acme.example>")
    pr(world, 45, fraud("13"), ["alice", "bob"], merged_at=BEFORE_REVIEWS, body="")
    policy = candidate(world, tmp_path, ("require_reason: false", "require_reason: true"))
    _code, data = simulate(cli, "--policy", policy, "--since", SINCE)
    assert by_pr(data) == {45: ("approved", "blocked", "now_blocked")}
    assert "explain the change" in cli("simulate", "--policy", policy, "--since", SINCE).stdout


def test_since_leaves_out_prs_merged_before_the_period(world, cli, tmp_path):
    pr(world, 40, fraud("13"), ["alice", "bob"], merged_at=iso(at(days=-52)))
    pr(world, 41, fraud("14"), ["alice", "bob"], merged_at=BEFORE_REVIEWS)
    policy = candidate(world, tmp_path)
    _, data = simulate(cli, "--policy", policy, "--since", SINCE)
    assert list(by_pr(data)) == [41] and by_pr(data)[41][2] == "unchanged"
    _code, data = simulate(
        cli, "--policy", policy, "--since", at(days=-82).date().isoformat(), "--last", "1"
    )
    assert list(by_pr(data)) == [41]  # newest first


def test_a_broken_candidate_is_a_one_line_error_with_file_and_line(world, cli, tmp_path):
    policy = candidate(world, tmp_path, ("approvals: 2", "approvals: two"))
    result = cli("simulate", "--policy", policy)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert re.search(r"candidate\.yaml:\d+:\d+: levels\.critical\.approvals", result.stderr), (
        result.stderr
    )


def test_a_bad_since_is_a_usage_error(world, cli, tmp_path):
    result = cli("simulate", "--policy", candidate(world, tmp_path), "--since", "last spring")
    assert (
        result.exit_code == 2
        and "is not a time" in result.output
        and "Traceback" not in result.output
    )


def test_the_candidate_is_data_never_code(world, cli, tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "candidate.yaml"
    path.write_text(f'!!python/object/apply:os.system ["touch {marker}"]\n', "utf-8")
    result = cli("simulate", "--policy", str(path))
    assert result.exit_code == 2 and not marker.exists() and "Traceback" not in result.output


def test_a_pr_that_cannot_be_replayed_is_listed_and_the_run_fails(world, cli, tmp_path):
    pr(world, 41, fraud("13"), ["alice", "bob"], merged_at=BEFORE_REVIEWS)
    pr(world, 43, fraud("14"), ["zed"])  # zed is not among the file's accounts
    code, data = simulate(cli, "--policy", candidate(world, tmp_path), "--since", SINCE)
    assert code == 1 and list(by_pr(data)) == [41]
    assert (
        data["not_replayed"][0]["pr"] == 43
        and "'zed' is not listed under accounts" in data["not_replayed"][0]["error"]
    )


# --- GitHub: the listing, per-PR facts, the cache -----------------------------------------------


@pytest.fixture
def gh_world(world, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_test")
    monkeypatch.delenv("GITHUB_API_URL", raising=False)
    from ghapi.mockgithub import check_runs_of

    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        world.rsps = rsps
        check_runs_of(
            rsps
        )  # merged PRs are replayed with the gate's evidence, where it recorded any
        yield world


def github_pr(repo, number, edit, reviewers=(), merged_at=None, updated_at=MERGED):
    """A PR on the mock: its branch (merged into main when ``merged_at``), GET pull/commits/reviews,
    and its item for the listing."""
    base = repo.git("rev-parse", "main")
    head = pr(repo, number, edit, (), merged_at)
    merge = repo.git("rev-parse", "main") if merged_at else None
    gh = MockGitHub(repo.rsps, number=number)
    gh.pull(DANA, base, head)
    gh.commits({"sha": head, "author": DANA, "email": "dana@acme.example"})
    gh.reviews(*[{"user": u, "state": "APPROVED", "commit_id": head} for u in reviewers])
    item = pull_simple(number, base, head, merged_at, merge)
    item["updated_at"] = updated_at
    return gh, item


def team(rsps, *members):
    rsps.get(
        re.compile(re.escape(API) + "(?::443)?/orgs/acme/teams/mlops-admins/members"),
        json=list(members),
    )


def calls(rsps, start=0):
    return [
        c.request.method + " " + re.sub(r"\?.*", "", c.request.url.split("/repos/acme/models")[-1])
        for c in rsps.calls[start:]
    ]


def test_simulate_on_github_reads_one_listing_and_caches_merged_prs(gh_world, cli, tmp_path):
    w = gh_world
    _, merged = github_pr(w, 41, fraud("13"), (ALICE, BOB), merged_at=MERGED)
    _, opened = github_pr(w, 43, fraud("14"))
    _, old = github_pr(
        w,
        30,
        fraud("15"),
        (ALICE, BOB),
        merged_at="2026-01-20T10:00:00Z",
        updated_at="2026-01-20T10:00:00Z",
    )
    open_pulls(w.rsps, [opened, merged, old])  # sort=updated, direction=desc
    team(w.rsps, ALICE, BOB)
    policy = candidate(w, tmp_path, ("approvals: 2", "approvals: 3"))
    args = ("--policy", policy, "--since", SINCE, "--repo", "acme/models")
    code, data = simulate(cli, *args)
    assert code == 0 and by_pr(data) == {
        43: ("pending", "pending", "more_approvals"),
        41: ("approved", "pending", "now_pending"),
    }
    first = calls(w.rsps)
    listing = next(c.request.url for c in w.rsps.calls if re.search(r"/pulls\?", c.request.url))
    # sort=updated lists oldest first unless direction=desc is sent (OpenAPI: pulls/list, direction)
    assert all(
        p in listing for p in ("state=all", "sort=updated", "direction=desc", "per_page=100")
    )
    assert (
        first.count("GET /pulls") == 1 and "GET /pulls/30" not in first
    )  # stopped at the period's end
    # the listing's item is the pull (pull-request-simple): no GET /pulls/{n} per PR
    assert sorted(c for c in first if c.startswith("GET /pulls/")) == [
        "GET /pulls/41/commits",
        "GET /pulls/41/reviews",
        "GET /pulls/43/commits",
        "GET /pulls/43/reviews",
    ]
    assert len([c for c in first if "/teams/" in c]) == 1  # once per run, not per PR
    n = len(w.rsps.calls)
    code, again = simulate(cli, *args)
    assert again == data
    rerun = calls(w.rsps, n)
    assert not [c for c in rerun if c.startswith("GET /pulls/41")]  # merged: from the record
    assert [c for c in rerun if c.startswith("GET /pulls/43")]  # open: read fresh


def test_a_rerun_from_the_cache_counts_the_people_the_first_run_counted(gh_world, cli, tmp_path):
    """A merged PR's facts are kept in the record with the team members its replay counted: Bob
    leaving the team afterwards changes nothing the first run showed (evidence, not hindsight)."""
    w = gh_world
    _, merged = github_pr(w, 41, fraud("13"), (ALICE, BOB), merged_at=MERGED)
    open_pulls(w.rsps, [merged])
    members = re.compile(re.escape(API) + "(?::443)?/orgs/acme/teams/mlops-admins/members")
    w.rsps.get(members, json=[ALICE, BOB])
    args = ("--policy", candidate(w, tmp_path), "--since", SINCE, "--repo", "acme/models")
    code, data = simulate(cli, *args)
    assert code == 0 and by_pr(data)[41][0] == "approved"
    w.rsps.replace(responses.GET, members, json=[ALICE])  # Bob has left the team since
    _, again = simulate(cli, *args)
    assert again == data


def test_a_pr_whose_commits_cannot_be_fetched_is_not_replayed_the_rest_is(gh_world, cli, tmp_path):
    w = gh_world
    _, merged = github_pr(w, 41, fraud("13"), (ALICE, BOB), merged_at=MERGED)
    gone = pull_simple(
        42, w.git("rev-parse", "main"), "f" * 40, None, None
    )  # a head this clone cannot fetch
    gone["updated_at"] = MERGED
    open_pulls(w.rsps, [gone, merged])
    team(w.rsps, ALICE, BOB)
    code, data = simulate(
        cli, "--policy", candidate(w, tmp_path), "--since", SINCE, "--repo", "acme/models"
    )
    assert (
        code == 1 and list(by_pr(data)) == [41] and [f["pr"] for f in data["not_replayed"]] == [42]
    )


def test_a_github_failure_is_exit_2(gh_world, cli, tmp_path):
    gh_world.rsps.get(
        re.compile(re.escape(API) + r"(?::443)?/repos/acme/models/pulls(?:\?.*)?$"),
        status=500,
        json={"message": "Server Error"},
    )
    result = cli("simulate", "--policy", candidate(gh_world, tmp_path), "--repo", "acme/models")
    assert result.exit_code == 2 and "GitHub API returned 500" in result.stderr


# --- the gate's comment on a policy PR -----------------------------------------------------------


def weaken(r):
    """Lower critical to 1 approval and governance to `low`."""
    r.replace(POLICY, "approvals: 2", "approvals: 1")
    r.replace(POLICY, "governance:\n  level: critical", "governance:\n  level: low")


def policy_pr(w, tmp_path, monkeypatch, edit, extra=()):
    """Dana's PR #7 editing the policy, approved by Alice, beside merged PR #41 (and the listing
    items ``extra``); the webhook event."""
    _, merged = github_pr(w, 41, fraud("13"), (ALICE, BOB), merged_at=MERGED)
    base = w.git("rev-parse", "main")
    gh, item = github_pr(w, 7, edit, (ALICE,))
    gh.existing_comments()
    gh.accept_writes()
    team(w.rsps, ALICE, BOB)
    open_pulls(w.rsps, [item, *extra, merged])
    event = json.loads((HERE / "webhook-pull_request.json").read_text())["examples"][0]
    event["pull_request"].update(number=7)
    event["pull_request"]["base"]["sha"], event["pull_request"]["head"]["sha"] = (
        base,
        item["head"]["sha"],
    )
    (tmp_path / "event.json").write_text(json.dumps(event))
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(tmp_path / "event.json"))
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/models")
    return gh


def test_a_policy_pr_changes_its_own_simulation_but_not_its_decision(
    gh_world, cli, tmp_path, monkeypatch
):
    """Under its own policy the PR needs one approval (low governance) and has it: the what-if says
    so, while the base policy still judges it (critical governance, 2 approvals)."""
    gh = policy_pr(gh_world, tmp_path, monkeypatch, weaken)
    result = cli("gate", "--format", "json")
    data = json.loads(result.stdout)
    assert (
        result.exit_code == 1 and data["decision"] == "pending" and data["required_approvals"] == 2
    )
    assert [s["state"] for s in gh.statuses] == ["pending"]
    body = gh.comments[0]["body"]
    assert "### Policy what-if: the last 20 PRs under this PR's policies/approval.yaml" in body
    assert "| #7 | open | pending 1/2 | approved 1/1 | now approved |" in body
    assert "| #41 | merged | approved 2/2 | approved 2/1 | fewer approvals required |" in body
    assert "still judged by the policy at its base" in body


def test_the_what_if_can_be_turned_off(gh_world, cli, tmp_path, monkeypatch):
    gh = policy_pr(gh_world, tmp_path, monkeypatch, weaken)
    monkeypatch.setenv("FOUREYES_SIMULATE_LAST", "0")
    cli("gate", "--format", "json")
    assert "what-if" not in gh.comments[0]["body"] and "GET /pulls" not in calls(gh_world.rsps)


def test_a_broken_head_policy_is_said_in_the_comment_and_changes_nothing(
    gh_world, cli, tmp_path, monkeypatch
):
    gh = policy_pr(gh_world, tmp_path, monkeypatch, lambda r: r.write(POLICY, "levels: [\n"))
    result = cli("gate", "--format", "json")
    assert json.loads(result.stdout)["decision"] == "pending"
    body = gh.comments[0]["body"]
    assert "### Policy what-if" in body and "Not available:" in body and "invalid YAML" in body


def test_a_pr_that_does_not_edit_the_policy_gets_no_what_if(gh_world, cli, tmp_path, monkeypatch):
    w = gh_world
    gh, _item = github_pr(w, 7, fraud("13"), (ALICE,))
    gh.existing_comments()
    gh.accept_writes()
    team(w.rsps, ALICE, BOB)
    result = cli("gate", "--repo", "acme/models", "--pr", "7", "--format", "json")
    assert json.loads(result.stdout)["decision"] == "pending"
    assert "what-if" not in gh.comments[0]["body"] and "GET /pulls" not in calls(w.rsps)


def test_then_is_the_judgment_the_gate_and_the_deploy_make_for_a_pr_into_a_release_branch(
    world, cli, tmp_path
):
    """A release branch cut with a weaker policy (one approval for critical) approves nothing the
    default branch's policy would not: "then" is the one judgment, both policies, the stricter
    winning, exactly as the gate and the deploy decide."""
    world.git("checkout", "-q", "-b", "release/2026.12", "main")
    world.replace(POLICY, "approvals: 2", "approvals: 1")
    world.commit("release policy: one approval", "Mo Admin <mo@acme.example>")
    base = world.git("rev-parse", "HEAD")
    world.git("checkout", "-q", "-b", "pr-44")
    fraud("13")(world)
    head = world.commit("fraud-scorer v13")
    world.git("checkout", "-q", "release/2026.12")
    world.merge_as_mo("pr-44", "Merge #44")
    write_pr_facts(
        world.ledger / "44.yaml",
        approvals("alice"),
        base=base,
        head=head,
        merge_commit=world.git("rev-parse", "HEAD"),
        merged_at=MERGED,
        base_ref="release/2026.12",
    )
    world.git("checkout", "-q", "main")
    code, data = simulate(cli, "--policy", candidate(world, tmp_path), "--since", SINCE)
    assert code == 0 and by_pr(data) == {44: ("pending", "pending", "unchanged")}
    assert data["prs"][0]["then"]["required_approvals"] == 2


def test_a_merged_pr_is_replayed_with_the_facts_the_gate_recorded(gh_world, cli, tmp_path):
    """Alice left the admin team after PR #41 was merged: "then" is the decision the gate recorded
    evidence for (both approvals counted), as the deploy judges it, not today's team."""
    from foureyes.judging import evidence
    from foureyes.judging.facts import Account, PRFacts, Review
    from ghapi.mockgithub import check_runs_of

    w = gh_world
    _, merged = github_pr(w, 41, fraud("13"), (ALICE, BOB), merged_at=MERGED)
    head = merged["head"]["sha"]
    open_pulls(w.rsps, [merged])
    team(w.rsps, BOB)  # today
    accounts = [Account(u["login"], u["id"]) for u in (ALICE, BOB)]
    facts = PRFacts(
        41,
        Account("dana", 104),
        merged["base"]["sha"],
        head,
        "A reason.",
        [],
        [Review(1001 + i, a, "APPROVED", head) for i, a in enumerate(accounts)],
        {TEAM: frozenset(a.id for a in accounts)},
    )
    check_runs_of(w.rsps).add(
        {
            "name": "foureyes/evidence",
            "head_sha": head,
            "external_id": "pr-41",
            "output": {
                "title": "decision: approved",
                "summary": "-",
                "text": json.dumps(evidence.of(facts, "approved")),
            },
        }
    )
    policy = candidate(w, tmp_path, ("approvals: 2", "approvals: 3"))
    code, data = simulate(cli, "--policy", policy, "--since", SINCE, "--repo", "acme/models")
    assert code == 0 and by_pr(data) == {41: ("approved", "pending", "now_pending")}


TRAILER_NAME = "[Security notice](https://evil.example) @acme/everyone"


def test_another_prs_co_author_trailer_reaches_the_what_if_as_text(
    gh_world, cli, tmp_path, monkeypatch
):
    """The what-if quotes why another open PR is now blocked, and that detail names a co-author
    trailer anyone can write: it must not become a link or a team mention in foureyes' comment."""
    w = gh_world
    w.replace(POLICY, "unattributed_commits: block", "unattributed_commits: allow")
    w.commit("allow unattributed commits")
    base = w.git("rev-parse", "main")
    head = pr(w, 43, fraud("14"))
    other = MockGitHub(w.rsps, number=43)
    other.pull(DANA, base, head)
    other.commits(
        {
            "sha": head,
            "author": DANA,
            "email": "dana@acme.example",
            "message": f"v14\n\nCo-authored-by: {TRAILER_NAME} <x@y.example>",
        }
    )
    other.reviews()
    item = pull_simple(43, base, head, None, None)
    item["updated_at"] = MERGED
    gh = policy_pr(
        w,
        tmp_path,
        monkeypatch,
        lambda r: r.replace(POLICY, "unattributed_commits: allow", "unattributed_commits: block"),
        extra=[item],
    )
    cli("gate", "--format", "json")
    body = gh.comments[0]["body"]
    row = next(line for line in body.splitlines() if line.startswith("| #43 "))
    assert "now blocked" in row and "Security notice" in row
    assert "](https://" not in row and "@acme/everyone" not in row
    assert "\\[Security notice\\]" in row and "@&#8203;acme/everyone" in row
