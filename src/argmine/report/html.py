"""The HTML report, rendered from the Jinja2 templates in ``templates/`` (autoescaped).

One self-contained file (inline CSS and SVG, no scripts, no external assets):

- an index over all articles: counts per label, evidence per claim, relations, mean score;
  then the argument structure across the corpus (claims with no support, evidence per claim,
  share of claims attacked, per outlet or per article, as small SVG bar charts; see
  :mod:`argmine.report.summary`) and the list of unsupported claims, each linked to its span;
- each article: its summary, its argument map (:mod:`argmine.report.argmap`: conclusions on
  top, claims below, evidence below those; arrows in the relation colours of the label
  schema; a box's full text on hover; each box links to its span), and the text with its
  units highlighted in the schema's colours, label and score on hover.

Every piece of text from an article (text, title, id, labels, meta) reaches the page through
Jinja2's autoescaping; the templates mark nothing safe.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import jinja2

from argmine.document import ArgUnit, Article, LabelSchema
from argmine.errors import counted
from argmine.report import argmap as argmap_mod
from argmine.report.summary import (
    CLAIM_LABELS,
    DEFAULT_RATIOS,
    article_structure,
    article_summary,
    corpus_summary,
)

__all__ = ["MAX_CHART_BARS", "render_html"]

log = logging.getLogger(__name__)

_FALLBACK_COLOR = "#999999"
#: Relation colours when the schema has none for a label.
_RELATION_FALLBACK = {"supports": "#2ca02c", "attacks": "#d62728"}
#: Bars per corpus chart; groups beyond it (the smallest by claims) are summarised in a line.
MAX_CHART_BARS = 30
_SAFE_ID = re.compile(r"[A-Za-z0-9_.:-]+")


def _tint(color: str, alpha: str = "40") -> str:
    """``#rrggbb`` -> ``#rrggbbAA`` (translucent background); anything else unchanged."""
    if len(color) == 7 and color.startswith("#"):
        return color + alpha
    return color


