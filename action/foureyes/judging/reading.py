"""What the pure judging needs, read from git before it judges: the governance of a judging
commit, the change a PR makes, the commits that judge it, and whether it is a promotion.

This is the judging's one adapter: ``plan``, ``freeze`` and ``judgment`` never read git, and every
caller (the gate, the deploy, the what-if, the timeout, ``foureyes plan``) reads through here, so
two of them cannot read a PR differently. What it reads at a commit is kept in the session by the
entries it is read from (a deploy re-checking many PRs meets the same policy directory at most of
their bases); an error is raised again each time, never kept.
"""

from __future__ import annotations

from .. import repo as gitrepo
from ..registry.model import POLICY_FILE
from ..repo import GitTree, Repo
from ..repo.objects import is_sha
from . import freeze, judgment
from .judgment import Case
from .plan import BASE_INPUTS, Base, ChangeSet, FileChange, Governance, Plan, classify, needs_bytes

_KEPT = 256  # commits' governance kept per session, then forgotten all at once


def governance_at(repo: Repo, tree: GitTree) -> Governance:
    """``Governance.read`` of ``tree``, kept in the session by the entries it is read from."""
    key = tuple(tree.entries(BASE_INPUTS).values()) if is_sha(tree.commit) else None
    if key is None:
        return Governance.read(tree)
    if key not in repo.judging:
        if len(repo.judging) >= _KEPT:
            repo.judging.clear()
        repo.judging[key] = Governance.read(tree)
    return repo.judging[key]


def freezes_at(repo: Repo, tree: GitTree) -> freeze.Freezes:
    """``freeze.load`` of ``tree``, kept in the session by the entries of the two files it reads
    (a deploy meets the same files at most commits it serves)."""
    if not is_sha(tree.commit):
        return freeze.load(tree)
    key = tuple(tree.entries([POLICY_FILE, freeze.INCIDENT_FILE]).values())
    if key not in repo.freezes:
        if len(repo.freezes) >= _KEPT:
            repo.freezes.clear()
        repo.freezes[key] = freeze.load(tree)
    return repo.freezes[key]


def read_change(repo: Repo, fork: str, head: str, governance: Governance) -> ChangeSet:
    """What ``head`` changed over ``fork``, with the bytes of each side the plan reads (one
    batched read of their blobs)."""
    diff = gitrepo.changed(repo, fork, head)
    policy = governance.policy
    wanted = [
        c
        for c in diff
        if needs_bytes(c.path, c.new_mode if c.new_sha != gitrepo.ZERO_SHA else c.old_mode, policy)
    ]
    blobs = gitrepo.cat_blobs(
        repo, [s for c in wanted for s in (c.old_sha, c.new_sha) if s != gitrepo.ZERO_SHA]
    )
    read = {c.path for c in wanted}

    def side(sha: str, path: str) -> bytes | None:
        return blobs.get(sha) if path in read and sha != gitrepo.ZERO_SHA else None

    return ChangeSet(
        fork,
        head,
        tuple(
            FileChange(
                c.path,
                c.old_mode,
                c.new_mode,
                side(c.old_sha, c.path),
                side(c.new_sha, c.path),
            )
            for c in diff
        ),
    )


def make_plan(
    repo: Repo, base_ref: str, head_ref: str = "HEAD", judged_at: str | None = None
) -> Plan:
    """The change is what ``head`` holds over its fork from ``base``, judged by what
    ``judged_at`` (default ``base``) holds: its policy, schemas, organisation rules, environments,
    freezes, and the importance there now. (A PR into a deploy branch is judged at the default
    branch too: the same change, that branch's policy.)"""
    head = gitrepo.resolve(repo, head_ref)
    fork = gitrepo.merge_base(repo, gitrepo.resolve(repo, base_ref), head)
    commit = gitrepo.resolve(repo, judged_at or base_ref)
    files = GitTree(repo, commit)
    governance = governance_at(repo, files)
    change = read_change(repo, fork, head, governance)
    return classify(Base(commit, files, governance), change, GitTree(repo, head), repo.path)


def commits_at_merge(
    repo: Repo, base: str, base_ref: str, default: tuple[str, str] | None, moment: str
) -> list[str]:
    """``judgment.judging_commits`` for a PR merged at ``moment`` (GitHub's merged_at) into
    ``base_ref``: for a PR into a deploy branch, the default branch as it was then. ``default``:
    the default branch's name and tip (None: judged by its base alone, as an offline ledger
    without one)."""
    if default is None or not base_ref or base_ref == default[0]:
        return judgment.judging_commits(base, None)
    return judgment.judging_commits(base, default_branch_at(repo, default[1], moment))


def default_branch_at(repo: Repo, tip: str, moment: str) -> str:
    """The default branch's commit when a PR was merged (``moment``, GitHub's merged_at): the
    newest first-parent commit of its ``tip`` committed by then, else the tip itself. The
    first-parent commits of a protected default branch are GitHub's merge and squash commits (the
    ruleset allows no other merge method and no direct push), whose committer date is the moment
    GitHub made them."""
    if not moment:
        return tip
    found = repo.git("rev-list", "-1", "--first-parent", f"--before={moment}", tip).decode().strip()
    return found or tip


def teams_to_read(repo: Repo, commits: list[str]) -> tuple[str, ...]:
    """The teams whose members the facts must hold for a PR judged at ``commits`` (the gate reads
    the PR's facts, teams included, before it plans): ``judgment.teams_of`` their governance."""
    return judgment.teams_of([governance_at(repo, GitTree(repo, c)) for c in commits])


def case_for(repo: Repo, commits: list[str], head: str) -> Case:
    """The PR's change (its head over its fork from its base, ``commits[0]``) planned once per
    judging commit, each judged by what that commit holds. A promotion's head is a commit of the
    default branch: planned from the default branch itself it would be no change at all."""
    plans = [make_plan(repo, commits[0], head, judged_at=commit) for commit in commits]
    # a PR into a deploy branch (judged at two commits, its base's and the default branch's)
    # whose head is a commit of the default branch carries what was merged there into the branch
    promoting = len(plans) == 2 and gitrepo.is_ancestor(repo, plans[0].head, plans[1].base)
    return Case(plans, promoting)


def as_planned(repo: Repo, plan: Plan, base_ref: str, default_branch: str) -> Plan:
    """The plan as the judgment sees its events (`foureyes plan`, which has no PR facts): a
    change into a deploy branch ``base_ref`` whose head is a commit of ``default_branch`` is a
    promotion there."""
    base_ref = base_ref.removeprefix("origin/")
    default_tip = deploy_branch_tip(repo, base_ref, default_branch)
    if default_tip is None:
        return plan
    promoting = gitrepo.is_ancestor(repo, plan.head, default_tip)
    return judgment.into_branch(plan, base_ref, promoting)


def deploy_branch_tip(repo: Repo, name: str, default_branch: str) -> str | None:
    """The default branch's tip when ``name`` is a deploy branch here: a branch, not the default
    one, that registry/environments.yaml on the default branch deploys (as the gate's
    `judged_base` asks); None for anything else (a commit, an expression, no default branch)."""
    if not name or name == default_branch:
        return None
    try:
        gitrepo.branch_tip(repo, name)
        default_tip = gitrepo.branch_tip(repo, default_branch)
    except gitrepo.GitError:
        return None
    return default_tip if freeze.served_from(GitTree(repo, default_tip), name) else None
