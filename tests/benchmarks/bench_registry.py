"""Benchmark: validate and plan on large registries, against check-jsonschema and PyYAML's C loader.

Not part of the test run. Usage: python tests/benchmarks/bench_registry.py [--sizes 1000,10000]
Each figure is the best of --repeat runs of a whole command (process start included for all three).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1]))  # tests/ for support.repos.Repo
from foureyes.app.demo import copy_template
from support.repos import Repo

DEPLOYMENT = """\
# yaml-language-server: $schema=../../policies/deployment.schema.json
name: {name}
owner: ["@acme/team-{team}", "@user{team}"]
importance: {importance}
description: Generated deployment number {i} for the benchmark.
model:
  name: model-{i}
  version: "{version}"
  uri: models:/model-{i}/{version}
  digest: sha256:{digest}
environments: [staging, production]
apply: manual
metrics: {{auc: 0.{i:04d}, precision: 0.5}}
labels: {{team: team-{team}, cost-centre: cc-{team}}}
"""

LEVELS = ["critical", "high", "moderate", "low"]
PARSE_ONLY = """
import sys, yaml
from pathlib import Path
for p in Path(sys.argv[1]).glob('*.yaml'):
    yaml.load(p.read_bytes(), Loader=yaml.CSafeLoader)
"""


def make_registry(root: Path, n: int) -> Repo:
    repo = Repo(root)
    copy_template(root)
    deps = root / "registry" / "deployments"
    for i in range(n):
        deps.joinpath(f"dep-{i:05d}.yaml").write_text(
            DEPLOYMENT.format(
                name=f"dep-{i:05d}",
                team=i % 40,
                importance=LEVELS[i % 4],
                i=i,
                version=i % 17 + 1,
                digest=f"{i:064x}",
            )
        )
    repo.commit("registry", "Mo Admin <mo@acme.example>")
    return repo


def best(cmd: list[str], cwd: Path, repeat: int, ok=(0,)) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True)
        times.append(time.perf_counter() - t0)
        if proc.returncode not in ok:
            raise SystemExit(
                f"{cmd[:3]} failed ({proc.returncode}): {proc.stdout[-500:]!r} "
                f"{proc.stderr[-500:]!r}"
            )
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    foureyes = shutil.which("foureyes") or sys.exit("foureyes is not installed")
    cjs = shutil.which("check-jsonschema")
    rows = []
    plan_times = {}
    for n in [int(s) for s in args.sizes.split(",")] + [100]:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "repo"
            repo = make_registry(root, n)
            deps = root / "registry" / "deployments"
            files = sorted(str(p) for p in deps.glob("*.yaml"))
            if n != 100:
                t_validate = best([foureyes, "validate", "--format", "json"], root, args.repeat)
                t_parse = best([sys.executable, "-c", PARSE_ONLY, str(deps)], root, args.repeat)
                t_cjs = (
                    best([cjs, "--schemafile", "policies/deployment.schema.json", *files], root, 1)
                    if cjs
                    else None
                )
                rows.append((n, t_validate, t_parse, t_cjs))
            repo.branch("pr")
            victim = deps / "dep-00001.yaml"
            victim.write_text(victim.read_text().replace('version: "2"', 'version: "3"'))
            repo.commit("replace one model")
            plan_times[n] = best(
                [foureyes, "plan", "--base", "main", "--format", "json"], root, args.repeat
            )

    print("validate (whole command, best of runs)")
    print(
        f"{'files':>7} {'foureyes':>10} {'CSafeLoader parse':>18} {'check-jsonschema':>17} "
        f"{'vs parse':>9} {'cjs/foureyes':>13}"
    )
    for n, tv, tp, tc in rows:
        cjs_text = f"{tc:16.2f}s" if tc else "      (missing)"
        ratio = f"{tc / tv:12.1f}x" if tc else ""
        print(f"{n:>7} {tv:9.2f}s {tp:17.2f}s {cjs_text} {tv / tp:8.2f}x {ratio}")
    print("\nplan, one changed file")
    for n in sorted(plan_times):
        print(f"{n:>7} files: {plan_times[n]:.3f}s")
    big = max(plan_times)
    print(f"ratio {big} / 100 files: {plan_times[big] / plan_times[100]:.2f}x")


if __name__ == "__main__":
    main()
