"""`foureyes promote`: the change request that promotes a commit of main into an environment's
branch, offline (a branch) and on GitHub (a branch and a PR), and the deploy that follows it."""

from __future__ import annotations

import json
import re

import responses

from ghapi.mockgithub import API, check, check_request, example, repository
from support.clock import NOW
from support.ledger import FRAUD, MO_MERGES, bump, first_release, merge_pr, promote, served
from support.pr_facts import TWO, write_pr_facts


def test_promote_prepares_a_branch_at_main_listing_what_production_changes(env_repo, cli):
    merge_pr(env_repo, 60, bump("13"))
    first_release(env_repo)
    result = cli("promote", "--env", "production", "--into", "release/1")
    assert result.exit_code == 0, result.output
    main = env_repo.git("rev-parse", "main")
    assert "fraud-scorer: fraud-xgb v12 -> fraud-xgb v13" in result.stdout
    assert env_repo.git("rev-parse", f"promote/production-{main[:12]}") == main
    assert "open a PR into release/1" in result.stderr


def test_promote_refuses_what_cannot_be_promoted(env_repo, cli):
    first_release(env_repo)
    assert cli("promote", "--env", "production").exit_code == 2  # release/*: which branch?
    assert (
        cli("promote", "--env", "staging", "--into", "main").exit_code == 2
    )  # deploys from main itself
    nothing = cli("promote", "--env", "production", "--into", "release/1", "--to", "release/1")
    assert nothing.exit_code == 1 and "already in release/1" in nothing.stderr
    env_repo.git("checkout", "-q", "-b", "side", "main")
    env_repo.replace(FRAUD, 'version: "12"', 'version: "66"')
    side = env_repo.commit("not merged")
    env_repo.git("checkout", "-q", "main")
    unmerged = cli("promote", "--env", "production", "--into", "release/1", "--to", side)
    assert unmerged.exit_code == 1 and "not a commit of main" in unmerged.stderr
    unchanged = cli("promote", "--env", "production", "--into", "release/1")
    assert unchanged.exit_code == 1 and "changes nothing production serves" in unchanged.stderr


def test_promote_on_github_opens_the_pr_into_the_release_branch(env_repo, cli, monkeypatch):
    merge_pr(env_repo, 60, bump("13"))
    first_release(env_repo)
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    sent = {}
    base = re.escape(API) + "(?::443)?/repos/acme/models"

    def on(path, method, status, name, answer_example):
        def callback(request):
            body = json.loads(request.body)
            check_request(path, method, body)
            sent[name] = body
            answer = example(answer_example)
            check(path, method, status, answer)
            return int(status), {}, json.dumps(answer)

        return callback

    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        repository(rsps)
        rsps.add_callback(
            responses.POST,
            re.compile(base + "/git/refs$"),
            on("/repos/{owner}/{repo}/git/refs", "post", "201", "refs", "git-ref"),
        )
        rsps.add_callback(
            responses.POST,
            re.compile(base + "/pulls$"),
            on("/repos/{owner}/{repo}/pulls", "post", "201", "pulls", "pull-request"),
        )
        result = cli(
            "promote", "--env", "production", "--into", "release/1", "--repo", "acme/models"
        )
    assert result.exit_code == 0, result.output
    main = env_repo.git("rev-parse", "main")
    assert sent["refs"] == {"ref": f"refs/heads/promote/production-{main[:12]}", "sha": main}
    assert (
        sent["pulls"]["base"] == "release/1"
        and sent["pulls"]["head"] == f"promote/production-{main[:12]}"
    )
    assert "fraud-scorer: fraud-xgb v12 -> fraud-xgb v13" in sent["pulls"]["body"]


def test_the_promoted_branch_deploys_once_its_pr_is_approved(env_repo, cli):
    merge_pr(env_repo, 60, bump("13"))
    first_release(env_repo)
    assert cli("promote", "--env", "production", "--into", "release/1").exit_code == 0
    promote(
        env_repo, 61, "release/1", to=f"promote/production-{env_repo.git('rev-parse', 'main')[:12]}"
    )
    assert cli("deploy", "--env", "production").exit_code == 0
    assert served(env_repo, "production")["fraud-scorer"]["deployment"]["model"]["version"] == "13"


