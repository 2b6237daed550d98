"""The provenance checker as it was before issue 11 (one git process per commit and PR), kept only
to compare results with the rewrite on generated histories. Not product code.

Provenance re-check (DESIGN.md invariant 8): every commit a deploy is about to ship must come
from a pull request whose approval satisfied the policy at merge time.

For each such commit the PR that merged it is found, and the approval is evaluated again, from
scratch, with the same pure policy evaluation the gate uses: policy at the PR's base, reviews made
until the merge. A direct push, an admin bypass or a status posted by a PR's own workflow has no
such approval, and the deploy refuses it, naming the commit.

The PR must have been merged into the branch being deployed (for a deploy branch other than the
default branch, that branch or the default branch): a PR merged into any other branch judged a
different change, under a base the deploy never sees.

The root of trust is fixed once: the first commit on the default branch's first-parent history
that carries `policies/approval.yaml`. That commit and its ancestors are the bootstrap; anything
else needs an approved PR. It is never re-derived from "the parent has no policy file", which a
commit deleting the policy (or an orphan branch) could arrange on demand.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from pathlib import Path

from foureyes import gitrepo
from foureyes.deploy.provenance import refuse_tracked_ledger  # not what the comparison is about
from foureyes.errors import EvaluationError
from foureyes.plan import make_plan
from foureyes.policy import evaluate
from foureyes.registry import POLICY_FILE


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
    break_glass: bool = False  # added with freeze windows, which the generated histories never use

    def to_json(self) -> dict:
        return {
            "status": self.status,
            "commit": self.commit,
            "pr": self.pr,
            "approvers": self.approvers,
            "approved_at": self.approved_at,
            "base": self.base,
            "head": self.head,
            "author": self.author,
        }


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
    base_ref: str = ""  # the branch the PR was merged into


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


def root_of_trust(root: Path, default_branch: str) -> str:
    """The first commit on the default branch's first-parent history that carries the policy.
    First-parent history of a protected default branch cannot be rewritten (no force push), so
    this answer never changes once the policy exists."""
    tip = gitrepo.branch_tip(root, default_branch)
    touched = (
        gitrepo.git(root, "rev-list", "--first-parent", "--reverse", tip, "--", POLICY_FILE)
        .decode()
        .split()
    )
    for commit in touched:
        if (
            gitrepo.cat_blobs(root, [f"{commit}:{POLICY_FILE}"])[f"{commit}:{POLICY_FILE}"]
            is not None
        ):
            return commit
    raise EvaluationError(
        f"no commit of {default_branch!r} carries {POLICY_FILE}: there is no root of trust"
    )


def allowed_bases(branch: str | None, default_branch: str) -> frozenset[str]:
    """The branches an approving PR may have been merged into."""
    return frozenset({default_branch} | ({branch} if branch else set()))


def pr_commits(root: Path, pr: MergedPR) -> frozenset[str]:
    return _commits_between(root, pr.base, pr.head)


@functools.lru_cache(maxsize=1024)
def _commits_between(root: Path, base: str, head: str) -> frozenset[str]:
    """The commits a PR brought (cached: every commit of a PR asks the same question)."""
    fork = gitrepo.merge_base(root, base, head)
    return frozenset(gitrepo.git(root, "rev-list", f"{fork}..{head}").decode().split())


def verify_merge_content(root: Path, commit: str, pr: MergedPR) -> None:
    """A merge or squash commit may only bring approved content: what the PR head had, or (the
    PR merged without updating its branch) the clean three-way merge of the PR head into the
    branch as it was (`git merge-tree --write-tree`), whose other side was itself approved and is
    checked commit by commit. Anything else is an 'evil merge' edit no PR approved."""
    parents = gitrepo.git(root, "rev-list", "--parents", "-n", "1", commit).decode().split()[1:]
    if not parents:
        return
    changed = [c.path for c in gitrepo.changed(root, parents[0], commit)]
    if not changed:
        return
    at_commit = gitrepo.GitTree(root, commit).read_many(changed)
    at_head = gitrepo.GitTree(root, pr.head).read_many(changed)
    differs = [p for p in changed if at_commit.get(p) != at_head.get(p)]
    if not differs:
        return
    merged = gitrepo.clean_merge_tree(root, parents[0], pr.head)
    if merged is not None:
        at_merge = gitrepo.GitTree(root, merged).read_many(differs)
        differs = [p for p in differs if at_commit.get(p) != at_merge.get(p)]
        if not differs:
            return
    raise Unapproved(
        f"{differs[0]} differs from what PR #{pr.number} approved at {pr.head[:12]}"
        + ("" if merged is None else " and from a clean merge of it into the branch")
    )


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
        raise Unapproved(
            f"PR #{pr.number} was merged without the approval its policy requires: "
            f"{decision.description}"
        )
    return Approval(
        "approved",
        pr.merge_commit,
        pr.number,
        [a.login for a in decision.approvals],
        pr.merged_at,
        pr.base,
        pr.head,
        facts.author.login,
    )


class Checker:
    """Checks commits against a source of merged PRs (local ledger or GitHub). Each PR is
    evaluated once, however many of its commits are checked."""

    def __init__(self, root: Path, source, branch: str | None = None):
        """``branch``: the branch being deployed; without one (inventory, history) PRs must have
        been merged into the default branch."""
        self.root = root
        self.source = source
        self.branch = branch
        self._by_pr: dict[int, Approval | Unapproved] = {}
        self._trust: tuple[str, frozenset[str]] | None = None

    def _trust_anchor(self) -> tuple[str, frozenset[str]]:
        """(root of trust, allowed PR bases), worked out once per run."""
        if self._trust is None:
            default = self.source.default_branch()
            self._trust = (root_of_trust(self.root, default), allowed_bases(self.branch, default))
        return self._trust

    def check(self, commits: list[str]) -> tuple[dict[str, Approval], list[Violation]]:
        approvals: dict[str, Approval] = {}
        violations: list[Violation] = []
        if commits:
            # no root of trust: an evaluation error for the whole run, not per commit
            self._trust_anchor()
        for commit in commits:
            try:
                approvals[commit] = self._approval(commit)
            except (Unapproved, EvaluationError) as exc:
                violations.append(Violation(commit, subject(self.root, commit), str(exc)))
        return approvals, violations

    def _approval(self, commit: str) -> Approval:
        trusted_root, bases = self._trust_anchor()
        if gitrepo.is_ancestor(self.root, commit, trusted_root):
            return Approval("bootstrap", commit)
        prs = self.source.merged_prs_containing(commit)
        if not prs:
            raise Unapproved(
                "no merged pull request brought it in (a direct push or an admin bypass)"
            )
        problems = []
        for pr in prs:
            try:
                if pr.base_ref not in bases:
                    raise Unapproved(
                        f"PR #{pr.number} was merged into {pr.base_ref or 'an unknown branch'!r}, "
                        f"not {' or '.join(repr(b) for b in sorted(bases))}"
                    )
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
    `base`, `head`, `merge_commit`, `merged_at` and `base_ref`, the branch it was merged into,
    default: the default branch). Used offline and in the demo; in GitHub Actions the deploy uses
    GitHub itself."""

    META = ("base", "head", "merge_commit", "merged_at", "base_ref")

    def __init__(self, root: Path, directory: Path):
        self.root = root
        self.directory = directory
        self._loaded: list[tuple[Path, dict]] | None = None
        refuse_tracked_ledger(root, directory)

    def _entries(self) -> list[tuple[Path, dict]]:
        """The ledger's files, read once per run."""
        if self._loaded is None:
            from foureyes.local import read_pr_files  # checks each file, its PR number included

            self._loaded = read_pr_files(self.directory)
        return self._loaded

    def merged_prs_containing(self, commit: str) -> list[MergedPR]:
        from foureyes.local import load_local_facts

        found = []
        for path, doc in self._entries():
            if not doc.get("merge_commit"):
                continue  # still open
            base, head, merge = (
                gitrepo.resolve(self.root, str(doc[k])) for k in ("base", "head", "merge_commit")
            )
            facts_doc = {k: v for k, v in doc.items() if k not in self.META}
            pr = MergedPR(
                doc["number"],
                base,
                head,
                merge,
                str(doc.get("merged_at", "")),
                lambda p=path, d=facts_doc, b=base, h=head: load_local_facts(p, self.root, b, h, d),
                str(doc.get("base_ref") or self.default_branch()),
            )
            if commit == merge or commit in pr_commits(self.root, pr):
                found.append(pr)
        return found

    def default_branch(self) -> str:
        return gitrepo.default_branch(self.root)

    def open_prs(self) -> dict[int, list[str]]:
        """Open PRs (entries with no merge_commit) and the registry paths each one changes."""
        out = {}
        for _, doc in self._entries():
            if doc.get("merge_commit"):
                continue
            base, head = (
                gitrepo.resolve(self.root, str(doc["base"])),
                gitrepo.resolve(self.root, str(doc["head"])),
            )
            fork = gitrepo.merge_base(self.root, base, head)
            out[doc["number"]] = [c.path for c in gitrepo.changed(self.root, fork, head)]
        return out
