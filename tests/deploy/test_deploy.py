"""`foureyes deploy` / `resolve` on real git repositories with a real SQLite record: reconciliation,
idempotency, recovery after a failing target, and the provenance re-check."""

import json
import sqlite3

from foureyes.deploy.record import SqliteRecord
from support.ledger import (
    CHURN,
    FRAUD,
    RECS,
    bump,
    command_target,
    first_release,
    merge_pr,
    promote,
    record_pr,
    run,
    served,
)
from support.pr_facts import TWO
from support.repos import DEP, MO_MERGES


def test_first_deploy_creates_everything_then_nothing_to_do(env_repo):
    result = run(env_repo)
    assert result.ok and [s.action for s in result.steps] == ["create"] * 4
    assert set(served(env_repo)) == {
        "fraud-scorer",
        "credit-limit",
        "churn-predictor",
        "product-recs",
    }
    assert served(env_repo)["fraud-scorer"]["approval"]["status"] == "bootstrap"
    again = run(env_repo)
    assert again.ok and again.steps == []


def test_environments_filter_what_is_deployed(env_repo):
    run(env_repo, "production")
    assert "product-recs" not in served(env_repo, "production")  # environments: [staging]


def test_approved_pr_is_deployed_with_its_approval_record(env_repo):
    run(env_repo)
    merge = merge_pr(env_repo, 42, bump("13"))
    result = run(env_repo)
    assert result.ok and [(s.name, s.action) for s in result.steps] == [
        ("fraud-scorer", "replace_model")
    ]
    approval = served(env_repo)["fraud-scorer"]["approval"]
    assert (
        approval["status"] == "approved"
        and approval["pr"] == 42
        and approval["approvers"] == ["alice", "bob"]
    )
    assert approval["commit"] == merge


def test_squash_merge_is_accepted(env_repo):
    run(env_repo)
    merge_pr(env_repo, 43, bump("14"), squash=True)
    assert run(env_repo).ok


def test_unapproved_change_to_the_environments_file_is_refused(env_repo):
    run(env_repo)
    env_repo.replace(
        "registry/environments.yaml", "path: .foureyes/serving/staging", "path: .foureyes/elsewhere"
    )
    env_repo.commit("retarget staging", "Eve Hurry <eve@acme.example>")
    result = run(env_repo)
    assert not result.ok and result.violations[0].subject == "retarget staging"


def test_approved_retarget_redeploys_everything_to_the_new_target(env_repo):
    run(env_repo)
    merge_pr(
        env_repo,
        51,
        lambda r: r.replace(
            "registry/environments.yaml",
            "path: .foureyes/serving/staging",
            "path: .foureyes/serving/staging-2",
        ),
    )
    result = run(env_repo)
    assert result.ok and len(result.steps) == 4
    assert len(list((env_repo.root / ".foureyes" / "serving" / "staging-2").glob("*.json"))) == 4


def test_direct_push_is_refused_and_recorded(env_repo):
    run(env_repo)
    env_repo.replace(FRAUD, 'version: "12"', 'version: "66"')
    bad = env_repo.commit("quick fix", "Eve Hurry <eve@acme.example>")
    result = run(env_repo)
    assert not result.ok and [v.commit for v in result.violations] == [bad]
    assert "no merged pull request" in result.violations[0].reason
    assert (
        served(env_repo)["fraud-scorer"]["deployment"]["model"]["version"] == "12"
    )  # nothing applied
    db = sqlite3.connect(env_repo.root / ".foureyes" / "record.sqlite")
    assert db.execute(
        "SELECT type, status FROM events WHERE type = 'provenance_violation'"
    ).fetchall() == [("provenance_violation", "failing")]


def test_merge_without_enough_approvals_is_refused(env_repo):
    run(env_repo)
    merge_pr(env_repo, 44, bump("15"), reviews=TWO[:1])  # critical needs 2
    result = run(env_repo)
    assert not result.ok and "merged without the approval" in result.violations[0].reason


