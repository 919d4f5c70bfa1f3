"""Articles <-> Label Studio JSON (tasks, predictions, exports). Pure JSON: no SDK import.

Data flow::

    Article (+ predicted Article)
        --article_to_task-->    {"data": {"id", "title", "text", "source", "meta"},
                                 "annotations": [{"result": [...]}],      # the article's units
                                 "predictions": [{"model_version", "score", "result": [...]}]}
    Label Studio export (a list of tasks, each with its annotations)
        --export_to_articles--> one Article per (not cancelled) annotation, checked and repaired

A span is a ``labels`` result (``from_name`` "label", ``to_name`` "text", ``value`` = ``start``,
``end``, ``text``, ``labels: [name]``; the result ``id`` is the unit id); a relation is a
``relation`` result (``from_id`` = head, ``to_id`` = tail, ``direction`` "right",
``labels: [name]``; argmine also writes the relation ``id``).

Offsets: argmine offsets are Python ``str`` indices (code points). Label Studio's ``start`` and
``end`` are converted at this edge only, by :func:`to_ls_offset` / :func:`from_ls_offset`.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from argmine.document import ArgRelation, ArgUnit, Article, LabelSchema
from argmine.errors import InputError

__all__ = [
    "FROM_NAME",
    "TO_NAME",
    "ImportIssue",
    "ImportReport",
    "article_to_task",
    "articles_to_export",
    "export_to_articles",
    "from_ls_offset",
    "load_export",
    "ls_text_matches",
    "task_data",
    "to_ls_offset",
    "to_ls_text",
]

logger = logging.getLogger(__name__)

FROM_NAME = "label"
TO_NAME = "text"
#: How far (in characters, each side) a span's text is searched for when it disagrees with
#: its offsets.
REPAIR_WINDOW = 64

# --- offsets ---------------------------------------------------------------------------------
# Measured with the real UI (Label Studio 1.23.2, headless Chromium; docs/studio-offsets.md):
# a span selected with the mouse is saved with ``start``/``end`` in Unicode code points, the
# same unit as Python str indices (an emoji counts 1, a ZWJ family emoji 5, "e" + combining
# acute 2, CRLF 2), and predictions given in code points are highlighted on the right
# characters (UTF-16 offsets are shifted by one per earlier emoji). So "codepoint" is the
# identity; "utf16" is kept for servers that count JavaScript UTF-16 units.
LS_OFFSET_UNIT = "codepoint"
_UNITS = ("codepoint", "utf16")


def _bmp_only(text: str) -> bool:
    return text.isascii() or max(text) <= "\uffff"


def _unit(unit: str | None) -> str:
    unit = LS_OFFSET_UNIT if unit is None else unit
    if unit not in _UNITS:
        raise ValueError(f"offset unit must be one of {', '.join(_UNITS)}, got {unit!r}")
    return unit


def to_ls_offset(text: str, offset: int, *, unit: str | None = None) -> int:
    """A Python str index into ``text`` as a Label Studio offset.

    ``unit`` defaults to :data:`LS_OFFSET_UNIT`. Raises ``ValueError`` for an offset outside
    ``0..len(text)``.
    """
    unit = _unit(unit)
    if not 0 <= offset <= len(text):
        raise ValueError(f"offset {offset} is outside the text (length {len(text)})")
    if unit == "codepoint" or _bmp_only(text[:offset]):
        return offset
    return len(text[:offset].encode("utf-16-le")) // 2


def from_ls_offset(text: str, offset: int, *, unit: str | None = None) -> int:
    """A Label Studio offset into ``text`` as a Python str index.

    An offset beyond the end is returned beyond the end (the caller reports it). Raises
    ``ValueError`` if a UTF-16 offset falls inside a character (between two UTF-16 units).
    """
    unit = _unit(unit)
    if unit == "codepoint" or _bmp_only(text):
        return offset
    units = 0
    for index, char in enumerate(text):
        if units == offset:
            return index
        units += 2 if char > "\uffff" else 1
        if units > offset:
            raise ValueError(f"offset {offset} falls inside the character at {index}")
    if units == offset:
        return len(text)
    return len(text) + (offset - units)  # beyond the end: reported by the caller


def to_ls_text(span_text: str) -> str:
    """The region ``text`` Label Studio's UI saves for a selection of ``span_text``.

    Measured: each CR and each LF inside a selection is saved as the two characters
    backslash + "n" (so CRLF becomes two of them); everything else is kept as it is.
    """
    return span_text.replace("\r", "\\n").replace("\n", "\\n")


def ls_text_matches(span_text: str, ls_text: str) -> bool:
    """Whether a region's saved ``text`` is ``span_text`` (as written, or as the UI saves it)."""
    return ls_text == span_text or ls_text == to_ls_text(span_text)


