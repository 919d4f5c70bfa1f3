"""Span-level metrics for argument units and relations.

Two matching criteria, as used in the field:

- ``exact``: a predicted unit matches a gold unit with the same label, start and end.
- ``overlap``: same label, and the overlap covers at least half of the gold unit *and* at least
  half of the predicted unit (the Feedback Prize criterion; Eger et al. 2017's 50% match).

Matching is one-to-one: each gold unit is matched by at most one prediction, pairs with the
largest overlap first. Per class, F1 = TP / (TP + 0.5 (FP + FN)); macro averages per-class
precision, recall and F1 over the labels, micro pools the counts. The confusion matrix pairs
units by the overlap criterion regardless of label; an unmatched unit meets ``"O"``.

Articles are paired by id. A gold article without a prediction counts all its units as missed; a
prediction for an article without gold counts all its units as false positives.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from argmine.document import ArgUnit, Article

OUTSIDE = "O"


def _overlap(a: ArgUnit, b: ArgUnit) -> int:
    return max(0, min(a.end, b.end) - max(a.start, b.start))


def exact_match(gold: ArgUnit, pred: ArgUnit) -> bool:
    return gold.start == pred.start and gold.end == pred.end


def overlap_match(gold: ArgUnit, pred: ArgUnit) -> bool:
    inter = _overlap(gold, pred)
    return inter * 2 >= (gold.end - gold.start) and inter * 2 >= (pred.end - pred.start)


def match_units(
    gold: Sequence[ArgUnit],
    pred: Sequence[ArgUnit],
    *,
    criterion: Callable[[ArgUnit, ArgUnit], bool],
    same_label: bool = True,
) -> list[tuple[int, int]]:
    """One-to-one pairs ``(gold_index, pred_index)`` that satisfy ``criterion``."""
    candidates = []
    for gi, g in enumerate(gold):
        for pi, p in enumerate(pred):
            if p.end <= g.start or p.start >= g.end:
                continue
            if same_label and g.label != p.label:
                continue
            if criterion(g, p):
                candidates.append((-_overlap(g, p), gi, pi))
    candidates.sort()
    used_gold: set[int] = set()
    used_pred: set[int] = set()
    pairs = []
    for _, gi, pi in candidates:
        if gi in used_gold or pi in used_pred:
            continue
        used_gold.add(gi)
        used_pred.add(pi)
        pairs.append((gi, pi))
    return sorted(pairs)


def _prf(tp: int, fp: int, fn: int) -> dict[str, float | int]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = tp / (tp + 0.5 * (fp + fn)) if tp + fp + fn else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn}


def _pair_articles(
    gold: Iterable[Article], pred: Iterable[Article]
) -> list[tuple[list[ArgUnit], list[ArgUnit]]]:
    gold_by_id = {a.id: a for a in gold}
    pred_by_id = {a.id: a for a in pred}
    ids = list(gold_by_id) + [i for i in pred_by_id if i not in gold_by_id]
    return [
        (
            list(gold_by_id[i].units) if i in gold_by_id else [],
            list(pred_by_id[i].units) if i in pred_by_id else [],
        )
        for i in ids
    ]


def _scores_for(
    pairs: list[tuple[list[ArgUnit], list[ArgUnit]]],
    labels: Sequence[str],
    criterion: Callable[[ArgUnit, ArgUnit], bool],
) -> dict[str, Any]:
    counts = {label: [0, 0, 0] for label in labels}
    confusion_labels = [*labels, OUTSIDE]
    index = {label: i for i, label in enumerate(confusion_labels)}
    matrix = [[0] * len(confusion_labels) for _ in confusion_labels]
    for gold_units, pred_units in pairs:
        gold_units = [u for u in gold_units if u.label in counts]
        pred_units = [u for u in pred_units if u.label in counts]
        matched = match_units(gold_units, pred_units, criterion=criterion)
        matched_gold = {gi for gi, _ in matched}
        matched_pred = {pi for _, pi in matched}
        for gi, _ in matched:
            counts[gold_units[gi].label][0] += 1
        for pi, unit in enumerate(pred_units):
            if pi not in matched_pred:
                counts[unit.label][1] += 1
        for gi, unit in enumerate(gold_units):
            if gi not in matched_gold:
                counts[unit.label][2] += 1
        # Confusion: pair regardless of label.
        any_pairs = match_units(gold_units, pred_units, criterion=criterion, same_label=False)
        seen_gold = {gi for gi, _ in any_pairs}
        seen_pred = {pi for _, pi in any_pairs}
        for gi, pi in any_pairs:
            matrix[index[gold_units[gi].label]][index[pred_units[pi].label]] += 1
        for gi, unit in enumerate(gold_units):
            if gi not in seen_gold:
                matrix[index[unit.label]][index[OUTSIDE]] += 1
        for pi, unit in enumerate(pred_units):
            if pi not in seen_pred:
                matrix[index[OUTSIDE]][index[unit.label]] += 1
    per_label = {label: _prf(*counts[label]) for label in labels}
    tp, fp, fn = (sum(c[k] for c in counts.values()) for k in range(3))
    n = len(labels) or 1
    macro = {
        key: sum(per_label[label][key] for label in labels) / n
        for key in ("precision", "recall", "f1")
    }
    return {
        "micro": _prf(tp, fp, fn),
        "macro": macro,
        "per_label": per_label,
        "confusion": {"labels": confusion_labels, "matrix": matrix},
    }


def span_scores(
    gold: Sequence[Article], pred: Sequence[Article], *, labels: Sequence[str]
) -> dict[str, Any]:
    """Exact and overlap span scores; see the module docstring for the definitions."""
    pairs = _pair_articles(gold, pred)
    return {
        "exact": _scores_for(pairs, labels, exact_match),
        "overlap": _scores_for(pairs, labels, overlap_match),
        "articles": len(pairs),
        "gold_units": sum(len(g) for g, _ in pairs),
        "pred_units": sum(len(p) for _, p in pairs),
    }


def relation_scores(
    gold: Sequence[Article], pred: Sequence[Article], *, labels: Sequence[str]
) -> dict[str, Any]:
    """Relation F1: a predicted relation is correct when its head and tail units overlap-match
    the gold relation's head and tail units (same unit labels) and the relation label agrees."""
    gold_by_id = {a.id: a for a in gold}
    pred_by_id = {a.id: a for a in pred}
    counts = {label: [0, 0, 0] for label in labels}
    for article_id in dict.fromkeys([*gold_by_id, *pred_by_id]):
        g = gold_by_id.get(article_id)
        p = pred_by_id.get(article_id)
        g_rels = [r for r in (g.relations if g else []) if r.label in counts]
        p_rels = [r for r in (p.relations if p else []) if r.label in counts]
        g_units = list(g.units) if g else []
        p_units = list(p.units) if p else []
        unit_map = {
            p_units[pi].id: g_units[gi].id
            for gi, pi in match_units(g_units, p_units, criterion=overlap_match)
        }
        gold_keys = {(r.head, r.tail, r.label) for r in g_rels}
        matched: set[tuple[str, str, str]] = set()
        for rel in p_rels:
            key = (unit_map.get(rel.head, ""), unit_map.get(rel.tail, ""), rel.label)
            if key in gold_keys and key not in matched:
                matched.add(key)
                counts[rel.label][0] += 1
            else:
                counts[rel.label][1] += 1
        for key in gold_keys - matched:
            counts[key[2]][2] += 1
    per_label = {label: _prf(*counts[label]) for label in labels}
    tp, fp, fn = (sum(c[k] for c in counts.values()) for k in range(3))
    return {"micro": _prf(tp, fp, fn), "per_label": per_label}


