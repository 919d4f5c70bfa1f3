"""The HTML report in headless Chromium: spans highlighted in schema colours, no script runs;
the argument map: one box per unit, coloured arrows, hover titles, links that jump to spans."""

from __future__ import annotations

import itertools
import shutil

import pytest

from argmine.config import load_label_schema
from argmine.document import ArgUnit, Article
from argmine.report import write_report
from studio_browser import TEST_OUTPUT

pytestmark = pytest.mark.browser


def _rgb(hex_color: str) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def test_report_browser_shows_highlighted_spans(chromium, tmp_path):
    schema = load_label_schema()
    labels = schema.span_names
    text = 'Cuts & "reforms" <script>window.pwned = 1</script> failed.\n\nThe data show it.'
    units = [
        ArgUnit("T1", 0, text.index(" failed") + 7, labels[0], 0.83),
        ArgUnit("T2", text.index("The data"), len(text) - 1, labels[1], 0.42),
    ]
    articles = [Article(id="x&y", title="<i>Title</i>", text=text, units=units)]
    path = write_report(articles, tmp_path / "report.html", fmt="html", schema=schema)
    page = chromium.new_page()
    try:
        page.goto(path.resolve().as_uri())
        assert page.evaluate("window.pwned") is None
        marks = page.locator("section.article mark")
        assert marks.count() == 2
        assert marks.nth(0).inner_text() == text[units[0].start : units[0].end]
        assert marks.nth(0).get_attribute("title") == f"{labels[0]} 0.83"
        for i, unit in enumerate(units):
            border = marks.nth(i).evaluate("e => getComputedStyle(e).borderBottomColor")
            assert border == _rgb(schema.span_label(unit.label).color)
            assert marks.nth(i).is_visible()
        assert "<i>Title</i>" in page.locator("section.article h2").inner_text()
    finally:
        page.close()


# The rendered boxes of every map node, the bounding boxes of their text, and their hover title.
_MAP_NODES = """() => Array.from(document.querySelectorAll('svg.argmap a.node')).map(a => {
  const box = a.querySelector('rect.box').getBoundingClientRect();
  const texts = Array.from(a.querySelectorAll('text')).map(t => t.getBoundingClientRect());
  return {unit: a.dataset.unit, href: a.getAttribute('href'),
          box: [box.left, box.top, box.right, box.bottom],
          texts: texts.map(r => [r.left, r.top, r.right, r.bottom]),
          title: a.querySelector('title').textContent};
})"""


def _reference_report(reference_path, tmp_path, engine):
    from argmine.prelabel import prelabel
    from argmine.readers import read_articles

    schema = load_label_schema()
    article = prelabel(read_articles([str(reference_path)])[0])
    path = write_report(
        [article], tmp_path / "report.html", fmt="html", schema=schema, map_engine=engine
    )
    return schema, article, path


