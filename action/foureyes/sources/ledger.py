"""The offline ledger, `.foureyes/prs/<n>.yaml`: PRs recorded locally, one YAML file per PR (the
`gate --local` facts file plus `base`, `head`, `merge_commit`, `merged_at` and `base_ref`, the
branch it was merged into, default: the default branch). Used offline and in the demo, by the
deploy's provenance check and by the what-if alike; in GitHub Actions they ask GitHub itself."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from .. import repo as gitrepo
from ..errors import EvaluationError
from ..judging.facts import PRFacts
from ..repo import Repo
from .pr_file import load_local_facts, read_pr_files
from .protocol import MergedPR, PRRef


def refuse_tracked_ledger(repo: Repo, directory: Path) -> None:
    """A ledger inside the repository's tracked tree is evidence anyone who can push could write:
    a direct push could carry its own "approval". Ledger files tracked by git (in the index or at
    HEAD) are refused, whatever they say."""
    try:
        rel = directory.resolve().relative_to(repo.path.resolve()).as_posix()
    except ValueError:
        return  # outside the repository
    spec = rel if rel != "." else ""
    tracked = repo.git("ls-files", "-z", "--", spec or ".").split(b"\0")
    try:
        gitrepo.resolve(repo, "HEAD")
        tracked += repo.git("ls-tree", "-r", "-z", "--name-only", "HEAD", "--", spec or ".").split(
            b"\0"
        )
    except gitrepo.GitError:
        pass  # no commit yet
    found = sorted({p.decode("utf-8", "replace") for p in tracked if p.endswith(b".yaml")})
    if found:
        raise EvaluationError(
            f"{found[0]}: the offline PR ledger is committed to the repository, so a push "
            "could approve "
            f"itself; it is refused. Keep {rel}/ out of git (list it in .gitignore) and "
            "untrack it: "
            f"git rm -r --cached {rel}"
        )


def _at(text: str) -> datetime:
    value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Ledger:
    """The offline ledger as a `PRSource`: its files read once per run (each checked, its PR
    number included), a ledger tracked by git refused before anything is read."""

    META = ("base", "head", "merge_commit", "merged_at", "base_ref")  # what the facts file adds

    def __init__(self, repo: Repo, directory: Path) -> None:
        self.repo = repo
        self.directory = directory
        self._loaded: list[tuple[Path, dict]] | None = None
        self._default: str | None = None
        refuse_tracked_ledger(repo, directory)

    def read_ahead(self) -> None:
        """Read the ledger now (a deploy does it while git walks the history)."""
        self._entries()

    def _entries(self) -> list[tuple[Path, dict]]:
        """The ledger's files, read once per run."""
        if self._loaded is None:
            self._loaded = read_pr_files(self.directory)
        return self._loaded

    def default_branch(self) -> str:
        """The checkout's default branch (what origin's HEAD names, else main)."""
        if self._default is None:
            self._default = gitrepo.default_branch(self.repo)
        return self._default

    # --- the provenance check -------------------------------------------------------------------

    def merged_prs(self, commits: list[str]) -> list[MergedPR]:
        """Every merged PR of the ledger, in file order (its refs resolved in one git call): the
        checker works out which commits each one brought."""
        entries = [
            (path, doc) for path, doc in self._entries() if doc.get("merge_commit")
        ]  # else still open
        sha = gitrepo.resolve_many(
            self.repo, [str(doc[k]) for _, doc in entries for k in ("base", "head", "merge_commit")]
        )
        found = []
        for path, doc in entries:
            base, head, merge = (sha[str(doc[k])] for k in ("base", "head", "merge_commit"))
            base_ref = str(doc.get("base_ref") or self.default_branch())
            found.append(
                MergedPR(
                    doc["number"],
                    base,
                    head,
                    merge,
                    str(doc.get("merged_at", "")),
                    self._loader(path, base, head, self._facts_doc(doc), base_ref),
                    base_ref,
                )
            )
        return found

    def _facts_doc(self, doc: dict) -> dict:
        """A ledger entry as the facts file it extends."""
        return {k: v for k, v in doc.items() if k not in self.META}

    def _loader(
        self, path: Path, base: str, head: str, doc: dict, base_ref: str
    ) -> Callable[[tuple[str, ...]], PRFacts]:
        """The facts of one ledger entry, read when the checker asks (whatever the teams: the
        entry lists its teams' members itself)."""

        def load(teams: tuple[str, ...] = ()) -> PRFacts:
            return load_local_facts(path, self.repo, base, head, doc, base_ref)

        return load

    def prefetch(self, graph: gitrepo.Graph, ranges: list[tuple[str, str]]) -> None:
        """The commits of many PRs (``(fork, head)`` ranges) read in one git call."""
        gitrepo.prefetch_commit_logs(self.repo, graph, ranges)

    def open_prs(self) -> dict[int, list[str]]:
        """Open PRs (entries with no merge_commit) and the registry paths each one changes."""
        out = {}
        for _, doc in self._entries():
            if doc.get("merge_commit"):
                continue
            base, head = (
                gitrepo.resolve(self.repo, str(doc["base"])),
                gitrepo.resolve(self.repo, str(doc["head"])),
            )
            fork = gitrepo.merge_base(self.repo, base, head)
            out[doc["number"]] = [c.path for c in gitrepo.changed(self.repo, fork, head)]
        return out

    # --- the what-if ----------------------------------------------------------------------------

    def prs(self, since: datetime | None = None, limit: int | None = None) -> list[PRRef]:
        """Merged PRs (with merge_commit and merged_at) merged since ``since``, and every open PR,
        newest first with the open ones on top; at most ``limit``."""
        found = []
        for path, doc in self._entries():
            merged = bool(doc.get("merge_commit"))
            if merged:
                if not doc.get("merged_at"):
                    raise EvaluationError(
                        f"{path}: a merged PR file needs merged_at (when it was merged)"
                    )
                try:
                    when = _at(doc["merged_at"])
                except ValueError:
                    raise EvaluationError(
                        f"{path}: merged_at {doc['merged_at']!r} is not an ISO 8601 time"
                    ) from None
                if since is not None and when < since:
                    continue
            found.append(
                (
                    str(doc.get("merged_at") or "~open"),
                    PRRef(
                        doc["number"],
                        "merged" if merged else "open",
                        str(doc["base"]),
                        str(doc["head"]),
                        "",
                        str(doc.get("merged_at") or ""),
                        str(doc.get("base_ref") or self.default_branch()),
                    ),
                )
            )
        found.sort(
            key=lambda item: (item[0], item[1].number), reverse=True
        )  # newest first, open PRs on top
        refs = [ref for _, ref in found]
        return refs[:limit] if limit else refs

    def facts(self, pr: PRRef, teams: tuple[str, ...]) -> PRFacts:
        """The facts of a PR ``prs`` listed (whatever the teams: the entry lists its teams'
        members itself)."""
        by_number = {doc["number"]: (path, doc) for path, doc in self._entries()}
        if pr.number not in by_number:
            raise EvaluationError(f"{self.directory}: no file describes PR #{pr.number}")
        path, doc = by_number[pr.number]
        return load_local_facts(
            path,
            self.repo,
            pr.base,
            gitrepo.resolve(self.repo, pr.head),
            self._facts_doc(doc),
            pr.base_ref,
        )
