"""Inter-annotator agreement and adjudication over Label Studio exports.

Data flow::

    Label Studio exports (files or ``studio pull``)
        --load_tasks--> TaskVersions: one task (its text) -> {annotator: Article}
                        (cancelled annotations left out and counted; one version per annotator)
        --agreement--> per pair of annotators, over the tasks both annotated:
                         span F1, exact and >= 0.5 overlap, per label and micro
                             (argmine.evaluate.span_scores, the first annotator as "gold")
                         nominal Krippendorff's alpha over the non-whitespace characters
                             (each character's label, O outside units; ``krippendorff``)
                         relation F1 with and without the relation label
                             (argmine.evaluate.relation_scores)
                         label confusion (overlap pairs regardless of label; O = no partner)
                       alpha of all annotators jointly (missing values where one did not
                       annotate a task), and every task's figures per pair
        --adjudicate(policy)--> one gold Article per task + its conflicts

Tasks with one annotator are counted and left out of agreement (adjudication passes them
through). Annotator names are Label Studio's (email, username or user id); an annotation
without one is named after the export file it came from.

Adjudication clusters the units of a task: annotators are taken in order (earliest annotation
first, then by name) and each one's units are matched one-to-one to the clusters so far by
:func:`argmine.evaluate.match_units` (same label, >= 0.5 overlap); a unit without a partner
opens a new cluster. A cluster's **support** is how many annotators it holds; its boundary is
the **majority boundary** (the ``(start, end)`` most of its members chose), ties going to the
preferred annotator (``annotator=NAME``'s, else the earliest annotator's). Relations are keyed
by the clusters of their head and tail and their label; their support is counted the same way.

Policies (``n`` annotators on the task):

- ``majority``: keep units and relations with support > n / 2 (with two annotators: both);
- ``union``: keep every unit and relation anyone drew;
- ``annotator=NAME``: NAME is the authority: keep NAME's units and relations and the
  majority's where they do not clash with NAME's (a task NAME did not annotate falls back to
  ``majority``).

Kept units never overlap: higher support first, then the preferred annotator's, then text
order (under ``annotator=NAME``, NAME's first, then support); a unit overlapping one already
kept is dropped (so in a two-way label swap under ``union`` the earliest annotator's label
wins). A relation is kept only when both its ends are; of two kept relations from the same
head to the same tail with different labels, the first in that order wins. A **conflict** is
any cluster or relation without full support; ``--review`` sends the tasks with conflicts back
to Label Studio instead of resolving them.
"""

from __future__ import annotations

import logging
import math
import os
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from argmine.document import ArgRelation, ArgUnit, Article, LabelSchema
from argmine.errors import InputError, UsageError
from argmine.evaluate import match_units, overlap_match, relation_scores, span_scores

__all__ = [
    "POLICIES",
    "Adjudication",
    "LoadStats",
    "TaskVersions",
    "adjudicate",
    "agreement",
    "char_alpha",
    "load_tasks",
    "parse_policy",
    "task_versions",
]

log = logging.getLogger(__name__)

POLICIES = ("majority", "union", "annotator=NAME")
UNKNOWN_ANNOTATOR = "unknown"


# --- loading ---------------------------------------------------------------------------------
@dataclass
class TaskVersions:
    """One task: its text and each annotator's version (an Article whose id is the task id)."""

    id: str
    text: str
    title: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, Article] = field(default_factory=dict)  # annotator -> article

    @property
    def annotators(self) -> list[str]:
        return list(self.versions)


@dataclass
class LoadStats:
    """What loading found: tasks, annotations, and what was left out."""

    files: list[str] = field(default_factory=list)
    tasks: int = 0
    annotations: int = 0
    cancelled: int = 0
    unannotated: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)  # "task (annotator)" kept once
    issues: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "tasks": self.tasks,
            "annotations": self.annotations,
            "cancelled": self.cancelled,
            "unannotated": self.unannotated,
            "duplicates": self.duplicates,
            "issues": self.issues,
        }


def _studio(article: Article) -> dict[str, Any]:
    studio = article.meta.get("studio")
    return studio if isinstance(studio, dict) else {}


