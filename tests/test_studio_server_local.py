"""Connection settings, credentials and install checks of the local Label Studio (no server)."""

from __future__ import annotations

import os
import stat

import pytest

from argmine.errors import StudioError
from argmine.studio.client import (
    Connection,
    read_env_file,
    resolve_connection,
    write_env_file,
)
from argmine.studio.server import StudioHome, free_port, install, is_installed, start, stop


def test_studio_server_env_file_is_private_and_round_trips(tmp_path):
    path = tmp_path / "studio.env"
    values = {"LABEL_STUDIO_URL": "http://127.0.0.1:8080", "LABEL_STUDIO_API_KEY": "abc123=xyz"}
    write_env_file(path, values)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert read_env_file(path) == values


@pytest.mark.parametrize(
    ("options", "environ", "saved", "expected"),
    [
        ({"url": "http://a:1", "token": "t-opt"}, {}, {}, ("http://a:1", "t-opt")),
        (
            {},
            {"LABEL_STUDIO_URL": "http://env:2/", "LABEL_STUDIO_API_KEY": "t-env"},
            {"LABEL_STUDIO_URL": "http://file:3", "LABEL_STUDIO_API_KEY": "t-file"},
            ("http://env:2", "t-env"),
        ),
        (
            {"token": "t-opt"},
            {},
            {"LABEL_STUDIO_URL": "http://file:3", "LABEL_STUDIO_API_KEY": "t-file"},
            ("http://file:3", "t-opt"),
        ),
    ],
)
def test_studio_server_connection_precedence(tmp_path, options, environ, saved, expected):
    env_file = tmp_path / "studio.env"
    if saved:
        write_env_file(env_file, saved)
    conn = resolve_connection(**options, env_file=env_file, environ=environ)
    assert (conn.url, conn.token) == expected


def test_studio_server_missing_connection_says_what_to_do(tmp_path):
    with pytest.raises(StudioError, match="LABEL_STUDIO_API_KEY: run `argmine studio up`"):
        resolve_connection(url="http://a:1", env_file=tmp_path / "none.env", environ={})


@pytest.mark.parametrize("token", ["0123456789abcdef0123456789", "short"])
def test_studio_server_token_is_never_shown_whole(token):
    conn = Connection(url="http://a:1", token=token)
    assert token not in repr(conn)
    assert token not in conn.masked_token


@pytest.mark.parametrize("url", ["127.0.0.1:8080", "ftp://x"])
def test_studio_server_bad_url_is_an_error(url):
    with pytest.raises(StudioError, match="must start with http"):
        resolve_connection(url=url, token="t", env_file=None, environ={})


def test_studio_server_not_installed_is_detected(tmp_path):
    home = StudioHome(tmp_path)
    assert not is_installed(home)
    with pytest.raises(StudioError, match="not installed"):
        start(home, install_missing=False)


def test_studio_server_failed_install_is_one_line(tmp_path):
    home = StudioHome(tmp_path)
    with pytest.raises(StudioError, match=r"creating .*studio-venv failed"):
        install(home, python="/bin/false")


def test_studio_server_data_without_credentials_is_refused(tmp_path):
    home = StudioHome(tmp_path)
    home.venv.mkdir(parents=True)
    home.data.mkdir()
    (home.data / "label_studio.sqlite3").write_bytes(b"")
    # Pretend Label Studio is installed, so start() gets as far as the credentials.
    site = home.venv / "lib" / "python3.11" / "site-packages" / "label_studio-1.23.2.dist-info"
    site.mkdir(parents=True)
    (home.venv / "bin").mkdir()
    home.executable.write_text("#!/bin/sh\nexit 1\n")
    with pytest.raises(StudioError, match=r"studio\.env .* is missing"):
        start(home, port=free_port(), install_missing=False)


def test_studio_server_stop_without_server(tmp_path):
    home = StudioHome(tmp_path)
    assert stop(home) is None
    home.pid_file.write_text("999999999\n")
    assert stop(home) is None
    assert not home.pid_file.exists()
