"""Run configs: decode.boundaries and model.paragraph_token, strict and one-line."""

from __future__ import annotations

import pytest

from argmine.boundaries import BoundaryOptions
from argmine.config import run_config_from_dict
from argmine.errors import ConfigError

MINIMAL = {
    "seed": 1,
    "output_dir": "models/x",
    "data": {"sources": [{"format": "jsonl", "path": "data.jsonl"}]},
}


def test_config_boundaries_default_off_and_options_round_trip():
    config = run_config_from_dict(MINIMAL)
    assert config.model.paragraph_token is None
    off = BoundaryOptions.from_dict(config.decode.boundaries.model_dump())
    assert off == BoundaryOptions() and not off.active
    config = run_config_from_dict(
        {
            **MINIMAL,
            "model": {"paragraph_token": "[unused1]"},
            "decode": {"boundaries": {"paragraphs": True, "sentences": 0, "cover": 0.5}},
        }
    )
    assert config.model.paragraph_token == "[unused1]"
    opts = BoundaryOptions.from_dict(config.decode.boundaries.model_dump())
    assert opts == BoundaryOptions(paragraphs=True, sentences=0.0, cover=0.5)
    config = run_config_from_dict({**MINIMAL, "decode": {"boundaries": {"punctuation": False}}})
    opts = BoundaryOptions.from_dict(config.decode.boundaries.model_dump())
    assert opts == BoundaryOptions(punctuation=False) and not opts.active


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"decode": {"boundaries": {"split": True}}}, "decode.boundaries.split: unknown key"),
        ({"decode": {"boundaries": {"cover": 0}}}, "decode.boundaries.cover:"),
        ({"decode": {"boundaries": {"sentences": 2}}}, "decode.boundaries.sentences:"),
        ({"decode": {"boundaries": {"snap_tokens": -1}}}, "decode.boundaries.snap_tokens:"),
        ({"model": {"paragraph_token": ""}}, "model.paragraph_token:"),
    ],
)
def test_config_boundaries_bad_value_names_the_key(change, expected):
    with pytest.raises(ConfigError) as info:
        run_config_from_dict({**MINIMAL, **change}, source="run.yaml")
    assert "\n" not in str(info.value) and expected in str(info.value)
