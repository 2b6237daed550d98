"""`foureyes protect` against an in-memory GitHub whose requests and answers follow the OpenAPI
description: applying, idempotency, drift detection naming the setting, read-merge-write; release
branches that only release managers can cut; what a plan without environment protection rules
refuses."""

import pytest
import responses

from ghapi.mockgithub import FakeRepoSettings


@pytest.fixture(autouse=True)
def deploy_workflow(repo):
    """The deploy workflow `foureyes init` writes: its `approve` job asks ENV-approval once."""
    from foureyes.registry.model import BUNDLED

    repo.write(
        ".github/workflows/foureyes-deploy.yml",
        (BUNDLED / "workflows" / "foureyes-deploy.yml").read_text(),
    )


@pytest.fixture
def gh(repo, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeRepoSettings(
            rsps, users={"hana-k": 77}, teams={"acme/mlops-admins": 5, "acme/release-managers": 9}
        )


def rulesets(gh) -> dict[str, dict]:
    return {r["name"]: r for r in gh.rulesets.values()}


def test_protect_then_check_reports_no_drift(gh, cli):
    result = cli("protect", "--repo", "acme/models", "--app-id", "4242")
    assert result.exit_code == 0, result.output
    assert set(gh.environments) == {
        "staging",
        "production",
        "staging-approval",
        "production-approval",
    }
    # the rules wait in one job (production-approval); production's jobs hold the secrets, no rule
    approval = gh.environments["production-approval"]
    assert approval["reviewers"] == [{"type": "Team", "id": 5}]
    assert approval["prevent_self_review"] is True and approval["wait_timer"] == 5
    prod = gh.environments["production"]
    assert prod["reviewers"] == [] and prod["wait_timer"] == 0
    for env in (prod, approval):
        assert env["deployment_branch_policy"] == {
            "protected_branches": False,
            "custom_branch_policies": True,
        }
    # every deploy job runs on main (production's as a workflow_run): no other branch is admitted
    assert gh.branch_policies == {
        "staging": ["main"],
        "production": ["main"],
        "staging-approval": ["main"],
        "production-approval": ["main"],
    }
    ruleset = rulesets(gh)["foureyes: approved changes only"]
    rules = {r["type"]: r.get("parameters") for r in ruleset["rules"]}
    assert (
        rules["pull_request"]["require_code_owner_review"]
        and rules["pull_request"]["require_last_push_approval"]
    )
    assert rules["pull_request"]["dismiss_stale_reviews_on_push"]
    assert rules["pull_request"]["allowed_merge_methods"] == ["merge", "squash"]
    assert {"context": "foureyes/approval", "integration_id": 4242} in rules[
        "required_status_checks"
    ]["required_status_checks"]
    assert "non_fast_forward" in rules and "deletion" in rules
    assert ruleset["conditions"]["ref_name"]["include"] == [
        "~DEFAULT_BRANCH",
        "refs/heads/main",
        "refs/heads/release/*",
    ]

    writes = len(gh.writes)
    check = cli("protect", "--repo", "acme/models", "--check")
    assert check.exit_code == 0 and "no drift" in check.output
    again = cli("protect", "--repo", "acme/models")
    assert again.exit_code == 0 and "already protected" in again.output and len(gh.writes) == writes


def test_changing_one_setting_is_named_by_check(gh, cli):
    cli("protect", "--repo", "acme/models")
    gh.environments["production-approval"]["wait_timer"] = 0
    result = cli("protect", "--repo", "acme/models", "--check")
    assert result.exit_code == 1
    assert "environment production-approval: wait_timer is 0, should be 5" in result.output
    assert "1 setting(s) drifted" in result.output


def test_ruleset_drift_is_named_and_fixed(gh, cli):
    cli("protect", "--repo", "acme/models")
    rid = next(k for k, r in gh.rulesets.items() if r["name"] == "foureyes: approved changes only")
    gh.rulesets[rid]["bypass_actors"] = [
        {"actor_id": 1, "actor_type": "RepositoryRole", "bypass_mode": "always"}
    ]
    gh.rulesets[rid]["rules"][0]["parameters"]["require_code_owner_review"] = False
    check = cli("protect", "--repo", "acme/models", "--check")
    assert check.exit_code == 1
    assert "ruleset 'foureyes: approved changes only': has bypass actors" in check.output
    assert (
        "ruleset 'foureyes: approved changes only': pull_request.require_code_owner_review "
        "is False, "
        "should be True"
    ) in check.output
    assert cli("protect", "--repo", "acme/models").exit_code == 0
    assert cli("protect", "--repo", "acme/models", "--check").exit_code == 0


def test_settings_foureyes_does_not_manage_are_kept(gh, cli, repo):
    # staging's protection does not name reviewers: a reviewer someone set by hand must survive
    gh.environments["staging"] = {
        "wait_timer": 0,
        "prevent_self_review": False,
        "reviewers": [{"type": "User", "id": 77}],
        "deployment_branch_policy": None,
    }
    cli("protect", "--repo", "acme/models")
    assert gh.environments["staging"]["reviewers"] == [{"type": "User", "id": 77}]
    assert gh.environments["staging"]["deployment_branch_policy"]["custom_branch_policies"] is True


def test_unknown_reviewer_team_is_a_clear_error(gh, cli, repo):
    repo.replace("registry/environments.yaml", '"@acme/mlops-admins"', '"@acme/ghosts"')
    result = cli("protect", "--repo", "acme/models")
    assert result.exit_code == 2 and "404" in result.output and "Traceback" not in result.output


# --- item 5: release branches can be cut, by release managers only; main and release/* stay put
# ---------


def test_release_managers_can_cut_a_release_branch_and_nobody_else_can(gh, cli):
    assert cli("protect", "--repo", "acme/models").exit_code == 0
    # GitHub evaluates every active ruleset on the new ref: the status check must not block the
    # creation itself (no status exists yet), the creation rule must stop anyone who is not a
    # release manager
    assert gh.create_branch("release/2026-11", teams=(9,)) == []
    assert gh.create_branch("release/2026-11", teams=(5,), role="write") == [
        "Cannot create ref due to creations being restricted."
    ]
    assert gh.create_branch("release/2026-11", role="maintain") != []
    assert gh.create_branch("feature/x") == []  # other branches are not foureyes' business

    sets = rulesets(gh)
    release = sets["foureyes: release branches are cut by release managers"]
    assert release["conditions"]["ref_name"]["include"] == ["refs/heads/release/*"]
    assert release["rules"] == [{"type": "creation"}]
    assert release["bypass_actors"] == [
        {"actor_id": 9, "actor_type": "Team", "bypass_mode": "always"}
    ]
    # the approval ruleset has no bypass at all: a release manager cannot skip the approval
    approval = sets["foureyes: approved changes only"]
    assert approval["bypass_actors"] == []
    assert {"deletion", "non_fast_forward"} <= {r["type"] for r in approval["rules"]}
    assert {"refs/heads/main", "refs/heads/release/*"} <= set(
        approval["conditions"]["ref_name"]["include"]
    )


def test_without_release_managers_only_repository_admins_cut_release_branches(gh, cli, repo):
    repo.replace(
        "registry/environments.yaml", '      release_managers: ["@acme/release-managers"]\n', ""
    )
    assert cli("protect", "--repo", "acme/models").exit_code == 0
    assert gh.create_branch("release/1", role="admin") == []
    assert gh.create_branch("release/1", teams=(9,), role="maintain") != []


def test_a_ruleset_that_blocks_release_creation_is_drift(gh, cli):
    cli("protect", "--repo", "acme/models")
    rid = next(k for k, r in gh.rulesets.items() if r["name"] == "foureyes: approved changes only")
    checks = next(r for r in gh.rulesets[rid]["rules"] if r["type"] == "required_status_checks")
    checks["parameters"]["do_not_enforce_on_create"] = False
    rel = next(k for k, r in gh.rulesets.items() if r["name"].startswith("foureyes: release"))
    gh.rulesets[rel]["bypass_actors"].append(
        {"actor_id": 4, "actor_type": "RepositoryRole", "bypass_mode": "always"}
    )
    check = cli("protect", "--repo", "acme/models", "--check")
    assert check.exit_code == 1
    assert (
        "required_status_checks.do_not_enforce_on_create is False, should be True" in check.output
    )
    assert "release branches are cut by release managers': bypass actors are" in check.output
    assert cli("protect", "--repo", "acme/models").exit_code == 0
    assert (
        gh.create_branch("release/2", teams=(9,)) == []
        and gh.create_branch("release/2", role="write") != []
    )


# --- item 6: reviewers and wait timers need GitHub Enterprise on private repositories
# -----------------


@pytest.fixture
def private_gh(repo, monkeypatch, request):
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    plan, visible = request.param
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeRepoSettings(
            rsps,
            users={"hana-k": 77},
            teams={"acme/mlops-admins": 5, "acme/release-managers": 9},
            visibility="private",
            plan=plan,
            plan_visible=visible,
        )


UNAPPLIED = [
    "not applied: environment production-approval: required reviewers (@acme/mlops-admins) not "
    "applied: needs GitHub Enterprise for a private repository",
    "not applied: environment production-approval: prevent self-review not applied:",
    "not applied: environment production-approval: wait timer (5 min) not applied:",
]


@pytest.mark.parametrize(
    "private_gh",
    [("team", True), ("team", False)],
    indirect=True,
    ids=["plan shown", "plan hidden: GitHub's 422 tells"],
)
def test_a_private_repository_without_enterprise_names_what_it_could_not_apply(private_gh, cli):
    gh = private_gh
    result = cli("protect", "--repo", "acme/models")
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("not applied:")]
    assert len(lines) == 3 and all(any(line.startswith(u) for line in lines) for u in UNAPPLIED)
    assert "3 setting(s) could not be applied" in result.output
    # what the plan does offer is applied: the environments, their branches, both rulesets
    assert set(gh.environments) == {
        "staging",
        "production",
        "staging-approval",
        "production-approval",
    }
    assert gh.environments["production-approval"].get("reviewers") is None
    assert gh.branch_policies["production-approval"] == ["main"]
    assert len(gh.rulesets) == 2
    # and the check says the same, every time
    check = cli("protect", "--repo", "acme/models", "--check")
    assert check.exit_code == 1
    if gh.plan_visible:  # the same three lines, and nothing else differs
        assert [
            line for line in check.output.splitlines() if line.startswith("not applied:")
        ] == lines
        assert "no drift" in check.output
    else:  # a check writes nothing, so it cannot ask GitHub: it names the settings that differ
        assert "drift: environment production-approval: required reviewers differ" in check.output


