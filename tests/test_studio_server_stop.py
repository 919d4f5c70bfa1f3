"""`studio down` signals only the Label Studio it started (command line, data dir, own group)."""

from __future__ import annotations

import logging
import subprocess
import sys
import time

import pytest

from argmine.studio.server import StudioHome, _pid_alive, stop

SLEEPER = "import time\ntime.sleep(60)\n"


def _spawn(args: list[str], *, own_group: bool) -> subprocess.Popen:
    return subprocess.Popen(args, start_new_session=own_group)


@pytest.fixture
def home(tmp_path) -> StudioHome:
    home = StudioHome(tmp_path / ".argmine")
    home.data.mkdir(parents=True)
    (tmp_path / "label-studio").write_text(SLEEPER, encoding="utf-8")
    return home


def _studio_args(home: StudioHome, data) -> list[str]:
    script = home.root.parent / "label-studio"
    return [sys.executable, str(script), "start", "--data-dir", str(data), "--no-browser"]


def _cleanup(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait(timeout=10)


@pytest.mark.parametrize(
    ("name", "own_group", "args"),
    [
        ("unrelated_process", True, lambda home: [sys.executable, "-c", SLEEPER]),
        ("studio_of_another_data_dir", True, lambda home: _studio_args(home, home.root / "other")),
        ("not_a_group_it_created", False, lambda home: _studio_args(home, home.data.resolve())),
    ],
)
def test_studio_server_stop_never_signals_a_process_it_did_not_start(
    home, name, own_group, args, caplog
):
    proc = _spawn(args(home), own_group=own_group)
    try:
        home.pid_file.write_text(f"{proc.pid}\n", encoding="utf-8")
        with caplog.at_level(logging.WARNING, logger="argmine.studio.server"):
            assert stop(home, timeout=5) is None
        time.sleep(0.3)
        assert proc.poll() is None and _pid_alive(proc.pid)  # still running: not signalled
        assert not home.pid_file.exists()
        assert f"names pid {proc.pid}, which is not the Label Studio" in caplog.text
    finally:
        _cleanup(proc)


def test_studio_server_stop_stops_its_own_server(home):
    proc = _spawn(_studio_args(home, home.data.resolve()), own_group=True)
    try:
        home.pid_file.write_text(f"{proc.pid}\n", encoding="utf-8")
        time.sleep(0.2)
        assert stop(home, timeout=10) == proc.pid
        assert proc.wait(timeout=10) is not None
        assert not home.pid_file.exists()
    finally:
        if proc.poll() is None:
            _cleanup(proc)
