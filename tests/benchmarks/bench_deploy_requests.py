"""Benchmark: GitHub API requests of a deploy's provenance check, against the OpenAPI-validated mock.

Not part of the test run (tests/test_provenance_scale_github.py holds the bound). Usage:

    python tests/benchmarks/bench_deploy_requests.py [--prs 20] [--commits-per-pr 9]

A registry deployed once, then PRS merged PRs (merge commits), each with COMMITS_PER_PR commits of
its own: (COMMITS_PER_PR + 1) x PRS commits to check. Prints the requests by endpoint. Run it with
PYTHONPATH=<older checkout>/action to measure older code the same way.
"""

from __future__ import annotations

import argparse
import collections
import re
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1]))  # tests/: support.repos.Repo, ghapi

from datetime import UTC

import responses

from ghapi.mockgithub import MockGitHub, closed_pulls, commit_pulls, pull_simple, repository, user
from support.clock import GitClock, at
from support.repos import Repo

DANA, ALICE, BOB = user("dana", 104), user("alice", 201), user("bob", 202)
FRAUD = "registry/deployments/fraud-scorer.yaml"


def make_history(root: Path, prs: int, per_pr: int) -> tuple[Repo, list[dict]]:
    from foureyes.app.demo import copy_template

    repo = Repo(root)
    # merges are stamped when their commit is made: after the reviews the mock stamps (NOW - 2h)
    repo.clock = GitClock(start=at(hours=-1))
    copy_template(root)
    repo.write(".gitignore", ".foureyes/\n")
    repo.commit("initial registry", "Mo Admin <mo@acme.example>")
    made = []
    for n in range(1, prs + 1):
        base = repo.git("rev-parse", "HEAD")
        repo.branch(f"pr-{n}")
        for k in range(per_pr):
            text = repo.read(FRAUD)
            repo.write(FRAUD, re.sub(r'version: "\d+"', f'version: "{100 * n + k}"', text, count=1))
            repo.commit(f"fraud-scorer step {k} of #{n}")
        head = repo.git("rev-parse", "HEAD")
        own = repo.git("rev-list", f"{base}..{head}").split()
        repo.git("checkout", "-q", "main")
        repo.merge_as_mo(f"pr-{n}", f"Merge #{n}")
        made.append(
            {
                "number": n,
                "base": base,
                "head": head,
                "merge": repo.git("rev-parse", "HEAD"),
                "own": own,
                "merged_at": _iso(repo.git("log", "-1", "--format=%ct")),
            }
        )
    return repo, made


def _iso(epoch: str) -> str:
    """GitHub's timestamp for a commit time: a merge on GitHub is stamped when its commit is made."""
    from datetime import datetime

    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def mock_github(rsps: responses.RequestsMock, made: list[dict]) -> None:
    """Every merged PR as GitHub shows it: in the closed-PR listing (merged when its merge commit
    was made) and for each of its commits (commits/{sha}/pulls, which older code asks)."""
    repository(rsps)
    for pr in made:
        simple = pull_simple(pr["number"], pr["base"], pr["head"], pr["merged_at"], pr["merge"])
        closed_pulls(rsps, simple)
        for commit in [*pr["own"], pr["merge"]]:
            commit_pulls(rsps, commit, [simple])
        gh = MockGitHub(rsps, number=pr["number"])
        gh.pull(DANA, pr["base"], pr["head"])
        gh.commits(*[{"sha": c, "author": DANA} for c in reversed(pr["own"])])
        gh.reviews(
            *[{"user": u, "state": "APPROVED", "commit_id": pr["head"]} for u in (ALICE, BOB)]
        )
        gh.team("acme/mlops-admins", ALICE, BOB)


def count_requests(root: Path, prs: int, per_pr: int) -> tuple[bool, int, int, collections.Counter]:
    """(deploy ok, commits checked, requests, requests by endpoint) of a dry-run deploy."""
    from foureyes.deploy.reconcile import deploy
    from foureyes.deploy.record import SqliteRecord
    from foureyes.github.client import make_client
    from foureyes.repo import Repo as Session
    from foureyes.sources.github import GitHubPRs
    from foureyes.sources.ledger import Ledger

    repo, made = make_history(root, prs, per_pr)
    record = SqliteRecord(root / ".foureyes" / "record.sqlite")
    try:
        first = repo.git("rev-list", "--max-parents=0", "HEAD")
        with Session(root) as run:  # each deploy a run of its own, with its own session
            assert deploy(run, "staging", record, Ledger(run, root / "none"), commit=first).ok
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            mock_github(rsps, made)
            rsps.calls.reset()
            with Session(root) as run:
                result = deploy(
                    run,
                    "staging",
                    record,
                    GitHubPRs(make_client("t"), "acme/models", run),
                    dry_run=True,
                )
            by_endpoint = collections.Counter(
                re.sub(
                    r"/[0-9a-f]{40}/",
                    "/{sha}/",
                    re.sub(
                        r"/\d+(/|$)",
                        r"/{n}\1",
                        c.request.url.split("?")[0].split("api.github.com")[-1],
                    ),
                )
                for c in rsps.calls
            )
            return result.ok, prs * (per_pr + 1), len(rsps.calls), by_endpoint
    finally:
        record.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prs", type=int, default=20)
    parser.add_argument("--commits-per-pr", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ok, commits, total, by_endpoint = count_requests(
            Path(tmp) / "repo", args.prs, args.commits_per_pr
        )
    print(
        f"deploy --dry-run on GitHub: {commits} commits from {args.prs} PRs: {total} requests (ok={ok})"
    )
    for endpoint, n in sorted(by_endpoint.items()):
        print(f"  {n:5d}  GET {endpoint}")


if __name__ == "__main__":
    main()
