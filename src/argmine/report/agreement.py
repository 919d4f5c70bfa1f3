"""The agreement report: rich tables for the terminal and one self-contained HTML page.

The page (``templates/agreement.html.j2`` with the report's ``report.css``; Jinja2,
autoescaped; no scripts, no external assets) lists every pair of annotators
(span F1 exact and overlap, Krippendorff's alpha, relation F1, label confusion), then the
articles, lowest agreement first, and for the ``top`` lowest the two annotators' spans side by
side with each span marked by how it fares in the other version (see
:func:`argmine.agreement.differences`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from argmine.agreement import TaskVersions, differences
from argmine.document import Article, LabelSchema
from argmine.report.html import _environment

__all__ = ["format_tables", "render_html"]

_FALLBACK_COLOR = "#999999"
_STATUS_TIP = {
    "same": "same span in the other version",
    "boundary": "same label, other boundary in the other version",
    "label": "another label in the other version",
    "only": "not in the other version",
}


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _tint(color: str, alpha: str = "40") -> str:
    return color + alpha if len(color) == 7 and color.startswith("#") else color


def _segments(article: Article, status: Mapping[str, str]) -> list[dict[str, Any]]:
    """The text cut into plain pieces and units (a unit overlapping an earlier one is not
    highlighted)."""
    out: list[dict[str, Any]] = []
    pos = 0
    text = article.text
    for unit in article.sorted_units():
        if unit.start < pos or unit.end > len(text):
            continue
        if unit.start > pos:
            out.append({"text": text[pos : unit.start], "label": None})
        state = status.get(unit.id, "only")
        out.append(
            {
                "text": text[unit.start : unit.end],
                "label": unit.label,
                "status": state,
                "tip": f"{unit.label}: {_STATUS_TIP[state]}",
            }
        )
        pos = unit.end
    if pos < len(text):
        out.append({"text": text[pos:], "label": None})
    return out


def render_html(
    report: Mapping[str, Any],
    tasks: Sequence[TaskVersions],
    *,
    schema: LabelSchema,
    top: int = 20,
    title: str = "argmine: inter-annotator agreement",
) -> str:
    """The agreement page for ``report`` (from :func:`argmine.agreement.agreement`)."""
    by_id = {t.id: t for t in tasks}
    labels = list(report["labels"])
    colors = {label: _FALLBACK_COLOR for label in labels}
    colors.update({s.name: s.color for s in schema.span_labels})
    for task in tasks:
        for version in task.versions.values():
            for unit in version.units:
                colors.setdefault(unit.label, _FALLBACK_COLOR)
    views = []
    for n, row in enumerate(report["articles"]):
        pair = min(row["pairs"], key=lambda p: (p["overlap_f1"], p["exact_f1"]))
        view: dict[str, Any] = {
            "id": row["id"],
            "title": row["title"] or row["id"],
            "anchor": f"a{n}",
            "pair": pair,
            "shown": n < top,
            "sides": [],
        }
        task = by_id.get(row["id"])
        if view["shown"] and task is not None:
            a, b = (task.versions[w] for w in pair["annotators"])
            view["sides"] = [
                {"annotator": pair["annotators"][0], "segments": _segments(a, differences(a, b))},
                {"annotator": pair["annotators"][1], "segments": _segments(b, differences(b, a))},
            ]
        views.append(view)
    load = report.get("load") or {}
    tasks_info = report["tasks"]
    meta = f"{len(report['annotators'])} annotators, {tasks_info['compared']} tasks compared" + (
        f" · exports: {', '.join(load.get('files', []))}" if load.get("files") else ""
    )
    template = _environment().get_template("agreement.html.j2")  # the report's one environment
    return template.render(
        title=title,
        meta=meta,
        labels=labels,
        colors=colors,
        tints={k: _tint(v) for k, v in colors.items()},
        pairs=report["pairs"],
        annotators=report["annotators"],
        alpha=report["alpha"],
        tasks=tasks_info,
        cancelled=load.get("cancelled", 0),
        views=views,
    )


def format_tables(report: Mapping[str, Any]) -> list[Any]:
    """Rich tables: one per pair of annotators (per label and micro, exact and overlap F1),
    and the lowest-agreement articles."""
    from rich.table import Table

    tables: list[Any] = []
    for pair in report["pairs"]:
        a, b = pair["annotators"]
        table = Table(
            title=f"{a} vs {b}: {pair['tasks']} tasks, {pair['units'][0]} / {pair['units'][1]} "
            f"units; alpha {_num(pair['alpha'])}"
        )
        for column in ("label", "exact F1", "overlap F1", f"{a}", f"{b}"):
            table.add_column(column, justify="left" if column == "label" else "right")
        exact, overlap = pair["spans"]["exact"], pair["spans"]["overlap"]
        for label in report["labels"]:
            e, o = exact["per_label"][label], overlap["per_label"][label]
            table.add_row(
                label, _num(e["f1"]), _num(o["f1"]), str(e["tp"] + e["fn"]), str(e["tp"] + e["fp"])
            )
        table.add_section()
        m = exact["micro"]
        table.add_row(
            "micro",
            _num(m["f1"]),
            _num(overlap["micro"]["f1"]),
            str(m["tp"] + m["fn"]),
            str(m["tp"] + m["fp"]),
        )
        rel = pair["relations"]
        table.add_row(
            "relations",
            _num(rel["labelled"]["micro"]["f1"]),
            f"{_num(rel['unlabelled']['f1'])} (label ignored)",
            str(rel["relations"][0]),
            str(rel["relations"][1]),
        )
        tables.append(table)
    if report["articles"]:
        worst = Table(title="Lowest agreement (overlap F1, the pair that agrees least)")
        for column in ("article", "pair", "exact F1", "overlap F1", "alpha", "label swaps"):
            worst.add_column(column, justify="left" if column in ("article", "pair") else "right")
        for row in report["articles"][:10]:
            pair = min(row["pairs"], key=lambda p: (p["overlap_f1"], p["exact_f1"]))
            swaps = ", ".join(f"{s['a']}→{s['b']} ×{s['count']}" for s in pair["swaps"])
            worst.add_row(
                row["id"],
                " · ".join(pair["annotators"]),
                _num(pair["exact_f1"]),
                _num(pair["overlap_f1"]),
                _num(pair["alpha"]),
                swaps,
            )
        tables.append(worst)
    return tables
