"""A day as a new user: each surprise a new user met, played at the CLI on a real git
repository, with the behaviour they should have met instead."""

import json

import pytest

from support.ledger import MERGED_AT, merge_pr
from support.pr_facts import TWO, write_pr_facts
from support.repos import DEP

FRAUD, RECS, CHURN, CREDIT = (
    DEP.format(n) for n in ("fraud-scorer", "product-recs", "churn-predictor", "credit-limit")
)

ACTION_REF = "0123456789abcdef0123456789abcdef01234567"  # init pins the action to a commit


@pytest.fixture
def env_repo(repo, monkeypatch):
    monkeypatch.delenv("FOUREYES_SLACK_WEBHOOK_URL", raising=False)
    repo.write(".gitignore", ".foureyes/\n")
    repo.commit("ignore local state", "Mo Admin <mo@acme.example>")
    return repo


def events(cli, *args):
    result = cli("events", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# --- 2: a dry run changes nothing, the event log included ----------------------------------------


def test_dry_run_writes_no_event_and_sends_no_notification(env_repo, cli):
    assert cli("deploy", "--env", "staging").exit_code == 0
    before = events(cli)
    env_repo.replace(FRAUD, 'version: "12"', 'version: "13"')
    env_repo.commit("direct push", "Eve Hurry <eve@acme.example>")
    result = cli("deploy", "--env", "staging", "--dry-run")
    assert result.exit_code == 1 and "refused: commit" in result.stdout
    assert events(cli) == before  # no provenance_violation logged by a dry run
    assert "FOUREYES_SLACK_WEBHOOK_URL" not in result.stderr  # nothing to notify: no warning either
    real = cli("deploy", "--env", "staging")
    assert real.exit_code == 1
    assert [e["type"] for e in events(cli)].count("provenance_violation") == 1


def test_a_dry_run_creates_no_record(env_repo, cli):
    record = env_repo.root / ".foureyes" / "record.sqlite"
    assert not record.exists()
    result = cli("deploy", "--env", "staging", "--dry-run")
    assert result.exit_code == 0 and "dry run" in result.stdout
    assert not record.exists()  # a dry run changes nothing, not even by creating an empty record


def test_dry_run_then_approved_deploy_leaves_no_stale_violation(env_repo, cli):
    assert cli("deploy", "--env", "staging").exit_code == 0
    merge_pr(env_repo, 42, lambda r: r.replace(FRAUD, 'version: "12"', 'version: "13"'))
    # the PR file is written after the merge; a dry run before it found no PR for the commits
    pr_file = env_repo.root / ".foureyes" / "prs" / "42.yaml"
    saved = pr_file.read_text()
    pr_file.unlink()
    assert cli("deploy", "--env", "staging", "--dry-run").exit_code == 1
    pr_file.write_text(saved)
    assert cli("deploy", "--env", "staging").exit_code == 0
    assert not [e for e in events(cli) if e["type"] == "provenance_violation"]


# --- 1: offline PR files: the number comes from the file name, or is checked
# ------------------------


def _without_number(path):
    path.write_text(
        "".join(
            line for line in path.read_text().splitlines(True) if not line.startswith("number:")
        )
    )


def open_pr(repo, number, rel, old, new, name=None):
    base = repo.git("rev-parse", "main")
    repo.git("checkout", "-q", "-b", f"open-{number}", "main")
    repo.replace(rel, old, new)
    head = repo.commit(f"open #{number}")
    repo.git("checkout", "-q", "main")
    path = repo.root / ".foureyes" / "prs" / (name or f"{number}.yaml")
    write_pr_facts(path, base=base, head=head, merged_at=MERGED_AT)  # no number, no merge commit
    return path


def test_pr_number_comes_from_the_file_name(env_repo, cli):
    assert cli("deploy", "--env", "staging").exit_code == 0
    merge_pr(env_repo, 42, lambda r: r.replace(FRAUD, 'version: "12"', 'version: "13"'))
    _without_number(env_repo.root / ".foureyes" / "prs" / "42.yaml")
    assert cli("deploy", "--env", "staging").exit_code == 0
    resolved = json.loads(cli("resolve", "fraud-scorer", "--env", "staging").stdout)
    assert resolved["approval"]["pr"] == 42
    history = cli("history", "fraud-scorer").stdout
    assert "approved by alice, bob in PR #42" in history
    open_pr(env_repo, 50, CREDIT, 'version: "7"', 'version: "8"')
    open_pr(env_repo, 51, CHURN, "importance: moderate", "importance: low")
    rows = {r["name"]: r for r in json.loads(cli("inventory", "--format", "json").stdout)}
    assert (rows["credit-limit"]["status"], rows["credit-limit"]["prs"]) == ("Needs approval", [50])
    assert (rows["churn-predictor"]["status"], rows["churn-predictor"]["prs"]) == (
        "Needs approval",
        [51],
    )
    assert rows["fraud-scorer"]["status"] == "Approved"


def test_pr_file_without_a_number_anywhere_is_a_clear_error(env_repo, cli):
    open_pr(env_repo, 50, CREDIT, 'version: "7"', 'version: "8"', name="credit-v8.yaml")
    result = cli("inventory")
    assert result.exit_code == 2 and "credit-v8.yaml: which PR is this?" in result.stderr
    assert "Traceback" not in result.output


def test_pr_number_field_must_agree_with_the_file_name(env_repo, cli):
    path = open_pr(env_repo, 50, CREDIT, 'version: "7"', 'version: "8"')
    path.write_text("number: 51\n" + path.read_text())
    result = cli("inventory")
    assert (
        result.exit_code == 2
        and "number: 51 differs from the file name, which says PR #50" in result.stderr
    )


# --- 7: no doubled prefixes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "facts, line",
    [
        (
            'author: dana\nbody: ""\naccounts: {dana: {id: 104, emails: [dana@acme.example]}}\n',
            "decision: blocked: the PR description must explain the change",
        ),
        (
            "author: dana\nbody: why\naccounts: {dana: {id: 104}}\nreviews: [{user: zed, "
            "state: APPROVED}]\n",
            "decision: error: ",
        ),
    ],
)
def test_decision_and_event_log_say_each_state_once(repo, cli, tmp_path, facts, line):
    repo.branch("pr")
    repo.replace(RECS, "team: shop", "team: web")
    repo.commit()
    path = tmp_path / "facts.yaml"
    path.write_text(facts)
    result = cli("gate", "--local", str(path), "--base", "main", "--format", "text")
    assert line in result.stdout
    for doubled in ("blocked: blocked:", "error: error:", "no_reason: no_reason:"):
        assert doubled not in result.output
    logged = events(cli, "--type", "gate")[0]["message"]
    assert "blocked: blocked:" not in logged and "error: error:" not in logged
    markdown = cli("gate", "--local", str(path), "--base", "main", "--format", "markdown").stdout
    assert "blocked: blocked:" not in markdown and "error: error:" not in markdown


