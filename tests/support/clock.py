"""The suite's one clock. Every date a test writes (commit dates, review and merge times, "now"
handed
to foureyes) derives from NOW, so no test changes its meaning with the day it runs on; `.ci/run`
runs
the suite under faketime 400 days ahead to keep it that way."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)

# Test repositories commit from two days before NOW, one second per git call, so commits precede the
# reviews (NOW - 2h) and merges (NOW) that GitHub stand-ins report for them, in the order they are
# made.
GIT_START = NOW - timedelta(days=2)


def at(**offset: float) -> datetime:
    """NOW moved by timedelta keywords: ``at(hours=-2)``."""
    return NOW + timedelta(**offset)


def iso(moment: datetime) -> str:
    """GitHub's timestamp form: 2026-11-22T12:00:00Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def review_time(n: int) -> str:
    """When the n-th review of a PR was submitted: NOW - 2h, a minute apart (ordered like n)."""
    return iso(at(hours=-2, minutes=n % 60, seconds=n // 60))


class GitClock:
    """Author and committer dates for successive git calls of one repository, one second apart."""

    def __init__(self, start: datetime = GIT_START):
        self._ticks = itertools.count()
        self._start = start

    def env(self) -> dict[str, str]:
        stamp = f"{int((self._start + timedelta(seconds=next(self._ticks))).timestamp())} +0000"
        return {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}
