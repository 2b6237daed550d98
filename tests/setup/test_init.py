"""`foureyes init` in an empty git repository gives a repository where validate, plan, the gate and
deploy work; it never overwrites without --force."""

import json
import subprocess
from pathlib import Path

import yaml

from support.repos import Repo

ROOT = Path(__file__).parents[2]
SHA = "0123456789abcdef0123456789abcdef01234567"


def test_init_in_an_empty_repository_then_the_whole_flow(tmp_path, cli, monkeypatch):
    repo = Repo(tmp_path / "fresh")
    monkeypatch.chdir(repo.root)
    result = cli("init", "--action-ref", SHA)
    assert result.exit_code == 0
    assert (
        "wrote policies/approval.yaml" in result.output
        and "wrote .github/CODEOWNERS" in result.output
    )
    assert cli("validate").exit_code == 0
    assert cli("codeowners", "--check").exit_code == 0
    written = sorted(p.name for p in (repo.root / ".github" / "workflows").iterdir())
    assert written == sorted(
        p.name for p in (ROOT / ".github" / "workflows").glob("foureyes-*.yml")
    )
    for name in written:  # all seven, each pinned to the commit given
        text = (repo.root / ".github" / "workflows" / name).read_text()
        assert "uses: ./" not in text and "@v0" not in text
        if name not in (
            "foureyes-review-relay.yml",
            "foureyes-release.yml",
        ):  # these run no foureyes
            assert f"uses: foureyes/foureyes@{SHA}" in text
        yaml.safe_load(text)
    repo.commit("foureyes init", "Mo Admin <mo@acme.example>")

    repo.branch("change")
    repo.replace("registry/deployments/example-model.yaml", 'version: "1"', 'version: "2"')
    repo.commit("example-model v2")
    plan = json.loads(cli("plan", "--base", "main", "--format", "json").stdout)
    assert [(e["type"], e["level"]) for e in plan["events"]] == [("replace_model", "low")]
    facts = tmp_path / "facts.yaml"
    facts.write_text(
        "author: dana\nbody: v2 is better\naccounts:\n  dana: {id: 1, emails: "
        "[dana@acme.example]}\n"
        "  alice: {id: 2}\nteams:\n  acme/mlops-admins: {members: [alice]}\n"
        "reviews: [{user: alice, state: APPROVED, commit: head}]\n"
    )
    assert cli("gate", "--local", str(facts), "--base", "main").exit_code == 0
    repo.git("checkout", "-q", "main")
    deployed = cli("deploy", "--env", "staging", "--format", "json")
    assert (
        deployed.exit_code == 0
        and json.loads(deployed.stdout)["steps"][0]["deployment"] == "example-model"
    )
    assert (
        "?? "
        not in subprocess.run(
            ["git", "-C", str(repo.root), "status", "--porcelain"], capture_output=True, text=True
        ).stdout
    )  # .foureyes/ is ignored


def test_init_never_overwrites_without_force(tmp_path, cli, monkeypatch):
    repo = Repo(tmp_path / "existing")
    repo.write("policies/approval.yaml", "# ours\n")
    repo.write(".gitignore", "node_modules/\n")
    monkeypatch.chdir(repo.root)
    result = cli("init", "--action-ref", SHA)
    assert "kept  policies/approval.yaml (exists; --force overwrites)" in result.output
    assert (repo.root / "policies" / "approval.yaml").read_text() == "# ours\n"
    assert (repo.root / ".gitignore").read_text() == "node_modules/\n.foureyes/\nartifacts/\n"
    cli("init", "--force", "--action-ref", SHA)
    assert "approvers:" in (repo.root / "policies" / "approval.yaml").read_text()


def test_init_pins_the_ref_it_is_given(tmp_path, cli, monkeypatch):
    repo = Repo(tmp_path / "pinned")
    monkeypatch.chdir(repo.root)
    cli(
        "init",
        "--action-repo",
        "acme/foureyes",
        "--ref",
        "0123456789abcdef0123456789abcdef01234567",
    )
    text = (repo.root / ".github" / "workflows" / "foureyes-gate.yml").read_text()
    assert "uses: acme/foureyes@0123456789abcdef0123456789abcdef01234567" in text


def test_init_refuses_a_tag_it_cannot_vouch_for(tmp_path, cli, monkeypatch):
    """v0.1.0 never existed: a pin to a missing tag breaks every workflow at its first step."""
    repo = Repo(tmp_path / "tagged")
    monkeypatch.chdir(repo.root)
    result = cli("init", "--action-ref", "v0.1.0")
    assert result.exit_code == 2 and "40-hex commit SHA" in result.output
    assert not (repo.root / ".github" / "workflows").exists()
    assert cli("init").exit_code == 2  # no silent default
