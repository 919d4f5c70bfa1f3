"""Argument-map layout: no overlapping boxes, layers by label, arrows from head to tail box,
crossings reduced, wide articles wrapped; and its SVG in the HTML report."""

from __future__ import annotations

import itertools
import re
from html.parser import HTMLParser

import pytest

from argmine.config import load_label_schema
from argmine.document import ArgRelation, ArgUnit, Article
from argmine.prelabel import prelabel
from argmine.readers import read_articles
from argmine.report import render_html
from argmine.report.argmap import CHARS_PER_LINE, MAX_LINES, dot_available, layout_map

ENGINES = [
    "networkx",
    pytest.param(
        "dot", marks=pytest.mark.skipif(not dot_available(), reason="Graphviz dot not installed")
    ),
]


@pytest.fixture(scope="module")
def schema():
    return load_label_schema()


@pytest.fixture(scope="module")
def reference(reference_path) -> Article:
    return prelabel(read_articles([str(reference_path)])[0])


def _overlaps(amap) -> list[tuple[str, str]]:
    found = []
    for a, b in itertools.combinations(amap.nodes, 2):
        ax0, ay0, ax1, ay1 = a.x, a.y, a.x + a.width, a.y + a.height
        bx0, by0, bx1, by1 = b.x, b.y, b.x + b.width, b.y + b.height
        if ax0 < bx1 and bx0 < ax1 and ay0 < by1 and by0 < ay1:
            found.append((a.unit.id, b.unit.id))
    return found


def _on_border(point, node, tol=0.6) -> bool:
    """``point`` lies on the box's outline (within ``tol`` pixels)."""
    x, y = point
    x0, y0, x1, y1 = node.x, node.y, node.x + node.width, node.y + node.height
    within = x0 - tol <= x <= x1 + tol and y0 - tol <= y <= y1 + tol
    near = min(abs(x - x0), abs(x - x1), abs(y - y0), abs(y - y1)) <= tol
    return within and near


@pytest.mark.parametrize("engine", ENGINES)
def test_report_argmap_reference_article_has_no_overlaps(reference, schema, engine):
    assert len(reference.units) >= 30 and reference.relations
    amap = layout_map(reference, label_order=schema.span_names, engine=engine)
    assert amap.engine == engine
    assert sorted(n.unit.id for n in amap.nodes) == sorted(u.id for u in reference.units)
    assert len(amap.edges) == len(reference.relations)
    assert _overlaps(amap) == []
    for node in amap.nodes:  # inside the drawing
        assert node.x >= 0 and node.y >= 0
        assert node.x + node.width <= amap.width and node.y + node.height <= amap.height
    # Layers top to bottom: every conclusion above every claim above every evidence.
    bands = {}
    for node in amap.nodes:
        top, bottom = bands.get(node.unit.label, (node.y, node.y + node.height))
        bands[node.unit.label] = (min(top, node.y), max(bottom, node.y + node.height))
    assert bands["Conclusion"][1] < bands["Claim"][0]
    assert bands["Claim"][1] < bands["Evidence"][0]
    assert [layer.label for layer in amap.layers] == ["Conclusion", "Claim", "Evidence"]


@pytest.mark.parametrize("engine", ENGINES)
def test_report_argmap_arrows_run_from_head_box_to_tail_box(reference, schema, engine):
    amap = layout_map(reference, label_order=schema.span_names, engine=engine)
    for edge in amap.edges:
        head, tail = amap.node(edge.relation.head), amap.node(edge.relation.tail)
        assert _on_border(edge.start, head, tol=2.0 if engine == "dot" else 0.6), edge
        assert _on_border(edge.end, tail, tol=2.0 if engine == "dot" else 0.6), edge
        assert edge.path.startswith("M")


def test_report_argmap_other_labels_get_their_own_layer_below():
    text = "A. B. C. D. E."
    labels = ["Claim", "Rebuttal", "Conclusion", "Evidence", "Background"]
    units = [ArgUnit(f"T{i}", 3 * i, 3 * i + 2, lab) for i, lab in enumerate(labels)]
    amap = layout_map(
        Article(id="x", text=text, units=units),
        label_order=["Claim", "Evidence", "Conclusion", "Background", "Rebuttal"],
        engine="networkx",
    )
    assert [layer.label for layer in amap.layers] == [
        "Conclusion",
        "Claim",
        "Evidence",
        "Background",
        "Rebuttal",
    ]
    ys = [layer.y for layer in amap.layers]
    assert ys == sorted(ys) and len(set(ys)) == len(ys)


