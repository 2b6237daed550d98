"""`foureyes rollback`: prepare the change that restores an earlier approved model.

A rollback is a change request like any other: it becomes a branch with one commit (and a PR on
GitHub) that the gate judges and administrators approve. Only the deployment's `model` block is
rewritten; comments and the rest of the file stay as they are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from .. import gitrepo
from ..registry import DEPLOYMENTS_DIR
from ..yamlload import StrictLoader, loads


class RollbackError(Exception):
    pass


@dataclass
class Rollback:
    name: str
    environment: str
    path: str
    current: dict
    target: dict  # the model to restore
    approval: dict  # how the restored model was approved when it was deployed
    text: str  # the new file content
    blob_sha: str = ""  # the file being replaced (the contents API wants it; git computes GitHub's id)

    @property
    def branch(self) -> str:
        return f"rollback/{self.name}-{self.environment}-{self.target['version']}".replace(" ", "-")

    @property
    def title(self) -> str:
        return (f"Roll back {self.name} in {self.environment}: {self.current.get('name')} v{self.current.get('version')}"
                f" -> {self.target['name']} v{self.target['version']}")

    @property
    def body(self) -> str:
        pr = self.approval.get("pr")
        by = ", ".join(f"@{a}" for a in self.approval.get("approvers") or []) or "(bootstrap)"
        return (f"Restores `{self.target['name']}` v{self.target['version']} for `{self.name}`, which served "
                f"{self.environment} before, approved {'in PR #' + str(pr) if pr else 'at bootstrap'} by {by} "
                f"(commit {str(self.approval.get('commit', ''))[:12]}).\n\nPrepared by `foureyes rollback`; "
                f"it needs the same approvals as any model replacement.")


def choose(history: list[dict], name: str, environment: str, current: dict, to_version: str | None) -> dict:
    """The history entry to return to: the given version, or the last model served before the current one."""
    served = [h for h in history if h["name"] == name and h["environment"] == environment
              and h["status"] == "success" and h["action"] != "delete" and h["data"].get("model")]
    if to_version is not None:
        for h in reversed(served):
            if str(h["data"]["model"].get("version")) == str(to_version):
                return h
        versions = sorted({str(h["data"]["model"].get("version")) for h in served})
        raise RollbackError(f"{name} never served version {to_version} in {environment} (served: {', '.join(versions) or 'none'})")
    for h in reversed(served):
        if h["data"]["model"] != current:
            return h
    raise RollbackError(f"{name} has no earlier model in {environment} to return to")


def replace_model_block(text: str, model: dict) -> str:
    """Rewrite only the `model:` mapping of a deployment file, in block style."""
    root = yaml.compose(text, Loader=StrictLoader)
    for key, value in root.value if isinstance(root, yaml.MappingNode) else []:
        if key.value == "model":
            indent = " " * (key.start_mark.column + 2)
            # JSON strings are YAML double-quoted scalars: every value stays a string
            lines = [f"{key.value}:"] + [f"{indent}{k}: {json.dumps(str(model[k]))}"
                                         for k in ("name", "version", "uri", "digest") if k in model]
            start, end = key.start_mark.index, value.end_mark.index
            block = "\n".join(lines)
            rest = text[end:]
            return text[:start] + block + ("" if rest.startswith("\n") else "\n") + rest
    raise RollbackError("the deployment file has no model block")


def prepare(root: Path, base_sha: str, name: str, environment: str, history: list[dict],
            to_version: str | None) -> Rollback:
    """The rollback of ``name`` in ``environment``, written against the deployment file at ``base_sha``."""
    path = f"{DEPLOYMENTS_DIR}/{name}.yaml"
    data = gitrepo.GitTree(root, base_sha).read(path)
    if data is None:
        raise RollbackError(f"{path} does not exist at {base_sha[:12]}")
    text = data.decode("utf-8")
    current = (loads(text, path) or {}).get("model", {})
    entry = choose(history, name, environment, current, to_version)
    target = entry["data"]["model"]
    blob = gitrepo.git(root, "rev-parse", f"{base_sha}:{path}").decode().strip()
    return Rollback(name, environment, path, current, target, entry.get("approval", {}),
                    replace_model_block(text, target), blob)


def commit_locally(root: Path, rollback: Rollback) -> str:
    """A branch with the rollback commit (the current branch stays checked out); returns its patch."""
    git = gitrepo.git
    if git(root, "status", "--porcelain", "--", rollback.path).strip():
        raise RollbackError(f"{rollback.path} has uncommitted changes")
    git(root, "checkout", "-q", "-b", rollback.branch)
    try:
        (root / rollback.path).write_text(rollback.text, "utf-8")
        git(root, "add", "--", rollback.path)
        git(root, "commit", "-q", "-m", rollback.title, "-m", rollback.body)
        return git(root, "format-patch", "-1", "--stdout").decode()
    finally:
        git(root, "checkout", "-q", "-")


def open_pull_request(gh, repo_name: str, rollback: Rollback, base_branch: str, base_sha: str) -> str:
    """A branch at the base commit, the file changed on it, and a PR: three API calls."""
    import base64

    from ..errors import EvaluationError
    from ..github.client import api_errors, describe

    repo = f"/repos/{repo_name}"
    req = gh.requester
    try:
        req.requestJsonAndCheck("POST", f"{repo}/git/refs", input={"ref": f"refs/heads/{rollback.branch}", "sha": base_sha})
        req.requestJsonAndCheck("PUT", f"{repo}/contents/{rollback.path}", input={
            "message": rollback.title, "branch": rollback.branch, "sha": rollback.blob_sha,
            "content": base64.b64encode(rollback.text.encode()).decode()})
        _, pr = req.requestJsonAndCheck("POST", f"{repo}/pulls", input={
            "title": rollback.title, "head": rollback.branch, "base": base_branch, "body": rollback.body})
    except api_errors() as exc:
        raise EvaluationError(describe(exc)) from None
    return pr["html_url"]