# --- 4: environments and their targets are validated; configuration errors are never "internal" ---

ENVS = "registry/environments.yaml"


@pytest.mark.parametrize(
    "old, new, line, message",
    [
        (
            "type: local",
            "type: locl",
            8,
            "environment 'staging': target.type: unknown deploy target type 'locl' "
            "(installed: command, kubernetes, "
            "local, mlflow); did you mean 'local'?",
        ),
        (
            "path: .foureyes/serving/staging",
            "pth: .foureyes/serving/staging",
            9,
            "environment 'staging': target.pth: unknown field 'pth'; did you mean 'path'?",
        ),
        (
            "path: .foureyes/serving/staging",
            "path: [a, b]",
            9,
            "environment 'staging': target.path: ",
        ),
    ],
)
def test_a_typo_in_a_target_fails_validate_and_deploy_says_why(
    env_repo, cli, old, new, line, message
):
    env_repo.replace(ENVS, old, new)
    result = cli("validate", "--format", "json")
    assert result.exit_code == 1
    problems = json.loads(result.stdout)["problems"]
    assert [(p["file"], p["line"]) for p in problems] == [(ENVS, line)] and problems[0][
        "message"
    ].startswith(message)
    env_repo.commit("typo", "Mo Admin <mo@acme.example>")
    deployed = cli("deploy", "--env", "staging")
    assert deployed.exit_code == 2 and "internal error" not in deployed.stderr
    assert f"foureyes: error: {ENVS}: {message}" in deployed.stderr
    assert (
        cli("deploy", "--env", "staging", "--dry-run").exit_code == 2
    )  # found before anything else
    assert not (env_repo.root / ".foureyes" / "serving").exists()


# --- 5: outside a repository, or without a registry, say what is missing
# ----------------------------


