"""Push -> annotate through the API (two annotators) -> pull, against a real Label Studio.

The suite pushes the reference article (pre-labelled by the rules) and the starter annotations
(as predictions), submits annotations as annotators would (spans and relations; two different
users on the reference task; one cancelled annotation; one unsubmitted draft), pulls through an
export snapshot and checks that every span, label, relation and annotator came back.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from argmine.cli import app
from argmine.config import load_label_schema
from argmine.corpora.labelstudio import article_to_task, load_export
from argmine.document import Article, iter_jsonl_articles
from argmine.readers import read_articles
from argmine.studio.client import StudioClient
from argmine.studio.labelconfig import label_config
from argmine.studio.pull import pull_project
from argmine.studio.push import push_articles

pytestmark = [pytest.mark.slow, pytest.mark.studio]

SCHEMA = load_label_schema()


def _result(article: Article) -> list[dict]:
    """The Label Studio result an annotator's labelling of ``article`` produces."""
    return article_to_task(article)["annotations"][0]["result"]


def _key(article: Article):
    units = [(u.id, u.start, u.end, u.label) for u in article.units]
    relations = [(r.id, r.head, r.tail, r.label) for r in article.relations]
    return units, relations


@pytest.fixture(scope="module")
def loop(studio_server, reference_path: Path, repo_root: Path, tmp_path_factory):
    """Push, annotate, pull once for the module; what was submitted and what came back."""
    conn = studio_server.connection
    client = StudioClient(conn)
    reference = read_articles([reference_path])
    first = push_articles(reference, connection=conn, schema=SCHEMA)
    starter = load_export(repo_root / "annotations" / "starter.json", schema=SCHEMA)[:6]
    # Predictions more confident article by article: uncertainty order reverses them.
    predictions = [
        a.with_annotations(
            [replace(u, score=round(0.9 - 0.1 * i, 2)) for u in a.units], a.relations
        )
        for i, a in enumerate(starter)
    ]
    pushed_starter = push_articles(
        [],
        connection=conn,
        predictions=predictions,
        model_version="starter-gold",
        order="uncertainty",
        schema=SCHEMA,
    )
    task_of = dict(first.created + pushed_starter.created)

    admin = client.whoami()["id"]
    second = client.create_user(username="ann2", email="ann2@example.org", password="pw-ann2-123")
    gold = load_export(repo_root / "annotations" / "caravan-to-nowhere.json", schema=SCHEMA)[0]
    # Annotator 2 keeps only part of the gold: the first half of its units, relations among them.
    half = {u.id for u in gold.units[: len(gold.units) // 2]}
    partial = gold.with_annotations(
        [u for u in gold.units if u.id in half],
        [r for r in gold.relations if r.head in half and r.tail in half],
    )
    submitted = {}  # (data id, user id) -> Article
    ref_task = task_of[reference[0].id]
    client.create_annotation(ref_task, _result(gold), completed_by=admin, lead_time=61.5)
    submitted[(reference[0].id, admin)] = gold
    client.create_annotation(ref_task, _result(partial), completed_by=second, lead_time=12.0)
    submitted[(reference[0].id, second)] = partial
    for article in starter[:4]:
        client.create_annotation(task_of[article.id], _result(article), completed_by=second)
        submitted[(article.id, second)] = article
    client.create_annotation(task_of[starter[4].id], [], completed_by=admin, was_cancelled=True)
    client.create_draft(task_of[starter[5].id], _result(starter[5]))

    out = tmp_path_factory.mktemp("pull") / "studio-argmine.json"
    result = pull_project(connection=conn, output=out, schema=SCHEMA)
    return {
        "client": client,
        "first": first,
        "starter": starter,
        "pushed_starter": pushed_starter,
        "submitted": submitted,
        "users": (admin, second),
        "result": result,
        "reference": reference[0],
    }


def test_studio_roundtrip_every_span_relation_and_annotator_comes_back(loop):
    result = loop["result"]
    pulled = {
        (a.meta["studio"]["data_id"], a.meta["studio"]["completed_by"]): a for a in result.articles
    }
    assert set(pulled) == set(loop["submitted"])
    for key, sent in loop["submitted"].items():
        got = pulled[key]
        assert got.text == sent.text
        assert _key(got) == _key(sent), key
        assert got.problems(SCHEMA) == []
    assert result.report.issues == []


def test_studio_roundtrip_two_annotators_on_one_task(loop, studio_server):
    admin, second = loop["users"]
    ref_id = loop["reference"].id
    mine = [a for a in loop["result"].articles if a.meta["studio"]["data_id"] == ref_id]
    assert sorted(a.meta["studio"]["completed_by"] for a in mine) == sorted([admin, second])
    assert sorted(a.id for a in mine) == sorted([f"{ref_id}@{admin}", f"{ref_id}@{second}"])
    by_user = {a.meta["studio"]["completed_by"]: a for a in mine}
    assert by_user[admin].meta["studio"]["lead_time"] == pytest.approx(61.5)
    assert by_user[second].meta["studio"]["lead_time"] == pytest.approx(12.0)
    assert by_user[admin].meta["studio"]["annotator"] == studio_server.username
    assert by_user[second].meta["studio"]["annotator"] == "ann2@example.org"
    for article in mine:
        assert article.meta["studio"]["created_at"] and article.meta["studio"]["updated_at"]
        assert article.meta["studio"]["ground_truth"] is False


def test_studio_roundtrip_cancelled_and_drafts_are_reported(loop):
    report = loop["result"].report
    starter = loop["starter"]
    assert report.cancelled == 1
    assert len(report.drafts) == 1 and starter[5].id in report.drafts[0]
    assert any(starter[4].id in ref for ref in report.unannotated)


def test_studio_roundtrip_export_keeps_full_predictions(loop):
    export = json.loads(loop["result"].export_path.read_text(encoding="utf-8"))
    by_id = {task["data"]["id"]: task for task in export}
    ref = by_id[loop["reference"].id]
    (prediction,) = ref["predictions"]
    assert prediction["model_version"] == "rules"
    labels = [r for r in prediction["result"] if r["type"] == "labels"]
    assert labels and all(0.0 < r["score"] < 1.0 for r in labels)
    assert any(r["type"] == "relation" for r in prediction["result"])
    gold = loop["starter"][0]
    (starter_prediction,) = by_id[gold.id]["predictions"]
    assert starter_prediction["model_version"] == "starter-gold"
    assert len(starter_prediction["result"]) == len(gold.units) + len(gold.relations)
    # The JSONL beside the export holds the same articles.
    lines = loop["result"].jsonl_path.read_text(encoding="utf-8").splitlines()
    assert [a.id for a in iter_jsonl_articles(lines)] == [a.id for a in loop["result"].articles]


def test_studio_roundtrip_uncertainty_order_least_confident_first(loop):
    created = loop["pushed_starter"].created
    assert [article_id for article_id, _ in created] == [a.id for a in reversed(loop["starter"])]
    assert [t for _, t in created] == sorted(t for _, t in created)  # imported in that order
    tasks = {t["id"]: t for t in loop["client"].iter_tasks(loop["pushed_starter"].project_id)}
    values = [tasks[task_id]["data"]["uncertainty"] for _, task_id in created]
    assert values == sorted(values, reverse=True) and values[0] > values[-1]


def test_studio_roundtrip_second_push_creates_no_duplicate(loop, studio_server):
    client = loop["client"]
    project_id = loop["first"].project_id
    before = client.data_ids(project_id)
    again = push_articles([loop["reference"]], connection=studio_server.connection, schema=SCHEMA)
    assert again.created == []
    assert again.skipped == [loop["reference"].id]
    assert client.data_ids(project_id) == before
    assert sum(1 for _ in client.iter_tasks(project_id)) == len(before)


def test_studio_roundtrip_server_accepts_generated_config(loop):
    client = loop["client"]
    project_id = loop["first"].project_id
    config = label_config(SCHEMA)
    client.validate_label_config(project_id, config)
    stored = client.label_config(project_id)
    for name in (*SCHEMA.span_names, *SCHEMA.relation_names):
        assert f'value="{name}"' in stored


def test_studio_roundtrip_cli_pull_status_and_import(loop, studio_server, tmp_path):
    runner = CliRunner()
    conn = ["--url", studio_server.url, "--token", studio_server.token]
    status = runner.invoke(app, ["studio", "status", *conn, "--home", str(tmp_path)])
    assert status.exit_code == 0, status.output
    assert "project 'argmine'" in status.output
    assert studio_server.token not in status.output
    out = tmp_path / "pulled.json"
    pulled = runner.invoke(app, ["studio", "pull", *conn, "--output", str(out)])
    assert pulled.exit_code == 0, pulled.output
    again = runner.invoke(app, ["studio", "pull", *conn, "--output", str(out)])
    assert again.exit_code == 1 and "--force" in again.output
    imported = runner.invoke(app, ["studio", "import", str(out), "-o", str(tmp_path / "a.jsonl")])
    assert imported.exit_code == 0, imported.output
    lines = (tmp_path / "a.jsonl").read_text(encoding="utf-8").splitlines()
    from_cli = {a.id: _key(a) for a in iter_jsonl_articles(lines)}
    assert from_cli == {a.id: _key(a) for a in loop["result"].articles}
