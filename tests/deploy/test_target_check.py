"""`foureyes deploy --dry-run` asks the target: each step is checked, read-only, after the
provenance
re-check, and a failed check fails the dry run (the plan job) naming the deployment, with nothing
applied. Played through the CLI on real git repositories, against a real SQLite-backed MLflow
registry, a command program and a fake kubectl."""

import json

import pytest

from foureyes.deploy.kubernetes import KubernetesTarget
from foureyes.deploy.targets import Change, LocalTarget, Target, TargetError
from support.ledger import FRAUD, RECS, command_target, merge_pr
from support.targets import APPROVAL
from support.targets import FRAUD as FRAUD_DEP

TAGS = ("approval", "approvers", "commit", "deployment")


# --- mlflow, against a real registry ----------------------------------------------------------


@pytest.fixture
def mlflow_repo(env_repo, tmp_path):
    """Staging served by a real MLflow registry holding every version the example registry names
    (its sources as the deployments' uris say), switched to through an approved PR. product-recs,
    whose version MLflow could never number (2026.11.3), leaves in the same PR."""
    pytest.importorskip("mlflow", reason="the mlflow extra is not installed")
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    for name, count, source in (
        ("fraud-xgb", 14, "s3://acme-models-prod/fraud-xgb/{}"),
        ("churn-logreg", 31, "s3://acme-models-prod/churn/{}"),
        ("credit-limit-lgbm", 7, "s3://acme-models-prod/credit-limit/{}/model.tar.gz"),
    ):
        client.create_registered_model(name)
        for v in range(1, count + 1):  # MLflow numbers versions itself
            client.create_model_version(name, source=source.format(v))

    def edit(r):
        r.rm(RECS)
        r.replace(
            "registry/environments.yaml",
            "    target:\n      type: local\n      path: .foureyes/serving/staging",
            f"    target:\n      type: mlflow\n      tracking_uri: {uri}",
        )

    merge_pr(env_repo, 60, edit)
    return env_repo, client


def fraud_model(version, uri=None):
    def edit(repo):
        repo.replace(FRAUD, 'version: "12"', f'version: "{version}"')
        repo.replace(
            FRAUD, "uri: models:/fraud-xgb/12", f"uri: {uri or f'models:/fraud-xgb/{version}'}"
        )

    return edit


def staging_alias(client, name="fraud-xgb"):
    from mlflow.exceptions import MlflowException

    try:
        return str(client.get_model_version_by_alias(name, "staging").version)
    except MlflowException:
        return None


def foureyes_tags(client, name, version, env="staging"):
    return {
        k for k in client.get_model_version(name, version).tags if k.startswith(f"foureyes.{env}.")
    }


def test_an_honest_change_passes_the_registry_check(mlflow_repo, cli):
    _repo, client = mlflow_repo
    result = cli("deploy", "--env", "staging", "--dry-run", "--format", "json")
    assert result.exit_code == 0, result.output
    messages = {s["deployment"]: s["message"] for s in json.loads(result.stdout)["steps"]}
    assert set(messages) == {"churn-predictor", "credit-limit", "fraud-scorer"}
    assert "fraud-xgb v12 exists (READY), uri names fraud-xgb v12" in messages["fraud-scorer"]
    assert "digest not verified" in messages["fraud-scorer"]  # said, never pretended
    assert "uri is the version's source" in messages["credit-limit"]
    assert staging_alias(client) is None  # a check moves nothing


def test_a_version_the_registry_lacks_fails_the_dry_run_before_anything_is_applied(
    mlflow_repo, cli
):
    repo, client = mlflow_repo
    merge_pr(repo, 61, fraud_model("99"))  # approved, but the registry has no version 99
    result = cli("deploy", "--env", "staging", "--dry-run", "--format", "text")
    assert result.exit_code == 1
    assert "fraud-scorer: check failed: mlflow: fraud-xgb has no version 99" in result.output
    assert (
        "dry run failed: the target's check failed for fraud-scorer; nothing was applied"
        in result.output
    )
    assert staging_alias(client) is None and staging_alias(client, "churn-logreg") is None
    assert not (repo.root / ".foureyes" / "record.sqlite").exists()


