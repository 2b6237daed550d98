"""The approval rule, pure, through an in-memory PR: every attack in the gate issue, and honest
approvals (README, "The approval rule")."""

from foureyes.judging.facts import Account, account_from_noreply, resolve_co_authors
from foureyes.judging.policy import evaluate, has_reason
from support.pulltest import (
    ALICE,
    BOB,
    CAROL,
    DANA,
    ERIN,
    HEAD,
    MALLORY,
    OLD,
    RENOVATE,
    approve,
    commit,
    event,
    facts,
    make_plan,
    with_policy_change,
)


def ignored(decision):
    return {(i.login, i.reason) for i in decision.ignored}


def test_two_admin_approvals_on_the_head_approve_a_critical_change():
    d = evaluate(make_plan(), facts(approve(ALICE), approve(BOB)))
    assert d.state == "approved"
    assert [a.login for a in d.approvals] == ["alice", "bob"]
    assert d.description == "2 of 2 approvals from @acme/mlops-admins (critical)"


def test_one_approval_is_pending_for_critical_but_enough_for_low():
    assert evaluate(make_plan(), facts(approve(ALICE))).state == "pending"
    assert evaluate(make_plan(event(level="low")), facts(approve(ALICE))).state == "approved"


def test_self_approval_by_the_author_is_ignored():
    d = evaluate(make_plan(event(level="low")), facts(approve(DANA)))
    assert d.state == "pending" and ("dana", "author") in ignored(d)


def test_author_is_compared_by_id_not_login():
    renamed = Account("dana-new-name", DANA.id)
    d = evaluate(make_plan(event(level="low")), facts(approve(renamed), members=(renamed,)))
    assert d.state == "pending" and ("dana-new-name", "author") in ignored(d)


def test_an_admin_who_pushed_a_commit_cannot_approve():
    commits = [commit("c1"), commit("c2", author=ALICE)]
    d = evaluate(make_plan(), facts(approve(ALICE), approve(BOB), commits=commits))
    assert d.state == "pending" and ("alice", "contributor") in ignored(d)


def test_an_admin_who_only_committed_cannot_approve():
    commits = [commit("c1", author=DANA, committer=ALICE)]
    d = evaluate(make_plan(event(level="low")), facts(approve(ALICE), commits=commits))
    assert d.state == "pending" and ("alice", "contributor") in ignored(d)


def test_a_co_author_cannot_approve():
    commits = [commit("c1", co_authors=[BOB])]
    d = evaluate(make_plan(event(level="low")), facts(approve(BOB), commits=commits))
    assert d.state == "pending" and ("bob", "contributor") in ignored(d)


def test_co_author_trailers_resolve_by_noreply_address_or_linked_email():
    message = (
        "Fix\n\nCo-authored-by: Bob <202+bob@users.noreply.github.com>\n"
        "co-authored-by: Alice A. <alice@acme.example>\nCo-authored-by: Ghost "
        "<ghost@nowhere.example>\n"
    )
    found, missing = resolve_co_authors(message, {"alice@acme.example": ALICE})
    assert found == (Account("bob", 202), ALICE)
    assert missing == ("co-author Ghost <ghost@nowhere.example>",)
    assert (
        account_from_noreply("dependabot[bot]@users.noreply.github.com").login == "dependabot[bot]"
    )


def test_approval_on_an_older_head_is_stale():
    d = evaluate(make_plan(event(level="low")), facts(approve(ALICE, commit_id=OLD)))
    assert d.state == "pending" and ("alice", "stale") in ignored(d)


def test_non_approver_does_not_count():
    d = evaluate(make_plan(event(level="low")), facts(approve(MALLORY)))
    assert d.state == "pending" and ("mallory", "not_approver") in ignored(d)


def test_pending_team_member_does_not_count():
    d = evaluate(make_plan(event(level="low")), facts(approve(CAROL)))
    assert d.state == "pending"
    assert [i.detail for i in d.ignored] == [
        "membership of @acme/mlops-admins is pending, not active"
    ]


