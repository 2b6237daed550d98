"""`foureyes deploy`: reconcile one environment with the registry at HEAD.

desired  = the deployments at HEAD whose `environments` include ENV (default: every environment)
deployed = what the deploy record says was last applied to ENV
The difference is applied through ENV's target, one deployment at a time, after the provenance
re-check has approved every commit that brought it. Idempotent: a second run finds nothing to do.
Resumable: a deployment is recorded in_progress before its target runs and success/failure after,
and the environment's last deployed commit only moves when everything succeeded.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING

from .. import repo as gitrepo
from ..judging.changes import field_changes
from ..registry.model import (
    DEPLOYMENT_SCHEMA,
    DEPLOYMENTS_DIR,
    ENVIRONMENTS_FILE,
    RULES_DIR,
    ConfigError,
    Deployment,
    Environment,
    Problem,
    Schemas,
    cross_check,
    deployment_file,
    is_deployment_file,
    layout_problem,
    parse_deployment,
    parse_environments,
    unknown_name,
)
from ..registry.yamlload import LoadError
from ..repo import Repo
from ..sources.protocol import PRSource
from .eventlog import Event
from .provenance import (
    Approval,
    Checker,
    Violation,
    commits_touching,
    promoted_branch,
    state_commits,
    subject,
    unpromoted,
)
from .record import Entry, Record
from .targets import (
    Change,
    TargetError,
    check_settings,
    identity_problems,
    load_target,
    target_files,
)

if TYPE_CHECKING:
    from datetime import datetime

# what judges every change: a commit here must itself come from an approved PR before anything
# deploys; so must one that changed what the target runs (`target_files`, a command's program)
JUDGING_PATHS = (ENVIRONMENTS_FILE, "policies/")


@dataclass
class Step:
    name: str
    action: str
    before: dict | None  # model before
    after: dict | None  # model after
    ok: bool | None = None  # None: not run (dry run)
    message: str = ""
    changes: dict = field(default_factory=dict)  # every changed field: name -> (before, after)


@dataclass
class DeployResult:
    environment: str
    commit: str
    steps: list[Step] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    dry_run: bool = False
    frozen: list[str] = field(default_factory=list)  # changes a freeze window refused (freeze.py)

    @property
    def ok(self) -> bool:
        return (
            not self.violations
            and not self.problems
            and not self.frozen
            and all(s.ok is not False for s in self.steps)
        )

    def to_json(self) -> dict:
        return {
            "environment": self.environment,
            "commit": self.commit,
            "dry_run": self.dry_run,
            "ok": self.ok,
            "steps": [
                {
                    "deployment": s.name,
                    "action": s.action,
                    "model": {"before": s.before, "after": s.after},
                    "changes": {k: {"before": b, "after": a} for k, (b, a) in s.changes.items()},
                    "ok": s.ok,
                    "message": s.message,
                }
                for s in self.steps
            ],
            "violations": [
                {"commit": v.commit, "subject": v.subject, "reason": v.reason}
                for v in self.violations
            ],
            "problems": [
                {"file": p.file, "line": p.line, "message": p.message} for p in self.problems
            ],
            "frozen": self.frozen,
        }


def environment(repo: Repo, commit: str, name: str) -> tuple[Environment, list[Environment]]:
    data = gitrepo.GitTree(repo, commit).read(ENVIRONMENTS_FILE)
    if data is None:
        raise ConfigError(f"{ENVIRONMENTS_FILE} not found at {commit[:12]}")
    try:
        envs = parse_environments(data)
    except LoadError as err:
        raise ConfigError(str(err)) from None
    for env in envs:
        if env.name == name:
            return env, envs
    raise ConfigError(unknown_name("environment", name, [e.name for e in envs], ENVIRONMENTS_FILE))


def current_branch(root: Path) -> str:
    return gitrepo.git(root, "rev-parse", "--abbrev-ref", "HEAD").decode().strip()


def branch_mismatch(repo: Repo, env_name: str, branch: str) -> str | None:
    """An environment only deploys from its own branch (main -> staging, release/* -> production)."""
    env, _ = environment(repo, gitrepo.resolve(repo, "HEAD"), env_name)
    return (
        None
        if env.matches_branch(branch)
        else f"{env.name} deploys from {env.branch!r}, and this is {branch!r}"
    )


def desired_state(
    repo: Repo, commit: str, env: Environment, all_envs: list[Environment]
) -> tuple[dict[str, Deployment], list[Problem]]:
    """The deployments at ``commit`` that belong in ``env``, validated with the schemas there."""
    tree = gitrepo.GitTree(repo, commit)
    schemas = Schemas.from_snapshot(tree)
    listed = tree.list(DEPLOYMENTS_DIR)
    paths = [p for p in listed if is_deployment_file(p)]
    problems: list[Problem] = [bad for p in listed if (bad := layout_problem(p))]
    deployments: list[Deployment] = []
    for path, data in tree.read_many(paths).items():
        dep, found = parse_deployment(data, path, schemas)
        problems += found
        if dep is not None:
            deployments.append(dep)
    problems += cross_check(deployments, [e.name for e in all_envs])
    # two deployments moving one alias, InferenceService or file: refuse the whole state, since
    # applying either would change what the other serves under an approval that did not cover it
    problems += identity_problems(deployments, all_envs, repo.path)
    wanted = {d.name: d for d in deployments if d.serves_in(env.name, [e.name for e in all_envs])}
    return wanted, problems


def state_key(repo: Repo, commit: str, env: Environment) -> str:
    """A digest of everything that decides ENV's desired state at ``commit`` (`desired_state`):
    the deployment files, the schemas and rules they are checked with, the environments file, the
    environment's settings, and this foureyes itself (its checks and its bundled schema)."""
    found = gitrepo.GitTree(repo, commit).entries(
        [DEPLOYMENTS_DIR, DEPLOYMENT_SCHEMA, RULES_DIR, ENVIRONMENTS_FILE]
    )
    return hashlib.sha256(
        json.dumps([found, env.name, env.target, _own_digest()], sort_keys=True).encode()
    ).hexdigest()


@functools.cache
def _own_digest() -> str:
    """This foureyes' files and the versions of what parses and checks with it (an upgrade that
    judges the same files differently must not be skipped)."""
    import sys
    from importlib.metadata import PackageNotFoundError, version

    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256(sys.version.encode())
    for name in ("PyYAML", "jsonschema", "jsonschema-rs", "common-expression-language"):
        try:
            digest.update(f"\0{name}={version(name)}".encode())
        except PackageNotFoundError:
            digest.update(f"\0{name}=?".encode())
    for path in sorted(
        p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    ):
        digest.update(
            path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0"
        )
    return digest.hexdigest()


def plan_steps(
    wanted: dict[str, Deployment], deployed: dict[str, Entry], retarget: bool = False
) -> list[Step]:
    """``retarget``: the environment's target changed since the last deploy, so everything is applied."""
    steps = []
    for name in sorted(wanted):
        dep = wanted[name]
        entry = deployed.get(name)
        if entry is None:
            steps.append(Step(name, "create", None, dep.model))
        elif entry.data.get("model") != dep.model:
            steps.append(
                Step(
                    name,
                    "replace_model",
                    entry.model,
                    dep.model,
                    changes=field_changes(entry.data, dep.data, skip=("model",)),
                )
            )
        elif entry.data != dep.data or entry.status != "success" or retarget:
            steps.append(
                Step(
                    name,
                    "update",
                    entry.model,
                    dep.model,
                    changes=field_changes(entry.data, dep.data),
                )
            )
    for name in sorted(set(deployed) - set(wanted)):
        steps.append(Step(name, "delete", deployed[name].model, None))
    return steps


def deploy(
    repo: Repo,
    env_name: str,
    record: Record,
    provenance_source: PRSource,
    dry_run: bool = False,
    progress: Callable[[Step], object] = lambda step: None,
    commit: str = "HEAD",
    only: set[str] | None = None,
    branch: str | None = None,
    now: datetime | None = None,
) -> DeployResult:
    """``only``: apply just these deployments (one matrix job each); the environment's last deployed
    commit then stays where it is, for the run without ``only`` that converges everything.
    ``branch``: the branch being deployed, which approving PRs must have been merged into (or the
    default branch); without it, the default branch only. ``now`` (default: the clock) is when
    freeze windows are judged.

    A pipeline of stages, each deciding from what the one before it decided: `_scope` (what this
    run covers), `_desired` (the steps from the record to the registry at the commit, or the
    problems that stop it), `_converge` (nothing to apply), `_gates` (provenance, promotion,
    freezes), then the dry run's `_check_steps` or `_apply`."""
    scope = _scope(repo, env_name, record, commit, branch)
    result = DeployResult(scope.env.name, scope.head, dry_run=dry_run)
    desired = _desired(repo, scope, record, provenance_source, only)
    if desired.problems:
        result.problems = desired.problems
        return result
    result.steps = desired.steps
    never_deployed = _never_deployed(record, scope)
    if not result.steps:
        if only is None and not dry_run:
            _converge(repo, scope, record, provenance_source, never_deployed, result)
        return result
    gates = _gates(
        repo, scope, record, provenance_source, never_deployed, desired, result, dry_run, now
    )
    if dry_run:  # a dry run changes nothing, the event log included: it only reports
        if not result.violations:  # a check runs target code on the change: only on an approved one
            _check_steps(repo.path, scope.env, result, desired, gates)
        return result
    if result.violations:
        _record_violations(record, scope.env, result.violations)
        return result
    _apply(repo, scope, record, desired, gates, result, progress, only)
    return result


@dataclass(frozen=True)
class Scope:
    """What one deploy covers: the commit, the branch it is deployed from, its environment, and
    where the record says ENV stands."""

    head: str
    branch: str | None  # approving PRs must have been merged into it (None: the default branch)
    env: Environment
    all_envs: list[Environment]
    judging: list[str]  # paths whose every commit is checked, whatever the steps (JUDGING_PATHS)
    since: str | None  # the last complete deploy; None: never, or history rewritten (check it all)
    last_target: dict | None  # the target settings of the last complete deploy
    state: str  # `state_key` at head


def _scope(repo: Repo, env_name: str, record: Record, commit: str, branch: str | None) -> Scope:
    """The commit to deploy and its environment, whose target settings must check first (a typo, or
    a program the commit could change, is a configuration error before anything is read), and
    ``since``: provenance covers every commit after the last complete deploy that touched what is
    about to change or what judges every change (the policy, its rules and freezes, the
    environments), since a policy pushed past the PR rules would otherwise approve the next change
    itself. The history since then starts being read here, while the caller parses."""
    head = gitrepo.resolve(repo, commit)
    env, all_envs = environment(repo, head, env_name)
    check_settings(env.target, env.name, repo.path)
    judging = [*JUDGING_PATHS, *target_files(env.target, repo.path)]
    since = record.last_commit(env.name)
    if since and not _is_ancestor(repo, since, head):
        since = None  # history was rewritten: check all of it
    gitrepo.read_history_ahead(repo, f"{since}..{head}" if since else head)
    last_target = record.last_target(env.name)
    state = state_key(repo, head, env)
    return Scope(head, branch, env, all_envs, judging, since, last_target, state)


@dataclass(frozen=True)
class Desired:
    """The registry at the commit against the record: what should serve in ENV, what the record
    says serves there, and the steps between them (or the problems that stop the deploy)."""

    wanted: dict[str, Deployment] = field(default_factory=dict)
    deployed: dict[str, Entry] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _desired(
    repo: Repo,
    scope: Scope,
    record: Record,
    provenance_source: PRSource,
    only: set[str] | None,
) -> Desired:
    """The steps that make ENV match the registry at the commit: none, without parsing anything,
    when the record is in sync with this very state and target (applied in full, nothing written
    since: nothing can differ); none either when the registry has problems (the deploy stops on
    them). Everything is applied again when the target changed. ``only`` keeps just those
    deployments' steps, and a name that is neither wanted nor deployed is a configuration error (a
    typo must not read as "nothing to do")."""
    env = scope.env
    wanted: dict[str, Deployment]
    deployed: dict[str, Entry]
    steps: list[Step] = []
    if only is None and scope.last_target == env.target and record.in_sync(env.name, scope.state):
        wanted, deployed = {}, {}
    else:
        wanted, problems = desired_state(repo, scope.head, env, scope.all_envs)
        if problems:
            return Desired(problems=problems)
        deployed = record.entries(env.name)
        provenance_source.read_ahead()  # e.g. the offline ledger's files, meanwhile
        retarget = scope.last_target is not None and scope.last_target != env.target
        steps = plan_steps(wanted, deployed, retarget=retarget)
    if only is not None:
        for name in sorted(only - set(wanted) - set(deployed)):
            raise ConfigError(unknown_name("deployment", name, [*wanted, *deployed], env.name))
        steps = [s for s in steps if s.name in only]
    return Desired(wanted, deployed, steps)


def _never_deployed(record: Record, scope: Scope) -> bool:
    """No deploy of ENV was ever recorded, complete or not (the promotion rule's first deploy)."""
    return (
        scope.since is None
        and record.last_commit(scope.env.name) is None
        and not record.entries(scope.env.name)
    )


def _converge(
    repo: Repo,
    scope: Scope,
    record: Record,
    provenance_source: PRSource,
    never_deployed: bool,
    result: DeployResult,
) -> None:
    """Nothing to apply: ENV already matches the commit, provided every commit since the last
    complete deploy that touched what judges every change is approved and the promotion rule
    holds. Then the record moves ENV's last deployed commit to it (`_record_in_sync`); else the
    violations go to ``result`` and the event log, and the record stays."""
    head, since, branch, env = scope.head, scope.since, scope.branch, scope.env
    checker = Checker(repo, provenance_source, branch)
    states = state_commits(repo, head, since) if promoted_branch(checker, branch) else []
    _, result.violations = checker.check(
        _each_once(commits_touching(repo, since, head, scope.judging) + states)
    )
    _check_promotion(repo, scope, checker, states, never_deployed, result)
    if result.violations:
        _record_violations(record, env, result.violations)
        return
    _record_in_sync(record, env, head, scope.last_target, scope.state)


@dataclass(frozen=True)
class Gates:
    """What the gates let through: the approval of each checked commit, the steps a freeze holds
    (``frozen``) or that broke the glass (``glass``: name -> the windows), and the commit that last
    changed each path (whose approval a step carries)."""

    approvals: dict[str, Approval]
    glass: dict
    frozen: set
    last: dict[str, str]


def _gates(
    repo: Repo,
    scope: Scope,
    record: Record,
    provenance_source: PRSource,
    never_deployed: bool,
    desired: Desired,
    result: DeployResult,
    dry_run: bool,
    now: datetime | None,
) -> Gates:
    """Every commit since the last complete deploy that touched a step's deployment or what judges
    every change must come from an approved PR (``result.violations`` otherwise; the evaluations
    are kept in the record, except by a dry run), and so must the promotion rule hold. Freeze
    windows then hold the changes they cover unless break-glass carries them (`_hold_frozen`)."""
    head, since, branch, env = scope.head, scope.since, scope.branch, scope.env
    paths = [deployment_file(s.name) for s in result.steps] + scope.judging
    checker = Checker(repo, provenance_source, branch, cache=record, save=not dry_run)
    states = state_commits(repo, head, since) if promoted_branch(checker, branch) else []
    commits = _each_once(commits_touching(repo, since, head, paths) + states)
    approvals, result.violations = checker.check(commits)
    _check_promotion(repo, scope, checker, states, never_deployed, result)
    last = gitrepo.last_changes(repo, f"{since}..{head}" if since else head, paths)
    glass, frozen = _hold_frozen(
        repo,
        head,
        env,
        result,
        desired.wanted,
        desired.deployed,
        approvals,
        since,
        now,
        provenance_source,
    )
    return Gates(approvals, glass, frozen, last)


def _apply(
    repo: Repo,
    scope: Scope,
    record: Record,
    desired: Desired,
    gates: Gates,
    result: DeployResult,
    progress: Callable[[Step], object],
    only: set[str] | None,
) -> None:
    """Each step the gates let through goes to ENV's target, one at a time: recorded in_progress
    before the target runs, then its outcome with its events (and a break-glass warning) in one
    write. The refused changes are logged first. ENV's last deployed commit moves to the commit
    only when every step succeeded in a run that covered every deployment (not ``only``)."""
    head, env = scope.head, scope.env
    for line in result.frozen:
        record.add_event(
            "freeze",
            "warning",
            f"refused {line}",
            deployment=line.split(":", 1)[0],
            environment=env.name,
            data={"commit": head},
        )
    target = load_target(env.target, repo.path, env.name)
    for step in result.steps:
        if step.name in gates.frozen:
            continue
        change = _change_for(step, env, desired, gates)
        entry = Entry(env.name, step.name, change.deployment, head, change.approval)
        approval = change.approval
        record.begin(entry, step.action)
        try:
            step.message = target.apply(change)
            step.ok = True
        except TargetError as exc:
            step.ok, step.message = False, str(exc)
        except Exception as exc:  # a plugin's bug fails this deployment, not the record
            step.ok, step.message = False, f"{type(exc).__name__}: {exc}"
        # the outcome and its events are written together: a run killed between them would leave an
        # applied change the event log never heard of (the next run sees success and applies
        # nothing)
        events = [
            Event(
                "deploy",
                "ok" if step.ok else "failing",
                f"{step.action} {step.name}: {step.message}",
                step.name,
                env.name,
                {"commit": head, "approval": approval},
            )
        ]
        if step.name in gates.glass:
            events.append(
                Event(
                    "break_glass",
                    "warning",
                    f"{step.action} {step.name} during freeze "
                    f"({gates.glass[step.name]}) under break-glass: {step.message}",
                    step.name,
                    env.name,
                    {"commit": head, "approval": approval, "windows": gates.glass[step.name]},
                )
            )
        record.finish(entry, step.action, step.ok, step.message, events)
        progress(step)
    if result.ok and only is None:
        record.set_last_commit(env.name, head, env.target, scope.state)


def _change_for(step: Step, env: Environment, desired: Desired, gates: Gates) -> Change:
    """What the target receives for ``step``: the deployment as it should be (for a delete, as it
    was served) with the approval of the commit that last changed it."""
    dep = desired.wanted.get(step.name)
    deployed = desired.deployed
    data = dep.data if dep else deployed[step.name].data
    approval = _approval_for(
        gates.last.get(deployment_file(step.name)), gates.approvals, deployed.get(step.name)
    )
    return Change(
        step.action,
        env.name,
        step.name,
        data,
        approval,
        deployed[step.name].data if step.name in deployed else None,
    )


def _check_steps(
    root: Path, env: Environment, result: DeployResult, desired: Desired, gates: Gates
) -> None:
    """The dry run asks ENV's target to check each change it would apply (read-only): the message
    says what was verified; a failed check fails the step, so the dry run (the plan job) fails
    naming the deployment before anything is applied. Frozen steps keep the freeze's message."""
    target = load_target(env.target, root, env.name)
    for step in result.steps:
        if step.name in gates.frozen:
            continue
        change = _change_for(step, env, desired, gates)
        try:
            step.message = target.check(change)
        except TargetError as exc:
            step.ok, step.message = False, f"check failed: {exc}"
        except Exception as exc:  # a plugin's bug fails this check, not the run
            step.ok, step.message = False, f"check failed: {type(exc).__name__}: {exc}"


def _hold_frozen(
    repo: Repo,
    head: str,
    env: Environment,
    result: DeployResult,
    wanted: dict[str, Deployment],
    deployed: dict[str, Entry],
    approvals: dict[str, Approval],
    since: str | None,
    now: datetime | None,
    source: PRSource,
) -> tuple[dict, set]:
    """Freeze windows in force for ENV at ``now`` refuse the changes they cover (``result.frozen``;
    their steps stay unapplied), unless break-glass covers the whole change (``_broke_glass``).
    Windows are read at the deployed commit and at the default branch's tip, so an incident freeze
    merged to main also stops a release branch. Returns ({name: windows} of break-glass steps,
    the refused names)."""
    from datetime import datetime

    from ..judging import freeze, reading
    from ..registry.model import max_level

    now = now or datetime.now(UTC)
    trees = {head, gitrepo.branch_tip(repo, source.default_branch())}
    found = [reading.freezes_at(repo, gitrepo.GitTree(repo, c)) for c in sorted(trees)]
    freezes = freeze.Freezes(tuple(w for f in found for w in f.windows))
    glass: dict = {}
    frozen: set = set()
    if not freezes.windows:
        return glass, frozen
    for step in result.steps:
        levels = [d.importance for d in (wanted.get(step.name),) if d is not None]
        if step.name in deployed:
            levels.append(deployed[step.name].data.get("importance") or "critical")
        held = freeze.hold(
            freezes, now, [freeze.Touched(step.name, frozenset({env.name}), max_level(*levels))]
        )
        if held is None:
            continue
        if _broke_glass(repo, head, step.name, deployed.get(step.name), since, approvals):
            glass[step.name] = held.names
            continue
        step.message = held.describe()
        result.frozen.append(
            f"{step.name}: {held.describe()} in {env.name}; only a PR labelled "
            f"{held.label!r} with the policy's extra approvals goes through"
        )
        frozen.add(step.name)
    return glass, frozen


def _broke_glass(
    repo: Repo,
    head: str,
    name: str,
    entry: Entry | None,
    since: str | None,
    approvals: dict[str, Approval],
) -> bool:
    """Break-glass belongs to the PR that carries the frozen change: every commit that changed the
    deployment's file since it was last served here (else since the last complete deploy) must
    come from a PR that broke the glass. A later break-glass PR touching the same file does not
    carry an earlier, frozen change through."""
    start = since
    served_at = (
        entry.commit if entry is not None else None
    )  # newer than ``since`` after a matrix job
    if (
        served_at
        and _is_ancestor(repo, served_at, head)
        and (since is None or _is_ancestor(repo, since, served_at))
    ):
        start = served_at
    commits = gitrepo.commits_changing(
        repo, f"{start}..{head}" if start else head, [deployment_file(name)]
    ).get(deployment_file(name), [])
    judged = [approvals[c] for c in commits if c in approvals]
    return bool(judged) and len(judged) == len(commits) and all(a.break_glass for a in judged)


def _record_violations(record: Record, env: Environment, violations: list[Violation]) -> None:
    for v in violations:
        record.add_event(
            "provenance_violation",
            "failing",
            str(v),
            environment=env.name,
            data={"commit": v.commit, "reason": v.reason},
        )


def _record_in_sync(
    record: Record, env: Environment, head: str, last_target: dict | None, state: str
) -> None:
    """Nothing left to apply: ENV matches ``head`` (the matrix jobs applied it, or nothing changed),
    so
    the next deploy re-checks only the commits after it. Recorded once per commit, target and
    state."""
    if (
        record.last_commit(env.name) != head
        or last_target != env.target
        or (record.keeps_sync_state and not record.in_sync(env.name, state))
    ):
        record.set_last_commit(env.name, head, env.target, state)


def _each_once(commits: list[str]) -> list[str]:
    return list(dict.fromkeys(commits))


def _check_promotion(
    repo: Repo,
    scope: Scope,
    checker: Checker,
    states: list[str],
    never_deployed: bool,
    result: DeployResult,
) -> None:
    """The promotion rule (provenance.unpromoted), once every commit it names has been checked."""
    if result.violations:
        return
    why = unpromoted(
        repo,
        scope.head,
        scope.since,
        scope.branch,
        checker,
        states,
        never_deployed,
        scope.env.name,
    )
    if why:
        result.violations.append(Violation(scope.head, subject(repo, scope.head), why))


def _is_ancestor(repo: Repo, a: str, b: str) -> bool:
    try:
        repo.git("merge-base", "--is-ancestor", a, b)
        return True
    except gitrepo.GitError:
        return False


def _approval_for(
    last_commit: str | None, approvals: dict[str, Approval], entry: Entry | None
) -> dict:
    """The approval of the latest commit that changed the deployment's file (checked above), or
    what the record had when no commit in this span touched it (a retried or retargeted apply)."""
    if last_commit in approvals:
        return approvals[last_commit].to_json()
    return entry.approval if entry is not None else {}