def test_a_uri_naming_another_version_fails_the_dry_run_and_the_deploy(mlflow_repo, cli):
    """uri: models:/fraud-xgb/2 beside version: "1" validated, and the alias moved to v1 while the
    reviewers read v2."""
    repo, client = mlflow_repo
    merge_pr(repo, 62, fraud_model("1", "models:/fraud-xgb/2"))
    dry = cli("deploy", "--env", "staging", "--dry-run", "--format", "json")
    assert dry.exit_code == 1
    steps = {s["deployment"]: s for s in json.loads(dry.stdout)["steps"]}
    assert steps["fraud-scorer"]["ok"] is False
    assert (
        "uri 'models:/fraud-xgb/2' does not name fraud-xgb v1" in steps["fraud-scorer"]["message"]
    )
    assert steps["churn-predictor"]["ok"] is None  # checked, not failed
    # the deploy itself refuses it too, before the alias moves
    assert cli("deploy", "--env", "staging").exit_code == 1
    assert staging_alias(client) is None and staging_alias(client, "churn-logreg") == "31"


def test_a_uri_that_is_neither_the_version_nor_its_source_fails(mlflow_repo, cli):
    repo, _client = mlflow_repo
    merge_pr(repo, 63, fraud_model("13", "s3://acme-models-prod/fraud-xgb/14"))  # v14's bytes
    result = cli("deploy", "--env", "staging", "--dry-run", "--format", "text")
    assert result.exit_code == 1 and "fraud-scorer: check failed" in result.output
    assert "the version's source 's3://acme-models-prod/fraud-xgb/13'" in result.output


def test_after_a_replacement_and_a_rollback_only_the_served_version_carries_the_tags(
    mlflow_repo, cli
):
    repo, client = mlflow_repo
    assert cli("deploy", "--env", "staging").exit_code == 0
    assert staging_alias(client) == "12" and foureyes_tags(client, "fraud-xgb", "12") == {
        f"foureyes.staging.{t}" for t in TAGS
    }
    merge_pr(repo, 64, fraud_model("13"))
    assert cli("deploy", "--env", "staging").exit_code == 0
    assert staging_alias(client) == "13"
    assert (
        foureyes_tags(client, "fraud-xgb", "12") == set()
    )  # the replaced version keeps no approval
    assert (
        json.loads(client.get_model_version("fraud-xgb", "13").tags["foureyes.staging.approval"])[
            "pr"
        ]
        == 64
    )
    merge_pr(
        repo,
        65,
        lambda r: (
            r.replace(FRAUD, 'version: "13"', 'version: "12"')
            or r.replace(FRAUD, "uri: models:/fraud-xgb/13", "uri: models:/fraud-xgb/12")
        ),
    )  # the rollback
    assert cli("deploy", "--env", "staging").exit_code == 0
    assert staging_alias(client) == "12" and foureyes_tags(client, "fraud-xgb", "13") == set()
    assert (
        json.loads(client.get_model_version("fraud-xgb", "12").tags["foureyes.staging.approval"])[
            "pr"
        ]
        == 65
    )


def test_tags_left_on_an_older_version_are_removed_at_the_next_apply(mlflow_repo, cli):
    """A version tagged before the tags moved with the alias (or by hand) loses them too."""
    _repo, client = mlflow_repo
    for key in TAGS:
        client.set_model_version_tag("fraud-xgb", "5", f"foureyes.staging.{key}", "fraud-scorer")
    client.set_model_version_tag("fraud-xgb", "5", "foureyes.production.deployment", "fraud-scorer")
    assert cli("deploy", "--env", "staging").exit_code == 0
    assert foureyes_tags(client, "fraud-xgb", "5") == set()
    assert foureyes_tags(client, "fraud-xgb", "5", "production") == {
        "foureyes.production.deployment"
    }  # not ours


