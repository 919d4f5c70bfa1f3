"""The HTTP app: Label Studio's ML backend protocol, ``/tag`` for analysts, retraining.

Label Studio 1.23.2 (``label_studio/ml/api_connector.py``, ``ml/models.py``) calls:

- ``GET /health`` (1 s timeout) and ``POST /setup`` ``{project: "<id>.<created>", schema,
  hostname, access_token, extra_params}`` -> ``{"model_version"}``; both when the backend is
  added and before every prediction run;
- ``POST /predict`` ``{tasks, project, label_config, params}`` -> ``{"results": [{"result",
  "score", "model_version"}]}``, one entry per task, in order (a different count makes Label
  Studio drop the batch);
- ``POST /webhook`` (the project webhook Label Studio adds for the backend, 1 s timeout, inside
  the annotator's request): ANNOTATION_CREATED / ANNOTATION_UPDATED / ANNOTATIONS_DELETED and,
  from "Start Training", START_TRAINING (legacy servers ``POST /train``);
- ``GET /versions`` -> ``{"versions": [...]}``.

Predictions are built by the same task builder ``argmine studio push`` uses
(:func:`argmine.corpora.labelstudio.article_to_task`): spans and relations with their scores, the
task score = mean unit score, and the served ``model_version``.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import secrets as _secrets
import threading
import time
import xml.etree.ElementTree as ET
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import BaseModel, ConfigDict, Field

from argmine.document import Article, dumps_article
from argmine.serve.batching import Batcher, Served
from argmine.serve.config import BackendConfig, Secrets
from argmine.serve.jobs import Retrainer
from argmine.serve.versions import VersionStore

__all__ = ["Backend", "create_app"]

log = logging.getLogger("argmine.serve")

SECRET_HEADER = "X-Argmine-Webhook-Secret"
_BASIC = HTTPBasic(auto_error=False)
COUNTED = ("ANNOTATION_CREATED", "ANNOTATION_UPDATED")


# --- request and response schemas (OpenAPI) --------------------------------------------------
class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class LSTask(_Open):
    id: int | None = Field(None, description="Label Studio task id")
    data: dict[str, Any] = Field(description="task data; the article text is data.text")


class PredictRequest(_Open):
    tasks: list[LSTask]
    project: str | None = Field(None, description="'<project id>.<created timestamp>'")
    label_config: str | None = None
    params: dict[str, Any] | None = None


class LSPrediction(BaseModel):
    result: list[dict[str, Any]] = Field(description="labels (spans) and relation results")
    score: float | None = Field(None, description="mean unit confidence of the task")
    model_version: str


class PredictResponse(BaseModel):
    results: list[LSPrediction]


class SetupRequest(_Open):
    project: str | None = None
    schema_: str | None = Field(None, alias="schema", description="the project's label config")
    hostname: str | None = None
    access_token: str | None = Field(None, repr=False)
    extra_params: Any = None


class SetupResponse(BaseModel):
    model_version: str


class WebhookRequest(_Open):
    action: str = Field(description="ANNOTATION_CREATED, ANNOTATION_UPDATED, START_TRAINING, ...")


class WebhookResponse(BaseModel):
    status: Literal["ok"] = "ok"
    action: str
    counted: int = 0
    retrain: str | None = Field(None, description="started, queued, or why not")


class VersionsResponse(BaseModel):
    versions: list[str]
    promoted: str | None = None


class ArticleIn(_Open):
    """An article to tag: argmine JSONL fields (units and relations in it are ignored)."""

    id: str | None = Field(None, min_length=1, description="default: article-<n>")
    title: str = ""
    text: str = Field(min_length=1)
    meta: dict[str, Any] = Field(default_factory=dict)


class TagRequest(BaseModel):
    articles: list[Annotated[str, Field(min_length=1)] | ArticleIn] = Field(
        max_length=1000, description="plain texts or argmine article objects"
    )


class UnitOut(BaseModel):
    id: str
    start: int = Field(description="character offset (Python str index), inclusive")
    end: int = Field(description="character offset, exclusive")
    label: str
    score: float | None
    text: str


class RelationOut(BaseModel):
    id: str
    head: str
    tail: str
    label: str
    score: float | None


class ArticleOut(BaseModel):
    id: str
    title: str
    text: str
    meta: dict[str, Any]
    units: list[UnitOut]
    relations: list[RelationOut]


class TagResponse(BaseModel):
    model_version: str
    articles: list[ArticleOut]


class Problem(BaseModel):
    detail: str


# --- the backend -----------------------------------------------------------------------------
class Backend:
    """Everything the app serves: versions, the batching tagger, retraining, Label Studio."""

    def __init__(
        self,
        *,
        store: VersionStore,
        config: BackendConfig,
        secrets: Secrets,
        connection: Any = None,
        project_id: int | None = None,
        schema_path: str = "configs/labels.yaml",
    ) -> None:
        self.store = store
        self.config = config
        self.secrets = secrets
        self.connection = connection
        self.project_id = project_id
        self.schema_path = schema_path
        self._setup_connection: Any = None  # from /setup (hostname + access token), in memory
        self.batcher: Batcher | None = None
        self.retrainer = Retrainer(
            store=store, config=config.retrain, target=self._target, schema_path=schema_path
        )
        self._pointer: str | None = None
        self._stop = threading.Event()
        self._monitor: threading.Thread | None = None
        self.started = time.time()

    @classmethod
    def open(cls, model: str | Path, **kwargs: Any) -> Backend:
        """The backend for ``model`` (a model dir or its ``-versions`` dir); a model dir with no
        versions yet is imported as v1 and promoted."""
        from argmine.modeling import check_model
        from argmine.serve.versions import versions_root

        path = Path(model)
        store = VersionStore(versions_root(path))
        if store.promoted() is None:
            if store.root == path:
                from argmine.errors import ModelError

                raise ModelError(f"{path}: no promoted version")
            check_model(path)  # a model that will not load is never registered
            name = store.import_model(path)
            log.info("imported %s as %s", path, store.model_version(name))
        else:
            check_model(store.promoted_path())  # fail here, not in the app's startup
            if store.root != path:
                log.info(
                    "serving %s from %s (%s itself is not re-imported)",
                    store.promoted(),
                    store.root,
                    path,
                )
        return cls(store=store, **kwargs)

    # -- lifecycle ----------------------------------------------------------------------------
    def _load(self, name: str) -> Served:
        from argmine.tag import Tagger

        tagger = Tagger.load(self.store.path(name), threads=self.config.threads)
        return Served(
            tagger=tagger,
            version=name,
            model_version=self.store.model_version(name),
            path=str(self.store.path(name)),
        )

    def start(self) -> None:
        name = self.store.promoted()
        if name is None:
            raise RuntimeError("no promoted version")
        served = self._load(name)
        self._pointer = name
        from argmine.tag import tag_batch  # the one per-batch tagging function

        window = self.config.batch_window
        self.batcher = Batcher(
            served,
            lambda tagger, articles: tag_batch(tagger, articles, batch_size=window),
            max_articles=self.config.max_batch_articles,
        )
        self.batcher.start()
        self._monitor = threading.Thread(target=self._watch, name="argmine-monitor", daemon=True)
        self._monitor.start()
        log.info("serving %s (%s)", served.model_version, served.path)

    def shutdown(self) -> None:
        self._stop.set()
        self.retrainer.stop()
        if self.batcher is not None:
            self.batcher.stop()

    @property
    def served(self) -> Served:
        assert self.batcher is not None, "backend not started"
        return self.batcher.served

    def _watch(self) -> None:
        """Reap training workers; serve whatever the pointer names (a retrain's promotion or
        ``argmine models promote``) and tell Label Studio."""
        while not self._stop.wait(self.config.poll_seconds):
            try:
                self.retrainer.poll()
                self._follow_pointer()
            except Exception:  # the monitor must keep running
                log.exception("backend monitor")

    def _follow_pointer(self) -> None:
        name = self.store.promoted()
        if name is None or name == self._pointer or self.batcher is None:
            return
        self._pointer = name
        served = self._load(name)
        self.batcher.swap(served)
        log.info("now serving %s", served.model_version)
        self.sync_studio()

    def sync_studio(self) -> None:
        """Set the project's model_version to the served one and ask Label Studio to fetch
        predictions for the tasks that lack this version's."""
        connection, project_id = self._target()
        if connection is None or project_id is None:
            return
        from argmine.errors import StudioError
        from argmine.studio.client import StudioClient

        model_version = self.served.model_version
        try:
            client = StudioClient(connection)
            if client.retrieve_predictions(project_id):  # LS wants predictions of it first
                client.set_model_version(project_id, model_version)
        except StudioError as exc:
            log.warning("could not update Label Studio to %s: %s", model_version, exc)

    def _target(self) -> tuple[Any, int | None]:
        return self.connection or self._setup_connection, self.project_id

    # -- protocol -----------------------------------------------------------------------------
    def setup(self, body: SetupRequest) -> SetupResponse:
        project = _project_id(body.project)
        if project is not None and self.project_id is None:
            self.project_id = project
        if self.connection is None and body.hostname and body.access_token:
            from argmine.studio.client import Connection

            with contextlib.suppress(ValueError):
                self._setup_connection = Connection(
                    url=body.hostname.rstrip("/"), token=body.access_token
                )
        return SetupResponse(model_version=self.served.model_version)

    def webhook(self, body: WebhookRequest) -> WebhookResponse:
        extra = body.model_extra or {}
        project = extra.get("project")
        if isinstance(project, dict) and self.project_id is None:
            project_id = project.get("id")
            if isinstance(project_id, int) and not isinstance(project_id, bool):
                self.project_id = project_id
        if body.action in COUNTED:
            annotation = extra.get("annotation")
            cancelled = isinstance(annotation, dict) and bool(annotation.get("was_cancelled"))
            if cancelled:
                return WebhookResponse(action=body.action)
            return WebhookResponse(
                action=body.action, counted=1, retrain=self.retrainer.note_annotations(1)
            )
        if body.action == "START_TRAINING":
            return WebhookResponse(
                action=body.action, retrain=self.retrainer.request("Start Training")
            )
        return WebhookResponse(action=body.action)


