"""Transition rules (policies/rules/*.yaml, CEL) on real git repositories through the CLI:
compile errors with file and line, what plan shows, deny, require (counted with the four-eyes
exclusions), evaluation errors failing closed, and a PR that cannot relax its own rules."""

import json

import pytest
import responses

from foureyes.judging.rules import parse_rule
from foureyes.registry.yamlload import LoadError
from support.pr_facts import approvals
from support.repos import DEP
from support.rules import S3, STORE, STORE_RULE, V13, change, with_rules, write_rules_facts

FRAUD = DEP.format("fraud-scorer")
AUC_RULE = "policies/rules/auc-no-drop.yaml"

AUC = """\
# yaml-language-server: $schema=../rules.schema.json
description: A critical model may not be replaced by a worse one.
match: {events: [replace_model], importance: [critical]}
expression: |
  !has(before.metrics.auc)
    || (has(after.metrics.auc) && after.metrics.auc >= before.metrics.auc - 0.01)
    || pr.labels.exists(l, l == "accept-regression")
message: AUC may not drop by more than 0.01
action: deny
"""


def gate(cli, repo, reviews, labels=(), body="Serve the new model."):
    path = repo.root.parent / "facts.yaml"
    write_rules_facts(path, reviews, labels=labels, body=body)
    result = cli("gate", "--local", str(path), "--base", "main", "--head", "pr", "--format", "json")
    data = json.loads(result.output) if result.output.startswith("{") else None
    return result.exit_code, data, result.output


WORSE = ("auc: 0.91", "auc: 0.85")
BETTER = ("auc: 0.91", "auc: 0.93")


# --- compiling: file and line -------------------------------------------------------------------


def test_a_syntax_error_in_a_block_expression_points_at_its_line_and_column_in_the_file():
    text = "match: {events: [replace_model]}\nexpression: |\n  has(before.metrics.auc) &&\n    after.metrics.auc >=* 1\nmessage: m\naction: deny\n"
    with pytest.raises(LoadError) as err:
        parse_rule(text.encode(), AUC_RULE)
    assert (err.value.line, err.value.col) == (4, 25)  # the `*`, in the YAML file
    assert "does not compile" in err.value.message and "Syntax error" in err.value.message


def test_a_syntax_error_in_a_plain_expression_is_on_the_key_line():
    with pytest.raises(LoadError) as err:
        parse_rule(b'message: m\naction: deny\nexpression: "after.importance == "\n', AUC_RULE)
    assert err.value.line == 3 and "does not compile" in str(err.value)


def test_an_unknown_variable_is_a_compile_error_but_macro_bindings_are_not():
    with pytest.raises(LoadError, match="unknown variable 'aftr'"):
        parse_rule(b"expression: aftr.importance == 'low'\nmessage: m\naction: deny\n", AUC_RULE)
    rule = parse_rule(
        b"expression: pr.labels.all(x, x != 'y')\nmessage: m\naction: deny\n", AUC_RULE
    )
    assert rule.uses_pr


def test_require_needs_its_approvers_and_deny_takes_none():
    with pytest.raises(LoadError, match="'require' is a required property"):
        parse_rule(b"expression: 'true'\nmessage: m\naction: require\n", AUC_RULE)
    with pytest.raises(LoadError):
        parse_rule(
            b"expression: 'true'\nmessage: m\naction: deny\nrequire: {approvals: 1, from: ['@x']}\n",
            AUC_RULE,
        )


def test_validate_reports_a_rule_that_does_not_compile_with_file_and_line(repo, cli):
    repo.write(
        AUC_RULE, AUC.replace("after.metrics.auc >= before", "after.metrics.auc >= >= before")
    )
    result = cli("validate")
    assert result.exit_code == 1
    assert f"{AUC_RULE}:6:" in result.output and "does not compile" in result.output
    repo.write(AUC_RULE, AUC)
    assert cli("validate").exit_code == 0
    assert cli("validate", AUC_RULE).exit_code == 0


