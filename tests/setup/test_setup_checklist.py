"""The README's "Set-up on GitHub" checklist and what `foureyes init` writes agree: the workflows
ask
the GitHub App for exactly the permissions the checklist grants (GitHub refuses a token asking for
more than the App holds; more than needed is not least privilege), and use exactly the variables,
secrets and environments it tells the user to create."""

import re
from pathlib import Path

import yaml

from foureyes.setup.init import scaffold

ROOT = Path(__file__).parents[2]
LEVEL = {"read": 1, "write": 2}


def checklist() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("## Set-up on GitHub")
    return text[start : text.index("\n### ", start)]


def init_workflows() -> dict[str, dict]:
    files = scaffold("acme/foureyes", "0" * 40)
    return {
        path: yaml.safe_load(text)
        for path, text in files.items()
        if path.startswith(".github/workflows/")
    }


def test_the_workflows_init_writes_ask_the_app_for_exactly_the_checklists_permissions():
    asked: dict[str, str] = {}
    for workflow in init_workflows().values():
        for job in workflow["jobs"].values():
            for step in job.get("steps", []):
                if "create-github-app-token" not in step.get("uses", ""):
                    continue
                for key, level in step["with"].items():
                    if key.startswith("permission-"):
                        name = key[len("permission-") :]
                        asked[name] = max(asked.get(name, level), level, key=LEVEL.get)
    rows = re.findall(r"^\s*\| [^|]+ \| `([a-z-]+): (read|write)` \|", checklist(), re.M)
    granted = dict(rows)
    assert len(rows) == len(granted), "a permission is listed twice"
    assert granted == asked


def test_the_checklist_names_every_variable_secret_and_environment_the_workflows_use():
    from foureyes.setup.init import OWN_REPOSITORY_ONLY

    used, environments = set(), set()
    for path, workflow in init_workflows().items():
        text = OWN_REPOSITORY_ONLY.sub("", (ROOT / path).read_text())  # as init writes it
        used |= set(re.findall(r"\$\{\{\s*(?:vars|secrets)\.([A-Z_]+)", text)) - {"GITHUB_TOKEN"}
        for job in workflow["jobs"].values():
            env = job.get("environment")
            env = env.get("name") if isinstance(env, dict) else env
            environments |= (
                set(re.findall(r"'([a-z-]+)'", env)) if env and "${{" in env else {env} - {None}
            )
    section = checklist()
    assert used == {
        "FOUREYES_APP_CLIENT_ID",
        "FOUREYES_APP_PRIVATE_KEY",
        "FOUREYES_SLACK_WEBHOOK_URL",
    }
    for name in used | environments:
        assert f"`{name}`" in section, name
    assert environments == {
        "foureyes-gate",
        "staging",
        "production",
        "staging-approval",
        "production-approval",
        "github-pages",
    }
