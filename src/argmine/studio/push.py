"""Push articles to Label Studio as tasks with pre-annotations (predictions).

Data flow::

    articles --(rules: argmine.prelabel | given predictions JSONL)--> predicted Articles
        --skip article ids already in the project (data.id)-->
        --order (input | uncertainty: least confident first)-->
        --article_to_task--> tasks with predictions --import in batches--> Label Studio

Idempotent: an article whose id is already a task's ``data.id`` is skipped, so pushing the
same articles twice creates no duplicate tasks. Label Studio shows tasks in import order; each
task also carries ``data.uncertainty`` (1 - mean unit score) so the data manager can sort by it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from argmine.corpora.labelstudio import article_to_task, prediction_score
from argmine.document import Article, LabelSchema
from argmine.errors import InputError
from argmine.studio.client import Connection, StudioClient
from argmine.studio.server import PROJECT_TITLE

__all__ = ["ORDERS", "PushReport", "pair_predictions", "push_articles", "uncertainty"]

logger = logging.getLogger(__name__)

ORDERS = ("input", "uncertainty")


@dataclass
class PushReport:
    """What a push did."""

    url: str
    project_id: int
    created: list[tuple[str, int]] = field(default_factory=list)  # (article id, task id)
    skipped: list[str] = field(default_factory=list)  # article ids already in the project
    model_version: str = ""

    def lines(self) -> list[str]:
        out = [
            f"pushed {len(self.created)} tasks to {self.url}/projects/{self.project_id} "
            f"(predictions: {self.model_version or 'none'})"
        ]
        if self.skipped:
            out.append(
                f"skipped {len(self.skipped)} articles already in the project: "
                + ", ".join(self.skipped[:20])
                + (" ..." if len(self.skipped) > 20 else "")
            )
        return out


def uncertainty(prediction: Article) -> float:
    """1 - mean unit score (1.0 when nothing was predicted or nothing has a score)."""
    score = prediction_score(prediction)
    return 1.0 if score is None else 1.0 - score


def pair_predictions(
    articles: Sequence[Article], predictions: Sequence[Article], *, source: str = "predictions"
) -> list[tuple[Article, Article | None]]:
    """Each article with its prediction (same id and text); articles default to the predictions.

    Raises :class:`InputError` for a prediction whose text differs from its article's.
    """
    by_id = {p.id: p for p in predictions}
    if not articles:
        return [(p.with_annotations([]), p) for p in predictions]
    pairs: list[tuple[Article, Article | None]] = []
    for article in articles:
        pred = by_id.get(article.id)
        if pred is None:
            logger.warning(
                "article %s has no predictions in %s; pushed without", article.id, source
            )
        elif pred.text != article.text:
            raise InputError(source, f"article {article.id}: text differs from the article's text")
        pairs.append((article, pred))
    return pairs


def push_articles(
    articles: Sequence[Article],
    *,
    connection: Connection,
    predictions: Sequence[Article] | None = None,
    model_version: str | None = None,
    order: str = "input",
    project_title: str = PROJECT_TITLE,
    schema: LabelSchema | None = None,
    label_config: str | None = None,
    batch_size: int = 50,
    keep_units: bool = False,
) -> PushReport:
    """Import ``articles`` into the project as tasks pre-annotated by rules or ``predictions``.

    Without ``predictions`` each article is pre-labelled with :func:`argmine.prelabel.prelabel`
    (``model_version`` "rules"). The articles' own units are dropped unless ``keep_units``
    (then they become a completed annotation, e.g. for gold data).
    """
    if order not in ORDERS:
        raise ValueError(f"order must be one of {', '.join(ORDERS)}, got {order!r}")
    if schema is None:
        from argmine.config import load_label_schema

        schema = load_label_schema()
    if predictions is None:
        from argmine.prelabel import prelabel_articles

        pairs = list(zip(articles, prelabel_articles(articles, schema=schema), strict=True))
        version = model_version or "rules"
    else:
        pairs = pair_predictions(articles, predictions)
        models = sorted({str(p.meta.get("model")) for _, p in pairs if p and p.meta.get("model")})
        version = model_version or (", ".join(models) if models else "predictions")
    for _, pred in pairs:
        if pred is not None:
            problems = pred.problems(schema)
            if problems:
                raise InputError(f"predictions for {pred.id}", problems[0])
    if label_config is None:
        from argmine.studio.labelconfig import label_config as make_config

        label_config = make_config(schema)
    client = StudioClient(connection)
    project_id, _ = client.ensure_project(project_title, label_config)
    report = PushReport(url=connection.url, project_id=project_id, model_version=version)
    existing = client.data_ids(project_id)
    todo: list[tuple[Article, Article | None]] = []
    seen: set[str] = set()
    for article, pred in pairs:
        if article.id in existing or article.id in seen:
            report.skipped.append(article.id)
            continue
        seen.add(article.id)
        todo.append((article, pred))
    if order == "uncertainty":
        todo.sort(key=lambda pair: -uncertainty(pair[1]) if pair[1] is not None else -1.0)
    tasks = []
    for article, pred in todo:
        base = article if keep_units else article.with_annotations([])
        task = article_to_task(base, predictions=pred, model_version=version)
        if pred is not None:
            task["data"]["uncertainty"] = round(uncertainty(pred), 4)
        tasks.append(task)
    task_ids = client.import_tasks(project_id, tasks, batch_size=batch_size)
    report.created = [(a.id, t) for (a, _), t in zip(todo, task_ids, strict=True)]
    backends = client.ml_backends(project_id) if predictions is None and task_ids else []
    if backends:
        # A connected model backend (argmine studio connect): its predictions, of the
        # project's model_version, are the ones the editor shows.
        client.retrieve_predictions(project_id, task_ids=task_ids)
        served = str(backends[0].get("model_version") or "")
        if served and not client.project_settings(project_id).get("model_version"):
            client.set_model_version(project_id, served)
        report.model_version = f"{version}; the editor shows the model's ({served or 'backend'})"
    return report
