"""The errors that end a command with a clear message and exit 2 (fail closed)."""

from __future__ import annotations


class ConfigError(Exception):
    """The policy, a schema or the environments file is unusable: evaluation cannot proceed."""


class EvaluationError(Exception):
    """Something needed to reach a decision could not be had (API failure, missing data)."""


def known_errors() -> tuple[type[Exception], ...]:
    from .gitrepo import GitError
    from .yamlload import LoadError

    return (ConfigError, GitError, LoadError, EvaluationError, OSError)
