"""What a user installs: the built wheel and sdist carry the licence, metadata and typing marker;
the hash locks agree with pyproject.toml and with each other; the README pins a release that the
CHANGELOG lists; the pre-commit hook validates the whole registry."""

from __future__ import annotations

import email
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
VERSION = PYPROJECT["project"]["version"]


def pins(lock: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) of a `uv pip compile --generate-hashes` file."""
    found = {}
    for block in re.split(r"\n(?=\S)", lock.read_text()):
        if m := re.match(r"([A-Za-z0-9._-]+)==(\S+)", block):
            found[m.group(1).lower().replace("_", "-")] = (
                m.group(2),
                re.findall(r"--hash=sha256:([0-9a-f]{64})", block),
            )
    return found


ACTION_LOCK = pins(ROOT / "requirements" / "action.txt")
CI_LOCK = pins(ROOT / "requirements" / "ci.txt")
# the runtime extras a deploy target needs, each with the lock the action's `extras` input installs
TARGET_EXTRAS = sorted(set(PYPROJECT["project"]["optional-dependencies"]) - {"test"})
EXTRA_LOCKS = {
    extra: pins(ROOT / "requirements" / f"action-{extra}.txt") for extra in TARGET_EXTRAS
}


def test_every_locked_package_is_hash_pinned():
    for lock in (ACTION_LOCK, CI_LOCK, *EXTRA_LOCKS.values()):
        assert lock and all(hashes for _, hashes in lock.values())


def test_ci_installs_what_the_action_installs():
    assert {name: ACTION_LOCK[name][0] for name in ACTION_LOCK} == {
        name: CI_LOCK[name][0] for name in ACTION_LOCK
    }


@pytest.mark.parametrize("extra", TARGET_EXTRAS)
def test_an_extra_lock_keeps_the_action_pins_and_matches_ci(extra):
    """Installed on top of action.txt: a shared package pinned differently would make pip refuse the
    pair (or the action run other code than CI tests)."""
    lock = EXTRA_LOCKS[extra]
    assert {name: lock[name] for name in ACTION_LOCK} == ACTION_LOCK
    assert {name: lock[name][0] for name in lock} == {name: CI_LOCK[name][0] for name in lock}


# the e2e suite's MLflow server (the full mlflow package): a test tool the action never installs
SERVER_LOCK = pins(ROOT / "requirements" / "mlflow-server.txt")


def test_the_e2e_mlflow_server_lock_serves_the_client_the_action_installs():
    """tests/e2e run `mlflow server` from requirements/mlflow-server.txt: hash-pinned, the minor of
    the mlflow-skinny client the mlflow extra installs, every pin the two locks share equal; and
    neither the action (no action- prefix) nor CI's test venv installs it."""
    client = EXTRA_LOCKS["mlflow"]
    assert SERVER_LOCK and all(hashes for _, hashes in SERVER_LOCK.values())
    minor = lambda version: version.split(".")[:2]  # noqa: E731
    assert minor(SERVER_LOCK["mlflow"][0]) == minor(client["mlflow-skinny"][0])
    shared = set(SERVER_LOCK) & set(client)
    assert "mlflow-skinny" in shared
    assert {n: SERVER_LOCK[n] for n in shared} == {n: client[n] for n in shared}
    assert "mlflow" not in CI_LOCK and "mlflow" not in client


def test_every_extra_lock_is_an_extra_of_pyproject():
    locks = sorted(
        p.name[len("action-") : -len(".txt")] for p in (ROOT / "requirements").glob("action-*.txt")
    )
    assert locks == TARGET_EXTRAS


@pytest.mark.parametrize(
    "lock, extras",
    [
        (ACTION_LOCK, ()),
        (CI_LOCK, tuple(PYPROJECT["project"]["optional-dependencies"])),
        *((EXTRA_LOCKS[e], (e,)) for e in TARGET_EXTRAS),
    ],
    ids=["action", "ci", *(f"action-{e}" for e in TARGET_EXTRAS)],
)
def test_the_locks_satisfy_pyproject(lock, extras):
    """A floor raised in pyproject.toml without regenerating the locks fails here (bash requirements/update.sh)."""
    wanted = [*list(PYPROJECT["project"]["dependencies"]), "setuptools>=77"]
    for extra in extras:
        wanted += PYPROJECT["project"]["optional-dependencies"][extra]
    for text in wanted:
        req = Requirement(text)
        name = req.name.lower().replace("_", "-")
        assert name in lock, f"{name} is not in the lock"
        assert req.specifier.contains(lock[name][0], prereleases=True), (
            f"{name}=={lock[name][0]} vs {req}"
        )


