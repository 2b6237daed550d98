"""Who is a member of an approver team: direct members only.

GET /orgs/{org}/teams/{team_slug}/members "will include the members of child teams" (OpenAPI
description of teams/list-members-in-org). A child team is often made for other purposes (a squad
under a department) and its members never chose to be approvers, so foureyes counts only the people
the policy names: a listed team's direct members. Deny by default: when GitHub does not say which
memberships are inherited, everyone who is in a child team is left out, even if they are also a
direct member (they can be listed by login, or the child team named in the policy).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .client import GitHubClient

PAGE = 100


def _pages(gh: GitHubClient, url: str) -> list[dict]:
    """Every item of a paginated list; a short page is the last one."""
    items: list[dict] = []
    page = 1
    while True:
        _, data = gh.requester.requestJsonAndCheck(
            "GET", url, parameters={"per_page": PAGE, "page": page}
        )
        items += data or []
        if len(data or []) < PAGE:
            return items
        page += 1


def direct_members(gh: GitHubClient, org: str, slug: str) -> frozenset[int]:
    """Ids of the team's direct, active members. Raises PyGithub/requests errors for the caller.

    Each member carries `inherited` (true: "a member of the team only through a child team"), but
    "only when the feature is enabled for the organization" (OpenAPI schema team-member). Without
    it,
    the members of every child team (GET /orgs/{org}/teams/{team_slug}/teams; a child's own member
    list includes its children) are subtracted."""
    members = _pages(gh, f"/orgs/{org}/teams/{slug}/members")
    if all(isinstance(m.get("inherited"), bool) for m in members):
        return frozenset(m["id"] for m in members if m["inherited"] is False)
    inherited: set[int] = set()
    for child in _pages(gh, f"/orgs/{org}/teams/{slug}/teams"):
        inherited |= {m["id"] for m in _pages(gh, f"/orgs/{org}/teams/{child['slug']}/members")}
    return frozenset(m["id"] for m in members) - inherited
