"""Notifications: Slack incoming webhooks and generic JSON webhooks, configured in the policy.

The URL never comes from the repository: the policy names an environment variable (a secret in
Actions) that holds it. Sending retries with backoff; a failing notification never changes a gate
decision or a deploy result: it is reported (a warning, an event) and that is all.

    notifications:
      - type: slack
        url_from: FOUREYES_SLACK_WEBHOOK_URL
        events: [approved, blocked, deploy_failed, provenance_violation]   # default: all
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..repo import Repo

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import FoureyesError

if TYPE_CHECKING:
    import requests

    from ..app.gate_pipeline import GateResult
    from ..deploy.reconcile import DeployResult
    from ..deploy.record import Record
    from ..registry.model import Policy

EVENTS = (
    "review_requested",
    "approved",
    "changes_requested",
    "blocked",
    "timeout",
    "deploy_succeeded",
    "deploy_failed",
    "provenance_violation",
)


@dataclass
class Notification:
    event: str
    title: str
    text: str
    url: str = ""
    data: dict = field(default_factory=dict)


class NotifyError(FoureyesError):
    """A notification could not be sent."""


def _session() -> requests.Session:
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    session = requests.Session()
    retry = Retry(
        total=3,
        backoff_factor=0.5,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=None,
        raise_on_status=False,
        respect_retry_after_header=True,
    )
    session.mount("https://", HTTPAdapter(max_retries=retry))
    session.mount("http://", HTTPAdapter(max_retries=retry))
    return session


class WebhookNotifier:
    """POSTs the notification as JSON: {"event", "title", "text", "url", "data"}."""

    kind = "webhook"

    def __init__(self, url: str, events: frozenset[str]) -> None:
        self.url = url
        self.events = events

    def body(self, n: Notification) -> dict:
        return {"event": n.event, "title": n.title, "text": n.text, "url": n.url, "data": n.data}

    def send(self, n: Notification) -> None:
        import requests

        try:
            response = _session().post(self.url, json=self.body(n), timeout=10)
        except requests.RequestException as exc:
            raise NotifyError(f"{self.kind} unreachable: {type(exc).__name__}") from None
        if response.status_code >= 300:
            raise NotifyError(f"{self.kind} answered {response.status_code}: {response.text[:100]}")


class SlackNotifier(WebhookNotifier):
    """Slack incoming webhook: a message with mrkdwn text."""

    kind = "slack"

    def body(self, n: Notification) -> dict:
        from .escape import slack, slack_link

        link = f" {slack_link(n.url, 'open')}" if n.url else ""
        return {"text": f"*{slack(n.title)}*\n{slack(n.text)}{link}"}


KINDS = {"slack": SlackNotifier, "webhook": WebhookNotifier}


def notifiers(
    policy: Policy, environ: Mapping[str, str] = os.environ, event: str | None = None
) -> tuple[list[WebhookNotifier], list[str]]:
    """The configured notifiers whose URL is set, and a warning for each one that is not; with
    ``event``, only the notifiers subscribed to it (an unset URL nobody would use is no news)."""
    found: list[WebhookNotifier] = []
    warnings: list[str] = []
    for entry in policy.notifications:
        events = frozenset(entry.get("events", EVENTS))
        if event is not None and event not in events:
            continue
        url = environ.get(entry["url_from"], "")
        if not url:
            warnings.append(
                f"notification {entry['type']}: ${entry['url_from']} is not set, nothing sent"
            )
            continue
        found.append(KINDS[entry["type"]](url, events))
    return found, warnings


def notify(
    policy: Policy,
    notification: Notification,
    warn: Callable[[str], object] = lambda message: None,
    record: Record | None = None,
    environ: Mapping[str, str] = os.environ,
    warned: set[str] | None = None,
) -> int:
    """Send to every notifier that wants this event. Never raises; returns how many were sent.
    ``warned``: the warnings already given in this run (each is given once per run)."""
    sent = 0
    targets, warnings = notifiers(policy, environ, notification.event)
    warned = set() if warned is None else warned
    for message in warnings:
        if message not in warned:
            warned.add(message)
            warn(message)
    for notifier in targets:
        if notification.event not in notifier.events:
            continue
        try:
            notifier.send(notification)
            sent += 1
            status, message = "ok", f"{notifier.kind}: {notification.title}"
        except Exception as exc:  # a notification never breaks what it reports on
            warn(f"notification failed: {exc}")
            status, message = "warning", f"{notifier.kind} failed ({exc}): {notification.title}"
        if record is not None:
            record.add_event(
                "notification",
                status,
                message,
                notification.data.get("deployment"),
                notification.data.get("environment"),
                {"event": notification.event},
            )
    return sent


def gate_notifications(
    result: GateResult, comment_outcome: str, requested: tuple[list[str], list[str]], url: str = ""
) -> list[Notification]:
    """What a gate run is worth telling: a decision that changed (the sticky comment changed with
    it),
    and review requests it sent."""
    d, facts = result.decision, result.facts
    out: list[Notification] = []
    if facts is None:
        return out
    data = {"pr": facts.number, "level": d.level, "decision": d.state}
    if comment_outcome in ("created", "updated"):
        if d.state == "approved":
            out.append(
                Notification("approved", f"PR #{facts.number} approved", d.description, url, data)
            )
        elif d.state == "blocked":
            kind = (
                "changes_requested"
                if any(b.reason == "changes_requested" for b in d.blocking)
                else "blocked"
            )
            out.append(
                Notification(
                    kind,
                    f"PR #{facts.number} blocked",
                    "; ".join(b.detail for b in d.blocking),
                    url,
                    data,
                )
            )
    users, teams = requested
    if users or teams:
        who = ", ".join([f"@{u}" for u in users] + [f"@{t}" for t in teams])
        out.append(
            Notification(
                "review_requested",
                f"PR #{facts.number} needs review",
                f"{who}: {d.description}",
                url,
                data,
            )
        )
    return out


def deploy_notifications(result: DeployResult) -> list[Notification]:
    if result.dry_run:  # a dry run tells nobody anything: nothing happened
        return []
    env = result.environment
    if result.violations:
        return [
            Notification(
                "provenance_violation",
                f"Deploy to {env} refused",
                "\n".join(str(v) for v in result.violations),
                data={"environment": env, "commits": [v.commit for v in result.violations]},
            )
        ]
    if not result.steps:
        return []
    failed = [s for s in result.steps if s.ok is False]
    if failed:
        return [
            Notification(
                "deploy_failed",
                f"Deploy to {env} failed",
                "\n".join(f"{s.name}: {s.message}" for s in failed),
                data={"environment": env},
            )
        ]
    return [
        Notification(
            "deploy_succeeded",
            f"Deployed to {env}",
            "\n".join(f"{s.name}: {s.action.replace('_', ' ')}" for s in result.steps),
            data={"environment": env},
        )
    ]


def notify_deploy(
    repo: Repo, result: DeployResult, record: Record, warn: Callable[[str], object]
) -> None:
    """Tell the policy's notifiers (the policy as the deployed commit has it); never fails a deploy."""
    from ..judging.plan import load_policy
    from ..registry.model import ConfigError
    from ..repo import GitTree

    notes = deploy_notifications(result)
    if not notes:
        return
    try:
        policy = load_policy(GitTree(repo, result.commit))
    except ConfigError as exc:
        warn(f"notifications skipped: {exc}")
        return
    warned: set[str] = set()
    for note in notes:
        notify(policy, note, warn=warn, record=record, warned=warned)
