"""Provenance re-check (DESIGN.md invariant 8): every commit a deploy is about to ship must come
from a pull request whose approval satisfied the policy at merge time.

For each such commit the PR that merged it is found, and the approval is evaluated again, from
scratch, with the same pure policy evaluation the gate uses: policy at the PR's base, reviews made
until the merge. A direct push, an admin bypass or a status posted by a PR's own workflow has no
such approval, and the deploy refuses it, naming the commit.

The root of trust is the commit that introduced the policy: commits whose parent had no
`policies/approval.yaml` were made before four-eyes applied and are accepted as the bootstrap.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from pathlib import Path

from .. import gitrepo
from ..errors import EvaluationError
from ..plan import make_plan
from ..policy import evaluate
from ..registry import POLICY_FILE


@dataclass
class Approval:
    status: str  # approved | bootstrap
    commit: str
    pr: int | None = None
    approvers: list[str] = field(default_factory=list)
    approved_at: str = ""
    base: str = ""
    head: str = ""
    author: str = ""  # the PR author: who made the change

    def to_json(self) -> dict:
        return {"status": self.status, "commit": self.commit, "pr": self.pr, "approvers": self.approvers,
                "approved_at": self.approved_at, "base": self.base, "head": self.head, "author": self.author}


@dataclass
class Violation:
    commit: str
    subject: str
    reason: str

    def __str__(self) -> str:
        return f"commit {self.commit[:12]} ({self.subject}): {self.reason}"


@dataclass
class MergedPR:
    """What a provenance source knows about the PR that brought a commit in."""

    number: int
    base: str
    head: str
    merge_commit: str
    merged_at: str
    load_facts: object  # () -> PRFacts with the reviews made until the merge


class Unapproved(Exception):
    pass


def commits_touching(root: Path, since: str | None, head: str, paths: list[str]) -> list[str]:
    """Commits (oldest first) in since..head that touched any of ``paths``, merges' sides included."""
    if not paths:
        return []
    span = f"{since}..{head}" if since else head
    out = gitrepo.git(root, "log", "--format=%H", "--full-history", "--reverse", span, "--", *paths)
    return out.decode().split()


def subject(root: Path, commit: str) -> str:
    return gitrepo.git(root, "log", "-1", "--format=%s", commit).decode().strip()[:80]


def is_bootstrap(root: Path, commit: str) -> bool:
    parents = gitrepo.git(root, "rev-list", "--parents", "-n", "1", commit).decode().split()[1:]
    if not parents:
        return True
    return gitrepo.cat_blobs(root, [f"{parents[0]}:{POLICY_FILE}"])[f"{parents[0]}:{POLICY_FILE}"] is None


def pr_commits(root: Path, pr: MergedPR) -> frozenset[str]:
    return _commits_between(root, pr.base, pr.head)


@functools.lru_cache(maxsize=1024)
def _commits_between(root: Path, base: str, head: str) -> frozenset[str]:
    """The commits a PR brought (cached: every commit of a PR asks the same question)."""
    fork = gitrepo.merge_base(root, base, head)
    return frozenset(gitrepo.git(root, "rev-list", f"{fork}..{head}").decode().split())


def verify_merge_content(root: Path, commit: str, pr: MergedPR) -> None:
    """A merge or squash commit may only bring what the PR head had: no 'evil merge' edits."""
    parents = gitrepo.git(root, "rev-list", "--parents", "-n", "1", commit).decode().split()[1:]
    if not parents:
        return
    changed = [c.path for c in gitrepo.changed(root, parents[0], commit)]
    if not changed:
        return
    at_commit = gitrepo.GitTree(root, commit).read_many(changed)
    at_head = gitrepo.GitTree(root, pr.head).read_many(changed)
    for path in changed:
        if at_commit.get(path) != at_head.get(path):
            raise Unapproved(f"{path} differs from what PR #{pr.number} approved at {pr.head[:12]}")


def check_membership(root: Path, commit: str, pr: MergedPR) -> None:
    """The commit is the PR's own or its merge commit, and a merge commit adds nothing of its own."""
    if commit != pr.merge_commit and commit not in pr_commits(root, pr):
        raise Unapproved(f"PR #{pr.number} does not contain it")
    if commit == pr.merge_commit:
        verify_merge_content(root, commit, pr)


