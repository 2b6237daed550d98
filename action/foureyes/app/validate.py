"""validate: check registry files against the schema and the organisation rules."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import EXIT_FAILED, EXIT_OK, SetupError
from .common import UsageProblem, repo_root

if TYPE_CHECKING:
    from ..registry.validate import Validation


@dataclass(frozen=True)
class ValidateRequest:
    paths: tuple[str, ...]  # files or folders; none: the registry and policy of the repository


@dataclass(frozen=True)
class ValidateResult:
    validation: Validation

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.validation.ok else EXIT_FAILED


def run(request: ValidateRequest) -> ValidateResult:
    from ..registry.validate import targets, validate
    from ..registry.yamlload import LoadError

    root = repo_root()
    try:
        files = targets(root, list(request.paths), Path.cwd())
    except LoadError as err:
        raise UsageProblem(str(err)) from None
    if not request.paths and not files:
        raise SetupError(
            f"no registry in {root}: registry/deployments/ and registry/environments.yaml are "
            "missing (`foureyes init` writes them)"
        )
    return ValidateResult(validate(root, files))
