"""Label Studio offsets and region text <-> Python str indices (numbers measured in the real UI).

The measurements (docs/studio-offsets.md) were made by selecting text with the mouse in Label
Studio 1.23.2 and reading the saved regions; tests/test_studio_offsets_browser.py repeats them
against a live server.
"""

from __future__ import annotations

import logging

import pytest

from argmine.corpora.labelstudio import (
    export_to_articles,
    from_ls_offset,
    ls_text_matches,
    to_ls_offset,
    to_ls_text,
)

TEXT = (
    "Start \U0001f600 smile.\r\nThe cafe\u0301 re\u0301sume\u0301 is "
    "\U0001f468\u200d\U0001f469\u200d\U0001f467 family.\tTab \U0001f1e9\U0001f1ea flag end."
)

# (selected text, start, end, region text) as Label Studio 1.23.2 saved them.
MEASURED = [
    ("\U0001f600 smile", 6, 13, "\U0001f600 smile"),
    ("cafe\u0301", 20, 25, "cafe\u0301"),
    ("family", 44, 50, "family"),
    ("flag end", 59, 67, "flag end"),
    (" smile.", 7, 14, " smile."),
    ("le.\r\nThe", 11, 19, "le.\\n\\nThe"),
    ("family.\tTab", 44, 55, "family.\tTab"),
]


@pytest.mark.parametrize(("selected", "start", "end", "saved"), MEASURED)
def test_corpora_labelstudio_offsets_measured_are_python_indices(selected, start, end, saved):
    py_start, py_end = from_ls_offset(TEXT, start), from_ls_offset(TEXT, end)
    assert TEXT[py_start:py_end] == selected
    assert (to_ls_offset(TEXT, py_start), to_ls_offset(TEXT, py_end)) == (start, end)
    assert ls_text_matches(TEXT[py_start:py_end], saved)


@pytest.mark.parametrize("unit", ["codepoint", "utf16"])
def test_corpora_labelstudio_offsets_round_trip_every_index(unit):
    for i in range(len(TEXT) + 1):
        assert from_ls_offset(TEXT, to_ls_offset(TEXT, i, unit=unit), unit=unit) == i


def test_corpora_labelstudio_offsets_utf16_counts_astral_characters_twice():
    # The family emoji is three astral people joined by two ZWJs: 5 code points, 8 UTF-16 units.
    i = TEXT.index("family")
    assert to_ls_offset(TEXT, i, unit="utf16") == i + 4
    with pytest.raises(ValueError, match="inside the character"):
        from_ls_offset(TEXT, 7, unit="utf16")


@pytest.mark.parametrize("bad", [-1, len(TEXT) + 1])
def test_corpora_labelstudio_offsets_outside_the_text_are_an_error(bad):
    with pytest.raises(ValueError, match="outside the text"):
        to_ls_offset(TEXT, bad)


def test_corpora_labelstudio_offsets_unknown_unit_is_an_error():
    with pytest.raises(ValueError, match="bytes"):
        to_ls_offset(TEXT, 0, unit="bytes")


@pytest.mark.parametrize(
    ("span", "saved"),
    [
        ("a\ntwo", "a\\ntwo"),
        ("b\n\nthree", "b\\n\\nthree"),
        ("x\r\ny", "x\\n\\ny"),
        ("c\u2028four", "c\u2028four"),
        ("tab\there", "tab\there"),
        ("a \\n b", "a \\n b"),
    ],
)
def test_corpora_labelstudio_offsets_region_text_as_the_ui_saves_it(span, saved):
    assert to_ls_text(span) == saved
    assert ls_text_matches(span, saved)
    assert ls_text_matches(span, span)


def test_corpora_labelstudio_offsets_ui_region_across_a_line_break_imports_without_warning(caplog):
    start, end = 11, 19
    export = [
        {
            "id": 1,
            "data": {"id": "t", "text": TEXT, "title": "", "source": ""},
            "annotations": [
                {
                    "id": 1,
                    "completed_by": 1,
                    "result": [
                        {
                            "id": "r1",
                            "from_name": "label",
                            "to_name": "text",
                            "type": "labels",
                            "value": {
                                "start": start,
                                "end": end,
                                "text": "le.\\n\\nThe",
                                "labels": ["Claim"],
                            },
                        }
                    ],
                }
            ],
        }
    ]
    with caplog.at_level(logging.WARNING):
        (article,) = export_to_articles(export, strict=True)
    assert [(u.start, u.end) for u in article.units] == [(start, end)]
    assert article.unit_text(article.units[0]) == "le.\r\nThe"
    assert not caplog.records
