"""The errors that end a command with a clear message and exit 2 (fail closed)."""

from __future__ import annotations


class EvaluationError(Exception):
    """Something needed to reach a decision could not be had (API failure, missing data)."""


def known_errors() -> tuple[type[Exception], ...]:
    from .gitrepo import GitError
    from .registry import ConfigError
    from .yamlload import LoadError

    return (ConfigError, GitError, LoadError, EvaluationError, OSError)
