"""Provenance from one listing of the closed PRs: what the listing explains is not asked
again, and what it does not explain is still asked about commit by commit, so a direct push, a PR
into another branch or a PR past the listing's bound cannot slip through (deny by default)."""

import collections
import re
import subprocess

import pytest
import responses

from foureyes.deploy.reconcile import deploy
from foureyes.deploy.record import SqliteRecord
from foureyes.github.client import make_client
from foureyes.sources.github import GitHubPRs
from foureyes.sources.ledger import Ledger
from ghapi.mockgithub import MockGitHub, closed_pulls, commit_pulls, pull_simple, repository, user
from support.clock import NOW, iso
from support.repos import DEP

FRAUD = DEP.format("fraud-scorer")
DANA, ALICE, BOB = user("dana", 104), user("alice", 201), user("bob", 202)
MERGED_AT = iso(NOW)  # after the reviews the mock stamps (NOW - 2h) and the commits (NOW - 2 days)


@pytest.fixture
def rsps(monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as r:
        repository(r)
        yield r


@pytest.fixture
def deployed(repo):
    """main: the example registry, deployed to staging (the bootstrap)."""
    repo.write(".gitignore", ".foureyes/\n")
    repo.commit("ignore", "Mo Admin <mo@acme.example>")
    record = SqliteRecord(repo.root / ".foureyes" / "record.sqlite")
    assert deploy(repo.session, "staging", record, Ledger(repo.session, repo.root / "none")).ok
    record.close()
    return repo


def commit_at(repo, message: str, date: str | None = None) -> str:
    """A commit whose committer date says ``date`` (anyone who commits can write any date)."""
    repo.git("add", "-A")
    env = {
        "GIT_AUTHOR_NAME": "Dana",
        "GIT_AUTHOR_EMAIL": "dana@acme.example",
        "GIT_COMMITTER_NAME": "Dana",
        "GIT_COMMITTER_EMAIL": "dana@acme.example",
        "PATH": "/usr/bin:/bin:/usr/local/bin",
        "HOME": str(repo.root),
        **repo.clock.env(),
    }
    if date:
        env["GIT_COMMITTER_DATE"] = env["GIT_AUTHOR_DATE"] = date
    subprocess.run(
        ["git", "-C", str(repo.root), "commit", "-q", "--allow-empty", "-m", message],
        check=True,
        env=env,
    )
    return repo.git("rev-parse", "HEAD")


def merged_pr(
    repo,
    rsps,
    number: int,
    version: str,
    into: str = "main",
    date: str | None = None,
    merged_at: str = MERGED_AT,
    listed: bool = True,
) -> dict:
    """PR #number (fraud-scorer to ``version``) approved by two admins and merged into ``into`` with
    a
    merge commit; GitHub lists it (closed PRs) and answers commits/{sha}/pulls for its commits."""
    base = repo.git("rev-parse", into)
    repo.git("checkout", "-q", "-b", f"pr-{number}", into)
    repo.replace(
        FRAUD, re.search(r'version: "[^"]*"', repo.read(FRAUD)).group(0), f'version: "{version}"'
    )
    head = commit_at(repo, f"fraud-scorer v{version}", date)
    repo.git("checkout", "-q", into)
    env = ["-c", "user.name=Mo", "-c", "user.email=mo@acme.example"]
    if date:
        subprocess.run(
            [
                "git",
                "-C",
                str(repo.root),
                *env,
                "merge",
                "-q",
                "--no-ff",
                "-m",
                f"Merge #{number}",
                f"pr-{number}",
            ],
            check=True,
            env={
                "GIT_COMMITTER_DATE": date,
                "GIT_AUTHOR_DATE": date,
                "PATH": "/usr/bin:/bin:/usr/local/bin",
                "HOME": str(repo.root),
            },
        )
    else:
        repo.git(*env, "merge", "-q", "--no-ff", "-m", f"Merge #{number}", f"pr-{number}")
    merge = repo.git("rev-parse", "HEAD")
    pr = pull_simple(number, base, head, merged_at, merge, base_ref=into)
    if listed:
        closed_pulls(rsps, pr)
    for sha in (head, merge):
        commit_pulls(rsps, sha, [pr])
    gh = MockGitHub(rsps, number=number)
    gh.pull(DANA, base, head, base_ref=into)
    gh.commits({"sha": head, "author": DANA})
    gh.reviews(*[{"user": u, "state": "APPROVED", "commit_id": head} for u in (ALICE, BOB)])
    gh.team("acme/mlops-admins", ALICE, BOB)
    return {"number": number, "base": base, "head": head, "merge": merge, "simple": pr}


def run(repo, rsps):
    record = SqliteRecord(repo.root / ".foureyes" / "record.sqlite")
    try:
        rsps.calls.reset()
        result = deploy(
            repo.session,
            "staging",
            record,
            GitHubPRs(make_client(), "acme/models", repo.session),
            dry_run=True,
        )
    finally:
        record.close()
    asked = collections.Counter(
        re.sub(r"/[0-9a-f]{40}/", "/{sha}/", c.request.url.split("?")[0].split(":443")[-1])
        for c in rsps.calls
    )
    return (
        result,
        asked,
        [
            c.request.url
            for c in rsps.calls
            if re.search(r"/commits/[0-9a-f]{40}/pulls", c.request.url)
        ],
    )


def test_listed_prs_are_not_asked_about_commit_by_commit(deployed, rsps):
    merged_pr(deployed, rsps, 42, "13")
    merged_pr(deployed, rsps, 43, "14")
    result, asked, per_commit = run(deployed, rsps)
    assert result.ok, result.violations
    assert asked["/repos/acme/models/pulls"] == 1 and per_commit == []
    assert "/repos/acme/models/pulls/42" not in asked  # the listing's pull-request-simple is enough


def test_a_direct_push_among_pr_commits_is_asked_about_and_refused(deployed, rsps):
    merged_pr(deployed, rsps, 42, "13")
    deployed.replace(FRAUD, 'version: "13"', 'version: "66"')
    bad = deployed.commit("direct push", "Eve <eve@acme.example>")
    commit_pulls(rsps, bad, [])  # GitHub knows no PR for it
    merged_pr(deployed, rsps, 43, "14")
    result, _, per_commit = run(deployed, rsps)
    assert [v.commit for v in result.violations] == [bad]
    assert "no merged pull request brought it in" in result.violations[0].reason
    assert len(per_commit) == 1 and bad in per_commit[0]  # only the commit no listed PR explains


def test_a_listed_pr_merged_into_another_branch_does_not_approve(deployed, rsps):
    """Eve pushes a commit to main and gets a PR with that commit merged into `feature`: the listing
    finds it, and it explains nothing the checker accepts."""
    deployed.git("branch", "feature")
    deployed.replace(FRAUD, 'version: "12"', 'version: "66"')
    bad = deployed.commit("direct push", "Eve <eve@acme.example>")
    deployed.git("checkout", "-q", "feature")
    side_merge = deployed.merge_as_mo(bad, "Merge #50")
    deployed.git("checkout", "-q", "main")
    base = deployed.git("rev-parse", "feature~1")
    pr = pull_simple(50, base, bad, MERGED_AT, side_merge, base_ref="feature")
    closed_pulls(rsps, pr)
    commit_pulls(rsps, bad, [pr])
    gh = MockGitHub(rsps, number=50)
    gh.pull(DANA, base, bad, base_ref="feature")
    gh.commits({"sha": bad, "author": DANA})
    gh.reviews(*[{"user": u, "state": "APPROVED", "commit_id": bad} for u in (ALICE, BOB)])
    gh.team("acme/mlops-admins", ALICE, BOB)
    result, _, _ = run(deployed, rsps)
    assert [v.commit for v in result.violations] == [bad]
    assert "merged into 'feature', not 'main'" in result.violations[0].reason


def test_a_pr_past_the_listing_bound_is_still_found_commit_by_commit(deployed, rsps):
    """Its commits claim 2031 (committer dates are whatever the committer wrote), so the listing
    stops
    before the PR GitHub merged in 2026; the commits no listed PR explains are asked about
    instead."""
    pr = merged_pr(deployed, rsps, 42, "13", date="2031-01-01T00:00:00Z")
    result, asked, per_commit = run(deployed, rsps)
    assert result.ok, result.violations
    assert (
        asked["/repos/acme/models/pulls"] == 1
    )  # one page, stopped at the first PR older than the bound
    assert any(pr["merge"] in url for url in per_commit)


def test_a_pr_missing_from_the_listing_is_found_commit_by_commit(deployed, rsps):
    """The listing can miss a PR (updated while it was paged): nothing is approved or refused on its word."""
    pr = merged_pr(deployed, rsps, 42, "13", listed=False)
    closed_pulls(rsps)
    result, _, per_commit = run(deployed, rsps)
    assert result.ok, result.violations
    assert any(pr["merge"] in url for url in per_commit)


def test_the_listing_stops_paging_at_the_bound(deployed, rsps):
    listing = closed_pulls(
        rsps,
        *[
            pull_simple(n, "a" * 40, "b" * 40, "2020-01-01T00:00:00Z", "c" * 40)
            for n in range(1000, 1150)
        ],
    )
    merged_pr(deployed, rsps, 42, "13")
    listing.pages = 0
    result, _, per_commit = run(deployed, rsps)
    assert result.ok and per_commit == []
    assert (
        listing.pages == 1
    )  # 151 closed PRs, 100 a page: the second page is older than every commit