@pytest.mark.parametrize("private_gh", [("enterprise", True), ("enterprise", False)], indirect=True)
def test_a_private_repository_on_enterprise_gets_everything(private_gh, cli):
    result = cli("protect", "--repo", "acme/models")
    assert result.exit_code == 0 and "not applied" not in result.output
    assert private_gh.environments["production-approval"]["reviewers"] == [
        {"type": "Team", "id": 5}
    ]


@pytest.mark.parametrize("private_gh", [("free", False)], indirect=True)
def test_a_private_repository_on_free_has_no_environments_and_says_so(private_gh, cli):
    result = cli("protect", "--repo", "acme/models")
    assert result.exit_code == 1
    assert "not applied: environment staging: not created: GitHub API returned 404" in result.output
    assert (
        "not applied: ruleset 'foureyes: approved changes only': GitHub API returned 403"
        in result.output
    )
    assert "Traceback" not in result.output and private_gh.rulesets == {}


def test_check_names_every_setting_that_lets_a_push_past_the_approval(gh, cli):
    """What would let a push reach the default branch (and rewrite the workflows the deploy runs)
    without the gate: a bypass actor, enforcement off (evaluate only reports), the pull request or
    status rule gone, or foureyes/approval settable by any integration (a PR branch's workflow token
    with statuses: write). And the production environment must admit the default branch, where its
    workflow_run deploy jobs run."""
    assert cli("protect", "--repo", "acme/models", "--app-id", "4242").exit_code == 0
    rid = next(k for k, r in gh.rulesets.items() if r["name"] == "foureyes: approved changes only")
    ruleset = gh.rulesets[rid]
    ruleset["enforcement"] = "evaluate"
    ruleset["bypass_actors"] = [
        {"actor_id": 5, "actor_type": "RepositoryRole", "bypass_mode": "always"}
    ]
    ruleset["rules"] = [r for r in ruleset["rules"] if r["type"] != "pull_request"]
    checks = next(r for r in ruleset["rules"] if r["type"] == "required_status_checks")[
        "parameters"
    ]
    checks["required_status_checks"] = [
        {"context": c["context"]} for c in checks["required_status_checks"]
    ]
    gh.branch_policies["production"] = ["release/*"]

    result = cli("protect", "--repo", "acme/models", "--check", "--app-id", "4242")

    assert result.exit_code == 1
    out = result.output
    assert "enforcement is 'evaluate', should be 'active'" in out
    assert "has bypass actors" in out
    assert "rule pull_request missing" in out
    assert "foureyes/approval (app 4242)" in out and "required_status_checks" in out
    assert "environment production: branch 'main' may not deploy" in out