def evaluate_pr(root: Path, pr: MergedPR) -> Approval:
    """The PR's approval at merge time, evaluated again with the gate's policy code."""
    plan = make_plan(root, pr.base, pr.head)
    facts = pr.load_facts()
    decision = evaluate(plan, facts)
    if decision.state != "approved":
        raise Unapproved(f"PR #{pr.number} was merged without the approval its policy requires: {decision.description}")
    return Approval("approved", pr.merge_commit, pr.number, [a.login for a in decision.approvals], pr.merged_at,
                    pr.base, pr.head, facts.author.login)


class Checker:
    """Checks commits against a source of merged PRs (local ledger or GitHub). Each PR is
    evaluated once, however many of its commits are checked."""

    def __init__(self, root: Path, source):
        self.root = root
        self.source = source
        self._by_pr: dict[int, Approval | Unapproved] = {}

    def check(self, commits: list[str]) -> tuple[dict[str, Approval], list[Violation]]:
        approvals: dict[str, Approval] = {}
        violations: list[Violation] = []
        for commit in commits:
            try:
                approvals[commit] = self._approval(commit)
            except (Unapproved, EvaluationError) as exc:
                violations.append(Violation(commit, subject(self.root, commit), str(exc)))
        return approvals, violations

    def _approval(self, commit: str) -> Approval:
        if is_bootstrap(self.root, commit):
            return Approval("bootstrap", commit)
        prs = self.source.merged_prs_containing(commit)
        if not prs:
            raise Unapproved("no merged pull request brought it in (a direct push or an admin bypass)")
        problems = []
        for pr in prs:
            try:
                check_membership(self.root, commit, pr)
                return dataclasses.replace(self._evaluated(pr), commit=commit)
            except Unapproved as exc:
                problems.append(str(exc))
        raise Unapproved("; ".join(problems))

    def _evaluated(self, pr: MergedPR) -> Approval:
        if pr.number not in self._by_pr:
            try:
                self._by_pr[pr.number] = evaluate_pr(self.root, pr)
            except Unapproved as exc:
                self._by_pr[pr.number] = exc
        outcome = self._by_pr[pr.number]
        if isinstance(outcome, Unapproved):
            raise outcome
        return outcome


class LocalLedger:
    """Merged PRs recorded locally: one YAML file per PR (the `gate --local` facts file plus
    `base`, `head`, `merge_commit` and `merged_at`). Used offline and in the demo; in GitHub
    Actions the deploy uses GitHub itself."""

    def __init__(self, root: Path, directory: Path):
        self.root = root
        self.directory = directory
        self._loaded: list[tuple[Path, dict]] | None = None

    def _entries(self) -> list[tuple[Path, dict]]:
        """The ledger's files, read once per run."""
        if self._loaded is None:
            from ..local import read_pr_files  # checks each file, its PR number included

            self._loaded = read_pr_files(self.directory)
        return self._loaded

    def merged_prs_containing(self, commit: str) -> list[MergedPR]:
        from ..local import load_local_facts

        found = []
        for path, doc in self._entries():
            if not doc.get("merge_commit"):
                continue  # still open
            base, head, merge = (gitrepo.resolve(self.root, str(doc[k])) for k in ("base", "head", "merge_commit"))
            facts_doc = {k: v for k, v in doc.items() if k not in ("base", "head", "merge_commit", "merged_at")}
            pr = MergedPR(doc["number"], base, head, merge, str(doc.get("merged_at", "")),
                          lambda p=path, d=facts_doc, b=base, h=head: load_local_facts(p, self.root, b, h, d))
            if commit == merge or commit in pr_commits(self.root, pr):
                found.append(pr)
        return found

    def open_prs(self) -> dict[int, list[str]]:
        """Open PRs (entries with no merge_commit) and the registry paths each one changes."""
        out = {}
        for _, doc in self._entries():
            if doc.get("merge_commit"):
                continue
            base, head = gitrepo.resolve(self.root, str(doc["base"])), gitrepo.resolve(self.root, str(doc["head"]))
            fork = gitrepo.merge_base(self.root, base, head)
            out[doc["number"]] = [c.path for c in gitrepo.changed(self.root, fork, head)]
        return out
