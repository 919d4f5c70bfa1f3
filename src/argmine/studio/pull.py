"""Bring annotators' work back: Label Studio export -> annotations/*.json + argmine JSONL.

Data flow::

    Label Studio project --export snapshot (full predictions)--> Label Studio JSON (kept as is)
        --export_to_articles (checked, repaired, reported)--> one Article per annotation (JSONL)

``pull_project`` asks a server; ``import_export`` does the same from an export file. The Label
Studio JSON is written first, unchanged, so the annotators' work is saved even when
``strict`` then refuses the export.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argmine.corpora.labelstudio import ImportReport, export_to_articles, load_export
from argmine.document import Article, LabelSchema, dumps_article
from argmine.errors import InputError, StudioError
from argmine.fileio import atomic_write_text, check_output
from argmine.studio.client import Connection, StudioClient
from argmine.studio.server import PROJECT_TITLE

__all__ = ["PullResult", "default_output", "import_export", "pull_project", "write_jsonl"]

#: Outside what the training configs read (they list their files), so a pull never joins the
#: training data by itself.
DEFAULT_DIR = Path("annotations/pulled")


@dataclass
class PullResult:
    """The files written and what the import found."""

    articles: list[Article]
    report: ImportReport
    export_path: Path | None = None
    jsonl_path: Path | None = None
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = list(self.notes)
        if self.export_path is not None:
            out.append(f"wrote Label Studio JSON {self.export_path}")
        if self.jsonl_path is not None:
            out.append(f"wrote {len(self.articles)} articles to {self.jsonl_path}")
        return out + self.report.lines()


def default_output(project_title: str, *, directory: Path = DEFAULT_DIR) -> Path:
    """``annotations/pulled/studio-<project>-<UTC timestamp>.json``."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", project_title).strip("-") or "project"
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return directory / f"studio-{slug}-{stamp}.json"


def write_jsonl(path: str | os.PathLike[str], articles: Sequence[Article], *, force: bool) -> Path:
    text = "".join(dumps_article(a) + "\n" for a in articles)
    return atomic_write_text(path, text, force=force)


def _convert(
    export: list[dict[str, Any]],
    *,
    source: str,
    schema: LabelSchema | None,
    strict: bool,
    annotators: dict[int, str] | None = None,
) -> tuple[list[Article], ImportReport]:
    report = ImportReport()
    try:
        articles = export_to_articles(
            export, schema=schema, strict=strict, report=report, annotators=annotators
        )
    except ValueError as exc:
        raise InputError(source, str(exc)) from None
    return articles, report


def pull_project(
    *,
    connection: Connection,
    project_title: str = PROJECT_TITLE,
    output: str | os.PathLike[str] | None = None,
    schema: LabelSchema | None = None,
    strict: bool = False,
    force: bool = False,
) -> PullResult:
    """Export the project through a snapshot; write its JSON and the argmine JSONL beside it."""
    export_path = Path(output) if output is not None else default_output(project_title)
    jsonl_path = export_path.with_suffix(".jsonl")
    check_output(export_path, force=force)
    check_output(jsonl_path, force=force)
    client = StudioClient(connection)
    project_id = client.find_project(project_title)
    if project_id is None:
        raise StudioError(f"Label Studio at {connection.url} has no project {project_title!r}")
    from argmine.studio.review import mark_reviewed

    # Reviewed adjudication tasks come back as ground truth (argmine adjudicate --review).
    marked = mark_reviewed(client, project_id)
    export = client.export_snapshot(project_id)
    atomic_write_text(
        export_path, json.dumps(export, ensure_ascii=False, indent=1) + "\n", force=force
    )
    articles, report = _convert(
        export,
        source=str(export_path),
        schema=schema,
        strict=strict,
        annotators=client.annotators(),
    )
    write_jsonl(jsonl_path, articles, force=force)
    return PullResult(
        articles=articles,
        report=report,
        export_path=export_path,
        jsonl_path=jsonl_path,
        notes=[f"exported project {project_title!r} ({len(export)} tasks) from {connection.url}"]
        + ([f"{len(marked)} reviewed adjudication tasks marked ground truth"] if marked else []),
    )


def import_export(
    path: str | os.PathLike[str],
    *,
    output: str | os.PathLike[str] | None = None,
    schema: LabelSchema | None = None,
    strict: bool = False,
    force: bool = False,
) -> PullResult:
    """:func:`pull_project` from an export file: the JSONL to ``output`` (if given)."""
    if output is not None:
        check_output(output, force=force)
    report = ImportReport()
    articles = load_export(path, schema=schema, strict=strict, report=report)
    jsonl_path = write_jsonl(output, articles, force=force) if output is not None else None
    return PullResult(articles=articles, report=report, jsonl_path=jsonl_path)
