"""Label Studio JSON (tasks, predictions, exports) <-> Articles, both directions; no SDK import.

- :mod:`~argmine.corpora.labelstudio.spec`: the result names (:data:`FROM_NAME`,
  :data:`TO_NAME`) and the offset conversion, shared by both sides and the label config;
- :mod:`~argmine.corpora.labelstudio.encode`: Article -> task with predictions, Articles ->
  export (:func:`article_to_task`, :func:`articles_to_export`);
- :mod:`~argmine.corpora.labelstudio.decode`: export -> every annotation of every task
  (:func:`parse_export`) -> one Article per submitted annotation (:func:`export_to_articles`,
  :func:`load_export`), every problem reported with its task and annotator; a task list's
  predictions -> one predicted Article per task (:func:`predictions_to_articles`,
  :func:`load_predictions`).

Only :mod:`argmine.studio` talks to a server; this package is the file format, so readers,
corpora, tag and the report use it without Label Studio installed.
"""

from __future__ import annotations

from argmine.corpora.labelstudio.decode import (
    ImportIssue,
    ImportReport,
    StudioAnnotation,
    StudioTask,
    annotation_rank,
    export_to_articles,
    load_export,
    load_predictions,
    parse_export,
    predictions_to_articles,
    read_export,
    select_annotation,
)
from argmine.corpora.labelstudio.encode import (
    article_to_task,
    articles_to_export,
    prediction_score,
    task_data,
)
from argmine.corpora.labelstudio.spec import (
    FROM_NAME,
    TO_NAME,
    from_ls_offset,
    ls_text_matches,
    to_ls_offset,
    to_ls_text,
)

__all__ = [
    "FROM_NAME",
    "TO_NAME",
    "ImportIssue",
    "ImportReport",
    "StudioAnnotation",
    "StudioTask",
    "annotation_rank",
    "article_to_task",
    "articles_to_export",
    "export_to_articles",
    "from_ls_offset",
    "load_export",
    "load_predictions",
    "ls_text_matches",
    "parse_export",
    "prediction_score",
    "predictions_to_articles",
    "read_export",
    "select_annotation",
    "task_data",
    "to_ls_offset",
    "to_ls_text",
]