def _fmt_ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _fmt_pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def _fmt_score(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("argmine.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        ratio=_fmt_ratio,
        pct=_fmt_pct,
        score=_fmt_score,
        px=lambda v: f"{v:.1f}",
        num=lambda v: "–" if v is None else f"{v:.3f}",  # agreement figures
    )
    return env


def _drawable_units(article: Article) -> list[ArgUnit]:
    """Units in text order without overlaps (a unit overlapping an earlier one is skipped)."""
    kept: list[ArgUnit] = []
    end = 0
    skipped = []
    for unit in article.sorted_units():
        if unit.end > len(article.text) or unit.start < end:
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


def _anchors(article: Article, prefix: str) -> dict[str, str]:
    """Unit id -> HTML id of its span, ``<prefix>-<unit id>`` (``<prefix>-u<n>`` for unit ids
    that are not plain ``[A-Za-z0-9_.:-]`` or would repeat)."""
    anchors: dict[str, str] = {}
    taken: set[str] = set()
    for n, unit in enumerate(article.units):
        anchor = f"{prefix}-{unit.id}" if _SAFE_ID.fullmatch(unit.id) else f"{prefix}-u{n}"
        if anchor in taken:
            anchor = f"{prefix}-u{n}"
        anchors[unit.id] = anchor
        taken.add(anchor)
    return anchors


def _segments(
    article: Article, colors: Mapping[str, str], anchors: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The article text cut into plain pieces and unit pieces (for the template)."""
    out: list[dict[str, Any]] = []
    pos = 0
    text = article.text
    drawable = _drawable_units(article)
    for unit in drawable:
        if unit.start > pos:
            out.append({"text": text[pos : unit.start], "unit": None})
        color = colors.get(unit.label, _FALLBACK_COLOR)
        score = "" if unit.score is None else f" {unit.score:.2f}"
        out.append(
            {
                "text": text[unit.start : unit.end],
                "unit": unit,
                "anchor": anchors[unit.id],
                "color": color,
                "tint": _tint(color),
                "tip": f"{unit.label}{score}",
            }
        )
        pos = unit.end
    if pos < len(text):
        out.append({"text": text[pos:], "unit": None})
    return out


def _relation_colors(schema: LabelSchema, articles: Sequence[Article]) -> dict[str, str]:
    colors = {r.name: r.color for r in schema.relation_labels}
    for article in articles:
        for rel in article.relations:
            colors.setdefault(rel.label, _RELATION_FALLBACK.get(rel.label, "#888888"))
    return colors


def _chart_rows(groups: Sequence[Any], value, display, limit: int) -> dict[str, Any]:
    rows = [
        {"name": g.name, "value": value(g), "display": display(g), "articles": g.articles}
        for g in groups
    ]
    shown = rows[:limit]
    top = max((r["value"] or 0 for r in shown), default=0)
    return {"rows": shown, "max": top or 1, "left_out": len(rows) - len(shown)}


def render_html(
    articles: Sequence[Article],
    *,
    schema: LabelSchema,
    title: str = "argmine report",
    ratios: Sequence[tuple[str, str]] = DEFAULT_RATIOS,
    model: str = "",
    map_engine: str = "auto",
) -> str:
    """One self-contained HTML page: legend, index and corpus charts, then every article
    with its argument map (``map_engine``: auto, networkx or dot; see
    :mod:`argmine.report.argmap`)."""
    labels = list(schema.span_names)
    for article in articles:
        for unit in article.units:
            if unit.label not in labels:
                labels.append(unit.label)
    colors = {s.name: s.color for s in schema.span_labels}
    rel_colors = _relation_colors(schema, articles)
    summaries = [article_summary(a, labels=labels, ratios=ratios) for a in articles]
    ratio_names = list(summaries[0]["ratios"]) if summaries else []
    structures = [article_structure(a) for a in articles]
    grouping, groups, total = corpus_summary(articles, structures)
    # Groups with the most claims first when there are more than the charts show.
    if len(groups) > MAX_CHART_BARS:
        groups = sorted(groups, key=lambda g: -g.claims)

    views = []
    unsupported = []
    for n, (article, summary, structure) in enumerate(
        zip(articles, summaries, structures, strict=True)
    ):
        prefix = f"a{n}"
        anchors = _anchors(article, prefix)
        amap = argmap_mod.layout_map(article, label_order=labels, engine=map_engine)
        layers = []
        for k, layer in enumerate(amap.layers):
            members = [node for node in amap.nodes if node.layer == k]
            layers.append(
                {
                    "label": layer.label,
                    "count": layer.count,
                    "top": layer.y,
                    "bottom": max(node.y + node.height for node in members),
                    "color": colors.get(layer.label, _FALLBACK_COLOR),
                }
            )
        views.append(
            {
                "n": n,
                "anchor": prefix,
                "article": article,
                "summary": summary,
                "structure": structure,
                "segments": _segments(article, colors, anchors),
                "anchors": anchors,
                "map": amap,
                "layers": layers,
                "markers": {label: f"{prefix}-arrow{i}" for i, label in enumerate(rel_colors)},
            }
        )
        for unit in structure.unsupported:
            unsupported.append(
                {
                    "article": article,
                    "unit": unit,
                    "anchor": anchors[unit.id],
                    "text": " ".join(article.unit_text(unit).split()),
                }
            )

    charts = [
        {
            "title": "Claims with no support",
            "color": "#8a6d00",
            **_chart_rows(
                groups,
                lambda g: g.unsupported,
                lambda g: f"{g.unsupported} of {g.claims}",
                MAX_CHART_BARS,
            ),
        },
        {
            "title": "Evidence per claim",
            "color": colors.get("Evidence", "#2ca02c"),
            **_chart_rows(
                groups,
                lambda g: g.evidence_per_claim,
                lambda g: _fmt_ratio(g.evidence_per_claim),
                MAX_CHART_BARS,
            ),
        },
        {
            "title": "Share of claims attacked",
            "color": rel_colors.get("attacks", "#d62728"),
            "fixed_max": 1.0,
            **_chart_rows(
                groups,
                lambda g: g.attacked_share,
                lambda g: _fmt_pct(g.attacked_share),
                MAX_CHART_BARS,
            ),
        },
    ]
    for chart in charts:
        if chart.pop("fixed_max", None):
            chart["max"] = 1.0

    total_units = sum(s["units"] for s in summaries)
    total_relations = sum(s["relations"] for s in summaries)
    meta = (
        f"{counted(len(articles), 'article')}, {counted(total_units, 'unit')}, "
        f"{counted(total_relations, 'relation')}"
    )
    if model:
        meta += f" · model {model}"
    template = _environment().get_template("report.html.j2")
    return template.render(
        title=title,
        meta=meta,
        labels=labels,
        colors=colors,
        tints={label: _tint(colors.get(label, _FALLBACK_COLOR)) for label in labels},
        fallback_color=_FALLBACK_COLOR,
        rel_colors=rel_colors,
        ratio_names=ratio_names,
        views=views,
        grouping=grouping,
        groups=groups,
        total=total,
        # the claim labels this report has (not MajorClaim in a Claim / Evidence / Conclusion
        # report), in the order the counts use
        claim_labels=[label for label in CLAIM_LABELS if label in labels] or list(CLAIM_LABELS),
        charts=charts,
        unsupported=unsupported,
        geometry=argmap_mod,
    )
