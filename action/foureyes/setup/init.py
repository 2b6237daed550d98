"""`foureyes init`: scaffold foureyes into an existing repository.

Writes the policies and schemas, the environments, one example deployment, the workflows (pinned to
a commit of the action) and CODEOWNERS. It never overwrites a file without --force and
says what it wrote and what it kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..registry.model import BUNDLED, Environment
from . import wiring

EXAMPLE = """\
# yaml-language-server: $schema=../../policies/deployment.schema.json
name: example-model
owner: "@your-org/your-team"
importance: low
description: "An example deployment. Copy it, rename the file and the name, and open a PR."
model:
  name: example-model
  version: "1"
  uri: models:/example-model/1
environments: [staging]
"""

# every foureyes workflow: the PR gate and its relay, validate, deploy (and the release push that
# starts its production jobs), review timeouts, inventory
WORKFLOWS = (
    "foureyes-gate.yml",
    "foureyes-review-relay.yml",
    "foureyes-validate.yml",
    "foureyes-deploy.yml",
    "foureyes-release.yml",
    "foureyes-timeout.yml",
    "foureyes-inventory.yml",
)
# foureyes' own workflows run the action from a separate checkout of a pinned commit (`uses:
# ./trusted`);
# a user repository runs the pinned action itself, so those steps are left out
OWN_REPOSITORY_ONLY = re.compile(
    r"(?ms)^[ \t]*# foureyes' own repository only: begin.*?# foureyes' own repository only: end\n"
)
COMMIT = re.compile(r"^[0-9a-f]{40}$")


@dataclass
class InitResult:
    written: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(
        default_factory=list
    )  # (path, why): what the user removed


def scaffold(action_repo: str, ref: str, environments: bytes | None = None) -> dict[str, str]:
    """Repository path -> content of every file init writes (CODEOWNERS is rendered afterwards).
    The workflows pin the action to a commit: a tag may not exist, or move. ``environments``: the
    repository's own registry/environments.yaml, kept, whose targets the workflows are wired for
    (their extras and credentials); None: the bundled one."""
    from ..registry.model import ConfigError

    if not COMMIT.match(ref):
        raise ConfigError(
            f"--action-ref {ref!r}: expected the 40-hex commit SHA of the foureyes action to pin "
            "(hint: git ls-remote https://github.com/foureyes/foureyes refs/tags/v0.1.0)"
        )
    files: dict[str, str] = {}
    for folder in ("policies",):
        for path in sorted((BUNDLED / folder).rglob("*")):
            if path.is_file():
                files[path.relative_to(BUNDLED).as_posix()] = path.read_text("utf-8")
    files["registry/environments.yaml"] = (BUNDLED / "registry" / "environments.yaml").read_text(
        "utf-8"
    )
    files["registry/deployments/example-model.yaml"] = EXAMPLE
    wired = _wired_environments(
        environments if environments is not None else files["registry/environments.yaml"].encode()
    )
    uses = f"{action_repo}@{ref}"  # action.yml sits at the repository root
    for name in WORKFLOWS:
        text = OWN_REPOSITORY_ONLY.sub("", (BUNDLED / "workflows" / name).read_text("utf-8"))
        text = wiring.render(text, f".github/workflows/{name}", wired)
        files[f".github/workflows/{name}"] = re.sub(
            r"(?m)^(\s*(?:- )?uses: )\./(?:base|trusted)?$", rf"\g<1>{uses}", text
        )
    files[".gitignore-foureyes"] = ".foureyes/\nartifacts/\n"
    return files


def _wired_environments(data: bytes) -> list[Environment]:
    """The environments to wire the workflows for; a problem in their targets (a reserved credential
    name, say) stops init rather than write it into a workflow."""
    from ..deploy.target_env import NOT_INSTALLED
    from ..deploy.targets import environment_problems
    from ..registry.model import ConfigError, parse_environments

    envs = parse_environments(data)
    # an extra missing here is fine: the workflows install it
    found = [p for p in environment_problems(data, envs) if NOT_INSTALLED not in p.message]
    if found:
        raise ConfigError(f"{found[0]} (fix it, then run foureyes init again)")
    return envs


def write(root: Path, files: dict[str, str], force: bool) -> InitResult:
    result = InitResult()
    for rel, content in files.items():
        if rel == ".gitignore-foureyes":
            _ensure_ignored(root, content, result)
            continue
        target = root / rel
        if target.exists() and not force:
            result.kept.append(rel)
            continue
        why = None if force else _removed_by_user(root, rel)
        if why:
            result.skipped.append((rel, why))
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, "utf-8")
        result.written.append(rel)
    return result


EXAMPLE_PATH = "registry/deployments/example-model.yaml"


def _removed_by_user(root: Path, rel: str) -> str | None:
    """Why a missing file is not written again without --force: it was in the repository's history
    (the user deleted it), or, for the example deployment, the registry already has deployments."""
    from ..repo import GitError, git

    if rel == EXAMPLE_PATH and any((root / "registry" / "deployments").glob("*.yaml")):
        return "the registry already has deployments"
    try:
        if git(root, "log", "--all", "-1", "--format=%h", "--", rel).strip():
            return "it was deleted from the repository"
    except GitError:  # not a git repository (or no commits yet): nothing was ever deleted
        pass
    return None


def _ensure_ignored(root: Path, lines: str, result: InitResult) -> None:
    gitignore = root / ".gitignore"
    current = gitignore.read_text("utf-8") if gitignore.exists() else ""
    missing = [line for line in lines.splitlines() if line not in current.splitlines()]
    if missing:
        gitignore.write_text(
            current
            + ("" if not current or current.endswith("\n") else "\n")
            + "\n".join(missing)
            + "\n"
        )
        result.written.append(".gitignore")
