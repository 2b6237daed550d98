"""The one error base: every error foureyes raises on purpose ends a command with a clear message,
its exit code and, where there is one, a hint, never a traceback (fail closed)."""

from __future__ import annotations

# the CLI's exit codes: 0 done or approved, 1 refused or not (yet) approved, 2 an error
EXIT_OK, EXIT_FAILED, EXIT_ERROR = 0, 1, 2


class FoureyesError(Exception):
    """An error a person can act on. ``exit_code``: what the command exits with (2, an error, unless
    a subclass says it is a refusal); ``hint``: what to do about it, shown on a line of its own."""

    exit_code = EXIT_ERROR
    hint: str | None = None

    def __init__(self, *args: object, hint: str | None = None) -> None:
        super().__init__(*args)
        if hint is not None:
            self.hint = hint


class ConfigError(FoureyesError):
    """The policy, a schema or the environments file is unusable: evaluation cannot proceed."""


class EvaluationError(FoureyesError):
    """Something needed to reach a decision could not be had (API failure, missing data)."""


class SetupError(FoureyesError):
    """Something the command needs is not there (a repository, a registry, a known name): exit 2,
    said plainly."""


class Refused(FoureyesError):
    """What was asked cannot be done as asked (nothing to promote, no version to roll back to):
    exit 1, as a refused change, not an error."""

    exit_code = EXIT_FAILED


def known_errors() -> tuple[type[Exception], ...]:
    """What a command turns into its message and exit code: foureyes' own errors, and the
    operating system's (a file that cannot be read or written)."""
    return (FoureyesError, OSError)
