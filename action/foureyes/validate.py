"""`foureyes validate`: schema, organisation rules and cross-file checks on the working tree."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .gitrepo import WorkTree
from .registry import (
    DEPLOYMENTS_DIR, ENVIRONMENTS_FILE, POLICY_FILE, Deployment, Problem, Schemas, cross_check,
    parse_deployment, parse_environments, parse_policy,
)
from .yamlload import LoadError


@dataclass
class Validation:
    files: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def classify(rel: str) -> str:
    name = rel.rsplit("/", 1)[-1]
    if rel == ENVIRONMENTS_FILE or name == "environments.yaml":
        return "environments"
    if rel == POLICY_FILE or name == "approval.yaml":
        return "policy"
    return "deployment"


def targets(root: Path, paths: list[str], cwd: Path) -> list[str]:
    """Repository-relative files to check: the given files and folders, or the whole registry."""
    tree = WorkTree(root)
    if not paths:
        found = [p for p in tree.list(DEPLOYMENTS_DIR) if p.endswith((".yaml", ".yml"))]
        return found + [p for p in (ENVIRONMENTS_FILE, POLICY_FILE) if (root / p).exists()]
    out = []
    for given in paths:
        full = Path(os.path.abspath(cwd / given))
        try:
            rel = full.relative_to(root).as_posix()
        except ValueError:
            raise LoadError(given, "is outside the repository") from None
        if full.is_dir():
            out += [p for p in tree.list(rel) if p.endswith((".yaml", ".yml"))]
        else:
            out.append(rel)
    return out


def validate(root: Path, files: list[str]) -> Validation:
    """Schemas and rules come from the repository's own policies/ (bundled schema as fallback);
    a broken schema or rule raises ConfigError (exit 2), a broken registry file is a Problem."""
    tree = WorkTree(root)
    schemas = Schemas.from_snapshot(tree)
    result = Validation(files=len(files))
    deployments: list[Deployment] = []
    env_names = _environment_names(tree, result)
    for rel in files:
        kind = classify(rel)
        try:
            data = tree.read(rel)
            if data is None:
                result.problems.append(Problem(rel, "no such file", title="missing"))
                continue
            if kind == "environments":
                if rel != ENVIRONMENTS_FILE:
                    parse_environments(data, rel)
            elif kind == "policy":
                parse_policy(data, rel)
            else:
                if not rel.endswith(".yaml"):
                    result.problems.append(Problem(rel, "deployment files end in .yaml", title="layout"))
                    continue
                dep, problems = parse_deployment(data, rel, schemas)
                result.problems += problems
                if dep is not None:
                    deployments.append(dep)
        except LoadError as err:
            result.problems.append(Problem.from_load_error(err, f"invalid {kind}"))
    result.problems += cross_check(deployments, env_names)
    return result


def _environment_names(tree: WorkTree, result: Validation) -> list[str] | None:
    try:
        data = tree.read(ENVIRONMENTS_FILE)
        return [e.name for e in parse_environments(data)] if data is not None else None
    except LoadError as err:
        result.problems.append(Problem.from_load_error(err, "invalid environments"))
        return None