def test_self_approved_merge_is_refused(env_repo):
    run(env_repo)
    merge_pr(
        env_repo,
        45,
        bump("16"),
        reviews=[{"user": "dana", "state": "APPROVED", "commit": "head"}, *TWO[:1]],
    )
    assert not run(env_repo).ok


def test_evil_merge_is_refused(env_repo):
    run(env_repo)
    merge_pr(
        env_repo,
        46,
        bump("17"),
        evil=lambda r: r.replace(RECS, "importance: low", "importance: moderate"),
    )
    result = run(env_repo)
    assert not result.ok and "differs from what PR #46 approved" in result.violations[0].reason


def test_an_unapproved_commit_hidden_behind_an_approved_one_is_refused(env_repo):
    run(env_repo)
    env_repo.replace(FRAUD, "auc: 0.91", "auc: 0.99")
    env_repo.commit("sneaky", "Eve Hurry <eve@acme.example>")
    merge_pr(env_repo, 47, bump("18"))
    result = run(env_repo)
    assert not result.ok and "sneaky" in result.violations[0].subject


def test_delete_removes_what_was_served(env_repo):
    run(env_repo)
    merge_pr(env_repo, 48, lambda r: r.rm(CHURN))
    result = run(env_repo)
    assert result.ok and [(s.name, s.action) for s in result.steps] == [
        ("churn-predictor", "delete")
    ]
    assert "churn-predictor" not in served(env_repo)


def test_dry_run_applies_nothing(env_repo):
    result = run(env_repo, dry_run=True)
    assert result.ok and len(result.steps) == 4 and served(env_repo) == {}


FLAKY = """\
import json, pathlib, sys
change = json.load(sys.stdin)
state = pathlib.Path(".foureyes/hook")
state.mkdir(parents=True, exist_ok=True)
if change["name"] == "credit-limit" and not (state / "recovered").exists():
    (state / "recovered").touch()
    sys.exit("registry unavailable")
(state / (change["name"] + ".json")).write_text(json.dumps(change))
print(json.dumps({"message": "applied " + change["action"]}))
"""


def test_failing_target_part_way_then_the_next_run_converges(env_repo):
    repo = env_repo
    command_target(repo, FLAKY)
    first = run(repo)
    assert not first.ok
    outcome = {s.name: s.ok for s in first.steps}
    assert outcome == {
        "churn-predictor": True,
        "credit-limit": False,
        "fraud-scorer": True,
        "product-recs": True,
    }
    record = SqliteRecord(repo.root / ".foureyes" / "record.sqlite")
    assert (
        record.entries("staging")["credit-limit"].status == "failure"
        and record.last_commit("staging") is None
    )
    record.close()
    second = run(repo)
    assert second.ok and [(s.name, s.action) for s in second.steps] == [("credit-limit", "update")]
    assert run(repo).steps == []
    hook = repo.root / ".foureyes" / "hook"
    assert {p.stem for p in hook.glob("*.json")} == {
        "churn-predictor",
        "credit-limit",
        "fraud-scorer",
        "product-recs",
    }
    change = json.loads((hook / "credit-limit.json").read_text())
    assert (
        change["approval"]["status"] == "bootstrap"
        and change["deployment"]["model"]["version"] == "7"
    )


def test_command_target_output_must_be_json(env_repo):
    command_target(env_repo, "print('not json')\n")
    result = run(env_repo)
    assert not result.ok and "not JSON" in result.steps[0].message


def test_invalid_registry_at_head_is_not_deployed(env_repo):
    env_repo.write(RECS, "name: [\n")
    env_repo.commit("broken")
    result = run(env_repo)
    assert not result.ok and result.problems and result.steps == []


# --- CLI
# -------------------------------------------------------------------------------------------


