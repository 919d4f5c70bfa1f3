"""Offsets with the real UI: select text with the mouse in Label Studio, export, compare.

An annotator's drag over text with emoji (astral, ZWJ sequence, flag), combining marks, CRLF
and a tab is saved by Label Studio and pulled back into argmine; the spans must cover exactly
the Python ``str`` slices that were selected. Then the pulled article goes back to Label Studio
as predictions and must be highlighted on the same characters. Numbers: docs/studio-offsets.md.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from argmine.config import load_label_schema
from argmine.corpora.labelstudio import (
    article_to_task,
    export_to_articles,
    ls_text_matches,
    to_ls_offset,
)
from argmine.document import Article
from argmine.studio.client import StudioClient
from argmine.studio.labelconfig import label_config
from studio_browser import (
    label_selection,
    open_task,
    regions,
    rendered_text,
    screenshot,
    submit,
)

pytestmark = [pytest.mark.slow, pytest.mark.studio, pytest.mark.browser]

SCHEMA = load_label_schema()
TEXT = (
    "Start \U0001f600 smile.\r\nThe cafe\u0301 re\u0301sume\u0301 is "
    "\U0001f468\u200d\U0001f469\u200d\U0001f467 family.\tTab \U0001f1e9\U0001f1ea flag end."
)
# (first, last): drag from the first glyph of `first` to the last glyph of `last`.
SELECTIONS = [
    ("\U0001f600", "smi"),  # starts on an astral emoji, ends mid-word
    ("le.", "The"),  # across CRLF
    ("re\u0301", "sume\u0301"),  # combining marks, ends after one
    ("\U0001f468", "family"),  # starts on a ZWJ sequence
    ("Tab", "end."),  # after a tab, over a flag
]


def expected_spans() -> list[tuple[int, int, str]]:
    spans = []
    for i, (first, last) in enumerate(SELECTIONS):
        start = TEXT.index(first)
        end = TEXT.index(last, start) + len(last)
        spans.append((start, end, SCHEMA.span_labels[i % len(SCHEMA.span_labels)].name))
    return spans


def flat(text: str) -> str:
    """Text as the DOM shows it: line breaks are <br> elements, not characters."""
    return text.replace("\r", "").replace("\n", "")


@pytest.fixture(scope="module")
def project(studio_server) -> tuple[StudioClient, int]:
    client = StudioClient(studio_server.connection)
    project_id, _ = client.ensure_project("argmine-offsets", label_config(SCHEMA))
    return client, project_id


def test_studio_offsets_ui_selection_round_trip(project, ls_page, studio_server):
    client, project_id = project
    article = Article(id="offsets-ui", text=TEXT, title="Offsets", meta={"source": "test"})
    (task_id,) = client.import_tasks(project_id, [article_to_task(article)])
    open_task(ls_page, studio_server.url, project_id, task_id)
    assert flat(rendered_text(ls_page)) == flat(TEXT)

    expected = expected_spans()
    for (first, last), (_, _, label) in zip(SELECTIONS, expected, strict=True):
        label_selection(ls_page, SCHEMA.span_label(label).hotkey, first, last)
    shown = sorted((r["start"], r["end"], flat(r["text"])) for r in regions(ls_page))
    assert shown == [(s, e, flat(TEXT[s:e])) for s, e, _ in expected]
    screenshot(ls_page, "studio-offsets-selected.png")
    submit(ls_page)

    export = [t for t in client.export_snapshot(project_id) if t["id"] == task_id]
    (annotation,) = export[0]["annotations"]
    saved = sorted(
        (r["value"]["start"], r["value"]["end"], r["value"]["text"])
        for r in annotation["result"]
        if r["type"] == "labels"
    )
    # What Label Studio stored: code points, region text with line breaks as the UI saves it.
    assert [(s, e) for s, e, _ in saved] == [(s, e) for s, e, _ in expected]
    for (start, end, text), (s, e, _) in zip(saved, expected, strict=True):
        assert ls_text_matches(TEXT[s:e], text), (start, end, text)

    (pulled,) = export_to_articles(export, schema=SCHEMA, strict=True)
    assert pulled.text == TEXT
    assert sorted((u.start, u.end, u.label) for u in pulled.units) == expected

    # And back: the pulled spans as predictions are highlighted on the same characters.
    back = article_to_task(
        Article(id="offsets-back", text=TEXT), predictions=replace(pulled, id="offsets-back")
    )
    (back_id,) = client.import_tasks(project_id, [back])
    open_task(ls_page, studio_server.url, project_id, back_id)
    shown = sorted((r["start"], r["end"], flat(r["text"])) for r in regions(ls_page))
    assert shown == [
        (to_ls_offset(TEXT, s), to_ls_offset(TEXT, e), flat(TEXT[s:e])) for s, e, _ in expected
    ]
    screenshot(ls_page, "studio-offsets-predicted.png")
