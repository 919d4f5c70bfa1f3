"""The annotator's view of Label Studio in headless Chromium: pre-labels shown, work saved.

Pushes the reference article (rule pre-labels with relations) through ``push_articles``, logs
in with headless Chromium, opens the task and checks in the DOM that every pre-annotated span is
highlighted on its characters and every relation is drawn and listed between the right spans.
Then an annotator labels two spans (hotkey + drag), draws a relation (Alt+R) and picks its
label, submits, and the pull has both spans and the relation from head to tail. Screenshots
go to test-output/.
"""

from __future__ import annotations

import re

import pytest

from argmine.config import load_label_schema
from argmine.corpora.labelstudio import article_to_task, export_to_articles, to_ls_offset
from argmine.document import Article
from argmine.prelabel import prelabel
from argmine.readers import read_articles
from argmine.studio.client import StudioClient
from argmine.studio.labelconfig import label_config
from argmine.studio.push import push_articles
from studio_browser import label_selection, open_task, regions, screenshot, submit

pytestmark = [pytest.mark.slow, pytest.mark.studio, pytest.mark.browser]

SCHEMA = load_label_schema()


def flat(text: str) -> str:
    """Text as the DOM shows it: line breaks are <br> elements, not characters."""
    return text.replace("\r", "").replace("\n", "")


def test_studio_browser_shows_prelabels_and_relations(studio_server, ls_page, reference_path):
    (article,) = read_articles([reference_path])
    predicted = prelabel(article, schema=SCHEMA)
    assert predicted.units and predicted.relations, "the rules should pre-label the reference"
    report = push_articles(
        [article], connection=studio_server.connection, schema=SCHEMA, project_title="browser"
    )
    ((_, task_id),) = report.created
    open_task(ls_page, studio_server.url, report.project_id, task_id)
    ls_page.wait_for_selector(".htx-highlight")

    # Every predicted span is highlighted on exactly its characters.
    text = article.text
    shown = regions(ls_page)
    assert sorted((r["start"], r["end"], flat(r["text"])) for r in shown) == sorted(
        (to_ls_offset(text, u.start), to_ls_offset(text, u.end), flat(text[u.start : u.end]))
        for u in predicted.units
    )
    labels = {r["start"]: r["label"].split(":", 1)[-1] for r in shown}
    assert labels == {to_ls_offset(text, u.start): u.label for u in predicted.units}

    # Every relation is drawn as an arc ...
    arcs = ls_page.locator('svg [class*="relationItem"]')
    assert arcs.count() == len(predicted.relations)
    # ... and listed from head to tail in the Relations panel.
    ls_page.locator(".lsf-panel-tabs__tab", has_text="Relations").first.click()
    ls_page.wait_for_selector(".lsf-relations__item")
    header = ls_page.locator(".lsf-relations__section-head").first.inner_text()
    assert f"({len(predicted.relations)})" in header
    start_of = {r["index"]: r["start"] for r in shown}
    listed = []
    for item in ls_page.locator(".lsf-relations__item").all_inner_texts():
        found = re.fullmatch(r"\s*(\d+)\s*(\w+)\s*(\d+)\s*(\w+)\s*", item)
        assert found, f"unexpected relation item {item!r}"
        head, head_label, tail, tail_label = found.groups()
        listed.append((start_of[int(head)], head_label, start_of[int(tail)], tail_label))
    expected = []
    for rel in predicted.relations:
        head, tail = predicted.unit(rel.head), predicted.unit(rel.tail)
        expected.append(
            (to_ls_offset(text, head.start), head.label, to_ls_offset(text, tail.start), tail.label)
        )
    assert sorted(listed) == sorted(expected)
    screenshot(ls_page, "studio-browser-prelabels.png")


def test_studio_browser_annotator_draws_spans_and_a_relation(studio_server, ls_page):
    """Spans by hotkey + drag, a relation by Alt+R, its label from the Relations panel."""
    client = StudioClient(studio_server.connection)
    project_id, _ = client.ensure_project("browser-annotate", label_config(SCHEMA))
    text = "Taxes must fall.\nGrowth was weak last year. So cut them."
    (task_id,) = client.import_tasks(
        project_id, [article_to_task(Article(id="draw", text=text, title="Draw"))]
    )
    claim, evidence = SCHEMA.span_labels[0], SCHEMA.span_labels[1]
    relation = SCHEMA.relation_names[0]
    open_task(ls_page, studio_server.url, project_id, task_id)
    label_selection(ls_page, claim.hotkey, "Taxes", "fall.")
    label_selection(ls_page, evidence.hotkey, "Growth", "year.")
    # Head first: click the evidence, Alt+R, click the claim it supports.
    ls_page.locator(".htx-highlight", has_text="Growth").first.click()
    ls_page.keyboard.press("Alt+r")
    ls_page.locator(".htx-highlight", has_text="Taxes").first.click()
    ls_page.keyboard.press("Escape")
    ls_page.locator(".lsf-panel-tabs__tab", has_text="Relations").first.click()
    item = ls_page.locator(".lsf-relations__item").first
    item.hover()
    item.get_by_role("button", name="Show Relation Labels").click()
    ls_page.locator(".lsf-relation-meta [data-testid^=select-trigger]").first.click()
    ls_page.get_by_text(relation, exact=True).last.click()
    ls_page.keyboard.press("Escape")
    screenshot(ls_page, "studio-browser-annotated.png")
    submit(ls_page)

    export = [t for t in client.export_snapshot(project_id) if t["id"] == task_id]
    (article,) = export_to_articles(export, schema=SCHEMA, strict=True)
    units = {article.unit_text(u): u for u in article.units}
    assert sorted(units) == ["Growth was weak last year.", "Taxes must fall."]
    assert units["Taxes must fall."].label == claim.name
    assert units["Growth was weak last year."].label == evidence.name
    ((head, tail, label),) = [(r.head, r.tail, r.label) for r in article.relations]
    assert (head, tail, label) == (
        units["Growth was weak last year."].id,
        units["Taxes must fall."].id,
        relation,
    )
