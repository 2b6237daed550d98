"""What a run has learned of a repository."""

from __future__ import annotations

from typing import Any

# answers about full SHAs, which never change: (question, root, shas) -> answer. Each question
# has its own answer type (a SHA, a tuple of Change, of log records...), known to the one function
# that asks it, hence Any
_IMMUTABLE: dict[tuple[object, ...], Any] = {}
