"""The batched git reads give exactly what the one-question-per-process reads give, on a
generated history with merges, stale merges, squash merges, reverts and direct pushes."""

from __future__ import annotations

import contextlib
import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
import generate_history as gen

from foureyes import repo as gitrepo
from foureyes.repo import Repo as Session
from foureyes.repo import diffs, objects
from foureyes.repo import history as log_history
from foureyes.sources.pr_file import read_pr_files


def git(repo: Session, *args: str) -> str:
    return repo.git(*args).decode()


def session_of(history) -> tuple[Session, list]:
    """A fresh session on the module's generated repository, as a command starts one."""
    root, prs = history
    return Session(root), prs


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    h = gen.bootstrap(tmp_path_factory.mktemp("gen") / "repo", 12)
    gen.grow(h, 60, seed=3, direct=0.1)
    prs = [doc for _, doc in read_pr_files(h.root / ".foureyes" / "prs") if doc.get("merge_commit")]
    assert len(prs) > 20
    return h.root, prs


def pairs_of(prs) -> list[tuple[str, str]]:
    return [(str(doc["base"]), str(doc["head"])) for doc in prs]


def test_merge_bases_from_the_graph_are_gits(history):
    repo, prs = session_of(history)
    commits = git(repo, "rev-list", "--all").split()
    graph = gitrepo.Graph(repo, commits)
    random.seed(4)
    pairs = pairs_of(prs) + [tuple(random.sample(commits, 2)) for _ in range(60)]
    for a, b in pairs:
        found = graph.merge_base(a, b)
        every = git(repo, "merge-base", "--all", a, b).split()
        assert found == (every[0] if len(every) == 1 else None), (a, b, every)


def test_a_criss_cross_merge_has_two_merge_bases_and_is_left_to_git(tmp_path):
    from support.repos import Repo

    repo = Repo(tmp_path)
    repo.write("f", "0\n")
    repo.commit("root")
    repo.branch("a")
    repo.write("a", "1\n")
    repo.commit("a1")
    repo.git("checkout", "-q", "main")
    repo.write("b", "1\n")
    repo.commit("b1")
    a1, b1 = repo.git("rev-parse", "a"), repo.git("rev-parse", "main")
    repo.git("merge", "-q", "--no-ff", "-m", "m1", "a")
    m1 = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "a")
    repo.git("merge", "-q", "--no-ff", "-m", "m2", b1)
    m2 = repo.git("rev-parse", "HEAD")
    graph = gitrepo.Graph(repo.session, [m1, m2])
    assert sorted(repo.git("merge-base", "--all", m1, m2).split()) == sorted([a1, b1])
    assert graph.merge_base(m1, m2) is None
    gitrepo.prefetch_merge_bases(repo.session, graph, [(m1, m2)])
    assert gitrepo.merge_base(repo.session, m1, m2) in (a1, b1)  # git answered


def test_prefetched_changes_and_commit_logs_are_those_of_one_git_call_each(history):
    repo, prs = session_of(history)
    graph = gitrepo.Graph(repo, [x for pair in pairs_of(prs) for x in pair])
    forks = [(repo.git("merge-base", b, h).decode().strip(), h) for b, h in pairs_of(prs)]
    expected_changes = {pair: gitrepo.changed(repo, *pair) for pair in forks}
    expected_logs = {pair: gitrepo.commit_log(repo, *pair) for pair in forks}
    repo.known.clear()
    gitrepo.prefetch_changes(repo, forks)
    gitrepo.prefetch_commit_logs(repo, graph, forks)
    assert all(("diff", *pair) in repo.known for pair in forks)
    assert {pair: gitrepo.changed(repo, *pair) for pair in forks} == expected_changes
    assert {pair: gitrepo.commit_log(repo, *pair) for pair in forks} == expected_logs


def test_a_branch_with_many_commits_and_a_merge_is_logged_in_gits_order(tmp_path):
    """Same-second commits (a script, a rebase) and a merge of the base into the branch."""
    from support.repos import Repo

    repo = Repo(tmp_path)
    repo.write("f", "0\n")
    repo.commit("root")
    fork = repo.git("rev-parse", "HEAD")
    repo.branch("pr")
    for i in range(4):
        repo.write("f", f"{i}\n")
        repo.commit(f"pr {i}")
    repo.git("checkout", "-q", "main")
    repo.write("g", "1\n")
    repo.commit("main moves")
    repo.git("checkout", "-q", "pr")
    repo.git("merge", "-q", "--no-ff", "-m", "update branch", "main")
    repo.write("f", "8\n")
    repo.git("add", "-A")
    gitrepo.git(
        repo.root,
        "commit",
        "-q",
        "-m",
        "a clock that went back",
        env_extra={
            "GIT_COMMITTER_DATE": "2001-01-01T00:00:00Z",
            "GIT_AUTHOR_DATE": "2001-01-01T00:00:00Z",
        },
    )
    repo.write("f", "9\n")
    repo.commit("pr last")
    head = repo.git("rev-parse", "HEAD")
    expected = gitrepo.commit_log(repo.session, fork, head)
    repo.session.known.clear()
    gitrepo.prefetch_commit_logs(repo.session, gitrepo.Graph(repo.session, [head]), [(fork, head)])
    assert gitrepo.commit_log(repo.session, fork, head) == expected and len(expected) == 8


