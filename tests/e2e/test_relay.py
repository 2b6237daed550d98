"""A review reaches the gate through the relay: foureyes-review-relay.yml on pull_request_review
uploads which PR and head it saw, then foureyes-gate.yml on workflow_run reads that artifact and
checks it against the API. Fork PRs (workflow_run.pull_requests is empty) included; a claim that
does not match fails closed with an `error` status."""

import json

from .steps import open_change, run_gate
from .world import ALICE, World, review_event, workflow_run_event

RUN_ID = 5550001


def relay(act, standin, world, repo, pr):
    result = act.run(
        repo, "foureyes-review-relay.yml", "pull_request_review", review_event(pr, ALICE)
    )
    assert result.returncode == 0, result.output[-4000:]
    world.publish_run_artifacts(RUN_ID, pr["head"]["sha"])
    return result


def test_review_on_a_fork_pr_reaches_the_gate(act, standin, tmp_path):
    world = World(standin)
    repo, pr = open_change(standin, tmp_path, world, fork=True)
    world.review(7, ALICE, "APPROVED", pr["head"]["sha"])
    relay(act, standin, world, repo, pr)
    claim = json.loads(next((act.artifacts).rglob("relay.json")).read_text())
    assert claim == {"pr": 7, "head_sha": pr["head"]["sha"]}

    result = run_gate(
        act, standin, repo, "workflow_run", workflow_run_event(RUN_ID, pr["head"]["sha"])
    )
    assert result.returncode == 0, result.output[-5000:]
    assert world.status_on(pr["head"]["sha"]) == "success"
    assert not standin.failures, standin.failures


def test_a_relay_claim_for_another_head_fails_closed(act, standin, tmp_path):
    """The relay ran the PR's own workflow file: its artifact may lie. A claim whose head is not the
    PR's head on GitHub gives `error` on the run's head, never a decision for another PR."""
    world = World(standin)
    repo, pr = open_change(standin, tmp_path, world)
    world.review(7, ALICE, "APPROVED", pr["head"]["sha"])
    relay(act, standin, world, repo, pr)
    other_head = "1" * 40
    world.publish_run_artifacts(RUN_ID, other_head)
    result = run_gate(act, standin, repo, "workflow_run", workflow_run_event(RUN_ID, other_head))
    assert result.returncode != 0
    assert world.status_on(other_head) == "error"
    assert world.status_on(pr["head"]["sha"]) is None
    assert not standin.failures, standin.failures


def test_an_api_error_on_workflow_run_posts_error(act, standin, tmp_path):
    """The reviews API answers 500 on the workflow_run path: the head gets `error`."""
    world = World(standin)
    repo, pr = open_change(standin, tmp_path, world)
    world.review(7, ALICE, "APPROVED", pr["head"]["sha"])
    relay(act, standin, world, repo, pr)
    world.broken.add("/repos/{owner}/{repo}/pulls/{pull_number}/reviews")
    result = run_gate(
        act, standin, repo, "workflow_run", workflow_run_event(RUN_ID, pr["head"]["sha"])
    )
    assert result.returncode != 0
    assert world.status_on(pr["head"]["sha"]) == "error"
    assert not standin.failures, standin.failures
