"""A trained model's relations in the real Label Studio UI, and nothing of the rules'.

The chain an annotator's lead runs: ``argmine tag --format labelstudio`` tags the reference
article with the session's tiny model (its units and relations mean nothing; they are what the
model said), ``argmine studio push --predictions`` sends those tasks to the real server, and
headless Chromium opens the task: the arrows drawn and the Relations panel are exactly the
model's relations, head to tail, and none of the rule pre-annotator's (which links the same
article differently). The fast test checks the file step of that chain without a server.
"""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from argmine.cli import app
from argmine.config import load_label_schema
from argmine.corpora.labelstudio import predictions_to_articles, to_ls_offset
from argmine.document import ArgRelation, ArgUnit, Article, iter_jsonl_articles
from argmine.prelabel import prelabel
from argmine.readers import read_articles
from argmine.report import render_labelstudio
from argmine.studio.client import StudioClient
from studio_browser import open_task, regions, screenshot

SCHEMA = load_label_schema()
runner = CliRunner()


def _cli(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, f"argmine {' '.join(args)}: {result.stderr}"
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result.stderr


def _keyed(article: Article) -> list[tuple[int, str, int, str, str]]:
    """Relations as (head start, head label, tail start, tail label, label), LS offsets."""
    out = []
    for rel in article.relations:
        head, tail = article.unit(rel.head), article.unit(rel.tail)
        out.append(
            (
                to_ls_offset(article.text, head.start),
                head.label,
                to_ls_offset(article.text, tail.start),
                tail.label,
                rel.label,
            )
        )
    return sorted(out)


def test_corpora_labelstudio_predictions_read_back_from_tagged_tasks():
    """What ``tag --format labelstudio`` writes, ``push --predictions`` reads: the same units
    and relations with their scores, and the model's name."""
    text = "Taxes must fall. 😀 Growth was weak last year.\nSo cut them."
    tagged = Article(
        id="a1",
        text=text,
        title="T",
        meta={"source": "x.txt"},
        units=[
            ArgUnit(id="T1", start=0, end=16, label="Claim", score=0.75),
            ArgUnit(id="T2", start=19, end=45, label="Evidence", score=0.5),
            ArgUnit(id="T3", start=46, end=57, label="Conclusion", score=0.25),
        ],
        relations=[
            ArgRelation(id="R1", head="T2", tail="T1", label="supports", score=0.625),
            ArgRelation(id="R2", head="T1", tail="T3", label="attacks", score=0.375),
        ],
    )
    bare = Article(id="b2", text="Nothing here.", title="")
    tasks = json.loads(render_labelstudio([tagged, bare], model_version="tiny"))
    first, second = predictions_to_articles(tasks, schema=SCHEMA)
    assert (first.id, first.text, first.meta["model"]) == ("a1", text, "tiny")
    assert [(u, u.score) for u in first.units] == [(u, u.score) for u in tagged.units]
    assert [(r, r.score) for r in first.relations] == [(r, r.score) for r in tagged.relations]
    assert (second.id, second.units, second.relations) == ("b2", [], [])


@pytest.mark.slow
@pytest.mark.studio
@pytest.mark.browser
def test_studio_browser_shows_model_relations_not_rules(
    studio_server, ls_page, tiny_model, reference_path, tmp_path
):
    tasks_file = tmp_path / "tagged.json"
    _cli(
        "tag", str(reference_path), "--model", str(tiny_model), "-o", str(tasks_file),
        "--format", "labelstudio", "--no-progress",
    )  # fmt: skip
    with tasks_file.with_name(tasks_file.name + ".jsonl").open(encoding="utf-8") as handle:
        (model,) = list(iter_jsonl_articles(handle))
    (article,) = read_articles([reference_path])
    rules = prelabel(article, schema=SCHEMA)
    assert model.relations, "the tiny model should predict relations on the reference article"
    assert rules.relations and _keyed(rules) != _keyed(model), "rules and model must differ"

    connection = studio_server.connection
    _cli(
        "studio", "push", "--predictions", str(tasks_file), "--url", connection.url,
        "--token", connection.token, "--project", "browser-model",
    )  # fmt: skip
    client = StudioClient(connection)
    project_id = client.find_project("browser-model")
    task_id = client.data_ids(project_id)[article.id]
    pushed = client.request("GET", f"/api/tasks/{task_id}", what="reading the pushed task")
    (prediction,) = pushed["predictions"]
    pushed_relations = [r for r in prediction["result"] if r["type"] == "relation"]
    assert len(pushed_relations) == len(model.relations)

    open_task(ls_page, studio_server.url, project_id, task_id)
    ls_page.wait_for_selector(".htx-highlight")
    shown = regions(ls_page)
    assert len(shown) == len(model.units)
    # One arrow (a path with an arrowhead) per pushed relation, with the model's label ...
    arcs = ls_page.locator('svg [class*="relationItem"]')
    assert arcs.count() == len(pushed_relations)
    assert ls_page.locator('svg [class*="relationItem"] path[marker-end]').count() == arcs.count()
    drawn_labels = sorted(arcs.locator("text").all_text_contents())
    assert drawn_labels == sorted(r.label for r in model.relations)
    screenshot(ls_page, "studio-browser-model-relations.png")
    # ... listed head -> tail in the Relations panel: the model's, none of the rules'.
    ls_page.locator(".lsf-panel-tabs__tab", has_text="Relations").first.click()
    ls_page.wait_for_selector(".lsf-relations__item")
    header = ls_page.locator(".lsf-relations__section-head").first.inner_text()
    assert f"({len(pushed_relations)})" in header
    start_of = {r["index"]: r["start"] for r in shown}
    listed = []
    for item in ls_page.locator(".lsf-relations__item").all_inner_texts():
        found = re.fullmatch(r"\s*(\d+)\s*(\w+)\s*(\d+)\s*(\w+)\s*", item)
        assert found, f"unexpected relation item {item!r}"
        head, head_label, tail, tail_label = found.groups()
        listed.append((start_of[int(head)], head_label, start_of[int(tail)], tail_label))
    assert sorted(listed) == [key[:4] for key in _keyed(model)]
    only_rules = {key[:4] for key in _keyed(rules)} - {key[:4] for key in _keyed(model)}
    assert only_rules and not only_rules & set(listed)