def policy_with(repo, section: str) -> None:
    """main's policy gains ``section`` through an approved PR (the policy is governance)."""
    merge_pr(
        repo,
        58,
        lambda r: r.write("policies/approval.yaml", r.read("policies/approval.yaml") + section),
    )


def test_a_promotion_needs_the_approvals_the_policy_sets_for_the_environment(env_repo, cli):
    """`promotion: {production: {approvals: 3}}`: a promotion of a critical change (two approvals
    at its level) into production's branch needs three."""
    policy_with(env_repo, "promotion:\n  production: {approvals: 3}\n")
    merge_pr(env_repo, 60, bump("13"))
    first_release(env_repo)
    promote(env_repo, 61, "release/1", reviews=TWO)
    result = cli("deploy", "--env", "production", "--format", "json")
    assert result.exit_code == 1 and "2 of 3 approvals" in result.output, result.output
    assert served(env_repo, "production") == {}


def test_promotion_off_for_an_environment_serves_what_its_branch_holds(repo, cli):
    """`promotion: {production: false}` in the policy production serves (here the root of trust):
    a branch cut at main deploys (each commit still needs an approved PR)."""
    repo.write(".gitignore", ".foureyes/\n")
    repo.write(
        "policies/approval.yaml",
        repo.read("policies/approval.yaml") + "promotion:\n  production: false\n",
    )
    repo.git("add", "-A")
    repo.git("commit", "-q", "--amend", "--no-edit")  # the bootstrap carries it
    merge_pr(repo, 60, bump("13"))
    repo.branch("release/1")
    assert cli("deploy", "--env", "production").exit_code == 0
    assert served(repo, "production")["fraud-scorer"]["deployment"]["model"]["version"] == "13"


def test_main_turning_promotion_off_does_not_reach_production_without_a_promotion(env_repo, cli):
    """An approved PR into main sets `production: false`; a release branch cut at main is still
    judged by the policy production serves, where promotion is on."""
    policy_with(env_repo, "promotion:\n  production: false\n")
    merge_pr(env_repo, 60, bump("13"))
    env_repo.branch("release/1")
    result = cli("deploy", "--env", "production", "--format", "json")
    assert result.exit_code == 1 and "no approved PR into release/1" in result.output
    assert served(env_repo, "production") == {}


def test_a_later_hotfix_does_not_launder_a_state_pushed_past_the_promotion(env_repo, cli):
    """release/1 is pushed to main's tip (v14, refused), then an approved hotfix into release/1
    rewords a description: every state commit since the last deploy must be a PR into release/1,
    so v14 still does not reach production."""
    merge_pr(env_repo, 60, bump("13"))
    first_release(env_repo)
    promote(env_repo, 61, "release/1")
    assert cli("deploy", "--env", "production").exit_code == 0
    merge_pr(env_repo, 62, lambda r: r.replace(FRAUD, 'version: "13"', 'version: "14"'))
    env_repo.git("branch", "-f", "release/1", "main")  # pushed past the promotion
    env_repo.git("checkout", "-q", "release/1")
    assert cli("deploy", "--env", "production").exit_code == 1
    env_repo.git("checkout", "-q", "-b", "hotfix", "release/1")
    env_repo.replace(FRAUD, "description: Scores", "description: Reworded, scores")
    head = env_repo.commit("reword")
    promote(env_repo, 63, "release/1", to=head)  # the hotfix PR into release/1, approved
    result = cli("deploy", "--env", "production", "--format", "json")
    assert result.exit_code == 1 and "no approved PR into release/1" in result.output
    assert served(env_repo, "production")["fraud-scorer"]["deployment"]["model"]["version"] == "13"


def test_a_first_deploy_cut_short_does_not_leave_the_bootstrap_open(env_repo, cli):
    """Production's first deploy applied one deployment (a matrix job) and never converged; a branch
    cut at the root of trust may not roll that back as "the bootstrap"."""
    merge_pr(env_repo, 60, bump("13"))
    first_release(env_repo)
    promote(env_repo, 61, "release/1")
    assert cli("deploy", "--env", "production", "--only", "fraud-scorer").exit_code == 0
    env_repo.git(
        "checkout", "-q", "-b", "release/2", env_repo.git("rev-list", "--max-parents=0", "main")
    )
    result = cli("deploy", "--env", "production", "--format", "json")
    assert result.exit_code == 1
    assert served(env_repo, "production")["fraud-scorer"]["deployment"]["model"]["version"] == "13"


