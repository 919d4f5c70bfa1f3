"""Outputs of ``argmine tag``: argmine JSONL, CSV, AIF, Label Studio tasks and an HTML report.

All writers take tagged :class:`~argmine.document.Article` objects (units and relations with
scores) and produce text; :func:`write_report` writes one of them atomically, refusing to
overwrite unless ``force``:

- ``jsonl``: argmine JSONL (:mod:`argmine.document`);
- ``csv``: one row per unit (:data:`CSV_COLUMNS`), and beside it ``NAME.relations.csv``
  (:func:`relations_csv_path`) with one row per relation (:data:`RELATION_CSV_COLUMNS`);
- ``aif``: one Argument Interchange Format document per article, JSON Lines
  (:mod:`argmine.report.aif`);
- ``labelstudio``: a JSON list of Label Studio tasks with the units as predictions;
- ``html``: one self-contained page built from Jinja2 templates with autoescaping
  (:mod:`argmine.report.html`): index and corpus charts, then each article's argument map
  (:mod:`argmine.report.argmap`) and highlighted text.

This package imports neither torch nor a tokenizer.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from argmine.document import Article, LabelSchema
from argmine.fileio import atomic_write_text, check_output
from argmine.report.aif import article_to_aif, render_aif
from argmine.report.html import render_html
from argmine.report.summary import (
    DEFAULT_RATIOS,
    article_structure,
    article_summary,
    corpus_summary,
    outlet_of,
)
from argmine.report.tables import (
    CSV_COLUMNS,
    RELATION_CSV_COLUMNS,
    render_csv,
    render_jsonl,
    render_labelstudio,
    render_relations_csv,
)

__all__ = [
    "CSV_COLUMNS",
    "DEFAULT_RATIOS",
    "FORMATS",
    "RELATION_CSV_COLUMNS",
    "article_structure",
    "article_summary",
    "article_to_aif",
    "corpus_summary",
    "outlet_of",
    "output_paths",
    "relations_csv_path",
    "render",
    "render_aif",
    "render_csv",
    "render_html",
    "render_jsonl",
    "render_labelstudio",
    "render_relations_csv",
    "write_report",
]

FORMATS = ("jsonl", "csv", "html", "labelstudio", "aif")


def relations_csv_path(path: str | Path) -> Path:
    """The relation CSV beside the unit CSV ``path``: ``units.csv`` -> ``units.relations.csv``
    (a name not ending in ``.csv`` gets ``.relations.csv`` appended)."""
    target = Path(path)
    stem = target.name[:-4] if target.name.lower().endswith(".csv") else target.name
    return target.with_name(stem + ".relations.csv")


def output_paths(path: str | Path, *, fmt: str) -> list[Path]:
    """Every file :func:`write_report` writes for ``path`` in ``fmt`` (the target first)."""
    target = Path(path)
    return [target, relations_csv_path(target)] if fmt == "csv" else [target]


def render(
    articles: Sequence[Article],
    *,
    fmt: str,
    schema: LabelSchema | None = None,
    model_version: str = "",
    title: str = "argmine report",
    map_engine: str = "auto",
) -> str:
    """The text of ``articles`` in ``fmt`` (one of :data:`FORMATS`; for ``csv`` the unit
    CSV, :func:`render_relations_csv` gives the relation CSV)."""
    if fmt == "jsonl":
        return render_jsonl(articles)
    if fmt == "csv":
        return render_csv(articles)
    if fmt == "aif":
        return render_aif(articles)
    if fmt == "labelstudio":
        return render_labelstudio(articles, model_version=model_version)
    if fmt == "html":
        if schema is None:
            from argmine.config import load_label_schema

            schema = load_label_schema()
        return render_html(
            articles, schema=schema, title=title, model=model_version, map_engine=map_engine
        )
    raise ValueError(f"unknown output format {fmt!r} (expected one of {', '.join(FORMATS)})")


def write_report(
    articles: Sequence[Article],
    path: str | Path,
    *,
    fmt: str,
    schema: LabelSchema | None = None,
    force: bool = False,
    model_version: str = "",
    title: str = "argmine report",
    file_mode: int | None = None,
    map_engine: str = "auto",
) -> Path:
    """Write ``articles`` to ``path`` in ``fmt``, atomically, refusing to overwrite unless
    ``force``. For ``csv`` the relation CSV is written beside it (:func:`relations_csv_path`);
    neither file is written when either exists without ``force``."""
    paths = output_paths(path, fmt=fmt)
    for target in paths:
        check_output(target, force=force)
    text = render(
        articles,
        fmt=fmt,
        schema=schema,
        model_version=model_version,
        title=title,
        map_engine=map_engine,
    )
    if fmt == "csv":
        atomic_write_text(
            paths[1], render_relations_csv(articles), force=force, file_mode=file_mode
        )
    return atomic_write_text(path, text, force=force, file_mode=file_mode)
