"""PR facts: everything the approval rule needs to know about a pull request, as plain data.

Three sources build them: GitHub (`github/facts.py`), a local YAML file (`sources/pr_file.py`) and tests
(plain constructors). The policy evaluation only ever sees these objects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

NOREPLY = re.compile(r"^(?:(\d+)\+)?([A-Za-z0-9-]+(?:\[bot\])?)@users\.noreply\.github\.com$", re.I)
CO_AUTHOR = re.compile(r"^co-authored-by:\s*(.*?)\s*<([^>]+)>\s*$", re.I | re.M)


@dataclass(frozen=True)
class Account:
    login: str
    id: int | None = None  # numeric id: what identity is compared by whenever GitHub gives it
    type: str = "User"  # User | Bot | Organization

    @property
    def is_bot(self) -> bool:
        return self.type == "Bot" or self.login.lower().endswith("[bot]")

    def same(self, other: Account) -> bool:
        if self.id is not None and other.id is not None:
            return self.id == other.id
        return self.login.lower() == other.login.lower()


@dataclass(frozen=True)
class Commit:
    sha: str
    author: Account | None  # None: GitHub linked the commit's author email to no account
    committer: Account | None
    co_authors: tuple[Account, ...] = ()
    unattributed: tuple[
        str, ...
    ] = ()  # people named in the commit that no account could be found for

    @property
    def people(self) -> list[Account]:
        return [a for a in (self.author, self.committer, *self.co_authors) if a is not None]

    def who_is_unattributed(self) -> list[str]:
        return (
            (["author"] if self.author is None else [])
            + (["committer"] if self.committer is None else [])
            + list(self.unattributed)
        )


@dataclass(frozen=True)
class Review:
    id: int
    user: Account
    state: str  # APPROVED | CHANGES_REQUESTED | COMMENTED | DISMISSED | PENDING
    commit_id: str
    submitted_at: str = (
        ""  # ISO 8601; reviews are also ordered by id, which GitHub assigns increasing
    )


@dataclass
class PRFacts:
    number: int
    author: Account
    base_sha: str
    head_sha: str
    body: str
    commits: list[Commit]
    reviews: list[Review]
    team_members: dict[str, frozenset[int]]  # "org/slug" -> ids of ACTIVE members
    pending_members: dict[str, frozenset[int]] = field(default_factory=dict)  # known invitations
    labels: tuple[str, ...] = ()
    requested_users: tuple[str, ...] = ()  # logins already asked to review
    requested_teams: tuple[str, ...] = ()  # "org/slug" already asked to review
    node_id: str = ""
    draft: bool = False
    base_ref: str = ""  # the branch the PR goes into ("" offline: the base is what the user named)
    default_branch: str = ""
    mergeable_state: str = ""  # GitHub's view when the PR was read: clean, blocked, behind, ...
    # user owners of touched deployments by login, as accounts (None: the login resolves to no
    # account); empty when nobody resolved them (offline), and then owners are compared by login
    owner_accounts: dict = field(default_factory=dict)


def co_author_trailers(message: str) -> list[tuple[str, str]]:
    """(name, email) of every Co-authored-by trailer in a commit message."""
    return [(m.group(1), m.group(2).strip()) for m in CO_AUTHOR.finditer(message)]


def account_from_noreply(email: str) -> Account | None:
    """GitHub's no-reply addresses name the account: 12345+login@users.noreply.github.com."""
    m = NOREPLY.match(email.strip())
    if not m:
        return None
    return Account(m.group(2), int(m.group(1)) if m.group(1) else None)


def resolve_co_authors(
    message: str, known: dict[str, Account]
) -> tuple[tuple[Account, ...], tuple[str, ...]]:
    """Resolve co-authors to accounts: by GitHub's no-reply address, else by an email that GitHub
    itself linked to an account elsewhere in this PR (``known``). The rest are unattributed."""
    found, missing = [], []
    for name, email in co_author_trailers(message):
        account = account_from_noreply(email) or known.get(email.lower())
        if account is None:
            missing.append(f"co-author {name} <{email}>")
        else:
            found.append(account)
    return tuple(found), tuple(missing)
