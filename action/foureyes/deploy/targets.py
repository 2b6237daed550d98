"""Deploy targets: plugins found through the entry-point group `foureyes.targets`.

A target receives one change (create, replace_model, update or delete) with the deployment as it
should be and its approval record, applies it idempotently, and returns a short result. Raising
TargetError marks that deployment failed; the record keeps it in_progress/failure for the next run.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path

from ..registry import ENVIRONMENTS_FILE, ConfigError, Problem

GROUP = "foureyes.targets"


class TargetError(Exception):
    pass


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
        return {"action": self.action, "environment": self.environment, "name": self.name,
                "deployment": self.deployment, "approval": self.approval, "previous": self.previous}


class Target:
    """Base class: ``settings`` is the environment's `target:` mapping; ``root`` the repository.
    ``settings_schema`` (a JSON Schema for that mapping, `type` included) lets `foureyes validate`
    check the settings before any deploy; a plugin without one gets only its type checked."""

    settings_schema: dict | None = None

    def __init__(self, settings: dict, root: Path):
        self.settings = settings
        self.root = root

    def apply(self, change: Change) -> str:
        raise NotImplementedError

    def path_setting(self, key: str = "path", default: str | None = None) -> Path:
        value = self.settings.get(key, default)
        if not value:
            raise TargetError(f"the {self.settings.get('type')} target needs `{key}`")
        path = Path(os.path.expandvars(str(value)))
        return path if path.is_absolute() else self.root / path


def settings_schema(properties: dict, required: tuple[str, ...] = (), **extra) -> dict:
    """A target's settings schema: its own keys plus `type`, nothing else (a typo is an error)."""
    return {"type": "object", "properties": {"type": {"type": "string"}, **properties},
            "required": ["type", *required], "additionalProperties": False, **extra}


STRING = {"type": "string", "minLength": 1}


def _target_class(kind) -> type[Target]:
    found = [ep for ep in entry_points(group=GROUP) if ep.name == kind]
    if not found:
        import difflib

        known = sorted({ep.name for ep in entry_points(group=GROUP)})
        close = difflib.get_close_matches(str(kind), known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise TargetConfigError(f"unknown deploy target type {kind!r} (installed: {', '.join(known) or 'none'}){hint}")
    try:
        return found[0].load()
    except ImportError as exc:
        raise TargetConfigError(f"deploy target {kind!r} needs an extra: {exc} (try `pip install foureyes[{kind}]`)") from None


def settings_problems(settings: dict) -> list[tuple[tuple, str]]:
    """(path inside `target:`, message) for each problem of one environment's target settings:
    the type must be an installed plugin, and the settings must fit that plugin's schema."""
    try:
        cls = _target_class(settings.get("type"))
    except TargetConfigError as exc:
        return [(("type",), str(exc))]
    if not getattr(cls, "settings_schema", None):
        return []
    from ..registry import _Schema

    schema = _Schema(f"{settings.get('type')} target", cls.settings_schema, "target")
    return [(path, message) for path, message, _ in schema.errors(settings)[:1]]


def environment_problems(data: bytes, environments, file: str = ENVIRONMENTS_FILE) -> list[Problem]:
    """Target problems of every environment, located in the environments file."""
    from .. import yamlload

    problems = []
    for i, env in enumerate(environments):
        for path, message in settings_problems(env.target):
            text = data.decode("utf-8", "replace")
            line, col = yamlload.line_of(text, ("environments", i, "target", *path))
            problems.append(Problem(file, f"environment {env.name!r}: target{'.' if path else ''}{_prefixed(path, message)}", line, col,
                                    "invalid environments"))
    return problems


def check_settings(settings: dict, environment: str = "") -> None:
    """Raise TargetConfigError for the first problem of a target's settings."""
    problems = settings_problems(settings)
    if problems:
        where = f"environment {environment!r}: " if environment else ""
        raise TargetConfigError(f"{ENVIRONMENTS_FILE}: {where}target{'.' if problems[0][0] else ''}{_prefixed(*problems[0])} "
                                f"(`foureyes validate` shows the line)")


def _prefixed(path: tuple, message: str) -> str:
    where = ".".join(str(p) for p in path)
    if not where:
        return message
    return message if message.startswith(where + ":") else f"{where}: {message}"


def load_target(settings: dict, root: Path, environment: str = "") -> Target:
    check_settings(settings, environment)
    return _target_class(settings.get("type"))(settings, root)


def write_atomically(path: Path, text: str) -> None:
    """Write then rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes it 0600; others read these files, as with open()
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
    return {"apiVersion": "foureyes/v1", "kind": "Deployment", "environment": change.environment,
            "name": change.name, "deployment": change.deployment, "approval": change.approval}


class LocalTarget(Target):
    """Writes each deployment's rendered manifest, approval record included, into a folder."""

    settings_schema = settings_schema({"path": STRING}, ("path",))

    def apply(self, change: Change) -> str:
        path = self.path_setting() / f"{change.name}.json"
        if change.action == "delete":
            existed = path.exists()
            path.unlink(missing_ok=True)
            return f"removed {path.name}" if existed else f"{path.name} already absent"
        write_atomically(path, json.dumps(manifest(change), indent=2, sort_keys=True) + "\n")
        return f"wrote {path.name}"


class CommandTarget(Target):
    """Runs the user's executable with the change as JSON on stdin (DataRobot-style custom plugin).
    Exit code 0 and a JSON object on stdout (optionally with "message") is success."""

    settings_schema = settings_schema({
        "command": {"oneOf": [STRING, {"type": "array", "items": {"type": "string"}, "minItems": 1}],
                    "description": "the program and its arguments, e.g. [./deploy.sh, --env, prod]"},
        "timeout": {"type": "number", "exclusiveMinimum": 0},
    }, ("command",))

    def apply(self, change: Change) -> str:
        command = self.settings.get("command")
        if not command or not isinstance(command, (list, str)):
            raise TargetError("the command target needs `command`: a list of arguments")
        argv = command if isinstance(command, list) else [command]
        try:
            proc = subprocess.run([str(a) for a in argv], input=json.dumps(change.to_json()), capture_output=True,
                                  text=True, cwd=self.root, timeout=float(self.settings.get("timeout", 600)))
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
