"""The change plan, pure: the events a change makes and the approval they need, per the policy of
the commit that judges it.

``classify`` takes what was read before it (``reading.py`` reads it from git): the judging
commit's governance (``Governance``: policy, schemas, environments, rules, freezes) and its files,
the change (``ChangeSet``: each changed path with its bytes at the fork and at the head) and the
head's files. A snapshot is a value: a commit's files never change, so the same inputs make the
same plan, and a test builds them from a dict.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..registry import yamlload
from ..registry.model import (
    DEPLOYMENT_SCHEMA,
    DEPLOYMENTS_DIR,
    ENVIRONMENTS_FILE,
    POLICY_FILE,
    RULES_DIR,
    ConfigError,
    Deployment,
    Environment,
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
from . import changes, freeze, rules
from .changes import Event

if TYPE_CHECKING:
    from ..registry.model import Snapshot

SYMLINK_MODE = "120000"  # git's mode of a symbolic link


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
    # the judging commit's environments (None: it has no environments file) and freezes, and the
    # touched deployments as it holds them: what the freeze and a deploy branch's rules read
    environments: tuple[Environment, ...] | None = None
    freezes: freeze.Freezes = field(default_factory=freeze.Freezes)
    base_deployments: dict[str, Deployment] = field(default_factory=dict)

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
    """The policy a commit holds; none is a configuration error (nothing to judge by)."""
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


@dataclass(frozen=True)
class Governance:
    """What judges a change, as the judging commit holds it: read from that commit alone, never
    from the change under judgment."""

    policy: Policy
    schemas: Schemas
    environments: tuple[Environment, ...] | None  # None: no environments file
    rules: tuple[rules.Rule, ...]
    freezes: freeze.Freezes

    @classmethod
    def read(cls, files: Snapshot) -> Governance:
        """The governance ``files`` hold; a broken file is a configuration error with its file and
        line."""
        policy = load_policy(files)
        try:
            env_data = files.read(ENVIRONMENTS_FILE)
            return cls(
                policy,
                Schemas.from_snapshot(files),
                tuple(parse_environments(env_data)) if env_data else None,
                tuple(rules.load_rules(files)),
                freeze.load(files),
            )
        except LoadError as err:
            raise ConfigError(str(err)) from None

    @property
    def environment_names(self) -> list[str] | None:
        return None if self.environments is None else [e.name for e in self.environments]


@dataclass(frozen=True)
class FileChange:
    """One changed path, with its bytes on each side where the plan reads them (``needs_bytes``);
    None: absent on that side, or not read."""

    path: str
    old_mode: str  # git's mode at the fork ("000000": added)
    new_mode: str  # at the head ("000000": deleted)
    before: bytes | None = None
    after: bytes | None = None

    @property
    def added(self) -> bool:
        return self.old_mode == ABSENT

    @property
    def deleted(self) -> bool:
        return self.new_mode == ABSENT

    @property
    def mode(self) -> str:
        """The mode that says what the path is: at the head, or at the fork when deleted."""
        return self.old_mode if self.deleted else self.new_mode


ABSENT = "000000"  # git's mode of the side of a diff where the path does not exist


@dataclass(frozen=True)
class ChangeSet:
    """A change: what ``head`` holds over ``fork``, the commit it forked from the base."""

    fork: str
    head: str
    files: tuple[FileChange, ...]


@dataclass(frozen=True)
class Base:
    """The commit that judges a change: its id, its files and its governance."""

    commit: str
    files: Snapshot
    governance: Governance


def needs_bytes(path: str, mode: str, policy: Policy) -> bool:
    """Whether ``classify`` reads a changed path's bytes: deployments and rules are parsed, and a
    governance YAML or JSON file's changed values are described."""
    return (
        changes.is_deployment_path(path)
        or rules.is_rule_path(path)
        or (path.endswith((".yaml", ".yml", ".json")) and changes.is_governance(path, policy, mode))
    )