def test_cli_deploy_resolve_and_branch_guard(env_repo, cli):
    result = cli("deploy", "--env", "staging", "--format", "json")
    assert result.exit_code == 0 and json.loads(result.stdout)["ok"] is True
    resolved = cli("resolve", "fraud-scorer", "--env", "staging")
    assert resolved.exit_code == 0
    data = json.loads(resolved.stdout)
    assert data["model"]["version"] == "12" and data["approval"]["status"] == "bootstrap"
    assert cli("resolve", "nope", "--env", "staging").exit_code == 2  # unknown name: a usage error
    wrong = cli("deploy", "--env", "production")
    assert (
        wrong.exit_code == 2
        and "production deploys from 'release/*', and this is 'main'" in wrong.output
    )


def test_cli_refusal_exits_1_and_names_the_commit(env_repo, cli):
    cli("deploy", "--env", "staging")
    env_repo.replace(FRAUD, 'version: "12"', 'version: "66"')
    bad = env_repo.commit("quick fix", "Eve Hurry <eve@acme.example>")
    result = cli("deploy", "--env", "staging", "--format", "text")
    assert result.exit_code == 1 and f"refused: commit {bad[:12]} (quick fix)" in result.output


def test_cli_github_format_groups_and_summary(env_repo, cli, tmp_path, monkeypatch):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_REF_NAME", "main")
    result = cli(
        "deploy", "--env", "staging", "--format", "github", "--record", str(tmp_path / "r.sqlite")
    )
    assert result.exit_code == 0
    assert "::group::create fraud-scorer" in result.output and "::endgroup::" in result.output
    assert "| fraud-scorer | create |" in summary.read_text()


def test_matrix_fans_out_and_only_applies_one_without_moving_the_environment(
    env_repo, cli, tmp_path, monkeypatch
):
    outputs = tmp_path / "out.txt"
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    dry = cli("deploy", "--env", "staging", "--dry-run", "--format", "matrix")
    assert dry.exit_code == 0
    matrix = json.loads(dry.stdout)
    assert [m["deployment"] for m in matrix["include"]] == [
        "churn-predictor",
        "credit-limit",
        "fraud-scorer",
        "product-recs",
    ]
    assert "count=4" in outputs.read_text()
    assert cli("deploy", "--env", "staging", "--only", "fraud-scorer").exit_code == 0
    assert set(served(env_repo)) == {"fraud-scorer"}
    record = SqliteRecord(env_repo.root / ".foureyes" / "record.sqlite")
    assert record.last_commit("staging") is None  # only the converging run moves it
    record.close()
    rest = json.loads(cli("deploy", "--env", "staging", "--dry-run", "--format", "matrix").stdout)
    assert len(rest["include"]) == 3
    assert cli("deploy", "--env", "staging").exit_code == 0
    assert json.loads(
        cli("deploy", "--env", "staging", "--dry-run", "--format", "matrix").stdout
    ) == {"include": []}


def test_plan_matrix_lists_changed_deployments(env_repo, cli):
    env_repo.branch("pr")
    env_repo.replace(FRAUD, 'version: "12"', 'version: "13"')
    env_repo.rm(CHURN)
    env_repo.commit()
    result = cli("plan", "--base", "main", "--format", "matrix")
    assert json.loads(result.stdout) == {
        "include": [{"deployment": "churn-predictor"}, {"deployment": "fraud-scorer"}]
    }


# --- trust chain: attacks played end to end through the CLI ---------------------------------------


def test_deployment_in_a_subfolder_is_a_layout_error_not_a_deploy(env_repo, cli):
    """A direct push adding registry/deployments/extra/x.yaml used to deploy with no provenance
    check
    (provenance only looked at registry/deployments/<name>.yaml)."""
    assert cli("deploy", "--env", "staging").exit_code == 0
    text = env_repo.read(DEP.format("product-recs")).replace("name: product-recs", "name: sneaky")
    env_repo.write("registry/deployments/extra/sneaky.yaml", text)
    env_repo.commit("add a deployment where nobody looks", "Eve Hurry <eve@acme.example>")
    result = cli("deploy", "--env", "staging", "--format", "text")
    assert result.exit_code == 1 and "registry/deployments/extra/sneaky.yaml" in result.output
    assert "sneaky" not in served(env_repo)
    validated = cli("validate", "--format", "text")
    assert validated.exit_code == 1 and "registry/deployments/extra/sneaky.yaml" in validated.output


