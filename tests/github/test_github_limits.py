"""GitHub's limits and defaults that foureyes must not trip over, played against the OpenAPI-checked
mock: the sticky comment stays under GitHub's 65,536-character limit, and members of a child team
of an approver team do not count as approvers (GitHub lists them as members of the parent)."""

import copy
import re

from ghapi.mockgithub import check, example
from support.github_gate import ALICE, BOB, given_pr, run


def inherited(member: dict) -> dict:
    m = copy.deepcopy(member)
    m["inherited"] = True  # "a member of the team only through a child team" (schema team-member)
    return m


def test_a_huge_pr_description_still_gets_its_sticky_comment(pr, gh, cli):
    given_pr(
        gh, pr, [(ALICE, "APPROVED", None)], body="Because. " * 9000
    )  # the reason is quoted in the comment
    _code, data = run(cli)
    assert data["decision"] == "pending"
    assert gh.refused == []  # GitHub answers 422 "Body is too long (maximum is 65536 characters)"
    (comment,) = gh.comments
    assert len(comment["body"]) <= 65536 and comment["body"].startswith(
        "<!-- foureyes:approval -->"
    )
    assert "cut this comment at GitHub's limit of 65,536 characters" in comment["body"]


def test_members_of_a_child_team_do_not_count_as_approvers(pr, gh, cli):
    # bob is in @acme/mlops-admins only through a child team: his approval is not an admin's
    given_pr(
        gh,
        pr,
        [(ALICE, "APPROVED", None), (BOB, "APPROVED", None)],
        members=(ALICE, inherited(BOB)),
    )
    code, data = run(cli)
    assert code == 1 and data["decision"] == "pending" and data["approvals"] == ["alice"]
    assert {"login": "bob", "reason": "not_approver"}.items() <= next(
        i for i in data["ignored"] if i["login"] == "bob"
    ).items()


def test_without_the_inherited_flag_child_team_members_are_left_out(pr, gh, cli):
    # organisations without the feature get no `inherited`: foureyes asks for the child teams itself
    bare = []
    for u in (ALICE, BOB):
        m = copy.deepcopy(u)
        m.pop("inherited"), m.pop("role")
        bare.append(m)
    given_pr(gh, pr, [(ALICE, "APPROVED", None), (BOB, "APPROVED", None)], members=tuple(bare))
    child = example("team-items-response-if-child-teams-exist")[:1]
    child[0].update(slug="fraud-squad", name="fraud squad")
    check("/orgs/{org}/teams/{team_slug}/teams", "get", "200", child)
    gh.rsps.get(gh.url("/orgs/acme/teams/mlops-admins/teams"), json=child)
    check("/orgs/{org}/teams/{team_slug}/members", "get", "200", [bare[1]])
    gh.rsps.get(gh.url("/orgs/acme/teams/fraud-squad/members"), json=[bare[1]])
    _code, data = run(cli)
    assert data["decision"] == "pending" and data["approvals"] == ["alice"]


def test_direct_members_still_count(pr, gh, cli):
    given_pr(gh, pr, [(ALICE, "APPROVED", None), (BOB, "APPROVED", None)], members=(ALICE, BOB))
    code, data = run(cli)
    assert code == 0 and data["decision"] == "approved"
    assert not any(
        re.search(r"/teams/[^/]+/teams", c.request.url) for c in gh.rsps.calls
    )  # no extra calls
