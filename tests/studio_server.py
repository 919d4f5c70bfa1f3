"""The real Label Studio server for the studio tests (imported by conftest.py).

``studio_server`` starts Label Studio once per test session with :func:`argmine.studio.server.
start` (the code path of ``argmine studio up``) on a free loopback port with a fresh temporary
data dir, and stops it (SIGTERM) at the end. The Label Studio venv is the repository's
``.argmine/studio-venv`` (``make studio-deps``); if it is missing it is installed, and only if
that fails are the tests skipped, with the reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def studio_server_home(tmp_path_factory: pytest.TempPathFactory) -> object:
    """The StudioHome of :func:`studio_server`: a fresh temp dir, the repository's venv linked."""
    from argmine.errors import StudioError
    from argmine.studio.server import StudioHome, install

    shared = StudioHome(REPO / ".argmine")
    try:
        install(shared)
    except StudioError as exc:
        pytest.skip(f"Label Studio venv {shared.venv} is missing and cannot be installed: {exc}")
    root = tmp_path_factory.mktemp("studio-home")
    (root / "studio-venv").symlink_to(shared.venv.resolve(), target_is_directory=True)
    return StudioHome(root)


@pytest.fixture(scope="session")
def studio_server(studio_server_home) -> Iterator[object]:
    """A running Label Studio with the ``argmine`` project: a ServerInfo (url, token, ...)."""
    from argmine.studio.server import free_port, start, stop

    home = studio_server_home
    info = start(home, port=free_port(), install_missing=False, timeout=900)
    try:
        yield info
    finally:
        stop(home)