def test_registry_yml_and_stray_files_are_layout_errors(env_repo, cli):
    env_repo.write("registry/deployments/notes.txt", "hello\n")
    env_repo.commit("stray file", "Mo Admin <mo@acme.example>")
    result = cli("deploy", "--env", "staging", "--dry-run", "--format", "json")
    assert result.exit_code == 1
    assert [p["file"] for p in json.loads(result.stdout)["problems"]] == [
        "registry/deployments/notes.txt"
    ]


def delete_and_restore_policy(repo):
    """The bootstrap on demand: delete the policy, then restore it together with a model change."""
    policy = repo.read("policies/approval.yaml")
    repo.rm("policies/approval.yaml")
    repo.commit("drop the policy for a moment", "Eve Hurry <eve@acme.example>")
    repo.write("policies/approval.yaml", policy)
    repo.replace(FRAUD, 'version: "12"', 'version: "66"')
    return repo.commit("restore the policy, and fraud-scorer v66", "Eve Hurry <eve@acme.example>")


def test_bootstrap_cannot_be_retriggered_by_deleting_the_policy(env_repo, cli):
    assert cli("deploy", "--env", "staging").exit_code == 0
    bad = delete_and_restore_policy(env_repo)
    result = cli("deploy", "--env", "staging", "--format", "text")
    assert result.exit_code == 1 and f"refused: commit {bad[:12]}" in result.output
    assert served(env_repo)["fraud-scorer"]["deployment"]["model"]["version"] == "12"


def test_bootstrap_cannot_be_retriggered_on_a_new_release_branch(env_repo, cli):
    env_repo.branch("release/evil")
    bad = delete_and_restore_policy(env_repo)
    result = cli("deploy", "--env", "production", "--format", "text")
    assert result.exit_code == 1 and f"refused: commit {bad[:12]}" in result.output
    assert served(env_repo, "production") == {}


def test_an_orphan_release_branch_is_not_a_new_root_of_trust(env_repo, cli):
    env_repo.git("checkout", "-q", "--orphan", "release/orphan")
    env_repo.replace(FRAUD, 'version: "12"', 'version: "66"')
    env_repo.commit("a history of my own", "Eve Hurry <eve@acme.example>")
    result = cli("deploy", "--env", "production", "--format", "text")
    assert result.exit_code == 1 and "no merged pull request" in result.output
    assert served(env_repo, "production") == {}


def test_release_branch_deploys_what_a_promotion_pr_brought_in(env_repo, cli):
    merge_pr(env_repo, 60, bump("13"))
    first_release(env_repo)
    promote(env_repo, 61, "release/1")
    result = cli("deploy", "--env", "production", "--format", "json")
    assert result.exit_code == 0, result.output
    assert served(env_repo, "production")["fraud-scorer"]["deployment"]["model"]["version"] == "13"
    assert served(env_repo, "production")["fraud-scorer"]["approval"]["pr"] == 61


def test_a_release_branch_cut_at_main_serves_nothing(env_repo, cli):
    """Cutting release/1 at main's tip would serve #60's change in production with nobody approving
    its promotion."""
    merge_pr(env_repo, 60, bump("13"))
    env_repo.branch("release/1")
    result = cli("deploy", "--env", "production", "--format", "json")
    assert result.exit_code == 1 and served(env_repo, "production") == {}
    assert (
        "no approved PR into release/1 brought in"
        in json.loads(result.stdout)["violations"][0]["reason"]
    )


def test_a_promotion_needs_its_own_approvals(env_repo, cli):
    merge_pr(env_repo, 60, bump("13"))
    first_release(env_repo)
    promote(env_repo, 61, "release/1", reviews=TWO[:1])
    result = cli("deploy", "--env", "production", "--format", "json")
    assert result.exit_code == 1 and "1 of 2 approvals" in result.output
    assert served(env_repo, "production") == {}


