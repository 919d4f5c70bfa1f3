"""The annotation loop on a real Label Studio with a real `argmine serve` and the tiny model.

Connect the backend to a project; tasks get predictions of the served model_version; submitted
annotations reach the webhook, which starts retraining after ``every`` of them; a model trained
on gold that follows a surface rule (backend_data) beats the tiny model on the frozen dev set
and is promoted, and the project's model_version follows; a model trained on shuffled labels
is kept out; a SIGKILLed training worker promotes nothing and the next trigger retrains.
"""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from backend_data import rule_articles, shuffled
from backend_server import BackendProcess

pytestmark = [pytest.mark.slow, pytest.mark.studio]

PROJECT = "argmine-backend-loop"
N_TASKS = 30
N_ANNOTATED = 24
CONFIG = f"""# test backend: retrain after every {N_ANNOTATED} annotations, 60 tiny steps
retrain:
  every: {N_ANNOTATED}
  dev_tasks: 10
  overrides: ["train.max_steps=60", "train.eval_steps=20", "train.logging_steps=20"]
"""


def _result(article):
    from argmine.corpora.labelstudio import article_to_task

    return article_to_task(article)["annotations"][0]["result"]


@pytest.fixture(scope="module")
def loop(studio_server, tiny_model, tmp_path_factory):
    from argmine.serve.connect import connect_backend
    from argmine.studio.client import StudioClient
    from argmine.studio.server import ensure_project

    connection = studio_server.connection
    project_id = ensure_project(connection, title=PROJECT)
    client = StudioClient(connection)
    from argmine.corpora.labelstudio import article_to_task

    articles = rule_articles(N_TASKS)
    task_ids = client.import_tasks(
        project_id, [article_to_task(a.with_annotations([])) for a in articles]
    )
    backend = BackendProcess(
        tiny_model,
        tmp_path_factory.mktemp("backend"),
        config=CONFIG,
        env={"LABEL_STUDIO_URL": connection.url, "LABEL_STUDIO_API_KEY": connection.token},
        project=PROJECT,
    )
    try:
        report = connect_backend(connection, backend_url=backend.url, project_title=PROJECT)
        yield {
            "client": client,
            "project": project_id,
            "tasks": dict(zip(task_ids, articles, strict=True)),
            "backend": backend,
            "report": report,
        }
    finally:
        backend.stop()


def _task(client, task_id):
    return client.request("GET", f"/api/tasks/{task_id}", what="reading a task")


def _current_predictions(client, project_id, task_id):
    project = client.project_settings(project_id)
    task = _task(client, task_id)
    return project["model_version"], [
        p for p in task["predictions"] if p["model_version"] == project["model_version"]
    ]


def test_serve_connect_gives_predictions_with_the_model_version(loop):
    client, project_id, backend = loop["client"], loop["project"], loop["backend"]
    served = backend.get("/health").json()["model_version"]
    assert served == "model-v1"
    settings = client.project_settings(project_id)
    assert settings["model_version"] == served
    assert settings["show_collab_predictions"] is True
    views = client.request("GET", "/api/dm/views/", what="views", params={"project": project_id})
    assert [v["data"]["ordering"] for v in views if "Review" in v["data"]["title"]] == [
        ["tasks:predictions_score"]
    ]
    task_id = next(iter(loop["tasks"]))
    _version, predictions = _current_predictions(client, project_id, task_id)
    assert len(predictions) == 1
    result = predictions[0]["result"]
    spans = [r for r in result if r["type"] == "labels"]
    assert spans, result
    assert all(0.0 <= r["score"] <= 1.0 for r in spans)
    scores = [r["score"] for r in spans]
    assert predictions[0]["score"] == pytest.approx(sum(scores) / len(scores))


