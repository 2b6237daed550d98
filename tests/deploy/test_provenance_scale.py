"""Provenance, inventory and history in O(1) git processes, with evaluations kept in the
deploy record. On a generated history with merges, stale merges, squash merges, reverts, direct
pushes and an evil merge, the results must be what the generator made (which PR brought which
commit, which commits came without one); the kept evaluations must never approve anything the PR
itself would not."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
import generate_history as gen

from foureyes import repo as gitrepo
from foureyes.deploy import provenance
from foureyes.deploy.record import SqliteRecord
from foureyes.repo import Repo as Session
from foureyes.repo import processes, session
from foureyes.sources.ledger import Ledger
from foureyes.views import inventory
from foureyes.views.history import governance_history


def git(root: Path, *args: str) -> str:
    return gitrepo.git(root, *args).decode().strip()


def add_evil_merge(h: gen.History) -> dict:
    """A PR changing dep 0, merged with an extra edit to dep 1 nobody approved; returned as
    `gen.grow` describes its commits."""
    root = h.root
    number = h.next_pr
    h.next_pr += 1
    base = git(root, "rev-parse", "main")
    git(root, "checkout", "-q", "-b", f"evil-{number}")
    (root / gen.dep_path(0)).write_text(gen.dep_text(0, 90))
    env = ["-c", "user.name=Dana", "-c", "user.email=dana@acme.example"]
    git(root, "add", "-A")
    git(root, *env, "commit", "-q", "-m", f"dep 0 v90 (#{number})")
    head = git(root, "rev-parse", "HEAD")
    git(root, "checkout", "-q", "main")
    git(root, *env, "merge", "-q", "--no-ff", "--no-commit", f"evil-{number}")
    (root / gen.dep_path(1)).write_text(gen.dep_text(1, 91))
    git(root, "add", "-A")
    git(root, *env, "commit", "-q", "-m", f"Merge pull request #{number}")
    merge = git(root, "rev-parse", "HEAD")
    (root / ".foureyes" / "prs" / f"{number}.yaml").write_text(
        gen.ledger_text(number, base, head, merge, "2026-11-21T12:00:00Z")
    )
    return {"kind": "evil", "pr": number, "commit": merge, "base": base, "head": head}


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """The generated history, its evil merge, and what the generator says each main commit is."""
    h = gen.bootstrap(tmp_path_factory.mktemp("gen") / "repo", 8)
    made = gen.grow(h, 40, seed=1, direct=0.1)
    evil = add_evil_merge(h)
    made += [evil, *gen.grow(h, 24, seed=6, direct=0.1)]
    assert {"merge", "stale", "squash", "revert", "direct"} <= set(h.kinds), h.kinds
    return h, evil["commit"], made


def all_commits(repo: Session) -> list[str]:
    return provenance.commits_touching(repo, None, "HEAD", ["registry/"])


def as_data(result):
    approvals, violations = result
    return (
        {c: a.to_json() for c, a in approvals.items()},
        sorted((v.commit, v.subject, v.reason) for v in violations),
    )


def changed(item: dict) -> set[int]:
    """The deployments a main commit of the generated history changed."""
    return {0, 1} if item["kind"] == "evil" else {item["deployment"]}


def refused(made: list[dict]) -> set[str]:
    """The main commits no approved PR brought: the direct pushes and the evil merge."""
    return {m["commit"] for m in made if m["kind"] in ("direct", "evil")}


def test_the_checker_approves_what_each_generated_pr_brought_and_refuses_the_rest(history):
    """The generator knows what every commit is: a PR's merge (or squash) commit and the branch
    commit a merge brings in are approved by that PR, the first commit is the bootstrap, and the
    direct pushes and the evil merge are refused. Nothing else is refused or approved."""
    h, evil, made = history
    repo = Session(h.root)  # a fresh session, as a command makes it: nothing known yet
    ledger = h.root / ".foureyes" / "prs"
    commits = all_commits(repo)
    approvals, violations = provenance.Checker(repo, Ledger(repo, ledger)).check(commits)
    assert {v.commit for v in violations} == refused(made) and evil in refused(made)
    assert len(refused(made)) == h.kinds["direct"] + 1  # direct pushes and the evil merge
    brought = {m["commit"]: m["pr"] for m in made if m["kind"] not in ("direct", "evil")}
    brought |= {m["head"]: m["pr"] for m in made if m["kind"] != "squash" and m["pr"] is not None}
    assert set(commits) == set(brought) | refused(made) | {h.bootstrap}
    assert set(approvals) == set(brought) | {h.bootstrap}
    assert approvals[h.bootstrap].status == "bootstrap"
    assert {c: (approvals[c].status, approvals[c].pr, approvals[c].approvers) for c in brought} == {
        c: ("approved", pr, ["alice", "bob"]) for c, pr in brought.items()
    }
    assert {a.status for a in approvals.values()} == {"approved", "bootstrap"}


def test_inventory_and_history_follow_each_deployments_generated_changes(history):
    """A deployment is an "Unapproved change" exactly when its last change on main was refused;
    its history lists every main commit that changed it, each with the PR that brought it."""
    h, _, made = history
    repo = Session(h.root)  # a fresh session, as a command makes it: nothing known yet
    ledger = h.root / ".foureyes" / "prs"
    checker = provenance.Checker(repo, Ledger(repo, ledger))
    last = {i: h.bootstrap for i in range(h.deployments)}
    for m in made:
        last |= dict.fromkeys(changed(m), m["commit"])
    record = SqliteRecord(h.root / ".foureyes" / "inventory-test.sqlite")
    try:
        rows, _ = inventory.build(repo, "HEAD", record, {}, checker=checker)
    finally:
        record.close()
    assert {r.name: r.status for r in rows} == {
        gen.dep_name(i): inventory.UNAPPROVED if c in refused(made) else inventory.APPROVED
        for i, c in last.items()
    }
    assert any(r.status == inventory.UNAPPROVED for r in rows)
    for i in range(3):
        rows = governance_history(repo, gen.dep_name(i), "HEAD", checker)
        said = list(dict.fromkeys((r.commit, r.pr, r.approval) for r in rows))
        assert said == [(h.bootstrap, None, "bootstrap")] + [
            (m["commit"], None, "unapproved")
            if m["commit"] in refused(made)
            else (m["commit"], m["pr"], "approved")
            for m in made
            if i in changed(m)
        ]


def test_git_processes_do_not_grow_with_commits_or_prs(history, monkeypatch):
    """No git process per commit or per PR outside the PR's own evaluation (make_plan, its facts)."""
    h, *_ = history
    repo = Session(h.root)  # a fresh session, as a command makes it: nothing known yet
    calls = []
    real = session.git  # what a session runs its git commands with
    monkeypatch.setattr(
        session, "git", lambda root, *args, **kw: calls.append(args[0]) or real(root, *args, **kw)
    )
    monkeypatch.setattr(
        provenance,
        "evaluate_pr",
        lambda root, pr, default=None: provenance.Approval(
            "approved",
            pr.merge_commit,
            pr.number,
            ["alice", "bob"],
            pr.merged_at,
            pr.base,
            pr.head,
            "dana",
        ),
    )
    commits = all_commits(repo)
    calls.clear()
    provenance.Checker(repo, Ledger(repo, h.root / ".foureyes" / "prs")).check(commits)
    assert len(commits) > 40 and len(calls) <= 20, calls


