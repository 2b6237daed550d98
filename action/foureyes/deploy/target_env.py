"""What a deploy target needs from the machine it runs on: its extra installed, and its credentials
passed from GitHub secrets through the environment variables it reads (`target.env` in
registry/environments.yaml, which `foureyes init` wires into the deploy jobs)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..registry.model import Environment
    from .targets import Target

# Names no target may take, whatever it reads: a secret placed there would steer the runner, the
# shell, Python, pip, git or TLS of the job that holds the App token, or shadow what GitHub and the
# action set (GitHub docs, "Store information in variables": default variables are GITHUB_* and
# RUNNER_*; action inputs reach an action as INPUT_*).
RESERVED = (
    "GITHUB_*",
    "RUNNER_*",
    "ACTIONS_*",
    "INPUT_*",
    "FOUREYES_*",
    "STATE_*",
    "CI",
    "PATH",
    "HOME",
    "SHELL",
    "TMPDIR",
    "TEMP",
    "TMP",
    "LD_*",
    "DYLD_*",
    "PYTHON*",
    "BASH_*",
    "BASHOPTS",
    "SHELLOPTS",
    "ENV",
    "IFS",
    "PS4",
    "NODE_*",
    "PIP_*",
    "UV_*",
    "VIRTUAL_ENV",
    "GIT_*",
    "SSL_CERT_*",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "*_PROXY",
    "LANG",
    "LC_*",
    "TZ",
)


NOT_INSTALLED = "extra, which is not installed here"


def missing_extra(cls: type[Target]) -> str | None:
    """The problem of a target whose extra is not installed (None: it can load). A target names its
    extra and the modules that extra brings (``extra``, ``extra_modules``); the modules are looked
    up,
    not imported, so validate stays fast. Without this, validate passes and the deploy dies at
    apply."""
    extra = getattr(cls, "extra", None)
    absent = [m for m in getattr(cls, "extra_modules", ()) if _absent(m)]
    if not extra or not absent:
        return None
    return (
        f"the {extra} target needs the `{extra}` {NOT_INSTALLED} ({absent[0]} cannot be "
        f"imported): pip install 'foureyes[{extra}]'; in GitHub Actions give the foureyes action "
        f"`extras: {extra}` (`foureyes init` writes it from this file)"
    )


def _absent(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):  # a parent that fails to import, or a module without a spec
        return True


def env_problems(settings: dict, cls: type[Target], kind: str) -> list[tuple[tuple, str]]:
    """(path inside `target:`, message) for each variable `env` names that this target does not
    read,
    or that is reserved. A target lists the names it reads as patterns (``reads_env``); one that
    lists
    none gets no credentials (deny by default)."""
    reads = tuple(getattr(cls, "reads_env", ()))
    problems = []
    for name in settings.get("env") or {}:
        if any(fnmatchcase(name, pattern) for pattern in RESERVED):
            problems.append(
                (
                    ("env", name),
                    f"{name} is reserved (it would steer the job that deploys, not the "
                    f"target): name the variable the target reads",
                )
            )
        elif not any(fnmatchcase(name, pattern) for pattern in reads):
            took = f"reads only {', '.join(reads)}" if reads else "reads no environment variables"
            problems.append((("env", name), f"the {kind} target {took}, not {name}"))
    return problems


def without_env(settings: dict) -> dict:
    """The settings a plugin's own schema checks: `env` belongs to foureyes, not to the plugin."""
    return {k: v for k, v in settings.items() if k != "env"}


def needed_extras(environments: Iterable[Environment]) -> list[str]:
    """The extras the environments' targets need, sorted (what the action's `extras` input names)."""
    from .targets import TargetConfigError, _target_class

    found = set()
    for env in environments:
        try:
            extra = getattr(_target_class(env.target.get("type")), "extra", None)
        except TargetConfigError:
            continue  # an unknown type is reported by validate with its line
        if extra:
            found.add(extra)
    return sorted(found)


def credentials(environments: Iterable[Environment]) -> dict[str, dict[str, str]]:
    """variable -> {environment name: GitHub secret name}, over every environment's `target.env`."""
    wanted: dict[str, dict[str, str]] = {}
    for env in environments:
        for name, source in sorted((env.target.get("env") or {}).items()):
            wanted.setdefault(name, {})[env.name] = source["secret"]
    return wanted
