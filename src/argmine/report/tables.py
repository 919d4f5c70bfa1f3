"""Line and table outputs: argmine JSONL, the unit CSV, the relation CSV, Label Studio tasks."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable

from argmine.document import Article, dumps_article

__all__ = [
    "CSV_COLUMNS",
    "RELATION_CSV_COLUMNS",
    "render_csv",
    "render_jsonl",
    "render_labelstudio",
    "render_relations_csv",
]

CSV_COLUMNS = ("article_id", "label", "start", "end", "score", "text")
RELATION_CSV_COLUMNS = ("article_id", "id", "head", "tail", "label", "score")


def _score(score: float | None) -> str:
    return "" if score is None else f"{score:.4f}"


def render_jsonl(articles: Iterable[Article]) -> str:
    return "".join(dumps_article(a) + "\n" for a in articles)


def render_csv(articles: Iterable[Article]) -> str:
    """One row per unit: article id, label, start, end, score (empty if none), unit text."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for article in articles:
        for unit in article.sorted_units():
            writer.writerow(
                [
                    article.id,
                    unit.label,
                    unit.start,
                    unit.end,
                    _score(unit.score),
                    article.unit_text(unit),
                ]
            )
    return buffer.getvalue()


def render_relations_csv(articles: Iterable[Article]) -> str:
    """One row per relation: article id, relation id, head and tail unit ids, label, score
    (empty if none), in the article's relation order. Only the header when there are none."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(RELATION_CSV_COLUMNS)
    for article in articles:
        for rel in article.relations:
            writer.writerow([article.id, rel.id, rel.head, rel.tail, rel.label, _score(rel.score)])
    return buffer.getvalue()


def render_labelstudio(articles: Iterable[Article], *, model_version: str = "") -> str:
    """A JSON list of Label Studio tasks, each with the article's units as a prediction."""
    from argmine.corpora.labelstudio import article_to_task

    tasks = [
        article_to_task(a.with_annotations([]), predictions=a, model_version=model_version)
        for a in articles
    ]
    return json.dumps(tasks, ensure_ascii=False, indent=1) + "\n"
