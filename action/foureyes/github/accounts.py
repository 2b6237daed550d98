"""A policy user's account on GitHub, for `foureyes pin`: the numeric id that counts, not the login."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import EvaluationError
from .client import api_errors, describe

if TYPE_CHECKING:
    from collections.abc import Callable

    from .client import GitHubClient


def pin_lookup(gh: GitHubClient) -> Callable[[str], tuple[str, int]]:
    """``lookup(login) -> (login as GitHub spells it, account id)`` (GET /users/{username}); a login
    that is no account, or not a person's, raises: pinning it would let nobody, or a machine,
    approve."""
    from github import GithubException

    def lookup(login: str) -> tuple[str, int]:
        try:
            user = gh.get_user(login)  # a completed NamedUser: one GET /users/{username}
        except GithubException as exc:
            if exc.status == 404:
                raise EvaluationError(
                    f"@{login} is no GitHub account (renamed or deleted?): fix the login "
                    "in the policy, then pin again"
                ) from None
            raise EvaluationError(f"cannot look up @{login}: {describe(exc)}") from None
        except api_errors() as exc:
            raise EvaluationError(f"cannot look up @{login}: {describe(exc)}") from None
        # "type": "User" | "Organization" | "Bot" (GitHub REST docs, "Get a user"): only people
        # approve
        if user.type != "User":
            raise EvaluationError(
                f"@{login} is a GitHub {user.type} account, not a person's: only people can approve"
            )
        return user.login, user.id

    return lookup