def test_clean_merge_trees_in_one_call_are_those_of_one_call_each(history):
    repo, prs = session_of(history)
    commits = git(repo, "rev-list", "main").split()
    random.seed(9)
    pairs = [(commits[random.randrange(len(commits))], str(doc["head"])) for doc in prs]
    batched = gitrepo.clean_merge_trees(repo, pairs)
    assert batched == {pair: gitrepo.clean_merge_tree(repo, *pair) for pair in pairs}
    assert None in batched.values() and any(
        batched.values()
    )  # conflicts and clean merges both seen


@pytest.mark.parametrize(
    "prefix",
    [
        "registry/deployments",
        "registry/deployments/",
        "registry",
        "policies/rules",
        "registry/environments.yaml",
        "nope",
        "registry/environments.yaml/x",
    ],
)
def test_listing_through_the_reader_is_ls_tree(history, prefix):
    repo, _ = session_of(history)
    head = gitrepo.resolve(repo, "HEAD")
    assert (
        gitrepo.GitTree(repo, head).list(prefix)
        == git(repo, "ls-tree", "-r", "--name-only", head, "--", prefix).split()
    )


def test_names_after_a_full_sha_resolve_through_the_reader_as_rev_parse(history):
    repo, prs = session_of(history)
    merge = str(prs[-1]["merge_commit"])
    for name in (merge, f"{merge}^1", f"{merge}^2", f"{merge}~2", f"{merge}^"):
        assert gitrepo.resolve(repo, name) == git(repo, "rev-parse", f"{name}^{{commit}}").strip()
    with pytest.raises(gitrepo.GitError, match="unknown git revision"):
        gitrepo.resolve(repo, f"{merge}~100000")


def test_commits_touching_many_paths_is_git_log_with_every_path(history):
    """git is asked for the covering directories; the answer must be that of the paths themselves."""
    repo, _ = session_of(history)
    files = git(repo, "ls-tree", "-r", "--name-only", "HEAD", "--", "registry/").split()
    random.seed(2)
    for paths in (
        random.sample(files, 3),
        files,
        ["registry/deployments"],
        ["policies/", "registry/environments.yaml"],
        [*random.sample(files, 5), "policies/"],
    ):
        expected = git(
            repo, "log", "--format=%H", "--full-history", "--reverse", "main", "--", *paths
        ).split()
        assert gitrepo.commits_touching(repo, "main", paths) == expected, paths
        last = {}
        out = git(
            repo,
            "log",
            "--full-history",
            "--diff-merges=first-parent",
            "--format=%x00%H",
            "--name-only",
            "main",
            "--",
            *paths,
        )
        for block in out.split("\x00")[1:]:
            sha, *names = block.split("\n")
            for name in filter(None, names):
                last.setdefault(name, sha)
        assert gitrepo.last_changes(repo, "main", paths) == last, paths


def test_entries_through_the_reader_are_ls_tree(history):
    repo, prs = session_of(history)
    paths = [
        "registry/deployments",
        "registry/environments.yaml",
        "policies/rules",
        "registry/nothing-here",
        "registry/environments.yaml/not-a-dir",
        "policies",
    ]
    for commit in [str(prs[0]["merge_commit"]), git(repo, "rev-parse", "HEAD").strip()]:
        expected = {}
        for path in paths:
            listed = git(repo, "ls-tree", commit, "--", path).split()
            expected[path] = (listed[0], listed[2]) if listed and listed[3] == path else None
        assert gitrepo.GitTree(repo, commit).entries(paths) == expected
    assert gitrepo.GitTree(repo, "HEAD").entries(paths) == gitrepo.GitTree(repo, commit).entries(
        paths
    )


