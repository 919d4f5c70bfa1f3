"""Units and relations <-> the inputs of the unit and relation heads, and relation decoding.

No torch; numpy only. The data flow of the argument-structure task::

    Article(units, relations)
        ──sorted units, paragraph of each unit (blank-line blocks)──>
        ──candidate_pairs(scope, max_distance)──> ordered pairs (head i, tail j), i != j
        ──pair_features──> distance / order / paragraph / position / endpoint-label features
                           (optionally: does the rules' nearest-unit linking link the pair)
        ──gold relations──> pair label ids (0 = no relation, 1.. = relation labels)  [training]
    model (unit vectors pooled from the encoder's token states; a pair scorer over head, tail,
           their product and the pair features) ──> per-pair probabilities (none, label...)
        ──decode_relations: independent | one_parent | tree──> ArgRelation(head, tail, label, score)

Candidate scopes
----------------
``paragraph``: head and tail in the same paragraph; ``distance``: at most ``max_distance`` units
apart in text order; ``paragraph_or_distance``: either; ``all``: every ordered pair. What share
of gold relations each scope covers is measured by :func:`scope_coverage` (``benchmarks/
relations.py`` prints it per corpus), so the scope is a measured choice, not a guess.

Decoding
--------
``independent``: every pair whose relation probability (1 - P(none)) reaches the threshold.
``one_parent``: each unit supports or attacks at most one target, its most probable one, if that
reaches the threshold (essays and microtexts are annotated this way). ``tree``: a maximum
spanning arborescence (Chu-Liu/Edmonds on the dense score matrix, :func:`max_arborescence`)
over the units plus a virtual root, edge weights log-probabilities, with as few roots as the
candidate pairs allow: every unit but the root(s) gets exactly one parent, no cycles
(microtexts and essays are such trees; the threshold does not apply).

Rule bonus
----------
Before decoding, ``rule_bonus`` (``relations.rule_bonus``; ``auto``: chosen on dev from
:data:`RULE_BONUS_GRID` with the mode and the threshold) adds a constant to the attachment
logit of every pair the rule pre-annotator's nearest-unit linking links
(:func:`with_rule_bonus`): a log-linear fusion of the head with the rule, weighted on dev. With
few training articles the head ranks the rule's target below others even when the rule link is
one of its pair features; the bonus is fitted on dev, not on the articles the head memorised.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from argmine.document import ArgRelation, ArgUnit, Article

__all__ = [
    "DECODINGS",
    "RULE_BONUS_GRID",
    "SCOPES",
    "UNIT_RULE_BONUS_GRID",
    "PairEncoder",
    "clean_relations",
    "decode_relations",
    "labels_from_structure",
    "max_arborescence",
    "paragraph_ids",
    "rule_candidates",
    "rule_links_of",
    "scope_coverage",
    "segment_gold_labels",
    "unit_token_ranges",
    "with_rule_bonus",
    "with_rule_labels",
]

#: the unit rule bonuses ``units.rule_bonus: auto`` tries on dev (0: the unit head alone)
UNIT_RULE_BONUS_GRID = (0.0, 0.5, 1.0, 2.0, 4.0)
#: the rule bonuses ``relations.rule_bonus: auto`` tries on dev (0: the head alone)
RULE_BONUS_GRID = (0.0, 1.0, 2.0, 4.0, 8.0)

log = logging.getLogger(__name__)

SCOPES = ("paragraph", "distance", "paragraph_or_distance", "all")
DECODINGS = ("independent", "one_parent", "tree")
NONE = 0  # pair label id of "no relation"
#: training pair label of every in-window pair of a head unit whose gold parents all lie in
#: another window: the relation loss leaves that unit out (argmine.modeling.relation_loss)
PARENT_OUTSIDE = -1

_BLANK = re.compile(r"\n[ \t\r]*\n")
_DIST_BUCKETS = (-3, -2, -1, 1, 2, 3)  # plus "< -3" and "> 3"


def paragraph_ids(text: str, starts: Sequence[int]) -> list[int]:
    """The paragraph (blank-line separated block, counted from 0) of each character offset."""
    breaks = [m.end() for m in _BLANK.finditer(text)]
    return [int(np.searchsorted(breaks, s, side="right")) for s in starts]


def clean_relations(article: Article, labels: Sequence[str]) -> list[ArgRelation]:
    """The article's relations usable for training: known label, both ends present, no
    self-loop, one relation per ordered pair. Each problem is logged once with the article id
    and the relation skipped."""
    unit_ids = {u.id for u in article.units}
    kept: list[ArgRelation] = []
    seen: set[tuple[str, str]] = set()
    problems: dict[str, list[str]] = {}
    for rel in article.relations:
        if rel.label not in labels:
            problems.setdefault(f"unknown relation label {rel.label!r}", []).append(rel.id)
        elif rel.head not in unit_ids or rel.tail not in unit_ids:
            problems.setdefault("head or tail unit missing", []).append(rel.id)
        elif rel.head == rel.tail:  # pragma: no cover - ArgRelation refuses self-loops
            problems.setdefault("self-loop", []).append(rel.id)
        elif (rel.head, rel.tail) in seen:
            problems.setdefault("duplicate head/tail pair", []).append(rel.id)
        else:
            seen.add((rel.head, rel.tail))
            kept.append(rel)
    for problem, ids in problems.items():
        log.warning(
            "article %s: skipped %d relation(s), %s (%s)",
            article.id,
            len(ids),
            problem,
            ", ".join(ids[:5]),
        )
    return kept


def _in_scope(i: int, j: int, paragraphs: Sequence[int], scope: str, max_distance: int) -> bool:
    same = paragraphs[i] == paragraphs[j]
    near = abs(i - j) <= max_distance
    if scope == "paragraph":
        return same
    if scope == "distance":
        return near
    if scope == "paragraph_or_distance":
        return same or near
    return True


@dataclass(frozen=True)
class PairEncoder:
    """Candidate pairs, their features and labels for one label set and scope.

    ``span_labels``: the unit labels (their one-hots are pair and unit features);
    ``relation_labels``: pair label ids are 1 + their index (0 = no relation).
    """

    span_labels: tuple[str, ...]
    relation_labels: tuple[str, ...]
    scope: str = "paragraph_or_distance"
    max_distance: int = 3
    #: two more pair features: the rule pre-annotator's nearest-unit linking over the same
    #: units (with their labels) links head -> tail, or tail -> head
    rule_links: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "span_labels", tuple(self.span_labels))
        object.__setattr__(self, "relation_labels", tuple(self.relation_labels))
        if self.scope not in SCOPES:
            raise ValueError(
                f"relation scope must be one of {', '.join(SCOPES)}, got {self.scope!r}"
            )
        if self.max_distance < 1:
            raise ValueError(f"max_distance must be >= 1, got {self.max_distance!r}")
        if not self.relation_labels:
            raise ValueError("at least one relation label is needed")

    @property
    def n_pair_features(self) -> int:
        return 18 + 2 * len(self.span_labels) + (2 if self.rule_links else 0)

    @property
    def n_unit_features(self) -> int:
        return len(self.span_labels) + 8

    # -- pairs ------------------------------------------------------------------------------
    def pairs(self, text: str, units: Sequence[ArgUnit]) -> list[tuple[int, int]]:
        """Candidate ordered pairs ``(head index, tail index)`` over ``units`` (text order)."""
        paragraphs = paragraph_ids(text, [u.start for u in units])
        n = len(units)
        return [
            (i, j)
            for i in range(n)
            for j in range(n)
            if i != j and _in_scope(i, j, paragraphs, self.scope, self.max_distance)
        ]

    def pair_features(
        self, text: str, units: Sequence[ArgUnit], pairs: Sequence[tuple[int, int]]
    ) -> np.ndarray:
        """``len(pairs) x n_pair_features`` float32 features (units in text order)."""
        n = len(units)
        paragraphs = paragraph_ids(text, [u.start for u in units])
        label_index = {label: k for k, label in enumerate(self.span_labels)}
        nl = len(self.span_labels)
        out = np.zeros((len(pairs), self.n_pair_features), dtype=np.float32)
        last = max(n - 1, 1)
        links: set[tuple[int, int]] = set()
        if self.rule_links and pairs:
            from argmine.prelabel import rule_link_pairs

            links = rule_link_pairs(units, paragraphs)
        rule_col = self.n_pair_features - 2  # the last two columns, when rule_links
        for row, (i, j) in enumerate(pairs):
            d = j - i
            f = out[row]
            f[0] = max(-1.0, min(1.0, d / 10.0))
            bucket = (
                0 if d < -3 else 7 if d > 3 else 1 + _DIST_BUCKETS.index(d)
            )  # 8 distance buckets
            f[1 + bucket] = 1.0
            f[9] = float(paragraphs[i] == paragraphs[j])
            f[10] = min(abs(paragraphs[i] - paragraphs[j]) / 5.0, 1.0)
            f[11] = i / last
            f[12] = j / last
            f[13] = float(j == 0)
            f[14] = float(j == n - 1)
            f[15] = float(i == 0)
            f[16] = float(i == n - 1)
            f[17] = math.log(n) / 4.0
            hi = label_index.get(units[i].label)
            ti = label_index.get(units[j].label)
            if hi is not None:
                f[18 + hi] = 1.0
            if ti is not None:
                f[18 + nl + ti] = 1.0
            if self.rule_links:
                f[rule_col] = float((i, j) in links)
                f[rule_col + 1] = float((j, i) in links)
        return out

    def pair_labels(
        self,
        units: Sequence[ArgUnit],
        pairs: Sequence[tuple[int, int]],
        relations: Sequence[ArgRelation],
    ) -> list[int]:
        """0 for no relation, else 1 + the index of the relation's label."""
        index = {u.id: k for k, u in enumerate(units)}
        gold = {
            (index[r.head], index[r.tail]): 1 + self.relation_labels.index(r.label)
            for r in relations
            if r.head in index and r.tail in index and r.label in self.relation_labels
        }
        return [gold.get(p, NONE) for p in pairs]

    def unit_features(
        self, text: str, units: Sequence[ArgUnit], rule_units: Sequence[ArgUnit | None] = ()
    ) -> np.ndarray:
        """``len(units) x n_unit_features``: the rule label (one-hot) and score of each
        candidate (``rule_units[k]``, the rules' unit at the same place or None), its position
        in the article and its paragraph, and its length."""
        n = len(units)
        nl = len(self.span_labels)
        label_index = {label: k for k, label in enumerate(self.span_labels)}
        paragraphs = paragraph_ids(text, [u.start for u in units])
        out = np.zeros((n, self.n_unit_features), dtype=np.float32)
        last = max(n - 1, 1)
        n_para = max(max(paragraphs, default=0), 1)
        for k, unit in enumerate(units):
            f = out[k]
            rule = rule_units[k] if k < len(rule_units) else None
            if rule is not None and rule.label in label_index:
                f[label_index[rule.label]] = 1.0
                f[nl] = float(rule.score or 0.0)
            f[nl + 1] = k / last
            f[nl + 2] = float(k == 0 or paragraphs[k - 1] != paragraphs[k])
            f[nl + 3] = float(k == n - 1 or paragraphs[k + 1] != paragraphs[k])
            f[nl + 4] = float(k == 0)
            f[nl + 5] = float(k == n - 1)
            f[nl + 6] = paragraphs[k] / n_para
            f[nl + 7] = min(len(text[unit.start : unit.end].split()) / 50.0, 1.0)
        return out

    def relation_unit_features(self, text: str, units: Sequence[ArgUnit]) -> np.ndarray:
        """Features of each unit as a relation endpoint: its own label (one-hot; gold in
        training, predicted when tagging) and position, no score (gold units have none)."""
        out = self.unit_features(text, units, units)
        out[:, len(self.span_labels)] = 0.0
        return out


