"""Benchmark: `foureyes deploy --dry-run` (local target, 204 deployments, checks included), best of
5 in one process.

Usage: PYTHONPATH=<checkout>/action python tests/benchmarks/bench_dry_run.py LABEL (run it for two
checkouts side by side).
"""

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from foureyes.app.demo import copy_template
from foureyes.deploy.reconcile import _own_digest, deploy
from foureyes.deploy.record import SqliteRecord
from foureyes.repo import Repo as Session
from foureyes.sources.ledger import Ledger
from support.repos import Repo

tmp = Path(tempfile.mkdtemp())
r = Repo(tmp / "repo")
copy_template(r.root)
src = (r.root / "registry/deployments/product-recs.yaml").read_text()
for i in range(200):
    (r.root / f"registry/deployments/d{i:03}.yaml").write_text(
        src.replace("name: product-recs", f"name: d{i:03}").replace("two-tower-recs", f"m{i:03}")
    )
r.commit("init", "Mo Admin <mo@acme.example>")
os.chdir(r.root)
t = time.perf_counter()
_own_digest()
d = time.perf_counter() - t
best = 1e9
for _ in range(5):
    rec = SqliteRecord(tmp / "rec.sqlite")
    t = time.perf_counter()
    with Session(r.root) as run:  # each dry run a command of its own: nothing kept between them
        res = deploy(run, "staging", rec, Ledger(run, r.root / ".foureyes/prs"), dry_run=True)
    best = min(best, time.perf_counter() - t)
    rec.close()
print(
    f"{sys.argv[1]}: own_digest {d * 1000:.1f} ms; dry run of {len(res.steps)} steps best of "
    f"5: {best * 1000:.1f} ms ok={res.ok}"
)
shutil.rmtree(tmp)
