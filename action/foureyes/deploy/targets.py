"""Deploy targets: plugins found through the entry-point group `foureyes.targets`.

A target receives one change (create, replace_model, update or delete) with the deployment as it
should be and its approval record, applies it idempotently, and returns a short result. Raising
TargetError marks that deployment failed; the record keeps it in_progress/failure for the next run.
Before that, `foureyes deploy --dry-run` asks the target to `check` the same change: read-only, it
says what it verified, or raises TargetError for what would fail at apply.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import FoureyesError
from ..registry.model import ENVIRONMENTS_FILE, ConfigError, Problem

if TYPE_CHECKING:
    from ..registry.model import Deployment, Environment

GROUP = "foureyes.targets"


class TargetError(FoureyesError):
    """A target could not check or apply a change."""


class TargetConfigError(TargetError, ConfigError):
    """The environment's `target:` is unusable (unknown type, bad settings): a configuration error
    (exit 2) found before anything is applied, never an internal one."""


@dataclass
class Change:
    action: str  # create | replace_model | update | delete
    environment: str
    name: str
    deployment: dict  # desired state; for delete, the state being removed
    approval: dict = field(default_factory=dict)  # status, pr, approvers, approved_at, commit
    previous: dict | None = None

    def to_json(self) -> dict:
        return {
            "action": self.action,
            "environment": self.environment,
            "name": self.name,
            "deployment": self.deployment,
            "approval": self.approval,
            "previous": self.previous,
        }


class Target:
    """Base class: ``settings`` is the environment's `target:` mapping; ``root`` the repository.
    ``settings_schema`` (a JSON Schema for that mapping, `type` included) lets `foureyes validate`
    check the settings before any deploy; a plugin without one gets only its type checked."""

    settings_schema: dict | None = None
    # the environment variables the target reads (fnmatch patterns): `target.env` may pass only
    # these
    reads_env: tuple[str, ...] = ()
    # the foureyes extra the target needs and the top-level modules it brings (None: no extra)
    extra: str | None = None
    extra_modules: tuple[str, ...] = ()

    def __init__(self, settings: dict, root: Path):
        self.settings = settings
        self.root = root

    def apply(self, change: Change) -> str:
        raise NotImplementedError

    def check(self, change: Change) -> str:
        """Read-only: what would make ``apply(change)`` fail or serve something else than approved.
        Returns what was verified; raises TargetError otherwise. A plugin without its own check
        is reported as unchecked (never as checked)."""
        return f"not checked: the {self.settings.get('type')} target has no check"

    @classmethod
    def serving_identity(
        cls, settings: dict, deployment: dict, environment: str, root: Path
    ) -> Identity | None:
        """What this target moves when it applies ``deployment`` in ``environment`` (an alias, a
        resource, a file). Two deployments that move one thing would let the lower one's approval
        change what the higher one serves, so `foureyes validate` and the deploy refuse that.
        None: the target cannot say (a third-party target without this method)."""
        return None

    @classmethod
    def config_problems(cls, settings: dict, root: Path | None) -> list[tuple[tuple, str]]:
        """(path inside `target:`, message) for what the schema cannot say: settings that fit it
        but would deploy somewhere else than meant. ``root``: the repository, when there is one.
        Asked by `foureyes validate` and again by the deploy before anything moves."""
        return []

    @classmethod
    def repository_files(cls, settings: dict, root: Path) -> list[str]:
        """The repository paths (files or folders) whose content decides what this target does,
        beyond the registry and the policies: the deploy checks that an approved PR brought every
        commit that changed them since the last deploy."""
        return []

    def path_setting(self, key: str = "path", default: str | None = None) -> Path:
        value = self.settings.get(key, default)
        if not value:
            raise TargetError(f"the {self.settings.get('type')} target needs `{key}`")
        path = Path(os.path.expandvars(str(value)))
        return path if path.is_absolute() else self.root / path


def settings_schema(properties: dict, required: tuple[str, ...] = (), **extra: object) -> dict:
    """A target's settings schema: its own keys plus `type`, nothing else (a typo is an error)."""
    return {
        "type": "object",
        "properties": {"type": {"type": "string"}, **properties},
        "required": ["type", *required],
        "additionalProperties": False,
        **extra,
    }


STRING = {"type": "string", "minLength": 1}