# --- articles -> tasks -----------------------------------------------------------------------
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


# --- exports -> articles ---------------------------------------------------------------------
@dataclass(frozen=True)
class ImportIssue:
    """One problem found in an export, with the task and annotator it belongs to."""

    task: str
    annotator: str
    message: str

    def __str__(self) -> str:
        return f"task {self.task} (annotator {self.annotator}): {self.message}"


@dataclass
class ImportReport:
    """What :func:`export_to_articles` did: counts, and every problem it found or repaired."""

    tasks: int = 0
    annotations: int = 0
    articles: int = 0
    cancelled: int = 0
    unannotated: list[str] = field(default_factory=list)
    drafts: list[str] = field(default_factory=list)
    issues: list[ImportIssue] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Human-readable summary lines (for the CLI)."""
        out = [
            f"{self.tasks} tasks, {self.annotations} annotations -> {self.articles} articles; "
            f"{self.cancelled} cancelled annotations skipped"
        ]
        if self.unannotated:
            out.append(
                f"{len(self.unannotated)} tasks without a submitted annotation: "
                + ", ".join(self.unannotated[:20])
                + (" ..." if len(self.unannotated) > 20 else "")
            )
        if self.drafts:
            out.append(
                f"{len(self.drafts)} unsubmitted drafts (not imported): " + ", ".join(self.drafts)
            )
        out.extend(f"warning: {issue}" for issue in self.issues)
        return out


def _annotator(completed_by: Any) -> str:
    if isinstance(completed_by, Mapping):
        for key in ("email", "username", "id"):
            if completed_by.get(key) not in (None, ""):
                return str(completed_by[key])
        return "unknown"
    if completed_by is None:
        return "unknown"
    return str(completed_by)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _pick_label(
    labels: Any,
    known: Sequence[str] | None,
    where: str,
    warn: Callable[[str], None],
    *,
    missing: str = "no label",
) -> str | None:
    """The first of a result's ``labels``; ``None`` (with a warning) when there is no label
    or it is not one of ``known`` (``None``: any label is accepted)."""
    if not isinstance(labels, list) or not labels or not all(isinstance(x, str) for x in labels):
        warn(f"{where}: {missing}; dropped")
        return None
    label = labels[0]
    if len(labels) > 1:
        warn(f"{where}: several labels {labels}; kept the first, {label!r}")
    if known is not None and label not in known:
        warn(f"{where}: unknown label {label!r} (schema: {', '.join(known)}); dropped")
        return None
    return label


def _score(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if not math.isnan(value) and 0.0 <= value <= 1.0 else None


def _unique_id(prefix: str, used: set[str]) -> str:
    n = 1
    while f"{prefix}{n}" in used:
        n += 1
    return f"{prefix}{n}"


def _repair(text: str, wanted: str, start: int) -> tuple[int, int] | None:
    """The occurrence of ``wanted`` nearest ``start`` within :data:`REPAIR_WINDOW`.

    ``wanted`` may be in the form the UI saves (line breaks as backslash + "n", see
    :func:`to_ls_text`), so each such pair also matches a CR or LF of the text.
    """
    if not wanted:
        return None
    lo = max(0, start - REPAIR_WINDOW)
    hi = min(len(text), start + len(wanted) + REPAIR_WINDOW)
    pattern = re.compile(
        "(?=(" + r"(?:\r|\n|\\n)".join(re.escape(part) for part in wanted.split("\\n")) + "))"
    )
    best: tuple[int, int] | None = None
    for match in pattern.finditer(text, lo, hi):
        found = (match.start(1), match.end(1))
        if found[0] < found[1] and (best is None or abs(found[0] - start) < abs(best[0] - start)):
            best = found
    return best


def _parse_annotation(
    text: str,
    results: Any,
    *,
    schema: LabelSchema | None,
    warn: Any,
) -> tuple[list[ArgUnit], list[ArgRelation]]:
    """Units and relations of one annotation's ``result``; every problem goes to ``warn``."""
    if not isinstance(results, list):
        warn("the annotation's result is not a list; nothing imported")
        return [], []
    if not results:
        warn("empty result: the annotation has no spans")
        return [], []
    n = len(text)
    units: list[ArgUnit] = []
    used_ids: set[str] = set()
    id_map: dict[str, str] = {}  # region id in the export -> unit id kept
    dropped: set[str] = set()
    by_span: dict[tuple[int, int, str], str] = {}
    relation_results: list[dict[str, Any]] = []
    for index, result in enumerate(results):
        if not isinstance(result, Mapping):
            warn(f"result[{index}] is not an object; ignored")
            continue
        kind = result.get("type")
        if kind == "relation":
            relation_results.append(dict(result))
            continue
        if kind != "labels":
            warn(f"result[{index}] of type {kind!r} is not a span or relation; ignored")
            continue
        raw_id = result.get("id")
        region = str(raw_id) if raw_id not in (None, "") else f"result[{index}]"
        value = result.get("value")
        if not isinstance(value, Mapping):
            warn(f"span {region}: no value; dropped")
            dropped.add(region)
            continue
        label = _pick_label(
            value.get("labels"),
            schema.span_names if schema is not None else None,
            f"span {region}",
            warn,
        )
        if label is None:
            dropped.add(region)
            continue
        ls_start, ls_end = value.get("start"), value.get("end")
        wanted = value.get("text") if isinstance(value.get("text"), str) else None
        start = end = None
        if _is_int(ls_start) and _is_int(ls_end):
            try:
                start, end = from_ls_offset(text, ls_start), from_ls_offset(text, ls_end)
            except ValueError as exc:
                warn(f"span {region}: {exc}")
        ok = start is not None and end is not None and 0 <= start < end <= n
        if ok and wanted is not None and not ls_text_matches(text[start:end], wanted):
            ok = False
        if not ok:
            where = f"[{ls_start}:{ls_end}]"
            fixed = _repair(text, wanted, start if start is not None else 0) if wanted else None
            if fixed is None:
                found = f"{text[start:end]!r}" if start is not None and end is not None else ""
                warn(
                    f"span {region}: offsets {where} {found or 'are invalid'} do not match its "
                    f"text {wanted!r}, which is not found nearby; dropped"
                )
                dropped.add(region)
                continue
            warn(
                f"span {region}: offsets {where} do not match its text {wanted!r}; "
                f"repaired to [{fixed[0]}:{fixed[1]}]"
            )
            start, end = fixed
        key = (start, end, label)
        if key in by_span:
            warn(
                f"span {region}: duplicate of span {by_span[key]} ({label} [{start}:{end}]); merged"
            )
            id_map.setdefault(region, by_span[key])
            continue
        unit_id = region if raw_id not in (None, "") else _unique_id("T", used_ids)
        if unit_id in used_ids:
            new_id = _unique_id("T", used_ids | set(id_map))
            warn(f"span {region}: region id used twice; renamed to {new_id}")
            unit_id = new_id
        used_ids.add(unit_id)
        id_map.setdefault(region, unit_id)
        by_span[key] = unit_id
        units.append(
            ArgUnit(
                id=unit_id, start=start, end=end, label=label, score=_score(result.get("score"))
            )
        )

    ordered = sorted(units, key=lambda u: (u.start, u.end))
    for i, first in enumerate(ordered):
        for second in ordered[i + 1 :]:
            if second.start >= first.end:
                break
            if second.label != first.label:
                warn(
                    f"spans {first.id} ({first.label} [{first.start}:{first.end}]) and "
                    f"{second.id} ({second.label} [{second.start}:{second.end}]) overlap "
                    "with different labels; both kept"
                )

    relations: list[ArgRelation] = []
    seen_relations: set[tuple[str, str, str]] = set()
    rel_ids = set(used_ids)
    for result in relation_results:
        from_id, to_id = result.get("from_id"), result.get("to_id")
        name = f"relation {from_id} -> {to_id}"
        missing = [
            str(ref) for ref in (from_id, to_id) if ref in (None, "") or str(ref) not in id_map
        ]
        if missing:
            why = ", ".join(
                f"region {ref} was dropped" if ref in dropped else f"region {ref} does not exist"
                for ref in missing
            )
            warn(f"{name}: {why}; relation dropped")
            continue
        head, tail = id_map[str(from_id)], id_map[str(to_id)]
        direction = result.get("direction", "right")
        if direction == "left":
            head, tail = tail, head
        elif direction != "right":
            warn(f"{name}: direction {direction!r}; read as from -> to")
        label = _pick_label(
            result.get("labels"),
            schema.relation_names if schema is not None else None,
            name,
            warn,
            missing="no relation label",
        )
        if label is None:
            continue
        if head == tail:
            warn(f"{name}: head and tail are the same span; dropped")
            continue
        if (head, tail, label) in seen_relations:
            warn(f"{name}: duplicate {label} relation; dropped")
            continue
        seen_relations.add((head, tail, label))
        raw_id = result.get("id")
        rel_id = str(raw_id) if raw_id not in (None, "") else ""
        if not rel_id or rel_id in rel_ids:
            rel_id = _unique_id("R", rel_ids)
        rel_ids.add(rel_id)
        relations.append(
            ArgRelation(
                id=rel_id, head=head, tail=tail, label=label, score=_score(result.get("score"))
            )
        )
    return units, relations


