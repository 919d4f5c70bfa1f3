"""The backend's HTTP API on a real uvicorn server with the tiny model (no Label Studio).

- /predict and /tag fuzzed from the app's own OpenAPI schema (schemathesis): no 500 for any
  generated request, and every answer matches the documented response schema;
- the protocol's shape: one result per task in order, never an empty results list, spans
  with per-region scores, the task score the mean unit score;
- concurrent /predict requests share forward passes and get their own articles back;
- 413 for an oversized body; HTTP Basic and the webhook secret; tokens never in the log.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import shutil
import threading
import time

import httpx
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

pytestmark = pytest.mark.slow

TEXT = (
    "The council must act now. Official figures show a rise in rents of 12 percent. "
    "Therefore the plan should be approved."
)


class LiveServer:
    """uvicorn serving ``create_app`` in a thread on a free loopback port."""

    def __init__(self, app) -> None:
        import uvicorn

        from argmine.studio.server import free_port

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def _serve(model_dir, tmp_path, **kwargs):
    from argmine.serve.config import BackendConfig, Secrets
    from argmine.serve.server import build

    model = tmp_path / "model"
    shutil.copytree(model_dir, model, ignore=shutil.ignore_patterns("checkpoints"))
    config = kwargs.pop("config", BackendConfig(max_request_bytes=64 * 1024))
    app = build(model, config=config, secrets=kwargs.pop("secrets", Secrets()), connection=None)
    return LiveServer(app)


@pytest.fixture(scope="module")
def live(tiny_model, tmp_path_factory):
    server = _serve(tiny_model, tmp_path_factory.mktemp("serve-api"))
    yield server
    server.stop()


@pytest.mark.parametrize("path", ["/predict", "/tag"])
def test_serve_predict_and_tag_never_answer_500(live, path):
    """Requests generated from the served OpenAPI schema (valid and invalid bodies): no 500,
    and every answer conforms to the documented responses."""
    from hypothesis import HealthCheck, given, settings

    api = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
    operation = api[path]["POST"]

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
    )
    @given(case=operation.as_strategy())
    def check(case):
        case.call_and_validate(
            base_url=live.url, checks=[not_a_server_error, response_schema_conformance]
        )

    check()


def test_serve_predict_one_result_per_task_in_order(live):
    tasks = [
        {"id": 7, "data": {"text": TEXT, "id": "a"}},
        {"id": 8, "data": {"title": "no text"}},
        {"id": 9, "data": {"text": "Short one. " + TEXT}},
    ]
    answer = httpx.post(f"{live.url}/predict", json={"tasks": tasks}, timeout=60).json()
    results = answer["results"]
    assert len(results) == 3
    assert results[1] == {"result": [], "score": None, "model_version": "model-v1"}
    for task, result in zip(tasks, results, strict=True):
        assert result["model_version"] == "model-v1"
        text = task["data"].get("text")
        spans = [r for r in result["result"] if r["type"] == "labels"]
        for span in spans:
            value = span["value"]
            assert text[value["start"] : value["end"]] == value["text"]
            assert 0.0 <= span["score"] <= 1.0
        if spans:
            mean = sum(s["score"] for s in spans) / len(spans)
            assert result["score"] == pytest.approx(mean)
    assert httpx.post(f"{live.url}/predict", json={"tasks": []}).json() == {"results": []}


def test_serve_predict_concurrent_requests_each_get_their_own_tags(live, tiny_model):
    from argmine.document import Article
    from argmine.tag import Tagger

    texts = [f"Article {i}. " + TEXT * (1 + i % 3) for i in range(12)]
    tagger = Tagger.load(tiny_model)
    expected = tagger.predict([Article(id=f"t{i}", text=t) for i, t in enumerate(texts)])

    async def run():
        async with httpx.AsyncClient(base_url=live.url, timeout=120) as client:
            calls = [
                client.post("/predict", json={"tasks": [{"id": i, "data": {"text": t}}]})
                for i, t in enumerate(texts)
            ]
            return await asyncio.gather(*calls)

    # In its own thread: a session-wide Playwright browser (the browser tests) keeps an event
    # loop running in the main thread, where asyncio.run() refuses to start.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        responses = pool.submit(asyncio.run, run()).result()
    answers = [r.json()["results"][0] for r in responses]
    for answer, want in zip(answers, expected, strict=True):
        got = [
            (r["value"]["start"], r["value"]["end"], r["value"]["labels"][0])
            for r in answer["result"]
            if r["type"] == "labels"
        ]
        assert got == [(u.start, u.end, u.label) for u in want.units]


def test_serve_tag_returns_argmine_articles(live):
    body = {"articles": [TEXT, {"id": "x", "text": TEXT, "title": "T", "units": "ignored"}]}
    answer = httpx.post(f"{live.url}/tag", json=body, timeout=60)
    assert answer.status_code == 200
    articles = answer.json()["articles"]
    assert [a["id"] for a in articles] == ["article-1", "x"]
    for article in articles:
        for unit in article["units"]:
            assert article["text"][unit["start"] : unit["end"]] == unit["text"]
    lines = httpx.post(
        f"{live.url}/tag", json=body, headers={"accept": "application/x-ndjson"}, timeout=60
    ).text.splitlines()
    from argmine.document import loads_article

    assert [loads_article(line).id for line in lines] == ["article-1", "x"]
    duplicate = httpx.post(f"{live.url}/tag", json={"articles": [{"id": "a", "text": "x"}] * 2})
    assert duplicate.status_code == 422
    assert "duplicate id 'a'" in duplicate.json()["detail"]


def test_serve_refuses_an_oversized_body_with_413(live):
    big = {"articles": ["word " * 20000]}
    answer = httpx.post(f"{live.url}/tag", json=big, timeout=60)
    assert answer.status_code == 413
    assert "over the limit of 65536 bytes" in answer.json()["detail"]

    def chunks():  # no Content-Length: counted while it is read
        for _ in range(100):
            yield b"x" * 1024

    streamed = httpx.post(f"{live.url}/predict", content=chunks(), timeout=60)
    assert streamed.status_code == 413


def test_serve_basic_auth_and_webhook_secret(tiny_model, tmp_path, caplog):
    from argmine.serve.app import SECRET_HEADER
    from argmine.serve.config import Secrets

    secrets = Secrets(user="ann", password="pw-123456", webhook_secret="hook-secret-987")
    caplog.set_level(logging.DEBUG)
    server = _serve(tiny_model, tmp_path, secrets=secrets)
    try:
        url = server.url
        assert httpx.get(f"{url}/health").status_code == 200
        tasks = {"tasks": [{"id": 1, "data": {"text": TEXT}}]}
        assert httpx.post(f"{url}/predict", json=tasks).status_code == 401
        assert httpx.post(f"{url}/predict", json=tasks, auth=("ann", "wrong")).status_code == 401
        good = httpx.post(f"{url}/predict", json=tasks, auth=("ann", "pw-123456"))
        assert good.status_code == 200
        hook = {"action": "ANNOTATION_CREATED", "annotation": {"id": 1}}
        assert httpx.post(f"{url}/webhook", json=hook).status_code == 401
        wrong = httpx.post(f"{url}/webhook", json=hook, headers={SECRET_HEADER: "nope"})
        assert wrong.status_code == 401
        right = httpx.post(f"{url}/webhook", json=hook, headers={SECRET_HEADER: "hook-secret-987"})
        assert right.json()["counted"] == 1
        setup = {"project": "3.17", "access_token": "ls-token-abcdef", "hostname": "http://x"}
        assert httpx.post(f"{url}/setup", json=setup, auth=("ann", "pw-123456")).status_code == 200
    finally:
        server.stop()
    logged = caplog.text
    for secret in ("pw-123456", "hook-secret-987", "ls-token-abcdef"):
        assert secret not in logged
    assert "model-v1" in logged  # the log was captured at all
