"""`foureyes plan` on real git repositories: every event type, levels, and the base policy rule."""

import json

import pytest

from support.cli_steps import plan_json
from support.repos import DEP

FRAUD = DEP.format("fraud-scorer")
CHURN = DEP.format("churn-predictor")
RECS = DEP.format("product-recs")

NEW = """\
name: {name}
owner: "@newbie"
importance: {importance}
model:
  name: new-model
  version: "1"
  uri: models:/new-model/1
"""


def events(data):
    return sorted((e["deployment"] or e["file"], e["type"], e["level"]) for e in data["events"])


def test_no_change(repo, cli):
    repo.branch("pr")
    repo.commit("empty")
    code, data = plan_json(cli)
    assert code == 0
    assert data["events"] == [] and data["level"] is None and data["required_approvals"] == 0


def test_create(repo, cli):
    repo.branch("pr")
    repo.write(DEP.format("new-dep"), NEW.format(name="new-dep", importance="high"))
    repo.commit()
    _code, data = plan_json(cli)
    assert events(data) == [("new-dep", "create", "high")]
    ev = data["events"][0]
    assert ev["importance"] == {"before": None, "after": "high"}
    assert ev["model"]["after"]["version"] == "1" and ev["model"]["before"] is None
    assert data["level"] == "high" and data["required_approvals"] == 2
    assert data["approvers"] == {"users": [], "teams": ["acme/mlops-admins"]}
    assert data["excluded_owners"] == ["newbie"]


def test_delete_is_judged_at_its_importance_before(repo, cli):
    repo.branch("pr")
    repo.rm(FRAUD)
    repo.commit()
    _, data = plan_json(cli)
    assert events(data) == [("fraud-scorer", "delete", "critical")]


def test_replace_model(repo, cli):
    repo.branch("pr")
    repo.replace(RECS, 'version: "2026.11.3"', 'version: "2026.11.4"')
    repo.commit()
    _, data = plan_json(cli)
    assert events(data) == [("product-recs", "replace_model", "low")]
    assert data["events"][0]["model"]["before"]["version"] == "2026.11.3"
    assert data["excluded_owners"] == ["lena-m"]


@pytest.mark.parametrize(
    "field, old, new",
    [
        ("digest", "sha256:3f9a", "sha256:4f9a"),
        ("uri", "uri: models:/fraud-xgb/12", "uri: models:/fraud-xgb/12b"),
        ("name", "name: fraud-xgb", "name: fraud-lgbm"),
    ],
)
def test_any_model_field_is_a_replacement(repo, cli, field, old, new):
    repo.branch("pr")
    repo.replace(FRAUD, old, new)
    repo.commit()
    _, data = plan_json(cli)
    assert events(data) == [("fraud-scorer", "replace_model", "critical")]


def test_downgrade_is_judged_at_the_old_higher_level(repo, cli):
    repo.branch("pr")
    repo.replace(FRAUD, "importance: critical", "importance: low")
    repo.commit()
    _, data = plan_json(cli)
    assert events(data) == [("fraud-scorer", "change_importance", "critical")]
    assert data["required_approvals"] == 2


def test_upgrade_is_judged_at_the_new_level(repo, cli):
    repo.branch("pr")
    repo.replace(RECS, "importance: low", "importance: high")
    repo.commit()
    _, data = plan_json(cli)
    assert events(data) == [("product-recs", "change_importance", "high")]


def test_update_and_several_events_in_one_file(repo, cli):
    repo.branch("pr")
    repo.replace(CHURN, "importance: moderate", "importance: high")
    repo.replace(CHURN, 'version: "31"', 'version: "32"')
    repo.replace(CHURN, "apply: auto", "apply: manual")
    repo.commit()
    _, data = plan_json(cli)
    assert events(data) == [
        ("churn-predictor", "change_importance", "high"),
        ("churn-predictor", "replace_model", "high"),
        ("churn-predictor", "update", "high"),
    ]
    update = next(e for e in data["events"] if e["type"] == "update")
    assert update["fields"] == ["apply"]


def test_an_environments_edit_is_its_own_event_with_where_it_served_and_will_serve(repo, cli):
    repo.branch("pr")
    repo.replace(RECS, "environments: [staging]", "environments: [staging, production]")
    repo.commit()
    _, data = plan_json(cli)
    assert events(data) == [("product-recs", "change_environments", "low")]
    ev = data["events"][0]
    assert ev["requires_approval"] is True and ev["fields"] == ["environments"]
    assert ev["changes"] == {  # values, as every event's changes: words only in the text
        "environments": {"before": ["staging"], "after": ["staging", "production"]}
    }
    text = cli("plan", "--base", "main", "--format", "text").output
    assert "change_environments" in text and "staging -> staging, production" in text


