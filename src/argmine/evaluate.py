"""Span-level metrics for argument units and relations.

Two matching criteria, as used in the field:

- ``exact``: a predicted unit matches a gold unit with the same label, start and end.
- ``overlap``: same label, and the overlap covers at least half of the gold unit *and* at least
  half of the predicted unit (the Feedback Prize criterion; Eger et al. 2017's 50% match).

Matching is one-to-one: each gold unit is matched by at most one prediction, pairs with the
largest overlap first. Per class, F1 = TP / (TP + 0.5 (FP + FN)); macro averages per-class
precision, recall and F1 over the labels that occur in the gold or the predictions, micro pools
the counts. The confusion matrix pairs
units by the overlap criterion regardless of label; an unmatched unit meets ``"O"``.

Articles are paired by id. A gold article without a prediction counts all its units as missed; a
prediction for an article without gold counts all its units as false positives.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from argmine.document import ArgUnit, Article

OUTSIDE = "O"


def _macro(
    per_label: Mapping[str, Mapping[str, float]], counts: Mapping[str, Sequence[int]]
) -> dict[str, float]:
    """Per-label precision, recall and F1 averaged over the labels that occur in the gold or
    the predictions (a label neither has, e.g. Conclusion on Webis, is not a zero)."""
    seen = [label for label, c in counts.items() if any(c)] or list(counts)
    n = len(seen) or 1
    return {
        key: sum(per_label[label][key] for label in seen) / n
        for key in ("precision", "recall", "f1")
    }


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
    return {
        "micro": _prf(tp, fp, fn),
        "macro": _macro(per_label, counts),
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


def _relation_counts(
    gold: Sequence[Article],
    pred: Sequence[Article],
    *,
    labels: Sequence[str],
    criterion: Callable[[ArgUnit, ArgUnit], bool],
    same_unit_label: bool,
    with_label: bool,
) -> dict[str, list[int]]:
    """``{label or "link": [tp, fp, fn]}`` over articles paired by id."""
    gold_by_id = {a.id: a for a in gold}
    pred_by_id = {a.id: a for a in pred}
    keys = list(labels) if with_label else ["link"]
    counts = {key: [0, 0, 0] for key in keys}
    for article_id in dict.fromkeys([*gold_by_id, *pred_by_id]):
        g = gold_by_id.get(article_id)
        p = pred_by_id.get(article_id)
        g_rels = [r for r in (g.relations if g else []) if r.label in labels]
        p_rels = [r for r in (p.relations if p else []) if r.label in labels]
        g_units = list(g.units) if g else []
        p_units = list(p.units) if p else []
        unit_map = {
            p_units[pi].id: g_units[gi].id
            for gi, pi in match_units(
                g_units, p_units, criterion=criterion, same_label=same_unit_label
            )
        }

        gold_keys = {(r.head, r.tail, r.label if with_label else "link") for r in g_rels}
        matched: set[tuple[str, str, str]] = set()
        for rel in p_rels:
            key = (
                unit_map.get(rel.head, ""),
                unit_map.get(rel.tail, ""),
                rel.label if with_label else "link",
            )
            bucket = key[2]
            if key in gold_keys and key not in matched and key[0] and key[1]:
                matched.add(key)
                counts[bucket][0] += 1
            else:
                counts[bucket][1] += 1
        for key in gold_keys - matched:
            counts[key[2]][2] += 1
    return counts


def relation_scores(
    gold: Sequence[Article],
    pred: Sequence[Article],
    *,
    labels: Sequence[str],
    same_unit_label: bool = False,
) -> dict[str, Any]:
    """Relation precision, recall and F1, under both unit criteria (``exact``, ``overlap``).

    A predicted relation is correct when its head and its tail each match a gold unit
    one-to-one (the unit matching of :func:`span_scores`, by the criterion) and those two gold
    units are the head and tail of a gold relation with the same label. The endpoint units'
    labels need not agree (``same_unit_label=True`` demands it): the span scores judge unit
    labels, this score the argument structure. ``link`` is the same with the relation label
    ignored. With gold units given (``argmine evaluate --gold-units``, the relation model alone)
    every unit matches itself. The top-level ``micro``/``per_label`` are the overlap ones.
    """
    out: dict[str, Any] = {}
    for name, criterion in (("exact", exact_match), ("overlap", overlap_match)):
        opts = {"labels": labels, "criterion": criterion, "same_unit_label": same_unit_label}
        counts = _relation_counts(gold, pred, with_label=True, **opts)
        link = _relation_counts(gold, pred, with_label=False, **opts)["link"]
        per_label = {label: _prf(*counts[label]) for label in labels}
        tp, fp, fn = (sum(c[k] for c in counts.values()) for k in range(3))
        out[name] = {
            "micro": _prf(tp, fp, fn),
            "macro": _macro(per_label, {label: counts[label] for label in labels}),
            "per_label": per_label,
            "link": _prf(*link),
        }
    out["micro"] = out["overlap"]["micro"]
    out["per_label"] = out["overlap"]["per_label"]
    out["gold_relations"] = sum(1 for a in gold for r in a.relations if r.label in labels)
    out["pred_relations"] = sum(1 for a in pred for r in a.relations if r.label in labels)
    return out


def attachment_counts(gold: Sequence[Article], pred: Sequence[Article]) -> dict[str, int]:
    """Counts for the attachment task over gold units: every ordered pair ``i != j`` of units
    of an article is *attached* when some relation (any label) has head ``i`` and tail ``j``.
    ``pred`` must carry the same unit ids (gold units given)."""
    pred_by_id = {a.id: a for a in pred}
    tp = fp = fn = tn = 0
    for g in gold:
        p = pred_by_id.get(g.id)
        ids = [u.id for u in g.units]
        gold_pairs = {(r.head, r.tail) for r in g.relations}
        pred_pairs = {(r.head, r.tail) for r in (p.relations if p else [])}
        for h in ids:
            for t in ids:
                if h == t:
                    continue
                in_gold, in_pred = (h, t) in gold_pairs, (h, t) in pred_pairs
                tp += in_gold and in_pred
                fp += in_pred and not in_gold
                fn += in_gold and not in_pred
                tn += not in_gold and not in_pred
    return {"tp": tp, "fp": fp, "fn": fn, "tn": tn}


def attachment_from_counts(counts: Mapping[str, int]) -> dict[str, float]:
    """Attach-class F1, no-attach F1 and their mean (macro F1), the field's microtext figure."""
    tp, fp, fn, tn = (int(counts[k]) for k in ("tp", "fp", "fn", "tn"))
    attach = _prf(tp, fp, fn)["f1"]
    none = _prf(tn, fn, fp)["f1"]
    return {"attach_f1": attach, "no_attach_f1": none, "macro_f1": (attach + none) / 2, **counts}


