"""Segmenter: exact offsets on hard text, no whitespace at unit edges, never an empty unit."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from argmine.document import Article
from argmine.errors import ConfigError
from argmine.segment import (
    SegmenterConfig,
    config_from_dict,
    load_segmenter_config,
    segment,
    segment_article,
    segments,
)

NO_CLAUSES = SegmenterConfig(clauses=False)


def pieces(text: str, config: SegmenterConfig | None = None) -> list[str]:
    return [text[s:e] for s, e in segment(text, config=config or NO_CLAUSES)]


def check_spans(text: str, spans: list[tuple[int, int]]) -> None:
    previous_end = 0
    for start, end in spans:
        unit = text[start:end]
        assert unit, (start, end)
        assert unit == unit.strip(), repr(unit)
        assert start >= previous_end, "segments overlap or go backwards"
        previous_end = end


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Dr. Smith flew to the U.S. on Monday. He stayed.",
            ["Dr. Smith flew to the U.S. on Monday.", "He stayed."],
        ),
        (
            "Relations improved (The Moscow Times, March 8). Trade did not.",
            ["Relations improved (The Moscow Times, March 8).", "Trade did not."],
        ),
        (
            "First line here.\r\nSecond sentence here.\r\n\r\nNew paragraph.\r\n",
            ["First line here.", "Second sentence here.", "New paragraph."],
        ),
        ("She said “it is over.” Then she left.", ["She said “it is over.”", "Then she left."]),
        (
            "Great news 👍🏽 for all. The café\u0301 opened today.",
            ["Great news 👍🏽 for all.", "The café\u0301 opened today."],
        ),
        (
            "One line.\u2028Other line.\u2029Next paragraph.",
            ["One line.", "Other line.", "Next paragraph."],
        ),
        ("   \n\n  Leading and trailing space.   \n\n\n", ["Leading and trailing space."]),
        (
            "A Caravan to Nowhere\n\nBody text starts here. It goes on.",
            ["A Caravan to Nowhere", "Body text starts here.", "It goes on."],
        ),
        (
            "Header Without Blank Line\nThe body follows on the next line.",
            ["Header Without Blank Line", "The body follows on the next line."],
        ),
        (
            "- first item of a list\n- second item of a list",
            ["- first item of a list", "- second item of a list"],
        ),
        ("", []),
        (" \r\n\t ", []),
    ],
)
def test_segment_hard_cases(text, expected) -> None:
    spans = segment(text, config=NO_CLAUSES)
    check_spans(text, spans)
    assert [text[s:e] for s, e in spans] == expected


def test_segment_reference_article_units_equal_slices(reference_path) -> None:
    text = reference_path.read_text(encoding="utf-8")
    config = load_segmenter_config()
    found = segments(text, config=config)
    check_spans(text, [s.span for s in found])
    assert found[0].kind == "header" and text[found[0].start : found[0].end].startswith("A Caravan")
    assert any(text[s.start : s.end].endswith("(The Moscow Times, March 8).") for s in found)
    assert len({s.paragraph for s in found}) == 10
    crlf = text.replace("\n", "\r\n")
    assert [crlf[s.start : s.end] for s in segments(crlf, config=config)] == [
        text[s.start : s.end] for s in found
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "The plan looked cheap on paper, but it doubled the debt within two years.",
            ["The plan looked cheap on paper", "but it doubled the debt within two years."],
        ),
        (
            "Although the council approved the budget, the schools remain badly underfunded.",
            ["Although the council approved the budget", "the schools remain badly underfunded."],
        ),
        (
            "Exports fell by a third last year; the government still calls this growth.",
            ["Exports fell by a third last year", "the government still calls this growth."],
        ),
        # Too short on one side, a marker inside quotes or brackets, "nowhere but": no split.
        ("But it failed completely anyway.", ["But it failed completely anyway."]),
        (
            "He said “we tried, but the money ran out long ago” and left the room.",
            ["He said “we tried, but the money ran out long ago” and left the room."],
        ),
        (
            "It leads nowhere but to the same old dead end for all of us.",
            ["It leads nowhere but to the same old dead end for all of us."],
        ),
        (
            "The reform not only cut costs but also improved the service for patients.",
            ["The reform not only cut costs but also improved the service for patients."],
        ),
    ],
)
def test_segment_clause_split_at_markers(text, expected) -> None:
    spans = segment(text)
    check_spans(text, spans)
    assert [text[s:e] for s, e in spans] == expected


def test_segment_clause_markers_are_configurable() -> None:
    text = "Prices went up sharply, whereas wages stayed flat for a decade."
    assert len(segment(text)) == 2
    assert len(segment(text, clause_markers=None)) == 1
    assert len(segment(text, clause_markers=["but"])) == 1


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(st.characters(exclude_categories=("Cs",)), max_size=15),
            st.sampled_from(
                [
                    "\r\n",
                    "\n\n",
                    ". ",
                    "? ",
                    "U.S. ",
                    "Dr. ",
                    "“",
                    "”",
                    "👍🏽",
                    "e\u0301",
                    "\u2028",
                    "; but ",
                    " (Ap, May 3).",
                ]
            ),
        ),
        max_size=25,
    ).map("".join)
)
def test_segment_any_text_gives_exact_stripped_units(text) -> None:
    check_spans(text, segment(text))


def test_segment_article_units_and_meta() -> None:
    article = Article(id="a", text="Title Line\n\nOne sentence here. Another sentence here.")
    out = segment_article(article)
    assert [out.unit_text(u) for u in out.units] == [
        "Title Line",
        "One sentence here.",
        "Another sentence here.",
    ]
    assert [u.id for u in out.units] == ["S1", "S2", "S3"]
    assert out.meta["segmenter"]["kinds"] == ["header", "sentence", "sentence"]
    assert article.units == []  # the input is not changed


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"clause_marker": ["but"]}, "clause_marker: unknown key"),
        ({"min_clause_words": -1}, "min_clause_words: Input should be greater than or equal to 0"),
        ({"clause_markers": "but"}, "clause_markers: Input should be a valid list"),
        ({"clause_markers": [""]}, "clause marker '' is empty"),
    ],
)
def test_segment_config_errors_name_the_bad_value(data, problem) -> None:
    with pytest.raises(ConfigError, match=problem):
        config_from_dict(data)


def test_segment_splitter_mismatch_is_warned_and_text_kept(monkeypatch, caplog) -> None:
    # A sentence splitter that rewrites its input (pysbd with clean=True would) must not shift
    # offsets: the segmenter warns and keeps the rest of the paragraph as one sentence.
    import argmine.segment as seg

    monkeypatch.setattr(seg, "_split_sentences", lambda chunk: ["First part.", "SECOND  part."])
    text = "First part. Second part."
    with caplog.at_level("WARNING", logger="argmine.segment"):
        spans = segment(text, clause_markers=None)
    assert [text[s:e] for s, e in spans] == ["First part.", "Second part."]
    assert "sentence splitter changed the text" in caplog.text
