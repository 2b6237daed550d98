"""Provenance re-check (docs/design.md, "A change request, end to end", step 4): every commit a deploy is about to ship must come
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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .. import repo as gitrepo
from ..errors import EvaluationError
from ..judging import judgment, reading
from ..judging.changes import is_deployment_path
from ..judging.plan import BASE_INPUTS
from ..registry.model import POLICY_FILE, STATE_PATHS
from ..registry.yamlload import LoadError
from ..repo import Repo
from ..repo.history import log_changes
from ..sources.protocol import MergedPR, PRSource

if TYPE_CHECKING:
    from .record import Record


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
    break_glass: bool = False  # labelled break-glass, with the policy's extra approvals (freeze.py)

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
            **({"break_glass": True} if self.break_glass else {}),
        }


@dataclass
class Violation:
    commit: str
    subject: str
    reason: str

    def __str__(self) -> str:
        return f"commit {self.commit[:12]} ({self.subject}): {self.reason}"


class Unapproved(Exception):
    pass


def commits_touching(repo: Repo, since: str | None, head: str, paths: list[str]) -> list[str]:
    """Commits (oldest first) in since..head that touched any of ``paths``, merges' sides included."""
    return gitrepo.commits_touching(repo, f"{since}..{head}" if since else head, paths)


def promoted_branch(checker: Checker, branch: str | None) -> bool:
    """Whether ``branch`` deploys under the promotion rule: any branch but the default branch."""
    return bool(branch) and branch != checker.source.default_branch()


def state_commits(repo: Repo, head: str, since: str | None) -> list[str]:
    """The first-parent commits of ``head`` since ``since`` that changed what a state is made of,
    newest first: each one set the registry the branch then served."""
    span = f"{since}..{head}" if since else head
    return [
        commit
        for commit, _, changes in log_changes(repo, span, first_parent=True)
        if any(c.path.startswith(STATE_PATHS) for c in changes)
    ]


def unpromoted(
    repo: Repo,
    head: str,
    since: str | None,
    branch: str | None,
    checker: Checker,
    states: list[str],
    never_deployed: bool,
    environment: str = "",
) -> str | None:
    """Why the registry state at ``head`` may not be served from ``branch``, or None.

    Promotion: an environment deployed from a branch other than the default branch serves only
    states that approved PRs into that branch brought in (a promotion from the default branch, or
    a hotfix). Every first-parent commit since the last complete deploy that changed the registry or
    the policies (``states``, checked by ``checker`` beforehand) must be the merge or squash commit
    of an approved PR merged into ``branch``, and the line must grow from what that deploy served
    (``since``). Without one (the first deploy) the line may start in the bootstrap, the registry
    the root of trust holds, but only for an environment ``never_deployed``: a branch cut at the
    root of trust later would roll it back. A branch cut at an old commit, pushed forward to
    another branch's commit, or grown from such a state by a later PR, serves nothing.

    `promotion: {ENV: false}` is honoured as the served state's policy says it (the last deploy's
    commit, else the root of trust): a change of it reaches the environment only through a
    promotion, judged while promotion is still on."""
    from ..judging.plan import load_policy

    if not promoted_branch(checker, branch):
        return None
    trusted_root = checker._trust_anchor()[0]
    if not load_policy(gitrepo.GitTree(repo, since or trusted_root)).promotion_on(environment):
        return None
    default = checker.source.default_branch()
    for commit in states:
        if checker.merged_into.get(commit) == branch:
            continue
        if never_deployed and gitrepo.is_ancestor(repo, commit, trusted_root):
            continue
        return (
            f"{branch} serves the registry as commit {commit[:12]} set it, which no approved "
            "PR into "
            f"{branch} brought in (cut or pushed there from {default} or elsewhere): promote "
            "it with a "
            f"PR into {branch}"
        )
    if since is None and not never_deployed and not states:
        return (
            f"{branch} does not grow from what the environment last served: promote it "
            f"with a PR into {branch}"
        )
    return None