@pytest.mark.parametrize("first_parent", [False, True])
def test_the_history_pass_gives_every_commit_s_first_parent_diff_as_git_log_does(
    history, first_parent
):
    """Merges are not diffed by the pass itself: an up-to-date PR merge takes its branch commit's
    diff, the rest one `diff-tree`. Both must equal `git log --diff-merges=first-parent --raw`."""
    repo, _ = session_of(history)
    args = [
        "log",
        *(["--first-parent"] if first_parent else []),
        "--diff-merges=first-parent",
        "--no-renames",
        "--no-abbrev",
        "--format=%x00%H",
        "--raw",
        "-z",
        "HEAD",
    ]
    expected: dict[str, list] = {}
    tokens = repo.git(*args).split(b"\0")
    i, commit = 0, None
    while i < len(tokens):
        if not tokens[i] and i + 1 < len(tokens) and len(tokens[i + 1]) == 40:
            commit, i = tokens[i + 1].decode(), i + 2
            expected[commit] = []
        elif tokens[i]:
            meta = tokens[i].decode().lstrip("\n:").split(" ")
            expected[commit].append(
                (tokens[i + 1].decode(), meta[4], meta[0], meta[1], meta[2], meta[3])
            )
            i += 2
        else:
            i += 1
    head = gitrepo.resolve(repo, "HEAD")
    gitrepo.read_history_ahead(repo, head, first_parent)  # through the thread, as a deploy reads it
    found = log_history.log_changes(repo, head, first_parent)
    assert [c for c, _, _ in found] == list(expected)
    merges = [c for c, parents, _ in found if len(parents) > 1]
    trees = dict(line.split() for line in git(repo, "log", "--all", "--format=%H %T").splitlines())
    parents = {c: p for c, p, _ in found}
    up_to_date = [m for m in merges if len(parents[m]) == 2 and trees[parents[m][1]] == trees[m]]
    assert up_to_date and len(up_to_date) < len(merges)  # both kinds of merge are met
    for commit, _, changes in found:
        assert [
            (c.path, c.status, c.old_mode, c.new_mode, c.old_sha, c.new_sha) for c in changes
        ] == expected[commit]


def test_prefetched_trees_and_blobs_are_read_without_a_round_trip_each(history, monkeypatch):
    repo, prs = session_of(history)
    bases = [str(doc["base"]) for doc in prs]
    paths = [
        "policies/approval.yaml",
        "registry/environments.yaml",
        "policies/deployment.schema.json",
    ]

    def read_all():
        return [
            (
                gitrepo.GitTree(repo, b).read_many(paths),
                gitrepo.GitTree(repo, b).list("policies/rules"),
            )
            for b in bases
        ]

    repo.close()
    fresh = read_all()
    changes = [c for doc in prs for c in gitrepo.changed(repo, str(doc["base"]), str(doc["head"]))]
    versions = [c.new_sha for c in changes if c.new_sha != gitrepo.ZERO_SHA]
    repo.close()
    gitrepo.prefetch_trees(repo, bases, ["policies", "policies/rules", "registry"], versions)
    asked = []
    real = objects.BatchReader.object
    monkeypatch.setattr(
        objects.BatchReader, "object", lambda self, name: asked.append(name) or real(self, name)
    )
    assert read_all() == fresh
    files = set(gitrepo.blob_ids(repo, [f"{b}:{p}" for b in bases for p in paths]).values())
    assert set(asked) <= files and len(asked) == len(
        set(asked)
    )  # no commit or tree asked; each file once
    asked.clear()
    assert gitrepo.cat_blobs(repo, versions) == {
        v: repo.git("cat-file", "blob", v) for v in versions
    }
    assert asked == []


def test_the_first_parent_view_of_the_whole_pass_is_git_log_first_parent(history):
    repo, _ = session_of(history)
    head = gitrepo.resolve(repo, "HEAD")
    span = f"{gitrepo.resolve(repo, 'HEAD~7')}..{head}"
    for asked in (head, span):
        direct, _ = log_history.read_log_changes(repo, asked, first_parent=True)
        gitrepo.read_history_ahead(repo, asked)
        assert log_history.log_changes(repo, asked, first_parent=True) == list(direct)
        assert len(direct) < len(
            log_history.log_changes(repo, asked)
        )  # the view is not the whole pass


def test_pr_diffs_found_in_the_history_pass_are_git_s_diffs(history, monkeypatch):
    """A PR whose base is some commit's parent and whose head has that commit's tree (its own one
    commit, or the merge or squash of an up-to-date PR) is not diffed again: the pass has it."""
    repo, prs = session_of(history)
    forks = [(repo.git("merge-base", b, h).decode().strip(), h) for b, h in pairs_of(prs)]
    expected = dict(zip(forks, diffs._diff_pairs(repo, forks), strict=False))
    repo.known.clear()
    log_history.log_changes(repo, gitrepo.resolve(repo, "HEAD"))
    asked = []
    real = diffs._diff_pairs
    monkeypatch.setattr(
        diffs, "_diff_pairs", lambda repo, pairs, *a: asked.extend(pairs) or real(repo, pairs, *a)
    )
    gitrepo.prefetch_changes(repo, forks)
    assert {pair: gitrepo.changed(repo, *pair) for pair in forks} == expected
    assert len(asked) < len(set(forks)) / 2