def unit_token_ranges(
    offsets: Sequence[tuple[int, int]], units: Sequence[ArgUnit]
) -> list[tuple[int, int]]:
    """``[first, last)`` document tokens whose characters overlap each unit (empty range if
    none)."""
    starts = np.array([a for a, _ in offsets], dtype=np.int64)
    ends = np.array([b for _, b in offsets], dtype=np.int64)
    out = []
    for unit in units:
        lo = int(np.searchsorted(ends, unit.start, side="right"))
        hi = int(np.searchsorted(starts, unit.end, side="left"))
        out.append((lo, max(lo, hi)))
    return out


def rule_candidates(article: Article) -> list[ArgUnit]:
    """The rule pre-annotator's units of ``article``: the candidates the unit head labels."""
    from argmine.prelabel import prelabel

    return prelabel(article.with_annotations([], [])).sorted_units()


def with_rule_labels(
    candidates: Sequence[ArgUnit], probs: np.ndarray, labels: Sequence[str], bonus: float
) -> np.ndarray:
    """The unit head's probabilities ``probs`` (candidates x (none, *labels)) with ``bonus``
    added to the log-probability of each candidate's rule label, renormalised per row:
    ``p * exp(bonus * [label == rule label]) / Z``. Candidates whose rule label is not one of
    ``labels`` keep their row; ``bonus == 0`` returns ``probs`` unchanged."""
    p = np.asarray(probs, dtype=np.float64)
    if not bonus or not len(candidates):
        return np.asarray(probs)
    index = {label: 1 + k for k, label in enumerate(labels)}
    scale = np.ones_like(p)
    for row, unit in enumerate(candidates):
        col = index.get(unit.label)
        if col is not None:
            scale[row, col] = math.exp(bonus)
    fused = p * scale
    return (fused / fused.sum(axis=1, keepdims=True)).astype(np.asarray(probs).dtype)