def _rank(article: Article) -> tuple[bool, float, float, float]:
    """The version of a task training would pick ranks highest (ground truth, then the latest
    ``updated_at``, ...): :func:`argmine.corpora.labelstudio.annotation_rank`."""
    from argmine.corpora.labelstudio import annotation_rank

    studio = _studio(article)
    return annotation_rank(
        ground_truth=bool(studio.get("ground_truth")),
        updated_at=studio.get("updated_at"),
        created_at=studio.get("created_at"),
        annotation_id=studio.get("annotation_id"),
    )


def _order_key(article: Article, annotator: str) -> tuple[float, str]:
    """Annotators in the order they started: earliest ``created_at`` first, then by name."""
    from argmine.corpora.labelstudio import annotation_rank

    studio = _studio(article)
    created = annotation_rank(
        ground_truth=False,
        updated_at=None,
        created_at=studio.get("created_at") or studio.get("updated_at"),
        annotation_id=None,
    )[2]
    return (created, annotator)


def task_versions(
    articles: Iterable[Article], *, source: str = "", stats: LoadStats | None = None
) -> dict[str, TaskVersions]:
    """Group articles read from exports (``meta["studio"]`` names task and annotator) by task.

    An annotation without an annotator is named ``source`` (the file) when given. Two versions
    of one task by one annotator keep the one training would pick (ground truth, then the most
    recent), recorded in ``stats.duplicates``.
    """
    stats = stats if stats is not None else LoadStats()
    tasks: dict[str, TaskVersions] = {}
    for article in articles:
        studio = _studio(article)
        task_id = str(studio.get("data_id") or article.id)
        who = str(studio.get("annotator") or UNKNOWN_ANNOTATOR)
        if who == UNKNOWN_ANNOTATOR and source:
            who = source
        task = tasks.get(task_id)
        if task is None:
            meta = {k: v for k, v in article.meta.items() if k != "studio"}
            task = tasks[task_id] = TaskVersions(
                id=task_id, text=article.text, title=article.title, meta=meta
            )
        elif task.text != article.text:
            raise ValueError(f"task {task_id}: the text differs between annotations")
        version = replace(article, id=task_id, meta=dict(article.meta))
        version.meta["studio"] = {**studio, "annotator": who}
        old = task.versions.get(who)
        if old is not None:
            stats.duplicates.append(f"{task_id} ({who})")
            if _rank(old) >= _rank(version):
                continue
        task.versions[who] = version
    return tasks


def load_tasks(
    paths: Sequence[str | os.PathLike[str]], *, schema: LabelSchema | None = None
) -> tuple[list[TaskVersions], LoadStats]:
    """Every task of the exports in ``paths`` with each annotator's version.

    A task is identified by its ``data.id`` across files, so one file per annotator works; the
    same task with a different text in two files is an :class:`InputError`.
    """
    from argmine.corpora.labelstudio import ImportReport, parse_export, read_export

    stats = LoadStats()
    merged: dict[str, TaskVersions] = {}
    origin: dict[str, str] = {}
    for path in paths:
        name = Path(path).name
        stats.files.append(str(path))
        report = ImportReport()
        try:
            parsed = parse_export(read_export(path), schema=schema, report=report)
        except ValueError as exc:
            raise InputError(path, str(exc)) from None
        articles = [task.to_article(a) for task in parsed for a in task.submitted]
        stats.cancelled += report.cancelled
        stats.issues.extend(f"{path}: {issue}" for issue in report.issues)
        try:
            tasks = task_versions(articles, source=name, stats=stats)
        except ValueError as exc:
            raise InputError(path, str(exc)) from None
        for task_id, task in tasks.items():
            if task_id not in merged:
                merged[task_id] = task
                origin[task_id] = str(path)
                continue
            into = merged[task_id]
            if into.text != task.text:
                raise InputError(
                    path,
                    f"task {task_id}: its text differs from the same task in {origin[task_id]}",
                )
            for who, version in task.versions.items():
                old = into.versions.get(who)
                if old is not None:
                    stats.duplicates.append(f"{task_id} ({who})")
                    if _rank(old) >= _rank(version):
                        continue
                into.versions[who] = version
        for ref in report.unannotated:
            stats.unannotated.append(f"{name}: task {ref}")
    for task in merged.values():
        task.versions = dict(sorted(task.versions.items(), key=lambda kv: _order_key(kv[1], kv[0])))
    stats.tasks = len(merged)
    stats.annotations = sum(len(t.versions) for t in merged.values())
    return list(merged.values()), stats


