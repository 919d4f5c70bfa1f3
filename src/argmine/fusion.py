"""Span-level ensembling: several models' units of one article fused into one set, and their
relation probabilities over the fused units averaged (no torch; numpy only).

The data flow of ``argmine tag --ensemble`` (:class:`argmine.tag.Ensemble`)::

    model k ──> its units (its own decoding, thresholds)  ─┐
                                                           ├─ fuse_units ──> fused units
    model k ──> P(pair) over the fused units (its bonus)  ─┴─ mean_pair_probs ──> decode

**Fusion is overlap-group voting.** Every model's units are pooled, most confident first; a
unit joins the group whose first unit it matches by the evaluation's overlap criterion (each
covers at least half of the other: :func:`argmine.evaluate.overlap_match`), at most one unit
per model a group, else it starts a group. A group is kept when the models in it carry at
least ``min_share`` of the total weight (``0.5``: half the models; ``1.0``: all of them). Its
span is the exact span most of its weight (times score) votes for, its label the label with
the largest weighted score, and its score that label's weighted score summed over the group
divided by the total weight: the models' mean probability, a model that did not find the unit
counting as 0. Kept groups that still overlap are resolved by score (the lower one goes).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from argmine.document import ArgUnit
from argmine.evaluate import overlap_match

__all__ = ["fuse_units", "mean_pair_probs"]


def _weights(n: int, weights: Sequence[float] | None) -> list[float]:
    if weights is None:
        return [1.0] * n
    if len(weights) != n:
        raise ValueError(f"{len(weights)} weights for {n} models")
    if any(not w > 0 for w in weights):
        raise ValueError(f"ensemble weights must be positive, got {list(weights)}")
    return [float(w) for w in weights]


def fuse_units(
    predictions: Sequence[Sequence[ArgUnit]],
    *,
    weights: Sequence[float] | None = None,
    min_share: float = 0.5,
) -> list[ArgUnit]:
    """One article's units from several models (``predictions[k]``: model k's units) fused by
    overlap-group voting (see the module docstring); ids ``T1``... in text order. A unit
    without a score counts as score 1."""
    if not 0.0 < min_share <= 1.0:
        raise ValueError(f"min_share must be in (0, 1], got {min_share!r}")
    w = _weights(len(predictions), weights)
    total = sum(w)
    items = sorted(
        (
            (w[k] * (1.0 if u.score is None else u.score), k, u)
            for k, units in enumerate(predictions)
            for u in units
        ),
        key=lambda item: (-item[0], item[1], item[2].start, item[2].end),
    )
    groups: list[list[tuple[float, int, ArgUnit]]] = []
    for item in items:
        _, k, unit = item
        best = None
        best_overlap = 0
        for group in groups:
            seed = group[0][2]
            if any(member[1] == k for member in group) or not overlap_match(seed, unit):
                continue
            inter = min(seed.end, unit.end) - max(seed.start, unit.start)
            if inter > best_overlap:
                best, best_overlap = group, inter
        if best is None:
            groups.append([item])
        else:
            best.append(item)
    fused: list[tuple[float, int, int, str]] = []
    eps = 1e-9
    for group in groups:
        support = sum(w[k] for _, k, _ in group)
        if support < min_share * total - eps:
            continue
        spans: dict[tuple[int, int], float] = defaultdict(float)
        by_label: dict[str, float] = defaultdict(float)
        for score, _, unit in group:
            spans[unit.span] += score
            by_label[unit.label] += score
        seed = group[0][2]
        # ties go to the seed's span and label (the most confident unit's)
        span = max(spans, key=lambda s: (spans[s], s == seed.span))
        label = max(by_label, key=lambda lab: (by_label[lab], lab == seed.label))
        fused.append((by_label[label] / total, span[0], span[1], label))
    kept: list[tuple[float, int, int, str]] = []
    for cand in sorted(fused, key=lambda f: (-f[0], f[1], f[2])):
        if all(cand[2] <= k[1] or cand[1] >= k[2] for k in kept):
            kept.append(cand)
    kept.sort(key=lambda f: (f[1], f[2]))
    return [
        ArgUnit(f"T{i}", start, end, label, round(min(max(score, 0.0), 1.0), 6))
        for i, (score, start, end, label) in enumerate(kept, 1)
    ]


def mean_pair_probs(
    pairs: Sequence[Sequence[tuple[int, int]]],
    probs: Sequence[np.ndarray],
    *,
    weights: Sequence[float] | None = None,
) -> tuple[list[tuple[int, int]], np.ndarray]:
    """Several models' pair probabilities over the same units (``pairs[k]``, ``probs[k]``:
    model k's candidate pairs and their ``1 + R`` class probabilities, "none" first) averaged
    with ``weights``: the union of the pairs, in first-seen order, a model without a pair
    counting it as "none" (its candidate scope left it out)."""
    if len(pairs) != len(probs) or not pairs:
        raise ValueError("mean_pair_probs needs one probability array per model's pairs")
    w = _weights(len(pairs), weights)
    width = max(np.asarray(p).shape[1] if np.asarray(p).ndim == 2 else 1 for p in probs)
    order: dict[tuple[int, int], int] = {}
    for model_pairs in pairs:
        for pair in model_pairs:
            order.setdefault(tuple(pair), len(order))
    out = np.zeros((len(order), width), dtype=np.float64)
    out[:, 0] = sum(w)  # "none" for every model, replaced where a model scores the pair
    for wk, model_pairs, model_probs in zip(w, pairs, probs, strict=True):
        p = np.asarray(model_probs, dtype=np.float64)
        if len(model_pairs) != len(p):
            raise ValueError(f"{len(model_pairs)} pairs but {len(p)} probability rows")
        if len(p) and p.shape[1] != width:
            raise ValueError(f"probability rows of width {p.shape[1]}, expected {width}")
        for row, pair in enumerate(model_pairs):
            r = order[tuple(pair)]
            out[r, 0] -= wk
            out[r] += wk * p[row]
    return list(order), out / sum(w)