def test_evaluating_every_pr_from_scratch_costs_a_fixed_number_of_git_processes(
    history, monkeypatch
):
    """The PRs' own evaluations too (plan, facts, freeze): merge bases, diffs, commit logs and
    merges are asked for all PRs at once, names starting with a full SHA through the open reader."""
    h, *_ = history
    repo = Session(h.root)  # a fresh session, as a command makes it: nothing known yet
    calls = []
    real_popen = processes.subprocess.Popen

    def popen(argv, **kw):  # every git process gitrepo starts (`git -C <root> <command> ...`)
        calls.append(argv[3])
        return real_popen(argv, **kw)

    monkeypatch.setattr(processes.subprocess, "Popen", popen)
    commits = all_commits(repo)
    checker = provenance.Checker(repo, Ledger(repo, h.root / ".foureyes" / "prs"))
    checker.check(commits)
    assert checker.evaluated >= 30 and 0 < len(calls) <= 24, " ".join(
        calls
    )  # the cat-file reader included


def test_a_check_of_a_few_commits_reads_only_the_prs_that_brought_them(history, monkeypatch):
    """`history NAME` checks one deployment's commits: the other PRs of the ledger are not diffed."""
    h, *_ = history
    repo = Session(h.root)  # a fresh session, as a command makes it: nothing known yet
    asked = []
    real = gitrepo.prefetch_changes
    monkeypatch.setattr(
        gitrepo,
        "prefetch_changes",
        lambda root, pairs, *a: asked.extend(pairs) or real(root, pairs, *a),
    )
    commits = all_commits(repo)
    checker = provenance.Checker(repo, Ledger(repo, h.root / ".foureyes" / "prs"))
    approvals, _ = checker.check(commits[-1:])
    assert commits[-1] in approvals and checker.evaluated == 1 and len(asked) == 1


