"""GitHub faults handled within bounds, played through the real HTTP stack (requests, urllib3's
retry loop, PyGithub) against a local server that answers as GitHub does or drops the answer: a
mocked transport would skip the very retry loop under test.

Attacks/faults: a POST that reached GitHub but whose answer was lost must not be sent again (a
duplicate comment or deployment); a secondary rate limit without Retry-After must be waited out
(GitHub: at least a minute, then exponentially longer), a primary one until x-ratelimit-reset,
and a wait past the bound fails closed with exit 2. No real waiting: the sleep is recorded and
the clock pinned."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from jsonschema import Draft4Validator
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import ReadTimeout

from foureyes.errors import EvaluationError
from foureyes.github import client
from ghapi.mockgithub import COMPONENTS, check, check_request, example

DEPLOYMENTS = "/repos/acme/models/deployments"
BODY = {
    "ref": "main",
    "task": "deploy:fraud-scorer",
    "environment": "staging",
    "payload": {},
    "auto_merge": False,
    "required_contexts": [],
}
SECONDARY = {
    "message": "You have exceeded a secondary rate limit. Please wait a few minutes before "
    "you try again.",
    "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
}
PRIMARY = {
    "message": "API rate limit exceeded for installation ID 1.",
    "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
}
EPOCH = 1_795_000_000  # the pinned clock: 2026-11-18, a fixed instant
for error in (SECONDARY, PRIMARY):  # GitHub's error bodies are its "basic-error" schema
    assert not list(Draft4Validator(COMPONENTS["schemas"]["basic-error"]).iter_errors(error))
check_request(DEPLOYMENTS.replace("acme/models", "{owner}/{repo}"), "post", BODY)


class GitHubStandIn(ThreadingHTTPServer):
    """Answers requests in the order scripted: ("answer", status, headers, body), ("drop",): the
    request is read, then the connection closed unanswered (applied, answer lost), ("hang",): read,
    then no answer until the client gave up. Every request that arrived is in ``seen``."""

    daemon_threads = True

    def __init__(self, script):
        self.script, self.seen, self.release = list(script), [], threading.Event()
        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        self.server.seen.append((self.command, self.path.split("?")[0], body))
        step = (
            self.server.script.pop(0)
            if self.server.script
            else ("answer", 500, {}, {"message": "unscripted"})
        )
        if step[0] == "drop":
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if step[0] == "hang":
            self.server.release.wait(10)
            return
        _, status, headers, payload = step
        data = json.dumps(payload).encode()
        self.send_response(status)
        for k, v in {"Content-Type": "application/json", **headers}.items():
            self.send_header(k, str(v))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = _serve


@pytest.fixture
def github(monkeypatch):
    """Start a stand-in with a script; the sleeps the retry asks for are recorded, never slept."""
    waits: list[float] = []
    monkeypatch.setattr(client, "pause", waits.append)
    monkeypatch.setattr(client, "now", lambda: EPOCH)
    servers = []

    def start(*script):
        server = GitHubStandIn(script)
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        servers.append(server)
        return server, waits

    yield start
    for server in servers:
        server.release.set()
        server.shutdown()
        server.server_close()


def created() -> dict:
    d = example("deployment-simple-example")
    check("/repos/{owner}/{repo}/deployments", "post", "201", d)
    return d


def listed() -> list:
    items = [example("deployment-simple-example")]
    check("/repos/{owner}/{repo}/deployments", "get", "200", items)
    return items


def request(server, method: str, timeout: int = 30):
    gh = client.make_client("t", server.url, **({"timeout": timeout} if timeout != 30 else {}))
    if method == "POST":
        return gh.requester.requestJsonAndCheck("POST", DEPLOYMENTS, input=BODY)
    return gh.requester.requestJsonAndCheck("GET", DEPLOYMENTS)


def test_a_post_whose_answer_is_lost_is_not_sent_again(github):
    server, _waits = github(("drop",), ("answer", 201, {}, created()))
    with pytest.raises(RequestsConnectionError):
        request(server, "POST")
    assert [m for m, _, _ in server.seen] == ["POST"]  # GitHub may have created it: sent once


def test_a_post_whose_read_times_out_is_not_sent_again(github):
    server, _waits = github(("hang",), ("answer", 201, {}, created()))
    with pytest.raises(ReadTimeout):
        request(server, "POST", timeout=1)  # PyGithub takes whole seconds
    assert [m for m, _, _ in server.seen] == ["POST"]


def test_a_post_answered_502_is_not_sent_again(github):
    # GitHub documents no guarantee that a timed-out or proxied write was not applied
    server, _waits = github(
        ("answer", 502, {}, {"message": "Server Error"}), ("answer", 201, {}, created())
    )
    with pytest.raises(Exception) as failed:
        request(server, "POST")
    assert getattr(failed.value, "status", None) == 502 and len(server.seen) == 1


def test_a_get_whose_answer_is_lost_or_502_is_retried(github):
    server, waits = github(
        ("drop",), ("answer", 502, {}, {"message": "Server Error"}), ("answer", 200, {}, listed())
    )
    _, data = request(server, "GET")
    assert data == listed() and [m for m, _, _ in server.seen] == ["GET"] * 3
    assert all(w <= 10 for w in waits)  # backoff, bounded


def test_a_connection_refused_before_sending_is_retried_even_for_a_post(github, monkeypatch):
    """Nothing reached GitHub: safe to send. The first connect is refused, the next one served."""
    server, _waits = github(("answer", 201, {}, created()))
    import urllib3.connection

    real = urllib3.connection.HTTPConnection._new_conn
    refused = []

    def refuse_once(self):
        if not refused:
            refused.append(1)
            raise urllib3.exceptions.NewConnectionError(self, "Connection refused")
        return real(self)

    monkeypatch.setattr(urllib3.connection.HTTPConnection, "_new_conn", refuse_once)
    _, data = request(server, "POST")
    assert data["id"] == created()["id"] and len(server.seen) == 1 and refused == [1]


@pytest.mark.parametrize("status", [403, 429])
def test_a_secondary_rate_limit_without_retry_after_is_waited_a_minute_then_succeeds(
    github, status
):
    server, waits = github(("answer", status, {}, SECONDARY), ("answer", 201, {}, created()))
    _, data = request(server, "POST")  # refused, not applied: a POST is sent again
    assert data["id"] == created()["id"] and len(server.seen) == 2 and waits == [60]


def test_secondary_rate_limits_wait_exponentially_longer_then_fail_closed_past_the_bound(github):
    limited = ("answer", 429, {}, SECONDARY)
    server, waits = github(limited, limited, limited, ("answer", 200, {}, listed()))
    with pytest.raises(EvaluationError) as failed:
        request(server, "GET")
    assert waits == [60, 120]  # the next (240s) would pass the 300s bound
    assert "secondary rate limit" in str(failed.value) and "failing closed" in str(failed.value)
    assert len(server.seen) == 3


def test_remaining_zero_waits_until_the_reset(github):
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(EPOCH + 100)}
    server, waits = github(("answer", 403, headers, PRIMARY), ("answer", 200, {}, listed()))
    _, data = request(server, "GET")
    assert data == listed() and waits == [101]  # until the reset, within that second


def test_retry_after_is_waited_as_given(github):
    server, waits = github(
        ("answer", 403, {"Retry-After": "7"}, SECONDARY), ("answer", 200, {}, listed())
    )
    request(server, "GET")
    assert waits == [7]


def test_a_403_that_is_no_rate_limit_is_not_retried(github):
    refusal = {
        "message": "Resource not accessible by integration",
        "documentation_url": "https://docs.github.com",
    }
    server, waits = github(("answer", 403, {}, refusal), ("answer", 200, {}, listed()))
    with pytest.raises(Exception) as failed:
        request(server, "GET")
    assert getattr(failed.value, "status", None) == 403 and failed.value.data == refusal
    assert len(server.seen) == 1 and waits == []


def test_a_reset_past_the_bound_fails_the_deploy_closed_with_exit_2(github, cli, repo, monkeypatch):
    """Through the CLI: GitHub says the limit resets in an hour; foureyes refuses to hold the job."""
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(EPOCH + 3600)}
    server, waits = github(*[("answer", 403, headers, PRIMARY)] * 5)
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    monkeypatch.setenv("GITHUB_API_URL", server.url)
    monkeypatch.setenv("FOUREYES_APP_BOT_ID", "9001")
    result = cli("deploy", "--env", "staging", "--repo", "acme/models", "--format", "text")
    assert result.exit_code == 2, result.output
    assert (
        "rate limit" in result.output
        and f"{3601}s" in result.output
        and "failing closed" in result.output
    )
    assert "Traceback" not in result.output and waits == [] and len(server.seen) == 1
