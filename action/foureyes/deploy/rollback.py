"""`foureyes rollback`: prepare the change that restores an earlier approved model.

A rollback is a change request like any other: it becomes a branch with one commit (and a PR on
GitHub) that the gate judges and administrators approve. Only the deployment's `model` block is
rewritten; comments and the rest of the file stay as they are.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from .. import repo as gitrepo
from ..errors import Refused
from ..registry.model import DEPLOYMENTS_DIR
from ..registry.yamlload import compose, loads
from ..repo import Repo

if TYPE_CHECKING:
    from ..github.client import GitHubClient


class RollbackError(Refused):
    """Nothing to roll back to, or a version that cannot be rolled back to (exit 1)."""


def ref_component(text: str) -> str:
    """``text`` as one component of a git ref (git check-ref-format): no `/`, `..`, control or
    special characters, no leading `.` or `-`, no trailing `.` or `.lock`."""
    text = re.sub(r"[^A-Za-z0-9._-]+", "-", str(text))
    text = re.sub(r"\.{2,}", ".", text).strip(".-")
    text = text.removesuffix(".lock").rstrip(".-")
    return text or "model"


@dataclass
class Rollback:
    name: str
    environment: str
    path: str
    current: dict
    target: dict  # the model to restore
    approval: dict  # how the restored model was approved when it was deployed
    text: str  # the new file content
    blob_sha: str = (
        ""  # the file being replaced (the contents API wants it; git computes GitHub's id)
    )

    @property
    def branch(self) -> str:
        """A branch name that is a valid git ref and one URL path segment after `rollback/` (it goes
        into `git/refs/heads/...`): the model version comes from the repository's own schema, which
        may allow anything, so it is reduced to [A-Za-z0-9._-] here."""
        version = self.target["version"]
        return f"rollback/{ref_component(f'{self.name}-{self.environment}-{version}')}"

    @property
    def title(self) -> str:
        from ..report.escape import title  # names and versions: any PR's

        return title(
            f"Roll back {self.name} in {self.environment}: {self.current.get('name')} "
            f"v{self.current.get('version')}"
            f" -> {self.target['name']} v{self.target['version']}"
        )

    @property
    def body(self) -> str:
        pr = self.approval.get("pr")
        commit = str(self.approval.get("commit", ""))[:12]
        from ..report.escape import markdown, markdown_code, title  # names and versions: any PR's

        def code(text: object) -> str:
            # the body is also the local commit's message, plain text to GitHub, where a code span
            # escapes nothing: what it holds mentions and references nobody either
            return markdown_code(title(text))

        # named, not mentioned: they approved the old change and are not asked to act on this one
        approvers = ", ".join(markdown(f"@{a}") for a in self.approval.get("approvers") or [])
        if pr:
            how = (
                f"approved in PR #{pr}"
                + (f" by {approvers}" if approvers else "")
                + f" (commit {commit})"
            )
        elif self.approval.get("status") == "bootstrap":
            how = (
                f"deployed from the bootstrap, before four-eyes approval applied (commit {commit})"
            )
        else:
            how = "with no approval on record"
        return (
            f"Restores {code(self.target['name'])} v{markdown(self.target['version'])} "
            f"for {code(self.name)}, which served {markdown(self.environment)} before, "
            f"{how}. Its metrics come back with it.\n\nPrepared by `foureyes rollback`; it needs "
            "the same approvals as any model replacement."
        )


def choose(
    history: list[dict], name: str, environment: str, current: dict, to_version: str | None
) -> dict:
    """The history entry to return to: the given version, or the last model served before the current one."""
    served = [
        h
        for h in history
        if h["name"] == name
        and h["environment"] == environment
        and h["status"] == "success"
        and h["action"] != "delete"
        and h["data"].get("model")
    ]
    if to_version is not None:
        for h in reversed(served):
            if str(h["data"]["model"].get("version")) == str(to_version):
                return h
        versions = sorted({str(h["data"]["model"].get("version")) for h in served})
        raise RollbackError(
            f"{name} never served version {to_version} in {environment} (served: "
            f"{', '.join(versions) or 'none'})"
        )
    for h in reversed(served):
        if h["data"]["model"] != current:
            return h
    raise RollbackError(f"{name} has no earlier model in {environment} to return to")


def _scalar(value: object, old_node: yaml.ScalarNode | None = None) -> str:
    """A YAML scalar for ``value``: plain when the old one was plain and plain reads back the same,
    else double-quoted (JSON strings are YAML); numbers and booleans plain."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    text = str(value)
    if old_node is not None and not old_node.style and "\n" not in text:
        try:
            if loads(f"x: {text}\n", "<rollback>") == {"x": text}:
                return text
        except Exception:  # not safe as a plain scalar: quote it
            pass
    return json.dumps(text)


def _flow(value: object) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_scalar(v)}" for k, v in value.items()) + "}"
    return _scalar(value)


def _line_span(text: str, start: int, end: int) -> tuple[int, int]:
    """The whole lines from ``start`` to ``end`` (a block's end already sits on the next line)."""
    first = text.rfind("\n", 0, start) + 1
    if end > 0 and text[end - 1] == "\n":
        return first, end
    nl = text.find("\n", end)
    return first, len(text) if nl < 0 else nl + 1


