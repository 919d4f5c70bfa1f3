"""argmine.boundaries: unit edges by the guidelines, on hand-built texts and spans."""

from __future__ import annotations

import pytest

from argmine.boundaries import (
    BoundaryOptions,
    BoundaryRefiner,
    cover_segments,
    punctuation_edges,
    segment_gaps,
    snap_edges,
    split_spans,
)
from argmine.segment import Segment


def at(text: str, piece: str) -> tuple[int, int]:
    start = text.index(piece)
    return start, start + len(piece)


@pytest.mark.parametrize(
    ("text", "predicted", "expected"),
    [
        # the previous sentence's full stop moves back out, this one's full stop comes in
        ("Prices rose. Wages fell sharply. So?", ". Wages fell sharply", "Wages fell sharply."),
        # a clause ends at its last word (no comma)
        ("The tax is unfair, but it works.", "The tax is unfair,", "The tax is unfair"),
        ("The tax is unfair, but it works.", "it works", "it works."),
        # a citation's closing bracket and the full stop after it are the unit's
        (
            "Trade fell (Japan Times, April 10). Then what?",
            "Trade fell (Japan Times, April 10",
            "Trade fell (Japan Times, April 10).",
        ),
        (
            "He said “it will fail”. Nobody agreed.",
            "He said “it will fail",
            "He said “it will fail”.",
        ),
        # a closing quote of the sentence before never starts a unit
        ("“It failed.” It did fail.", "” It did fail.", "It did fail."),
        # a decimal point is not the end of a sentence
        ("Rents rose 3.5% in May.", "Rents rose 3", "Rents rose 3"),
        # a dash or semicolon at the end goes
        ("Costs rose — sharply; wages did not.", "Costs rose —", "Costs rose"),
        ("Costs rose; wages did not.", "Costs rose;", "Costs rose"),
        # already right: unchanged
        ("Prices rose. Wages fell.", "Wages fell.", "Wages fell."),
    ],
)
def test_boundaries_punctuation_edges(text, predicted, expected):
    start, end = punctuation_edges(text, *at(text, predicted))
    assert (start, end) == at(text, expected)


def test_boundaries_punctuation_edges_only_punctuation_is_empty():
    text = "Done. . Next."
    start, end = punctuation_edges(text, 4, 7)
    assert start >= end


def test_boundaries_split_spans_at_gaps_inside_only():
    text = "Aaa bb. Ccc dd. Eee ff."
    gaps = [(7, 8), (15, 16)]  # after "Aaa bb." and after "Ccc dd."
    assert [text[a:b] for a, b in gaps] == [" ", " "]
    spans = [(0, 15, "Claim"), (16, 23, "Evidence")]
    assert split_spans(spans, gaps) == [(0, 7, "Claim"), (8, 15, "Claim"), (16, 23, "Evidence")]
    assert split_spans([(0, 23, "Claim")], gaps) == [
        (0, 7, "Claim"),
        (8, 15, "Claim"),
        (16, 23, "Claim"),
    ]
    assert split_spans([(3, 12, "Claim")], []) == [(3, 12, "Claim")]


def test_boundaries_segment_gaps_sentences_or_clauses():
    segs = [
        Segment(0, 10, 0, "clause", 0),
        Segment(12, 20, 0, "clause", 0),
        Segment(21, 30, 0, "sentence", 1),
        Segment(32, 40, 1, "sentence", 2),
    ]
    assert segment_gaps(segs) == [(20, 21)]
    assert segment_gaps(segs, clauses=True) == [(10, 12), (20, 21)]


def test_boundaries_cover_segments_majority_label_and_fraction():
    segments = [(0, 10), (11, 21), (22, 32)]
    spans = [
        (0, 6, "Claim"),  # 6 of 10 Claim
        (6, 9, "Evidence"),  # 3 of 10 Evidence
        (11, 14, "Evidence"),  # 3 of 10: below 0.5, kept as it is
        (24, 32, "Conclusion"),  # 8 of 10
    ]
    assert cover_segments(spans, segments, 0.5) == [
        (0, 10, "Claim"),
        (11, 14, "Evidence"),
        (22, 32, "Conclusion"),
    ]
    # (0, 10) is 9 of 10 inside units of any label
    assert cover_segments(spans, segments, 0.9)[0] == (0, 10, "Claim")
    assert cover_segments(spans, segments, 0.95) == spans