# --- Krippendorff's alpha over characters ------------------------------------------------------
def _char_values(article: Article, positions: Sequence[int], labels: Sequence[str]) -> list[int]:
    """The label index (0 = O, i + 1 = labels[i]) of each character in ``positions``; where
    units overlap, the one that starts first."""
    index = {label: i + 1 for i, label in enumerate(labels)}
    values = [0] * len(article.text)
    for unit in sorted(article.units, key=lambda u: (u.start, u.end), reverse=True):
        value = index.get(unit.label)
        if value is None:
            continue
        values[unit.start : unit.end] = [value] * (min(unit.end, len(values)) - unit.start)
    return [values[i] for i in positions]


def _positions(text: str) -> list[int]:
    return [i for i, char in enumerate(text) if not char.isspace()]


def char_alpha(
    tasks: Sequence[TaskVersions], annotators: Sequence[str], *, labels: Sequence[str]
) -> float | None:
    """Nominal Krippendorff's alpha with one coding unit per non-whitespace character of each
    task and one coder per annotator (missing where an annotator did not annotate the task).
    ``None`` when it is undefined (fewer than two values paired, or no variation at all)."""
    import krippendorff
    import numpy as np

    columns: list[list[float]] = [[] for _ in annotators]
    for task in tasks:
        positions = _positions(task.text)
        present = [a for a in annotators if a in task.versions]
        if len(present) < 2:
            continue
        for row, who in enumerate(annotators):
            if who in task.versions:
                columns[row].extend(_char_values(task.versions[who], positions, labels))
            else:
                columns[row].extend([math.nan] * len(positions))
    if not columns or not columns[0]:
        return None
    data = np.array(columns, dtype=float)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            value = krippendorff.alpha(
                reliability_data=data,
                level_of_measurement="nominal",
                value_domain=list(range(len(labels) + 1)),
            )
        except ValueError:
            return None
    return None if value is None or math.isnan(value) else float(value)


# --- agreement ---------------------------------------------------------------------------------
def _relation_pair(
    gold: Sequence[Article], pred: Sequence[Article], *, labels: Sequence[str]
) -> dict[str, Any]:
    labelled = relation_scores(gold, pred, labels=labels)
    return {
        "labelled": labelled,
        # label ignored: head and tail have to agree (relation_scores' link F1)
        "unlabelled": labelled["overlap"]["link"],
        "relations": [
            sum(len(a.relations) for a in gold),
            sum(len(a.relations) for a in pred),
        ],
    }