def rewrite_fields(text: str, new: dict) -> str:
    """Set top-level fields to new values with the smallest edit: inside a block mapping only the
    changed values are rewritten (every other line stays byte for byte); a flow mapping is rewritten
    whole; None removes the field."""
    root = compose(text)
    doc = loads(text, "<rollback>") or {}
    if not isinstance(root, yaml.MappingNode):
        raise RollbackError("the deployment file is not a mapping")
    top = {k.value: (k, v) for k, v in root.value}
    edits: list[tuple[int, int, str]] = []
    for name, value in new.items():
        if doc.get(name) == value:
            continue
        if name not in top:
            if value is not None:
                edits.append(
                    (
                        len(text),
                        len(text),
                        ("" if text.endswith("\n") else "\n") + f"{name}: {_flow(value)}\n",
                    )
                )
            continue
        key, node = top[name]
        if value is None:
            edits.append((*_line_span(text, key.start_mark.index, node.end_mark.index), ""))
        elif isinstance(node, yaml.MappingNode) and not node.flow_style and isinstance(value, dict):
            edits += _block_edits(text, node, doc[name] or {}, value)
        else:
            edits.append((node.start_mark.index, node.end_mark.index, _flow(value)))
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def _block_edits(
    text: str, node: yaml.MappingNode, current: dict, value: dict
) -> list[tuple[int, int, str]]:
    edits = []
    children = {k.value: (k, v) for k, v in node.value}
    for k, (key, child) in children.items():
        if k not in value:
            edits.append((*_line_span(text, key.start_mark.index, child.end_mark.index), ""))
        elif current.get(k) != value[k]:
            edits.append((child.start_mark.index, child.end_mark.index, _scalar(value[k], child)))
    added = [k for k in value if k not in children]
    if added:
        last_key, last = node.value[-1]
        indent = " " * last_key.start_mark.column
        at = last.end_mark.index
        edits.append((at, at, "".join(f"\n{indent}{k}: {_scalar(value[k])}" for k in added)))
    return edits


def replace_model_block(text: str, model: dict, metrics: object = ...) -> str:
    """Restore a model (and, when given, its metrics) with the smallest change to the file."""
    return rewrite_fields(
        text, {"model": model} if metrics is ... else {"model": model, "metrics": metrics}
    )


def prepare(
    repo: Repo,
    base_sha: str,
    name: str,
    environment: str,
    history: list[dict],
    to_version: str | None,
) -> Rollback:
    """The rollback of ``name`` in ``environment``, written against the deployment file at ``base_sha``."""
    path = f"{DEPLOYMENTS_DIR}/{name}.yaml"
    data = gitrepo.GitTree(repo, base_sha).read(path)
    if data is None:
        raise RollbackError(f"{path} does not exist at {base_sha[:12]}")
    text = data.decode("utf-8")
    current = (loads(text, path) or {}).get("model", {})
    entry = choose(history, name, environment, current, to_version)
    target = entry["data"]["model"]
    blob = repo.git("rev-parse", f"{base_sha}:{path}").decode().strip()
    return Rollback(
        name,
        environment,
        path,
        current,
        target,
        entry.get("approval", {}),
        replace_model_block(text, target, entry["data"].get("metrics")),
        blob,
    )


def commit_locally(root: Path, rollback: Rollback) -> str:
    """A branch with the rollback commit (the current branch stays checked out); returns its patch."""
    git = gitrepo.git
    if git(root, "status", "--porcelain", "--", rollback.path).strip():
        raise RollbackError(f"{rollback.path} has uncommitted changes")
    git(root, "checkout", "-q", "-B", rollback.branch)  # a second run refreshes the branch
    try:
        (root / rollback.path).write_text(rollback.text, "utf-8")
        git(root, "add", "--", rollback.path)
        git(root, "commit", "-q", "-m", rollback.title, "-m", rollback.body)
        return git(root, "format-patch", "-1", "--stdout").decode()
    finally:
        git(root, "checkout", "-q", "-")


def open_pull_request(
    gh: GitHubClient, repo_name: str, rollback: Rollback, base_branch: str, base_sha: str
) -> str:
    """A branch at the base commit, the file changed on it, and a PR: three API calls. A second run
    refreshes the branch (force-moved back to the base, the change committed again) and reuses the
    PR that is already open for it."""
    import base64

    from ..errors import EvaluationError
    from ..github.client import api_errors, describe
    from ..github.pulls import open_pull, put_branch

    req = gh.requester
    try:
        put_branch(req, repo_name, rollback.branch, base_sha)  # a second run: back to the base
        req.requestJsonAndCheck(
            "PUT",
            f"/repos/{repo_name}/contents/{rollback.path}",
            input={
                "message": rollback.title,
                "branch": rollback.branch,
                "sha": rollback.blob_sha,
                "content": base64.b64encode(rollback.text.encode()).decode(),
            },
        )
        pr = open_pull(req, repo_name, rollback.branch, base_branch, rollback.title, rollback.body)
    except api_errors() as exc:
        raise EvaluationError(describe(exc)) from None
    return pr["html_url"]
