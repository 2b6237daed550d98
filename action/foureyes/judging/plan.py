"""The change plan: events between two refs and the approval they need, per the BASE policy."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import repo as gitrepo
from ..registry.model import (
    DEPLOYMENT_SCHEMA,
    DEPLOYMENTS_DIR,
    ENVIRONMENTS_FILE,
    POLICY_FILE,
    RULES_DIR,
    ConfigError,
    Deployment,
    Policy,
    Problem,
    Schemas,
    cross_check,
    is_deployment_file,
    layout_problem,
    max_level,
    parse_deployment,
    parse_environments,
    parse_policy,
)
from ..registry.yamlload import LoadError
from ..repo import Repo
from ..repo.objects import is_sha
from . import changes, rules
from .changes import Event

if TYPE_CHECKING:
    from ..registry.model import Snapshot


@dataclass
class Plan:
    base: str
    head: str
    policy: Policy
    events: list[Event]
    problems: list[Problem] = field(default_factory=list)  # invalid files at head
    owners: frozenset[str] = frozenset()  # user owners of touched deployments (may not approve)
    head_deployments: dict[str, Deployment] = field(default_factory=dict)
    rules: list = field(default_factory=list)  # transition rules (rules.Rule), read at base
    subjects: list = field(default_factory=list)  # the deployment events as rules see them

    @property
    def rule_outcomes(self) -> list:
        """What the rules say without PR facts (the gate decides the rules that read the PR)."""
        return rules.check(self.rules, self.subjects, None)

    @property
    def level(self) -> str | None:
        levels = [e.level for e in self.events if e.requires_approval]
        return max_level(*levels) if levels else None

    @property
    def required_approvals(self) -> int:
        return self.policy.rule(self.level).approvals if self.level else 0

    def to_json(self) -> dict:
        return {
            "base": self.base,
            "head": self.head,
            "events": [e.to_json() for e in self.events],
            "level": self.level,
            "required_approvals": self.required_approvals,
            "approvers": {
                "users": sorted(self.policy.approver_users),
                "teams": list(self.policy.approver_teams),
            },
            "excluded_owners": sorted(self.owners),
            "rules": [o.to_json() for o in self.rule_outcomes],
            "problems": [p.to_json() for p in self.problems],
        }


def load_policy(tree: Snapshot) -> Policy:
    data = tree.read(POLICY_FILE)
    if data is None:
        raise ConfigError(
            f"{POLICY_FILE} not found at the base commit: nothing to judge the change by"
        )
    try:
        return parse_policy(data)
    except LoadError as err:
        raise ConfigError(str(err)) from None


# where everything that judges a change is read at the base: equal entries, equal judging
BASE_INPUTS = [
    POLICY_FILE.rsplit("/", 1)[0],
    DEPLOYMENT_SCHEMA.rsplit("/", 1)[0],
    RULES_DIR,
    ENVIRONMENTS_FILE,
]


def _judging(repo: Repo, base_tree: gitrepo.GitTree) -> tuple:
    """(policy, schemas, environment names, rules) at the base. Kept in the session by the entries
    they are read from (a deploy re-checking many PRs meets the same policy directory and environments file at
    most of their bases); an error is raised again each time, never kept."""
    key = tuple(base_tree.entries(BASE_INPUTS).values()) if is_sha(base_tree.commit) else None
    if key is not None and key in repo.judging:
        policy, schemas, env_names, transition_rules = repo.judging[key]
        return (
            policy,
            schemas,
            None if env_names is None else list(env_names),
            list(transition_rules),
        )
    policy = load_policy(base_tree)
    try:
        schemas = Schemas.from_snapshot(base_tree)
        env_data = base_tree.read(ENVIRONMENTS_FILE)
        env_names = [e.name for e in parse_environments(env_data)] if env_data else None
        transition_rules = rules.load_rules(base_tree)
    except LoadError as err:
        raise ConfigError(str(err)) from None
    if key is not None:
        if len(repo.judging) >= 256:
            repo.judging.clear()
        repo.judging[key] = (
            policy,
            schemas,
            None if env_names is None else tuple(env_names),
            tuple(transition_rules),
        )
    return policy, schemas, env_names, transition_rules


def make_plan(
    repo: Repo, base_ref: str, head_ref: str = "HEAD", judged_at: str | None = None
) -> Plan:
    """The change is what ``head`` holds over its fork from ``base``. Everything policy-relevant is
    read at ``judged_at`` (default ``base``): the policy, the schemas, the organisation rules, the
    environments and the importance there now. Head files are only data to be judged. (A PR into a
    deploy branch is judged at the default branch too: the same change, that branch's policy.)"""
    fork = gitrepo.merge_base(
        repo, gitrepo.resolve(repo, base_ref), gitrepo.resolve(repo, head_ref)
    )
    base = gitrepo.resolve(repo, judged_at or base_ref)
    head = gitrepo.resolve(repo, head_ref)
    base_tree = gitrepo.GitTree(repo, base)
    policy, schemas, env_names, transition_rules = _judging(repo, base_tree)

    diff = gitrepo.changed(repo, fork, head)
    problems: list[Problem] = []
    dep_changes = [c for c in diff if changes.is_deployment_path(c.path)]
    shas = [s for c in dep_changes for s in (c.old_sha, c.new_sha) if s != gitrepo.ZERO_SHA]
    blobs = gitrepo.cat_blobs(repo, shas)

    events: list[Event] = []
    owners: set[str] = set()
    head_deps: dict[str, Deployment] = {}
    sides: list[
        tuple[Deployment | None, Deployment]
    ] = []  # (at the fork, at the head) of changed files
    subjects: list[rules.Subject] = []
    # the base may have moved since the PR forked: what it holds now counts too (see _at_base_tip)
    tip_files = base_tree.read_many([c.path for c in dep_changes]) if fork != base else {}
    for c in dep_changes:
        before = after = None
        if c.old_sha != gitrepo.ZERO_SHA:
            before = _parse_side(c.path, blobs[c.old_sha], c.old_mode, schemas, None)
            if before is None:  # a base file already broken: judge the change at the highest level
                before = _unknown_deployment(c.path)
        if c.new_sha != gitrepo.ZERO_SHA:
            after = _parse_side(c.path, blobs[c.new_sha], c.new_mode, schemas, problems)
            if after is None:
                continue
            head_deps[c.path] = after
            problems += cross_check([after], env_names)
            sides.append((before if c.old_sha != gitrepo.ZERO_SHA else None, after))
        at_tip = _at_base_tip(c.path, tip_files.get(c.path), schemas)
        for dep in (before, after, at_tip):
            if dep is not None:
                owners |= dep.user_owners
        found = changes.deployment_events(c.path, before, after)
        if at_tip is not None:
            for ev in found:
                ev.importance_at_base = at_tip.importance
                ev.level = max_level(ev.level, at_tip.importance)
        events += found
        serves = _serves(env_names, before, after)
        subjects += [
            rules.Subject(
                ev,
                before.data if before is not None else None,
                after.data if after is not None else None,
                serves,
            )
            for ev in found
        ]

    problems += shared_identities(
        repo, base_tree, head, sides, schemas, any(c.path == ENVIRONMENTS_FILE for c in diff)
    )
    modes = {c.path: c.new_mode if c.new_sha != gitrepo.ZERO_SHA else c.old_mode for c in diff}
    events += changes.governance_events([c.path for c in diff], policy, modes)
    _describe_governance(repo, events, diff)
    changes.apply_policy(events, policy)
    # a PR's own rule files are data (the base's rules judge it), but a broken one must not reach
    # the base, where it would stop every later gate: it is an invalid file like a broken deployment
    changed_rules = [
        c for c in diff if rules.is_rule_path(c.path) and c.new_sha != gitrepo.ZERO_SHA
    ]
    if changed_rules:
        rule_blobs = gitrepo.cat_blobs(repo, [c.new_sha for c in changed_rules])
        problems += rules.rule_problems({c.path: rule_blobs[c.new_sha] for c in changed_rules})
    return Plan(
        base,
        head,
        policy,
        events,
        problems,
        frozenset(owners),
        head_deps,
        transition_rules,
        subjects,
    )


def shared_identities(
    repo: Repo,
    base_tree: gitrepo.GitTree,
    head: str,
    sides: list[tuple[Deployment | None, Deployment]],
    schemas: Schemas,
    environments_changed: bool,
) -> list[Problem]:
    """Problems of changed deployments that share a serving identity (an MLflow alias, an
    InferenceService, a file) with another deployment at the head, under the base's and the head's
    environments. The whole head registry is read only when a change can create a shared identity:
    a new or renamed file, an identity-bearing field or `environments` changed, or the environments
    file changed; a new model version is not one of those."""
    from ..deploy.targets import identities, identity_problems

    head_tree = gitrepo.GitTree(repo, head)
    env_sets = []
    for tree in (base_tree, head_tree):
        data = tree.read(ENVIRONMENTS_FILE)
        try:
            envs = parse_environments(data) if data else None
        except LoadError:
            envs = (
                None  # a broken head file is reported as such; the base's is a ConfigError earlier
            )
        if envs and envs not in env_sets:
            env_sets.append(envs)
    if not env_sets or not sides:
        return []
    if not environments_changed and all(
        before is not None
        and all(
            identities(before, envs, repo.path) == identities(after, envs, repo.path)
            for envs in env_sets
        )
        for before, after in sides
    ):
        return []
    changed = {after.file for _, after in sides}
    listed = [p for p in head_tree.list(DEPLOYMENTS_DIR) if is_deployment_file(p)]
    everyone = {d.file: d for _, d in sides}
    for path, data in head_tree.read_many([p for p in listed if p not in everyone]).items():
        dep, _ = parse_deployment(data, path, schemas)
        if dep is not None:
            everyone[path] = dep
    found: dict[str, Problem] = {}
    for envs in env_sets:
        for problem in identity_problems(list(everyone.values()), envs, repo.path):
            if problem.file in changed:
                found.setdefault(str(problem), problem)
    return list(found.values())


def _serves(
    env_names: Iterable[str] | None, *deployments: Deployment | None
) -> tuple[str, ...] | None:
    """The environments a deployment serves on either side (no `environments`: all of them);
    None when the registry names none."""
    found: set[str] = set()
    for dep in deployments:
        if dep is None:
            continue
        if dep.environments is None:
            if env_names is None:
                return None
            found |= set(env_names)
        else:
            found |= set(dep.environments)
    return tuple(sorted(found))


def _parse_side(
    path: str,
    data: Any,  # a blob by its id, present; cat_blobs' map types a missing one as None
    mode: str,
    schemas: Schemas,
    problems: list[Problem] | None,
) -> Deployment | None:
    sink = problems if problems is not None else []
    misplaced = layout_problem(path)  # the one definition of a deployment file
    if misplaced is not None:
        sink.append(misplaced)
        return None
    if mode == gitrepo.SYMLINK_MODE:
        sink.append(Problem(path, "symlinks are not allowed in the registry", title="symlink"))
        return None
    dep, found = parse_deployment(data, path, schemas)
    sink += found
    return dep


def _at_base_tip(path: str, data: bytes | None, schemas: Schemas) -> Deployment | None:
    """The deployment as the base branch holds it now. A PR forked while a deployment was
    `moderate` and merged after the base raised it to `high` is judged at `high`:
    each event's level is the highest of the merge-base, the head and the base tip."""
    if data is None:
        return None
    dep, _ = parse_deployment(data, path, schemas)
    return dep if dep is not None else _unknown_deployment(path)


def _unknown_deployment(path: str) -> Deployment:
    name = Path(path).name.rsplit(".", 1)[0]
    return Deployment(path, {"name": name, "owner": [], "importance": "critical", "model": {}})


def _describe_governance(repo: Repo, events: list[Event], diff: list[gitrepo.Change]) -> None:
    """A changed YAML or JSON governance file (the policy, the environments) says which values
    changed, before -> after; read as data, like every head file."""
    import json

    from ..registry import yamlload

    by_path = {c.path: c for c in diff}
    wanted = [
        e for e in events if e.type == "governance" and e.file.endswith((".yaml", ".yml", ".json"))
    ]
    shas = [
        s
        for e in wanted
        for s in (by_path[e.file].old_sha, by_path[e.file].new_sha)
        if s != gitrepo.ZERO_SHA
    ]
    blobs = gitrepo.cat_blobs(repo, shas) if shas else {}

    def parse(sha: str, path: str) -> dict:
        data = blobs.get(sha) if sha != gitrepo.ZERO_SHA else None
        if data is None:
            return {}
        try:
            doc = json.loads(data) if path.endswith(".json") else yamlload.loads(data, path)
        except (ValueError, UnicodeDecodeError, LoadError):
            return {}
        return doc if isinstance(doc, dict) else {}

    for e in wanted:
        c = by_path[e.file]
        e.changes = changes.field_changes(parse(c.old_sha, c.path), parse(c.new_sha, c.path))
