"""A PyGithub client that retries what is worth retrying, within bounds, and nothing else.

What GitHub documents, and what foureyes does with it:

- Rate limits ("Rate limits for the REST API", "Troubleshooting the REST API"): "If you exceed
  your primary rate limit, you will receive a 403 or 429 response, and the x-ratelimit-remaining
  header will be 0. If you exceed a secondary rate limit, you will receive a 403 or 429 response
  and an error message that indicates that you exceeded a secondary rate limit." Then: "If the
  retry-after response header is present, you should not retry your request until after that many
  seconds has elapsed. If the x-ratelimit-remaining header is 0, you should not make another
  request until after the time specified by the x-ratelimit-reset header [UTC epoch seconds].
  Otherwise, wait for at least one minute before retrying. If your request continues to fail due
  to a secondary rate limit, wait for an exponentially increasing amount of time between retries."
  A rate-limited request was refused, not applied, so any method (POST included) is waited out
  and sent again, as long as the waits of one request stay within MAX_WAIT; a longer wait fails
  closed with a clear error instead of holding the job.
- Writes are never sent twice when they may have been applied. A connection that could not be
  established (refused, DNS, connect timeout: urllib3's "connection errors", raised before the
  request is sent) is retried for every method. After the request went out (a read timeout, a
  dropped connection, any other error) only idempotent methods are retried: a POST whose answer
  was lost may have created a comment or a deployment. The same for 5xx: "If GitHub takes more
  than 10 seconds to process an API request, GitHub will terminate the request and you will
  receive a timeout response" ("Troubleshooting the REST API") says nothing of what was applied
  before, and a 502 from a proxy says even less, so a 5xx is retried for idempotent methods only;
  a write fails, and the deploy's find-before-create converges on the next run.

PyGithub's `GithubRetry` knows the 403 message forms (`Requester.isRateLimitError`) and how to
read a body inside the retry; it waits a fixed time for secondary limits, bounds neither
Retry-After nor 429s, and retries POSTs after read errors, so `BoundedRetry` decides the waits
itself with GitHub's rules above.
"""

from __future__ import annotations

import json
import os
import time
from typing import TYPE_CHECKING, Any, Protocol

from github.GithubRetry import GithubRetry
from github.Requester import Requester
from urllib3.exceptions import MaxRetryError
from urllib3.util.retry import Retry
from urllib3.util.util import reraise

from ..errors import EvaluationError

if TYPE_CHECKING:
    from types import TracebackType

    from github import Github
    from github.NamedUser import NamedUser
    from github.Repository import Repository
    from urllib3.connectionpool import ConnectionPool
    from urllib3.response import BaseHTTPResponse, HTTPResponse

DEFAULT_API = "https://api.github.com"
MAX_WAIT = 300  # seconds one request may wait for rate limits in all; past it fails closed
SECONDARY_WAIT = 60  # GitHub: "wait for at least one minute", then exponentially longer
IDEMPOTENT = frozenset(
    {"GET", "HEAD", "OPTIONS", "PUT", "DELETE"}
)  # HTTP: sending twice changes nothing more
RATE_LIMITED = (403, 429)

# the clock and the sleep the waits use: tests pin the one and record the other (no real waiting)
now = time.time
pause = time.sleep


