"""The gold files import into a real Label Studio unchanged and come back identical.

Each file in annotations/ is sent to Label Studio's import endpoint exactly as stored (the
JSON list read from disk, not rebuilt), then exported with a snapshot; every task's text,
spans (offsets and labels) and relations must come back as they were.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from argmine.config import load_label_schema
from argmine.corpora.labelstudio import export_to_articles, load_export
from argmine.document import Article
from argmine.studio.client import StudioClient
from argmine.studio.labelconfig import label_config

pytestmark = [pytest.mark.slow, pytest.mark.studio]

REPO = Path(__file__).resolve().parents[1]
GOLD = [REPO / "annotations" / "caravan-to-nowhere.json", REPO / "annotations" / "starter.json"]
SCHEMA = load_label_schema(REPO / "configs" / "labels.yaml")


def _key(article: Article):
    units = sorted((u.start, u.end, u.label) for u in article.units)
    spans = {u.id: (u.start, u.end, u.label) for u in article.units}
    relations = sorted((spans[r.head], spans[r.tail], r.label) for r in article.relations)
    return article.text, article.title, units, relations


@pytest.mark.parametrize("path", GOLD, ids=lambda p: p.name)
def test_annotations_import_into_label_studio_unchanged(path: Path, studio_server) -> None:
    client = StudioClient(studio_server.connection)
    project_id, created = client.ensure_project(f"gold {path.stem}", label_config(SCHEMA))
    assert created
    stored = json.loads(path.read_text(encoding="utf-8"))
    task_ids = client.import_tasks(project_id, stored)
    assert len(task_ids) == len(stored)

    exported = client.export_snapshot(project_id)
    back = {a.id: a for a in export_to_articles(exported, schema=SCHEMA, strict=True)}
    sent = load_export(path, schema=SCHEMA, strict=True)
    assert sorted(back) == sorted(a.id for a in sent)
    for article in sent:
        assert _key(back[article.id]) == _key(article), article.id
