"""A generated registry with a long history, written with one `git fast-import` per call.

`bootstrap()` writes the first commit: the bundled policies and environments, `.gitignore` with
`.foureyes/`, and N deployments. `grow()` adds commits on top of main, each change brought the way
a real team brings it:

- merge: a PR branch (one commit) merged with a merge commit (`--no-ff`);
- stale: a PR branch forked a few commits back, merged with a clean three-way merge (it changes
  another deployment than the commits it missed);
- squash: a PR branch squashed into one commit on main (the branch stays under refs/pull/);
- revert: a PR that puts a deployment's previous model back;
- direct: a push to main with no PR (only when ``direct`` > 0: the deploy refuses it).

Every PR is written to the offline ledger `.foureyes/prs/<n>.yaml` (untracked: `.foureyes/` is
ignored), approved by two members of the approver team, so the generated history deploys.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[2] / "action"))
sys.path.insert(0, str(HERE.parents[1]))  # tests/: support.pr_facts

from support.pr_facts import TWO, pr_facts

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
  digest: sha256:{digest:064x}
environments: [staging, production]
apply: manual
metrics: {{auc: 0.{auc:04d}, precision: 0.5}}
labels: {{team: team-{team}, cost-centre: cc-{team}}}
"""
LEVELS = ["critical", "high", "moderate", "low"]
DANA, MO, EVE = (
    "Dana Scientist <dana@acme.example>",
    "Mo Admin <mo@acme.example>",
    "Eve Hurry <eve@acme.example>",
)
EPOCH = 1_795_000_000  # 2026-11-18: generated commits are one minute apart from here


def ledger_text(number: int, base: str, head: str, merge: str, at: str) -> str:
    """The ledger entry of generated PR #``number``: Dana's, approved by alice and bob."""
    return pr_facts(
        TWO,
        body=f"Generated change {number}.",
        base=base,
        head=head,
        merge_commit=merge,
        merged_at=at,
    )


def dep_name(i: int) -> str:
    return f"dep-{i:05d}"


def dep_path(i: int) -> str:
    return f"registry/deployments/{dep_name(i)}.yaml"


def dep_text(i: int, version: int) -> str:
    return DEPLOYMENT.format(
        name=dep_name(i),
        team=i % 40,
        importance=LEVELS[i % 4],
        i=i,
        version=version,
        digest=i * 1000 + version,
        auc=(i * 7 + version) % 10000,
    )


@dataclass
class History:
    """What was generated: enough to drive the benchmark and to check results."""

    root: Path
    deployments: int
    bootstrap: str = ""
    commits: int = 0  # commits added by grow(), PR branch commits included
    prs: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    versions: dict[int, list[int]] = field(
        default_factory=dict
    )  # deployment -> versions, oldest first
    next_pr: int = 1
    clock: int = EPOCH


class _Stream:
    """A fast-import stream being written; marks are resolved to SHAs after the import."""

    def __init__(self, history: History):
        self.h = history
        self.out: list[bytes] = []
        self.mark = 0

    def commit(
        self,
        ref: str,
        author: str,
        message: str,
        parents: list[str],
        files: dict[str, str],
        all_files: dict[str, str] | None = None,
    ) -> str:
        """``parents``: marks (":3") or SHAs. ``files``: path -> new text (changed over the first
        parent); ``all_files`` instead replaces the whole tree."""
        self.mark += 1
        self.h.clock += 60
        who = f"{author} {self.h.clock} +0000"
        data = message.encode()
        lines = [
            f"commit {ref}",
            f"mark :{self.mark}",
            f"author {who}",
            f"committer {who}",
            f"data {len(data)}",
        ]
        self.out.append(("\n".join(lines) + "\n").encode() + data + b"\n")
        if parents:
            self.out.append(f"from {parents[0]}\n".encode())
        for other in parents[1:]:
            self.out.append(f"merge {other}\n".encode())
        if all_files is not None:
            self.out.append(b"deleteall\n")
            files = all_files
        for path, text in files.items():
            blob = text.encode()
            self.out.append(f"M 100644 inline {path}\ndata {len(blob)}\n".encode() + blob + b"\n")
        self.out.append(b"\n")
        return f":{self.mark}"

    def run(self) -> dict[str, str]:
        marks = self.h.root / ".git" / "foureyes-bench-marks"
        subprocess.run(
            [
                "git",
                "-C",
                str(self.h.root),
                "fast-import",
                "--quiet",
                "--force",
                f"--export-marks={marks}",
            ],
            input=b"".join(self.out),
            check=True,
        )
        found = dict(line.split(" ", 1) for line in marks.read_text().split("\n") if line)
        marks.unlink()
        return {k: v.strip() for k, v in found.items()}