# --- plan: which rules matched and why ----------------------------------------------------------


def test_plan_shows_which_rules_matched_and_why(repo, cli):
    with_rules(repo, (AUC_RULE, AUC), (STORE_RULE, STORE))
    change(repo, V13, WORSE, S3)
    data = json.loads(cli("plan", "--base", "main", "--head", "pr", "--format", "json").output)
    results = {r["rule"]: r for r in data["rules"]}
    assert results["auc-no-drop"]["result"] == "needs_pr"  # reads pr.labels: the gate decides
    assert results["same-store"]["result"] == "violated"
    assert results["same-store"]["requires"] == {
        "approvals": 1,
        "from": ["@acme/ml-platform-leads"],
    }
    text = cli("plan", "--base", "main", "--head", "pr").output
    assert (
        "rule same-store (fraud-scorer, replace_model): the model must come from the same store"
        in text
    )
    assert "requires 1 approval(s) from @acme/ml-platform-leads" in text
    markdown = cli("plan", "--base", "main", "--head", "pr", "--format", "markdown").output
    assert (
        "Transition rules" in markdown and "`same-store`" in markdown and "**violated**" in markdown
    )


def test_a_rule_applies_only_to_the_events_and_levels_it_matches(repo, cli):
    with_rules(repo, (AUC_RULE, AUC.replace("importance: [critical]", "importance: [low]")))
    change(repo, V13, WORSE)
    data = json.loads(cli("plan", "--base", "main", "--head", "pr", "--format", "json").output)
    assert data["rules"] == []


def test_a_downgrade_is_matched_at_its_old_level(repo, cli):
    rule = (
        "match: {events: [change_importance], importance: [critical]}\n"
        "expression: pr.body.contains('Downgrade:')\nmessage: a downgrade needs a Downgrade line\naction: deny\n"
    )
    with_rules(repo, ("policies/rules/downgrade-reason.yaml", rule))
    change(repo, ("importance: critical", "importance: low"), message="fraud-scorer is low now")
    code, data, _ = gate(cli, repo, approvals("alice", "bob"), body="Less traffic now.")
    assert code == 1 and data["decision"] == "blocked"
    assert (
        data["blocking"][0]["detail"]
        == "rule downgrade-reason: a downgrade needs a Downgrade line (fraud-scorer)"
    )
    code, data, _ = gate(
        cli, repo, approvals("alice", "bob"), body="Downgrade: traffic moved to v2."
    )
    assert code == 0 and data["decision"] == "approved"


def test_a_rule_matching_update_still_matches_an_environments_edit(repo, cli):
    """A rule written before `change_environments` was split out of `update` keeps applying to it."""
    rule = (
        "match: {events: [update]}\n"
        "expression: pr.body.contains('Rollout:')\nmessage: say how it rolls out\naction: deny\n"
    )
    with_rules(repo, ("policies/rules/rollout-plan.yaml", rule))
    change(repo, ("environments: [staging, production]", "environments: [staging]"))
    code, data, _ = gate(cli, repo, approvals("alice", "bob"), body="Production only.")
    assert code == 1 and data["decision"] == "blocked"
    assert data["blocking"][0]["detail"] == "rule rollout-plan: say how it rolls out (fraud-scorer)"
    code, data, _ = gate(cli, repo, approvals("alice", "bob"), body="Rollout: staging only.")
    assert code == 0 and data["decision"] == "approved"