def _project_id(value: str | None) -> int | None:
    if not value:
        return None
    head = str(value).split(".", 1)[0]
    return int(head) if head.isdigit() else None


@lru_cache(maxsize=32)
def _text_key(label_config: str | None) -> str:
    """The task data key the label config's ``Text`` object reads (``$text`` -> ``text``)."""
    if not label_config:
        return "text"
    try:
        root = ET.fromstring(label_config)
    except ET.ParseError:
        return "text"
    for node in root.iter("Text"):
        value = node.get("value", "")
        if value.startswith("$") and len(value) > 1:
            return value[1:]
    return "text"


def _tokenizable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: JSON can carry them, tokenizers cannot
        return False
    return bool(text.strip())


def _encodable(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, TypeError, ValueError):
        return False
    return True


def _task_article(task: LSTask, index: int, key: str) -> Article | None:
    text = task.data.get(key)
    if not isinstance(text, str) or not _tokenizable(text):
        return None
    raw_id = task.data.get("id")
    if isinstance(raw_id, (str, int)) and not isinstance(raw_id, bool) and str(raw_id):
        ident = str(raw_id)
    else:
        ident = f"task-{task.id if task.id is not None else index + 1}"
    title = task.data.get("title")
    return Article(id=ident, text=text, title=title if isinstance(title, str) else "")


