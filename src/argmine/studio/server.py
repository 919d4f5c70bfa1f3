"""A local Label Studio server: install into its own venv, start, check, stop.

Everything lives under one home directory (``.argmine/`` by default, git-ignored)::

    .argmine/studio-venv/   Label Studio (pinned) in its own virtual environment
    .argmine/studio-data/   SQLite database and media
    .argmine/studio.env     LABEL_STUDIO_URL, LABEL_STUDIO_API_KEY, login (mode 0600)
    .argmine/studio.pid     the running server's process id
    .argmine/studio.log     its output

The server binds to 127.0.0.1 only, with telemetry off, a known admin user and an API token
generated once (kept in ``studio.env``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from argmine.errors import StudioError
from argmine.studio.client import (
    TOKEN_VAR,
    URL_VAR,
    Connection,
    StudioClient,
    mask,
    read_env_file,
    write_env_file,
)

__all__ = [
    "LABEL_STUDIO_VERSION",
    "PROJECT_TITLE",
    "ServerInfo",
    "StudioHome",
    "ensure_project",
    "install",
    "is_installed",
    "start",
    "status",
    "stop",
]

log = logging.getLogger(__name__)

LABEL_STUDIO_VERSION = "1.23.2"
PROJECT_TITLE = "argmine"
DEFAULT_HOME = Path(".argmine")
DEFAULT_PORT = 8080
USERNAME_VAR = "LABEL_STUDIO_USERNAME"
PASSWORD_VAR = "LABEL_STUDIO_PASSWORD"
DEFAULT_USERNAME = "admin@argmine.local"


@dataclass(frozen=True)
class StudioHome:
    """The paths of a local Label Studio under ``root``."""

    root: Path = DEFAULT_HOME

    @property
    def venv(self) -> Path:
        return self.root / "studio-venv"

    @property
    def executable(self) -> Path:
        return self.venv / "bin" / "label-studio"

    @property
    def data(self) -> Path:
        return self.root / "studio-data"

    @property
    def env_file(self) -> Path:
        return self.root / "studio.env"

    @property
    def pid_file(self) -> Path:
        return self.root / "studio.pid"

    @property
    def log_file(self) -> Path:
        return self.root / "studio.log"


@dataclass(frozen=True)
class ServerInfo:
    """A running server: where it is, how to log in, and the argmine project."""

    url: str
    username: str
    password: str
    token: str
    pid: int | None
    project_id: int | None = None
    started: bool = False
    env_file: str = str(DEFAULT_HOME / "studio.env")

    @property
    def connection(self) -> Connection:
        return Connection(url=self.url, token=self.token)

    def lines(self) -> list[str]:
        project = f"/projects/{self.project_id}" if self.project_id is not None else ""
        return [
            f"Label Studio {'started' if self.started else 'running'} at {self.url}{project}",
            f"login: {self.username}  password: {self.password}",
            f"API token: {mask(self.token)} (in {self.env_file})",
        ]


# --- install ---------------------------------------------------------------------------------
def is_installed(home: StudioHome, *, version: str = LABEL_STUDIO_VERSION) -> bool:
    """Whether the venv has this Label Studio version (checked by its metadata; no import)."""
    if not home.executable.exists():
        return False
    pattern = f"lib/python*/site-packages/label_studio-{version}.dist-info"
    return any(home.venv.glob(pattern))


def install(
    home: StudioHome = StudioHome(),
    *,
    version: str = LABEL_STUDIO_VERSION,
    python: str | None = None,
    quiet: bool = True,
) -> bool:
    """Install Label Studio ``version`` into ``home.venv`` unless it is there. True if installed."""
    if is_installed(home, version=version):
        return False
    python = python or sys.executable
    home.root.mkdir(parents=True, exist_ok=True)
    pip = home.venv / "bin" / "pip"
    log = home.root / "studio-install.log"
    with log.open("w", encoding="utf-8") as out:
        if not pip.exists():
            code = subprocess.call([python, "-m", "venv", str(home.venv)], stdout=out, stderr=out)
            if code != 0:
                raise StudioError(f"creating {home.venv} failed (see {log})")
        cmd = [str(pip), "install", "--disable-pip-version-check", f"label-studio=={version}"]
        if quiet:
            cmd.insert(2, "--quiet")
        code = subprocess.call(cmd, stdout=out, stderr=out)
    if code != 0 or not is_installed(home, version=version):
        raise StudioError(f"installing label-studio=={version} failed (see {log})")
    return True


# --- credentials -----------------------------------------------------------------------------
def _credentials(home: StudioHome, port: int) -> dict[str, str]:
    saved = read_env_file(home.env_file)
    if not saved.get(TOKEN_VAR) and _has_database(home):
        raise StudioError(
            f"{home.data} exists but {home.env_file} (its login and token) is missing; "
            f"remove {home.data} to start a fresh Label Studio"
        )
    values = {
        URL_VAR: f"http://127.0.0.1:{port}",
        TOKEN_VAR: saved.get(TOKEN_VAR) or secrets.token_hex(20),
        USERNAME_VAR: saved.get(USERNAME_VAR) or DEFAULT_USERNAME,
        PASSWORD_VAR: saved.get(PASSWORD_VAR) or secrets.token_urlsafe(12),
    }
    if values != {k: saved.get(k) for k in values}:
        write_env_file(home.env_file, values)
    return values


def _has_database(home: StudioHome) -> bool:
    return home.data.is_dir() and any(home.data.glob("*.sqlite3"))


def server_env(values: dict[str, str], home: StudioHome) -> dict[str, str]:
    """The environment Label Studio runs with: admin user, token, telemetry off, local only."""
    env = dict(os.environ)
    for key in (URL_VAR, TOKEN_VAR):
        env.pop(key, None)
    env.update(
        {
            "LABEL_STUDIO_BASE_DATA_DIR": str(home.data.resolve()),
            "LABEL_STUDIO_USERNAME": values[USERNAME_VAR],
            "LABEL_STUDIO_PASSWORD": values[PASSWORD_VAR],
            "LABEL_STUDIO_USER_TOKEN": values[TOKEN_VAR],
            "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
            "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
            "SENTRY_DSN": "",
            "FRONTEND_SENTRY_DSN": "",
            "COLLECT_ANALYTICS": "false",
            "LATEST_VERSION_CHECK": "false",
            "ML_BLOCK_LOCAL_IP": "false",
            "SSRF_PROTECTION_ENABLED": "false",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


# --- process ---------------------------------------------------------------------------------
def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError, ValueError):  # a zombie child counts as gone
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        if fields[0] == "Z":
            return False
    return True


def _group_alive(pgid: int) -> bool:
    """Whether any process of the group (the server and its children) is still running."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False


