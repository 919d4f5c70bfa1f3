"""Safe output files: never overwrite without ``force``, always write atomically.

A write goes to a temporary file in the target's directory, is flushed and fsynced, then
renamed over the target, so a kill at any moment leaves either the old file or the complete
new one, never half a line.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from argmine.errors import OutputError, OutputExistsError

#: Errors from writing to an open output file that are about the output, not the caller's code.
_WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def check_output(path: str | os.PathLike[str], *, force: bool) -> Path:
    """Raise :class:`OutputExistsError` if ``path`` exists and ``force`` is not set, and
    :class:`OutputError` if it is a directory or a parent of it is not a directory."""
    target = Path(path)
    if target.is_dir():
        raise OutputError(target, "is a directory")
    _check_parents(target)
    if target.exists() and not force:
        raise OutputExistsError(target)
    return target


def check_output_dir(path: str | os.PathLike[str]) -> Path:
    """Raise :class:`OutputError` unless a directory output can be made at ``path``: it is not a
    file, and its parent exists (created if needed) and takes new entries. Whether an existing
    directory may be replaced (``--force``) is the caller's question."""
    target = Path(path)
    if (target.exists() or target.is_symlink()) and not target.is_dir():
        raise OutputError(target, "is a file, not a directory")
    _check_parents(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.rmdir(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".probe", dir=target.parent))
    except OSError as exc:
        raise cannot_write(target, exc, verb="create") from None
    return target


def _check_parents(target: Path) -> None:
    for parent in target.parents:  # the nearest one that exists must be a directory
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                raise OutputError(target, f"cannot write: {parent} is not a directory")
            return


def cannot_write(target: Path, exc: OSError, *, verb: str = "write") -> OutputError:
    return OutputError(target, f"cannot {verb}: {exc.strerror or exc}")


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
    binary = "b" in mode
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:  # no permission, read-only file system, a parent that is a file
        raise cannot_write(target, exc) from None
    in_body = False  # an OSError from the caller's code (reading its input) is not ours
    try:
        with os.fdopen(
            fd,
            mode,
            encoding=None if binary else encoding,
            newline=None if binary else newline,
        ) as handle:
            in_body = True
            yield handle
            in_body = False
            handle.flush()
            os.fsync(handle.fileno())
        if file_mode is None:  # mkstemp makes 0600 files; give the mode a plain open() would
            umask = os.umask(0o022)
            os.umask(umask)
            file_mode = 0o666 & ~umask
        os.chmod(tmp_name, file_mode)
        os.replace(tmp_name, target)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        if isinstance(exc, OSError) and (not in_body or exc.errno in _WRITE_ERRNOS):
            raise cannot_write(target, exc) from None
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