@pytest.mark.parametrize(
    "expression",
    [
        # the attack: a rule written before `change_environments` existed tests `event.type`;
        # had the type become the new name, an environments edit would slip past it
        "event.type != 'update' || pr.body.contains('Rollout:')",
        # a rule written since names the finer type through `event.types`
        "\"!('change_environments' in event.types) || pr.body.contains('Rollout:')\"",
    ],
    ids=["type-as-rules-before-the-split-read-it", "types-naming-the-finer-event"],
)
def test_a_rule_expression_sees_an_environments_edit(repo, cli, expression):
    rule = f"expression: {expression}\nmessage: say how it rolls out\naction: deny\n"
    with_rules(repo, ("policies/rules/rollout-plan.yaml", rule))
    change(repo, ("environments: [staging, production]", "environments: [staging]"))
    code, data, _ = gate(cli, repo, approvals("alice", "bob"), body="Production only.")
    assert code == 1 and data["decision"] == "blocked"
    code, data, _ = gate(cli, repo, approvals("alice", "bob"), body="Rollout: staging first.")
    assert code == 0 and data["decision"] == "approved"


# --- deny ---------------------------------------------------------------------------------------


def test_a_deny_rule_blocks_a_worse_model_and_lets_a_better_one_through(repo, cli):
    with_rules(repo, (AUC_RULE, AUC))
    change(repo, V13, WORSE)
    code, data, _ = gate(cli, repo, approvals("alice", "bob"))
    assert code == 1 and data["decision"] == "blocked"
    assert data["blocking"] == [
        {
            "reason": "rule",
            "detail": "rule auc-no-drop: AUC may not drop by more than 0.01 (fraud-scorer)",
        }
    ]
    assert data["rules"][0]["result"] == "violated"
    code, data, _ = gate(
        cli, repo, approvals("alice", "bob"), labels=["accept-regression"]
    )  # the rule's own escape
    assert code == 0 and data["rules"][0]["result"] == "holds"


def test_an_honest_better_model_passes_the_rule(repo, cli):
    with_rules(repo, (AUC_RULE, AUC))
    change(repo, V13, BETTER)
    code, data, _ = gate(cli, repo, approvals("alice", "bob"))
    assert code == 0 and data["decision"] == "approved" and data["rules"][0]["result"] == "holds"


def test_a_pr_cannot_relax_the_rule_that_judges_it(repo, cli):
    """The attack: lower the AUC and, in the same PR, delete (or weaken) the rule. The base's rule
    still judges the PR; the head's rule files are only data."""
    with_rules(repo, (AUC_RULE, AUC))
    repo.write(AUC_RULE, AUC.replace("action: deny", "action: deny\n").replace("- 0.01", "- 1.0"))
    change(repo, V13, WORSE, message="v13, and a rule that fits it")
    code, data, _ = gate(cli, repo, approvals("alice", "bob"))
    assert code == 1 and data["blocking"][0]["reason"] == "rule"
    repo.rm(AUC_RULE)
    repo.commit("no rule at all")
    code, data, _ = gate(cli, repo, approvals("alice", "bob", commit="head"))
    assert code == 1 and any(b["reason"] == "rule" for b in data["blocking"])


def test_a_pr_adding_a_rule_that_does_not_compile_is_blocked_before_it_can_break_main(repo, cli):
    repo.branch("pr")
    repo.write(
        AUC_RULE, AUC.replace("after.metrics.auc >= before", "after.metrics.auc >= >= before")
    )
    repo.commit("a new rule")
    code, data, _ = gate(cli, repo, approvals("alice", "bob"))
    assert code == 1 and data["decision"] == "blocked"
    assert (
        data["blocking"][0]["reason"] == "invalid_file"
        and f"{AUC_RULE}:6:" in data["blocking"][0]["detail"]
    )


# --- errors fail closed -------------------------------------------------------------------------


def test_a_rule_that_fails_at_evaluation_is_an_error_never_approved(repo, cli):
    rule = "match: {events: [replace_model]}\nexpression: after.metrics.recall > 0.5\nmessage: recall\naction: deny\n"
    with_rules(repo, ("policies/rules/recall.yaml", rule))
    change(repo, V13)
    code, data, output = gate(cli, repo, approvals("alice", "bob"))
    assert code == 2 and data["decision"] == "error"
    assert data["blocking"][0]["reason"] == "rule_error"
    assert (
        "rule recall (policies/rules/recall.yaml) cannot be evaluated for fraud-scorer"
        in data["description"]
    )
    assert "has(" in data["blocking"][0]["detail"]  # the hint: guard optional fields
    assert "Traceback" not in output