def format_table(scores: Mapping[str, Any], *, title: str = "Span scores"):  # -> rich Table
    """A rich table: one row per label plus micro and macro, exact and overlap P/R/F1."""
    from rich.table import Table

    table = Table(title=title)
    table.add_column("label")
    for crit in ("exact", "overlap"):
        for key in ("P", "R", "F1"):
            table.add_column(f"{crit} {key}", justify="right")
    table.add_column("gold", justify="right")
    table.add_column("pred", justify="right")

    def cells(row: Mapping[str, Any]) -> list[str]:
        return [f"{row[k]:.3f}" for k in ("precision", "recall", "f1")]

    exact, overlap = scores["exact"], scores["overlap"]
    for label, row in exact["per_label"].items():
        orow = overlap["per_label"][label]
        table.add_row(
            label,
            *cells(row),
            *cells(orow),
            str(row["tp"] + row["fn"]),
            str(row["tp"] + row["fp"]),
        )
    table.add_section()
    micro, omicro = exact["micro"], overlap["micro"]
    table.add_row(
        "micro",
        *cells(micro),
        *cells(omicro),
        str(micro["tp"] + micro["fn"]),
        str(micro["tp"] + micro["fp"]),
    )
    table.add_row("macro", *cells(exact["macro"]), *cells(overlap["macro"]), "", "")
    return table


def format_confusion(scores: Mapping[str, Any], *, criterion: str = "overlap"):
    """A rich table of the span-label confusion matrix (rows gold, columns predicted)."""
    from rich.table import Table

    conf = scores[criterion]["confusion"]
    table = Table(title=f"Confusion ({criterion} match): rows gold, columns predicted")
    table.add_column("gold \\ pred")
    for label in conf["labels"]:
        table.add_column(label, justify="right")
    for label, row in zip(conf["labels"], conf["matrix"], strict=True):
        table.add_row(label, *(str(v) for v in row))
    return table