def test_dropping_the_environments_list_serves_everywhere_and_is_an_event(repo, cli):
    repo.branch("pr")
    repo.replace(RECS, "environments: [staging]\n", "")
    repo.commit()
    _, data = plan_json(cli)
    assert events(data) == [("product-recs", "change_environments", "low")]
    assert data["events"][0]["changes"]["environments"]["after"] is None
    text = cli("plan", "--base", "main", "--format", "text").output
    assert "staging -> (every environment)" in text


def test_an_empty_environments_list_is_refused_not_read_as_nowhere_or_everywhere(repo, cli):
    """The attack: `environments: []` read as "nowhere" by the judgment (no production rule or
    freeze applies) and as "everywhere" by the deploy (production serves it). It is refused."""
    repo.branch("pr")
    repo.replace(RECS, "environments: [staging]", "environments: []")
    repo.commit()
    result = cli("validate", "--format", "json")
    problems = json.loads(result.output)["problems"]
    assert result.exit_code == 1
    assert [(p["file"], p["line"]) for p in problems] == [(RECS, 10)]
    _, data = plan_json(cli)
    assert data["problems"] and data["problems"][0]["file"] == RECS


def test_a_policy_written_before_change_environments_existed_still_requires_approval_for_it(
    repo, cli
):
    """The attack: a policy that lists its events (as every policy written before the split did)
    names `update`, not `change_environments`; read literally, adding production to a deployment
    would need no approval. A listed event covers the events split out of it."""
    repo.branch("pr")
    repo.replace(RECS, "environments: [staging]", "environments: [staging, production]")
    repo.commit()
    _, data = plan_json(cli)
    assert "change_environments" not in repo.read("policies/approval.yaml")
    assert data["events"][0]["requires_approval"] is True
    assert data["level"] == "low" and data["required_approvals"] >= 1


def test_comment_only_edit_is_still_an_update(repo, cli):
    repo.branch("pr")
    repo.write(RECS, repo.read(RECS) + "# a comment\n")
    repo.commit()
    _, data = plan_json(cli)
    assert events(data) == [("product-recs", "update", "low")]


def test_rename_hiding_a_model_replacement_is_delete_plus_create(repo, cli):
    repo.branch("pr")
    text = (
        repo.read(FRAUD)
        .replace("name: fraud-scorer", "name: fraud-scorer-v2")
        .replace("importance: critical", "importance: low")
        .replace('version: "12"', 'version: "13"')
    )
    repo.rm(FRAUD)
    repo.write(DEP.format("fraud-scorer-v2"), text)
    repo.commit()
    _, data = plan_json(cli)
    assert events(data) == [
        ("fraud-scorer", "delete", "critical"),
        ("fraud-scorer-v2", "create", "low"),
    ]
    assert data["level"] == "critical"


@pytest.mark.parametrize(
    "path",
    [
        "policies/approval.yaml",
        ".github/workflows/gate.yml",
        ".github/CODEOWNERS",
        "action.yml",
        "action/foureyes/app/gate_pipeline.py",
        "requirements/action.txt",
        "registry/environments.yaml",
        "CODEOWNERS",
        "policies/rules/new.schema.json",
    ],
)
def test_governance_paths(repo, cli, path):
    repo.branch("pr")
    repo.write(path, (repo.read(path) if (repo.root / path).exists() else "") + "\n# touched\n")
    repo.commit()
    _, data = plan_json(cli)
    assert "governance" in [e["type"] for e in data["events"]]
    assert data["level"] == "critical"


def test_a_pr_lowering_its_own_requirement_is_judged_by_the_base_policy(repo, cli):
    repo.branch("pr")
    text = repo.read("policies/approval.yaml").replace("approvals: 2", "approvals: 1")
    repo.write("policies/approval.yaml", text.replace("level: critical", "level: low"))
    repo.replace(FRAUD, 'version: "12"', 'version: "13"')
    repo.commit()
    _, data = plan_json(cli)
    assert data["level"] == "critical" and data["required_approvals"] == 2


