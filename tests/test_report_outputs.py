"""Report writers: CSV rows, JSONL round trip, HTML escaping, colours, legend and summary."""

from __future__ import annotations

import csv
import io
import logging
import re
import subprocess
import sys
from html.parser import HTMLParser

import pytest

from argmine.config import load_label_schema
from argmine.document import ArgRelation, ArgUnit, Article, loads_article
from argmine.errors import OutputExistsError
from argmine.report import (
    article_summary,
    corpus_summary,
    outlet_of,
    relations_csv_path,
    render_csv,
    render_html,
    render_jsonl,
    write_report,
)
from argmine.report.html import MAX_CHART_BARS


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
    assert page.count('<mark class="u"') == 1
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


# -- relations: CSV file, escaping, corpus figures ------------------------------------------------
def _argued(id: str = "r1", *, outlet: str | None = None) -> Article:
    """Two claims (C1 supported by E1 and attacked by E2, C2 unsupported), a conclusion
    supported by C1, and a relation with a quote in its id."""
    text = "C1 holds. E1 shows it. E2 denies it. C2 stands alone. K: so C1."
    pieces = [
        ("C1 holds.", "Claim"),
        ("E1 shows it.", "Evidence"),
        ("E2 denies it.", "Evidence"),
        ("C2 stands alone.", "Claim"),
        ("K: so C1.", "Conclusion"),
    ]
    ids = ["C1", "E1", "E2", "C2", "K"]
    units = [
        ArgUnit(uid, text.index(p), text.index(p) + len(p), label, 0.5)
        for uid, (p, label) in zip(ids, pieces, strict=True)
    ]
    relations = [
        ArgRelation("R1", "E1", "C1", "supports", 0.75),
        ArgRelation('R"2', "E2", "C1", "attacks", None),
        ArgRelation("R3", "C1", "K", "supports", 0.5),
    ]
    meta = {"portal": outlet} if outlet else {}
    return Article(id=id, text=text, title=f"T {id}", meta=meta, units=units, relations=relations)


def test_report_csv_relations_file_beside_units(tmp_path):
    articles = [_argued("r1"), _argued("r2").with_annotations(_argued().units, [])]
    path = write_report(articles, tmp_path / "units.csv", fmt="csv")
    rel_path = tmp_path / "units.relations.csv"
    assert relations_csv_path(path) == rel_path
    units = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert list(units[0]) == ["article_id", "label", "start", "end", "score", "text"]
    assert len(units) == 10
    rows = list(csv.reader(io.StringIO(rel_path.read_text(encoding="utf-8"))))
    assert rows == [
        ["article_id", "id", "head", "tail", "label", "score"],
        ["r1", "R1", "E1", "C1", "supports", "0.7500"],
        ["r1", 'R"2', "E2", "C1", "attacks", ""],
        ["r1", "R3", "C1", "K", "supports", "0.5000"],
    ]
    # A name without .csv gets the suffix appended.
    assert relations_csv_path(tmp_path / "out.tsv").name == "out.tsv.relations.csv"


def test_report_csv_relations_file_is_never_overwritten_without_force(tmp_path):
    rel_path = tmp_path / "units.relations.csv"
    rel_path.write_text("old", encoding="utf-8")
    with pytest.raises(OutputExistsError):
        write_report([_argued()], tmp_path / "units.csv", fmt="csv")
    assert not (tmp_path / "units.csv").exists()  # nothing written at all
    assert rel_path.read_text(encoding="utf-8") == "old"
    rel_path.unlink()
    (tmp_path / "units.csv").write_text("old units", encoding="utf-8")
    with pytest.raises(OutputExistsError):
        write_report([_argued()], tmp_path / "units.csv", fmt="csv")
    assert not rel_path.exists()
    write_report([_argued()], tmp_path / "units.csv", fmt="csv", force=True)
    assert rel_path.read_text(encoding="utf-8").startswith("article_id,id,head")


EVIL = '<script>alert("x")</script> \'q\' & "dq"'


