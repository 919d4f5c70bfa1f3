"""The local server's life cycle against the real Label Studio: status, reuse, down, up again."""

from __future__ import annotations

import os
import stat

import pytest
from typer.testing import CliRunner

from argmine.cli import app
from argmine.studio.client import StudioClient, read_env_file
from argmine.studio.server import _healthy, _pid_alive, start, status

pytestmark = [pytest.mark.slow, pytest.mark.studio]


def test_studio_server_binds_loopback_with_private_credentials(studio_server, studio_server_home):
    assert studio_server.url.startswith("http://127.0.0.1:")
    saved = read_env_file(studio_server_home.env_file)
    assert saved["LABEL_STUDIO_URL"] == studio_server.url
    assert saved["LABEL_STUDIO_API_KEY"] == studio_server.token
    assert stat.S_IMODE(os.stat(studio_server_home.env_file).st_mode) == 0o600
    me = StudioClient(studio_server.connection).whoami()
    assert me["email"] == studio_server.username
    assert studio_server.token not in "\n".join(studio_server.lines())


def test_studio_server_status_and_reuse(studio_server, studio_server_home):
    state = status(studio_server_home)
    assert state["pid"] == studio_server.pid and state["healthy"]
    assert state["project"]["id"] == studio_server.project_id
    again = start(studio_server_home, install_missing=False)
    assert (again.pid, again.project_id, again.started) == (
        studio_server.pid,
        studio_server.project_id,
        False,
    )
    result = CliRunner().invoke(app, ["studio", "status", "--home", str(studio_server_home.root)])
    assert result.exit_code == 0, result.output
    assert f"local server pid: {studio_server.pid}" in result.output


def test_studio_server_down_then_up_keeps_the_project(studio_server, studio_server_home):
    """SIGTERM stops it (waited for); a restart on the same data dir keeps login and project."""
    pid = studio_server.pid
    port = int(studio_server.url.rsplit(":", 1)[1])
    result = CliRunner().invoke(app, ["studio", "down", "--home", str(studio_server_home.root)])
    assert result.exit_code == 0, result.output
    assert f"pid {pid}" in result.output
    assert not _pid_alive(pid)
    assert not _healthy(studio_server.url)
    assert status(studio_server_home)["pid"] is None
    back = start(studio_server_home, port=port, install_missing=False, timeout=600)
    assert back.started and back.pid != pid
    assert back.url == studio_server.url and back.token == studio_server.token
    assert back.project_id == studio_server.project_id
    assert StudioClient(back.connection).whoami()["email"] == studio_server.username
