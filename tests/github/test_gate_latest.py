"""The gate posts only the latest judgment, and PRs sharing a head share the best one.

Attacks played through the CLI against the GitHub mock (OpenAPI-checked bodies) on a real git
repository:
- a run that read the PR before a push finishes after it: it must not post on the head it read
  (nor on anything) once the PR moved or closed;
- a second PR opened at an approved PR's head commit, into the same base, with no approval: its gate
  run must not knock the approved PR's `foureyes/approval` status down (statuses belong to commits);
  and an unapproved PR is never lifted by another unapproved one.
The deploy half (a merge of the unapproved PR is refused even though the shared head showed success)
is in tests/deploy/test_deploy_github.py."""

import json

from ghapi.mockgithub import MockGitHub
from support.github_gate import ALICE, BOB, BOT, DANA, MALLORY, TEAM, given_pr, run


def second_pr_at_the_same_head(gh, pr, author, reviews, number=8):
    other = MockGitHub(gh.rsps, number=number)
    other.pull(author, pr.base, pr.head, body="Same change, my PR.")
    other.commits({"sha": pr.head, "author": DANA, "email": "dana@acme.example"})
    other.reviews(*[{"user": u, "state": s, "commit_id": pr.head} for u, s in reviews])
    other.existing_comments()
    return other


def test_a_run_whose_pr_moved_on_posts_nothing(pr, gh, cli):
    """Read at head H (approved there), the PR then got a new push: the late run posts no success."""
    given_pr(gh, pr, [(ALICE, "APPROVED", None), (BOB, "APPROVED", None)])
    gh.pull(DANA, pr.base, "f" * 40)  # what GitHub answers the re-read just before posting
    _code, data = run(cli)
    assert data["decision"] == "approved"  # the judgment itself stands, for the log
    assert gh.statuses == [] and gh.comments == []


def test_a_run_whose_pr_was_closed_posts_nothing(pr, gh, cli):
    given_pr(gh, pr, [(ALICE, "APPROVED", None), (BOB, "APPROVED", None)])
    opened = next(r for r in gh.rsps.registered() if r.url == gh.url(f"/repos/{gh.repo}/pulls/7"))
    closed = json.loads(opened.body)
    closed.update(state="closed", closed_at=closed["updated_at"])
    gh.rsps.get(
        gh.url(f"/repos/{gh.repo}/pulls/7"), json=closed
    )  # answers the re-read before posting
    run(cli)
    assert gh.statuses == []


def test_an_unapproved_pr_at_an_approved_prs_head_does_not_knock_its_status_down(pr, gh, cli):
    """Mallory opens PR #7 at the head of Dana's approved PR #8, into the same base. #7's run
    judges #7 pending (its comment says so) but the status on the shared head stays #8's success."""
    given_pr(gh, pr, [])  # PR #7: no reviews
    second_pr_at_the_same_head(gh, pr, DANA, [(ALICE, "APPROVED"), (BOB, "APPROVED")])
    code, data = run(cli)
    assert code == 1 and data["decision"] == "pending"
    assert [(s["state"], s["description"]) for s in gh.statuses] == [
        ("success", "PR #8: 2 of 2 approvals from @acme/mlops-admins (critical)")
    ]
    assert "0 of 2" in gh.comments[0]["body"] or "pending" in gh.comments[0]["body"].lower()


def test_an_unapproved_pr_is_not_lifted_by_another_unapproved_one(pr, gh, cli):
    given_pr(gh, pr, [(ALICE, "APPROVED", None)])
    second_pr_at_the_same_head(gh, pr, MALLORY, [(BOT, "APPROVED")])
    code, _data = run(cli)
    assert code == 1
    assert [s["state"] for s in gh.statuses] == ["pending"]


def test_an_approved_pr_at_a_shared_head_posts_its_own_success(pr, gh, cli):
    given_pr(gh, pr, [(ALICE, "APPROVED", None), (BOB, "APPROVED", None)])
    second_pr_at_the_same_head(gh, pr, MALLORY, [])
    code, _ = run(cli)
    assert code == 0
    assert [(s["state"], s["description"]) for s in gh.statuses] == [
        ("success", "2 of 2 approvals from @acme/mlops-admins (critical)")
    ]


def test_a_pr_at_the_same_head_into_another_base_does_not_count(pr, gh, cli):
    given_pr(gh, pr, [])
    other = MockGitHub(gh.rsps, number=8)
    other.pull(DANA, pr.base, pr.head, base_ref="release/2026.11")
    other.commits({"sha": pr.head, "author": DANA, "email": "dana@acme.example"})
    other.reviews(
        {"user": ALICE, "state": "APPROVED", "commit_id": pr.head},
        {"user": BOB, "state": "APPROVED", "commit_id": pr.head},
    )
    run(cli)
    assert [s["state"] for s in gh.statuses] == ["pending"]
    assert TEAM  # the approver team is the same either way


def test_which_pr_names_the_pr_and_posts_nothing(pr, gh, cli, tmp_path, monkeypatch):
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "output"))
    result = cli("gate", "--which-pr")
    assert result.exit_code == 0 and result.stdout.strip() == "7"
    assert (tmp_path / "output").read_text() == "pr=7\n"
    assert gh.statuses == [] and gh.comments == []