def test_a_rule_giving_no_boolean_is_an_error(repo, cli):
    with_rules(
        repo,
        ("policies/rules/number.yaml", "expression: after.metrics.auc\nmessage: m\naction: deny\n"),
    )
    change(repo, V13)
    code, data, _ = gate(cli, repo, approvals("alice", "bob"))
    assert code == 2 and "not true or false" in data["blocking"][0]["detail"]


def test_integer_metrics_compare_with_doubles(repo, cli):
    with_rules(repo, (AUC_RULE, AUC))
    change(repo, V13, ("auc: 0.91", "auc: 1"))
    code, data, _ = gate(cli, repo, approvals("alice", "bob"))
    assert code == 0 and data["rules"][0]["result"] == "holds"


def test_a_broken_rule_at_base_is_a_configuration_error(repo, cli):
    repo.write(AUC_RULE, "expression: 'after.importance =='\nmessage: m\naction: deny\n")
    repo.commit("broken rule", "Mo Admin <mo@acme.example>")
    repo.branch("pr")
    change(repo, V13)
    code, data, _output = gate(cli, repo, approvals("alice", "bob"))
    assert code == 2 and data["decision"] == "error" and AUC_RULE in data["description"]
    result = cli("plan", "--base", "main", "--head", "pr")
    assert (
        result.exit_code == 2
        and f"{AUC_RULE}:1:" in result.output
        and "Traceback" not in result.output
    )


# --- require: extra approvals, counted with the four-eyes exclusions -----------------------------


def test_a_require_rule_adds_approvals_from_its_people(repo, cli):
    with_rules(repo, (STORE_RULE, STORE))
    change(repo, V13, S3)
    code, data, _ = gate(cli, repo, approvals("alice", "bob"))
    assert code == 1 and data["decision"] == "pending"
    assert data["requirements"] == [
        {
            "rule": "same-store",
            "message": "the model must come from the same store as before",
            "approvals": 1,
            "from": ["@acme/ml-platform-leads"],
            "counted": [],
            "met": False,
        }
    ]
    assert "rule same-store: 0 of 1 from @acme/ml-platform-leads" in data["description"]
    code, data, _ = gate(cli, repo, approvals("alice", "bob", "lena"))
    assert (
        code == 0
        and data["decision"] == "approved"
        and data["requirements"][0]["counted"] == ["lena"]
    )


@pytest.mark.parametrize(
    "reviews",
    [
        approvals("alice", "bob", "dana"),  # the author is a platform lead: still the author
        approvals("alice", "bob", "renovate[bot]"),  # a bot in the team
        approvals("alice", "bob") + approvals("lena", commit="head~1"),  # approved an earlier head
        approvals("alice", "bob", "mo"),  # not a platform lead
    ],
)
def test_a_require_rule_counts_with_the_four_eyes_exclusions(repo, cli, reviews):
    with_rules(repo, (STORE_RULE, STORE))
    change(repo, V13, S3)
    repo.write("README.md", "touch\n")
    repo.commit("second commit")
    code, data, _ = gate(cli, repo, reviews)
    assert code == 1 and data["decision"] == "pending" and data["requirements"][0]["counted"] == []


def test_a_rule_approver_who_committed_to_the_pr_does_not_count(repo, cli):
    with_rules(repo, (STORE_RULE, STORE))
    change(repo, V13, S3)
    repo.replace(FRAUD, "auc: 0.91", "auc: 0.92")
    repo.commit("tweak", "Lena Lead <lena@acme.example>")
    code, data, _ = gate(cli, repo, approvals("alice", "bob", "lena"))
    assert code == 1 and data["requirements"][0]["counted"] == []
    assert {"login": "lena", "reason": "contributor"}.items() <= next(
        i for i in data["ignored"] if i["login"] == "lena"
    ).items()