def subject(repo: Repo, commit: str) -> str:
    return gitrepo.subjects(repo, [commit]).get(commit, "")


def root_of_trust(repo: Repo, default_branch: str) -> str:
    """The first commit on the default branch's first-parent history that carries the policy.
    First-parent history of a protected default branch cannot be rewritten (no force push), so
    this answer never changes once the policy exists."""
    tip = gitrepo.branch_tip(repo, default_branch)
    touched = (
        repo.git("rev-list", "--first-parent", "--reverse", tip, "--", POLICY_FILE).decode().split()
    )
    present = gitrepo.blob_ids(repo, [f"{commit}:{POLICY_FILE}" for commit in touched])
    for commit in touched:
        if present[f"{commit}:{POLICY_FILE}"] is not None:
            return commit
    raise EvaluationError(
        f"no commit of {default_branch!r} carries {POLICY_FILE}: there is no root of trust"
    )


# what a merge may not bring in under the governed paths: only regular files are judged
GOVERNED = STATE_PATHS
FILE_MODES = frozenset({"100644", "100755"})
GITLINK_MODE = "160000"

# the trees a plan walks at its base: what it reads there and the directories holding it (a file
# named here is passed over by the prefetch, which keeps trees only)
JUDGED_AT_BASE = sorted({*BASE_INPUTS, *(p.rsplit("/", 1)[0] for p in BASE_INPUTS if "/" in p)})


def allowed_bases(branch: str | None, default_branch: str) -> frozenset[str]:
    """The branches an approving PR may have been merged into."""
    return frozenset({default_branch} | ({branch} if branch else set()))


def merge_verdicts(
    repo: Repo, pairs: list[tuple[str, MergedPR]], graph: gitrepo.Graph | None = None
) -> dict[tuple[str, int], str | None]:
    """For each (merge or squash commit, its PR): None when the commit brings only approved content,
    else why not. Approved content is what the PR head had, or (the PR merged without updating its
    branch) the clean three-way merge of the PR head into the branch as it was (`git merge-tree
    --write-tree`), whose other side was itself approved and is checked commit by commit. Anything
    else is an 'evil merge' edit no PR approved.

    Every commit's changes come from one `git diff-tree --stdin`, the PR heads' blobs from the PRs'
    own diffs (worked out for their evaluation) or else one `git cat-file --batch-check`, and the
    merges of the commits whose content differs from their PR head (both sides changed one file)
    from one `git merge-tree --stdin`."""
    changes = gitrepo.first_parent_changes(repo, [c for c, _ in pairs])
    for commit, _ in pairs:
        for c in changes.get(commit, []):
            if c.new_mode == gitrepo.SYMLINK_MODE:
                raise LoadError(c.path, "symlinks are not allowed in the registry or policies")
    order = graph.generation if graph is not None else None
    at_head: dict[str, str | None] = {}  # "<head>:<path>" -> blob id
    unknown = []
    for commit, pr in pairs:
        # what the PR changed, when the run knows it: its head has each such file as the diff says,
        # and every other file as at the fork, which needs a lookup
        by_path = {c.path: c for c in gitrepo.known_changes(repo, pr.base, pr.head) or []}
        for c in changes.get(commit, []):
            theirs = by_path.get(c.path)
            if theirs is None:
                unknown.append(f"{pr.head}:{c.path}")
            else:
                at_head[f"{pr.head}:{c.path}"] = (
                    theirs.new_sha
                    if theirs.new_sha != gitrepo.ZERO_SHA and theirs.new_mode != "160000"
                    else None
                )
    at_head.update(gitrepo.blob_ids(repo, unknown, order))
    verdicts: dict[tuple[str, int], str | None] = {}
    verdicts.update(_outside_the_pr(repo, graph, pairs, changes, at_head))
    verdicts.update(_not_files(pairs, changes))
    differing = {}
    for commit, pr in pairs:
        if verdicts.get((commit, pr.number)):
            continue
        mine = {
            c.path: (
                c.new_sha if c.new_sha != gitrepo.ZERO_SHA and c.new_mode != "160000" else None
            )
            for c in changes.get(commit, [])
        }
        differs = [p for p, blob in mine.items() if blob != at_head[f"{pr.head}:{p}"]]
        verdicts[(commit, pr.number)] = None
        if differs:
            differing[(commit, pr.number)] = (commit, pr, differs, mine)
    if not differing:
        return verdicts
    # the content of a commit differing from its PR head: the clean merge of that head into the
    # branch as it was. Most often the PR simply did not touch those files and the commit keeps the
    # branch's version (a stale PR branch): that is its three-way merge, read from blob ids alone.
    parents = {c: gitrepo.resolve(repo, f"{c}^1") for c, *_ in differing.values()}
    kept = _kept_branch_versions(repo, graph, parents, differing)
    differing = {k: v for k, v in differing.items() if k not in kept}
    if not differing:
        return verdicts
    # the rest (both sides changed a file, renames): `git merge-tree`, all of them in one call
    merged = gitrepo.clean_merge_trees(
        repo, [(parents[c], pr.head) for c, pr, *_ in differing.values()]
    )
    at_merge = gitrepo.blob_ids(
        repo,
        [
            f"{tree}:{p}"
            for c, pr, differs, _ in differing.values()
            if (tree := merged[(parents[c], pr.head)]) is not None
            for p in differs
        ],
        order,
    )
    for key, (commit, pr, differs, mine) in differing.items():
        tree = merged[(parents[commit], pr.head)]
        if tree is not None:
            differs = [p for p in differs if mine[p] != at_merge[f"{tree}:{p}"]]
            if not differs:
                continue
        verdicts[key] = (
            f"{differs[0]} differs from what PR #{pr.number} approved at {pr.head[:12]}"
            + ("" if tree is None else " and from a clean merge of it into the branch")
        )
    return verdicts