def test_a_pr_loosening_rules_is_judged_by_the_base_rules(repo, cli):
    repo.branch("pr")
    repo.rm("policies/rules/critical-pins-digest.schema.json")
    repo.write(DEP.format("new-dep"), NEW.format(name="new-dep", importance="critical"))
    repo.commit()
    code, data = plan_json(cli)
    assert code == 1
    assert data["problems"][0]["title"] == "critical deployments pin a digest"


def test_invalid_head_file_is_reported_not_a_crash(repo, cli):
    repo.branch("pr")
    repo.write(FRAUD, "name: fraud-scorer\nimportance: [\n")
    repo.write(DEP.format("dup"), "a: 1\na: 2\n")
    repo.commit()
    code, data = plan_json(cli)
    assert code == 1
    assert {p["file"] for p in data["problems"]} == {FRAUD, DEP.format("dup")}
    assert all(p["line"] for p in data["problems"])


def test_broken_base_file_is_judged_at_the_highest_level(repo, cli):
    repo.write(RECS, "name: [\n")
    repo.commit("break main")
    repo.branch("pr")
    repo.write(RECS, NEW.format(name="product-recs", importance="low"))
    repo.commit()
    _, data = plan_json(cli)
    assert data["level"] == "critical"


def test_diff_is_from_the_merge_base(repo, cli):
    repo.branch("pr")
    repo.replace(RECS, "importance: low", "importance: moderate")
    repo.commit()
    repo.git("checkout", "-q", "main")
    repo.replace(CHURN, 'version: "31"', 'version: "40"')
    repo.commit("someone else's change on main")
    _, data = plan_json(cli, "main", "pr")
    assert events(data) == [("product-recs", "change_importance", "moderate")]


@pytest.mark.parametrize(
    "old, new",
    [
        ("team: shop", "team: web-shop"),
        # exempting update exempts the environments edit it used to cover
        ("environments: [staging]", "environments: [staging, production]"),
    ],
    ids=["update", "change_environments"],
)
def test_events_not_requiring_approval(repo, cli, old, new):
    repo.replace(
        "policies/approval.yaml",
        "require_approval_for: [create, replace_model, change_importance, delete, update]",
        "require_approval_for: [create, replace_model, change_importance, delete]",
    )
    repo.commit("policy")
    repo.branch("pr")
    repo.replace(RECS, old, new)
    repo.commit()
    _, data = plan_json(cli)
    assert data["events"][0]["requires_approval"] is False
    assert data["level"] is None and data["required_approvals"] == 0


def test_missing_policy_at_base_is_a_configuration_error(repo, cli):
    repo.rm("policies/approval.yaml")
    repo.commit("no policy")
    repo.branch("pr")
    result = cli("plan", "--base", "main")
    assert result.exit_code == 2 and "not found at the base commit" in result.output


def test_unknown_ref_is_an_error(repo, cli):
    result = cli("plan", "--base", "nope")
    assert result.exit_code == 2 and "unknown git revision 'nope'" in result.output


def test_text_and_markdown_formats(repo, cli):
    repo.branch("pr")
    repo.replace(FRAUD, "importance: critical", "importance: high")
    repo.commit()
    text = cli("plan", "--base", "main", "--format", "text").output
    assert "change_importance" in text and "critical -> high" in text and "2 approval(s)" in text
    md = cli("plan", "--base", "main", "--format", "markdown").output
    assert "| `fraud-scorer` | change importance | critical | high | **critical** | 2 |" in md


def test_cost_follows_changed_files(repo, cli, monkeypatch):
    """Only the changed files' blobs are read, whatever the registry size."""
    from foureyes import repo as gitrepo

    for i in range(200):
        repo.write(DEP.format(f"bulk-{i}"), NEW.format(name=f"bulk-{i}", importance="low"))
    repo.commit("bulk")
    repo.branch("pr")
    repo.replace(RECS, "importance: low", "importance: moderate")
    repo.commit()
    read = []
    real = gitrepo.cat_blobs
    monkeypatch.setattr(
        gitrepo, "cat_blobs", lambda root, names: read.extend(names) or real(root, names)
    )
    plan_json(cli)
    assert len(read) <= 8


def test_symlink_in_the_registry_at_head_is_refused(repo, cli):
    repo.branch("pr")
    (repo.root / DEP.format("link")).symlink_to("/etc/hostname")
    repo.commit()
    code, data = plan_json(cli)
    assert code == 1 and data["problems"][0]["title"] == "symlink"