def test_validate_and_inventory_outside_a_repository(tmp_path, cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for command in ("validate", "inventory", "plan --base main", "history x"):
        result = cli(*command.split())
        assert result.exit_code == 2, command
        assert (
            "is not inside a git repository" in result.stderr
            and "unknown git revision" not in result.output
        )


def test_validate_in_a_repository_without_a_registry(tmp_path, cli, monkeypatch):
    from support.repos import Repo

    r = Repo(tmp_path / "empty")
    monkeypatch.chdir(r.root)
    result = cli("validate")
    assert result.exit_code == 2 and "ok:" not in result.output
    assert "no registry in" in result.stderr and "foureyes init" in result.stderr
    result = cli("inventory")
    assert result.exit_code == 2 and "the repository has no commits yet" in result.stderr


# --- 6: unknown names are errors with a suggestion ------------------------------------------------


@pytest.mark.parametrize(
    "args, message",
    [
        (
            "deploy --env staging --only frad-scorer",
            "no deployment 'frad-scorer' in staging; did you mean 'fraud-scorer'?",
        ),
        (
            "deploy --env stagin",
            "no environment 'stagin' in registry/environments.yaml; did you mean 'staging'?",
        ),
        (
            "history frad-scorer",
            "no deployment 'frad-scorer' in registry/deployments; did you mean 'fraud-scorer'?",
        ),
        (
            "history --env prod --at 1d",
            "no environment 'prod' in registry/environments.yaml; did you mean 'production'?",
        ),
        ("events --type deplo", "no event type 'deplo'; did you mean 'deploy'?"),
        (
            "events --type bogus",
            "no event type 'bogus' (known: break_glass, deploy, freeze, gate, notification, "
            "provenance_violation, record_ignored, timeout)",
        ),
        (
            "resolve fraud-scorer --env prod",
            "no environment 'prod' in registry/environments.yaml; did you mean 'production'?",
        ),
        (
            "resolve frad-scorer --env staging",
            "no deployment 'frad-scorer' in registry/deployments; did you mean 'fraud-scorer'?",
        ),
    ],
)
def test_unknown_names_exit_2_with_the_closest_name(env_repo, cli, args, message):
    assert cli("deploy", "--env", "staging").exit_code == 0
    result = cli(*args.split())
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == f"foureyes: error: {message}"


def test_a_deleted_deployment_still_has_a_history(env_repo, cli):
    env_repo.rm(RECS)
    env_repo.commit("retire product-recs", "Mo Admin <mo@acme.example>")
    result = cli("history", "product-recs")
    assert result.exit_code == 0 and "delete" in result.stdout


# --- 8: every changed field, before -> after, in every format -------------------------------------


def test_plan_describes_every_changed_field_in_every_format(repo, cli):
    repo.branch("change")
    repo.replace(FRAUD, "auc: 0.91", "auc: 0.93")
    repo.replace("policies/approval.yaml", "require_reason: true", "require_reason: false")
    repo.commit()
    text = cli("plan", "--base", "main", "--format", "text").stdout
    assert "metrics.auc 0.91 -> 0.93" in text
    assert "policy at base" not in text
    assert "governance        policies/approval.yaml       require_reason true -> false" in text
    markdown = cli("plan", "--base", "main", "--format", "markdown").stdout
    assert "| `fraud-scorer` | update | metrics.auc: 0.91 | metrics.auc: 0.93 |" in markdown
    assert "policy at base" not in markdown
    assert (
        "| `policies/approval.yaml` | governance | require_reason: true | require_reason: false |"
        in markdown
    )
    events = json.loads(cli("plan", "--base", "main", "--format", "json").stdout)["events"]
    update = next(e for e in events if e["type"] == "update")
    assert update["changes"] == {"metrics.auc": {"before": 0.91, "after": 0.93}}


def test_deploy_shows_what_an_update_changes(env_repo, cli):
    assert cli("deploy", "--env", "staging").exit_code == 0
    merge_pr(
        env_repo,
        42,
        lambda r: r.replace(CHURN, "importance: moderate", "importance: low"),
        reviews=TWO[:1],
    )
    text = cli("deploy", "--env", "staging", "--dry-run", "--format", "text").stdout
    assert "churn-predictor          update         importance moderate -> low  [dry run]" in text
    assert "churn-logreg v31 -> churn-logreg v31" not in text
    markdown = cli("deploy", "--env", "staging", "--dry-run", "--format", "markdown").stdout
    assert (
        "| `churn-predictor` | update | importance: moderate | importance: low |" in markdown
        or "| churn-predictor | update | importance: moderate | importance: low |" in markdown
    )
    steps = json.loads(cli("deploy", "--env", "staging", "--format", "json").stdout)["steps"]
    assert steps[0]["changes"] == {"importance": {"before": "moderate", "after": "low"}}


# --- 12: init run again never re-creates what the user deleted
# -------------------------------------


def test_init_again_leaves_deleted_files_deleted(tmp_path, cli, monkeypatch):
    from support.repos import Repo

    repo = Repo(tmp_path / "fresh")
    monkeypatch.chdir(repo.root)
    assert cli("init", "--action-ref", ACTION_REF).exit_code == 0
    repo.commit("foureyes init", "Mo Admin <mo@acme.example>")
    repo.write(
        DEP.format("churn"),
        (repo.root / DEP.format("example-model")).read_text().replace("example-model", "churn"),
    )
    repo.rm(DEP.format("example-model"))
    repo.rm(".github/workflows/foureyes-deploy.yml")
    repo.commit("our own deployment; no deploy workflow", "Mo Admin <mo@acme.example>")
    again = cli("init", "--action-ref", ACTION_REF)
    assert again.exit_code == 0
    assert not (repo.root / DEP.format("example-model")).exists()
    assert not (repo.root / ".github/workflows/foureyes-deploy.yml").exists()
    assert "left out registry/deployments/example-model.yaml" in again.stdout
    assert (
        "left out .github/workflows/foureyes-deploy.yml (it was deleted from the repository"
        in again.stdout
    )
    assert cli("init", "--force", "--action-ref", ACTION_REF).exit_code == 0
    assert (repo.root / ".github/workflows/foureyes-deploy.yml").exists()


def test_init_writes_no_example_into_a_registry_that_has_deployments(repo, cli):
    result = cli("init", "--action-ref", ACTION_REF)
    assert result.exit_code == 0 and not (repo.root / DEP.format("example-model")).exists()
    assert (
        "left out registry/deployments/example-model.yaml (the registry already has deployments"
        in result.stdout
    )


# --- 13: files written for others to read honour the umask ----------------------------------------


@pytest.fixture
def umask_022():
    import os

    old = os.umask(0o022)
    yield
    os.umask(old)


def test_manifests_and_the_inventory_page_honour_the_umask(env_repo, cli, umask_022, tmp_path):
    import stat

    assert cli("deploy", "--env", "staging").exit_code == 0
    manifest = env_repo.root / ".foureyes" / "serving" / "staging" / "fraud-scorer.json"
    assert stat.S_IMODE(manifest.stat().st_mode) == 0o644
    assert cli("inventory", "--html", str(tmp_path / "site")).exit_code == 0
    assert stat.S_IMODE((tmp_path / "site" / "index.html").stat().st_mode) == 0o644


# --- 9: an unset webhook variable is a warning only for subscribed events, once per run -----------


def test_no_slack_warning_for_a_deploy_nobody_subscribed_to(env_repo, cli):
    result = cli(
        "deploy", "--env", "staging"
    )  # deploy_succeeded: the example policy's Slack does not want it
    assert result.exit_code == 0 and "FOUREYES_SLACK_WEBHOOK_URL" not in result.stderr
    env_repo.replace(FRAUD, 'version: "12"', 'version: "13"')
    env_repo.commit("direct push", "Eve Hurry <eve@acme.example>")
    refused = cli(
        "deploy", "--env", "staging"
    )  # provenance_violation: subscribed, so say the URL is unset
    assert refused.stderr.count("$FOUREYES_SLACK_WEBHOOK_URL is not set") == 1


def test_the_unset_variable_is_said_once_for_several_notifications():
    from foureyes.registry.model import parse_policy
    from foureyes.report.notify import Notification, notify
    from support.pulltest import POLICY

    policy = parse_policy(POLICY)
    warnings, warned = [], set()
    for event in ("approved", "blocked", "review_requested"):
        notify(
            policy, Notification(event, "t", "x"), warn=warnings.append, environ={}, warned=warned
        )
    assert warnings == ["notification slack: $FOUREYES_SLACK_WEBHOOK_URL is not set, nothing sent"]


# --- 10: the inventory shows owners, and an unapproved change stands out -------------------------


def test_inventory_owners_and_an_unapproved_change_that_stands_out(env_repo, cli, tmp_path):
    env_repo.replace(FRAUD, 'version: "12"', 'version: "13"')
    env_repo.commit("direct push", "Eve Hurry <eve@acme.example>")
    open_pr(env_repo, 50, CREDIT, 'version: "7"', 'version: "8"')
    text = cli("inventory").stdout.splitlines()
    assert "owners" in text[0].split()
    fraud = next(line for line in text if line.startswith("fraud-scorer"))
    credit = next(line for line in text if line.startswith("credit-limit"))
    assert "Unapproved change" in fraud and "@acme/fraud-team" in fraud
    assert "Needs approval #50" in credit and "@acme/risk-models, @hana-k" in credit
    assert cli("inventory", "--html", str(tmp_path / "site")).exit_code == 0
    page = (tmp_path / "site" / "index.html").read_text()
    assert '<span class="badge unapproved"' in page and '<span class="badge needs"' in page
    assert "class=unapproved-row" in page
    unapproved_css = page.split(".unapproved{", 1)[1].split("}", 1)[0]
    needs_css = page.split(".needs{", 1)[1].split("}", 1)[0]
    assert unapproved_css != needs_css  # two different badges, not one red for both


# --- 15: timeout --help does not call --repo required: $GITHUB_REPOSITORY satisfies it
# -------------


@pytest.mark.parametrize("command", ["timeout", "protect"])
def test_timeout_repo_is_not_marked_required_but_is_still_needed(repo, cli, monkeypatch, command):
    monkeypatch.delenv("GITHUB_REPOSITORY", raising=False)
    help_text = cli(command, "--help").stdout
    repo_line = next(line for line in help_text.splitlines() if "--repo" in line)
    assert "[required]" not in repo_line and "GITHUB_REPOSITORY" in help_text
    result = cli(command)
    assert (
        result.exit_code == 2
        and "give --repo owner/name (or set $GITHUB_REPOSITORY)" in result.output
    )


def test_history_shows_what_an_update_changed(env_repo, cli):
    merge_pr(env_repo, 42, lambda r: r.replace(FRAUD, "auc: 0.91", "auc: 0.93"))
    text = cli("history", "fraud-scorer").stdout
    assert "metrics.auc 0.91 -> 0.93" in text and "approved by alice, bob in PR #42" in text
    rows = json.loads(cli("history", "fraud-scorer", "--format", "json").stdout)
    assert rows[-1]["changes"] == {"metrics.auc": {"before": 0.91, "after": 0.93}}


# --- the README documents every file a user writes by hand, and its examples work
# --------------------


def _readme_block(after: str) -> str:
    from pathlib import Path

    text = (Path(__file__).parents[2] / "README.md").read_text()
    return text.split(after, 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]


def test_readme_examples_of_hand_written_files_are_valid(repo, cli, tmp_path):
    from foureyes.deploy.targets import environment_problems
    from foureyes.registry.model import parse_environments
    from foureyes.sources.pr_file import load_local_facts, pr_number, read_pr_files

    envs = _readme_block("### `registry/environments.yaml`").encode()
    assert environment_problems(envs, parse_environments(envs)) == []

    repo.branch("pr")
    repo.replace(RECS, "team: shop", "team: web")
    repo.commit()
    facts = tmp_path / "pr-42.yaml"
    facts.write_text(
        _readme_block("### PR facts for `gate --local`").replace("commit: head~1", "commit: head")
    )
    loaded = load_local_facts(facts, repo.session, "main", repo.git("rev-parse", "HEAD"))
    assert loaded.number == 42 and loaded.author.login == "dana" and len(loaded.reviews) == 2

    ledger = tmp_path / "prs"
    ledger.mkdir()
    (ledger / "42.yaml").write_text(_readme_block("### Offline PR files"))
    [(path, doc)] = read_pr_files(ledger)
    assert doc["number"] == 42 == pr_number(path, doc) and {
        "base",
        "head",
        "merge_commit",
        "merged_at",
    } <= set(doc)


def test_resolve_and_events_still_work_from_a_copied_record_outside_a_repository(
    env_repo, cli, tmp_path, monkeypatch
):
    assert cli("deploy", "--env", "staging").exit_code == 0
    record = str(env_repo.root / ".foureyes" / "record.sqlite")
    elsewhere = tmp_path / "pipeline"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    resolved = cli("resolve", "fraud-scorer", "--env", "staging", "--record", record)
    assert resolved.exit_code == 0 and json.loads(resolved.stdout)["model"]["version"] == "12"
    assert cli("events", "--record", record, "--type", "deploy").exit_code == 0


def test_a_malformed_pr_file_is_a_configuration_error_not_a_refused_commit(env_repo, cli):
    assert cli("deploy", "--env", "staging").exit_code == 0
    merge_pr(env_repo, 42, lambda r: r.replace(FRAUD, 'version: "12"', 'version: "13"'))
    prs = env_repo.root / ".foureyes" / "prs"
    (prs / "42.yaml").rename(prs / "fraud-v13.yaml")
    _without_number(prs / "fraud-v13.yaml")
    result = cli("deploy", "--env", "staging")
    assert result.exit_code == 2 and "fraud-v13.yaml: which PR is this?" in result.stderr
    assert not [e for e in events(cli) if e["type"] == "provenance_violation"]
