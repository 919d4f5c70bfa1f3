"""Safe output files: never overwrite without ``force``, always write atomically.

A write goes to a temporary file in the target's directory, is flushed and fsynced, then
renamed over the target, so a kill at any moment leaves either the old file or the complete
new one, never half a line.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from argmine.errors import OutputExistsError


def check_output(path: str | os.PathLike[str], *, force: bool) -> Path:
    """Raise :class:`OutputExistsError` if ``path`` exists and ``force`` is not set."""
    target = Path(path)
    if target.exists() and not force:
        raise OutputExistsError(target)
    return target


@contextlib.contextmanager
def atomic_writer(
    path: str | os.PathLike[str],
    *,
    force: bool = False,
    mode: str = "w",
    encoding: str | None = "utf-8",
    newline: str | None = "\n",
    file_mode: int | None = None,
) -> Iterator[IO]:
    """Open a temporary file next to ``path``; on success it replaces ``path`` atomically."""
    target = check_output(path, force=force)
    target.parent.mkdir(parents=True, exist_ok=True)
    binary = "b" in mode
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(
            fd,
            mode,
            encoding=None if binary else encoding,
            newline=None if binary else newline,
        ) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if file_mode is None:  # mkstemp makes 0600 files; give the mode a plain open() would
            umask = os.umask(0o022)
            os.umask(umask)
            file_mode = 0o666 & ~umask
        os.chmod(tmp_name, file_mode)
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def atomic_write_text(
    path: str | os.PathLike[str], text: str, *, force: bool = False, file_mode: int | None = None
) -> Path:
    with atomic_writer(path, force=force, file_mode=file_mode) as handle:
        handle.write(text)
    return Path(path)


def staging_dir(target: str | os.PathLike[str]) -> Path:
    """Where a directory output is built before :func:`publish_dir` moves it into place:
    the sibling ``<target>.partial`` (a fixed name, so a killed run can be resumed from it)."""
    target = Path(target)
    return target.with_name(target.name + ".partial")


def publish_dir(staged: str | os.PathLike[str], target: str | os.PathLike[str]) -> Path:
    """Move the complete directory ``staged`` to ``target``, replacing all of an old
    ``target`` (no file of an earlier run stays beside the new ones).

    Two renames in the same parent: the old directory to ``<target>.old-<pid>``, the new one
    into place; then the old one is deleted. A reader sees the old directory or the new one,
    never a mixture; a kill between the renames leaves both, complete, under those names.
    """
    import shutil

    staged, target = Path(staged), Path(target)
    old = target.with_name(f"{target.name}.old-{os.getpid()}")
    if target.exists():
        os.replace(target, old)
    os.replace(staged, target)
    if old.exists():
        shutil.rmtree(old)
    return target
