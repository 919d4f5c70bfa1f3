"""Training with the paragraph token and decode boundaries: argmine.json carries both, and the
loaded Tagger encodes and decodes exactly as training did (slow: real training on CPU)."""

from __future__ import annotations

from pathlib import Path

import pytest

from argmine.boundaries import BoundaryOptions
from argmine.encoding import ModelSpec
from argmine.train import train
from tiny_runs import tiny_starter_config

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def test_train_paragraph_token_and_boundaries_reach_the_tagger(tmp_path):
    from argmine.corpora import load_corpus
    from argmine.tag import Tagger

    out = tmp_path / "model"
    starter = REPO / "annotations" / "starter.json"
    config = tiny_starter_config(
        out,
        "train.max_steps=4",
        'model.paragraph_token="[unused1]"',
        "decode.boundaries.paragraphs=true",
        "decode.boundaries.cover=0.5",
    )
    train(config)
    spec = ModelSpec.load(out)
    assert spec.paragraph_token == "[unused1]"
    assert BoundaryOptions.from_dict(spec.boundaries) == BoundaryOptions(paragraphs=True, cover=0.5)
    tagger = Tagger.load(out)
    assert tagger.codec.paragraph_id == tagger.tokenizer.convert_tokens_to_ids("[unused1]")
    assert tagger.codec.boundaries == BoundaryOptions(paragraphs=True, cover=0.5)
    article = load_corpus("labelstudio", starter)[0]
    (window, *_) = tagger.codec.encode(article, with_labels=False)
    assert tagger.codec.paragraph_id in window["input_ids"]
    (tagged,) = tagger.predict([article.with_annotations([], [])], units="bio")
    for unit in tagged.units:  # never across a paragraph break (boundaries.paragraphs)
        assert "\n\n" not in article.text[unit.start : unit.end]