def _not_files(pairs: list[tuple[str, MergedPR]], changes: dict) -> dict:
    """Under the governed paths only regular files are judged: a gitlink (a submodule's commit) or
    any other kind of entry a merge brings in is content no plan read."""
    found = {}
    for commit, pr in pairs:
        for c in changes.get(commit, []):
            if (
                c.path.startswith(GOVERNED)
                and c.new_sha != gitrepo.ZERO_SHA
                and c.new_mode not in FILE_MODES
            ):
                kind = (
                    "a submodule (gitlink)"
                    if c.new_mode == GITLINK_MODE
                    else f"an entry of mode {c.new_mode}"
                )
                found[(commit, pr.number)] = (
                    f"{c.path} is {kind}: only regular files are judged under {', '.join(GOVERNED)}"
                )
                break
    return found


def _outside_the_pr(
    repo: Repo,
    graph: gitrepo.Graph | None,
    pairs: list[tuple[str, MergedPR]],
    changes: dict,
    at_head: dict,
) -> dict:
    """A merge or squash commit may differ from its first parent only where the PR changed
    something: in a three-way merge a path the PR's side left as at the merge base keeps the
    branch's version. A path the commit changes that the PR head has as at the merge base (a stale
    copy from the PR's fork point, say) is content no PR approved, even when it "equals the PR
    head". All merge bases from the commit graph, all their blob ids in one batch."""
    changed = [c for c, _ in pairs if changes.get(c)]
    known = graph.parents if graph is not None else {}
    parents = {c: known[c][0] for c in changed if known.get(c)}
    rest = [c for c in changed if c not in parents]  # outside the graph: one batch
    found = gitrepo.resolve_many(repo, [f"{c}^1" for c in rest])
    parents.update({c: found[f"{c}^1"] for c in rest})
    forks = {}
    for commit, pr in pairs:
        if commit in parents:
            fork = graph.merge_base(parents[commit], pr.head) if graph is not None else None
            forks[(commit, pr.number)] = fork or gitrepo.merge_base(repo, parents[commit], pr.head)
    names = [
        f"{forks[(c, pr.number)]}:{ch.path}"
        for c, pr in pairs
        if (c, pr.number) in forks
        for ch in changes[c]
    ]
    at_fork = gitrepo.blob_ids(repo, names, graph.generation if graph is not None else None)
    outside: dict[tuple[str, int], str] = {}
    for commit, pr in pairs:
        fork = forks.get((commit, pr.number))
        for ch in changes.get(commit, []) if fork else []:
            if at_fork[f"{fork}:{ch.path}"] == at_head[f"{pr.head}:{ch.path}"]:
                outside[(commit, pr.number)] = (
                    f"{ch.path} differs from what PR #{pr.number} approved: the PR "
                    "did not change it, and the merge changed the branch's version"
                )
                break
    return outside