def export_to_articles(
    export: list[dict[str, Any]],
    *,
    schema: LabelSchema | None = None,
    strict: bool = False,
    report: ImportReport | None = None,
    annotators: Mapping[int, str] | None = None,
) -> list[Article]:
    """One Article per submitted annotation of a Label Studio JSON export.

    ``meta["studio"]`` keeps ``task_id``, ``data_id``, ``annotation_id``, ``completed_by``,
    ``lead_time``, ``ground_truth``, ``created_at`` and ``updated_at``. A task's article id is
    its ``data.id`` (``task-<id>`` without one); a task with several annotations gives ids
    ``<data id>@<annotator>``. Cancelled annotations are skipped and counted; drafts are
    reported, not imported. Every problem (overlapping spans with different labels, a span
    whose text disagrees with its offsets, a relation to a missing region, an unknown label,
    an empty result) is logged as a warning naming the task and annotator and collected in
    ``report``; ``strict=True`` raises ``ValueError`` listing them instead. ``annotators``
    (user id -> email, e.g. from the server) names annotators in messages and in
    ``meta["studio"]["annotator"]``.
    """
    annotators = annotators or {}
    if report is None:
        report = ImportReport()
    if not isinstance(export, list):
        raise ValueError("a Label Studio JSON export must be a list of tasks")
    articles: list[Article] = []
    used_ids: set[str] = set()
    first_issue = len(report.issues)
    for index, task in enumerate(export):
        if not isinstance(task, Mapping):
            raise ValueError(f"task #{index + 1} is not an object")
        data = task.get("data")
        if not isinstance(data, Mapping) or not isinstance(data.get("text"), str):
            raise ValueError(f"task {task.get('id', f'#{index + 1}')}: data has no 'text' string")
        report.tasks += 1
        text = data["text"]
        task_id = task.get("id")
        data_id = data.get("id")
        data_id = str(data_id) if data_id not in (None, "") else f"task-{task_id or index + 1}"
        task_ref = str(task_id) if task_id is not None else f"#{index + 1}"
        if data_id != task_ref:
            task_ref = f"{task_ref} ({data_id})"
        meta_raw = data.get("meta")
        meta = dict(meta_raw) if isinstance(meta_raw, Mapping) else {}
        source = data.get("source")
        if isinstance(source, str) and source and "source" not in meta:
            meta["source"] = source
        title = data.get("title") if isinstance(data.get("title"), str) else ""
        for draft in task.get("drafts") or []:
            who = _annotator(draft.get("user") if isinstance(draft, Mapping) else None)
            report.drafts.append(f"task {task_ref} (annotator {who})")
        annotations = [a for a in task.get("annotations") or [] if isinstance(a, Mapping)]
        kept = [a for a in annotations if not a.get("was_cancelled")]
        report.cancelled += len(annotations) - len(kept)
        report.annotations += len(kept)
        if not kept:
            report.unannotated.append(task_ref)
            continue
        for annotation in kept:
            completed_by = annotation.get("completed_by")
            user = _annotator(completed_by)
            who = annotators.get(completed_by, user) if _is_int(completed_by) else user
            if len(kept) == 1:
                article_id = data_id
            else:
                article_id = f"{data_id}@{user}"
                if article_id in used_ids:
                    article_id = f"{article_id}#{annotation.get('id')}"
            if article_id in used_ids:
                article_id = f"{article_id}~{_unique_id('', used_ids)}"
            used_ids.add(article_id)

            def warn(message: str, *, _task: str = task_ref, _who: str = who) -> None:
                issue = ImportIssue(task=_task, annotator=_who, message=message)
                logger.warning("%s", issue)
                report.issues.append(issue)

            units, relations = _parse_annotation(
                text, annotation.get("result"), schema=schema, warn=warn
            )
            studio = {
                "task_id": task_id,
                "data_id": data_id,
                "annotation_id": annotation.get("id"),
                "completed_by": completed_by,
                "annotator": who,
                "lead_time": annotation.get("lead_time"),
                "ground_truth": bool(annotation.get("ground_truth", False)),
                "created_at": annotation.get("created_at"),
                "updated_at": annotation.get("updated_at"),
            }
            articles.append(
                Article(
                    id=article_id,
                    text=text,
                    title=title,
                    meta={**meta, "studio": studio},
                    units=units,
                    relations=relations,
                )
            )
    report.articles += len(articles)
    issues = report.issues[first_issue:]
    if strict and issues:
        listed = "; ".join(str(i) for i in issues[:10])
        more = f" (and {len(issues) - 10} more)" if len(issues) > 10 else ""
        raise ValueError(f"{len(issues)} problems in the export: {listed}{more}")
    return articles


def load_export(
    path: str | os.PathLike[str],
    *,
    schema: LabelSchema | None = None,
    strict: bool = False,
    report: ImportReport | None = None,
) -> list[Article]:
    """Read a Label Studio JSON export file; a bad file raises :class:`InputError`."""
    try:
        with open(path, encoding="utf-8") as handle:
            export = json.load(handle)
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except IsADirectoryError:
        raise InputError(path, "is a directory, not a Label Studio JSON export") from None
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not UTF-8 text (byte offset {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise InputError(path, f"not valid JSON ({exc.msg} at line {exc.lineno})") from None
    try:
        return export_to_articles(export, schema=schema, strict=strict, report=report)
    except ValueError as exc:
        raise InputError(path, str(exc)) from None