@dataclass(frozen=True)
class Identity:
    """One thing a target moves. ``key`` compares (two equal keys: one thing); ``field`` is the
    deployment field that decides it, for the line of a problem."""

    key: tuple
    describe: str
    field: tuple = ("name",)


def file_identity(settings: dict, key: str, name: str, root: Path) -> Identity | None:
    """The file a folder-writing target writes for ``name`` (as `Target.path_setting` finds it)."""
    value = settings.get(key)
    if not value:
        return None
    folder = Path(os.path.expandvars(str(value)))
    path = os.path.normpath(folder if folder.is_absolute() else root / folder)
    shown = (
        os.path.relpath(os.path.join(path, name), root)
        if not folder.is_absolute()
        else os.path.join(path, name)
    )
    return Identity(("file", os.path.join(path, name)), f"the file {shown}")


@functools.cache
def _installed() -> tuple:
    """The installed target plugins, looked up once per process (each lookup reads every installed
    distribution's metadata: 9 ms here, paid per deployment and environment otherwise)."""
    return tuple(entry_points(group=GROUP))


def _target_class(kind: object) -> type[Target]:
    found = [ep for ep in _installed() if ep.name == kind]
    if not found:
        import difflib

        known = sorted({ep.name for ep in _installed()})
        close = difflib.get_close_matches(str(kind), known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise TargetConfigError(
            f"unknown deploy target type {kind!r} (installed: {', '.join(known) or 'none'}){hint}"
        )
    try:
        return found[0].load()
    except ImportError as exc:
        raise TargetConfigError(
            f"deploy target {kind!r} needs an extra: {exc} (try `pip install foureyes[{kind}]`)"
        ) from None


def settings_problems(settings: dict, root: Path | None = None) -> list[tuple[tuple, str]]:
    """(path inside `target:`, message) for each problem of one environment's target settings:
    the type must be an installed plugin, the settings must fit that plugin's schema, and then
    its own rules (``Target.config_problems``; ``root``: the repository, when there is one)."""
    try:
        cls = _target_class(settings.get("type"))
    except TargetConfigError as exc:
        return [(("type",), str(exc))]
    from .target_env import env_problems, missing_extra, without_env

    extra = missing_extra(cls)
    found = [(("type",), extra)] if extra else []
    found += env_problems(settings, cls, str(settings.get("type")))
    declared = getattr(cls, "settings_schema", None)
    if declared:
        from ..registry.model import _Schema

        schema = _Schema(f"{settings.get('type')} target", declared, "target")
        errors = schema.errors(without_env(settings))
        if errors:  # the target's own rules read settings of the right shape only
            return found + [(path, message) for path, message, _ in errors[:1]]
    rules = getattr(cls, "config_problems", None)
    return found + (list(rules(settings, root)) if rules is not None else [])


def environment_problems(
    data: bytes,
    environments: Sequence[Environment],
    file: str = ENVIRONMENTS_FILE,
    root: Path | None = None,
) -> list[Problem]:
    """Target problems of every environment, located in the environments file."""
    from ..registry import yamlload

    problems = []
    for i, env in enumerate(environments):
        for path, message in settings_problems(env.target, root):
            text = data.decode("utf-8", "replace")
            line, col = yamlload.line_of(text, ("environments", i, "target", *path))
            problems.append(
                Problem(
                    file,
                    f"environment {env.name!r}: "
                    f"target{'.' if path else ''}{_prefixed(path, message)}",
                    line,
                    col,
                    "invalid environments",
                )
            )
    return problems


def check_settings(settings: dict, environment: str = "", root: Path | None = None) -> None:
    """Raise TargetConfigError for the first problem of a target's settings."""
    problems = settings_problems(settings, root)
    if problems:
        where = f"environment {environment!r}: " if environment else ""
        raise TargetConfigError(
            f"{ENVIRONMENTS_FILE}: "
            f"{where}target{'.' if problems[0][0] else ''}{_prefixed(*problems[0])} "
            f"(`foureyes validate` shows the line)"
        )


def target_files(settings: dict, root: Path) -> list[str]:
    """The repository paths that decide what the environment's target does (its settings already
    checked): the deploy traces their commits like the policies' (``Target.repository_files``)."""
    found = getattr(_target_class(settings.get("type")), "repository_files", None)
    return list(found(settings, root)) if found is not None else []


def _prefixed(path: tuple, message: str) -> str:
    where = ".".join(str(p) for p in path)
    if not where:
        return message
    return message if message.startswith(where + ":") else f"{where}: {message}"


def load_target(settings: dict, root: Path, environment: str = "") -> Target:
    """The environment's target, its settings checked first (TargetConfigError otherwise)."""
    check_settings(settings, environment, root)
    return _target_class(settings.get("type"))(settings, root)


def write_atomically(path: Path, text: str) -> None:
    """Write then rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(
            fd, 0o666 & ~_umask()
        )  # mkstemp makes it 0600; others read these files, as with open()
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0o022)  # reading the umask means setting it: put it straight back
    os.umask(mask)
    return mask


def manifest(change: Change) -> dict:
    return {
        "apiVersion": "foureyes/v1",
        "kind": "Deployment",
        "environment": change.environment,
        "name": change.name,
        "deployment": change.deployment,
        "approval": change.approval,
    }


class LocalTarget(Target):
    """Writes each deployment's rendered manifest, approval record included, into a folder."""

    settings_schema = settings_schema({"path": STRING}, ("path",))

    @classmethod
    def serving_identity(
        cls, settings: dict, deployment: dict, environment: str, root: Path
    ) -> Identity | None:
        return file_identity(settings, "path", f"{deployment['name']}.json", root)

    def apply(self, change: Change) -> str:
        path = self.path_setting() / f"{change.name}.json"
        if change.action == "delete":
            existed = path.exists()
            path.unlink(missing_ok=True)
            return f"removed {path.name}" if existed else f"{path.name} already absent"
        write_atomically(path, json.dumps(manifest(change), indent=2, sort_keys=True) + "\n")
        return f"wrote {path.name}"

    def check(self, change: Change) -> str:
        """Only that the folder can be written (or created); the file itself holds no state to
        check.
        Asked once per run: every step writes into the same folder."""
        if self._checked is None:
            self._checked = "checked: " + writable_folder(self.path_setting())
        return self._checked

    _checked: str | None = None


def writable_folder(folder: Path) -> str:
    """The folder exists and this process may create files in it, or its nearest existing parent
    may create it. Raises TargetError naming the path otherwise."""
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise TargetError(f"{probe} is not a folder: cannot write into {folder}")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise TargetError(
            f"{probe} is not writable: cannot "
            f"{'write into' if probe == folder else 'create'} {folder}"
        )
    return f"{folder} is writable" if probe == folder else f"{folder} can be created"


class CommandTarget(Target):
    """Runs the user's executable with the change as JSON on stdin (DataRobot-style custom plugin).
    Exit code 0 and a JSON object on stdout (optionally with "message") is success. The check runs
    it with `"dry_run": true` in that JSON (and FOUREYES_DRY_RUN=1): it must then change nothing."""

    settings_schema = settings_schema(
        {
            "command": {
                "oneOf": [STRING, {"type": "array", "items": {"type": "string"}, "minItems": 1}],
                "description": "the program and its arguments, e.g. [./deploy.sh, --env, prod]",
            },
            "timeout": {"type": "number", "exclusiveMinimum": 0},
            "check": {
                "type": "boolean",
                "description": "false: the program cannot dry-run; the plan does not run it",
            },
        },
        ("command",),
    )

    reads_env = ("*",)  # the user's own program: any credential it needs, but no reserved name

    @classmethod
    def config_problems(cls, settings: dict, root: Path | None) -> list[tuple[tuple, str]]:
        """A program (or an argument naming a file) in the repository must be governed."""
        from . import command_program

        return command_program.problems(settings, root)

    @classmethod
    def repository_files(cls, settings: dict, root: Path) -> list[str]:
        from . import command_program

        return command_program.repository_files(settings, root)

    # serving_identity: None. The program decides what it moves and foureyes cannot see it; it
    # receives the deployment's name, which is unique, and must key what it moves on that name.

    _refused: str | None = None  # why this run may not start the program ("" : it may)

    def apply(self, change: Change) -> str:
        return self._run(change.to_json(), {})

    def check(self, change: Change) -> str:
        if self.settings.get("check") is False:
            return "not checked: `check: false` (the program is only run to apply)"
        return "checked: " + self._run(
            {**change.to_json(), "dry_run": True}, {"FOUREYES_DRY_RUN": "1"}
        )

    def _run(self, payload: dict, env: dict) -> str:
        from . import command_program

        argv = command_program.argv_of(self.settings)
        if not argv:
            raise TargetError("the command target needs `command`: a list of arguments")
        environ = {**{k: v for k, v in os.environ.items() if k != "FOUREYES_DRY_RUN"}, **env}
        # judged again where it runs (PATH is the runner's), once per run: the file judged is the
        # one executed, and it must be as committed
        if self._refused is None:
            found = command_program.problems(self.settings, self.root)
            self._refused = (
                found[0][1] if found else command_program.uncommitted(self.settings, self.root)
            ) or ""
        if self._refused:
            raise TargetConfigError(f"command: {self._refused}")
        try:
            proc = subprocess.run(
                argv,
                executable=command_program.resolve(argv[0], self.root, environ),
                input=json.dumps(payload),
                capture_output=True,
                text=True,
                cwd=self.root,
                timeout=float(self.settings.get("timeout", 600)),
                env=environ,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise TargetError(f"command failed to run: {exc}") from None
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            raise TargetError(f"command exited {proc.returncode}: {tail[0]}")
        try:
            result = json.loads(proc.stdout or "{}")
        except ValueError:
            raise TargetError("command printed something that is not JSON on stdout") from None
        return str(result.get("message", "ok")) if isinstance(result, dict) else "ok"


def identities(
    deployment: Deployment, environments: Sequence[Environment], root: Path
) -> set[tuple]:
    """The keys of what ``deployment`` is served through in each environment it runs in."""
    return {key for key, _, _ in _claims([deployment], environments, root)}


def _claims(
    deployments: Sequence[Deployment], environments: Sequence[Environment], root: Path
) -> Iterator[tuple[tuple, tuple[Deployment, str], Identity]]:
    """(identity key, (deployment, environment name), identity) for each deployment in each
    environment it runs in whose target can say what it moves."""
    every = [e.name for e in environments]
    for env in environments:
        try:
            cls = _target_class(env.target.get("type"))
        except TargetConfigError:
            continue  # reported with its line by environment_problems
        for dep in sorted(deployments, key=lambda d: d.file):
            if not dep.serves_in(env.name, every):
                continue
            found = getattr(cls, "serving_identity", Target.serving_identity)(
                env.target, dep.data, env.name, root
            )
            if found is not None:
                yield found.key, (dep, env.name), found


def identity_problems(
    deployments: Sequence[Deployment],
    environments: Sequence[Environment],
    root: Path,
    file: str = ENVIRONMENTS_FILE,
) -> list[Problem]:
    """A serving identity (an MLflow registered model's alias, an InferenceService, a file) belongs
    to exactly one deployment in one environment: otherwise a change approved at one deployment's
    level moves what another, perhaps more important one, serves. One problem per claimant, each
    naming the others with their line."""
    from ..registry import yamlload

    claims: dict[tuple, list] = {}
    for key, (dep, env_name), found in _claims(deployments, environments, root):
        claims.setdefault(key, []).append((dep, env_name, found))
    problems = []
    for claimants in claims.values():
        if len(claimants) < 2:
            continue
        for dep, env_name, found in claimants:
            others, across = [], False
            for other, other_env, other_found in claimants:
                if (other.file, other_env) == (dep.file, env_name):
                    continue
                line, _ = yamlload.line_of(other.text, other_found.field)
                across |= other_env != env_name
                where = f" in {other_env!r}" if other_env != env_name else ""
                others.append(f"{other.file}:{line or 1} ({other.name!r}{where})")
            line, col = yamlload.line_of(dep.text, found.field)
            problems.append(
                Problem(
                    dep.file,
                    f"{found.describe} in environment {env_name!r} is also served by "
                    f"{', '.join(others)}: "
                    f"one deployment per serving identity; {_identity_hint(found, across, file)}",
                    line,
                    col,
                    "serving identity",
                )
            )
    return problems


def _identity_hint(found: Identity, across: bool, file: str) -> str:
    if across:
        return f"give each environment its own alias, namespace or path in {file}"
    return (
        "give each its own "
        f"{'model name' if found.field == ('model', 'name') else 'name'} or environments"
    )