def _confusion_dict(confusion: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    labels = confusion["labels"]
    return {
        row_label: {col: n for col, n in zip(labels, row, strict=True) if n}
        for row_label, row in zip(labels, confusion["matrix"], strict=True)
    }


def _swaps(confusion: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Off-diagonal confusion cells: ``{"a": label, "b": label, "count": n}`` (O = no partner)."""
    labels = confusion["labels"]
    out = []
    for i, row in enumerate(confusion["matrix"]):
        for j, count in enumerate(row):
            if i != j and count:
                out.append({"a": labels[i], "b": labels[j], "count": count})
    return sorted(out, key=lambda s: (-s["count"], s["a"], s["b"]))


def _pair_figures(
    tasks: Sequence[TaskVersions],
    a: str,
    b: str,
    *,
    labels: Sequence[str],
    relation_labels: Sequence[str],
) -> dict[str, Any]:
    gold = [t.versions[a] for t in tasks]
    pred = [t.versions[b] for t in tasks]
    spans = span_scores(gold, pred, labels=labels)
    overlap_conf = spans["overlap"]["confusion"]
    return {
        "annotators": [a, b],
        "tasks": len(tasks),
        "units": [spans["gold_units"], spans["pred_units"]],
        "spans": {
            crit: {"micro": spans[crit]["micro"], "per_label": spans[crit]["per_label"]}
            for crit in ("exact", "overlap")
        },
        "alpha": char_alpha(tasks, [a, b], labels=labels),
        "relations": _relation_pair(gold, pred, labels=relation_labels),
        "confusion": {
            "labels": overlap_conf["labels"],
            "matrix": overlap_conf["matrix"],
            "cells": _confusion_dict(overlap_conf),
        },
        "swaps": _swaps(overlap_conf),
    }


def agreement(
    tasks: Sequence[TaskVersions],
    *,
    labels: Sequence[str],
    relation_labels: Sequence[str],
    stats: LoadStats | None = None,
) -> dict[str, Any]:
    """Agreement of every pair of annotators on the tasks both annotated (see the module
    docstring); JSON-ready. ``articles`` lists each compared task, lowest agreement first
    (the smallest overlap F1 over its pairs)."""
    compared = [t for t in tasks if len(t.versions) >= 2]
    single = [t.id for t in tasks if len(t.versions) == 1]
    annotators = list(dict.fromkeys(a for t in compared for a in t.versions))
    pairs = []
    for i, a in enumerate(annotators):
        for b in annotators[i + 1 :]:
            shared = [t for t in compared if a in t.versions and b in t.versions]
            if shared:
                pairs.append(
                    _pair_figures(shared, a, b, labels=labels, relation_labels=relation_labels)
                )
    articles = []
    for task in compared:
        who = list(task.versions)
        task_pairs = []
        for i, a in enumerate(who):
            for b in who[i + 1 :]:
                fig = _pair_figures([task], a, b, labels=labels, relation_labels=relation_labels)
                task_pairs.append(
                    {
                        "annotators": [a, b],
                        "units": fig["units"],
                        "exact_f1": fig["spans"]["exact"]["micro"]["f1"],
                        "overlap_f1": fig["spans"]["overlap"]["micro"]["f1"],
                        "alpha": fig["alpha"],
                        "relation_f1": fig["relations"]["labelled"]["micro"]["f1"],
                        "relation_f1_unlabelled": fig["relations"]["unlabelled"]["f1"],
                        "swaps": fig["swaps"],
                    }
                )
        articles.append(
            {
                "id": task.id,
                "title": task.title,
                "annotators": who,
                "overlap_f1": min(p["overlap_f1"] for p in task_pairs),
                "pairs": task_pairs,
            }
        )
    articles.sort(key=lambda r: (r["overlap_f1"], r["id"]))
    return {
        "labels": list(labels),
        "relation_labels": list(relation_labels),
        "annotators": annotators,
        "tasks": {
            "total": len(tasks),
            "compared": len(compared),
            "single_annotator": single,
        },
        "load": stats.to_dict() if stats is not None else None,
        "alpha": char_alpha(compared, annotators, labels=labels),
        "pairs": pairs,
        "articles": articles,
    }


# --- adjudication ------------------------------------------------------------------------------
def parse_policy(policy: str) -> tuple[str, str | None]:
    """``"majority"`` / ``"union"`` / ``"annotator=NAME"`` -> ``(kind, NAME or None)``."""
    if policy in ("majority", "union"):
        return policy, None
    kind, sep, name = policy.partition("=")
    if kind == "annotator" and sep and name.strip():
        return "annotator", name.strip()
    raise UsageError(
        f"--policy: unknown adjudication policy {policy!r} "
        "(expected majority, union or annotator=NAME)"
    )


@dataclass
class _Cluster:
    label: str
    members: dict[str, ArgUnit]  # annotator -> unit

    def anchor(self) -> ArgUnit:
        return next(iter(self.members.values()))


@dataclass
class Adjudication:
    """One task's gold article and what was not unanimous."""

    task: TaskVersions
    gold: Article
    annotators: list[str]
    policy: str
    conflicts: list[str] = field(default_factory=list)

    @property
    def has_conflicts(self) -> bool:
        return bool(self.conflicts)


def _clusters(task: TaskVersions) -> list[_Cluster]:
    clusters: list[_Cluster] = []
    for who, version in task.versions.items():
        units = version.sorted_units()
        anchors = [c.anchor() for c in clusters]
        pairs = match_units(anchors, units, criterion=overlap_match)
        matched = set()
        for ci, ui in pairs:
            if who not in clusters[ci].members:
                clusters[ci].members[who] = units[ui]
                matched.add(ui)
        for ui, unit in enumerate(units):
            if ui not in matched:
                clusters.append(_Cluster(label=unit.label, members={who: unit}))
    return clusters


def _boundary(cluster: _Cluster, order: Sequence[str]) -> tuple[int, int]:
    votes = Counter(u.span for u in cluster.members.values())
    best = max(votes.values())
    tied = {span for span, n in votes.items() if n == best}
    for who in order:
        unit = cluster.members.get(who)
        if unit is not None and unit.span in tied:
            return unit.span
    return min(tied)  # pragma: no cover - every tied span has a member


def _describe(task: TaskVersions, cluster: _Cluster, order: Sequence[str]) -> str:
    start, end = _boundary(cluster, order)
    snippet = task.text[start:end]
    snippet = snippet if len(snippet) <= 50 else snippet[:47] + "..."
    return f"{cluster.label} [{start}:{end}] {snippet!r}"


def adjudicate(task: TaskVersions, *, policy: str = "majority") -> Adjudication:
    """Merge the versions of ``task`` into one gold article (see the module docstring)."""
    kind, name = parse_policy(policy)
    who = list(task.versions)
    n = len(who)
    if kind == "annotator" and name not in task.versions:
        kind, name = "majority", None
    preferred = name if name is not None else (who[0] if who else None)
    order = [preferred, *[w for w in who if w != preferred]] if preferred else []
    clusters = _clusters(task)

    def keep(support: set[str]) -> bool:
        if kind == "union":
            return True
        if len(support) * 2 > n:
            return True
        return kind == "annotator" and name in support

    conflicts: list[str] = []
    candidates = []
    for index, cluster in enumerate(clusters):
        start, end = _boundary(cluster, order)
        support = set(cluster.members)
        spans = {u.span for u in cluster.members.values()}
        if len(support) < n:
            missing = ", ".join(w for w in who if w not in support)
            conflicts.append(f"{_describe(task, cluster, order)}: not by {missing}")
        elif len(spans) > 1:
            log.debug("task %s: cluster %d boundaries differ: %s", task.id, index, spans)
        if keep(support):
            candidates.append((index, cluster, start, end))
    authority = kind == "annotator"

    def rank(support: set[str]) -> tuple[int, int]:
        mine = int(preferred not in support)  # 0 (first) when the preferred annotator drew it
        return (mine, -len(support)) if authority else (-len(support), mine)

    candidates.sort(key=lambda c: (rank(set(c[1].members)), c[2], c[3]))
    kept: dict[int, ArgUnit] = {}
    for index, cluster, start, end in candidates:
        if any(start < u.end and u.start < end for u in kept.values()):
            continue
        kept[index] = ArgUnit(id=f"T{len(kept) + 1}", start=start, end=end, label=cluster.label)
    # Renumber in text order.
    ordered = sorted(kept.items(), key=lambda kv: (kv[1].start, kv[1].end))
    ids = {index: f"T{i + 1}" for i, (index, _) in enumerate(ordered)}
    units = [replace(unit, id=ids[index]) for index, unit in ordered]

    # Relations, keyed by the clusters of their ends.
    cluster_of: dict[tuple[str, str], int] = {}
    for index, cluster in enumerate(clusters):
        for member, unit in cluster.members.items():
            cluster_of[(member, unit.id)] = index
    rel_support: dict[tuple[int, int, str], set[str]] = {}
    for member, version in task.versions.items():
        for rel in version.relations:
            head = cluster_of.get((member, rel.head))
            tail = cluster_of.get((member, rel.tail))
            if head is None or tail is None or head == tail:
                continue
            rel_support.setdefault((head, tail, rel.label), set()).add(member)
    rel_candidates = []
    for (head, tail, label), support in rel_support.items():
        if len(support) < n:
            missing = ", ".join(w for w in who if w not in support)
            conflicts.append(
                f"{label} {_describe(task, clusters[head], order)} -> "
                f"{_describe(task, clusters[tail], order)}: not by {missing}"
            )
        if keep(support) and head in kept and tail in kept:
            rel_candidates.append((head, tail, label, support))
    rel_candidates.sort(key=lambda r: (rank(r[3]), kept[r[0]].start, kept[r[1]].start))
    relations: list[ArgRelation] = []
    linked: set[tuple[int, int]] = set()
    for head, tail, label, _ in rel_candidates:
        ends = (head, tail)
        if ends in linked:
            continue
        linked.add(ends)
        relations.append(
            ArgRelation(id=f"R{len(relations) + 1}", head=ids[head], tail=ids[tail], label=label)
        )
    relations.sort(key=lambda r: (int(r.head[1:]), int(r.tail[1:])))
    relations = [replace(r, id=f"R{i + 1}") for i, r in enumerate(relations)]
    gold = Article(
        id=task.id,
        text=task.text,
        title=task.title,
        meta=dict(task.meta),
        units=units,
        relations=relations,
    )
    return Adjudication(task=task, gold=gold, annotators=who, policy=policy, conflicts=conflicts)


def adjudicate_tasks(
    tasks: Sequence[TaskVersions], *, policy: str = "majority"
) -> list[Adjudication]:
    """:func:`adjudicate` for every task with at least one version."""
    parse_policy(policy)
    return [adjudicate(task, policy=policy) for task in tasks if task.versions]


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def gold_export(adjudications: Sequence[Adjudication]) -> list[dict[str, Any]]:
    """A Label Studio JSON export: one task per adjudication, its gold article as the one
    completed annotation, marked ``ground_truth`` (task ids kept from the input exports)."""
    from argmine.corpora.labelstudio import articles_to_export

    stamp = _now()
    articles = []
    for adjudication in adjudications:
        first = next(iter(adjudication.task.versions.values()))
        studio = _studio(first)
        gold = adjudication.gold.with_annotations(
            adjudication.gold.units, adjudication.gold.relations
        )
        gold.meta["studio"] = {
            "task_id": studio.get("task_id"),
            "data_id": adjudication.task.id,
            "ground_truth": True,
            "created_at": stamp,
            "updated_at": stamp,
        }
        articles.append(gold)
    return articles_to_export(articles)


#: ``data.meta`` key of a review task; pulling its reviewed annotation marks it ground truth.
REVIEW_KEY = "adjudication"


def review_tasks(adjudications: Sequence[Adjudication]) -> list[dict[str, Any]]:
    """Label Studio tasks for reviewing conflicts: the task's data (``meta.adjudication`` says
    who annotated it and what conflicts), each annotator's version as a prediction
    (``model_version`` "annotator NAME") and the policy's merge as one more
    ("adjudicated POLICY"), so a reviewer picks one, edits it and submits."""
    from argmine.corpora.labelstudio import article_to_task

    tasks = []
    for adjudication in adjudications:
        base = adjudication.gold.with_annotations([])
        base.meta[REVIEW_KEY] = {
            "review": True,
            "policy": adjudication.policy,
            "annotators": adjudication.annotators,
            "conflicts": adjudication.conflicts,
        }
        task = article_to_task(base)
        candidates = [(f"adjudicated {adjudication.policy}", adjudication.gold)]
        candidates += [(f"annotator {w}", v) for w, v in adjudication.task.versions.items()]
        task["predictions"] = []
        for version_name, version in candidates:
            prediction = article_to_task(base, predictions=version, model_version=version_name)
            task["predictions"].append(prediction["predictions"][0])
        tasks.append(task)
    return tasks


# --- differences, for the report ---------------------------------------------------------------
SAME, BOUNDARY, OTHER_LABEL, ONLY = "same", "boundary", "label", "only"


def differences(mine: Article, theirs: Article) -> dict[str, str]:
    """How each of ``mine``'s units fares in ``theirs``: ``same`` (same label and offsets),
    ``boundary`` (same label, >= 0.5 overlap, other offsets), ``label`` (an overlapping unit
    with another label) or ``only`` (nothing there)."""
    from argmine.evaluate import exact_match

    a, b = mine.sorted_units(), theirs.sorted_units()
    status = {u.id: ONLY for u in a}
    for ai, _ in match_units(a, b, criterion=overlap_match, same_label=False):
        status[a[ai].id] = OTHER_LABEL
    for ai, _ in match_units(a, b, criterion=overlap_match):
        status[a[ai].id] = BOUNDARY
    for ai, _ in match_units(a, b, criterion=exact_match):
        status[a[ai].id] = SAME
    return status
