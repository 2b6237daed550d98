"""`foureyes validate`: schema, organisation rules and cross-file checks on the working tree."""

from __future__ import annotations

import multiprocessing
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..judging.rules import is_rule_path, rule_problems
from ..repo import WorkTree
from .model import (
    DEPLOYMENTS_DIR,
    ENVIRONMENTS_FILE,
    POLICY_FILE,
    RULES_DIR,
    Deployment,
    Problem,
    Schemas,
    cross_check,
    layout_problem,
    parse_deployment,
    parse_environments,
    parse_policy,
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
    if is_rule_path(rel):
        return "rule"
    if rel == ENVIRONMENTS_FILE or name == "environments.yaml":
        return "environments"
    if rel == POLICY_FILE or name == "approval.yaml":
        return "policy"
    return "deployment"


def targets(root: Path, paths: list[str], cwd: Path) -> list[str]:
    """Repository-relative files to check: the given files and folders, or the whole registry."""
    tree = WorkTree(root)
    if not paths:
        found = tree.list(DEPLOYMENTS_DIR)  # every file: anything but <name>.yaml is a layout error
        found += [
            p for p in tree.list(RULES_DIR) if is_rule_path(p)
        ]  # transition rules must compile
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


PARALLEL_MIN = 2000  # below this, starting worker processes costs more than it saves


def validate(root: Path, files: list[str]) -> Validation:
    """Schemas and rules come from the repository's own policies/ (bundled schema as fallback);
    a broken schema or rule raises ConfigError (exit 2), a broken registry file is a Problem."""
    tree = WorkTree(root)
    schemas = Schemas.from_snapshot(tree)
    result = Validation(files=len(files))
    envs = _environments(tree, result)
    deployments: list[Deployment] = []
    for problems, dep in _check_all(root, files, schemas):
        result.problems += problems
        if dep is not None:
            deployments.append(dep)
    result.problems += cross_check(deployments, None if envs is None else [e.name for e in envs])
    if envs is not None:
        from ..deploy.targets import identity_problems

        # every deployment claims its identities, also those not named on the command line: a new
        # file must not share what an existing one serves
        named = {d.file for d in deployments}
        rest = _other_deployments(tree, schemas, set(files))
        result.problems += [
            p for p in identity_problems(deployments + rest, envs, root) if p.file in named
        ]
    return result


def _other_deployments(tree: WorkTree, schemas: Schemas, checked: set[str]) -> list[Deployment]:
    """The registry's valid deployments that were not among the files checked."""
    from .model import is_deployment_file

    paths = [p for p in tree.list(DEPLOYMENTS_DIR) if is_deployment_file(p) and p not in checked]
    found = []
    for path, data in tree.read_many(paths).items():
        dep, _ = parse_deployment(data, path, schemas)
        if dep is not None:
            found.append(dep)
    return found


def _check_all(
    root: Path, files: list[str], schemas: Schemas
) -> list[tuple[list[Problem], Deployment | None]]:
    workers = min(os.cpu_count() or 1, 8)
    if (
        len(files) < PARALLEL_MIN
        or workers < 2
        or "fork" not in multiprocessing.get_all_start_methods()
    ):
        return [_check_file(root, rel, schemas) for rel in files]
    size = -(-len(files) // (workers * 4))
    chunks = [files[i : i + size] for i in range(0, len(files), size)]
    # with the fork start method each worker is a fork of this process, so initargs reach it by
    # inheritance, not pickling, and the compiled schemas are reused (Python's multiprocessing
    # docs, "Contexts and start methods": with fork "All resources of the parent are inherited by
    # the child process"; only spawn and forkserver pickle the process object)
    with multiprocessing.get_context("fork").Pool(
        workers, initializer=_start_worker, initargs=(root, schemas)
    ) as pool:
        return [r for chunk in pool.map(_check_chunk, chunks) for r in chunk]


# what a worker checks against; set by _start_worker inside each worker process, never in the
# parent, so no validation leaves state behind for the next
_worker_args: tuple[Path, Schemas] | None = None


def _start_worker(root: Path, schemas: Schemas) -> None:
    global _worker_args
    _worker_args = (root, schemas)


def _check_chunk(files: list[str]) -> list[tuple[list[Problem], Deployment | None]]:
    if _worker_args is None:  # a worker started by _check_all's pool has them
        raise RuntimeError("a validation worker started without its schemas")
    root, schemas = _worker_args
    return [_check_file(root, rel, schemas) for rel in files]


def _check_file(root: Path, rel: str, schemas: Schemas) -> tuple[list[Problem], Deployment | None]:
    kind = classify(rel)
    if kind == "rule":
        data = WorkTree(root).read(rel)
        return (
            rule_problems({rel: data})
            if data is not None
            else [Problem(rel, "no such file", title="missing")]
        ), None
    misplaced = layout_problem(rel)
    if misplaced is not None:
        return [misplaced], None
    try:
        data = WorkTree(root).read(rel)
        if data is None:
            return [Problem(rel, "no such file", title="missing")], None
        if kind == "environments":
            if rel != ENVIRONMENTS_FILE:  # the registry's own is checked once, up front
                parse_environments(data, rel)
        elif kind == "policy":
            parse_policy(data, rel)
        elif not rel.endswith(".yaml"):
            return [Problem(rel, "deployment files end in .yaml", title="layout")], None
        else:
            dep, problems = parse_deployment(data, rel, schemas)
            return problems, dep
    except LoadError as err:
        return [Problem.from_load_error(err, f"invalid {kind}")], None
    return [], None


def _environments(tree: WorkTree, result: Validation) -> list | None:
    try:
        data = tree.read(ENVIRONMENTS_FILE)
        if data is None:
            return None
        envs = parse_environments(data)
        from ..deploy.targets import environment_problems  # types from the installed plugins

        found = environment_problems(data, envs, root=tree.root)
        result.problems += found
        if not found:  # the workflows are checked against targets that are themselves right
            from ..setup import wiring

            result.problems += wiring.problems(tree.read, envs)
        return envs
    except LoadError as err:
        result.problems.append(Problem.from_load_error(err, "invalid environments"))
        return None
