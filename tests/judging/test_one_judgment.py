"""The one judgment as a property: over generated histories, what the gate decided when each PR was
merged is what the deploy's provenance check accepts or refuses afterwards.

Each history is a run of PRs into main or a release branch: model replacements at two levels, an
incident freeze declared and lifted through governance PRs, random reviewers (the author among
them sometimes), break-glass labels. Every PR is merged, approved or not (an admin's merge): the
gate judges it just before, on the branch it goes into, at the moment of the merge; the deploy
then checks every merge commit of each branch from the offline ledger."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime

import pytest

from support.pr_facts import ERIN, approvals, pr_facts
from support.repos import DEP

FRAUD, RECS = DEP.format("fraud-scorer"), DEP.format("product-recs")  # critical, low
RELEASE = "release/2026.12"
INCIDENT = """\
freezes:
  - name: INC-7
    reason: payments outage
    environments: [production]
    importance: [critical, high]
"""
PEOPLE = ("alice", "bob", "erin", "dana", "mo")


def version_bump(path):
    def edit(repo):
        text = repo.read(path)
        current = text.split('version: "')[1].split('"')[0]
        repo.write(path, text.replace(f'version: "{current}"', f'version: "{current}.1"', 1))

    return edit


def declare(repo):
    repo.write("policies/freeze.yaml", INCIDENT)


def lift(repo):
    repo.write("policies/freeze.yaml", "freezes: []\n")


def generated_prs(rng: random.Random, count: int):
    for number in range(100, 100 + count):
        into = rng.choice(("main", RELEASE))
        edit = rng.choices(
            (version_bump(FRAUD), version_bump(RECS), declare, lift), weights=(4, 3, 1, 1)
        )[0]
        reviewers = rng.sample(PEOPLE, rng.randint(0, 4))
        labels = ["break-glass"] if rng.random() < 0.3 else []
        yield number, into, edit, reviewers, labels


def gate_then_merge(repo, number, into, edit, reviewers, labels) -> tuple[str, str]:
    """(the gate's decision at the merge, the merge commit)."""
    from foureyes.app.gate_pipeline import decide
    from foureyes.sources.pr_file import load_local_facts

    base = repo.git("rev-parse", into)
    repo.git("checkout", "-q", "-b", f"pr-{number}", into)
    edit(repo)
    head = repo.commit(f"change for #{number}")
    repo.git("checkout", "-q", into)
    doc = pr_facts(
        approvals(*reviewers),
        number=number,
        labels=labels,
        accounts=ERIN,
        admins=("alice", "bob", "erin", "mo"),
    )
    facts_file = repo.root.parent / f"facts-{number}.yaml"
    facts_file.write_text(doc)
    # the moment of the merge: one second after the branch's tip (the suite's git clock)
    moment = int(repo.git("log", "-1", "--format=%ct", into)) + 1
    when = datetime.fromtimestamp(moment, UTC)
    decision = decide(
        repo.session,
        lambda: dataclasses.replace(
            load_local_facts(facts_file, repo.session, into, head, base_ref=into),
            default_branch="main",
        ),
        now=when,
    ).decision
    merge = repo.merge_as_mo(f"pr-{number}", f"Merge pull request #{number}")
    merged_at = repo.git("log", "-1", "--format=%cI", merge)
    ledger = repo.root / ".foureyes" / "prs"
    ledger.mkdir(parents=True, exist_ok=True)
    (ledger / f"{number}.yaml").write_text(
        doc + f"base: {base}\nhead: {head}\nmerge_commit: {merge}\n"
        f'merged_at: "{merged_at}"\nbase_ref: {into}\n'
    )
    return decision.state, merge


@pytest.mark.parametrize("seed", range(4))
def test_the_deploy_accepts_exactly_what_the_gate_approved_at_the_merge(repo, seed):
    from foureyes.deploy.provenance import Checker
    from foureyes.sources.ledger import Ledger

    repo.write(".gitignore", ".foureyes/\n")
    repo.commit("ignore local state", "Mo Admin <mo@acme.example>")
    repo.git("branch", RELEASE, "main")
    rng = random.Random(seed)
    decided: dict[
        str, tuple[str, int, str]
    ] = {}  # merge commit -> (branch, PR, the gate's decision)
    for number, into, edit, reviewers, labels in generated_prs(rng, 14):
        state, merge = gate_then_merge(repo, number, into, edit, reviewers, labels)
        decided[merge] = (into, number, state)
    states = {state for _, _, state in decided.values()}
    assert {"approved"} < states, f"seed {seed} generated no refusal to compare: {states}"
    for branch in ("main", RELEASE):
        merges = [c for c, (into, _, _) in decided.items() if into == branch]
        approvals, violations = Checker(
            repo.session, Ledger(repo.session, repo.root / ".foureyes" / "prs"), branch
        ).check(merges)
        refused = {v.commit for v in violations}
        for commit in merges:
            _, number, state = decided[commit]
            accepted = commit in approvals and commit not in refused
            assert accepted == (state == "approved"), (
                f"PR #{number} into {branch}: the gate said {state}, the deploy "
                f"{'accepted' if accepted else 'refused'} "
                f"({[v.reason for v in violations if v.commit == commit]})"
            )
