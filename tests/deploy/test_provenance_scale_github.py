"""On GitHub, the API cost of a deploy's provenance check follows the merged PRs, not the
commits (the OpenAPI-validated mock counts the requests; tests/benchmarks/bench_deploy_requests.py
prints them at 200 commits from 20 PRs)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
from bench_deploy_requests import count_requests


def test_requests_follow_the_merged_prs_not_their_commits(tmp_path, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    prs, per_pr = 20, 9
    ok, commits, total, by_endpoint = count_requests(tmp_path / "repo", prs, per_pr)
    assert ok and commits == 200
    # One page of the closed-PR listing finds every PR, so no commit is asked about on its own and
    # no
    # PR is read again: its commits, reviews and the gate's evidence (one check-run listing), the
    # repository and team once. Kept evaluations make a re-run cost none of the per-PR requests.
    assert by_endpoint[":443/repos/acme/models/pulls"] == 1
    assert ":443/repos/acme/models/commits/{sha}/pulls" not in by_endpoint
    assert ":443/repos/acme/models/pulls/{n}" not in by_endpoint
    assert by_endpoint[":443/orgs/acme/teams/mlops-admins/members"] == 1
    assert by_endpoint[":443/repos/acme/models/commits/{sha}/check-runs"] == prs
    assert total == 3 + 3 * prs, by_endpoint
