"""The backend next to a local Label Studio: start, stop, and connect it to the project.

``argmine studio up --with-backend`` starts ``argmine serve`` in the background (its own
session; pid in ``.argmine/backend.pid``, output in ``.argmine/backend.log``), waits for its
``/health``, then :func:`connect_backend` (also ``argmine studio connect --backend URL``):

1. adds the backend to the project (Label Studio calls /health and /setup at once);
2. gives the webhook Label Studio creates for it the shared-secret header, if there is one;
3. turns predictions on in the editor;
4. creates the Data Manager tab "Review queue (least certain first)", ordered by prediction
   score ascending;
5. asks Label Studio to fetch the backend's predictions for the tasks without an annotation,
   then sets the project's ``model_version`` to the served one: the editor shows only
   predictions of that version, and Label Studio 1.23 refuses a version no prediction has.

The server must run with ``ML_BLOCK_LOCAL_IP=false`` and ``SSRF_PROTECTION_ENABLED=false`` for a
backend on 127.0.0.1 (:func:`argmine.studio.server.server_env` sets both).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from argmine.errors import StudioError

__all__ = [
    "REVIEW_VIEW",
    "ConnectReport",
    "backend_health",
    "connect_backend",
    "start_backend",
    "stop_backend",
]

REVIEW_VIEW = "Review queue (least certain first)"
DEFAULT_BACKEND_PORT = 9090


@dataclass(frozen=True)
class ConnectReport:
    url: str
    project_id: int
    ml_backend_id: int
    model_version: str
    view_id: int
    tasks_predicted: int

    def lines(self) -> list[str]:
        version = self.model_version or "not set yet (no tasks to predict)"
        return [
            f"backend {self.url} connected to project {self.project_id} "
            f"(ML backend {self.ml_backend_id}); model_version {version}",
            f"predictions on in the editor; Data Manager tab {REVIEW_VIEW!r} (id {self.view_id}); "
            f"predictions requested for {self.tasks_predicted} unannotated tasks",
        ]


def backend_health(url: str, *, timeout: float = 3.0) -> dict[str, Any] | None:
    """The backend's /health answer, or None if it does not answer 200."""
    import httpx

    try:
        response = httpx.get(f"{url.rstrip('/')}/health", timeout=timeout)
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def connect_backend(
    connection: Any,
    *,
    backend_url: str,
    project_title: str = "argmine",
    basic_auth: tuple[str, str] | None = None,
    webhook_secret: str | None = None,
    predict: bool = True,
) -> ConnectReport:
    """Connect the running backend at ``backend_url`` to the project (see the module doc)."""
    from argmine.serve.app import SECRET_HEADER
    from argmine.studio.client import StudioClient

    url = backend_url.rstrip("/")
    health = backend_health(url)
    if health is None:
        raise StudioError(f"no argmine backend answers at {url}/health: start `argmine serve`")
    client = StudioClient(connection)
    project_id = client.find_project(project_title)
    if project_id is None:
        raise StudioError(f"Label Studio at {connection.url}: no project {project_title!r}")
    ml_id = client.connect_ml_backend(project_id, url, basic_auth=basic_auth)
    if webhook_secret and not client.set_webhook_headers(
        project_id, f"{url}/webhook", {SECRET_HEADER: webhook_secret}
    ):
        raise StudioError(f"Label Studio at {connection.url}: no webhook to {url}/webhook")
    model_version = str(health.get("model_version") or "")
    client.enable_predictions(project_id)
    view_id = client.ensure_view(project_id, REVIEW_VIEW, ordering=["tasks:predictions_score"])
    predicted = client.retrieve_predictions(project_id) if predict else 0
    # Label Studio 1.23 accepts a project model_version only once predictions of it exist
    # (or an ML backend has it as its title), so this comes after retrieving them.
    try:
        client.set_model_version(project_id, model_version)
    except StudioError:
        if predicted:
            raise
        model_version = ""  # an empty project: set by the backend after its next promotion
    return ConnectReport(
        url=url,
        project_id=project_id,
        ml_backend_id=ml_id,
        model_version=model_version,
        view_id=view_id,
        tasks_predicted=predicted,
    )


def _pid_file(home: Path) -> Path:
    return home / "backend.pid"


def start_backend(
    home: Path,
    *,
    model: str | os.PathLike[str],
    port: int = DEFAULT_BACKEND_PORT,
    config: str | os.PathLike[str] | None = None,
    project_title: str = "argmine",
    timeout: float = 300.0,
) -> tuple[str, int, bool]:
    """Start ``argmine serve`` on 127.0.0.1:``port`` (or reuse the running one). (url, pid,
    started). It reads Label Studio's URL and token from ``home/studio.env``."""
    from argmine.studio.server import _pid_alive, _port_free, _terminate

    url = f"http://127.0.0.1:{port}"
    pid_file = _pid_file(home)
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        pid = None
    if pid is not None and _pid_alive(pid) and backend_health(url) is not None:
        return url, pid, False
    if not _port_free(port):
        raise StudioError(f"port {port} on 127.0.0.1 is in use; pass --backend-port")
    command = [
        sys.executable,
        "-m",
        "argmine",
        "serve",
        "--model",
        str(model),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--studio-home",
        str(home),
        "--project",
        project_title,
    ]
    if config is not None:
        command += ["--config", str(config)]
    home.mkdir(parents=True, exist_ok=True)
    log_file = home / "backend.log"
    with log_file.open("ab") as log:
        proc = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    pid_file.write_text(f"{proc.pid}\n", encoding="utf-8")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pid_file.unlink(missing_ok=True)
            tail = log_file.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
            raise StudioError(
                f"the backend exited with code {proc.returncode} while starting "
                f"(log {log_file}): {' | '.join(tail)}"
            )
        if backend_health(url) is not None:
            return url, proc.pid, True
        time.sleep(0.5)
    _terminate(proc.pid, timeout=10.0)
    pid_file.unlink(missing_ok=True)
    raise StudioError(
        f"the backend did not answer at {url} within {timeout:.0f} s (log {log_file})"
    )


def stop_backend(home: Path, *, timeout: float = 30.0) -> int | None:
    """Stop the backend started by :func:`start_backend` (its training worker with it)."""
    from argmine.studio.server import _pid_alive, _terminate

    pid_file = _pid_file(home)
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    stopped = _terminate(pid, timeout=timeout) if _pid_alive(pid) else False
    pid_file.unlink(missing_ok=True)
    return pid if stopped else None