def segment_gold_labels(
    candidates: Sequence[ArgUnit], gold: Sequence[ArgUnit], labels: Sequence[str]
) -> list[int]:
    """Unit-head targets: 1 + the label index of the gold unit each candidate overlap-matches
    (one-to-one, any label), else 0."""
    from argmine.evaluate import match_units, overlap_match

    targets = [0] * len(candidates)
    gold = [u for u in gold if u.label in labels]
    for gi, ci in match_units(gold, list(candidates), criterion=overlap_match, same_label=False):
        targets[ci] = 1 + list(labels).index(gold[gi].label)
    return targets


def scope_coverage(articles: Sequence[Article], encoder: PairEncoder) -> dict[str, float | int]:
    """Share of gold relations whose (head, tail) is a candidate pair of ``encoder``'s scope."""
    covered = total = candidates = 0
    for article in articles:
        units = article.sorted_units()
        pairs = set(encoder.pairs(article.text, units))
        candidates += len(pairs)
        index = {u.id: k for k, u in enumerate(units)}
        for rel in article.relations:
            if rel.head in index and rel.tail in index:
                total += 1
                covered += (index[rel.head], index[rel.tail]) in pairs
    return {
        "relations": total,
        "covered": covered,
        "coverage": covered / total if total else 0.0,
        "candidate_pairs": candidates,
    }


