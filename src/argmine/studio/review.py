"""Adjudication review in Label Studio: conflicts out as review tasks, reviewed work back as
ground truth.

Data flow::

    Adjudication (a task whose annotators disagree)
        --argmine.agreement.review_tasks--> a task with each annotator's version and the
                                            policy's merge as predictions, data.meta.adjudication
        --push_review--> the review project (tasks whose data.id is there already are skipped)
    reviewer picks a version, edits, submits
        --mark_reviewed (called by ``studio pull``)--> the latest submitted annotation of each
                                                       review task is set ground_truth
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from argmine.document import LabelSchema
from argmine.studio.client import Connection, StudioClient

__all__ = ["REVIEW_PROJECT", "ReviewReport", "mark_reviewed", "push_review"]

log = logging.getLogger(__name__)

REVIEW_PROJECT = "argmine review"


@dataclass
class ReviewReport:
    url: str
    project_id: int
    created: list[tuple[str, int]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [
            f"pushed {len(self.created)} review tasks to {self.url}/projects/{self.project_id} "
            "(each annotator's version and the policy's merge as predictions)"
        ]
        if self.skipped:
            out.append(
                f"skipped {len(self.skipped)} tasks already in the review project: "
                + ", ".join(self.skipped[:20])
            )
        return out


def push_review(
    adjudications: Sequence[Any],
    *,
    connection: Connection,
    project_title: str = REVIEW_PROJECT,
    schema: LabelSchema | None = None,
) -> ReviewReport:
    """Import the review tasks of ``adjudications`` (:class:`argmine.agreement.Adjudication`)
    into ``project_title`` (created with the argmine label config if missing)."""
    from argmine.agreement import review_tasks
    from argmine.studio.labelconfig import label_config

    if schema is None:
        from argmine.config import load_label_schema

        schema = load_label_schema()
    client = StudioClient(connection)
    project_id, _ = client.ensure_project(project_title, label_config(schema))
    report = ReviewReport(url=connection.url, project_id=project_id)
    existing = client.data_ids(project_id)
    todo = []
    for adjudication in adjudications:
        if adjudication.task.id in existing:
            report.skipped.append(adjudication.task.id)
        else:
            todo.append(adjudication)
    tasks = review_tasks(todo)
    ids = client.import_tasks(project_id, tasks) if tasks else []
    report.created = [(a.task.id, t) for a, t in zip(todo, ids, strict=True)]
    return report


def _is_review(task: Mapping[str, Any]) -> bool:
    from argmine.agreement import REVIEW_KEY

    meta = (task.get("data") or {}).get("meta")
    block = meta.get(REVIEW_KEY) if isinstance(meta, Mapping) else None
    return isinstance(block, Mapping) and bool(block.get("review"))


def mark_reviewed(client: StudioClient, project_id: int) -> list[tuple[int, int]]:
    """Set ``ground_truth`` on the latest submitted annotation of every review task that has
    none yet; the ``(task id, annotation id)`` pairs marked."""
    marked = []
    for task in client.iter_tasks(project_id):
        if not _is_review(task):
            continue
        annotations = [
            a
            for a in task.get("annotations") or []
            if isinstance(a, Mapping) and not a.get("was_cancelled")
        ]
        if not annotations or any(a.get("ground_truth") for a in annotations):
            continue
        latest = max(annotations, key=lambda a: (str(a.get("updated_at") or ""), a["id"]))
        client.request(
            "PATCH",
            f"/api/annotations/{latest['id']}/",
            what=f"marking annotation {latest['id']} of task {task['id']} as ground truth",
            json={"ground_truth": True},
        )
        marked.append((task["id"], latest["id"]))
    return marked
