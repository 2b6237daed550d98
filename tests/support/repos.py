"""Real git repositories for the tests: dated by the suite's clock, never by the wall clock."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from foureyes.repo import Repo as Session
from support.clock import GitClock

# Mo, the admin who presses GitHub's merge button
MO_MERGES = ["-c", "user.name=Mo Admin", "-c", "user.email=mo@acme.example"]


class Repo:
    """A real git repository whose commits are dated by the suite's clock, never by the wall clock."""

    def __init__(self, root: Path):
        self.root = root
        self.clock = GitClock()
        root.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        """The session foureyes reads this repository through, made as a command makes it
        (`foureyes.repo.Repo(root)`), once: what it keeps is keyed by full SHAs, which the
        commits made here afterwards do not change."""
        if self._session is None:
            self._session = Session(self.root)
        return self._session

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(self.root), *args],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, **self.clock.env()},
        ).stdout.strip()

    def write(self, rel: str, text: str | bytes) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, "utf-8")
        return path

    def read(self, rel: str) -> str:
        return (self.root / rel).read_text("utf-8")

    def replace(self, rel: str, old: str, new: str) -> None:
        text = self.read(rel)
        assert old in text, f"{old!r} not in {rel}"
        self.write(rel, text.replace(old, new, 1))

    def rm(self, rel: str) -> None:
        self.git("rm", "-q", rel)

    def merge_as_mo(self, what: str, message: str | None = None) -> str:
        """Merge ``what`` into the checked-out branch with a merge commit (``--no-ff``), as Mo,
        with ``message`` (None: git's own); its SHA."""
        wording = ["-m", message] if message is not None else ["--no-edit"]
        self.git(*MO_MERGES, "merge", "-q", "--no-ff", *wording, what)
        return self.git("rev-parse", "HEAD")

    def commit(
        self,
        message: str = "change",
        author: str = "Dana Scientist <dana@acme.example>",
        committer: str | None = None,
    ) -> str:
        name, email = author[:-1].split(" <")
        cname, cemail = (committer or author)[:-1].split(" <")
        self.git("add", "-A")
        subprocess.run(
            ["git", "-C", str(self.root), "commit", "-q", "--allow-empty", "-m", message],
            check=True,
            capture_output=True,
            env={
                "GIT_AUTHOR_NAME": name,
                "GIT_AUTHOR_EMAIL": email,
                "GIT_COMMITTER_NAME": cname,
                "GIT_COMMITTER_EMAIL": cemail,
                "PATH": "/usr/bin:/bin:/usr/local/bin",
                "HOME": str(self.root),
                **self.clock.env(),
            },
        )
        return self.git("rev-parse", "HEAD")

    def branch(self, name: str) -> None:
        self.git("checkout", "-q", "-b", name)


DEP = "registry/deployments/{}.yaml"


def use_target(repo: Repo, env: str, target: str) -> None:
    """Point ``env``'s target at ``target`` (the YAML of a `target:` mapping, one line)."""
    text = repo.read("registry/environments.yaml")
    head, rest = text.split(f"  - name: {env}\n", 1)
    block, tail = rest.split("    protected:", 1)
    branch = block.split("\n", 1)[0]
    repo.write(
        "registry/environments.yaml",
        f"{head}  - name: {env}\n{branch}\n    target: {target}\n    protected:{tail}",
    )