def _wait_for(condition, seconds: float = 20.0) -> None:
    """Poll until ``condition()`` holds (a thread's git starting); fails after ``seconds``."""
    import time

    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


# a git command that runs until it is stopped: an alias that becomes `sleep` (its stderr not git's,
# so that git's own end closes the pipe foureyes reads)
WAIT = ("-c", "alias.wait=!exec sleep 30 2>/dev/null", "wait")


def test_closing_a_session_stops_the_git_it_still_runs_and_its_reader(tmp_path):
    """A run that ends leaves no git working for nobody (a history pass read ahead that nobody
    waited for, the open cat-file reader); the session still answers afterwards."""
    import threading

    from support.repos import Repo

    built = Repo(tmp_path)
    built.write("f", "one\n")
    head = built.commit("one")
    repo = Session(tmp_path)
    assert gitrepo.GitTree(repo, head).read("f") == b"one\n"
    reader = repo.reader()
    failed: list[BaseException] = []

    def ahead():
        try:
            repo.git(*WAIT)
        except gitrepo.GitError as exc:
            failed.append(exc)

    thread = threading.Thread(target=ahead, daemon=True)
    thread.start()
    _wait_for(lambda: repo.running())
    (proc,) = repo.running()
    repo.close()
    thread.join(20)
    assert not thread.is_alive() and failed, "the stopped git ends the thread's call with an error"
    assert proc.poll() is not None and reader.proc.poll() is not None
    assert gitrepo.GitTree(repo, head).read("f") == b"one\n"  # a new reader


def test_a_pass_read_ahead_leaves_no_git_running_after_its_session_closed(tmp_path, monkeypatch):
    """A history pass makes more than one git call: when ``close`` stops the first, the thread
    may start the next; that one is stopped too, not left to run for nobody."""
    from foureyes.repo import session
    from foureyes.repo.processes import Ahead
    from support.repos import Repo

    built = Repo(tmp_path)
    built.write("f", "one\n")
    built.commit("one")
    repo = Session(tmp_path)

    def two_calls() -> None:
        for _ in range(2):
            with contextlib.suppress(gitrepo.GitError):  # stopped by close
                repo.git(*WAIT)

    ahead = Ahead(two_calls)
    repo.ahead[("pass",)] = ahead
    _wait_for(lambda: repo.running())
    monkeypatch.setattr(session, "_PASS_GRACE", 0.5)
    repo.close()
    assert ahead.finished(10), "the pass's second git call outlived its session"
    assert repo.running() == []


def test_a_run_that_exits_without_closing_its_session_leaves_no_git_running(tmp_path):
    """The interpreter's exit closes every session still open (as a command that fails does)."""
    import os
    import subprocess
    import sys
    import time

    from support.repos import Repo

    built = Repo(tmp_path / "repo")
    built.write("f", "one\n")
    built.commit("one")
    script = (
        "import sys, threading, time\n"
        "from foureyes.repo import Repo\n"
        f"repo = Repo({str(built.root)!r})\n"
        f"threading.Thread(target=lambda: repo.git(*{WAIT!r}), daemon=True).start()\n"
        "while not repo.running(): time.sleep(0.01)\n"
        "print(repo.running()[0].pid, repo.reader().proc.pid, flush=True)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    pids = [int(p) for p in out.split()]
    deadline = time.monotonic() + 20

    def gone(pid: int) -> bool:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                return stat.read().split(") ", 1)[1].startswith("Z")  # dead, not yet reaped
        except FileNotFoundError:
            return True

    while not all(gone(p) for p in pids):
        assert time.monotonic() < deadline, f"git still running: {pids}"
        time.sleep(0.05)
    assert os.path.isdir(built.root)


def test_a_commit_fetched_during_a_session_is_read_there_not_remembered_as_absent(tmp_path):
    """A deploy reads a PR's commit, finds it missing, fetches it (ensure_commits) and reads it
    again in the same session: the second read must see the files, not a kept 'no such commit'."""
    import subprocess

    def run(cwd: Path, *args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
            cwd=cwd,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    origin, clone = tmp_path / "origin", tmp_path / "clone"
    origin.mkdir()
    run(origin, "init", "-q", "-b", "main")
    (origin / "a.txt").write_text("one\n")
    run(origin, "add", "a.txt")
    run(origin, "commit", "-q", "-m", "one")
    run(tmp_path, "clone", "-q", str(origin), str(clone))
    (origin / "a.txt").write_text("two\n")
    run(origin, "commit", "-q", "-am", "two")
    later = run(origin, "rev-parse", "HEAD")
    with Session(clone) as session:
        assert gitrepo.GitTree(session, later).read("a.txt") is None  # not here yet
        gitrepo.ensure_commits(session, [later])
        assert gitrepo.GitTree(session, later).read("a.txt") == b"two\n"