# --- governance is deny-by-default -------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "pyproject.toml",
        "setup.py",
        "evil/foureyes/policy.py",
        "build/lib/x.pth",
        "action/README.md",
        "action/foureyes/notes.md",
        "docs.md/x.py",
        "tests/test_x.py",
        "registry/notes.txt",
        ".pth",
    ],
)
def test_every_path_that_is_not_a_deployment_is_governance(repo, cli, path):
    repo.branch("pr")
    repo.write(path, "import os  # runs at every Python start when it is a .pth\n")
    repo.git("add", "-f", path)  # force-added, like a build/ folder a .gitignore would hide
    repo.commit()
    _, data = plan_json(cli)
    assert [(e["type"], e["file"]) for e in data["events"]] == [("governance", path)]
    assert data["level"] == "critical"


@pytest.mark.parametrize("path", ["README.md", "CHANGELOG.md", "docs/guide.md", "docs/a/b/c.png"])
def test_paths_the_base_policy_lists_as_ungoverned_need_nothing(repo, cli, path):
    repo.branch("pr")
    repo.write(path, "words\n")
    repo.commit()
    code, data = plan_json(cli)
    assert code == 0 and data["events"] == [] and data["level"] is None


def test_a_symlink_in_an_ungoverned_folder_is_governance(repo, cli):
    repo.branch("pr")
    (repo.root / "docs").mkdir()
    (repo.root / "docs" / "setup.py").symlink_to("../action/foureyes/cli/__init__.py")
    repo.commit()
    _, data = plan_json(cli)
    assert [e["type"] for e in data["events"]] == ["governance"]


def test_the_ungoverned_list_comes_from_the_base_policy(repo, cli):
    repo.branch("pr")
    repo.replace("policies/approval.yaml", '- "docs/**"', '- "**"')
    repo.write("pyproject.toml", "[tool.setuptools]\npackage-dir = {'' = 'evil'}\n")
    repo.commit()
    _, data = plan_json(cli)
    assert sorted(e["file"] for e in data["events"]) == ["policies/approval.yaml", "pyproject.toml"]


def test_paths_listed_as_governance_win_over_an_ungoverned_glob(repo, cli):
    repo.replace("policies/approval.yaml", '- "docs/**"', '- "**/*.md"')
    repo.commit("base policy: any Markdown file is ungoverned")
    repo.branch("pr")
    repo.write("action/foureyes/template/notes.md", "packaged\n")  # under action/: listed in paths
    repo.write("notes/x.md", "fine\n")
    repo.commit()
    _, data = plan_json(cli)
    assert [e["file"] for e in data["events"]] == ["action/foureyes/template/notes.md"]


@pytest.mark.parametrize(
    "pattern, path, expected",
    [
        ("*.md", "README.md", True),
        ("*.md", "action/README.md", False),
        ("*.md", "a.md/b", False),
        ("docs/**", "docs/a/b/c.md", True),
        ("docs/**", "docs", False),
        ("docs/**", "docsx/a", False),
        ("docs/", "docs/a/b", True),
        ("**/*.md", "README.md", True),
        ("**/*.md", "a/b/c.md", True),
        ("docs/*.md", "docs/a/b.md", False),
        ("?.md", "a.md", True),
        ("?.md", "/.md", False),
        ("a+b(c).md", "a+b(c).md", True),
        ("a.md", "aXmd", False),
    ],
)
def test_glob_semantics(pattern, path, expected):
    from foureyes.judging.changes import glob_match

    assert glob_match(pattern, path) is expected


@pytest.mark.parametrize("bad", ["/docs/**", "./docs", "docs/../action/**", "[ab].md", "!docs/x"])
def test_ungoverned_globs_that_could_mislead_are_refused(repo, cli, bad):
    repo.replace("policies/approval.yaml", '- "docs/**"', json.dumps(bad))
    repo.commit("a policy with a misleading glob")
    result = cli("plan", "--base", "HEAD", "--format", "json")
    assert result.exit_code == 2 and "approval.yaml" in result.output


def test_each_event_is_judged_at_the_highest_of_merge_base_head_and_base_tip(repo, cli):
    repo.branch("pr")
    repo.replace(RECS, 'version: "2026.11.3"', 'version: "2026.11.4"')
    repo.commit()
    repo.git("checkout", "-q", "main")
    repo.replace(RECS, "importance: low", "importance: critical")
    repo.commit("main raised product-recs")
    _, data = plan_json(cli, head="pr")
    assert events(data) == [("product-recs", "replace_model", "critical")]
    assert data["events"][0]["importance"] == {
        "before": "low",
        "after": "low",
        "base_tip": "critical",
    }