def _prediction(article: Article, tagged: Article, model_version: str) -> LSPrediction:
    from argmine.corpora.labelstudio import article_to_task

    task = article_to_task(article, predictions=tagged, model_version=model_version)
    prediction = task["predictions"][0]
    return LSPrediction(
        result=prediction["result"],
        score=prediction.get("score"),
        model_version=model_version,
    )


# --- request size limit ----------------------------------------------------------------------
class BodyLimit:
    """ASGI middleware: a body over ``limit`` bytes gets 413 before it is read in full."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await self._refuse(send, int(length))
            return
        # Read the body here (counting; a chunked body has no Content-Length) and hand the app
        # one message, so an oversized body never reaches a handler.
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.limit:
                await self._refuse(send, seen)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Any, size: int) -> None:
        body = json.dumps(
            {
                "detail": f"request body of {size} bytes or more is over the limit of "
                f"{self.limit} bytes (max_request_bytes in the backend config)"
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


# --- the app ---------------------------------------------------------------------------------
def create_app(backend: Backend, *, start: bool = True) -> FastAPI:
    """The FastAPI app over ``backend`` (started on app startup, stopped on shutdown)."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):  # type: ignore[no-untyped-def]
        owner = start and backend.batcher is None
        if owner:
            backend.start()
        yield
        if owner:  # a backend started by the caller is stopped by the caller
            backend.shutdown()

    app = FastAPI(
        title="argmine backend",
        description="Label Studio ML backend (spans and relations with scores, retraining "
        "with promote-only-if-better) and a tagging API for analysts.",
        version="1",
        lifespan=lifespan,
    )
    creds = backend.secrets.basic

    def check_basic(credentials: HTTPBasicCredentials | None) -> bool:
        if creds is None:
            return True
        if credentials is None:
            return False
        user_ok = hmac.compare_digest(credentials.username.encode(), creds[0].encode())
        pass_ok = hmac.compare_digest(credentials.password.encode(), creds[1].encode())
        return user_ok and pass_ok

    def require_auth(
        credentials: Annotated[HTTPBasicCredentials | None, Depends(_BASIC)],
    ) -> None:
        if not check_basic(credentials):
            raise HTTPException(
                401, "HTTP Basic credentials required", {"WWW-Authenticate": "Basic"}
            )

    def require_webhook_auth(
        request: Request,
        credentials: Annotated[HTTPBasicCredentials | None, Depends(_BASIC)],
    ) -> None:
        secret = backend.secrets.webhook_secret
        given = request.headers.get(SECRET_HEADER)
        if secret is not None and given is not None:
            if _secrets.compare_digest(given.encode(), secret.encode()):
                return
            raise HTTPException(401, f"wrong {SECRET_HEADER}")
        if secret is None and creds is None:
            return
        if creds is not None and credentials is not None and check_basic(credentials):
            return
        raise HTTPException(401, f"{SECRET_HEADER} or HTTP Basic credentials required")

    auth = [Depends(require_auth)]
    errors = {401: {"model": Problem}, 413: {"model": Problem}, 422: {"model": Problem}}

    @app.get("/health", summary="Liveness and the served model_version")
    def health() -> dict[str, Any]:
        return {
            "status": "UP",
            "model_class": "argmine",
            "model_version": backend.served.model_version,
        }

    @app.post("/setup", response_model=SetupResponse, dependencies=auth, responses=errors)
    def setup(body: SetupRequest) -> SetupResponse:
        """Label Studio connects (project, label config, access token): the model_version."""
        return backend.setup(body)

    @app.post("/predict", response_model=PredictResponse, dependencies=auth, responses=errors)
    async def predict(body: PredictRequest) -> PredictResponse:
        """One prediction per task, in order: spans and relations with scores."""
        key = _text_key(body.label_config)
        articles = [_task_article(task, i, key) for i, task in enumerate(body.tasks)]
        todo = [a for a in articles if a is not None]
        tagged, served = await backend.batcher.tag(todo)  # type: ignore[union-attr]
        by_position = iter(tagged)
        results = []
        for task, article in zip(body.tasks, articles, strict=True):
            if article is None:
                log.warning("task %s: no text in data (nothing predicted)", task.id)
                results.append(
                    LSPrediction(result=[], score=None, model_version=served.model_version)
                )
            else:
                results.append(_prediction(article, next(by_position), served.model_version))
        return PredictResponse(results=results)

    @app.post(
        "/webhook",
        response_model=WebhookResponse,
        dependencies=[Depends(require_webhook_auth)],
        responses=errors,
    )
    def webhook(body: WebhookRequest) -> WebhookResponse:
        """Label Studio's project webhook: counts annotations, starts retraining (replies at
        once; training runs in a separate process)."""
        return backend.webhook(body)

    @app.post("/train", response_model=WebhookResponse, dependencies=auth, responses=errors)
    def train(_body: dict[str, Any] | None = None) -> WebhookResponse:
        """Start Training from Label Studio servers that post to /train (annotations in the
        body are not used: the worker pulls every submitted annotation itself)."""
        return WebhookResponse(
            action="START_TRAINING", retrain=backend.retrainer.request("Start Training (/train)")
        )

    @app.get("/versions", response_model=VersionsResponse, dependencies=auth, responses=errors)
    def versions() -> VersionsResponse:
        store = backend.store
        promoted = store.promoted()
        return VersionsResponse(
            versions=[v.model_version for v in store.versions()],
            promoted=store.model_version(promoted) if promoted else None,
        )

    @app.get("/training", dependencies=auth, responses=errors, summary="Retraining status")
    def training() -> dict[str, Any]:
        status = backend.retrainer.status()
        status["serving"] = backend.served.model_version
        status["project"] = backend.project_id
        return status

    @app.post(
        "/tag",
        response_model=TagResponse,
        dependencies=auth,
        responses={
            **errors,
            200: {
                "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
                "description": "JSON, or argmine JSONL with Accept: application/x-ndjson",
            },
        },
    )
    async def tag(body: TagRequest, request: Request) -> Any:
        """Tag articles (plain texts or argmine objects): argmine articles with units."""
        articles: list[Article] = []
        seen: set[str] = set()
        for index, item in enumerate(body.articles):
            data = ArticleIn(text=item) if isinstance(item, str) else item
            ident = data.id or f"article-{index + 1}"
            if ident in seen:
                raise HTTPException(422, f"articles[{index}]: duplicate id {ident!r}")
            if not _tokenizable(data.text):
                raise HTTPException(422, f"articles[{index}]: text is blank or not valid Unicode")
            if not _encodable(data.title) or not _encodable(data.meta):
                raise HTTPException(422, f"articles[{index}]: title or meta is not valid Unicode")
            seen.add(ident)
            articles.append(
                Article(id=ident, text=data.text, title=data.title, meta=dict(data.meta))
            )
        tagged, served = await backend.batcher.tag(articles)  # type: ignore[union-attr]
        if "application/x-ndjson" in request.headers.get("accept", ""):
            lines = "".join(dumps_article(a) + "\n" for a in tagged)
            return Response(lines, media_type="application/x-ndjson")
        return JSONResponse(
            {"model_version": served.model_version, "articles": [a.to_dict() for a in tagged]}
        )

    app.add_middleware(BodyLimit, limit=backend.config.max_request_bytes)
    return app