def attachment_scores(gold: Sequence[Article], pred: Sequence[Article]) -> dict[str, float]:
    """:func:`attachment_from_counts` of :func:`attachment_counts`."""
    return attachment_from_counts(attachment_counts(gold, pred))


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


def format_comparison(scores: Mapping[str, Any], *, title: str = "Model vs rules"):
    """A rich table: the model and the rule baseline side by side on the same articles
    (overlap and exact span F1, end-to-end relation F1 and link F1)."""
    from rich.table import Table

    table = Table(title=title)
    for name in ("predictor", "overlap F1", "exact F1", "relation F1", "link F1"):
        table.add_column(name, justify="left" if name == "predictor" else "right")

    def row(name: str, s: Mapping[str, Any]) -> None:
        rel = s.get("relations")
        table.add_row(
            name,
            f"{s['overlap']['micro']['f1']:.3f}",
            f"{s['exact']['micro']['f1']:.3f}",
            f"{rel['overlap']['micro']['f1']:.3f}" if rel else "-",
            f"{rel['overlap']['link']['f1']:.3f}" if rel else "-",
        )

    row(f"model ({scores.get('unit_mode', 'bio')} units)", scores)
    if "rules" in scores:
        row("rules (argmine prelabel)", scores["rules"])
    if "relations_gold_units" in scores:
        rel = scores["relations_gold_units"]["overlap"]
        att = scores.get("attachment_gold_units", {})
        table.caption = (
            f"relation model alone (gold units): relation F1 {rel['micro']['f1']:.3f}, "
            f"link F1 {rel['link']['f1']:.3f}"
            + (f", attachment macro F1 {att['macro_f1']:.3f}" if att else "")
        )
    return table
