"""Configuration files: YAML in, validated objects out.

This module reads ``configs/labels.yaml`` into a :class:`~argmine.document.LabelSchema` and
(for training) the run configs. Every problem becomes a :class:`~argmine.errors.ConfigError`
naming the file and the bad key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from argmine.document import LabelSchema
from argmine.errors import ConfigError

REPO_CONFIGS = Path(__file__).resolve().parents[2] / "configs"
DEFAULT_LABELS = "configs/labels.yaml"


def find_config(path: str | Path) -> Path:
    """``path`` as given if it exists, else the same name under the repository's configs/."""
    candidate = Path(path)
    if candidate.exists():
        return candidate
    parts = candidate.parts
    fallback = REPO_CONFIGS.joinpath(*parts[1:]) if parts[:1] == ("configs",) else None
    if fallback is not None and fallback.exists():
        return fallback
    raise ConfigError(path, "no such file")


def load_yaml(path: str | Path) -> Any:
    """Parse a YAML file; a syntax error names the line."""
    source = find_config(path)
    try:
        with source.open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except UnicodeDecodeError as exc:
        raise ConfigError(source, f"not UTF-8 text (byte offset {exc.start})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(source, f"{problem}{where}") from None


_SPAN_KEYS = {"description", "color", "hotkey"}
_RELATION_KEYS = {"description", "color"}


def load_label_schema(path: str | Path = DEFAULT_LABELS) -> LabelSchema:
    """Read and check a label schema file (unknown keys are errors)."""
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(path, "a label schema must be a mapping with 'spans' and 'relations'")
    unknown = sorted(set(data) - {"spans", "relations"})
    if unknown:
        raise ConfigError(path, f"unknown key {unknown[0]!r} (expected spans, relations)")
    for section, allowed in (("spans", _SPAN_KEYS), ("relations", _RELATION_KEYS)):
        entries = data.get(section) or {}
        if not isinstance(entries, dict):
            raise ConfigError(path, f"{section} must be a mapping of label names")
        for name, body in entries.items():
            if body is not None and not isinstance(body, dict):
                raise ConfigError(path, f"{section}.{name} must be a mapping")
            bad = sorted(set(body or {}) - allowed)
            if bad:
                raise ConfigError(path, f"unknown key {section}.{name}.{bad[0]}")
    try:
        return LabelSchema.from_dict(data)
    except (TypeError, ValueError) as exc:
        raise ConfigError(path, str(exc)) from None
