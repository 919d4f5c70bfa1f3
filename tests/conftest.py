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