def _kept_branch_versions(
    repo: Repo, graph: gitrepo.Graph | None, parents: dict, differing: dict
) -> set:
    """The commits whose every differing file is one the PR never changed (same at the merge base
    of the branch and the PR head as at the head) and that keep the branch's version of it: the
    outcome a three-way merge gives. One batch for every blob id; a pair with no single merge base
    is left to `git merge-tree`."""
    forks = {}
    for key, (commit, pr, _, _) in differing.items():
        fork = graph.merge_base(parents[commit], pr.head) if graph is not None else None
        if fork is not None:
            forks[key] = fork
    names = [
        f"{rev}:{p}"
        for key, fork in forks.items()
        for p in differing[key][2]
        for rev in (fork, differing[key][1].head, parents[differing[key][0]])
    ]
    blobs = gitrepo.blob_ids(repo, names, graph.generation if graph is not None else None)
    kept = set()
    for key, fork in forks.items():
        commit, pr, differs, mine = differing[key]
        if all(
            blobs[f"{fork}:{p}"] == blobs[f"{pr.head}:{p}"]
            and mine[p] == blobs[f"{parents[commit]}:{p}"]
            for p in differs
        ):
            kept.add(key)
    return kept


def evaluate_pr(repo: Repo, pr: MergedPR, default: tuple[str, str] | None = None) -> Approval:
    """The PR's approval at merge time, judged by the one judgment (see judgment.py) with the
    policies that judged it at the gate: its base's, and for a PR into a deploy branch the default
    branch's as it was at the merge too; the stricter wins. ``default``: the default branch's name
    and tip."""
    from ..judging import freeze

    commits = reading.commits_at_merge(repo, pr.base, pr.base_ref, default, pr.merged_at)
    case = reading.case_for(repo, commits, pr.head)
    facts = pr.load_facts(judgment.teams_of_plans(case.plans))
    # a PR merged during a freeze (an admin bypass) needed break-glass at that time
    plan, decision = judgment.judge(
        case, facts, freeze.parse_now(pr.merged_at) if pr.merged_at else None
    )
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
        freeze.break_glass_used(plan, facts.labels, len(decision.approvals)),
    )