def classify(base: Base, change: ChangeSet, head: Snapshot, root: Path) -> Plan:
    """The plan of ``change`` judged by ``base``. The policy, the schemas, the organisation rules,
    the environments and the freezes are the base's; head files are only data to be judged. The
    base may have moved since the change forked: the importance the base holds now counts too
    (``_at_base_tip``). ``root``: the repository's directory (a local target's files are relative
    to it)."""
    gov = base.governance
    schemas, env_names = gov.schemas, gov.environment_names
    problems: list[Problem] = []
    events: list[Event] = []
    owners: set[str] = set()
    head_deps: dict[str, Deployment] = {}
    base_deps: dict[str, Deployment] = {}
    sides: list[tuple[Deployment | None, Deployment]] = []  # (at the fork, at the head)
    subjects: list[rules.Subject] = []
    dep_changes = [c for c in change.files if changes.is_deployment_path(c.path)]
    moved = change.fork != base.commit
    tip_files = base.files.read_many([c.path for c in dep_changes]) if moved else {}
    for c in dep_changes:
        before = after = None
        if not c.added:
            # unread, not broken: its owners are unknown, and so is who may not approve
            if c.before is None:
                problems.append(
                    Problem(c.path, "cannot be read from git at the fork", title="unreadable")
                )
            before = _parse_side(c.path, c.before, c.old_mode, schemas, None)
            if before is None:  # a base file already broken: judge the change at the highest level
                before = _unknown_deployment(c.path)
        if not c.deleted:
            after = _parse_side(c.path, c.after, c.new_mode, schemas, problems)
            if after is None:
                continue
            head_deps[c.path] = after
            problems += cross_check([after], env_names)
            sides.append((before, after))
        at_tip = _at_base_tip(c.path, tip_files.get(c.path), schemas) if moved else before
        if at_tip is not None:
            base_deps[c.path] = at_tip
        for dep in (before, after, at_tip):
            if dep is not None:
                owners |= dep.user_owners
        found = changes.deployment_events(c.path, before, after)
        if moved and at_tip is not None:
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
        base,
        head,
        sides,
        any(c.path == ENVIRONMENTS_FILE for c in change.files),
        root,
    )
    modes = {c.path: c.mode for c in change.files}
    events += changes.governance_events([c.path for c in change.files], gov.policy, modes)
    _describe_governance(events, change)
    changes.apply_policy(events, gov.policy)
    # a PR's own rule files are data (the base's rules judge it), but a broken one must not reach
    # the base, where it would stop every later gate: it is an invalid file like a broken deployment
    problems += rules.rule_problems(
        {c.path: c.after for c in change.files if rules.is_rule_path(c.path) and not c.deleted}
    )
    return Plan(
        base.commit,
        change.head,
        gov.policy,
        events,
        problems,
        frozenset(owners),
        head_deps,
        list(gov.rules),
        subjects,
        gov.environments,
        gov.freezes,
        base_deps,
    )


def shared_identities(
    base: Base,
    head: Snapshot,
    sides: list[tuple[Deployment | None, Deployment]],
    environments_changed: bool,
    root: Path,
) -> list[Problem]:
    """Problems of changed deployments that share a serving identity (an MLflow alias, an
    InferenceService, a file) with another deployment at the head, under the base's and the head's
    environments. The whole head registry is read only when a change can create a shared identity:
    a new or renamed file, an identity-bearing field or `environments` changed, or the environments
    file changed; a new model version is not one of those."""
    from ..deploy.targets import identities, identity_problems

    env_sets = [list(base.governance.environments)] if base.governance.environments else []
    data = head.read(ENVIRONMENTS_FILE)
    try:
        head_envs = parse_environments(data) if data else None
    except LoadError:
        head_envs = None  # a broken head file is reported as such
    if head_envs and head_envs not in env_sets:
        env_sets.append(head_envs)
    if not env_sets or not sides:
        return []
    if not environments_changed and all(
        before is not None
        and all(
            identities(before, envs, root) == identities(after, envs, root) for envs in env_sets
        )
        for before, after in sides
    ):
        return []
    changed = {after.file for _, after in sides}
    listed = [p for p in head.list(DEPLOYMENTS_DIR) if is_deployment_file(p)]
    everyone = {d.file: d for _, d in sides}
    schemas = base.governance.schemas
    for path, data in head.read_many([p for p in listed if p not in everyone]).items():
        dep, _ = parse_deployment(data, path, schemas)
        if dep is not None:
            everyone[path] = dep
    found: dict[str, Problem] = {}
    for envs in env_sets:
        for problem in identity_problems(list(everyone.values()), envs, root):
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
    data: bytes | None,  # None: git could not read it
    mode: str,
    schemas: Schemas,
    problems: list[Problem] | None,
) -> Deployment | None:
    sink = problems if problems is not None else []
    misplaced = layout_problem(path)  # the one definition of a deployment file
    if misplaced is not None:
        sink.append(misplaced)
        return None
    if mode == SYMLINK_MODE:
        sink.append(Problem(path, "symlinks are not allowed in the registry", title="symlink"))
        return None
    if data is None:
        sink.append(Problem(path, "cannot be read from git", title="unreadable"))
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


def _describe_governance(events: list[Event], change: ChangeSet) -> None:
    """A changed YAML or JSON governance file (the policy, the environments) says which values
    changed, before -> after; read as data, like every head file."""
    by_path = {c.path: c for c in change.files}

    def parse(data: bytes | None, path: str) -> dict:
        if data is None:
            return {}
        try:
            doc = json.loads(data) if path.endswith(".json") else yamlload.loads(data, path)
        except (ValueError, UnicodeDecodeError, LoadError):
            return {}
        return doc if isinstance(doc, dict) else {}

    for e in events:
        if e.type == "governance" and e.file.endswith((".yaml", ".yml", ".json")):
            c = by_path[e.file]
            e.changes = changes.field_changes(parse(c.before, c.path), parse(c.after, c.path))
