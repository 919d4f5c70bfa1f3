"""Report writers: CSV rows, JSONL round trip, HTML escaping, colours, legend and summary."""

from __future__ import annotations

import csv
import io
import logging
import re
from html.parser import HTMLParser

import pytest

from argmine.config import load_label_schema
from argmine.document import ArgUnit, Article, loads_article
from argmine.errors import OutputExistsError
from argmine.report import article_summary, render_csv, render_html, render_jsonl, write_report


@pytest.fixture(scope="module")
def schema():
    return load_label_schema()


def _article(text: str, spans: list[tuple[str, str, float | None]], *, id: str = "a1") -> Article:
    """An article with one unit per (substring, label, score), found left to right."""
    units = []
    pos = 0
    for n, (piece, label, score) in enumerate(spans, start=1):
        start = text.index(piece, pos)
        units.append(ArgUnit(f"T{n}", start, start + len(piece), label, score))
        pos = start + len(piece)
    return Article(id=id, text=text, title=f"Title of {id}", units=units)


HOSTILE = 'Tom & Jerry say <script>alert("x")</script> is bad. Rates rose 5% & more.'


def _hostile(schema) -> Article:
    claim, evidence = schema.span_names[:2]
    return _article(
        HOSTILE,
        [
            ('<script>alert("x")</script> is bad', claim, 0.91),
            ("Rates rose 5% & more", evidence, 0.5),
        ],
        id="<b>id&1</b>",
    )


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.marks: list[dict[str, str]] = []
        self.text: list[str] = []
        self._in_mark = 0
        self.mark_text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "mark":
            self.marks.append(dict(attrs))
            self._in_mark += 1
            self.mark_text.append("")

    def handle_endtag(self, tag):
        if tag == "mark":
            self._in_mark -= 1

    def handle_data(self, data):
        self.text.append(data)
        if self._in_mark:
            self.mark_text[-1] += data


def test_report_html_escapes_article_text(schema):
    page = render_html([_hostile(schema)], schema=schema)
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    assert "<b>" not in page
    parser = _Collect()
    parser.feed(page)
    assert "script" not in parser.tags
    # The escaped text reads back as the original text, and units as their slices.
    assert HOSTILE in "".join(parser.text)
    article = _hostile(schema)
    assert parser.mark_text == [article.unit_text(u) for u in article.sorted_units()]


def test_report_html_is_self_contained(schema):
    page = render_html([_hostile(schema)], schema=schema)
    assert not re.search(r"""(src|href)=["'](https?:)?//""", page)
    assert "<link" not in page and "<script" not in page
    assert "@import" not in page


@pytest.mark.parametrize("n_articles", [1, 3])
def test_report_html_colours_legend_hover_and_index(schema, n_articles):
    labels = schema.span_names
    articles = [
        _article(
            "First point here. Second point there. Third point everywhere.",
            [("First point here.", labels[0], 0.8), ("Third point", labels[-1], 0.61)],
            id=f"art{i}",
        )
        for i in range(n_articles)
    ]
    page = render_html(articles, schema=schema)
    parser = _Collect()
    parser.feed(page)
    assert len(parser.marks) == 2 * n_articles
    first = parser.marks[0]
    assert first["data-label"] == labels[0]
    assert schema.span_label(labels[0]).color in first["style"]
    assert first["title"] == f"{labels[0]} 0.80"
    assert parser.marks[1]["title"] == f"{labels[-1]} 0.61"
    legend = page.split('class="legend"', 1)[1].split("</div>", 1)[0]
    for label in labels:
        assert label in legend
    for i in range(n_articles):
        assert f'href="#a{i}"' in page and f'id="a{i}"' in page


def test_report_html_skips_overlapping_units_with_warning(schema, caplog):
    label = schema.span_names[0]
    article = Article(
        id="ov",
        text="one two three four",
        units=[ArgUnit("T1", 0, 7, label, 0.9), ArgUnit("T2", 4, 13, label, 0.9)],
    )
    with caplog.at_level(logging.WARNING, logger="argmine.report"):
        page = render_html([article], schema=schema)
    assert page.count("<mark") == 1
    assert "T2" in caplog.text and "overlap" in caplog.text


def test_report_summary_counts_and_ratio(schema):
    names = list(schema.span_names)
    claim, evidence = "Claim", "Evidence"
    if claim not in names or evidence not in names:
        pytest.skip("schema without Claim/Evidence")
    text = "c1. e1. e2. c2. e3."
    article = _article(
        text,
        [
            ("c1.", claim, 0.9),
            ("e1.", evidence, 0.7),
            ("e2.", evidence, 0.8),
            ("c2.", claim, 0.6),
            ("e3.", evidence, 0.5),
        ],
    )
    summary = article_summary(article, labels=names)
    assert summary["counts"][claim] == 2 and summary["counts"][evidence] == 3
    assert summary["ratios"]["Evidence per Claim"] == pytest.approx(1.5)
    assert summary["mean_score"] == pytest.approx((0.9 + 0.7 + 0.8 + 0.6 + 0.5) / 5)
    empty = article_summary(Article(id="e", text="x"), labels=names)
    assert empty["ratios"]["Evidence per Claim"] is None and empty["mean_score"] is None


def test_report_csv_one_row_per_unit(schema):
    article = _hostile(schema)
    other = _article(
        'He said "yes",\nthen left.', [('"yes",\nthen', schema.span_names[0], None)], id="b"
    )
    rows = list(csv.reader(io.StringIO(render_csv([article, other]))))
    assert rows[0] == ["article_id", "label", "start", "end", "score", "text"]
    body = rows[1:]
    assert len(body) == len(article.units) + len(other.units)
    for row in body:
        source = article if row[0] == article.id else other
        start, end = int(row[2]), int(row[3])
        assert row[5] == source.text[start:end]
    assert body[-1][4] == ""  # no score
    assert float(body[0][4]) == pytest.approx(0.91)


def test_report_jsonl_round_trip(schema):
    article = _hostile(schema)
    lines = render_jsonl([article]).splitlines()
    back = loads_article(lines[0])
    assert back == article
    assert [u.score for u in back.units] == [u.score for u in article.units]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "html"])
def test_report_write_refuses_overwrite_without_force(tmp_path, schema, fmt):
    path = tmp_path / f"out.{fmt}"
    path.write_text("old", encoding="utf-8")
    with pytest.raises(OutputExistsError):
        write_report([_hostile(schema)], path, fmt=fmt, schema=schema)
    assert path.read_text(encoding="utf-8") == "old"
    write_report([_hostile(schema)], path, fmt=fmt, schema=schema, force=True)
    assert path.read_text(encoding="utf-8") != "old"