def test_bot_does_not_count_even_as_a_team_member():
    d = evaluate(make_plan(event(level="low")), facts(approve(RENOVATE)))
    assert d.state == "pending" and ("renovate[bot]", "bot") in ignored(d)
    looks_like_bot = Account("sneaky[bot]", 999, "User")
    d = evaluate(
        make_plan(event(level="low")), facts(approve(looks_like_bot), members=(looks_like_bot,))
    )
    assert ("sneaky[bot]", "bot") in ignored(d)


def test_owner_of_the_deployment_does_not_count():
    d = evaluate(make_plan(event(level="low"), owners={"alice"}), facts(approve(ALICE)))
    assert d.state == "pending" and ("alice", "owner") in ignored(d)


def test_one_of_two_approvers_requesting_changes_later_blocks():
    d = evaluate(
        make_plan(), facts(approve(ALICE), approve(BOB), approve(BOB, state="CHANGES_REQUESTED"))
    )
    assert d.state == "blocked"
    assert [b.reason for b in d.blocking] == ["changes_requested"]
    assert ("bob", "superseded") in ignored(d)


def test_changes_requested_on_an_older_commit_still_blocks():
    d = evaluate(
        make_plan(event(level="low")), facts(approve(ALICE), approve(BOB, OLD, "CHANGES_REQUESTED"))
    )
    assert d.state == "blocked"


def test_changes_requested_then_approved_unblocks():
    d = evaluate(
        make_plan(event(level="low")), facts(approve(BOB, state="CHANGES_REQUESTED"), approve(BOB))
    )
    assert d.state == "approved"


def test_a_later_comment_does_not_replace_a_verdict():
    d = evaluate(
        make_plan(event(level="low")), facts(approve(BOB), approve(BOB, state="COMMENTED"))
    )
    assert d.state == "approved"
    d = evaluate(
        make_plan(event(level="low")),
        facts(approve(BOB, state="CHANGES_REQUESTED"), approve(BOB, state="COMMENTED")),
    )
    assert d.state == "blocked"


def test_dismissed_approval_does_not_count_and_dismissed_change_request_unblocks():
    d = evaluate(make_plan(event(level="low")), facts(approve(ALICE, state="DISMISSED")))
    assert d.state == "pending" and ("alice", "dismissed") in ignored(d)
    d = evaluate(
        make_plan(event(level="low")), facts(approve(BOB, state="DISMISSED"), approve(ALICE))
    )
    assert d.state == "approved"


def test_non_approver_requesting_changes_does_not_block():
    d = evaluate(
        make_plan(event(level="low")),
        facts(approve(MALLORY, state="CHANGES_REQUESTED"), approve(ALICE)),
    )
    assert d.state == "approved"


def test_importance_lowered_from_critical_to_low_needs_critical_approvals():
    plan = make_plan(
        event("change_importance", "critical", importance_before="critical", importance_after="low")
    )
    assert evaluate(plan, facts(approve(ALICE))).state == "pending"
    assert evaluate(plan, facts(approve(ALICE), approve(BOB))).state == "approved"


def test_one_user_approving_twice_counts_once():
    d = evaluate(make_plan(), facts(approve(ALICE), approve(ALICE)))
    assert d.state == "pending" and len(d.approvals) == 1 and ("alice", "superseded") in ignored(d)


def test_commit_linked_to_no_account_blocks_by_default():
    commits = [commit("c1"), commit("c2", author=None)]
    d = evaluate(make_plan(event(level="low")), facts(approve(ALICE), commits=commits))
    assert d.state == "blocked" and d.blocking[0].reason == "unattributed_commit"
    assert (
        d.blocking[0].detail.startswith("commit c2c2c2c2c2c2: author")
        and "not linked" in d.blocking[0].detail
    )


def test_unresolved_co_author_blocks_by_default():
    commits = [commit("c1", unattributed=["co-author X <x@y.z>"])]
    d = evaluate(make_plan(event(level="low")), facts(approve(ALICE), commits=commits))
    assert d.state == "blocked"