class Checker:
    """Checks commits against a source of merged PRs (the offline ledger or GitHub).

    The work is done once per run, whatever the number of commits and PRs: the commit graph is
    read in one `git rev-list`, the map from commit to the merged PRs that brought it is built
    from it, merge contents are checked in two batched git calls, and each PR is evaluated once.
    With a ``cache`` (the deploy record), a PR evaluated by an earlier run is read back instead:
    an approval of a merged PR is immutable (policy at its base, reviews until the merge), so it
    is kept by (PR number, merge commit) and used only when base, head and base branch agree."""

    def __init__(
        self,
        repo: Repo,
        source: PRSource,
        branch: str | None = None,
        cache: Record | None = None,
        save: bool = False,
    ) -> None:
        """``branch``: the branch being deployed; without one (inventory, history) PRs must have
        been merged into the default branch. ``cache``: a record with `evaluations()` and
        `keep_evaluations()`; ``save``: write new approvals to it."""
        self.repo = repo
        self.source = source
        self.branch = branch
        self.cache = cache
        self.save = save
        self._by_pr: dict[int, Approval | Unapproved] = {}
        self._trust: tuple[str, frozenset[str]] | None = None
        self._default_tip: tuple[str, str] | None = None
        self._cached: dict | None = None
        self._prs: dict[int, MergedPR] = {}
        self.evaluated = 0  # PRs evaluated from scratch in this run
        self.merged_into: dict[
            str, str
        ] = {}  # merge or squash commit of an approved PR -> its base branch

    def _default(self) -> tuple[str, str]:
        """The default branch's name and tip, read once per run."""
        if self._default_tip is None:
            name = self.source.default_branch()
            self._default_tip = (name, gitrepo.branch_tip(self.repo, name))
        return self._default_tip

    def _trust_anchor(self) -> tuple[str, frozenset[str]]:
        """(root of trust, allowed PR bases), worked out once per run."""
        if self._trust is None:
            default = self.source.default_branch()
            self._trust = (root_of_trust(self.repo, default), allowed_bases(self.branch, default))
        return self._trust

    def check(self, commits: list[str]) -> tuple[dict[str, Approval], list[Violation]]:
        approvals: dict[str, Approval] = {}
        refused: list[tuple[str, str]] = []
        if not commits:
            return approvals, []
        trusted_root, bases = self._trust_anchor()  # none: an evaluation error for the whole run
        bootstrap = gitrepo.Graph(self.repo, [trusted_root]).ancestors(trusted_root)
        brought: dict[str, list[MergedPR]] = {c: [] for c in commits if c not in bootstrap}
        merged = self.source.merged_prs(list(brought)) if brought else []
        graph = gitrepo.Graph(
            self.repo, [*brought] + [x for pr in merged for x in (pr.base, pr.head)]
        )
        for pr in merged:  # the commit -> PRs map, built once from the PRs' own commits
            own = (
                graph.only_in(pr.head, pr.base)
                if pr.head in graph and pr.base in graph
                else frozenset()
            )
            for commit in dict.fromkeys(
                [*(c for c in own if c in brought and c != pr.merge_commit), pr.merge_commit]
            ):
                if commit in brought:
                    brought[commit].append(pr)
        wanted = {
            id(pr) for prs in brought.values() for pr in prs
        }  # only the PRs that brought these commits
        self._prefetch(
            graph,
            [
                pr
                for pr in merged
                if id(pr) in wanted and pr.base_ref in bases and self._from_cache(pr) is None
            ],
        )
        verdicts = merge_verdicts(
            self.repo,
            [
                (c, pr)
                for c, prs in brought.items()
                for pr in prs
                if c == pr.merge_commit and pr.base_ref in bases
            ],
            graph,
        )
        for commit in commits:
            if commit in bootstrap:
                approvals[commit] = Approval("bootstrap", commit)
                continue
            try:
                approvals[commit] = self._approval(commit, brought[commit], bases, verdicts)
            except (Unapproved, EvaluationError) as exc:
                refused.append((commit, str(exc)))
        self._keep()
        names = gitrepo.subjects(self.repo, [c for c, _ in refused])
        return approvals, [Violation(c, names.get(c, ""), reason) for c, reason in refused]

    def _prefetch(self, graph: gitrepo.Graph, prs: list[MergedPR]) -> None:
        """What evaluating these PRs will ask git, asked for all of them at once: merge bases from
        the graph, their changes in one `diff-tree --stdin`, and what the source reads (the offline
        ledger: the PRs' commits). The evaluations then answer from memory."""
        pairs = [(pr.base, pr.head) for pr in prs if pr.base in graph and pr.head in graph]
        gitrepo.prefetch_merge_bases(self.repo, graph, pairs)
        forks = [(gitrepo.merge_base(self.repo, base, head), head) for base, head in pairs]
        gitrepo.prefetch_changes(self.repo, forks, graph.generation)
        # what each plan reads: the policy, rules, schema and environments at its base, and the
        # versions of the deployments the PR changed
        versions = [
            sha
            for fork, head in forks
            for c in gitrepo.changed(self.repo, fork, head)
            if is_deployment_path(c.path)
            for sha in (c.old_sha, c.new_sha)
        ]
        gitrepo.prefetch_trees(self.repo, [base for base, _ in pairs], JUDGED_AT_BASE, versions)
        self.source.prefetch(graph, forks)

    def _approval(
        self,
        commit: str,
        prs: list[MergedPR],
        bases: frozenset[str],
        verdicts: dict[tuple[str, int], str | None],
    ) -> Approval:
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
                if commit == pr.merge_commit and verdicts[(commit, pr.number)] is not None:
                    raise Unapproved(verdicts[(commit, pr.number)])
                approval = dataclasses.replace(self._evaluated(pr), commit=commit)
                if commit == pr.merge_commit:
                    self.merged_into[commit] = pr.base_ref
                return approval
            except Unapproved as exc:
                problems.append(str(exc))
        raise Unapproved("; ".join(problems))

    def _evaluated(self, pr: MergedPR) -> Approval:
        if pr.number not in self._by_pr:
            cached = self._from_cache(pr)
            if cached is not None:
                self._by_pr[pr.number] = cached
            else:
                self._prs[pr.number] = pr
                try:
                    self.evaluated += 1
                    self._by_pr[pr.number] = evaluate_pr(self.repo, pr, self._default())
                except Unapproved as exc:
                    self._by_pr[pr.number] = exc
        outcome = self._by_pr[pr.number]
        if isinstance(outcome, Unapproved):
            raise outcome
        return outcome

    # --- the evaluation cache in the deploy record ------------------------------------------------

    def _from_cache(self, pr: MergedPR) -> Approval | None:
        if self.cache is None or not pr.merge_commit:
            return None
        if self._cached is None:
            self._cached = self.cache.evaluations()
        kept = self._cached.get((pr.number, pr.merge_commit))
        if not isinstance(kept, dict) or kept.get("status") != "approved":
            return None
        if (kept.get("base"), kept.get("head"), kept.get("base_ref")) != (
            pr.base,
            pr.head,
            pr.base_ref,
        ):
            return None  # not the PR this approval was worked out for
        if kept.get("judged_by") != judgment.VERSION:
            return None  # worked out by another version of the judgment: judged again
        try:
            return Approval(
                "approved",
                pr.merge_commit,
                pr.number,
                list(kept["approvers"]),
                str(kept["approved_at"]),
                pr.base,
                pr.head,
                str(kept["author"]),
                kept.get("break_glass") is True,
            )
        except (KeyError, TypeError):
            return None

    def _keep(self) -> None:
        """Only approvals are kept: a refusal is worked out again (its cause may be fixed in the ledger)."""
        if self.cache is None or not self.save:
            return
        cached = self._cached if self._cached is not None else self.cache.evaluations()
        new = {}
        for number, outcome in self._by_pr.items():
            pr = self._prs.get(number)
            kept = cached.get((number, pr.merge_commit)) if pr is not None else None
            if (
                isinstance(outcome, Approval)
                and pr is not None
                and (not isinstance(kept, dict) or kept.get("judged_by") != judgment.VERSION)
            ):
                new[(number, pr.merge_commit)] = {
                    **outcome.to_json(),
                    "base_ref": pr.base_ref,
                    "judged_by": judgment.VERSION,
                }
        if new:
            self.cache.keep_evaluations(new)
            cached.update(new)
            self._cached = cached
