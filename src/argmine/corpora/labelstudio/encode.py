"""Articles -> Label Studio JSON: tasks with predictions (for import or push) and exports.

Data flow::

    Article (+ predicted Article)
        --article_to_task-->    {"data": {"id", "title", "text", "source", "meta"},
                                 "annotations": [{"result": [...]}],      # the article's units
                                 "predictions": [{"model_version", "score", "result": [...]}]}
    list[Article] (e.g. read from an export)
        --articles_to_export--> a Label Studio JSON export, annotators grouped back into tasks

Pure JSON: no SDK import. Result shapes and offsets: :mod:`argmine.corpora.labelstudio.spec`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from argmine.corpora.labelstudio.spec import FROM_NAME, TO_NAME, to_ls_offset
from argmine.document import Article

__all__ = ["article_to_task", "articles_to_export", "prediction_score", "task_data"]


def task_data(article: Article) -> dict[str, Any]:
    """The task ``data`` for an article (``meta`` without argmine's own ``studio`` block)."""
    meta = {k: v for k, v in article.meta.items() if k != "studio"}
    source = meta.get("source", "")
    return {
        "id": article.id,
        "title": article.title,
        "text": article.text,
        "source": source if isinstance(source, str) else str(source),
        "meta": meta,
    }


def _results(article: Article, *, with_scores: bool) -> list[dict[str, Any]]:
    text = article.text
    results: list[dict[str, Any]] = []
    for unit in article.units:
        result: dict[str, Any] = {
            "id": unit.id,
            "from_name": FROM_NAME,
            "to_name": TO_NAME,
            "type": "labels",
            "value": {
                "start": to_ls_offset(text, unit.start),
                "end": to_ls_offset(text, unit.end),
                "text": text[unit.start : unit.end],
                "labels": [unit.label],
            },
        }
        if with_scores and unit.score is not None:
            result["score"] = unit.score
        results.append(result)
    for rel in article.relations:
        result = {
            "id": rel.id,
            "from_id": rel.head,
            "to_id": rel.tail,
            "type": "relation",
            "direction": "right",
            "labels": [rel.label],
        }
        if with_scores and rel.score is not None:
            result["score"] = rel.score
        results.append(result)
    return results


def prediction_score(article: Article) -> float | None:
    """Mean unit score of a predicted article (``None`` if no unit has a score)."""
    scores = [u.score for u in article.units if u.score is not None]
    return sum(scores) / len(scores) if scores else None


def article_to_task(
    article: Article, *, predictions: Article | None = None, model_version: str = ""
) -> dict[str, Any]:
    """A Label Studio task for ``article``.

    The article's own units and relations (if any) become one annotation; ``predictions`` (an
    Article with the same id and text, e.g. from ``argmine.prelabel`` or ``argmine tag``)
    becomes one prediction with per-region scores, the mean unit score and ``model_version``.
    """
    task: dict[str, Any] = {"data": task_data(article)}
    if article.units or article.relations:
        task["annotations"] = [{"result": _results(article, with_scores=False)}]
    if predictions is not None:
        if predictions.text != article.text:
            raise ValueError(
                f"article {article.id}: the predictions' text differs from the article's text"
            )
        if predictions.id != article.id:
            raise ValueError(
                f"article {article.id}: predictions are for article {predictions.id!r}"
            )
        prediction: dict[str, Any] = {
            "model_version": model_version,
            "result": _results(predictions, with_scores=True),
        }
        score = prediction_score(predictions)
        if score is not None:
            prediction["score"] = score
        task["predictions"] = [prediction]
    return task


def articles_to_export(articles: Sequence[Article]) -> list[dict[str, Any]]:
    """A Label Studio JSON export: each article's units and relations as one completed annotation.

    Articles read from an export (their ``meta["studio"]`` names the task) are grouped back into
    their task, keeping task id, annotation id, annotator and times.
    """
    tasks: dict[str, dict[str, Any]] = {}
    used_task_ids: set[Any] = set()
    next_annotation = 1
    for article in articles:
        studio = article.meta.get("studio") if isinstance(article.meta.get("studio"), dict) else {}
        data_id = str(studio.get("data_id") or article.id)
        task = tasks.get(data_id)
        if task is None:
            data = task_data(article)
            data["id"] = data_id
            task_id = studio.get("task_id")
            if (
                not isinstance(task_id, int)
                or isinstance(task_id, bool)
                or task_id in used_task_ids
            ):
                task_id = len(tasks) + 1
                while task_id in used_task_ids:
                    task_id += 1
            used_task_ids.add(task_id)
            task = {"id": task_id, "data": data, "annotations": [], "predictions": []}
            tasks[data_id] = task
        elif task["data"]["text"] != article.text:
            raise ValueError(f"article {article.id}: text differs from task {data_id!r}'s text")
        annotation_id = studio.get("annotation_id")
        if not isinstance(annotation_id, int) or isinstance(annotation_id, bool):
            annotation_id = next_annotation
        next_annotation = max(next_annotation, annotation_id) + 1
        task["annotations"].append(
            {
                "id": annotation_id,
                "completed_by": studio.get("completed_by"),
                "result": _results(article, with_scores=True),
                "was_cancelled": False,
                "ground_truth": bool(studio.get("ground_truth", False)),
                "lead_time": studio.get("lead_time"),
                "created_at": studio.get("created_at"),
                "updated_at": studio.get("updated_at"),
                "task": task["id"],
            }
        )
    return list(tasks.values())