def test_the_promotion_section_is_validated(repo, cli):
    repo.write(
        "policies/approval.yaml",
        repo.read("policies/approval.yaml") + "promotion:\n  production: {approvals: 0}\n",
    )
    result = cli("validate")
    assert result.exit_code == 1 and "policies/approval.yaml" in result.output


def test_a_policy_pushed_past_the_promotion_is_not_recorded_as_served(env_repo, cli):
    """Nothing to apply is no excuse: release/1 pushed to a main whose policy now asks one approval
    would otherwise be recorded in sync, and the weaker policy would judge the next hotfix."""
    merge_pr(env_repo, 60, bump("13"))
    first_release(env_repo)
    promote(env_repo, 61, "release/1")
    assert cli("deploy", "--env", "production").exit_code == 0
    merge_pr(
        env_repo, 62, lambda r: r.replace("policies/approval.yaml", "approvals: 2", "approvals: 1")
    )
    env_repo.git("branch", "-f", "release/1", "main")
    env_repo.git("checkout", "-q", "release/1")
    result = cli("deploy", "--env", "production", "--format", "json")
    assert result.exit_code == 1 and "no approved PR into release/1" in result.output


def test_promote_on_github_run_again_moves_the_branch_and_rewrites_the_open_prs_description(
    env_repo, cli, monkeypatch
):
    from ghapi.mockgithub import recording
    from ghapi.mockgithub import validation_failed as refused

    merge_pr(env_repo, 60, bump("13"))
    first_release(env_repo)
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    base = re.escape(API) + "(?::443)?/repos/acme/models"
    sent = {}

    def ok(path, method, status, name, answer):
        return recording(sent, name, path, method, status, answer)

    main = env_repo.git("rev-parse", "main")
    branch = f"promote/production-{main[:12]}"
    existing = example("pull-request-simple-items")[:1]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        repository(rsps)
        rsps.add_callback(
            responses.POST, re.compile(base + "/git/refs$"), refused("Reference already exists")
        )
        rsps.add_callback(
            responses.PATCH,
            re.compile(base + f"/git/refs/heads/{re.escape(branch)}$"),
            ok("/repos/{owner}/{repo}/git/refs/{ref}", "patch", "200", "ref", example("git-ref")),
        )
        rsps.add_callback(
            responses.POST,
            re.compile(base + "/pulls$"),
            refused(f"A pull request already exists for acme:{branch}."),
        )
        rsps.add_callback(
            responses.GET,
            re.compile(base + r"/pulls\?.*head=acme%3Apromote%2F"),
            ok("/repos/{owner}/{repo}/pulls", "get", "200", "list", existing),
        )
        rsps.add_callback(
            responses.PATCH,
            re.compile(base + rf"/pulls/{existing[0]['number']}$"),
            ok(
                "/repos/{owner}/{repo}/pulls/{pull_number}",
                "patch",
                "200",
                "pr",
                example("pull-request"),
            ),
        )
        result = cli(
            "promote", "--env", "production", "--into", "release/1", "--repo", "acme/models"
        )
    assert result.exit_code == 0, result.output
    assert sent["ref"] == {"sha": main, "force": True}
    assert "fraud-scorer: fraud-xgb v12 -> fraud-xgb v13" in sent["pr"]["body"]


def test_a_model_name_reaches_the_promotion_pr_only_escaped(env_repo):
    """The PR body quotes model names and versions from registry files: Markdown and HTML in them
    render as text."""
    from foureyes.deploy.promote import Promotion, Step

    evil = {
        "name": "fraud<img src=x onerror=alert(1)>",
        "version": "[approve](https://evil.example)",
    }
    body = Promotion("production", "release/1", "a" * 40, [Step("fraud-scorer", None, evil)]).body
    assert "<img" not in body and "](https://" not in body and "&lt;img" in body


def judge_promotion(repo, head="main", branch="release/1", reviews=TWO):
    """The gate's judgment of an open PR into ``branch`` whose head is ``head``."""
    from dataclasses import replace

    from foureyes.app.gate_pipeline import decide
    from foureyes.sources.pr_file import load_local_facts

    base, head_sha = repo.git("rev-parse", branch), repo.git("rev-parse", head)
    path = write_pr_facts(
        repo.root.parent / "promotion.yaml", reviews, number=70, base=base, head=head_sha
    )
    facts = load_local_facts(path, repo.session, base, head_sha, base_ref=branch)
    return decide(repo.session, lambda: replace(facts, default_branch="main"), now=NOW)


