"""Label Studio JSON export -> every annotation of every task, checked and repaired -> Articles.

Data flow::

    Label Studio export (a list of tasks, each with its annotations and drafts)
        --parse_export-->       list[StudioTask], each with EVERY annotation (cancelled ones
                                too) as a StudioAnnotation: ids, annotator, times, ground
                                truth, cancelled flag, units and relations (checked, repaired)
        --export_to_articles--> one Article per submitted (not cancelled) annotation
    Label Studio tasks with predictions (``argmine tag --format labelstudio``)
        --predictions_to_articles--> one predicted Article per task (its first prediction)

Every problem is logged once as a warning naming the task and annotator and collected in an
:class:`ImportReport`. Pure JSON: no SDK import.
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

from argmine.corpora.labelstudio.spec import from_ls_offset, ls_text_matches
from argmine.document import ArgRelation, ArgUnit, Article, LabelSchema
from argmine.errors import InputError, counted

__all__ = [
    "ImportIssue",
    "ImportReport",
    "StudioAnnotation",
    "StudioTask",
    "annotation_rank",
    "export_to_articles",
    "load_export",
    "load_predictions",
    "parse_export",
    "predictions_to_articles",
    "read_export",
    "select_annotation",
]

logger = logging.getLogger(__name__)

#: How far (in characters, each side) a span's text is searched for when it disagrees with
#: its offsets.
REPAIR_WINDOW = 64


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


def _short(value: str, limit: int = 80) -> str:
    """``value`` quoted for a one-line warning: whole when short, else its start and length."""
    if len(value) <= limit:
        return repr(value)
    return f"{value[: limit - 20]!r}... ({len(value):,} characters)"


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
                found = _short(text[start:end]) if start is not None and end is not None else ""
                warn(
                    f"span {region}: offsets {where} {found or 'are invalid'} do not match its "
                    f"text {_short(wanted)}, which is not found nearby; dropped"
                )
                dropped.add(region)
                continue
            warn(
                f"span {region}: offsets {where} do not match its text {_short(wanted)}; "
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


@dataclass(frozen=True)
class StudioAnnotation:
    """One annotation of a task as exported: who, when, its flags, and what it marks.

    ``annotator`` is the display name (email from ``annotators`` or the export, else the user
    id); ``completed_by`` is the raw export value. ``units``/``relations`` are empty for a
    cancelled annotation (its result is not read).
    """

    annotation_id: Any
    completed_by: Any
    annotator: str
    user: str
    ground_truth: bool
    was_cancelled: bool
    lead_time: Any
    created_at: Any
    updated_at: Any
    units: tuple[ArgUnit, ...] = ()
    relations: tuple[ArgRelation, ...] = ()

    def studio_meta(self, task: StudioTask) -> dict[str, Any]:
        """The ``meta["studio"]`` block of the article made from this annotation."""
        return {
            "task_id": task.task_id,
            "data_id": task.data_id,
            "annotation_id": self.annotation_id,
            "completed_by": self.completed_by,
            "annotator": self.annotator,
            "lead_time": self.lead_time,
            "ground_truth": self.ground_truth,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True)
class StudioTask:
    """One task of an export: its data and every annotation, in export order."""

    task_id: Any
    data_id: str
    ref: str  # how messages name the task: "<task id>" or "<task id> (<data id>)"
    text: str
    title: str
    meta: dict[str, Any]
    annotations: tuple[StudioAnnotation, ...]
    drafts: tuple[str, ...] = ()  # annotators with an unsubmitted draft

    @property
    def submitted(self) -> tuple[StudioAnnotation, ...]:
        """The annotations that are not cancelled."""
        return tuple(a for a in self.annotations if not a.was_cancelled)

    def to_article(self, annotation: StudioAnnotation, article_id: str | None = None) -> Article:
        """``annotation`` as an Article (id ``article_id``, default the task's data id)."""
        return Article(
            id=article_id or self.data_id,
            text=self.text,
            title=self.title,
            meta={**self.meta, "studio": annotation.studio_meta(self)},
            units=list(annotation.units),
            relations=list(annotation.relations),
        )


def parse_export(
    export: Any,
    *,
    schema: LabelSchema | None = None,
    report: ImportReport | None = None,
    annotators: Mapping[int, str] | None = None,
) -> list[StudioTask]:
    """Every task of a Label Studio JSON export with every annotation, checked and repaired.

    A submitted annotation's problems (overlapping spans with different labels, a span whose
    text disagrees with its offsets, a relation to a missing region, an unknown label, an empty
    result) are logged as warnings naming the task and annotator and collected in ``report``,
    with the counts of tasks, annotations, cancelled ones, drafts and unannotated tasks.
    A malformed export (not a list, a task without a ``data.text`` string) raises
    ``ValueError``. ``annotators`` (user id -> email, e.g. from the server) names annotators.
    """
    annotators = annotators or {}
    if report is None:
        report = ImportReport()
    if not isinstance(export, list):
        raise ValueError("a Label Studio JSON export must be a list of tasks")
    tasks: list[StudioTask] = []
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
        drafts = []
        for key in ("annotations", "drafts", "predictions"):
            if task.get(key) is not None and not isinstance(task[key], list):
                found = type(task[key]).__name__
                raise ValueError(f"task {task_ref}: '{key}' must be a list, got {found}")
        for draft in task.get("drafts") or []:
            who = _annotator(draft.get("user") if isinstance(draft, Mapping) else None)
            drafts.append(who)
            report.drafts.append(f"task {task_ref} (annotator {who})")
        annotations = [a for a in task.get("annotations") or [] if isinstance(a, Mapping)]
        parsed: list[StudioAnnotation] = []
        for annotation in annotations:
            completed_by = annotation.get("completed_by")
            user = _annotator(completed_by)
            who = annotators.get(completed_by, user) if _is_int(completed_by) else user
            cancelled = bool(annotation.get("was_cancelled"))
            units: list[ArgUnit] = []
            relations: list[ArgRelation] = []
            if not cancelled:

                def warn(message: str, *, _task: str = task_ref, _who: str = who) -> None:
                    issue = ImportIssue(task=_task, annotator=_who, message=message)
                    logger.warning("%s", issue)
                    report.issues.append(issue)

                units, relations = _parse_annotation(
                    text, annotation.get("result"), schema=schema, warn=warn
                )
            parsed.append(
                StudioAnnotation(
                    annotation_id=annotation.get("id"),
                    completed_by=completed_by,
                    annotator=who,
                    user=user,
                    ground_truth=bool(annotation.get("ground_truth", False)),
                    was_cancelled=cancelled,
                    lead_time=annotation.get("lead_time"),
                    created_at=annotation.get("created_at"),
                    updated_at=annotation.get("updated_at"),
                    units=tuple(units),
                    relations=tuple(relations),
                )
            )
        studio_task = StudioTask(
            task_id=task_id,
            data_id=data_id,
            ref=task_ref,
            text=text,
            title=title,
            meta=meta,
            annotations=tuple(parsed),
            drafts=tuple(drafts),
        )
        kept = studio_task.submitted
        report.cancelled += len(parsed) - len(kept)
        report.annotations += len(kept)
        if not kept:
            report.unannotated.append(task_ref)
        tasks.append(studio_task)
    return tasks


def _timestamp(value: Any) -> float:
    """An export time (ISO 8601, ``Z`` or offset) as seconds; missing or unreadable: -inf."""
    from datetime import datetime

    if not isinstance(value, str) or not value:
        return float("-inf")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return float("-inf")


def select_annotation(task: StudioTask) -> StudioAnnotation | None:
    """The one annotation of ``task`` to train (and evaluate) on; ``None`` if none is submitted.

    Ground truth first, then the latest ``updated_at``, then the latest ``created_at``, then
    the highest annotation id; a cancelled annotation is never chosen. Training, the backend's
    retraining and agreement's adjudicated view all call this, so they agree on the choice.
    """
    submitted = task.submitted
    if not submitted:
        return None

    def key(annotation: StudioAnnotation) -> tuple[bool, float, float, float]:
        return annotation_rank(
            ground_truth=annotation.ground_truth,
            updated_at=annotation.updated_at,
            created_at=annotation.created_at,
            annotation_id=annotation.annotation_id,
        )

    return max(submitted, key=key)


def annotation_rank(
    *, ground_truth: bool, updated_at: Any, created_at: Any, annotation_id: Any
) -> tuple[bool, float, float, float]:
    """The sort key of an annotation: the largest is trained on (see
    :func:`select_annotation`). Times are compared as times (an offset counts), missing or
    unreadable ones lowest."""
    return (
        bool(ground_truth),
        _timestamp(updated_at),
        _timestamp(created_at),
        float(annotation_id) if _is_int(annotation_id) else float("-inf"),
    )


def export_to_articles(
    export: list[dict[str, Any]],
    *,
    schema: LabelSchema | None = None,
    strict: bool = False,
    report: ImportReport | None = None,
    annotators: Mapping[int, str] | None = None,
    one_per_task: bool = False,
) -> list[Article]:
    """One Article per submitted annotation of a Label Studio JSON export (``one_per_task``:
    only the annotation :func:`select_annotation` chooses, with the task's data id as its id).

    ``meta["studio"]`` keeps ``task_id``, ``data_id``, ``annotation_id``, ``completed_by``,
    ``annotator``, ``lead_time``, ``ground_truth``, ``created_at`` and ``updated_at``. A task's
    article id is its ``data.id`` (``task-<id>`` without one); a task with several annotations
    gives ids ``<data id>@<annotator>``. Cancelled annotations are skipped and counted; drafts
    are reported, not imported. Problems are found by :func:`parse_export` and collected in
    ``report``; ``strict=True`` raises ``ValueError`` listing them instead.
    """
    if report is None:
        report = ImportReport()
    first_issue = len(report.issues)
    tasks = parse_export(export, schema=schema, report=report, annotators=annotators)
    articles: list[Article] = []
    used_ids: set[str] = set()
    for task in tasks:
        kept = task.submitted
        if one_per_task:
            chosen = select_annotation(task)
            kept = (chosen,) if chosen is not None else ()
        for annotation in kept:
            if len(kept) == 1:
                article_id = task.data_id
            else:
                article_id = f"{task.data_id}@{annotation.user}"
                if article_id in used_ids:
                    article_id = f"{article_id}#{annotation.annotation_id}"
            if article_id in used_ids:
                n = 1
                while f"{article_id}~{n}" in used_ids:
                    n += 1
                article_id = f"{article_id}~{n}"
            used_ids.add(article_id)
            articles.append(task.to_article(annotation, article_id))
    report.articles += len(articles)
    issues = report.issues[first_issue:]
    if strict and issues:
        listed = "; ".join(str(i) for i in issues[:10])
        more = f" (and {len(issues) - 10} more)" if len(issues) > 10 else ""
        raise ValueError(f"{counted(len(issues), 'problem')} in the export: {listed}{more}")
    return articles


def read_export(path: str | os.PathLike[str]) -> Any:
    """The parsed JSON of an export file; an unreadable file raises :class:`InputError`."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except IsADirectoryError:
        raise InputError(path, "is a directory, not a Label Studio JSON export") from None
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not UTF-8 text (byte offset {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise InputError(path, f"not valid JSON ({exc.msg} at line {exc.lineno})") from None


def load_export(
    path: str | os.PathLike[str],
    *,
    schema: LabelSchema | None = None,
    strict: bool = False,
    report: ImportReport | None = None,
    one_per_task: bool = False,
) -> list[Article]:
    """Read a Label Studio JSON export file (see :func:`export_to_articles`); a bad file raises
    :class:`InputError`."""
    export = read_export(path)
    try:
        return export_to_articles(
            export, schema=schema, strict=strict, report=report, one_per_task=one_per_task
        )
    except ValueError as exc:
        raise InputError(path, str(exc)) from None


def predictions_to_articles(
    tasks: Any, *, schema: LabelSchema | None = None, report: ImportReport | None = None
) -> list[Article]:
    """One predicted Article per task of a Label Studio task list, from the task's first
    prediction (the tasks ``argmine tag --format labelstudio`` writes): its units and relations
    with their scores, checked as :func:`parse_export` checks an annotation. ``meta["model"]`` is
    the prediction's ``model_version`` unless the task's meta names a model. Annotations are
    ignored; a task without predictions gives an Article without units. A malformed list raises
    ``ValueError``.
    """
    if not isinstance(tasks, list):
        raise ValueError("Label Studio tasks must be a list of tasks")
    as_annotated: list[Any] = []
    versions: list[str] = []
    for task in tasks:
        predictions = task.get("predictions") if isinstance(task, Mapping) else None
        first = predictions[0] if isinstance(predictions, list) and predictions else None
        version = first.get("model_version") if isinstance(first, Mapping) else None
        versions.append(str(version) if version not in (None, "") else "")
        if isinstance(first, Mapping):
            task = {  # the prediction, read as the task's one annotation
                **task,
                "annotations": [
                    {"id": first.get("id"), "completed_by": version, "result": first.get("result")}
                ],
                "drafts": None,
            }
        elif isinstance(task, Mapping):
            task = {**task, "annotations": [], "drafts": None}
        as_annotated.append(task)
    articles = []
    for task, version in zip(
        parse_export(as_annotated, schema=schema, report=report), versions, strict=True
    ):
        if task.annotations:
            article = task.to_article(task.annotations[0])
        else:
            article = Article(
                id=task.data_id, text=task.text, title=task.title, meta=dict(task.meta)
            )
        if version:
            article.meta.setdefault("model", version)
        articles.append(article)
    return articles


def load_predictions(
    path: str | os.PathLike[str], *, schema: LabelSchema | None = None
) -> list[Article]:
    """Read a Label Studio task list with predictions (see :func:`predictions_to_articles`); a
    bad file raises :class:`InputError`."""
    tasks = read_export(path)
    try:
        return predictions_to_articles(tasks, schema=schema)
    except ValueError as exc:
        raise InputError(path, str(exc)) from None