def test_policy_switch_allows_unattributed_commits():
    pol = with_policy_change("unattributed_commits: block", "unattributed_commits: allow")
    commits = [commit("c1", author=None)]
    d = evaluate(make_plan(event(level="low"), pol=pol), facts(approve(ALICE), commits=commits))
    assert d.state == "approved"


def test_empty_description_blocks_when_a_reason_is_required():
    for body in ("", "   \n", "<!-- Explain why this change is needed -->\n"):
        d = evaluate(make_plan(event(level="low")), facts(approve(ALICE), body=body))
        assert d.state == "blocked" and d.blocking[0].reason == "no_reason"
    assert has_reason("<!-- template -->\nBecause AUC improved.")


def test_reason_not_required_when_the_policy_says_so():
    pol = with_policy_change("require_reason: true", "require_reason: false")
    assert (
        evaluate(make_plan(event(level="low"), pol=pol), facts(approve(ALICE), body="")).state
        == "approved"
    )


def test_invalid_head_file_blocks():
    from foureyes.registry.model import Problem

    plan = make_plan(
        event(level="low"), problems=[Problem("registry/deployments/x.yaml", "bad", 3, 1)]
    )
    d = evaluate(plan, facts(approve(ALICE)))
    assert d.state == "blocked" and d.blocking[0].reason == "invalid_file"


def test_governance_change_needs_the_governance_level():
    plan = make_plan(event("governance", "critical", deployment=None))
    assert evaluate(plan, facts(approve(ALICE))).state == "pending"


def test_listed_user_approver_counts():
    pol = with_policy_change(
        'users: []\n  teams: ["@acme/mlops-admins"]',
        'users: [{login: "@Erin", id: 204}]\n  teams: []',
    )
    d = evaluate(make_plan(event(level="low"), pol=pol), facts(approve(ERIN), members=()))
    assert d.state == "approved"
    d = evaluate(make_plan(event(level="low"), pol=pol), facts(approve(ALICE)))
    assert d.state == "pending"  # a team member, but the policy lists no team


def test_plan_for_another_head_is_an_error():
    from dataclasses import replace

    d = evaluate(make_plan(), replace(facts(approve(ALICE), approve(BOB)), head_sha=OLD))
    assert d.state == "error"


def test_no_events_needs_no_approval():
    plan = make_plan()
    plan.events = []
    assert evaluate(plan, facts()).state == "approved"


def test_json_shape():
    d = evaluate(make_plan(), facts(approve(ALICE), approve(DANA)))
    data = d.to_json()
    assert data["decision"] == "pending" and data["approvals"] == ["alice"]
    assert data["ignored"] == [
        {
            "login": "dana",
            "reason": "author",
            "detail": "the PR author cannot approve their own change",
        }
    ]
    assert HEAD  # the head used by every fixture


def test_a_pinned_user_id_stops_a_renamed_or_reused_login():
    pol = with_policy_change(
        'users: []\n  teams: ["@acme/mlops-admins"]',
        'users: [{login: "@erin", id: 204}]\n  teams: []',
    )
    assert (
        evaluate(make_plan(event(level="low"), pol=pol), facts(approve(ERIN), members=())).state
        == "approved"
    )
    impostor = Account("erin", 9999)  # the login now belongs to someone else
    d = evaluate(make_plan(event(level="low"), pol=pol), facts(approve(impostor), members=()))
    assert (
        d.state == "pending"
        and "listed with account id 204, and this account is 9999" in d.ignored[0].detail
    )


def test_owners_are_excluded_by_id_and_an_unresolved_owner_blocks():
    from dataclasses import replace

    plan = make_plan(event(level="low"), owners={"erin-old"})
    renamed = replace(facts(approve(ERIN)), owner_accounts={"erin-old": Account("erin-old", 204)})
    d = evaluate(plan, renamed)
    assert d.state == "pending" and d.ignored[0].reason == "owner"
    gone = replace(facts(approve(ALICE)), owner_accounts={"erin-old": None})
    d = evaluate(plan, gone)
    assert d.state == "blocked" and d.blocking[0].reason == "unresolved_owner"