def test_serve_webhook_retrains_and_promotes_a_better_model(loop):
    client, project_id, backend = loop["client"], loop["project"], loop["backend"]
    annotated = list(loop["tasks"].items())[:N_ANNOTATED]
    loop["annotations"] = {}
    for task_id, article in annotated:
        loop["annotations"][task_id] = client.create_annotation(task_id, _result(article))
    status = backend.wait_training(runs=1)
    last = status["last"]
    assert last["status"] == "promoted", last
    assert last["new_f1"] > last["old_f1"]
    assert status["counter"] == 0
    # the backend serves v2 and Label Studio's project follows
    deadline = time.monotonic() + 60
    while backend.get("/health").json()["model_version"] != "model-v2":
        assert time.monotonic() < deadline, backend.log.read_text()[-2000:]
        time.sleep(0.5)
    while client.project_settings(project_id)["model_version"] != "model-v2":
        assert time.monotonic() < deadline
        time.sleep(0.5)
    unannotated = list(loop["tasks"])[N_ANNOTATED]
    while not _current_predictions(client, project_id, unannotated)[1]:  # fetched after promotion
        assert time.monotonic() < deadline
        time.sleep(0.5)
    version, predictions = _current_predictions(client, project_id, unannotated)
    assert version == "model-v2"
    assert len(predictions) == 1
    assert backend.get("/versions").json()["promoted"] == "model-v2"
    frozen = json.loads(
        (backend.versions / "projects" / str(project_id) / "frozen-dev.json").read_text()
    )["task_ids"]
    assert len(frozen) == 10
    assert set(frozen) <= {t for t, _ in annotated}
    trained_on = [
        json.loads(line)
        for line in (backend.versions / "data" / "v2.jsonl").read_text().splitlines()
    ]
    texts = {loop["tasks"][t].text for t in frozen}
    assert {a["meta"]["split"] for a in trained_on if a["text"] in texts} == {"test"}
    loop["frozen"] = frozen


@pytest.mark.browser
def test_serve_browser_shows_the_promoted_models_predictions(loop, ls_page, studio_server):
    """The editor (real UI, headless Chromium) shows the promoted version's spans on a task."""
    from studio_browser import open_task, regions, screenshot

    client, project_id = loop["client"], loop["project"]
    task_id = list(loop["tasks"])[N_ANNOTATED + 1]
    version, predictions = _current_predictions(client, project_id, task_id)
    assert version == "model-v2" and predictions
    wanted = sorted(
        (r["value"]["start"], r["value"]["end"], r["value"]["labels"][0])
        for r in predictions[0]["result"]
        if r["type"] == "labels"
    )
    assert wanted, "v2 predicted nothing on this task"
    open_task(ls_page, studio_server.url, project_id, task_id)
    ls_page.wait_for_selector(".htx-highlight")
    shown = sorted((r["start"], r["end"], r["label"].split(":", 1)[-1]) for r in regions(ls_page))
    screenshot(ls_page, "serve-browser-predictions.png")
    assert shown == wanted


def test_serve_start_training_keeps_a_worse_model_out(loop):
    client, project_id, backend = loop["client"], loop["project"], loop["backend"]
    frozen = set(loop["frozen"])
    for task_id, annotation_id in loop["annotations"].items():
        if task_id in frozen:
            continue
        bad = shuffled(loop["tasks"][task_id])
        client.request(
            "PATCH",
            f"/api/annotations/{annotation_id}/",
            what="updating an annotation",
            json={"result": _result(bad)},
        )
    assert 0 < backend.get("/training").json()["counter"] < N_ANNOTATED
    ml = client.ml_backends(project_id)[0]
    client.request("POST", f"/api/ml/{ml['id']}/train", what="Start Training", json={})
    status = backend.wait_training(runs=2)
    last = status["last"]
    assert last["status"] == "kept", last
    assert last["version"] == "v3"
    assert last["new_f1"] < last["old_f1"]
    assert backend.get("/health").json()["model_version"] == "model-v2"
    assert client.project_settings(project_id)["model_version"] == "model-v2"
    versions = backend.get("/versions").json()
    assert versions == {"versions": ["model-v1", "model-v2", "model-v3"], "promoted": "model-v2"}


def test_serve_sigkill_of_the_training_worker_promotes_nothing(loop):
    backend = loop["backend"]
    text = loop["tasks"][next(iter(loop["tasks"]))].text
    task = {"tasks": [{"id": 1, "data": {"text": text}}]}
    start = backend.post("/webhook", json={"action": "START_TRAINING", "project": {}})
    assert start.json()["retrain"] == "started"
    deadline = time.monotonic() + 120
    while not (backend.versions / "data" / "v4.jsonl").exists():  # v4 is being trained
        assert time.monotonic() < deadline, backend.log.read_text()[-2000:]
        time.sleep(0.2)
    pid = backend.get("/training").json()["pid"]
    os.kill(pid, signal.SIGKILL)
    status = backend.wait_training(runs=3)
    assert status["last"]["status"] == "failed"
    assert "signal 9" in status["last"]["reason"]
    answer = backend.post("/predict", json=task).json()
    assert answer["results"][0]["model_version"] == "model-v2"
    assert not (backend.versions / "v4").exists()
    assert (backend.versions / "PROMOTED").read_text().strip() == "v2"
    # the next trigger retrains (and removes the killed run's leftovers)
    assert backend.post("/train", json={}).json()["retrain"] == "started"
    status = backend.wait_training(runs=4)
    assert status["last"]["status"] in ("promoted", "kept"), status["last"]
    assert status["last"]["version"] == "v4"
    assert not list(backend.versions.glob(".tmp-*"))