def metrics(auc):
    def edit(repo):
        repo.replace(FRAUD, "auc: 0.91", f"auc: {auc}")

    return edit


def test_a_promotion_plans_one_promote_event_per_deployment_it_changes(env_repo):
    merge_pr(env_repo, 60, bump("13"))
    merge_pr(env_repo, 62, metrics("0.95"))
    first_release(env_repo)
    result = judge_promotion(env_repo)
    [event] = [e for e in result.plan.events if e.deployment]  # and main's .gitignore: governance
    assert (event.type, event.deployment, event.level) == ("promote", "fraud-scorer", "critical")
    assert event.includes == ("replace_model", "update")
    assert (event.model_before["version"], event.model_after["version"]) == ("12", "13")
    assert event.changes == {"metrics.auc": (0.91, 0.95)}
    assert result.decision.state == "approved" and result.decision.required == 2
    assert event.to_json()["includes"] == ["replace_model", "update"]


def test_a_hotfix_into_the_release_branch_keeps_its_own_events(env_repo):
    """A PR into release/1 whose head is not a commit of main is a change made there, not a
    promotion: its events are the ordinary ones."""
    first_release(env_repo)
    env_repo.git("checkout", "-q", "-b", "hotfix", "release/1")
    bump("12.1")(env_repo)
    env_repo.commit("hotfix")
    env_repo.git("checkout", "-q", "main")
    result = judge_promotion(env_repo, head="hotfix")
    assert [e.type for e in result.plan.events if e.deployment] == ["replace_model"]


def test_a_change_exempt_on_main_is_not_promoted_to_production_unapproved(env_repo, cli):
    """`require_approval_for` without `update`: a metrics edit lands on main (staging) with no
    approval. Carried into production's branch it is a promotion, which needs the approvals of
    its deployment's level: promoted with none, production keeps what it served."""
    policy = env_repo.read("policies/approval.yaml").replace(
        "require_approval_for: [create, replace_model, change_importance, delete, update]",
        "require_approval_for: [create, replace_model, change_importance, delete]",
    )
    merge_pr(env_repo, 58, lambda r: r.write("policies/approval.yaml", policy))
    first_release(env_repo)
    promote(env_repo, 59, "release/1")  # the policy (governance) reaches production, approved
    assert cli("deploy", "--env", "production").exit_code == 0
    merge_pr(env_repo, 62, metrics("0.95"), reviews=[])
    assert cli("deploy", "--env", "staging").exit_code == 0
    assert judge_promotion(env_repo, reviews=[]).decision.state == "pending"
    promote(env_repo, 63, "release/1", reviews=[])
    result = cli("deploy", "--env", "production", "--format", "json")
    assert result.exit_code == 1 and "0 of 2 approvals" in result.output, result.output
    served_metrics = served(env_repo, "production")["fraud-scorer"]["deployment"]["metrics"]
    assert served_metrics["auc"] == 0.91


def test_plan_shows_a_promotion_as_the_gate_judges_it(env_repo, cli):
    """`foureyes plan --base release/1 --head main` is the what-if of the promotion PR: the same
    `promote` events the gate judges, not the events made on main."""
    merge_pr(env_repo, 60, bump("13"))
    first_release(env_repo)
    result = cli("plan", "--base", "release/1", "--head", "main", "--format", "json")
    events = [e for e in json.loads(result.output)["events"] if e["deployment"]]
    assert [(e["type"], e["deployment"], e["includes"]) for e in events] == [
        ("promote", "fraud-scorer", ["replace_model"])
    ]
    gated = judge_promotion(env_repo).plan
    assert [e.type for e in gated.events if e.deployment] == ["promote"]
    on_main = cli("plan", "--base", "main~1", "--head", "main", "--format", "json")
    assert [e["type"] for e in json.loads(on_main.output)["events"]] == ["replace_model"]


def sneaky_branch(repo, name="sneaky", start="main"):
    """A branch one empty commit past ``start``: its head is no commit of main."""
    repo.git("checkout", "-q", "-b", name, start)
    repo.git(*MO_MERGES, "commit", "-q", "--allow-empty", "-m", "nothing")
    repo.git("checkout", "-q", "main")