def test_a_delete_removes_the_alias_and_the_tags(mlflow_repo, cli):
    repo, client = mlflow_repo
    assert cli("deploy", "--env", "staging").exit_code == 0
    merge_pr(repo, 66, lambda r: r.rm(FRAUD))
    dry = cli("deploy", "--env", "staging", "--dry-run", "--format", "text")
    assert (
        dry.exit_code == 0
        and "fraud-scorer: checked: would remove alias @staging from fraud-xgb v12" in dry.output
    )
    assert cli("deploy", "--env", "staging").exit_code == 0
    assert staging_alias(client) is None and foureyes_tags(client, "fraud-xgb", "12") == set()


# --- command ----------------------------------------------------------------------------------

HOOK = """\
import json, os, pathlib, sys
change = json.load(sys.stdin)
log = pathlib.Path(".foureyes/hook.log")
log.parent.mkdir(parents=True, exist_ok=True)
with log.open("a") as fh:
    fh.write(json.dumps([change["name"], change.get("dry_run", False), os.environ.get("FOUREYES_DRY_RUN")]) + "\\n")
if change.get("dry_run") and change["deployment"]["model"]["version"] == "99":
    sys.exit("version 99 is not in our store")
print(json.dumps({"message": ("would " if change.get("dry_run") else "") + change["action"]}))
"""


def hook_calls(repo):
    log = repo.root / ".foureyes" / "hook.log"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_the_command_program_checks_with_dry_run_and_its_failure_fails_the_dry_run(env_repo, cli):
    command_target(env_repo, HOOK)
    honest = cli("deploy", "--env", "staging", "--dry-run", "--format", "text")
    assert honest.exit_code == 0 and "fraud-scorer: checked: would create" in honest.output
    assert {tuple(c) for c in hook_calls(env_repo)} == {
        (n, True, "1") for n in ("churn-predictor", "credit-limit", "fraud-scorer", "product-recs")
    }
    merge_pr(env_repo, 51, lambda r: r.replace(FRAUD, 'version: "12"', 'version: "99"'))
    failed = cli("deploy", "--env", "staging", "--dry-run", "--format", "text")
    assert failed.exit_code == 1
    assert (
        "fraud-scorer: check failed: command exited 1: version 99 is not in our store"
        in failed.output
    )
    assert all(dry for _, dry, _ in hook_calls(env_repo))  # never asked to apply
    assert cli("deploy", "--env", "staging").exit_code == 0  # the real deploy: the program applies
    applied = next(c for c in hook_calls(env_repo) if not c[1])
    assert applied[2] is None  # and is not told it is a dry run


def test_an_unapproved_change_gets_no_target_code_run_by_the_dry_run(env_repo, cli):
    """The check runs the program (or reaches the registry, the cluster) with the change: a direct
    push is refused by the provenance re-check before any target sees it."""
    command_target(env_repo, HOOK)
    env_repo.replace(FRAUD, 'version: "12"', 'version: "66"')
    env_repo.commit("quick fix", "Eve Hurry <eve@acme.example>")
    result = cli("deploy", "--env", "staging", "--dry-run", "--format", "text")
    assert result.exit_code == 1 and "refused: commit" in result.output
    assert hook_calls(env_repo) == []


def test_check_false_skips_the_program_and_says_so(env_repo, cli):
    command_target(env_repo, "import sys; sys.exit('must not run')\n")
    merge_pr(
        env_repo,
        52,
        lambda r: r.replace(
            "registry/environments.yaml",
            "command: [python3, policies/hooks/deploy-hook.py]",
            "command: [python3, policies/hooks/deploy-hook.py]\n      check: false",
        ),
    )
    result = cli("deploy", "--env", "staging", "--dry-run", "--format", "text")
    assert result.exit_code == 0 and "fraud-scorer: not checked: `check: false`" in result.output


