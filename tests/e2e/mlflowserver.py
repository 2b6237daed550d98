"""A real MLflow tracking server for the end-to-end suite: `mlflow server` from its own venv
(requirements/mlflow-server.txt), a SQLite backend store and a local artifact root, listening on
loopback inside the network namespace act runs in, so the runner reaches it and nothing else does.
It can be stopped and started again on the same port and database (a registry that went away
mid-deploy and came back)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from .harness import CLONE_NEWNET, InNamespace, _libc

# generous: the server imports mlflow twice (the CLI, then its uvicorn worker) on a shared machine
STARTUP_LIMIT = 120.0
STOP_LIMIT = 30.0
# what the server and the tests' client leave out: usage telemetry (MLflow docs, "Usage Tracking":
# MLFLOW_DISABLE_TELEMETRY / DO_NOT_TRACK) and the server's background job runner (huey consumers,
# MLFLOW_SERVER_ENABLE_JOB_EXECUTION), which no registry call needs
QUIET = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
}


class MlflowServer:
    def __init__(self, mlflow: Path, folder: Path, netns: int | None):
        self.mlflow, self.folder, self.netns = mlflow, folder, netns
        folder.mkdir(parents=True, exist_ok=True)
        self.database = folder / "mlflow.db"
        self.artifacts = folder / "artifacts"
        self.port = self._free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.starts = 0
        self.proc: subprocess.Popen | None = None

    def _free_port(self) -> int:
        with InNamespace(self.netns), socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]

    def start(self) -> MlflowServer:
        """Start the server (again: same port, same database) and wait until it answers /health."""
        self.starts += 1
        log = (self.folder / f"server-{self.starts}.log").open("wb")
        fd = self.netns
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")},
            **QUIET,
        }
        self.proc = subprocess.Popen(
            [
                str(self.mlflow),
                "server",
                "--backend-store-uri",
                f"sqlite:///{self.database}",
                "--default-artifact-root",
                self.artifacts.as_uri(),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                "1",
            ],
            cwd=self.folder,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() ends the server and its worker
            preexec_fn=(lambda: _libc.setns(fd, CLONE_NEWNET) == 0 or os._exit(97))
            if fd is not None
            else None,
        )
        log.close()
        deadline = time.monotonic() + STARTUP_LIMIT
        while not self._healthy():
            try:
                code = self.proc.wait(
                    timeout=0.25
                )  # the pause between polls; an early exit ends it
            except subprocess.TimeoutExpired:
                code = None
            if code is not None or time.monotonic() > deadline:
                tail = self.log()[-3000:]
                self.stop()
                raise RuntimeError(
                    f"mlflow server did not answer {self.uri}/health "
                    f"({'exited ' + str(code) if code is not None else 'timed out'}):\n{tail}"
                )
        return self

    def _healthy(self) -> bool:
        with InNamespace(self.netns):
            try:
                with urllib.request.urlopen(f"{self.uri}/health", timeout=2) as answer:
                    return answer.status == 200
            except (urllib.error.URLError, OSError):
                return False

    def stop(self) -> None:
        """End the server's process group (the CLI and its uvicorn worker); idempotent."""
        proc, self.proc = self.proc, None
        if proc is None or (proc.poll() is not None and not _group_alive(proc.pid)):
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_LIMIT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        # the worker may outlive the CLI by a moment; the port must be free before a restart
        deadline = time.monotonic() + STOP_LIMIT
        while _group_alive(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)

    def log(self) -> str:
        return "".join(
            p.read_text(errors="replace") for p in sorted(self.folder.glob("server-*.log"))
        )

    @contextlib.contextmanager
    def client(self):
        """An MlflowClient for the server (the tests' mlflow-skinny, the version the action
        installs), its sockets opened in the server's namespace."""
        from mlflow import MlflowClient

        with InNamespace(self.netns):
            yield MlflowClient(tracking_uri=self.uri)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