def rule_links_of(text: str, units: Sequence[ArgUnit]) -> set[tuple[int, int]]:
    """``(head index, tail index)`` of the rules' nearest-unit links over ``units`` (text
    order, labelled), paragraphs read off ``text``: what :func:`with_rule_bonus` boosts."""
    from argmine.prelabel import rule_link_pairs

    return rule_link_pairs(units, paragraph_ids(text, [u.start for u in units]))


def with_rule_bonus(
    text: str,
    units: Sequence[ArgUnit],
    pairs: Sequence[tuple[int, int]],
    probs: np.ndarray,
    bonus: float,
    *,
    links: set[tuple[int, int]] | None = None,
) -> np.ndarray:
    """``probs`` (``len(pairs) x (1 + R)``, as :func:`argmine.inference.relation_probs` gives
    them: per head unit, a softmax over its candidate tails and "no parent") as if ``bonus``
    had been added to the attachment logit of every pair the rules' nearest-unit linking
    links (:func:`argmine.prelabel.rule_link_pairs` over ``units``, text order, labelled):
    each head's attachment probabilities are reweighted by ``exp(bonus)`` on its rule pairs and
    renormalised together with its "no parent" share; the label split of a pair is kept.
    ``links``: those rule links (:func:`rule_links_of`), when the caller already has them."""
    probs = np.asarray(probs, dtype=np.float64)
    if bonus == 0 or len(pairs) == 0:
        return probs
    if links is None:
        links = rule_links_of(text, units)
    if not links:
        return probs
    heads = np.array([i for i, _ in pairs], dtype=np.int64)
    attach = 1.0 - probs[:, 0]
    factor = np.array([math.exp(bonus) if p in links else 1.0 for p in pairs])
    n = int(heads.max()) + 1
    old = np.bincount(heads, weights=attach, minlength=n)
    new = np.bincount(heads, weights=attach * factor, minlength=n)
    norm = np.clip(1.0 - old, 0.0, 1.0) + new  # "no parent" + reweighted candidates
    scale = factor / np.maximum(norm[heads], 1e-12)
    out = probs.copy()
    out[:, 1:] = probs[:, 1:] * scale[:, None]
    out[:, 0] = 1.0 - attach * scale
    return out


