"""Model versions of a run: every version its own model directory, one pointer to the promoted one.

::

    models/<run>-versions/
        v1/  v2/  ...       complete model directories (what `argmine train` writes) + version.json
        PROMOTED            the promoted version's name (replaced atomically)
        promotions.jsonl    every promotion and rollback, appended
        .tmp-v3-<pid>/      a version being written; renamed to v3/ only when complete
        data/v3.jsonl       the articles v3 was trained on
        projects/<id>/      per Label Studio project: the frozen dev set

A version appears (``os.rename`` of its finished temporary directory) only once its weights,
metrics and ``version.json`` are all written, and the pointer is replaced atomically, so a
``kill -9`` at any moment leaves the promoted version as it was and at most a stale ``.tmp-*``
directory (removed by the next :meth:`VersionStore.clean_stale`). ``argmine train --force`` on
the run rewrites ``models/<run>/`` and never touches this history.

No torch here: ``argmine models list`` must be quick.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argmine.errors import ModelError
from argmine.fileio import atomic_write_text

__all__ = ["VersionInfo", "VersionStore", "versions_root"]

POINTER = "PROMOTED"
INFO = "version.json"
SUFFIX = "-versions"
_NAME = re.compile(r"^v(\d+)$")


def versions_root(model: str | os.PathLike[str]) -> Path:
    """The versions directory for ``model``: itself if it is one, else ``<model>-versions``."""
    path = Path(model)
    if path.name.endswith(SUFFIX) or (path / POINTER).is_file():
        return path
    return path.with_name(path.name + SUFFIX)


@dataclass(frozen=True)
class VersionInfo:
    """One complete version: its name, directory and what ``version.json`` says about it."""

    name: str
    path: Path
    model_version: str
    created: str = ""
    parent: str | None = None
    source: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    decision: str = ""
    promoted: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.name,
            "model_version": self.model_version,
            "path": str(self.path),
            "created": self.created,
            "parent": self.parent,
            "source": self.source,
            "metrics": self.metrics,
            "decision": self.decision,
            "promoted": self.promoted,
        }


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class VersionStore:
    """The versions of one run under ``root`` (``models/<run>-versions``)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    @property
    def run(self) -> str:
        name = self.root.name
        return name[: -len(SUFFIX)] if name.endswith(SUFFIX) else name

    def model_version(self, name: str) -> str:
        """The ``model_version`` Label Studio shows for version ``name`` (``<run>-<name>``)."""
        return f"{self.run}-{name}"

    def path(self, name: str) -> Path:
        return self.root / name

    # -- reading ------------------------------------------------------------------------------
    def resolve(self, name: str) -> str:
        """A version name from ``v3`` or its model_version ``<run>-v3``; ModelError if absent."""
        name = name.strip()
        prefix = f"{self.run}-"
        if not _NAME.match(name) and name.startswith(prefix):
            name = name[len(prefix) :]
        if not _NAME.match(name) or not (self.path(name) / INFO).is_file():
            known = ", ".join(v.name for v in self.versions()) or "none"
            raise ModelError(f"{self.root}: no version {name!r} (versions: {known})")
        return name

    def promoted(self) -> str | None:
        """The promoted version's name, or None when there is no pointer yet."""
        try:
            name = (self.root / POINTER).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return name or None

    def promoted_path(self) -> Path:
        name = self.promoted()
        if name is None:
            raise ModelError(f"{self.root}: no promoted version (run `argmine serve --model DIR`)")
        return self.path(name)

    def info(self, name: str) -> VersionInfo:
        path = self.path(name)
        try:
            data = json.loads((path / INFO).read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError) as exc:
            raise ModelError(f"{path}: not a complete version ({exc})") from None
        return VersionInfo(
            name=name,
            path=path,
            model_version=self.model_version(name),
            created=str(data.get("created", "")),
            parent=data.get("parent"),
            source=str(data.get("source", "")),
            metrics=dict(data.get("metrics") or {}),
            decision=str(data.get("decision", "")),
            promoted=name == self.promoted(),
        )

    def versions(self) -> list[VersionInfo]:
        """Every complete version, oldest first (a ``.tmp-*`` directory is not a version)."""
        if not self.root.is_dir():
            return []
        names = [
            p.name for p in self.root.iterdir() if _NAME.match(p.name) and (p / INFO).is_file()
        ]
        names.sort(key=lambda n: int(n[1:]))
        return [self.info(n) for n in names]

    # -- writing ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def next_name(self) -> str:
        used = [int(m.group(1)) for p in self._entries() if (m := _NAME.match(p))]
        used += [int(m.group(1)) for p in self._entries() if (m := re.match(r"^\.tmp-v(\d+)-", p))]
        return f"v{max(used, default=0) + 1}"

    def _entries(self) -> list[str]:
        return [p.name for p in self.root.iterdir()] if self.root.is_dir() else []

    def staging(self, name: str) -> Path:
        """A fresh temporary directory for version ``name`` (see :meth:`commit`)."""
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / f".tmp-{name}-{os.getpid()}"
        if path.exists():
            shutil.rmtree(path)
        path.mkdir()
        return path

    def commit(self, staging: Path, name: str, info: Mapping[str, Any]) -> VersionInfo:
        """Write ``version.json`` into ``staging`` and rename it to version ``name``."""
        shutil.rmtree(staging / "checkpoints", ignore_errors=True)
        record = {"version": name, "created": _now(), **dict(info)}
        atomic_write_text(staging / INFO, json.dumps(record, indent=2) + "\n", force=True)
        with self._lock():
            target = self.path(name)
            if target.exists():
                raise ModelError(f"{target}: version exists already")
            _fsync_dir(staging)
            os.rename(staging, target)
            _fsync_dir(self.root)
        return self.info(name)

    def promote(self, name: str, *, reason: str = "") -> VersionInfo:
        """Point ``PROMOTED`` at version ``name`` (atomically); logged in promotions.jsonl."""
        name = self.resolve(name)
        with self._lock():
            previous = self.promoted()
            atomic_write_text(self.root / POINTER, name + "\n", force=True)
            entry = {"time": _now(), "version": name, "previous": previous, "reason": reason}
            with (self.root / "promotions.jsonl").open("a", encoding="utf-8") as log:
                log.write(json.dumps(entry) + "\n")
        return self.info(name)

    def import_model(self, model_dir: str | os.PathLike[str], *, promote: bool = True) -> str:
        """Copy a trained model directory (without checkpoints) in as the next version."""
        source = Path(model_dir)
        if not (source / "argmine.json").is_file() or not (source / "model.safetensors").is_file():
            raise ModelError(f"{source}: not a trained model directory (argmine.json, weights)")
        name = self.next_name()
        staging = self.staging(name)
        shutil.copytree(
            source,
            staging,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns("checkpoints"),
        )
        metrics = _read_json(source / "metrics.json")
        self.commit(
            staging,
            name,
            {
                "parent": None,
                "source": f"imported from {source}",
                "metrics": {"train": _summary(metrics)},
                "decision": "imported",
            },
        )
        if promote:
            self.promote(name, reason=f"imported from {source}")
        return name

    def clean_stale(self) -> list[str]:
        """Remove ``.tmp-*`` directories of processes that are gone (a killed training run)."""
        removed = []
        for entry in self._entries():
            match = re.match(r"^\.tmp-v\d+-(\d+)$", entry)
            if match and not _alive(int(match.group(1))):
                shutil.rmtree(self.root / entry, ignore_errors=True)
                removed.append(entry)
        return removed


def _summary(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """The overlap micro F1 of the splits in a ``metrics.json``."""
    out: dict[str, Any] = {}
    for split in ("dev", "test"):
        scores = metrics.get(split)
        if isinstance(scores, Mapping):
            with contextlib.suppress(KeyError, TypeError):
                out[f"{split}_overlap_micro_f1"] = scores["overlap"]["micro"]["f1"]
    return out


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError, IndexError):
        if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