def test_boundaries_snap_edges_unsure_edges_only_within_k():
    # one token per 2 characters: token t starts at 2t
    token_starts = list(range(0, 40, 2))
    edge_prob = [0.0] * 20
    edge_prob[5] = 0.95  # a sure edge before token 5 (char 10)
    spans = [(10, 20, "Claim"), (24, 31, "Evidence")]
    snapped = snap_edges(
        spans,
        starts=[8, 22],
        ends=[22, 32],
        token_starts=token_starts,
        edge_prob=edge_prob,
        k=1,
        margin=0.5,
    )
    # 10: a sure edge, stays (8 is one token away); 20 -> 22, 24 -> 22, 31 -> 32
    assert snapped == [(10, 22, "Claim"), (22, 32, "Evidence")]
    # a start never moves over the unit before it
    assert snap_edges(
        [(10, 20, "Claim"), (22, 31, "Evidence")],
        starts=[19],
        ends=[],
        token_starts=token_starts,
        edge_prob=edge_prob,
        k=2,
        margin=0.5,
    ) == [(10, 20, "Claim"), (22, 31, "Evidence")]
    assert (
        snap_edges(
            spans,
            starts=[8, 22],
            ends=[22, 32],
            token_starts=token_starts,
            edge_prob=edge_prob,
            k=0,
            margin=0.5,
        )
        == spans
    )


TEXT = (
    "Rents are rising\n\n"
    "Indeed, rents rose by 9% last year (Housing Review, May 2025). "
    "The cap will not help.\n\n"
    "All in all, the council should think again."
)


def test_boundaries_refiner_paragraphs_sentences_markers():
    start = TEXT.index("Indeed")
    one = [(start, len(TEXT), "Claim")]
    refiner = BoundaryRefiner(BoundaryOptions(paragraphs=True))
    assert [TEXT[s:e] for s, e, _ in refiner.refine(TEXT, one)] == [
        "Indeed, rents rose by 9% last year (Housing Review, May 2025). The cap will not help.",
        "All in all, the council should think again.",
    ]
    refiner = BoundaryRefiner(BoundaryOptions(paragraphs=True, sentences=0.0, markers=True))
    assert [TEXT[s:e] for s, e, _ in refiner.refine(TEXT, one)] == [
        "rents rose by 9% last year (Housing Review, May 2025).",
        "The cap will not help.",
        "the council should think again.",
    ]


def test_boundaries_refiner_cover_snaps_to_the_sentence_without_its_marker():
    start, end = at(TEXT, "rents rose by 9% last year (Housing")
    refiner = BoundaryRefiner(BoundaryOptions(cover=0.5, markers=True))
    assert [(TEXT[s:e], lab) for s, e, lab in refiner.refine(TEXT, [(start, end, "Evidence")])] == [
        ("rents rose by 9% last year (Housing Review, May 2025).", "Evidence")
    ]


def test_boundaries_refiner_all_off_is_punctuation_only():
    refiner = BoundaryRefiner(BoundaryOptions())
    assert not refiner.options.active
    start, end = at(TEXT, ". The cap will not help")
    assert refiner.refine(TEXT, [(start, end, "Claim")]) == [
        (*at(TEXT, "The cap will not help."), "Claim")
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sentences": 1.5}, "sentences must be in"),
        ({"snap_tokens": -1}, "snap_tokens must be >= 0"),
        ({"snap_tokens": 2.5}, "snap_tokens must be an integer"),
        ({"snap_margin": -0.1}, "snap_margin must be in"),
        ({"cover": 0.0}, "cover must be in"),
        ({"markers": "yes"}, "markers must be true or false"),
    ],
)
def test_boundaries_options_bad_values_name_the_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BoundaryOptions(**kwargs)


def test_boundaries_options_round_trip_and_unknown_key():
    opts = BoundaryOptions(paragraphs=True, sentences=0.0, cover=0.5)
    assert BoundaryOptions.from_dict(opts.to_dict()) == opts
    assert BoundaryOptions.from_dict(None) is None
    with pytest.raises(ValueError, match="unknown key 'snap'"):
        BoundaryOptions.from_dict({"snap": 3})
