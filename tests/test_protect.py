"""`foureyes protect` against an in-memory GitHub whose requests and answers follow the OpenAPI
description: applying, idempotency, drift detection naming the setting, read-merge-write."""

import pytest
import responses

from ghapi.mockgithub import FakeRepoSettings


@pytest.fixture
def gh(repo, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeRepoSettings(rsps, users={"hana-k": 77}, teams={"acme/mlops-admins": 5})


def test_protect_then_check_reports_no_drift(gh, cli):
    result = cli("protect", "--repo", "acme/models", "--app-id", "4242")
    assert result.exit_code == 0, result.output
    assert set(gh.environments) == {"staging", "production"}
    prod = gh.environments["production"]
    assert prod["reviewers"] == [{"type": "Team", "id": 5}] and prod["prevent_self_review"] is True
    assert prod["wait_timer"] == 5
    assert prod["deployment_branch_policy"] == {"protected_branches": False, "custom_branch_policies": True}
    assert gh.branch_policies == {"staging": ["main"], "production": ["release/*"]}
    (ruleset,) = gh.rulesets.values()
    rules = {r["type"]: r.get("parameters") for r in ruleset["rules"]}
    assert rules["pull_request"]["require_code_owner_review"] and rules["pull_request"]["require_last_push_approval"]
    assert rules["pull_request"]["dismiss_stale_reviews_on_push"]
    assert rules["pull_request"]["allowed_merge_methods"] == ["merge", "squash"]
    assert {"context": "foureyes/approval", "integration_id": 4242} in rules["required_status_checks"]["required_status_checks"]
    assert "non_fast_forward" in rules and "deletion" in rules
    assert ruleset["conditions"]["ref_name"]["include"] == ["~DEFAULT_BRANCH", "refs/heads/main", "refs/heads/release/*"]

    writes = len(gh.writes)
    check = cli("protect", "--repo", "acme/models", "--check")
    assert check.exit_code == 0 and "no drift" in check.output
    again = cli("protect", "--repo", "acme/models")
    assert again.exit_code == 0 and "already protected" in again.output and len(gh.writes) == writes


def test_changing_one_setting_is_named_by_check(gh, cli):
    cli("protect", "--repo", "acme/models")
    gh.environments["production"]["wait_timer"] = 0
    result = cli("protect", "--repo", "acme/models", "--check")
    assert result.exit_code == 1
    assert "environment production: wait_timer is 0, should be 5" in result.output
    assert "1 setting(s) drifted" in result.output


def test_ruleset_drift_is_named_and_fixed(gh, cli):
    cli("protect", "--repo", "acme/models")
    (rid,) = gh.rulesets
    gh.rulesets[rid]["bypass_actors"] = [{"actor_id": 1, "actor_type": "RepositoryRole", "bypass_mode": "always"}]
    gh.rulesets[rid]["rules"][0]["parameters"]["require_code_owner_review"] = False
    check = cli("protect", "--repo", "acme/models", "--check")
    assert check.exit_code == 1
    assert "ruleset: has bypass actors" in check.output
    assert "ruleset: pull_request.require_code_owner_review is False, should be True" in check.output
    assert cli("protect", "--repo", "acme/models").exit_code == 0
    assert cli("protect", "--repo", "acme/models", "--check").exit_code == 0


def test_settings_foureyes_does_not_manage_are_kept(gh, cli, repo):
    # staging's protection does not name reviewers: a reviewer someone set by hand must survive
    gh.environments["staging"] = {"wait_timer": 0, "prevent_self_review": False,
                                  "reviewers": [{"type": "User", "id": 77}],
                                  "deployment_branch_policy": None}
    cli("protect", "--repo", "acme/models")
    assert gh.environments["staging"]["reviewers"] == [{"type": "User", "id": 77}]
    assert gh.environments["staging"]["deployment_branch_policy"]["custom_branch_policies"] is True


def test_unknown_reviewer_team_is_a_clear_error(gh, cli, repo):
    repo.replace("registry/environments.yaml", '"@acme/mlops-admins"', '"@acme/ghosts"')
    result = cli("protect", "--repo", "acme/models")
    assert result.exit_code == 2 and "404" in result.output and "Traceback" not in result.output
