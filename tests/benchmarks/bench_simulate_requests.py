"""Benchmark: GitHub API requests made by `foureyes simulate --repo` over N PRs (merged and open),
against the OpenAPI-validated mock, on the first run and on a rerun (merged PRs' facts come from
the record's cache). Not part of the test run.
Usage: python tests/benchmarks/bench_simulate_requests.py [N ...]   (default: 10 100)"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import responses
from click.testing import CliRunner

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1]))
from foureyes.app.demo import copy_template
from foureyes.cli import main as cli_main
from ghapi.mockgithub import API, MockGitHub, open_pulls, pull_simple, user
from support.repos import DEP, Repo

DANA, ALICE, BOB = user("dana", 104), user("alice", 201), user("bob", 202)
MERGED = "2026-11-22T12:00:00Z"


def build(root: Path, n: int, rsps) -> list[dict]:
    """n PRs, each changing fraud-scorer's version; every fifth is still open, the rest merged."""
    repo = Repo(root)
    copy_template(repo.root)
    repo.write(".gitignore", ".foureyes/\n")
    repo.commit("registry", "Mo Admin <mo@acme.example>")
    items = []
    for number in range(1, n + 1):
        base = repo.git("rev-parse", "main")
        repo.git("checkout", "-q", "-b", f"pr-{number}", "main")
        path = DEP.format("fraud-scorer")
        repo.write(
            path, re.sub(r'version: "\d+"', f'version: "{100 + number}"', repo.read(path), count=1)
        )
        head = repo.commit(f"fraud-scorer v{100 + number}")
        repo.git("checkout", "-q", "main")
        merged = number % 5 != 0
        merge = None
        if merged:
            merge = repo.merge_as_mo(f"pr-{number}", f"Merge #{number}")
        gh = MockGitHub(rsps, number=number)
        gh.pull(DANA, base, head)
        gh.commits({"sha": head, "author": DANA, "email": "dana@acme.example"})
        gh.reviews(
            {"user": ALICE, "state": "APPROVED", "commit_id": head},
            {"user": BOB, "state": "APPROVED", "commit_id": head},
        )
        item = pull_simple(number, base, head, MERGED if merged else None, merge)
        item["updated_at"] = MERGED
        items.append(item)
    return items[::-1]  # newest first, as sort=updated&direction=desc lists them


def kinds(calls) -> Counter:
    return Counter(
        c.request.method
        + " "
        + re.sub(r"/pulls/\d+", "/pulls/{n}", c.request.path_url.split("?")[0]).replace(
            "/repos/acme/models", ""
        )
        for c in calls
    )


def measure(n: int) -> list[tuple[str, int, Counter, float, dict]]:
    out = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        responses.RequestsMock(assert_all_requests_are_fired=False) as rsps,
    ):
        root = Path(tmp) / "repo"
        open_pulls(rsps, build(root, n, rsps))
        rsps.get(
            re.compile(re.escape(API) + "(?::443)?/orgs/acme/teams/mlops-admins/members"),
            json=[ALICE, BOB],
        )
        candidate = Path(tmp) / "candidate.yaml"
        candidate.write_text(
            (root / "policies/approval.yaml").read_text().replace("approvals: 2", "approvals: 3", 1)
        )
        os.chdir(root)
        os.environ.update(GITHUB_TOKEN="t")
        for run in ("first run", "rerun"):
            start_calls, start = len(rsps.calls), time.perf_counter()
            result = CliRunner().invoke(
                cli_main,
                [
                    "simulate",
                    "--policy",
                    str(candidate),
                    "--since",
                    "2026-11-01",
                    "--repo",
                    "acme/models",
                    "--format",
                    "json",
                ],
            )
            if not result.stdout.startswith("{"):
                raise SystemExit(f"simulate failed: {result.output}")
            totals = json.loads(result.stdout)["totals"]
            calls = rsps.calls[start_calls:]
            out.append((run, len(calls), kinds(calls), time.perf_counter() - start, totals))
    return out


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [10, 100]
    print(f"{'PRs':>5} {'run':<10} {'requests':>9} {'seconds':>8}  replayed  by endpoint")
    for n in sizes:
        for run, count, by, seconds, totals in measure(n):
            print(f"{n:>5} {run:<10} {count:>9} {seconds:>8.1f}  {totals['prs']:>8}  {dict(by)}")


if __name__ == "__main__":
    main()
