"""Outputs of ``argmine tag``: argmine JSONL, CSV, Label Studio tasks and an HTML report.

All writers take tagged :class:`~argmine.document.Article` objects (units with scores) and
produce text; :func:`write_report` writes one of them atomically. The HTML report is one
self-contained file (inline CSS, no scripts, no external assets): an index over all articles
with a per-article summary, then each article with its units highlighted in the colours of
the label schema, a legend, and the label and score of a unit on hover. Every piece of text
from an article (text, title, id, labels) is HTML-escaped.
"""

from __future__ import annotations

import csv
import html
import io
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from argmine.document import ArgUnit, Article, LabelSchema, dumps_article
from argmine.fileio import atomic_write_text

__all__ = [
    "CSV_COLUMNS",
    "FORMATS",
    "article_summary",
    "render_csv",
    "render_html",
    "render_jsonl",
    "render_labelstudio",
    "write_report",
]

log = logging.getLogger(__name__)

FORMATS = ("jsonl", "csv", "html", "labelstudio")
CSV_COLUMNS = ("article_id", "label", "start", "end", "score", "text")
#: Ratios shown in the summary, ``(numerator label, denominator label)``; shown only for
#: labels present in the schema.
DEFAULT_RATIOS: tuple[tuple[str, str], ...] = (("Evidence", "Claim"),)
_FALLBACK_COLOR = "#999999"


# -- JSONL / CSV / Label Studio --------------------------------------------------------------
def render_jsonl(articles: Iterable[Article]) -> str:
    return "".join(dumps_article(a) + "\n" for a in articles)


def render_csv(articles: Iterable[Article]) -> str:
    """One row per unit: article id, label, start, end, score (empty if none), unit text."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for article in articles:
        for unit in article.sorted_units():
            score = "" if unit.score is None else f"{unit.score:.4f}"
            writer.writerow(
                [article.id, unit.label, unit.start, unit.end, score, article.unit_text(unit)]
            )
    return buffer.getvalue()


def render_labelstudio(articles: Iterable[Article], *, model_version: str = "") -> str:
    """A JSON list of Label Studio tasks, each with the article's units as a prediction."""
    from argmine.corpora.labelstudio import article_to_task

    tasks = [
        article_to_task(a.with_annotations([]), predictions=a, model_version=model_version)
        for a in articles
    ]
    return json.dumps(tasks, ensure_ascii=False, indent=1) + "\n"


# -- summary ---------------------------------------------------------------------------------
def article_summary(
    article: Article,
    *,
    labels: Sequence[str],
    ratios: Sequence[tuple[str, str]] = DEFAULT_RATIOS,
) -> dict[str, Any]:
    """Counts per label (schema order; unknown labels after), mean score, and ratios.

    ``ratios`` such as ``("Evidence", "Claim")`` give "evidence per claim"; a ratio is
    ``None`` when the denominator count is zero, and left out when a label is not in
    ``labels``.
    """
    counts = {label: 0 for label in labels}
    for unit in article.units:
        counts[unit.label] = counts.get(unit.label, 0) + 1
    scores = [u.score for u in article.units if u.score is not None]
    summary: dict[str, Any] = {
        "id": article.id,
        "title": article.title,
        "units": len(article.units),
        "counts": counts,
        "mean_score": sum(scores) / len(scores) if scores else None,
        "ratios": {},
    }
    for num, den in ratios:
        if num in labels and den in labels:
            summary["ratios"][f"{num} per {den}"] = (
                counts[num] / counts[den] if counts[den] else None
            )
    return summary


# -- HTML --------------------------------------------------------------------------------------
def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _tint(color: str, alpha: str = "40") -> str:
    """``#rrggbb`` -> ``#rrggbbAA`` (translucent background); anything else unchanged."""
    if len(color) == 7 and color.startswith("#"):
        return color + alpha
    return color


def _drawable_units(article: Article) -> list[ArgUnit]:
    """Units in text order without overlaps (a unit overlapping an earlier one is skipped)."""
    kept: list[ArgUnit] = []
    end = 0
    skipped = []
    for unit in article.sorted_units():
        if unit.end > len(article.text):
            skipped.append(unit.id)
            continue
        if unit.start < end:
            skipped.append(unit.id)
            continue
        kept.append(unit)
        end = unit.end
    if skipped:
        log.warning(
            "article %s: units %s overlap an earlier unit or the text end; not highlighted",
            article.id,
            ", ".join(skipped),
        )
    return kept


def _article_body(article: Article, colors: Mapping[str, str]) -> str:
    parts: list[str] = []
    pos = 0
    text = article.text
    for unit in _drawable_units(article):
        parts.append(_esc(text[pos : unit.start]))
        color = colors.get(unit.label, _FALLBACK_COLOR)
        score = "" if unit.score is None else f" {unit.score:.2f}"
        tip = f"{unit.label}{score}"
        parts.append(
            f'<mark class="u" style="background:{_esc(_tint(color))};'
            f'border-bottom-color:{_esc(color)}" data-label="{_esc(unit.label)}" '
            f'data-tip="{_esc(tip)}" title="{_esc(tip)}">{_esc(text[unit.start : unit.end])}'
            "</mark>"
        )
        pos = unit.end
    parts.append(_esc(text[pos:]))
    return "".join(parts)


def _fmt_ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


