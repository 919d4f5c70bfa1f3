"""Adjudication against a real Label Studio: the gold export imports and comes back as ground
truth; ``adjudicate --review`` creates review tasks with every version as a prediction; a
reviewer's submitted annotation is pulled back as ground truth (and only once)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from agreement_exports import two_annotators, write
from argmine.agreement import adjudicate_tasks, gold_export, load_tasks
from argmine.cli import app
from argmine.config import load_label_schema
from argmine.corpora import load_corpus
from argmine.studio.client import StudioClient
from argmine.studio.labelconfig import label_config
from argmine.studio.pull import pull_project

pytestmark = [pytest.mark.slow, pytest.mark.studio]

SCHEMA = load_label_schema()
runner = CliRunner()


def run(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def _spans(article):
    return sorted((u.label, u.start, u.end) for u in article.units)


def test_agreement_studio_gold_export_round_trips(studio_server, tmp_path) -> None:
    conn = studio_server.connection
    client = StudioClient(conn)
    tasks, _ = load_tasks([write(tmp_path / "e.json", two_annotators())])
    (result,) = adjudicate_tasks(tasks, policy="union")
    gold = gold_export([result])
    project, _ = client.ensure_project("agreement gold", label_config(SCHEMA))
    client.import_tasks(project, gold)
    pulled = pull_project(
        connection=conn, project_title="agreement gold", output=tmp_path / "back.json"
    )
    (article,) = pulled.articles
    assert article.meta["studio"]["ground_truth"] is True
    assert _spans(article) == _spans(result.gold)
    assert len(article.relations) == len(result.gold.relations) == 3


def test_agreement_studio_review_pulled_as_ground_truth(studio_server, tmp_path) -> None:
    conn = studio_server.connection
    client = StudioClient(conn)
    (only,) = two_annotators()
    ann, bob = only["annotations"]
    first = write(tmp_path / "ann.json", [{**only, "annotations": [ann]}])
    second = write(tmp_path / "bob.json", [{**only, "annotations": [bob]}])
    project = "argmine review (test)"
    auth = ["--url", conn.url, "--token", conn.token, "--project", project]
    gold = tmp_path / "gold.json"
    pushed = run("adjudicate", first, second, "-o", gold, "--review", *auth)
    assert pushed.exit_code == 0, pushed.stderr
    assert "pushed 1 review tasks" in pushed.stderr
    # The conflicted task went to review, so the gold export has no task.
    assert json.loads(gold.read_text(encoding="utf-8")) == []

    project_id = client.find_project(project)
    (review,) = list(client.iter_tasks(project_id))
    assert review["data"]["id"] == "two"
    assert review["data"]["meta"]["adjudication"]["annotators"] == ["ann@x", "bob@x"]
    assert not review.get("annotations")
    predictions = {p["model_version"]: p for p in review["predictions"]}
    assert set(predictions) == {"adjudicated majority", "annotator ann@x", "annotator bob@x"}
    # Pushing again adds no second review task.
    again = run("adjudicate", first, second, "-o", gold, "--review", "--force", *auth)
    assert again.exit_code == 0 and "skipped 1 tasks" in again.stderr
    assert len(list(client.iter_tasks(project_id))) == 1

    # The reviewer takes bob's version and submits it.
    client.create_annotation(review["id"], predictions["annotator bob@x"]["result"])
    out = tmp_path / "reviewed.json"
    pulled = run("studio", "pull", "-o", out, *auth)
    assert pulled.exit_code == 0, pulled.stderr
    assert "1 reviewed adjudication tasks marked ground truth" in pulled.stderr
    (task,) = json.loads(out.read_text(encoding="utf-8"))
    assert [a["ground_truth"] for a in task["annotations"]] == [True]
    (article,) = load_corpus("labelstudio", out, annotations="gold")
    assert article.id == "two"
    assert _spans(article) == [("Claim", 0, 4), ("Claim", 15, 19), ("Evidence", 7, 14)]
    # A second pull marks nothing new.
    later = run("studio", "pull", "-o", tmp_path / "later.json", *auth)
    assert later.exit_code == 0 and "marked ground truth" not in later.stderr
