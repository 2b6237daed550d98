"""Deploys on a real repository with the offline ledger (`.foureyes/prs/<n>.yaml`): PRs merged the
way GitHub merges them, promotions into release branches, and what the local target served."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path

from foureyes.deploy.reconcile import deploy
from foureyes.deploy.record import SqliteRecord
from foureyes.sources.ledger import Ledger
from support.pr_facts import TWO, write_pr_facts
from support.repos import DEP, MO_MERGES, Repo

FRAUD, RECS, CHURN = (
    DEP.format("fraud-scorer"),
    DEP.format("product-recs"),
    DEP.format("churn-predictor"),
)
MERGED_AT = "2026-11-22T12:00:00Z"

Edit = Callable[[Repo], object]


def record_pr(
    repo: Repo,
    number: int,
    base: str,
    head: str,
    merge: str | None,
    reviews: list[dict] = TWO,
    **fields: object,
) -> Path:
    """Write PR #``number`` to the offline ledger: authored by dana, merged at MERGED_AT
    (``merge`` None leaves merge_commit out); ``fields`` as `pr_facts` takes them (base_ref,
    labels, ...)."""
    return write_pr_facts(
        repo.root / ".foureyes" / "prs" / f"{number}.yaml",
        reviews,
        number=number,
        base=base,
        head=head,
        merge_commit=merge,
        merged_at=MERGED_AT,
        **fields,
    )


def merge_pr(
    repo: Repo,
    number: int,
    edit: Edit,
    reviews: list[dict] = TWO,
    squash: bool = False,
    evil: Edit | None = None,
) -> str:
    """Make a PR branch with ``edit(repo)``, merge it into main as Mo, and record it in the ledger.
    ``evil`` edits the merge commit beyond the PR."""
    base = repo.git("rev-parse", "main")
    repo.git("checkout", "-q", "-b", f"pr-{number}", "main")
    edit(repo)
    head = repo.commit(f"change for #{number}")
    repo.git("checkout", "-q", "main")
    if squash:
        repo.git("merge", "-q", "--squash", f"pr-{number}")
    else:
        repo.git(*MO_MERGES, "merge", "-q", "--no-ff", "--no-commit", f"pr-{number}")
    if evil:
        evil(repo)
    merge = repo.commit(f"Merge pull request #{number}", "Mo Admin <mo@acme.example>")
    record_pr(repo, number, base, head, merge, reviews)
    return merge


def run(repo: Repo, env: str = "staging", **kw: object):
    """`deploy` of ``env`` from the repository's ledger and record, as `foureyes deploy` runs it."""
    record = SqliteRecord(repo.root / ".foureyes" / "record.sqlite")
    try:
        return deploy(
            repo.session,
            env,
            record,
            Ledger(repo.session, repo.root / ".foureyes" / "prs"),
            **kw,
        )
    finally:
        record.close()


def served(repo: Repo, env: str = "staging") -> dict[str, dict]:
    """What the local target of ``env`` serves: deployment name -> the change it applied."""
    folder = repo.root / ".foureyes" / "serving" / env
    return (
        {p.stem: json.loads(p.read_text()) for p in folder.glob("*.json")}
        if folder.exists()
        else {}
    )


def bump(version: str) -> Edit:
    """An edit moving fraud-scorer from model version 12 to ``version``."""

    def edit(repo: Repo) -> None:
        repo.replace(FRAUD, 'version: "12"', f'version: "{version}"')

    return edit


def command_target(repo: Repo, script: str) -> None:
    """Switch staging to the command target, through an approved PR (a governance change)."""

    def edit(r: Repo) -> None:
        r.write("policies/hooks/deploy-hook.py", textwrap.dedent(script))
        r.replace(
            "registry/environments.yaml",
            "    target:\n      type: local\n      path: .foureyes/serving/staging",
            "    target:\n      type: command\n"
            "      command: [python3, policies/hooks/deploy-hook.py]",
        )

    merge_pr(repo, 50, edit)


def promote(
    repo: Repo, number: int, branch: str, reviews: list[dict] = TWO, to: str = "main"
) -> str:
    """A promotion: a PR into ``branch`` whose head is ``to`` (a commit of main), merged by Mo."""
    base = repo.git("rev-parse", branch)
    head = repo.git("rev-parse", to)
    repo.git("checkout", "-q", branch)
    repo.git(
        *MO_MERGES,
        "merge",
        "-q",
        "--no-ff",
        "-m",
        f"Merge pull request #{number}: promote {head[:12]}",
        head,
    )
    merge = repo.git("rev-parse", "HEAD")
    record_pr(repo, number, base, head, merge, reviews, base_ref=branch)
    return merge


def first_release(repo: Repo, branch: str = "release/1") -> None:
    """A first release branch, cut at the root of trust (the bootstrap registry production may
    serve)."""
    repo.git("branch", branch, repo.git("rev-list", "--max-parents=0", "main"))
