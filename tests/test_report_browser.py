"""The HTML report in headless Chromium: spans highlighted in schema colours, no script runs."""

from __future__ import annotations

import pytest

from argmine.config import load_label_schema
from argmine.document import ArgUnit, Article
from argmine.report import write_report

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