@pytest.mark.parametrize(
    "engine",
    [
        "networkx",
        pytest.param(
            "dot",
            marks=pytest.mark.skipif(not shutil.which("dot"), reason="Graphviz dot not installed"),
        ),
    ],
)
def test_report_browser_argument_map(chromium, reference_path, tmp_path, engine):
    schema, article, path = _reference_report(reference_path, tmp_path, engine)
    page = chromium.new_page(viewport={"width": 1000, "height": 1300})
    try:
        page.goto(path.resolve().as_uri())
        svg = page.locator("svg.argmap")
        assert svg.count() == 1 and svg.is_visible()
        assert svg.get_attribute("data-engine") == engine
        nodes = page.evaluate(_MAP_NODES)
        assert sorted(n["unit"] for n in nodes) == sorted(u.id for u in article.units)
        for n in nodes:
            x0, y0, x1, y1 = n["box"]
            assert x1 - x0 > 50 and y1 - y0 > 20
            for t in n["texts"]:  # the snippet stays inside its box as rendered
                assert x0 <= t[0] and t[2] <= x1 + 0.5 and y0 <= t[1] and t[3] <= y1, n
            unit = article.unit(n["unit"])
            assert n["title"].endswith(": " + article.unit_text(unit))
        for a, b in itertools.combinations(nodes, 2):  # rendered boxes do not overlap
            (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = a["box"], b["box"]
            assert not (ax0 < bx1 and bx0 < ax1 and ay0 < by1 and by0 < ay1), (a, b)

        arrows = page.locator("svg.argmap path.rel")
        assert arrows.count() == len(article.relations)
        colors = {r.name: _rgb(r.color) for r in schema.relation_labels}
        for i in range(arrows.count()):
            arrow = arrows.nth(i)
            stroke = arrow.evaluate("e => getComputedStyle(e).stroke")
            assert stroke == colors[arrow.get_attribute("data-label")]
            length = arrow.evaluate("e => e.getTotalLength()")
            assert length > 10
            marker = arrow.evaluate(
                "e => document.querySelector(getComputedStyle(e).markerEnd.slice(4, -1)"
                ".replace(/\"/g, '')).tagName"
            )
            assert marker == "marker"
        # The legend names the arrow colours.
        legend = page.locator("figure.map figcaption")
        for name in colors:
            assert name in legend.inner_text()

        # Hover: the box is emphasised; click: the page jumps to the unit's span.
        target = max(article.units, key=lambda u: u.start)  # the last unit, far below the map
        node = page.locator(f'svg.argmap a.node[data-unit="{target.id}"]')
        node.hover()
        width = node.locator("rect.box").evaluate("e => getComputedStyle(e).strokeWidth")
        assert width == "2.5px"
        mark = page.locator(f"mark#a0-{target.id}")
        top = mark.evaluate("e => e.getBoundingClientRect().top")
        assert top > page.viewport_size["height"]  # not on screen before the click
        node.click()
        page.wait_for_function(f"location.hash === '#a0-{target.id}'")
        assert mark.inner_text() == article.unit_text(target)
        top = mark.evaluate("e => e.getBoundingClientRect().top")
        assert 0 <= top < page.viewport_size["height"]
        assert mark.evaluate("e => getComputedStyle(e).outlineStyle") == "solid"

        if engine == "networkx":
            _screenshots(page, path)
    finally:
        page.close()


def _screenshots(page, path):
    """test-output/argument-map.png and report.png (copied to docs/ by hand)."""
    TEST_OUTPUT.mkdir(exist_ok=True)
    page.goto(path.resolve().as_uri())
    page.screenshot(path=str(TEST_OUTPUT / "report.png"))
    page.add_style_tag(content=".legend{position:static}")
    page.locator("figure.map").screenshot(path=str(TEST_OUTPUT / "argument-map.png"))


_CHART_NAMES = """() => Array.from(document.querySelectorAll('svg.chart')).map(svg => {
  const frame = svg.getBoundingClientRect();
  const bar = svg.querySelector('g.bar rect').getBoundingClientRect();
  return Array.from(svg.querySelectorAll('text.name')).map(t => {
    const r = t.getBoundingClientRect();
    return {text: t.textContent, left: r.left, frame: frame.left, bar: bar.left};
  });
}).flat()"""


def test_report_browser_chart_names_show_their_first_words(chromium, tmp_path):
    """The index charts name each article: a long title used to run off the chart's left
    edge, so "Keep Museum Entry Free" read "ep Museum Entr…"."""
    schema = load_label_schema()
    claim, evidence = schema.span_names[0], schema.span_names[1]
    titles = [
        "Keep Museum Entry Free, Whatever the Treasury Says",
        "WWWW MMMM: Wide Capitals In A Headline That Goes On",
        "Short",
    ]
    articles = []
    for k, title in enumerate(titles):
        text = "Museums should stay free. Visits rose by a third in 2024."
        units = [ArgUnit("T1", 0, 25, claim, 0.9), ArgUnit("T2", 26, len(text), evidence, 0.8)]
        articles.append(Article(id=f"a{k}", title=title, text=text, units=units))
    path = write_report(articles, tmp_path / "report.html", fmt="html", schema=schema)
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto(path.resolve().as_uri())
        names = page.evaluate(_CHART_NAMES)
        assert len(names) == 3 * len(titles)
        for name in names:
            assert name["left"] >= name["frame"] - 0.5, name  # starts inside the chart
            assert name["left"] < name["bar"], name
        assert {n["text"] for n in names} >= {"Short", "Keep Museum Entry …"}
        # the corpus line names the claim labels of this report's schema, not other schemas'
        line = page.locator("section.structure p.meta").first.inner_text()
        assert f"{claim})" in line and "MajorClaim" not in line, line
    finally:
        page.close()
