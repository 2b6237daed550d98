"""Runs a workflow of this repository in `act` (a real Actions runner, no Docker: `-self-hosted`)
against the GitHub stand-in, offline.

The repository the workflow runs in is a copy of this worktree (so `uses: ./` runs the code
under test), pushed to the stand-in's git server as acme/models; the event payload starts from
GitHub's webhook examples. The pinned third-party actions come from local folders
(`--local-repository`), upload-artifact from a local composite stand-in. `pip install` inside the
action resolves from a prebuilt wheelhouse only (PIP_NO_INDEX)."""

from __future__ import annotations

import ctypes
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).parents[2]
HERE = Path(__file__).parent
REPO = "acme/models"
CLONE_NEWNET = 0x40000000

# actions the workflows pin -> the folder holding that action (action.yml + dist)
# the pinned actions' folders (action.yml + dist of each): by default the shared folder beside this
# repository's checkout (../shared/github-actions); elsewhere, point FOUREYES_E2E_ACTIONS at a
# folder
# holding <name>/ for each action the workflows pin (see the README's test section)
SHARED_ACTIONS = Path(
    os.environ.get("FOUREYES_E2E_ACTIONS", ROOT.parent / "shared" / "github-actions")
)
STUB_ACTIONS = HERE / "stub-actions"


def pinned_actions() -> dict[str, Path]:
    """Every `owner/name@sha` the workflows and action.yml use -> a local folder for it."""
    found: dict[str, Path] = {}
    files = [*list((ROOT / ".github" / "workflows").glob("*.yml")), ROOT / "action.yml"]
    for path in files:
        for ref in re.findall(r"(?m)^\s*(?:- )?uses:\s*([^\s#]+)", path.read_text()):
            if ref.startswith("./"):
                continue
            name = ref.split("@")[0].split("/", 1)[1]
            folder = (
                STUB_ACTIONS / name if (STUB_ACTIONS / name).is_dir() else SHARED_ACTIONS / name
            )
            found[ref] = folder
    return found


# --- network isolation: a namespace where only loopback exists ------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)


def loopback_namespace() -> int | None:
    """A new network namespace holding nothing but `lo` (up); returns an fd for it and leaves the
    calling thread where it was. None where namespaces are not allowed (not root)."""
    original = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        if _libc.unshare(CLONE_NEWNET) != 0:
            return None
        try:
            subprocess.run(["ip", "link", "set", "lo", "up"], check=True, capture_output=True)
            return os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        finally:
            if _libc.setns(original, CLONE_NEWNET) != 0:
                raise OSError(
                    ctypes.get_errno(), "could not return to the original network namespace"
                )
    finally:
        os.close(original)