def _crossings(amap, relations) -> int:
    segments = [(amap.node(r.head).center_x, amap.node(r.tail).center_x) for r in relations]
    return sum(
        (a0 - b0) * (a1 - b1) < 0 for (a0, a1), (b0, b1) in itertools.combinations(segments, 2)
    )


def test_report_argmap_orders_layers_to_remove_crossings():
    # Evidence i supports claim (4 - i): in text order every pair of arrows crosses.
    claims = [f"Claim number {i}." for i in range(4)]
    evidence = [f"Evidence number {i}." for i in range(4)]
    text = " ".join(claims + evidence)
    units = [
        ArgUnit(f"C{i}", text.index(c), text.index(c) + len(c), "Claim")
        for i, c in enumerate(claims)
    ] + [
        ArgUnit(f"E{i}", text.index(e), text.index(e) + len(e), "Evidence")
        for i, e in enumerate(evidence)
    ]
    relations = [ArgRelation(f"R{i}", f"E{i}", f"C{3 - i}", "supports") for i in range(4)]
    article = Article(id="x", text=text, units=units, relations=relations)
    amap = layout_map(article, engine="networkx")
    assert _crossings(amap, relations) == 0
    assert _overlaps(amap) == []


def test_report_argmap_many_units_wrap_within_the_width_with_snippets():
    sentence = (
        "This is a fairly long sentence that keeps going well past any box width, "
        "and then it goes on for a while longer still. "
    )
    text = sentence * 120
    units = [
        ArgUnit(f"T{i}", i * len(sentence), (i + 1) * len(sentence) - 1, lab)
        for i, lab in zip(range(120), itertools.cycle(["Claim", "Evidence", "Claim"]), strict=False)
    ]
    relations = [
        ArgRelation(f"R{i}", f"T{i}", f"T{(i * 7 + 3) % 120}", "supports")
        for i in range(0, 120, 2)
        if (i * 7 + 3) % 120 != i
    ]
    article = Article(id="big", text=text, units=units, relations=relations)
    amap = layout_map(article, engine="networkx", max_width=900)
    assert len(amap.nodes) == 120
    assert amap.width <= 900
    assert _overlaps(amap) == []
    for node in amap.nodes:
        assert 1 <= len(node.lines) <= MAX_LINES
        assert all(len(line) <= CHARS_PER_LINE for line in node.lines)
        assert node.text == article.unit_text(node.unit)  # full text kept for the hover
    assert any(node.lines[-1].endswith("…") for node in amap.nodes)


class _Svg(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.nodes: list[dict[str, str]] = []
        self.titles: list[str] = []
        self.ids: set[str] = set()
        self.paths: list[dict[str, str]] = []
        self.tags: list[str] = []
        self._title: list[str] | None = None
        self._in_node = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("class") == "node":
            self.nodes.append(attrs)
            self._in_node = True
        if tag == "path" and attrs.get("class") == "rel":
            self.paths.append(attrs)
        if tag == "title" and self._in_node:
            self._title = []

    def handle_endtag(self, tag):
        if tag == "title" and self._title is not None:
            self.titles.append("".join(self._title))
            self._title = None
        if tag == "a":
            self._in_node = False

    def handle_data(self, data):
        if self._title is not None:
            self._title.append(data)


def test_report_argmap_svg_links_titles_and_colours(reference, schema):
    page = render_html([reference], schema=schema, map_engine="networkx")
    parser = _Svg()
    parser.feed(page)
    assert parser.tags.count("svg") >= 1 and "script" not in parser.tags
    assert len(parser.nodes) == len(reference.units)
    for node, title in zip(parser.nodes, parser.titles, strict=True):
        unit = reference.unit(node["data-unit"])
        assert node["href"] == f"#a0-{unit.id}"
        assert node["href"][1:] in parser.ids  # the span it links to exists
        assert title.endswith(reference.unit_text(unit))
    colors = {r.name: r.color for r in schema.relation_labels}
    assert len(parser.paths) == len(reference.relations)
    for path in parser.paths:
        assert path["stroke"] == colors[path["data-label"]]
        marker = re.fullmatch(r"url\(#(.+)\)", path["marker-end"]).group(1)
        assert marker in parser.ids
