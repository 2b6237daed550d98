"""Git plumbing: read repository files at a ref, and what changed between two refs."""

from .objects import *  # noqa: F403
from .objects import (  # noqa: F401  (private names the tests and a few callers still reach)
    _IMMUTABLE,
    _BatchReader,
    _diff_pairs,
    _is_sha,
    _log_changes,
    _read_log_changes,
    subprocess,
)
