"""Strict labels, segmenter and lexicon files: unknown keys and wrong types are one ConfigError
naming the file and the dotted key; the shipped files pass."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from argmine.config import load_label_schema
from argmine.errors import ConfigError
from argmine.prelabel import load_lexicon
from argmine.segment import load_segmenter_config

REPO = Path(__file__).resolve().parents[1]
LOADERS = {
    "segmenter": load_segmenter_config,
    "lexicon": load_lexicon,
    "labels": load_label_schema,
}


def _shipped(name: str) -> dict:
    return yaml.safe_load((REPO / "configs" / f"{name}.yaml").read_text(encoding="utf-8"))


def _set(data: dict, dotted: str, value) -> dict:
    *parents, last = dotted.split(".")
    node = data
    for key in parents:
        node = node[key]
    node[last] = value
    return data


CASES = [
    ("segmenter", "clauses", "no", "clauses: Input should be a valid boolean (got 'no')"),
    ("segmenter", "initial_markers", [1], "initial_markers.0: Input should be a valid string"),
    ("segmenter", "clause_markers", "but", "clause_markers: Input should be a valid list"),
    ("segmenter", "min_clause_words", "4", "min_clause_words: Input should be a valid integer"),
    ("segmenter", "clause", True, "clause: unknown key"),
    (
        "lexicon",
        "groups.conclusion_markers.phrases",
        "because",
        "groups.conclusion_markers.phrases: Input should be a valid list",
    ),
    ("lexicon", "groups.evidence_quote.regex", [3], "groups.evidence_quote.regex.0:"),
    ("lexicon", "groups.evidence_quote.wher", "start", "groups.evidence_quote.wher: unknown key"),
    ("lexicon", "skip_headers", "yes", "skip_headers: Input should be a valid boolean"),
    (
        "lexicon",
        "relations.rules",
        [{"head": "Evidence", "tail": ["Claim"]}],
        "relations.rules.0.head:",
    ),
    ("labels", "spans.Claim.hotkey", 3, "spans.Claim.hotkey: Input should be a valid string"),
    ("labels", "spans.Claim.colour", "#fff", "spans.Claim.colour: unknown key"),
]


@pytest.mark.parametrize(("name", "key", "value", "message"), CASES)
def test_config_files_wrong_type_or_key_names_file_and_dotted_key(
    tmp_path, name, key, value, message
):
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(_set(_shipped(name), key, value)), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        LOADERS[name](path)
    assert str(info.value).startswith(f"{path}: {message}"), str(info.value)


@pytest.mark.parametrize("name", list(LOADERS))
def test_config_files_shipped_files_load(name):
    assert LOADERS[name](REPO / "configs" / f"{name}.yaml") is not None
