"""Benchmark: GitHub API requests made by one `foureyes gate` evaluation, by registry size and
number of reviews (1 changed deployment). Not part of the test run.
Usage: python tests/benchmarks/bench_gate_requests.py"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

import responses
from click.testing import CliRunner

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1]))
from foureyes.app.demo import copy_template
from foureyes.cli import main as cli_main
from ghapi.mockgithub import MockGitHub, user
from support.repos import DEP, Repo

RECS = DEP.format("product-recs")


def measure(n_files: int, n_reviews: int) -> tuple[int, Counter, str]:
    with tempfile.TemporaryDirectory() as tmp:
        repo = Repo(Path(tmp) / "repo")
        copy_template(repo.root)
        template = repo.read(RECS)
        for i in range(n_files):
            repo.write(DEP.format(f"bulk-{i}"), template.replace("product-recs", f"bulk-{i}"))
        base = repo.commit("registry", "Mo Admin <mo@acme.example>")
        repo.branch("change")
        repo.replace(DEP.format("fraud-scorer"), 'version: "12"', 'version: "13"')
        head = repo.commit("fraud-scorer v13")
        repo.git("checkout", "-q", "main")
        os.chdir(repo.root)
        os.environ.update(GITHUB_TOKEN="t", GITHUB_REPOSITORY="acme/models")
        os.environ.pop("GITHUB_EVENT_PATH", None)
        dana, alice, bob = user("dana", 104), user("alice", 201), user("bob", 202)
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            gh = MockGitHub(rsps)
            gh.pull(dana, base, head)
            gh.commits({"sha": head, "author": dana})
            others = [
                {"user": user(f"r{i}", 5000 + i), "state": "COMMENTED", "commit_id": head}
                for i in range(n_reviews - 2)
            ]
            gh.reviews(
                *others,
                {"user": alice, "state": "APPROVED", "commit_id": head},
                {"user": bob, "state": "APPROVED", "commit_id": head},
            )
            gh.team("acme/mlops-admins", alice, bob)
            gh.existing_comments()
            gh.accept_writes()
            result = CliRunner().invoke(cli_main, ["gate", "--pr", "7", "--format", "json"])
            if not result.stdout.startswith("{"):
                raise SystemExit(f"gate failed: {result.output}")
            decision = json.loads(result.stdout)["decision"]
            kinds = Counter(
                c.request.method
                + " "
                + re.sub(r"[0-9a-f]{40}", "{sha}", c.request.path_url.split("?")[0]).replace(
                    "/repos/acme/models", ""
                )
                for c in rsps.calls
            )
            return len(rsps.calls), kinds, decision


def main() -> None:
    print(f"{'files':>6} {'reviews':>8} {'requests':>9}  decision  by endpoint")
    for n_files, n_reviews in [(10, 3), (1000, 3), (5000, 3), (10, 100), (1000, 100)]:
        count, kinds, decision = measure(n_files, n_reviews)
        print(f"{n_files:>6} {n_reviews:>8} {count:>9}  {decision:<9} {dict(kinds)}")


if __name__ == "__main__":
    main()