def test_an_exempt_change_cut_one_commit_past_main_still_needs_approval_into_production(
    env_repo, cli
):
    """The attack: the exempt metrics edit is carried into release/1 by a PR whose head is one
    empty commit past main, so it is no promotion; judged with main's exemptions it needed no
    approval. Whatever reaches a deploy branch needs its level's approvals."""
    policy = env_repo.read("policies/approval.yaml").replace(
        "require_approval_for: [create, replace_model, change_importance, delete, update]",
        "require_approval_for: [create, replace_model, change_importance, delete]",
    )
    merge_pr(env_repo, 58, lambda r: r.write("policies/approval.yaml", policy))
    first_release(env_repo)
    promote(env_repo, 59, "release/1")
    assert cli("deploy", "--env", "production").exit_code == 0
    merge_pr(env_repo, 62, metrics("0.95"), reviews=[])
    sneaky_branch(env_repo)
    sneaky = judge_promotion(env_repo, head="sneaky", reviews=[])
    assert [e.type for e in sneaky.plan.events if e.deployment] == ["update"]
    assert sneaky.decision.state == "pending" and sneaky.decision.required == 2
    promote(env_repo, 64, "release/1", reviews=[], to="sneaky")
    assert cli("deploy", "--env", "production").exit_code == 1
    served_metrics = served(env_repo, "production")["fraud-scorer"]["deployment"]["metrics"]
    assert served_metrics["auc"] == 0.91


def test_a_release_branch_at_main_s_tip_is_judged_as_a_deploy_branch(env_repo):
    """release/1 cut at main's tip: one commit judges both sides, and a PR into it is still a PR
    into a deploy branch (exemptions do not apply)."""
    policy = env_repo.read("policies/approval.yaml").replace(
        "require_approval_for: [create, replace_model, change_importance, delete, update]",
        "require_approval_for: [create, replace_model, change_importance, delete]",
    )
    merge_pr(env_repo, 58, lambda r: r.write("policies/approval.yaml", policy))
    env_repo.git("branch", "release/1", "main")
    env_repo.git("checkout", "-q", "-b", "edit", "main")
    metrics("0.95")(env_repo)
    env_repo.commit("metrics")
    env_repo.git("checkout", "-q", "main")
    result = judge_promotion(env_repo, head="edit", reviews=[])
    assert result.decision.state == "pending" and result.decision.required == 2


def test_a_promotion_reads_with_everything_it_carries(env_repo, cli):
    """The reviewer of a promotion sees the model and every other field it moves."""
    merge_pr(env_repo, 60, bump("13"))
    merge_pr(env_repo, 62, metrics("0.95"))
    first_release(env_repo)
    result = cli("plan", "--base", "release/1", "--head", "main", "--format", "markdown")
    [row] = [line for line in result.output.splitlines() if line.startswith("| `fraud-scorer`")]
    assert "| promote |" in row and "v12" in row and "v13" in row
    assert "metrics.auc: 0.91" in row and "metrics.auc: 0.95" in row


def test_the_offline_gate_judges_a_pr_into_a_release_branch_as_github_does(env_repo, cli, tmp_path):
    """`gate --local FACTS --base release/1`: judged by release/1's policy and main's, every
    deployment event needing approval, as the gate on GitHub judges it."""
    policy = env_repo.read("policies/approval.yaml").replace(
        "require_approval_for: [create, replace_model, change_importance, delete, update]",
        "require_approval_for: [create, replace_model, change_importance, delete]",
    )
    merge_pr(env_repo, 58, lambda r: r.write("policies/approval.yaml", policy))
    first_release(env_repo)
    promote(env_repo, 59, "release/1")
    merge_pr(env_repo, 62, metrics("0.95"), reviews=[])
    sneaky_branch(env_repo)
    facts = write_pr_facts(tmp_path / "pr.yaml", [], number=70)
    args = ("gate", "--local", str(facts), "--head", "sneaky", "--now", NOW.isoformat())
    args = (*args, "--format", "json")
    into_release = cli(*args, "--base", "release/1")
    assert into_release.exit_code == 1, into_release.output
    assert json.loads(into_release.output)["decision"] == "pending"
    by_commit = cli(*args, "--base", env_repo.git("rev-parse", "release/1"))
    assert json.loads(by_commit.output)["decision"] == "approved"  # a commit names no branch
