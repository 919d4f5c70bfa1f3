"""Shared fixtures: repository paths, the reference article and the shared corpora.

The corpora are read from ``../shared/corpora`` (or ``$ARGMINE_CORPORA``), never copied into
the repository and never written to; tests that need them skip with a reason when absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def corpora_dir() -> Path | None:
    path = Path(os.environ.get("ARGMINE_CORPORA", SHARED / "corpora"))
    return path if path.is_dir() else None


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def reference_path() -> Path:
    """The reference article, from ../shared/articles (the copy in examples/ as fallback)."""
    shared = SHARED / "articles" / "caravan-to-nowhere.txt"
    return shared if shared.exists() else REPO / "examples" / "caravan-to-nowhere.txt"


@pytest.fixture(scope="session")
def corpora() -> Path:
    path = corpora_dir()
    if path is None:
        pytest.skip("shared corpora not found at ../shared/corpora (set ARGMINE_CORPORA)")
    return path


# --- tagging fixtures ------------------------------------------------------------------------
@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A tiny model dir trained by ``argmine.train`` from configs/tiny.yaml on the starter
    annotations (no corpora needed; its scores mean nothing). Trained once per session."""
    from argmine.train import train
    from tiny_runs import tiny_starter_config

    out = tmp_path_factory.mktemp("tiny-model") / "model"
    train(tiny_starter_config(out, "train.max_steps=10"), force=True)
    return out


# --- studio-ui fixtures ----------------------------------------------------------------------
from studio_browser import chromium, ls_page  # noqa: E402, F401  (headless Chromium, logged in)

# --- studio fixtures -------------------------------------------------------------------------
from studio_server import studio_server, studio_server_home  # noqa: E402, F401