def test_the_action_installs_the_lock_with_hashes_only():
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    install = next(
        s["run"] for s in action["runs"]["steps"] if s.get("name", "").startswith("Install")
    )
    pip_lines = [line.strip() for line in install.splitlines() if " install " in line]
    assert pip_lines and all(
        "--require-hashes" in line or "--no-index" in line for line in pip_lines
    )
    assert (
        "requirements/action-$extra.txt" in install
    )  # the extras come from their locks, nothing else


def test_every_output_the_code_writes_is_declared():
    written = set()
    for path in (ROOT / "action" / "foureyes").rglob("*.py"):
        for call in re.findall(r"set_outputs\(\{(.*?)\}\)", path.read_text(), re.S):
            written |= set(re.findall(r'"([a-z_-]+)":', call))
    declared = set(yaml.safe_load((ROOT / "action.yml").read_text())["outputs"])
    assert written and written <= declared, written - declared


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The wheel and sdist, built with the PEP 517 hooks from a copy of the tracked files (no build/ in the tree)."""
    src, out = tmp_path_factory.mktemp("src"), tmp_path_factory.mktemp("dist")
    tracked = (
        subprocess.run(
            [
                "git",
                "-C",
                str(ROOT),
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ],
            check=True,
            capture_output=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for rel in filter(None, tracked):
        if rel.startswith("tests/") or not os.path.lexists(
            ROOT / rel
        ):  # a deleted file git still lists
            continue
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / rel).is_symlink():
            (src / rel).symlink_to((ROOT / rel).readlink())
        else:
            shutil.copy2(ROOT / rel, src / rel)
    for hook in ("build_wheel", "build_sdist"):  # one process each, as a build frontend calls them
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                f"import sys; from setuptools import build_meta; build_meta.{hook}(sys.argv[1])",
                str(out),
            ],
            cwd=src,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr[-2000:]
    return out


def test_the_wheel_carries_licence_metadata_and_typing(built):
    wheel = zipfile.ZipFile(next(built.glob("foureyes-*.whl")))
    names = wheel.namelist()
    assert f"foureyes-{VERSION}.dist-info/licenses/LICENSE" in names
    assert "foureyes/py.typed" in names
    assert any(n.startswith("foureyes/template/workflows/foureyes-gate.yml") for n in names)
    meta = email.message_from_bytes(wheel.read(f"foureyes-{VERSION}.dist-info/METADATA"))
    assert meta["License-Expression"] == "MIT" and meta["License-File"] == "LICENSE"
    assert "Source, https://github.com/foureyes/foureyes" in meta.get_all("Project-URL")
    assert "Typing :: Typed" in meta.get_all("Classifier")


def test_the_sdist_carries_licence_changelog_and_locks(built):
    with tarfile.open(next(built.glob("foureyes-*.tar.gz"))) as sdist:
        names = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
    assert {
        "LICENSE",
        "CHANGELOG.md",
        "action.yml",
        "requirements/action.txt",
        "action/foureyes/py.typed",
        *(f"requirements/action-{e}.txt" for e in TARGET_EXTRAS),
    } <= names


def test_the_readme_pins_a_release_the_changelog_lists():
    readme, changelog = (ROOT / "README.md").read_text(), (ROOT / "CHANGELOG.md").read_text()
    assert f"rev: v{VERSION}" in readme
    assert re.search(rf"^## \[{re.escape(VERSION)}\] - \d{{4}}-\d\d-\d\d$", changelog, re.M)


def test_the_pre_commit_hook_validates_the_whole_registry():
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["pass_filenames"] is False and hook["entry"] == "foureyes validate"
    files = re.compile(hook["files"])
    for path in (
        "registry/environments.yaml",
        "registry/deployments/a.yaml",
        "policies/approval.yaml",
        "policies/rules/labels.schema.json",
        "policies/deployment.schema.json",
    ):
        assert files.search(path), path
    assert not files.search("README.md") and not files.search("docs/registry/x.yaml")


def test_what_the_hook_runs_catches_a_cross_file_problem(repo, cli):
    """Removing an environment that deployments name: the staged file alone looks fine, the registry is not."""
    text = repo.read("registry/environments.yaml")
    repo.write("registry/environments.yaml", text[: text.index("  - name: production")])
    assert (
        cli("validate", "registry/environments.yaml").exit_code == 0
    )  # what passing filenames ran
    assert cli("validate").exit_code == 1  # what the hook runs now