# --- kubernetes -------------------------------------------------------------------------------


def k8s_change(deployment=FRAUD_DEP, action="create"):
    return Change(action, "production", deployment["name"], deployment, APPROVAL)


def test_a_manifest_the_kserve_schema_refuses_fails_the_check(tmp_path):
    """A repository's own deployment schema may allow more than the bundled one: a uri that is not
    a string would render a storageUri the API server refuses."""
    target = KubernetesTarget({"type": "kubernetes", "path": "manifests"}, tmp_path)
    assert target.check(k8s_change()).startswith("checked: manifest valid for KServe v1beta1")
    odd = json.loads(json.dumps(FRAUD_DEP))
    odd["model"]["uri"] = {"bucket": "acme"}
    with pytest.raises(TargetError, match=r"spec\.predictor\.model\.storageUri"):
        target.check(k8s_change(odd))
    assert not (tmp_path / "manifests").exists()


def test_a_namespace_kubernetes_refuses_fails_the_dry_run(env_repo, cli):
    def edit(r):
        r.replace(
            "registry/environments.yaml",
            "    target:\n      type: local\n      path: .foureyes/serving/staging",
            "    target:\n      type: kubernetes\n      path: manifests\n      namespace: ML_Prod",
        )

    merge_pr(env_repo, 53, edit)
    result = cli("deploy", "--env", "staging", "--dry-run", "--format", "text")
    assert (
        result.exit_code == 1
        and "fraud-scorer: check failed: the InferenceService manifest is invalid: "
        "metadata.namespace: 'ML_Prod' is not a DNS label"
        in result.output
    )
    assert not (env_repo.root / "manifests").exists()


FAKE_KUBECTL = """\
#!/bin/sh
echo "$@" >> "$(dirname "$0")/calls"
cat > /dev/null
case "$*" in *--dry-run=server*) ;; *) echo "applied for real" >> "$(dirname "$0")/calls" ;; esac
if [ -e "$(dirname "$0")/refuse" ]; then echo 'Error from server: admission webhook denied the request' >&2; exit 1; fi
echo "inferenceservice.serving.kserve.io/fraud-scorer created (server dry run)"
"""


def test_with_a_context_the_check_asks_the_server_and_a_refusal_fails_it(tmp_path):
    fake = tmp_path / "kubectl"
    fake.write_text(FAKE_KUBECTL)
    fake.chmod(0o755)
    target = KubernetesTarget(
        {"type": "kubernetes", "context": "prod", "kubectl": str(fake)}, tmp_path
    )
    assert "server-side dry run in context prod" in target.check(k8s_change())
    assert target.check(k8s_change(action="delete")).startswith("checked: server-side dry run")
    (tmp_path / "refuse").touch()
    with pytest.raises(
        TargetError, match="kubectl exited 1: Error from server: admission webhook denied"
    ):
        target.check(k8s_change())
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls[0].split() == ["--context", "prod", "apply", "--dry-run=server", "-f", "-"]
    assert "--dry-run=server" in calls[1].split() and "applied for real" not in calls


# --- local, and a target without a check ------------------------------------------------------


def test_the_local_check_is_that_its_folder_can_be_written(tmp_path):
    assert (
        LocalTarget({"type": "local", "path": "out/staging"}, tmp_path).check(k8s_change())
        == f"checked: {tmp_path / 'out' / 'staging'} can be created"
    )
    (tmp_path / "file").write_text("")
    with pytest.raises(TargetError, match="is not a folder"):
        LocalTarget({"type": "local", "path": "file/staging"}, tmp_path).check(k8s_change())
    assert not (tmp_path / "out").exists()


def test_a_plugin_without_a_check_is_reported_unchecked(tmp_path):
    assert (
        Target({"type": "acme"}, tmp_path).check(k8s_change())
        == "not checked: the acme target has no check"
    )