class BoundedRetry(GithubRetry):
    """GitHub's retry rules (module docstring): rate limits waited out within MAX_WAIT, for any
    method; errors after sending and 5xx retried for idempotent methods only."""

    def __init__(self, waited: float = 0.0, limited: int = 0, **kwargs: Any) -> None:
        kwargs["allowed_methods"] = kwargs.get("allowed_methods", IDEMPOTENT)
        super().__init__(**kwargs)
        self.waited = waited  # seconds this request already waited for rate limits
        self.limited = limited  # secondary rate limits met without Retry-After (the exponent)
        self.wait: float | None = None  # the rate-limit wait before the next attempt

    def new(self, **kw: Any) -> BoundedRetry:
        kw.setdefault("waited", self.waited)
        kw.setdefault("limited", self.limited)
        return super().new(**kw)

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if (
            status_code in RATE_LIMITED
        ):  # maybe a rate limit, refused whatever the method: increment decides
            return bool(self.total)
        return super().is_retry(
            method, status_code, has_retry_after
        )  # 5xx: idempotent methods only

    def increment(  # type: ignore[override]  # as GithubRetry.increment, which it extends
        self,
        method: str | None = None,
        url: str | None = None,
        response: HTTPResponse | None = None,  # type: ignore[override]
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> Retry:
        if (
            error is not None
            and not self._is_connection_error(error)
            and not self._is_method_retryable(method or "")
        ):
            raise reraise(
                type(error), error, _stacktrace
            )  # the request went out: it may have been applied
        wait, why = (None, "")
        if response is not None:
            wait, why = self._rate_limit_wait(response, url)
        if wait is not None and self.waited + wait > MAX_WAIT:
            raise EvaluationError(
                f"GitHub rate limit ({why}): the next try would have to wait {int(wait)}s, "
                "past foureyes' "
                f"bound of {MAX_WAIT}s of waiting per request; failing closed (re-run the "
                "job later)"
            )
        try:
            retry = Retry.increment(self, method, url, response, error, _pool, _stacktrace)
        except MaxRetryError:
            if wait is None or response is None or response.status not in RATE_LIMITED:
                raise
            raise EvaluationError(
                f"GitHub rate limit ({why}): still limited after {len(self.history) + 1} "
                "tries; failing closed (re-run the job later)"
            ) from None
        if wait is not None:
            retry.wait, retry.waited = wait, self.waited + wait
            retry.limited = self.limited + (why == "secondary rate limit")
        return retry

    def _rate_limit_wait(self, response: HTTPResponse, url: str | None) -> tuple[float | None, str]:
        """How long GitHub says to wait before sending again, and why; (None, "") if this is no rate limit."""
        retry_after = self.get_retry_after(response)
        if response.status not in RATE_LIMITED:
            return (retry_after, "Retry-After") if retry_after is not None else (None, "")
        if retry_after is not None:
            return retry_after, "Retry-After"
        headers = response.headers
        reset = str(headers.get("x-ratelimit-reset") or "")
        if headers.get("x-ratelimit-remaining") == "0" and reset.isdigit():
            return max(
                int(reset) - now(), 0
            ) + 1, f"primary rate limit, resets at epoch {reset}"  # +1: within that second
        if response.status == 429:
            return SECONDARY_WAIT * 2**self.limited, "secondary rate limit"
        content = self.get_content(
            response, url or ""
        )  # a 403: only its message tells a rate limit from a refusal
        try:
            body = json.loads(content)
        except ValueError:
            body = {}
        message = body.get("message") if isinstance(body, dict) else None
        if Requester.isRateLimitError(message or ""):
            return SECONDARY_WAIT * 2**self.limited, "secondary rate limit"
        # a refusal, not retried; the body is read, so the answer is raised here (as GithubRetry
        # does)
        raise Requester.createException(
            response.status, dict(headers), body if isinstance(body, dict) else {}
        )

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        wait = self.wait
        if wait is None and response is not None and self.respect_retry_after_header:
            wait = self.get_retry_after(response)
        if wait is None:
            wait = self.get_backoff_time()
        if wait > 0:
            pause(wait)


class GitHubClient(Protocol):
    """What foureyes asks of a GitHub client: github.Github (make_client) or a wrapper of one
    (the deploy's once-per-run repository cache)."""

    @property
    def requester(self) -> Requester: ...

    def get_repo(self, full_name_or_id: str, /) -> Repository: ...

    def get_user(self, login: str, /) -> NamedUser: ...


def make_retry() -> Retry:
    return BoundedRetry(
        total=3,
        connect=3,
        read=2,
        backoff_factor=0.5,
        backoff_max=10,
        status_forcelist=[500, 502, 503, 504],
        raise_on_status=False,
        respect_retry_after_header=True,
    )


def make_client(token: str | None = None, api_url: str | None = None, timeout: int = 30) -> Github:
    from github import Auth, Github

    token = token or os.environ.get("GITHUB_TOKEN")
    if not token:
        raise EvaluationError("no GitHub token: set GITHUB_TOKEN or pass --token")
    return Github(
        auth=Auth.Token(token),
        base_url=(api_url or os.environ.get("GITHUB_API_URL") or DEFAULT_API).rstrip("/"),
        per_page=100,
        retry=make_retry(),
        timeout=timeout,
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


def get_json(gh: GitHubClient, path: str, failure: str) -> Any:
    """GET ``path``'s JSON; any API failure fails closed as ``<failure>: <what GitHub said>``."""
    try:
        _, data = gh.requester.requestJsonAndCheck("GET", path)
    except api_errors() as exc:
        raise EvaluationError(f"{failure}: {describe(exc)}") from None
    return data


# GitHub refuses a longer issue or PR comment with 422 "Body is too long (maximum is 65536
# characters)" (the error GitHub returns from POST /repos/{o}/{r}/issues/{n}/comments and PATCH
# /repos/{o}/{r}/issues/comments/{id}; the OpenAPI description states no limit). Counted in UTF-16
# code units, the stricter of the counts a server may use for "characters", so no body is refused.
MAX_COMMENT = 65536
TRUNCATED = (
    "\n\n---\n✂️ *foureyes cut this comment at GitHub's limit of 65,536 characters; "
    "the full report is in the workflow run's step summary.*\n"
)


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
