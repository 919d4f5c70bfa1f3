"""The run config most training tests start from: ``configs/tiny.yaml`` trained on
``annotations/starter.json`` (no corpora needed), writing ``output_dir``, with ``overrides``
(``--set`` style, applied after those two)."""

from __future__ import annotations

from pathlib import Path

from argmine.config import RunConfig, load_run_config

REPO = Path(__file__).resolve().parents[1]


def tiny_starter_config(output_dir: Path, *overrides: str) -> RunConfig:
    starter = REPO / "annotations" / "starter.json"
    return load_run_config(
        REPO / "configs" / "tiny.yaml",
        overrides=[
            f"output_dir={output_dir}",
            f"data.sources=[{{format: labelstudio, path: {starter}}}]",
            *overrides,
        ],
    )