def bootstrap(root: Path, deployments: int) -> History:
    """A new repository whose main holds the bundled policies and ``deployments`` deployments."""
    from foureyes.app.demo import copy_template

    root.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    scratch = root / ".git" / "template"
    copy_template(scratch)
    files = {
        p.relative_to(scratch).as_posix(): p.read_text()
        for p in sorted(scratch.rglob("*"))
        if p.is_file() and not p.relative_to(scratch).as_posix().startswith("registry/deployments/")
    }
    subprocess.run(["rm", "-rf", str(scratch)], check=True)
    files[".gitignore"] = ".foureyes/\n"
    h = History(root, deployments)
    for i in range(deployments):
        files[dep_path(i)] = dep_text(i, 1)
        h.versions[i] = [1]
    s = _Stream(h)
    s.commit("refs/heads/main", MO, "registry", [], {}, all_files=files)
    h.bootstrap = s.run()[":1"]
    subprocess.run(["git", "-C", str(root), "reset", "-q", "--hard", "main"], check=True)
    return h


def grow(h: History, commits: int, seed: int = 11, direct: float = 0.0) -> list[dict]:
    """Add about ``commits`` commits to main (PR branch commits count), every kind of change.
    Returns what each main commit is, oldest first: {"kind", "pr", "commit", "deployment"} (the
    deployment it changed), and for a PR its "base" and "head"."""
    rng = random.Random(seed)
    root = h.root
    tip = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "main"], check=True, capture_output=True, text=True
    ).stdout.strip()
    s = _Stream(h)
    main = tip
    recent: list[tuple[str, int]] = []  # (main commit, deployment it changed) for stale forks
    ledger: list[dict] = []
    made = 0
    while made < commits:
        kind = rng.choices(
            ["merge", "stale", "squash", "revert", "direct"], [50, 10, 25, 10, 100 * direct]
        )[0]
        i = rng.randrange(h.deployments)
        if kind == "revert":  # put back the previous model of a deployment changed before
            changed = [d for _, d in recent[-50:] if len(h.versions[d]) >= 2]
            i = rng.choice(changed) if changed else i
        versions = h.versions[i]
        if kind == "revert" and len(versions) < 2:
            kind = "merge"
        if kind == "stale" and len(recent) < 3:
            kind = "merge"
        version = versions[-2] if kind == "revert" else max(versions) + 1
        change = {dep_path(i): dep_text(i, version)}
        number = h.next_pr
        if kind == "direct":
            main = s.commit("refs/heads/main", EVE, f"hotfix {dep_name(i)}", [main], change)
            made += 1
            ledger.append({"kind": kind, "pr": None, "mark": main, "deployment": i})
        else:
            h.next_pr += 1
            base = main
            if kind == "stale":  # forked a few commits back; none of the missed commits touch i
                back = rng.randrange(1, min(5, len(recent)))
                if all(d != i for _, d in recent[-back:]):
                    base = recent[-back - 1][0]
            title = (
                "Revert " if kind == "revert" else ""
            ) + f"{dep_name(i)} v{version} (#{number})"
            head = s.commit(f"refs/pull/{number}/head", DANA, title, [base], change)
            if kind == "squash":
                main = s.commit("refs/heads/main", MO, title, [main], change)
            else:
                main = s.commit(
                    "refs/heads/main", MO, f"Merge pull request #{number}", [main, head], change
                )
            made += 2
            ledger.append(
                {
                    "kind": kind,
                    "pr": number,
                    "mark": main,
                    "base": base,
                    "head": head,
                    "deployment": i,
                }
            )
        versions.append(version)
        recent.append((main, i))
        h.kinds[kind] = h.kinds.get(kind, 0) + 1
    marks = s.run()
    folder = root / ".foureyes" / "prs"
    folder.mkdir(parents=True, exist_ok=True)

    def sha(ref):
        return marks.get(ref, ref)

    for item in ledger:
        item["commit"] = sha(item.pop("mark"))
        if item["pr"] is None:
            continue
        item["base"], item["head"] = sha(item["base"]), sha(item["head"])
        (folder / f"{item['pr']}.yaml").write_text(
            ledger_text(
                item["pr"], item["base"], item["head"], item["commit"], "2026-11-20T12:00:00Z"
            )
        )
    h.commits += made
    h.prs = h.next_pr - 1
    subprocess.run(["git", "-C", str(root), "reset", "-q", "--hard", "main"], check=True)
    return ledger


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--deployments", type=int, default=100)
    parser.add_argument("--commits", type=int, default=100)
    parser.add_argument(
        "--direct", type=float, default=0.0, help="share of direct pushes (refused by deploy)"
    )
    args = parser.parse_args()
    history = bootstrap(args.root, args.deployments)
    grow(history, args.commits, direct=args.direct)
    print(
        json.dumps(
            {
                "root": str(args.root),
                "bootstrap": history.bootstrap,
                "commits": history.commits,
                "prs": history.prs,
                "kinds": history.kinds,
            }
        )
    )
