"""A PyGithub client that retries what is worth retrying, within bounds, and nothing else."""

from __future__ import annotations

import os

from urllib3.util.retry import Retry

from ..errors import EvaluationError

DEFAULT_API = "https://api.github.com"
MAX_WAIT = 60  # seconds: a longer Retry-After fails closed instead of holding the job


class BoundedRetry(Retry):
    """5xx and secondary rate limits (429, or 403 with Retry-After) are retried with backoff;
    a Retry-After longer than MAX_WAIT ends the run with a clear error."""

    def is_retry(self, method, status_code, has_retry_after=False):
        if status_code == 403:
            return has_retry_after and self.total is not None and self.total > 0
        return super().is_retry(method, status_code, has_retry_after)

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
        if response is not None:
            wait = self.get_retry_after(response)
            if wait is not None and wait > MAX_WAIT:
                raise EvaluationError(
                    f"GitHub asks to wait {int(wait)}s before retrying (rate limited); failing closed")
        return super().increment(method, url, response, error, _pool, _stacktrace)


def make_retry() -> Retry:
    return BoundedRetry(
        total=3, connect=3, read=2, backoff_factor=0.5, backoff_max=10,
        status_forcelist=(429, 500, 502, 503, 504), allowed_methods=None, raise_on_status=False,
        respect_retry_after_header=True,
    )


def make_client(token: str | None = None, api_url: str | None = None):
    from github import Auth, Github

    token = token or os.environ.get("GITHUB_TOKEN")
    if not token:
        raise EvaluationError("no GitHub token: set GITHUB_TOKEN or pass --token")
    return Github(
        auth=Auth.Token(token),
        base_url=(api_url or os.environ.get("GITHUB_API_URL") or DEFAULT_API).rstrip("/"),
        per_page=100,
        retry=make_retry(),
        timeout=30,
        seconds_between_requests=None,
        seconds_between_writes=None,
        lazy=True,  # objects are fetched when read, so no request is made for what is never used
    )


def describe(exc: Exception) -> str:
    """A one-line message for an API failure."""
    from github import GithubException, RateLimitExceededException
    from requests import RequestException

    if isinstance(exc, RateLimitExceededException):
        reset = (exc.headers or {}).get("x-ratelimit-reset")
        return f"GitHub API rate limit exhausted{f' (resets at epoch {reset})' if reset else ''}"
    if isinstance(exc, GithubException):
        message = exc.data.get("message") if isinstance(exc.data, dict) else exc.data
        return f"GitHub API returned {exc.status}: {message}"
    if isinstance(exc, RequestException):
        return f"GitHub API unreachable: {type(exc).__name__}"
    return f"{type(exc).__name__}: {exc}"


def api_errors() -> tuple[type[Exception], ...]:
    from github import GithubException
    from requests import RequestException

    return (GithubException, RequestException)


# GitHub refuses a longer issue or PR comment with 422 "Body is too long (maximum is 65536
# characters)" (the error GitHub returns from POST /repos/{o}/{r}/issues/{n}/comments and PATCH
# /repos/{o}/{r}/issues/comments/{id}; the OpenAPI description states no limit). Counted in UTF-16
# code units, the stricter of the counts a server may use for "characters", so no body is refused.
MAX_COMMENT = 65536
TRUNCATED = "\n\n---\n✂️ *foureyes cut this comment at GitHub's limit of 65,536 characters; the full report is in the workflow run's step summary.*\n"


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def cap_comment(body: str) -> str:
    """Every comment foureyes writes goes through here: a body GitHub would refuse is cut, with a note."""
    if _utf16(body) <= MAX_COMMENT:
        return body
    room = MAX_COMMENT - _utf16(TRUNCATED)
    cut = body[:room]
    while _utf16(cut) > room:  # astral characters count twice in UTF-16
        cut = cut[: len(cut) - (_utf16(cut) - room + 1) // 2 - 1]
    return cut + TRUNCATED
