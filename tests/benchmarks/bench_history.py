"""Benchmark: deploy, inventory and history on generated histories, beside `git log --name-only`.

Not part of the test run. Usage:

    python tests/benchmarks/bench_history.py [--sizes 100x100,1000x2000] [--before DIR] [--timeout
    300]

Each size is DEPLOYMENTSxCOMMITS: a registry of DEPLOYMENTS deployed once to staging, then COMMITS
commits on main (merges, stale merges, squash merges, reverts; every change through a merged PR in
the offline ledger, see generate_history.py). Each command is a whole `python -m foureyes` process
(start-up included), median of --repeat runs; a real deploy runs once on its own copy.
``--before DIR``: also run every command with the package in DIR/action (e.g. a `git archive` of an
older commit), on a copy of the same repository, and print both figures side by side.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parent))
import generate_history as gen

ACTION = HERE.parents[2] / "action"


def timed(argv: list[str], cwd: Path, code: Path, timeout: float) -> float | None:
    env = {**os.environ, "PYTHONPATH": str(code), "GITHUB_ACTIONS": ""}
    start = time.perf_counter()
    try:
        proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    took = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(
            f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.decode()[-500:]}"
        )
    return took


def fe(*args: str) -> list[str]:
    return [sys.executable, "-m", "foureyes", *args]


def git_processes(argv: list[str], cwd: Path, code: Path) -> int:
    """How many git processes a command starts (a wrapper on PATH counts them)."""
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "count"
        real = shutil.which("git")
        wrapper = Path(tmp) / "git"
        wrapper.write_text(f'#!/bin/sh\necho >> {log}\nexec {real} "$@"\n')
        wrapper.chmod(0o755)
        env = {
            **os.environ,
            "PYTHONPATH": str(code),
            "PATH": f"{tmp}:{os.environ['PATH']}",
            "GITHUB_ACTIONS": "",
        }
        subprocess.run(argv, cwd=cwd, env=env, capture_output=True)
        return len(log.read_text().splitlines()) if log.exists() else 0


def most_changed(h: gen.History) -> str:
    return gen.dep_name(max(h.versions, key=lambda i: len(h.versions[i])))


def bench_size(
    deployments: int, commits: int, sides: dict[str, Path], repeat: int, timeout: float, count: bool
) -> list[tuple[str, dict[str, str]]]:
    work = Path(tempfile.mkdtemp(prefix=f"fe-bench-{deployments}x{commits}-"))
    try:
        h = gen.bootstrap(work / "gen", deployments)
        subprocess.run(
            fe("deploy", "--env", "staging"),
            cwd=h.root,
            check=True,
            capture_output=True,
            env={**os.environ, "PYTHONPATH": str(next(iter(sides.values())))},
        )
        gen.grow(h, commits)
        name = most_changed(h)
        rows: dict[str, dict[str, str]] = {}

        def put(label: str, side: str, value: str) -> None:
            rows.setdefault(label, {})[side] = value

        floor = [
            timed(["git", "log", "--name-only", "main"], h.root, ACTION, timeout)
            for _ in range(max(3, repeat))
        ]
        put("git log --name-only (floor)", "floor", f"{statistics.median(floor):.3f} s")
        commands = [
            ("deploy --env staging --dry-run", fe("deploy", "--env", "staging", "--dry-run")),
            ("inventory --format json", fe("inventory", "--format", "json")),
            ("inventory --html", fe("inventory", "--html", "site")),
            (f"history {name}", fe("history", name)),
            (
                "history --env staging --at now",
                fe("history", "--env", "staging", "--at", "2099-01-01"),
            ),
        ]
        for side, code in sides.items():
            repo = work / side
            shutil.copytree(h.root, repo, symlinks=True)
            for label, argv in commands:
                runs = []
                for _ in range(repeat):
                    took = timed(argv, repo, code, timeout)
                    runs.append(took)
                    if took is None:
                        break
                put(
                    label,
                    side,
                    f"> {timeout:.0f} s" if None in runs else f"{statistics.median(runs):.2f} s",
                )
                if count and None not in runs:
                    put(label + " (git processes)", side, str(git_processes(argv, repo, code)))
            took = timed(fe("deploy", "--env", "staging"), repo, code, timeout)
            put(
                "deploy --env staging (first real)",
                side,
                f"> {timeout:.0f} s" if took is None else f"{took:.2f} s",
            )
            if took is not None:
                again = timed(fe("deploy", "--env", "staging"), repo, code, timeout)
                put(
                    "deploy --env staging (nothing new)",
                    side,
                    f"{again:.2f} s" if again is not None else "-",
                )
        print(
            f"# {deployments} deployments, {h.commits} commits since the last deploy, "
            f"{h.prs} PRs {h.kinds}",
            flush=True,
        )
        return list(rows.items())
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100x100,1000x100,100x2000,1000x2000")
    parser.add_argument(
        "--before", type=Path, help="a checkout of the code to compare with (its action/ is used)"
    )
    parser.add_argument(
        "--skip-now", action="store_true", help="with --before: run only the older code"
    )
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument(
        "--count-git", action="store_true", help="also count the git processes of each command"
    )
    args = parser.parse_args()
    sides = {"now": ACTION}
    if args.before:
        sides = {"before": args.before / "action", **({} if args.skip_now else sides)}
    columns = ["floor", *sides]
    print("| size | command | " + " | ".join(columns) + " |")
    print("|---|---|" + "---|" * len(columns))
    for size in args.sizes.split(","):
        deployments, commits = (int(x) for x in size.split("x"))
        for label, values in bench_size(
            deployments, commits, sides, args.repeat, args.timeout, args.count_git
        ):
            print(
                f"| {deployments}/{commits} | `{label}` | "
                + " | ".join(values.get(c, "") for c in columns)
                + " |",
                flush=True,
            )


if __name__ == "__main__":
    main()