_CSS = """
body{font:16px/1.55 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#222;
background:#fafafa}
main{max-width:60rem;margin:0 auto;padding:1rem 1.5rem 4rem}
h1{font-size:1.6rem;margin:.5rem 0}
h2{font-size:1.25rem;margin:2.5rem 0 .3rem;border-top:1px solid #ddd;padding-top:1rem}
.meta{color:#666;font-size:.9rem}
.legend{display:flex;flex-wrap:wrap;gap:.5rem 1rem;margin:.8rem 0;position:sticky;top:0;
background:#fafafa;padding:.4rem 0;border-bottom:1px solid #eee;z-index:2}
.legend span{padding:0 .4rem;border-bottom:3px solid;border-radius:2px}
.legend .hint{border:0;color:#777;font-size:.85rem;align-self:center}
table{border-collapse:collapse;font-size:.9rem;margin:.5rem 0}
th,td{padding:.2rem .6rem;border-bottom:1px solid #e5e5e5;text-align:right}
th:first-child,td:first-child{text-align:left}
.text{white-space:pre-wrap;background:#fff;padding:1rem 1.2rem;border:1px solid #e5e5e5;
border-radius:4px}
mark.u{color:inherit;border-bottom:3px solid;border-radius:2px;padding:0 1px;position:relative}
mark.u:hover{outline:1px solid #333}
mark.u:hover::after{content:attr(data-tip);position:absolute;left:0;top:-1.7em;
background:#333;color:#fff;font-size:.75rem;padding:.1rem .4rem;border-radius:3px;
white-space:nowrap;z-index:3}
a{color:#1a5fb4}
"""


def render_html(
    articles: Sequence[Article],
    *,
    schema: LabelSchema,
    title: str = "argmine report",
    ratios: Sequence[tuple[str, str]] = DEFAULT_RATIOS,
    model: str = "",
) -> str:
    """One self-contained HTML page: legend, index with summaries, then every article."""
    labels = list(schema.span_names)
    for article in articles:
        for unit in article.units:
            if unit.label not in labels:
                labels.append(unit.label)
    colors = {s.name: s.color for s in schema.span_labels}
    summaries = [article_summary(a, labels=labels, ratios=ratios) for a in articles]
    ratio_names = list(summaries[0]["ratios"]) if summaries else []

    out: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body><main>",
        f"<h1>{_esc(title)}</h1>",
    ]
    total = sum(s["units"] for s in summaries)
    meta = f"{len(articles)} article{'s' * (len(articles) != 1)}, {total} unit{'s' * (total != 1)}"
    if model:
        meta += f" · model {model}"
    out.append(f'<p class="meta">{_esc(meta)}</p>')
    out.append('<div class="legend" aria-label="legend">')
    for label in labels:
        color = colors.get(label, _FALLBACK_COLOR)
        out.append(
            f'<span style="background:{_esc(_tint(color))};border-color:{_esc(color)}">'
            f"{_esc(label)}</span>"
        )
    out.append('<span class="hint">hover a unit for its label and score</span></div>')

    # index
    out.append('<h2 id="index">Articles</h2><table class="index"><thead><tr><th>article</th>')
    out.extend(f"<th>{_esc(label)}</th>" for label in labels)
    out.extend(f"<th>{_esc(name)}</th>" for name in ratio_names)
    out.append("<th>mean score</th></tr></thead><tbody>")
    for n, summary in enumerate(summaries):
        name = summary["title"] or summary["id"]
        out.append(f'<tr><td><a href="#a{n}">{_esc(name)}</a></td>')
        out.extend(f"<td>{summary['counts'][label]}</td>" for label in labels)
        out.extend(f"<td>{_fmt_ratio(summary['ratios'][r])}</td>" for r in ratio_names)
        out.append(f"<td>{_fmt_ratio(summary['mean_score'])}</td></tr>")
    out.append("</tbody></table>")

    # articles
    for n, (article, summary) in enumerate(zip(articles, summaries, strict=True)):
        heading = article.title or article.id
        out.append(f'<section class="article" id="a{n}"><h2>{_esc(heading)}</h2>')
        out.append(f'<p class="meta">id {_esc(article.id)} · <a href="#index">index</a></p>')
        out.append('<table class="summary"><tr>')
        out.extend(f"<th>{_esc(label)}</th>" for label in labels)
        out.extend(f"<th>{_esc(name)}</th>" for name in ratio_names)
        out.append("</tr><tr>")
        out.extend(f"<td>{summary['counts'][label]}</td>" for label in labels)
        out.extend(f"<td>{_fmt_ratio(summary['ratios'][r])}</td>" for r in ratio_names)
        out.append("</tr></table>")
        out.append(f'<div class="text">{_article_body(article, colors)}</div></section>')
    out.append("</main></body></html>\n")
    return "\n".join(out)


# -- writing -----------------------------------------------------------------------------------
def render(
    articles: Sequence[Article],
    *,
    fmt: str,
    schema: LabelSchema | None = None,
    model_version: str = "",
    title: str = "argmine report",
) -> str:
    """The text of ``articles`` in ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "jsonl":
        return render_jsonl(articles)
    if fmt == "csv":
        return render_csv(articles)
    if fmt == "labelstudio":
        return render_labelstudio(articles, model_version=model_version)
    if fmt == "html":
        if schema is None:
            from argmine.config import load_label_schema

            schema = load_label_schema()
        return render_html(articles, schema=schema, title=title, model=model_version)
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
) -> Path:
    """Write ``articles`` to ``path`` in ``fmt``, atomically, refusing to overwrite unless
    ``force``."""
    text = render(articles, fmt=fmt, schema=schema, model_version=model_version, title=title)
    return atomic_write_text(path, text, force=force, file_mode=file_mode)
