"""CLI steps several test modules take: the plan of a change as JSON, and validate's problems with
the environments file."""

from __future__ import annotations

import json
from collections.abc import Callable

from .repos import Repo

ENVS = "registry/environments.yaml"


def plan_json(cli: Callable, base: str = "main", head: str = "HEAD") -> tuple[int, dict]:
    result = cli("plan", "--base", base, "--head", head, "--format", "json")
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.output)


def problems_of(cli: Callable) -> tuple[int, list[dict]]:
    """validate's exit code and its problems with the environments file."""
    result = cli("validate", "--format", "json")
    return result.exit_code, [p for p in json.loads(result.output)["problems"] if p["file"] == ENVS]


def line_of(repo: Repo, fragment: str) -> int:
    """The line of the environments file that holds ``fragment``."""
    return next(i for i, line in enumerate(repo.read(ENVS).splitlines(), 1) if fragment in line)