class InNamespace:
    """`with InNamespace(fd):` runs the block (and the sockets it opens) in that namespace."""

    def __init__(self, fd: int | None):
        self.fd = fd

    def __enter__(self):
        if self.fd is not None:
            self.original = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
            if _libc.setns(self.fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns failed")

    def __exit__(self, *exc):
        if self.fd is not None:
            _libc.setns(self.original, CLONE_NEWNET)
            os.close(self.original)


# --- the repository the workflow runs in
# -------------------------------------------------------------


class RemoteRepo:
    """A working clone (where act runs) and the bare repository the stand-in serves."""

    def __init__(self, workdir: Path, bare: Path, prepare=None):
        """``prepare(root)``: edits the copy before the bootstrap commit (a registry of its own)."""
        self.root = workdir
        self.bare = bare
        workdir.mkdir(parents=True)
        files = subprocess.run(
            [
                "git",
                "-C",
                str(ROOT),
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ],
            check=True,
            capture_output=True,
        ).stdout.split(b"\0")
        for rel in filter(None, files):
            rel = rel.decode()
            if rel.startswith("tests/") or not (ROOT / rel).exists():
                continue
            target = workdir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if (ROOT / rel).is_symlink():
                os.symlink(os.readlink(ROOT / rel), target)
            else:
                shutil.copy2(ROOT / rel, target)
        if prepare is not None:
            prepare(workdir)
        self.git("init", "-q", "-b", "main")
        self.git("remote", "add", "origin", f"https://github.com/{REPO}")
        self.commit("foureyes and the registry", "Mo Admin <mo@acme.example>")
        bare.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
        # GitHub serves any commit reachable from its refs, refs/pull/* included (fetch by SHA)
        subprocess.run(
            ["git", "-C", str(bare), "config", "uploadpack.allowAnySHA1InWant", "true"], check=True
        )
        self.push("main")

    def git(self, *args: str, env: dict | None = None) -> str:
        return subprocess.run(
            ["git", "-C", str(self.root), *args],
            check=True,
            capture_output=True,
            text=True,
            env=env,
        ).stdout.strip()

    def write(self, rel: str, text: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def replace(self, rel: str, old: str, new: str) -> None:
        text = (self.root / rel).read_text()
        assert old in text, f"{old!r} not in {rel}"
        self.write(rel, text.replace(old, new, 1))

    def commit(self, message: str, author: str = "Dana Scientist <dana@acme.example>") -> str:
        name, email = author[:-1].split(" <")
        env = {
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email,
            "PATH": os.environ["PATH"],
            "HOME": str(self.root),
        }
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message, env=env)
        return self.git("rev-parse", "HEAD")

    def sha(self, ref: str = "HEAD") -> str:
        return self.git("rev-parse", ref)

    def push(self, *refspecs: str) -> None:
        self.git("push", "-q", "-f", str(self.bare), *refspecs)

    def set_ref(self, ref: str, sha: str) -> None:
        subprocess.run(["git", "-C", str(self.bare), "update-ref", ref, sha], check=True)


# --- act
# -------------------------------------------------------------------------------------------


@dataclass
class ActResult:
    returncode: int
    output: str

    def step_failed(self, name: str) -> bool:
        return bool(re.search(rf"❌\s+Failure - Main {re.escape(name)}", self.output))

    def step_succeeded(self, name: str) -> bool:
        return bool(re.search(rf"✅\s+Success - Main {re.escape(name)}", self.output))


class Act:
    """One session's runner set-up: tool cache, action cache, wheelhouse, namespace."""

    def __init__(self, workdir: Path, cache: Path, standin, wheelhouse: Path, netns: int | None):
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.standin = standin
        self.wheelhouse = wheelhouse
        self.netns = netns
        self.cache = cache
        self.runs = 0
        self.artifacts = workdir / "artifacts"
        self.artifacts.mkdir(exist_ok=True)
        standin.artifacts_dir = self.artifacts
        python = self.cache / "tool_cache" / "Python" / "3.11.7" / "x64"
        if not python.exists():
            # setup-python finds Python in the runner's tool cache (act:
            # <action-cache-path>/tool_cache)
            subprocess.run([sys.executable, "-m", "venv", str(python)], check=True)
            (python.parent / "x64.complete").touch()

    def run(
        self,
        repo: RemoteRepo,
        workflow: str,
        event_name: str,
        payload: dict,
        *,
        job: str | None = None,
        secrets: dict | None = None,
        variables: dict | None = None,
        runner_env: dict | None = None,
        timeout: int = 600,
    ) -> ActResult:
        """``runner_env``: more variables every step of the run sees (act's --env)."""
        self.runs += 1
        run_dir = self.workdir / f"run-{self.runs}"
        run_dir.mkdir()
        event = run_dir / "event.json"
        event.write_text(json.dumps(payload))
        cert = str(self.standin.cert)
        cmd = [
            shutil.which("act") or str(Path(sys.executable).parent / "act"),
            event_name,
            "-W",
            f".github/workflows/{workflow}",
            "-e",
            str(event),
            "-P",
            "ubuntu-latest=-self-hosted",
            "--no-skip-checkout",
            "--github-instance",
            self.standin.host,
            "--action-cache-path",
            str(self.cache),
            "--action-offline-mode",
            "--artifact-server-addr",
            "127.0.0.1",
            "--artifact-server-port",
            "0",
            "--artifact-server-path",
            str(run_dir / "artifacts"),
            "--cache-server-addr",
            "127.0.0.1",
            "--cache-server-port",
            "0",
            "--cache-server-path",
            str(run_dir / "cache-server"),
            "--env",
            f"GIT_SSL_CAINFO={cert}",
            "--env",
            f"NODE_EXTRA_CA_CERTS={cert}",
            "--env",
            f"REQUESTS_CA_BUNDLE={cert}",
            "--env",
            "PIP_NO_INDEX=1",
            "--env",
            f"PIP_FIND_LINKS={self.wheelhouse}",
            "--env",
            "PIP_CONFIG_FILE=/dev/null",
            "--env",
            f"FOUREYES_E2E_ARTIFACTS={self.artifacts}",
            "-s",
            "GITHUB_TOKEN=ghs_workflowtoken0000000000000000000000",
        ]
        if job:
            cmd += ["-j", job]
        for key, value in (secrets or {}).items():
            cmd += ["-s", f"{key}={value}"]
        for key, value in (variables or {}).items():
            cmd += ["--var", f"{key}={value}"]
        for key, value in (runner_env or {}).items():
            cmd += ["--env", f"{key}={value}"]
        for ref, folder in pinned_actions().items():
            cmd += ["--local-repository", f"{ref}={folder}"]
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("GITHUB_", "RUNNER_", "PIP_", "ACTIONS_"))
        }
        env.update(HOME=str(run_dir / "home"), XDG_CACHE_HOME=str(self.cache.parent / "xdg"))
        (run_dir / "home").mkdir()
        preexec = None
        if self.netns is not None:
            fd = self.netns

            def preexec() -> None:
                _libc.setns(fd, CLONE_NEWNET) == 0 or os._exit(97)

        proc = subprocess.run(
            cmd,
            cwd=repo.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            preexec_fn=preexec,
        )
        output = proc.stdout + proc.stderr
        (run_dir / "act.log").write_text(output)
        return ActResult(proc.returncode, output)