def test_a_release_branch_moved_without_a_promotion_is_refused_forward_and_backward(env_repo, cli):
    merge_pr(env_repo, 60, bump("13"))
    first_release(env_repo)
    promote(env_repo, 61, "release/1")
    assert cli("deploy", "--env", "production").exit_code == 0
    old = env_repo.git("rev-parse", "main~1")  # before #60: fraud-scorer v12
    merge_pr(env_repo, 62, lambda r: r.replace(FRAUD, 'version: "13"', 'version: "14"'))
    env_repo.git("branch", "-f", "release/1", "main")  # a fast-forward push past the promotion
    env_repo.git("checkout", "-q", "release/1")
    forward = cli("deploy", "--env", "production", "--format", "json")
    assert forward.exit_code == 1 and "no approved PR into release/1" in forward.output
    env_repo.git("checkout", "-q", "-b", "release/2", old)  # a new branch cut at an old commit
    backward = cli("deploy", "--env", "production", "--format", "json")
    assert backward.exit_code == 1 and "no approved PR into release/2" in backward.output
    assert served(env_repo, "production")["fraud-scorer"]["deployment"]["model"]["version"] == "13"


# --- I: two approved PRs to one file, the second merged without updating its branch ---------------


def two_prs_from_one_base(repo, second_edit, evil=None):
    """PR #70 (description) and PR #71 (``second_edit``) both branch from main; #70 is merged,
    then #71 is merged without updating its branch, so its merge commit differs from its head."""
    base = repo.git("rev-parse", "main")
    merge_pr(
        repo, 70, lambda r: r.replace(FRAUD, "before authorisation.", "before authorisation (v2).")
    )
    repo.git("checkout", "-q", "-b", "pr-71", base)
    second_edit(repo)
    head = repo.commit("change for #71")
    repo.git("checkout", "-q", "main")
    repo.git(
        *MO_MERGES,
        "merge",
        "-q",
        "--no-ff",
        "--no-commit",
        "pr-71",
    )
    if evil:
        evil(repo)
    merge = repo.commit("Merge pull request #71", "Mo Admin <mo@acme.example>")
    record_pr(repo, 71, base, head, merge)
    return merge


def test_two_approved_prs_to_one_file_merged_without_update_deploy(env_repo, cli):
    assert cli("deploy", "--env", "staging").exit_code == 0
    two_prs_from_one_base(env_repo, lambda r: r.replace(FRAUD, "tier: realtime", "tier: batch"))
    result = cli("deploy", "--env", "staging", "--format", "json")
    assert result.exit_code == 0, result.output
    served_fraud = served(env_repo)["fraud-scorer"]
    assert served_fraud["deployment"]["labels"]["tier"] == "batch"
    assert (
        served_fraud["deployment"]["description"].endswith("(v2).")
        and served_fraud["approval"]["pr"] == 71
    )


def test_an_evil_edit_inside_a_clean_merge_is_still_refused(env_repo, cli):
    assert cli("deploy", "--env", "staging").exit_code == 0
    bad = two_prs_from_one_base(
        env_repo,
        lambda r: r.replace(FRAUD, "tier: realtime", "tier: batch"),
        evil=lambda r: r.replace(FRAUD, 'version: "12"', 'version: "66"'),
    )
    result = cli("deploy", "--env", "staging", "--format", "text")
    assert result.exit_code == 1 and f"refused: commit {bad[:12]}" in result.output
    assert "and from a clean merge of it into the branch" in result.output


def test_inventory_names_a_misplaced_deployment_file(env_repo, cli):
    env_repo.write("registry/deployments/extra/sneaky.yaml", env_repo.read(FRAUD))
    env_repo.commit("misplaced", "Mo Admin <mo@acme.example>")
    result = cli("inventory", "--format", "json")
    assert (
        result.exit_code == 2
        and "registry/deployments/extra/sneaky.yaml: not a deployment file" in result.output
    )