def test_kept_evaluations_are_read_back_and_never_stretch_to_another_pr(history, tmp_path):
    h, *_ = history
    repo = Session(h.root)  # a fresh session, as a command makes it: nothing known yet
    ledger = h.root / ".foureyes" / "prs"
    commits = all_commits(repo)
    record = SqliteRecord(tmp_path / "record.sqlite")
    try:
        first = provenance.Checker(repo, Ledger(repo, ledger), cache=record, save=True)
        expected = as_data(first.check(commits))
        assert first.evaluated > 15
        again = provenance.Checker(repo, Ledger(repo, ledger), cache=record)
        assert as_data(again.check(commits)) == expected and again.evaluated == 0
        # a kept approval names the base and head it judged: the same PR number and merge commit
        # with another head (a rewritten ledger entry) is evaluated again, not taken from the record
        kept = record.evaluations()
        (number, _merge), approval = next(iter(sorted(kept.items())))
        record.db.execute(
            "UPDATE evaluations SET approval = ? WHERE pr = ?",
            (__import__("json").dumps({**approval, "head": "0" * 40}), number),
        )
        third = provenance.Checker(repo, Ledger(repo, ledger), cache=record)
        assert as_data(third.check(commits)) == expected and third.evaluated == 1
    finally:
        record.close()


def test_an_approval_kept_by_an_older_judgment_is_worked_out_again_and_replaced(history, tmp_path):
    """An approval without the judgment's version (an older foureyes kept it) is not read back: it
    is evaluated again and the record keeps the new one, so later runs read it back again."""
    import json

    from foureyes.judging import judgment

    h, *_ = history
    repo = Session(h.root)  # a fresh session, as a command makes it: nothing known yet
    ledger = h.root / ".foureyes" / "prs"
    commits = all_commits(repo)
    record = SqliteRecord(tmp_path / "record.sqlite")
    try:
        first = provenance.Checker(repo, Ledger(repo, ledger), cache=record, save=True)
        expected = as_data(first.check(commits))
        (number, merge), approval = next(iter(sorted(record.evaluations().items())))
        assert approval["judged_by"] == judgment.VERSION
        old = {k: v for k, v in approval.items() if k != "judged_by"}
        record.db.execute(
            "UPDATE evaluations SET approval = ? WHERE pr = ?", (json.dumps(old), number)
        )
        again = provenance.Checker(repo, Ledger(repo, ledger), cache=record, save=True)
        assert as_data(again.check(commits)) == expected and again.evaluated == 1
        assert record.evaluations()[(number, merge)]["judged_by"] == judgment.VERSION
        third = provenance.Checker(repo, Ledger(repo, ledger), cache=record)
        assert as_data(third.check(commits)) == expected and third.evaluated == 0
    finally:
        record.close()


def test_an_evil_merge_is_refused_for_every_pr_that_names_it(env_repo, cli):
    """Each (commit, PR) pair gets its own merge-content verdict: a second ledger entry naming the
    same merge commit (another approved PR) must not leave the first one's pair unchecked."""
    import json

    from support.ledger import RECS, bump, merge_pr, record_pr

    assert cli("deploy", "--env", "staging").exit_code == 0
    merge = merge_pr(
        env_repo,
        46,
        bump("17"),
        evil=lambda r: r.replace(RECS, "importance: low", "importance: moderate"),
    )
    first = (env_repo.root / ".foureyes" / "prs" / "46.yaml").read_text()
    base = next(line.split(": ")[1] for line in first.splitlines() if line.startswith("base:"))
    head = next(line.split(": ")[1] for line in first.splitlines() if line.startswith("head:"))
    record_pr(env_repo, 45, base, head, merge)
    result = cli("deploy", "--env", "staging", "--dry-run", "--format", "json")
    assert result.exit_code == 1, result.output
    reasons = [v["reason"] for v in json.loads(result.output)["violations"] if v["commit"] == merge]
    assert reasons and "PR #45 approved" in reasons[0] and "PR #46 approved" in reasons[0]
