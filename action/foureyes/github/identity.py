"""foureyes' own account on GitHub: what the sticky comment and the deploy record are trusted by.

With a GitHub App installation token foureyes writes as the App's bot user, `<app-slug>[bot]`. An
installation token may not call GET /app, so the account is read from GET /users/<app-slug>[bot]
(as actions/create-github-app-token's README does; its `app-slug` output gives the slug), unless
FOUREYES_APP_BOT_ID gives the id. Compared by id, never by login."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING
from urllib.parse import quote

from ..errors import EvaluationError
from ..judging.facts import Account
from .client import get_json

if TYPE_CHECKING:
    from .client import GitHubClient

IDENTITY_ENV = "FOUREYES_APP_BOT_ID"  # the numeric id of the App's bot account
SLUG_ENV = "FOUREYES_APP_SLUG"  # the App's slug (actions/create-github-app-token's app-slug output)


def configured_slug(app_slug: str | None = None) -> str | None:
    """The App's slug: ``app_slug``, else $FOUREYES_APP_SLUG; None when neither names one."""
    return (app_slug or os.environ.get(SLUG_ENV, "")).strip() or None


def app_account(gh: GitHubClient, app_slug: str | None = None) -> Account | None:
    """The App's bot account, or None when neither FOUREYES_APP_BOT_ID nor a slug is configured."""
    slug = configured_slug(app_slug)
    bot_id = os.environ.get(IDENTITY_ENV, "").strip()
    login = f"{slug}[bot]" if slug else "foureyes[bot]"
    if bot_id:
        if not bot_id.isdigit():
            raise EvaluationError(
                f"{IDENTITY_ENV}={bot_id!r}: expected the numeric id of the App's bot "
                f"account {login}"
            )
        return Account(login, int(bot_id), "Bot")
    if slug is None:
        return None
    data = get_json(
        gh,
        f"/users/{quote(login)}",
        f"cannot resolve foureyes' own account {login} ({SLUG_ENV}={slug!r})",
    )
    if data.get("type") != "Bot" or data.get("login", "").lower() != login.lower():
        raise EvaluationError(f"{login} is not a GitHub App's bot account")
    return Account(data["login"], data["id"], "Bot")