def decode_relations(
    units: Sequence[ArgUnit],
    pairs: Sequence[tuple[int, int]],
    probs: np.ndarray,
    *,
    labels: Sequence[str],
    mode: str = "one_parent",
    threshold: float | Mapping[str, float] = 0.5,
) -> list[ArgRelation]:
    """Relations ``R1``... from per-pair probabilities (``len(pairs) x (1 + len(labels))``,
    column 0 = no relation). ``threshold`` applies to the relation probability 1 - P(none)
    (one number, or per relation label: then to the probability of the pair's best label
    after the label is chosen). The score of a relation is that relation probability."""
    if mode not in DECODINGS:
        raise ValueError(f"relation decoding must be one of {', '.join(DECODINGS)}, got {mode!r}")
    probs = np.asarray(probs, dtype=np.float64)
    if len(pairs) == 0:
        return []
    if probs.shape != (len(pairs), 1 + len(labels)):
        raise ValueError(
            f"relation probabilities of shape {probs.shape} do not fit "
            f"{len(pairs)} pairs x {1 + len(labels)} classes"
        )
    p_rel = 1.0 - probs[:, 0]
    best_label = probs[:, 1:].argmax(axis=1)

    def passes(row: int) -> bool:
        if isinstance(threshold, Mapping):
            return p_rel[row] >= float(threshold.get(labels[best_label[row]], 0.5))
        return p_rel[row] >= float(threshold)

    chosen: list[int] = []
    if mode == "independent":
        chosen = [row for row in range(len(pairs)) if passes(row)]
    elif mode == "one_parent":
        best: dict[int, int] = {}
        for row, (i, _) in enumerate(pairs):
            if i not in best or p_rel[row] > p_rel[best[i]]:
                best[i] = row
        chosen = sorted(row for row in best.values() if passes(row))
    else:
        chosen = _arborescence(len(units), pairs, p_rel, passes)
    out = []
    for row in sorted(chosen, key=lambda r: (pairs[r][0], pairs[r][1])):
        i, j = pairs[row]
        out.append(
            ArgRelation(
                id=f"R{len(out) + 1}",
                head=units[i].id,
                tail=units[j].id,
                label=labels[best_label[row]],
                score=float(min(max(p_rel[row], 0.0), 1.0)),
            )
        )
    return out


#: ``relations.unit_labels``: how unit labels relate to the predicted graph.
UNIT_LABELS_FROM = ("tagger", "structure")


def labels_from_structure(
    units: Sequence[ArgUnit],
    relations: Sequence[ArgRelation],
    *,
    conclusion: str = "Conclusion",
    claim: str = "Claim",
    evidence: str = "Evidence",
) -> list[ArgUnit]:
    """Unit labels read off the argument graph, as arg-microtexts defines them (see
    :mod:`argmine.corpora.microtexts`): a unit with incoming relations is the conclusion when it
    supports or attacks nothing (the graph's root) and a claim otherwise; a unit nothing
    targets keeps the tagger's choice between claim (an objection) and evidence (a premise),
    a tagger's conclusion that itself supports or attacks something becoming evidence; a unit
    with no relation at all keeps its label. Scores are kept."""
    incoming = {r.tail for r in relations}
    outgoing = {r.head for r in relations}
    out = []
    for u in units:
        label = u.label
        if u.id in incoming:
            label = conclusion if u.id not in outgoing else claim
        elif u.id in outgoing and label == conclusion:
            label = evidence
        out.append(u if label == u.label else ArgUnit(u.id, u.start, u.end, label, u.score))
    return out