def _read_pid(home: StudioHome) -> int | None:
    try:
        return int(home.pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As the server itself binds: connections of a stopped server in TIME_WAIT are fine.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(url: str) -> bool:
    import httpx

    try:
        response = httpx.get(f"{url}/health", timeout=3.0)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


def _log_tail(home: StudioHome, lines: int = 5) -> str:
    try:
        text = home.log_file.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    return " | ".join(line.strip() for line in text.splitlines()[-lines:] if line.strip())


def _wait_healthy(
    url: str, proc: subprocess.Popen[bytes], home: StudioHome, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StudioError(
                f"Label Studio exited with code {proc.returncode} while starting "
                f"(log {home.log_file}): {_log_tail(home)}"
            )
        if _healthy(url):
            return
        time.sleep(1.0)
    raise StudioError(
        f"Label Studio did not answer at {url} within {timeout:.0f} s (log {home.log_file})"
    )


def start(
    home: StudioHome = StudioHome(),
    *,
    port: int = DEFAULT_PORT,
    label_config: str | None = None,
    project_title: str = PROJECT_TITLE,
    install_missing: bool = True,
    timeout: float = 300.0,
) -> ServerInfo:
    """Start Label Studio on 127.0.0.1:``port`` (or reuse the running one) and its project."""
    home.root.mkdir(parents=True, exist_ok=True)
    pid = _read_pid(home)
    saved = read_env_file(home.env_file)
    if pid is not None and _pid_alive(pid) and saved.get(URL_VAR) and _healthy(saved[URL_VAR]):
        info = ServerInfo(
            url=saved[URL_VAR],
            username=saved.get(USERNAME_VAR, DEFAULT_USERNAME),
            password=saved.get(PASSWORD_VAR, ""),
            token=saved[TOKEN_VAR],
            pid=pid,
            env_file=str(home.env_file),
        )
        return _with_project(info, label_config, project_title)
    if install_missing:
        install(home)
    elif not is_installed(home):
        raise StudioError(
            f"Label Studio is not installed in {home.venv}: run `argmine studio install`"
        )
    if not _port_free(port):
        raise StudioError(f"port {port} on 127.0.0.1 is in use; pass --port")
    values = _credentials(home, port)
    home.data.mkdir(parents=True, exist_ok=True)
    command = [
        str(home.executable),
        "start",
        "--internal-host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data-dir",
        str(home.data.resolve()),
        "--no-browser",
    ]
    with home.log_file.open("ab") as log:
        proc = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=server_env(values, home),
            start_new_session=True,
        )
    home.pid_file.write_text(f"{proc.pid}\n", encoding="utf-8")
    try:
        _wait_healthy(values[URL_VAR], proc, home, timeout)
    except BaseException:
        _terminate(proc.pid, timeout=30.0)
        home.pid_file.unlink(missing_ok=True)
        raise
    info = ServerInfo(
        url=values[URL_VAR],
        username=values[USERNAME_VAR],
        password=values[PASSWORD_VAR],
        token=values[TOKEN_VAR],
        pid=proc.pid,
        started=True,
        env_file=str(home.env_file),
    )
    return _with_project(info, label_config, project_title)


def ensure_project(
    connection: Connection, *, label_config: str | None = None, title: str = PROJECT_TITLE
) -> int:
    """The id of the project ``title`` (created with the label config if missing)."""
    if label_config is None:
        label_config = default_label_config()
    project_id, _ = StudioClient(connection).ensure_project(title, label_config)
    return project_id


def default_label_config() -> str:
    from argmine.config import load_label_schema
    from argmine.studio.labelconfig import label_config

    return label_config(load_label_schema())


def _with_project(info: ServerInfo, label_config: str | None, title: str) -> ServerInfo:
    project_id = ensure_project(info.connection, label_config=label_config, title=title)
    return ServerInfo(**{**info.__dict__, "project_id": project_id})


def _terminate(pid: int, *, timeout: float) -> bool:
    """SIGTERM the server's process group, wait for it to go; SIGKILL after ``timeout``."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    except PermissionError:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        if not _pid_alive(pid) and not _group_alive(pid):
            return True
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    return True


def _is_our_server(pid: int, home: StudioHome) -> bool:
    """Whether ``pid`` is the Label Studio that :func:`start` runs for ``home``: its command
    line runs ``label-studio start`` with ``--data-dir`` = ``home.data``, and it leads its own
    process group (``start`` makes a new session), so the group signalled is the one argmine
    created. Without ``/proc`` (not Linux) nothing can be checked and the answer is no."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        leader = os.getpgid(pid) == pid
    except OSError:
        return False
    args = [a.decode("utf-8", "replace") for a in raw.split(b"\0") if a]
    data = str(home.data.resolve())
    has_data = f"--data-dir={data}" in args or any(
        arg == "--data-dir" and args[i + 1 : i + 2] == [data] for i, arg in enumerate(args)
    )
    runs_studio = any(Path(arg).name == "label-studio" for arg in args) and "start" in args
    return leader and has_data and runs_studio


def stop(home: StudioHome = StudioHome(), *, timeout: float = 60.0) -> int | None:
    """Stop the server started by :func:`start` (SIGTERM to its process group, wait; SIGKILL
    after ``timeout``). The pid stopped, or None.

    A pid file naming a process that is not this home's server (a stale file whose pid was
    reused) is removed with a warning and nothing is signalled.
    """
    pid = _read_pid(home)
    if pid is None:
        return None
    if not _pid_alive(pid):
        home.pid_file.unlink(missing_ok=True)
        return None
    if not _is_our_server(pid, home):
        log.warning(
            "%s names pid %d, which is not the Label Studio of %s (a stale pid file); "
            "removed it, nothing signalled",
            home.pid_file,
            pid,
            home.root,
        )
        home.pid_file.unlink(missing_ok=True)
        return None
    stopped = _terminate(pid, timeout=timeout)
    home.pid_file.unlink(missing_ok=True)
    return pid if stopped else None


def status(
    home: StudioHome = StudioHome(), *, connection: Connection | None = None
) -> dict[str, Any]:
    """The local server's process and health, and the project's task counts if reachable."""
    pid = _read_pid(home)
    saved = read_env_file(home.env_file)
    url = connection.url if connection is not None else saved.get(URL_VAR)
    out: dict[str, Any] = {
        "installed": is_installed(home),
        "pid": pid if pid is not None and _pid_alive(pid) else None,
        "url": url,
        "healthy": bool(url) and _healthy(url),
        "project": None,
    }
    token = connection.token if connection is not None else saved.get(TOKEN_VAR)
    if out["healthy"] and token:
        client = StudioClient(Connection(url=url, token=token))
        project_id = client.find_project(PROJECT_TITLE)
        if project_id is not None:
            out["project"] = client.project_counts(project_id)
    return out
