"""A real ``argmine serve`` process for the backend tests (imported by them).

:class:`BackendProcess` starts the CLI (``python -m argmine serve``) on a free loopback port
with a copy of the session's tiny model, waits for ``/health``, and stops it with SIGTERM.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]


class BackendProcess:
    def __init__(
        self,
        model: Path,
        workdir: Path,
        *,
        config: str | None = None,
        env: dict[str, str] | None = None,
        project: str = "argmine",
    ) -> None:
        from argmine.studio.server import free_port

        self.workdir = workdir
        self.model = workdir / "model"
        if not self.model.exists():
            shutil.copytree(model, self.model, ignore=shutil.ignore_patterns("checkpoints"))
        self.versions = workdir / "model-versions"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "backend.log"
        command = [
            sys.executable,
            "-m",
            "argmine",
            "serve",
            "--model",
            str(self.model),
            "--port",
            str(self.port),
            "--studio-home",
            str(workdir / "no-studio-home"),
            "--project",
            project,
        ]
        if config is not None:
            path = workdir / "backend.yaml"
            path.write_text(config, encoding="utf-8")
            command += ["--config", str(path)]
        full_env = {**os.environ, "PYTHONPATH": f"{REPO / 'src'}", **(env or {})}
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                command, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, env=full_env
            )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"argmine serve exited: {self.log.read_text()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"argmine serve did not answer: {self.log.read_text()[-2000:]}")

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", timeout=60, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.post(f"{self.url}{path}", timeout=120, **kwargs)

    def wait_training(self, *, runs: int, timeout: float = 600) -> dict[str, Any]:
        """The retraining status once ``runs`` runs have finished."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.get("/training").json()
            last = status.get("last") or {}
            if status["runs"] >= runs and not status["running"] and last.get("finished"):
                return status
            time.sleep(1.0)
        raise AssertionError(f"training did not finish: {status}; {self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