def test_a_rule_approver_requesting_changes_blocks(repo, cli):
    with_rules(repo, (STORE_RULE, STORE))
    change(repo, V13, S3)
    code, data, _ = gate(
        cli,
        repo,
        [
            *approvals("alice", "bob"),
            {"user": "lena", "state": "CHANGES_REQUESTED", "commit": "head"},
        ],
    )
    assert code == 1 and data["decision"] == "blocked" and "lena" in data["blocking"][0]["detail"]


def test_the_gate_comment_says_what_a_rule_requires(repo, cli):
    with_rules(repo, (STORE_RULE, STORE))
    change(repo, V13, S3)
    path = repo.root.parent / "facts.yaml"
    write_rules_facts(path, approvals("alice"), body="v13")
    out = cli(
        "gate", "--local", str(path), "--base", "main", "--head", "pr", "--format", "markdown"
    ).output
    assert "### Required by rules" in out
    assert (
        "- `same-store` (the model must come from the same store as before): 1 approval(s) from "
        "@&#8203;acme/ml-platform-leads, missing 1; counted: none yet" in out
    )  # the comment names the team without mentioning it: reviews are requested, not pinged
    text = cli("gate", "--local", str(path), "--base", "main", "--head", "pr").output
    assert "rule same-store requires 1 approval(s) from @acme/ml-platform-leads: missing" in text


# --- on GitHub: the same code path, the rule's team read like the approvers' ----------------------


def test_on_github_a_require_rules_team_is_read_and_counted(repo, tmp_path, monkeypatch, cli):
    from ghapi.mockgithub import HERE, MockGitHub, user

    with_rules(repo, (STORE_RULE, STORE))
    base = repo.git("rev-parse", "main")
    head = change(repo, V13, S3).git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "main")
    event = json.loads((HERE / "webhook-pull_request.json").read_text())["examples"][0]
    event["pull_request"].update(number=7)
    event["pull_request"]["base"]["sha"], event["pull_request"]["head"]["sha"] = base, head
    (tmp_path / "event.json").write_text(json.dumps(event))
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(tmp_path / "event.json"))
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/models")
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_test")
    monkeypatch.delenv("GITHUB_API_URL", raising=False)
    dana, alice, bob, lena = (
        user("dana", 104),
        user("alice", 201),
        user("bob", 202),
        user("lena", 300),
    )
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        gh = MockGitHub(rsps)
        gh.pull(dana, base, head, body="v13 from the new store")
        gh.commits({"sha": head, "author": dana, "email": "dana@acme.example"})
        gh.reviews(
            *[{"user": u, "state": "APPROVED", "commit_id": head} for u in (alice, bob, lena)]
        )
        gh.team("acme/mlops-admins", alice, bob)
        gh.team("acme/ml-platform-leads", lena)
        gh.existing_comments()
        gh.accept_writes()
        result = cli("gate", "--format", "json")
    data = json.loads(result.stdout)
    assert result.exit_code == 0 and data["decision"] == "approved", result.output
    assert data["requirements"][0]["counted"] == ["lena"]
    assert (
        "### Required by rules" in gh.comments[0]["body"]
        and "`same-store`" in gh.comments[0]["body"]
    )


def test_the_teams_to_read_are_the_same_before_and_after_planning(repo):
    """The gate reads teams from the judging commits before it plans, the deploy from its plans:
    both must name the same teams (reading.teams_to_read and judgment.teams_of_plans)."""
    from foureyes.judging import judgment, reading

    with_rules(repo, (STORE_RULE, STORE))
    change(repo, V13, S3)
    base, head = repo.git("rev-parse", "main"), repo.git("rev-parse", "HEAD")
    plans = reading.case_for(repo.session, [base], head).plans
    assert reading.teams_to_read(repo.session, [base]) == judgment.teams_of_plans(plans)
    assert "acme/ml-platform-leads" in judgment.teams_of_plans(plans)
