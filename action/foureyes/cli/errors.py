"""Fail closed: whatever goes wrong in a command ends it with a message, a hint where there is
one, and its exit code (2 unless the error says otherwise), never a traceback."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..errors import EXIT_ERROR

F = TypeVar("F", bound=Callable[..., Any])


def fail_closed(func: F) -> F:
    """Known errors become a one-line message and their exit code; an unexpected one exits 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from ..app.common import Failed, UsageProblem
        from ..errors import known_errors
        from ..report.console import error

        try:
            return func(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except UsageProblem as exc:  # the options make no request: click words the usage error
            raise click.UsageError(str(exc)) from None
        except Failed as exc:
            raise click.ClickException(str(exc)) from None
        except known_errors() as exc:
            error(f"foureyes: error: {exc}")
            hint = getattr(exc, "hint", None)
            if hint:
                error(f"hint: {hint}")
            sys.exit(getattr(exc, "exit_code", EXIT_ERROR))
        except Exception as exc:  # fail closed, but say what happened
            error(f"foureyes: internal error: {type(exc).__name__}: {exc}")
            sys.exit(EXIT_ERROR)

    return wrapper  # type: ignore[return-value]
