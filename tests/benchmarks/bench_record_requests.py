"""Benchmark: GitHub API requests of reading the GitHub deploy record, against the OpenAPI-validated
Deployments mock (tests/test_record_states_github.py holds the bounds). Usage:

    python tests/benchmarks/bench_record_requests.py [--deployments 250]

One complete run creates DEPLOYMENTS deployments in staging and its sync; a fresh reader then reads
entries("staging") and history("staging"). Run it with PYTHONPATH=<older checkout>/action to measure
older code the same way.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1]))  # tests/: ghapi

import responses

from ghapi.mockgithub import FOUREYES_BOT, FakeDeployments


def count_requests(tmp: Path, deployments: int) -> dict[str, int]:
    from foureyes.deploy.github_record import GitHubRecord
    from foureyes.deploy.record import Entry
    from foureyes.github.client import make_client

    os.environ.setdefault("GITHUB_TOKEN", "t")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        FakeDeployments(rsps)
        writer = GitHubRecord(make_client(), "acme/models", tmp / "events.sqlite", FOUREYES_BOT)
        writer.entries("staging")
        for i in range(deployments):
            e = Entry(
                "staging", f"model-{i}", {"model": {"name": f"m{i}", "version": "1"}}, "1" * 40, {}
            )
            writer.begin(e, "create")
            writer.finish(e, "create", True)
        writer.set_last_commit("staging", "1" * 40)
        writer.close()
        counts = {}
        for what in ("entries", "history"):
            reader = GitHubRecord(make_client(), "acme/models", tmp / "events.sqlite", FOUREYES_BOT)
            rsps.calls.reset()
            reader.entries("staging") if what == "entries" else reader.history("staging")
            counts[what] = len(rsps.calls)
            reader.close()
        return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deployments", type=int, default=250)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        counts = count_requests(Path(tmp), args.deployments)
    print(
        f"GitHub deploy record with {args.deployments} deployments: "
        + ", ".join(f"{k}(): {v} requests" for k, v in counts.items())
    )


if __name__ == "__main__":
    main()