def test_a_release_branch_s_own_workflow_gets_no_environment_secrets(gh, cli):
    """The attack: whoever may cut release/* gives the branch a workflow of its own that uses the
    production environment; with the reviewers on production-approval nothing would stop it
    reading production's secrets (the App key). Only the default branch may use an environment,
    and protect takes back a release branch an earlier setting admitted."""
    gh.environments["production"] = {
        "wait_timer": 0,
        "prevent_self_review": False,
        "reviewers": [],
        "deployment_branch_policy": {"protected_branches": False, "custom_branch_policies": True},
    }
    gh.branch_policies["production"] = ["release/*", "main"]
    check = cli("protect", "--repo", "acme/models", "--check")
    assert check.exit_code == 1
    assert "environment production: branch 'release/*' may deploy" in check.output
    applied = cli("protect", "--repo", "acme/models")
    assert applied.exit_code == 0, applied.output
    assert gh.branch_policies["production"] == ["main"]
    assert "DELETE branch policy production release/*" in gh.writes
    assert cli("protect", "--repo", "acme/models", "--check").exit_code == 0


def test_with_a_deploy_workflow_that_has_no_approve_job_the_rules_stay_on_the_environment(
    gh, cli, repo
):
    """An installation still on the deploy workflow without `approve`: moving the reviewers to
    production-approval would leave its deploys with nobody asked, so they stay on production."""
    path = ".github/workflows/foureyes-deploy.yml"
    text = repo.read(path)
    repo.write(
        path,
        text.replace("production-approval", "production").replace("staging-approval", "staging"),
    )
    result = cli("protect", "--repo", "acme/models")
    assert result.exit_code == 0, result.output
    assert "has no `approve` job" in result.output
    assert set(gh.environments) == {"staging", "production"}
    assert gh.environments["production"]["reviewers"] == [{"type": "Team", "id": 5}]