def test_report_html_escapes_titles_units_relations_and_meta(schema):
    text = f"{EVIL} is a claim. Evidence: {EVIL}."
    first = text.index(" is a claim.") + len(" is a claim.")
    units = [
        ArgUnit("T1", 0, first, "Claim", 0.5),
        ArgUnit('T"<2>', first + 1, len(text), "Evidence", 0.5),
    ]
    article = Article(
        id=f"id {EVIL}",
        title=EVIL,
        text=text,
        meta={"outlet": EVIL},
        units=units,
        relations=[ArgRelation("R1", 'T"<2>', "T1", "supports", 0.9)],
    )
    page = render_html([article], schema=schema, title=EVIL, map_engine="networkx")
    assert "<script" not in page
    assert page.count("&lt;script&gt;") >= 8  # title, headings, text, map, chart, list
    parser = _Collect()
    parser.feed(page)
    assert "script" not in parser.tags
    assert text in "".join(parser.text)  # the article text reads back unchanged
    assert EVIL in parser.text  # title and heading as text, not markup
    # The odd unit id gets a plain anchor; the map links to it.
    assert 'id="a0-u1"' in page and 'href="#a0-u1"' in page


def test_report_index_structure_per_outlet(schema):
    articles = [_argued("a", outlet="Daily"), _argued("b", outlet="Daily"), _argued("c")]
    articles[2].relations = []  # no relations: all three claims unsupported
    grouping, groups, total = corpus_summary(articles)
    assert grouping == "outlet"
    by_name = {g.name: g for g in groups}
    daily, none = by_name["Daily"], by_name["(no outlet)"]
    assert daily.articles == [0, 1] and none.articles == [2]
    # Per article with relations: claims C1, C2, K; C2 unsupported; C1 attacked.
    assert (daily.claims, daily.unsupported, daily.attacked) == (6, 2, 2)
    assert daily.evidence_per_claim == pytest.approx(1.0)  # 4 evidence / 4 claims
    assert daily.attacked_share == pytest.approx(2 / 6)
    assert (none.claims, none.unsupported, none.attacked) == (3, 3, 0)
    assert (total.claims, total.unsupported) == (9, 5)

    page = render_html(articles, schema=schema, map_engine="networkx")
    charts = page.split('<section class="structure"', 1)[1].split("</section>", 1)[0]
    assert "per outlet" in charts
    assert "<title>Daily: 2 of 6</title>" in charts
    assert "<title>(no outlet): 3 of 3</title>" in charts
    assert "<title>Daily: 33%</title>" in charts
    assert "<title>Daily: 1.00</title>" in charts
    # Unsupported claims: C2 of a and b; C1, C2 and K of c; each links to an existing span.
    listed = re.findall(r'<li><a href="#([^"]+)">', charts)
    assert listed == ["a0-C2", "a1-C2", "a2-C1", "a2-C2", "a2-K"]
    for anchor in listed:
        assert f'<mark class="u" id="{anchor}"' in page


def test_report_index_groups_by_article_without_outlets(schema):
    grouping, groups, _ = corpus_summary([_argued("a"), _argued("b")])
    assert grouping == "article" and [g.name for g in groups] == ["T a", "T b"]


@pytest.mark.parametrize(
    ("meta", "outlet"),
    [
        ({"outlet": "The Paper", "portal": "p"}, "The Paper"),
        ({"portal": "aljazeera"}, "aljazeera"),
        ({"publisher": " Times "}, "Times"),
        ({"url": "https://www.example.org/op-ed/1"}, "example.org"),
        ({"source": "/data/in/article.txt"}, None),
        ({"outlet": ""}, None),
    ],
)
def test_report_outlet_from_meta(meta, outlet):
    assert outlet_of(Article(id="x", text="t", meta=meta)) == outlet


def test_report_package_imports_no_torch():
    code = (
        "import sys\n"
        "from argmine.config import load_label_schema\n"
        "from argmine.document import ArgUnit, Article\n"
        "from argmine.report import render\n"
        "a = Article(id='x', text='A claim.', units=[ArgUnit('T1', 0, 8, 'Claim')])\n"
        "for fmt in ('jsonl', 'csv', 'aif', 'html'):\n"
        "    render([a], fmt=fmt, schema=load_label_schema())\n"
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "[]"


def test_report_index_charts_cap_bars_for_many_articles(schema):
    articles = [_argued(f"a{i}") for i in range(MAX_CHART_BARS + 5)]
    page = render_html(articles, schema=schema, map_engine="networkx")
    charts = page.split('<div class="charts">', 1)[1].split("</div>\n<h3", 1)[0]
    assert charts.count('<g class="bar">') == 3 * MAX_CHART_BARS
    assert charts.count("5 more not shown") == 3