def _arborescence(n: int, pairs, p_rel: np.ndarray, passes) -> list[int]:
    """Rows of the maximum spanning arborescence with as few roots as the candidate pairs
    allow (one, when every pair is a candidate): edges tail -> head (a head's parent is the
    unit it supports or attacks) weigh log P(relation); a virtual root links to each unit
    with log P(no outgoing relation) minus a large constant, so a unit stays a root only when
    it cannot attach or is the most root-like of its component. The threshold does not
    apply: in a tree every unit but the roots attaches."""
    eps = 1e-6
    penalty = 1e3
    # scores[d, h]: node h as the parent of node d; node 0 is the virtual root, unit i is i + 1
    scores = np.full((n + 1, n + 1), -np.inf)
    row_of = np.full((n + 1, n + 1), -1, dtype=np.int64)
    best = np.zeros(n)
    for row, (i, j) in enumerate(pairs):
        best[i] = max(best[i], p_rel[row])
        weight = math.log(max(p_rel[row], eps))
        if weight > scores[i + 1, j + 1]:  # a repeated pair keeps its best row
            scores[i + 1, j + 1] = weight
            row_of[i + 1, j + 1] = row
    scores[1:, 0] = np.log(np.maximum(1.0 - best, eps)) - penalty
    parent = max_arborescence(scores)
    return sorted(int(row_of[d, parent[d]]) for d in range(1, n + 1) if parent[d] != 0)


def _find_cycle(parent: np.ndarray) -> list[int] | None:
    """One cycle of the parent map (node 0, the root, has none), as a node list, or None."""
    state = np.zeros(len(parent), dtype=np.int8)  # 0 unseen, 1 on the current walk, 2 done
    state[0] = 2
    for start in range(1, len(parent)):
        walk = []
        node = start
        while state[node] == 0:
            state[node] = 1
            walk.append(node)
            node = int(parent[node])
        if state[node] == 1:  # came back onto this walk: a cycle from node on
            return walk[walk.index(node) :]
        state[walk] = 2
    return None


def max_arborescence(scores: np.ndarray) -> np.ndarray:
    """The maximum spanning arborescence rooted at node 0 of a dense graph (Chu-Liu/Edmonds,
    contracting one cycle at a time, numpy over the matrix). ``scores[d, h]`` is the weight of
    the edge h -> d (h the parent of d), ``-inf`` where there is none; every node must have a
    finite edge from node 0, so a tree always exists. Returns ``parent`` with
    ``parent[0] == 0``. O(n^2) numpy work per contraction, at most n contractions: a few
    hundred units take milliseconds (networkx's Edmonds, in Python, took minutes there)."""
    w = np.array(scores, dtype=np.float64)
    if w.ndim != 2 or w.shape[0] != w.shape[1]:
        raise ValueError(f"scores must be a square matrix, got shape {w.shape}")
    if len(w) and not np.isfinite(w[1:, 0]).all():
        raise ValueError("every node needs a finite edge from the root")
    levels = []  # (noncycle nodes, cycle nodes, the cycle's parents, entering, leaving)
    while True:
        np.fill_diagonal(w, -np.inf)
        w[0, :] = -np.inf
        parent = w.argmax(axis=1)
        parent[0] = 0
        cycle = _find_cycle(parent)
        if cycle is None:
            break
        cyc = np.array(cycle)
        inside = np.zeros(len(w), dtype=bool)
        inside[cyc] = True
        rest = np.flatnonzero(~inside)  # node 0 stays first
        # into the cycle from h: the best cycle node to enter, net of the edge it gives up
        gain = w[np.ix_(cyc, rest)] - w[cyc, parent[cyc]][:, None]
        enter = gain.argmax(axis=0)
        # out of the cycle to d: the best cycle node to hang d from
        out = w[np.ix_(rest, cyc)]
        leave = out.argmax(axis=1)
        m = len(rest)
        sub = np.full((m + 1, m + 1), -np.inf)
        sub[:m, :m] = w[np.ix_(rest, rest)]
        sub[m, :m] = gain[enter, np.arange(m)]
        sub[:m, m] = out[np.arange(m), leave]
        levels.append((rest, cyc, parent[cyc], enter, leave))
        w = sub
    for rest, cyc, cycle_parents, enter, leave in reversed(levels):
        m = len(rest)
        full = np.zeros(len(rest) + len(cyc), dtype=np.int64)
        from_cycle = parent[:m] == m
        full[rest] = np.where(from_cycle, cyc[leave], rest[np.minimum(parent[:m], m - 1)])
        full[cyc] = cycle_parents
        h = int(parent[m])  # the contracted node's parent, a noncycle node
        full[cyc[enter[h]]] = rest[h]
        full[0] = 0
        parent = full
    return parent
