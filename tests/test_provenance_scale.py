"""Issue 11: provenance, inventory and history in O(1) git processes, with evaluations kept in the
deploy record. Results must be exactly those of the checker as it was (tests/legacy_provenance.py)
on a generated history with merges, stale merges, squash merges, reverts, direct pushes and an
evil merge; the kept evaluations must never approve anything the PR itself would not."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "benchmarks"))
import generate_history as gen

import legacy_provenance as legacy
from foureyes import gitrepo, inventory
from foureyes.deploy import provenance
from foureyes.deploy.record import SqliteRecord
from foureyes.history import governance_history
from test_deploy import env_repo  # noqa: F401  (fixture)


def git(root: Path, *args: str) -> str:
    return gitrepo.git(root, *args).decode().strip()


def add_evil_merge(h: gen.History) -> str:
    """A PR changing dep 0, merged with an extra edit to dep 1 nobody approved."""
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
        gen.LEDGER.format(
            number=number, base=base, head=head, merge=merge, at="2026-11-21T12:00:00Z"
        )
    )
    return merge


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    h = gen.bootstrap(tmp_path_factory.mktemp("gen") / "repo", 8)
    gen.grow(h, 40, seed=1, direct=0.1)
    evil = add_evil_merge(h)
    gen.grow(h, 24, seed=6, direct=0.1)
    assert {"merge", "stale", "squash", "revert", "direct"} <= set(h.kinds), h.kinds
    return h, evil


def all_commits(root: Path) -> list[str]:
    return provenance.commits_touching(root, None, "HEAD", ["registry/"])


def as_data(result):
    approvals, violations = result
    return (
        {c: a.to_json() for c, a in approvals.items()},
        sorted((v.commit, v.subject, v.reason) for v in violations),
    )


def test_the_rewrite_gives_the_old_checkers_results_on_a_generated_history(history):
    h, evil = history
    ledger = h.root / ".foureyes" / "prs"
    commits = all_commits(h.root)
    old = as_data(legacy.Checker(h.root, legacy.LocalLedger(h.root, ledger)).check(commits))
    new = as_data(provenance.Checker(h.root, provenance.LocalLedger(h.root, ledger)).check(commits))
    # the evil merge is refused by both; the rewrite says why in its own words (a path the PR never
    # changed)
    assert new[0] == old[0] and [v for v in new[1] if v[0] != evil] == [
        v for v in old[1] if v[0] != evil
    ]
    approvals, violations = new
    refused = {c for c, _, _ in violations}
    assert (
        evil in refused and len(refused) == h.kinds["direct"] + 1
    )  # direct pushes and the evil merge
    assert {a["status"] for a in approvals.values()} == {"approved", "bootstrap"}


def test_inventory_and_history_are_those_of_the_old_checker(history):
    h, _ = history
    ledger = h.root / ".foureyes" / "prs"
    record = SqliteRecord(h.root / ".foureyes" / "inventory-test.sqlite")
    try:
        rows_old, _ = inventory.build(
            h.root,
            "HEAD",
            record,
            {},
            checker=legacy.Checker(h.root, legacy.LocalLedger(h.root, ledger)),
        )
        rows_new, _ = inventory.build(
            h.root,
            "HEAD",
            record,
            {},
            checker=provenance.Checker(h.root, provenance.LocalLedger(h.root, ledger)),
        )
    finally:
        record.close()
    assert [r.to_json() for r in rows_new] == [r.to_json() for r in rows_old]
    assert any(r.status == inventory.UNAPPROVED for r in rows_new)
    for i in range(3):
        name = gen.dep_name(i)
        old = governance_history(
            h.root, name, "HEAD", legacy.Checker(h.root, legacy.LocalLedger(h.root, ledger))
        )
        new = governance_history(
            h.root, name, "HEAD", provenance.Checker(h.root, provenance.LocalLedger(h.root, ledger))
        )
        assert [r.to_json() for r in new] == [r.to_json() for r in old]


def test_git_processes_do_not_grow_with_commits_or_prs(history, monkeypatch):
    """No git process per commit or per PR outside the PR's own evaluation (make_plan, its facts)."""
    h, _ = history
    calls = []
    real = gitrepo.git
    monkeypatch.setattr(
        gitrepo, "git", lambda root, *args, **kw: calls.append(args[0]) or real(root, *args, **kw)
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
    commits = all_commits(h.root)
    calls.clear()
    provenance.Checker(h.root, provenance.LocalLedger(h.root, h.root / ".foureyes" / "prs")).check(
        commits
    )
    assert len(commits) > 40 and len(calls) <= 20, calls


def test_evaluating_every_pr_from_scratch_costs_a_fixed_number_of_git_processes(
    history, monkeypatch
):
    """The PRs' own evaluations too (plan, facts, freeze): merge bases, diffs, commit logs and
    merges are asked for all PRs at once, names starting with a full SHA through the open reader."""
    h, _ = history
    gitrepo._IMMUTABLE.clear()  # nothing known from earlier tests
    calls = []
    real_popen = gitrepo.subprocess.Popen

    def popen(argv, **kw):  # every git process gitrepo starts (`git -C <root> <command> ...`)
        calls.append(argv[3])
        return real_popen(argv, **kw)

    monkeypatch.setattr(gitrepo.subprocess, "Popen", popen)
    commits = all_commits(h.root)
    checker = provenance.Checker(
        h.root, provenance.LocalLedger(h.root, h.root / ".foureyes" / "prs")
    )
    checker.check(commits)
    assert checker.evaluated >= 30 and 0 < len(calls) <= 24, " ".join(
        calls
    )  # the cat-file reader included


def test_a_check_of_a_few_commits_reads_only_the_prs_that_brought_them(history, monkeypatch):
    """`history NAME` checks one deployment's commits: the other PRs of the ledger are not diffed."""
    h, _ = history
    gitrepo._IMMUTABLE.clear()
    asked = []
    real = gitrepo.prefetch_changes
    monkeypatch.setattr(
        gitrepo,
        "prefetch_changes",
        lambda root, pairs, *a: asked.extend(pairs) or real(root, pairs, *a),
    )
    commits = all_commits(h.root)
    checker = provenance.Checker(
        h.root, provenance.LocalLedger(h.root, h.root / ".foureyes" / "prs")
    )
    approvals, _ = checker.check(commits[-1:])
    assert commits[-1] in approvals and checker.evaluated == 1 and len(asked) == 1


def test_kept_evaluations_are_read_back_and_never_stretch_to_another_pr(history, tmp_path):
    h, _ = history
    ledger = h.root / ".foureyes" / "prs"
    commits = all_commits(h.root)
    record = SqliteRecord(tmp_path / "record.sqlite")
    try:
        first = provenance.Checker(
            h.root, provenance.LocalLedger(h.root, ledger), cache=record, save=True
        )
        expected = as_data(first.check(commits))
        assert first.evaluated > 15
        again = provenance.Checker(h.root, provenance.LocalLedger(h.root, ledger), cache=record)
        assert as_data(again.check(commits)) == expected and again.evaluated == 0
        # a kept approval names the base and head it judged: the same PR number and merge commit
        # with another head (a rewritten ledger entry) is evaluated again, not taken from the record
        kept = record.evaluations()
        (number, merge), approval = next(iter(sorted(kept.items())))
        record.db.execute(
            "UPDATE evaluations SET approval = ? WHERE pr = ?",
            (__import__("json").dumps({**approval, "head": "0" * 40}), number),
        )
        third = provenance.Checker(h.root, provenance.LocalLedger(h.root, ledger), cache=record)
        assert as_data(third.check(commits)) == expected and third.evaluated == 1
    finally:
        record.close()


def test_an_approval_kept_by_an_older_judgment_is_worked_out_again_and_replaced(history, tmp_path):
    """An approval without the judgment's version (an older foureyes kept it) is not read back: it
    is evaluated again and the record keeps the new one, so later runs read it back again."""
    import json

    from foureyes import judgment

    h, _ = history
    ledger = h.root / ".foureyes" / "prs"
    commits = all_commits(h.root)
    record = SqliteRecord(tmp_path / "record.sqlite")
    try:
        first = provenance.Checker(
            h.root, provenance.LocalLedger(h.root, ledger), cache=record, save=True
        )
        expected = as_data(first.check(commits))
        (number, merge), approval = next(iter(sorted(record.evaluations().items())))
        assert approval["judged_by"] == judgment.VERSION
        old = {k: v for k, v in approval.items() if k != "judged_by"}
        record.db.execute(
            "UPDATE evaluations SET approval = ? WHERE pr = ?", (json.dumps(old), number)
        )
        again = provenance.Checker(
            h.root, provenance.LocalLedger(h.root, ledger), cache=record, save=True
        )
        assert as_data(again.check(commits)) == expected and again.evaluated == 1
        assert record.evaluations()[(number, merge)]["judged_by"] == judgment.VERSION
        third = provenance.Checker(h.root, provenance.LocalLedger(h.root, ledger), cache=record)
        assert as_data(third.check(commits)) == expected and third.evaluated == 0
    finally:
        record.close()


def test_an_evil_merge_is_refused_for_every_pr_that_names_it(env_repo, cli):
    """Each (commit, PR) pair gets its own merge-content verdict: a second ledger entry naming the
    same merge commit (another approved PR) must not leave the first one's pair unchecked."""
    import json

    from test_deploy import FACTS, RECS, TWO, bump, merge_pr

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
    (env_repo.root / ".foureyes" / "prs" / "45.yaml").write_text(
        FACTS.format(number=45, base=base, head=head, merge=merge, reviews=json.dumps(TWO))
    )
    result = cli("deploy", "--env", "staging", "--dry-run", "--format", "json")
    assert result.exit_code == 1, result.output
    reasons = [v["reason"] for v in json.loads(result.output)["violations"] if v["commit"] == merge]
    assert reasons and "PR #45 approved" in reasons[0] and "PR #46 approved" in reasons[0]