def test_a_merge_putting_back_the_forks_stale_version_of_another_deployment_is_refused(env_repo):
    """PR #7 forks main when fraud-scorer is v12 and changes only product-recs. Meanwhile #8 moves
    fraud-scorer to v13. The merge of #7 takes the PR head's copy of fraud-scorer (v12, "equal to
    what #7 approved"): a rollback nobody approved, which would be recorded under #7's approvers."""
    run(env_repo)
    fork = env_repo.git("rev-parse", "main")
    env_repo.git("checkout", "-q", "-b", "pr-7", fork)
    env_repo.replace(RECS, "importance: low", "importance: moderate")
    head = env_repo.commit("recs: moderate")
    env_repo.git("checkout", "-q", "main")
    merge_pr(env_repo, 8, bump("13"))
    assert (
        run(env_repo).ok
        and served(env_repo)["fraud-scorer"]["deployment"]["model"]["version"] == "13"
    )
    base = env_repo.git("rev-parse", "main")
    env_repo.git(
        *MO_MERGES,
        "merge",
        "-q",
        "--no-ff",
        "--no-commit",
        "pr-7",
    )
    env_repo.git(
        "checkout", head, "--", FRAUD
    )  # the fork's stale version, byte for byte the PR head's
    merge = env_repo.commit("Merge pull request #7", "Mo Admin <mo@acme.example>")
    record_pr(env_repo, 7, base, head, merge)
    result = run(env_repo)
    assert not result.ok and result.violations[0].commit == merge
    assert (
        FRAUD in result.violations[0].reason and "did not change it" in result.violations[0].reason
    )
    assert served(env_repo)["fraud-scorer"]["deployment"]["model"]["version"] == "13"


def test_a_merge_adding_a_gitlink_under_policies_is_refused(env_repo):
    """A submodule entry under policies/ is no file foureyes can judge: the merge is refused."""
    run(env_repo)

    def vendor(r):  # a repository inside the checkout: `git add` records it as a gitlink
        from support.repos import Repo

        inner = Repo(r.root / "policies" / "rules" / "vendored")
        inner.write("rule.yaml", "anything: true\n")
        inner.commit("vendored rules")

    merge_pr(env_repo, 48, bump("14"), evil=vendor)
    assert "160000" in env_repo.git("ls-tree", "HEAD", "policies/rules/vendored")
    result = run(env_repo)
    assert not result.ok and (result.problems or result.violations)
    said = " ".join([p.message for p in result.problems] + [v.reason for v in result.violations])
    assert "policies/rules/vendored" in said and "gitlink" in said


def test_a_promotion_is_judged_by_the_default_branch_policy_too(env_repo, cli):
    """release/1 lowers critical changes to one approval (itself approved by two admins). A
    promotion's head is a commit of main, so the default branch's policy must judge the promoted
    change too: planned from main itself it would be no change at all, and one approval would do."""
    merge_pr(env_repo, 60, bump("13"))
    first_release(env_repo)
    env_repo.git("checkout", "-q", "-b", "weaker", "release/1")
    env_repo.replace("policies/approval.yaml", "approvals: 2", "approvals: 1")
    env_repo.git(
        "-c",
        "user.name=Dana",
        "-c",
        "user.email=dana@acme.example",
        "commit",
        "-q",
        "-am",
        "release/1: one approval is enough",
    )  # tracked files only: this old tree ignores nothing
    head = env_repo.git("rev-parse", "HEAD")
    base = env_repo.git("rev-parse", "release/1")
    env_repo.git("checkout", "-q", "release/1")
    env_repo.merge_as_mo("weaker", "Merge pull request #59")
    record_pr(env_repo, 59, base, head, env_repo.git("rev-parse", "HEAD"), base_ref="release/1")
    promote(env_repo, 61, "release/1", reviews=TWO[:1])
    result = cli("deploy", "--env", "production", "--format", "json")
    assert result.exit_code == 1 and "1 of 2 approvals" in result.output, result.output
    assert served(env_repo, "production") == {}
