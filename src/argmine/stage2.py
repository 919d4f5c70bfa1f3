"""Span-level second stage: candidate spans from the first stage, each scored by a small
gradient-boosted model (LightGBM) on span features, decoded greedily.

No torch: the first stage's outputs come in as numpy arrays (:class:`Stage2Input`, built by
:func:`argmine.inference.stage2_inputs`); LightGBM is imported only where a model is fitted or
loaded (the ``stage2`` extra). The data flow::

    document tag probabilities (n_tokens x tags: O, B-L1, I-L1, ...) + token char offsets
    + the rule segmenter's units with the unit head's label probabilities (when it has one)
    + the Viterbi units of the tag probabilities (no thresholds)
        ──candidates(): for each candidate threshold t, runs of tokens whose P(B-X) + P(I-X)
          >= t (per label X, and 1 - P(O) for any label), split where P(B) > P(I); the rule
          units; the Viterbi units; snapped to whole words, trimmed, deduplicated by char span
        ──span_features() (feature_names(): token probability statistics per label, edge
          probabilities, the unit head's probabilities and rule label of the best-overlapping
          rule unit, length, position in the article and the paragraph, sentence edges, cue
          groups of configs/lexicon.yaml)──> one feature row per candidate
        ──LightGBM multiclass (none, L1, L2, ...)──> class probabilities per candidate
        ──decode(): label = the most probable label, kept if its probability reaches
          thresholds[label] and the span has min_words[label] words; greedy non-overlapping
          selection by that probability──> ArgUnit(score = the probability)

Training targets (:func:`targets`): a candidate takes the label of the gold unit it matches
by the evaluation's overlap criterion (>= 0.5 of each span covered by the other; the gold unit
with the largest overlap), else ``none``. With ``target="best"`` only the candidates with the
highest character IoU for their gold unit are positive (the others ``none``), which teaches
boundaries at the cost of fewer positives; which target a run uses is a config choice measured
on dev (docs/benchmarks.md).

Fitting (:func:`fit`) happens on predictions for articles the tagger did not train on (the dev
split inside ``argmine train``). The per-label thresholds and minimum lengths are tuned on
out-of-fold probabilities of an internal k-fold over those articles (so the dev score it
reports is honest), then the model is refitted on all of them. A model directory keeps it as
``stage2.txt`` (LightGBM's text format) and ``stage2.json`` (features, labels, thresholds,
minimum lengths, candidate settings, whether it is the model's unit source, its dev scores).
"""

from __future__ import annotations

import functools
import itertools
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from argmine.document import ArgUnit, Article, strip_span
from argmine.errors import ModelError

__all__ = [
    "CANDIDATE_THRESHOLDS",
    "DEFAULT_SOURCES",
    "META_FILE",
    "MODEL_FILE",
    "SOURCES",
    "TARGETS",
    "Candidate",
    "Stage2Input",
    "Stage2Model",
    "candidates",
    "decode",
    "feature_names",
    "fit",
    "span_features",
    "targets",
]

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
MODEL_FILE = "stage2.txt"
META_FILE = "stage2.json"
CANDIDATE_THRESHOLDS = (0.1, 0.2, 0.35, 0.5)
SOURCES = ("bio", "segments", "sentences")
#: the candidate sources of a run config's ``stage2:`` when it names none (chosen on dev:
#: docs/benchmarks.md)
DEFAULT_SOURCES = ("bio", "segments")
TARGETS = ("overlap", "best")
THRESHOLD_GRID = (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8)
MIN_WORDS_GRID = (0, 2, 3, 4, 5, 6, 8)
#: separators a unit never starts or ends with (the same as the token decoder's)
TRIM_CHARS = ",;:"
_SENTENCE_END = ".!?"


@dataclass(frozen=True)
class Stage2Input:
    """What the first stage gave for one article.

    ``token_probs``: document tag probabilities (n_tokens x tags, tags ``O, B-L1, I-L1, ...``
    in label order), ``offsets``: each token's char span; ``rule_units``: the rule segmenter's
    units (label and score from the rules); ``unit_probs``: the unit head's probabilities
    (none, L1, ...) per rule unit, or None for a model without a unit head; ``viterbi``: the
    first stage's Viterbi units without thresholds.
    """

    article: Article
    token_probs: np.ndarray
    offsets: Sequence[tuple[int, int]]
    rule_units: Sequence[ArgUnit] = ()
    unit_probs: np.ndarray | None = None
    viterbi: Sequence[ArgUnit] = ()

    def __post_init__(self) -> None:
        probs = np.asarray(self.token_probs, dtype=np.float32)
        if probs.ndim != 2 or probs.shape[0] != len(self.offsets):
            raise ValueError(
                f"article {self.article.id}: token_probs of shape {probs.shape} do not fit "
                f"{len(self.offsets)} tokens"
            )
        object.__setattr__(self, "token_probs", probs)
        if self.unit_probs is not None:
            up = np.asarray(self.unit_probs, dtype=np.float32)
            if up.ndim != 2 or up.shape[0] != len(self.rule_units):
                raise ValueError(
                    f"article {self.article.id}: unit_probs of shape {up.shape} do not fit "
                    f"{len(self.rule_units)} rule units"
                )
            object.__setattr__(self, "unit_probs", up)


@dataclass(frozen=True)
class Candidate:
    """A candidate span: chars ``[start, end)``, tokens ``[first, last)``; ``threshold``: the
    highest candidate threshold whose runs gave it (0.0: none did); ``rule``: the index of the
    rule unit with exactly this span (-1: none); ``viterbi``: a Viterbi unit has this span."""

    start: int
    end: int
    first: int
    last: int
    threshold: float = 0.0
    rule: int = -1
    viterbi: bool = False


# -- candidates ------------------------------------------------------------------------------
def _snap(text: str, start: int, end: int) -> tuple[int, int]:
    """Whole words (a span cut inside a word grows to the word's edges), then trimmed of
    whitespace and the separators in :data:`TRIM_CHARS`."""
    while start > 0 and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while end < len(text) and end > 0 and text[end].isalnum() and text[end - 1].isalnum():
        end += 1
    return strip_span(text, start, end, also=TRIM_CHARS)


def _token_range(offsets: Sequence[tuple[int, int]], start: int, end: int) -> tuple[int, int]:
    """``[first, last)``: the tokens whose characters overlap ``[start, end)``."""
    starts = np.fromiter((a for a, _ in offsets), dtype=np.int64, count=len(offsets))
    ends = np.fromiter((b for _, b in offsets), dtype=np.int64, count=len(offsets))
    lo = int(np.searchsorted(ends, start, side="right"))
    hi = int(np.searchsorted(starts, end, side="left"))
    return lo, max(lo, hi)


def _runs(inside: np.ndarray, begins: np.ndarray) -> list[tuple[int, int]]:
    """Token runs where ``inside`` holds, split before every token (but a run's first) where
    ``begins`` holds."""
    found = []
    start = None
    for t, ok in enumerate(inside):
        if not ok:
            if start is not None:
                found.append((start, t))
            start = None
        elif start is None:
            start = t
        elif begins[t]:
            found.append((start, t))
            start = t
    if start is not None:
        found.append((start, len(inside)))
    return found


def candidates(
    inp: Stage2Input,
    labels: Sequence[str],
    *,
    thresholds: Sequence[float] = CANDIDATE_THRESHOLDS,
    sources: Sequence[str] = DEFAULT_SOURCES,
    lexicon: Any = None,
    segmenter: Any = None,
) -> list[Candidate]:
    """Candidate spans of one article, in text order (see the module docstring); ``sources``:
    ``bio`` (runs of the tag probabilities and the Viterbi units), ``segments`` (the rule
    units), ``sentences`` (every sentence or clause of the segmenter, headers aside, and every
    two neighbours in one paragraph joined, each also with its leading discourse markers
    trimmed by the lexicon's ``trim_leading``)."""
    bad = sorted(set(sources) - set(SOURCES))
    if bad or not sources:
        raise ValueError(f"sources must be a non-empty subset of {SOURCES}, got {list(sources)}")
    text = inp.article.text
    probs = inp.token_probs
    n_tags = 1 + 2 * len(labels)
    if probs.shape[1] != n_tags:
        raise ValueError(f"token_probs have {probs.shape[1]} tags, labels need {n_tags}")
    spans: dict[tuple[int, int], dict[str, Any]] = {}

    def add(start: int, end: int, **what: Any) -> None:
        start, end = _snap(text, start, end)
        if end <= start:
            return
        first, last = _token_range(inp.offsets, start, end)
        if last <= first:
            return
        entry = spans.setdefault((start, end), {"first": first, "last": last})
        if "threshold" in what:
            entry["threshold"] = max(entry.get("threshold", 0.0), what["threshold"])
        if "rule" in what:
            entry.setdefault("rule", what["rule"])
        if what.get("viterbi"):
            entry["viterbi"] = True

    if "bio" in sources and len(probs):
        b_cols = [1 + 2 * k for k in range(len(labels))]
        i_cols = [2 + 2 * k for k in range(len(labels))]
        per_label = [
            (probs[:, b] + probs[:, i], probs[:, b] > probs[:, i])
            for b, i in zip(b_cols, i_cols, strict=True)
        ]
        any_label = (1.0 - probs[:, 0], probs[:, b_cols].sum(1) > probs[:, i_cols].sum(1))
        for t in thresholds:
            for p_in, begins in [*per_label, any_label]:
                for first, last in _runs(p_in >= t, begins):
                    add(inp.offsets[first][0], inp.offsets[last - 1][1], threshold=float(t))
        for unit in inp.viterbi:
            add(unit.start, unit.end, viterbi=True)
    if "segments" in sources:
        for k, unit in enumerate(inp.rule_units):
            add(unit.start, unit.end, rule=k)
    if "sentences" in sources:
        from argmine.prelabel import trim_unit

        lexicon = lexicon if lexicon is not None else _default_lexicon()
        segs = [
            seg
            for seg in _segments(text, segmenter if segmenter is not None else _default_segmenter())
            if seg.kind != "header"
        ]
        spans_here = [(seg.start, seg.end) for seg in segs]
        spans_here += [
            (a.start, b.end) for a, b in itertools.pairwise(segs) if a.paragraph == b.paragraph
        ]
        for start, end in spans_here:
            add(start, end)
            add(*trim_unit(text, start, end, lexicon))
    out = [
        Candidate(
            start,
            end,
            e["first"],
            e["last"],
            threshold=e.get("threshold", 0.0),
            rule=e.get("rule", -1),
            viterbi=e.get("viterbi", False),
        )
        for (start, end), e in spans.items()
    ]
    out.sort(key=lambda c: (c.start, c.end))
    return out


# -- features --------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _default_lexicon() -> Any:
    from argmine.prelabel import load_lexicon

    return load_lexicon()


@functools.lru_cache(maxsize=8)
def _segments(text: str, segmenter: Any) -> list[Any]:
    from argmine.segment import segments

    return segments(text, config=segmenter)


@functools.lru_cache(maxsize=1)
def _default_segmenter() -> Any:
    from argmine.prelabel import _default_segmenter as segmenter

    return segmenter()


_GLOBAL_FEATURES = (
    "O.mean",
    "O.max",
    "O.before",
    "O.after",
    "B.first",
    "B.inner",
    "unit.none",
    "rule.iou",
    "rule.score",
    "rule.exact",
    "viterbi.iou",
    "viterbi.exact",
    "cand.threshold",
    "len.words",
    "len.tokens",
    "pos.start",
    "pos.end",
    "para.index",
    "para.first",
    "para.last",
    "para.pos",
    "para.starts",
    "para.ends",
    "seg.starts",
    "seg.ends",
    "seg.count",
    "text.upper",
    "text.end_punct",
    "text.prev",
)
_LABEL_FEATURES = (
    "mean",
    "min",
    "max",
    "first_b",
    "inner_b",
    "before",
    "after_i",
    "unit",
    "unit_rank",
    "unit_prev",
    "unit_next",
    "rule",
    "rule_prev",
    "rule_next",
)
_LF = {name: i for i, name in enumerate(_LABEL_FEATURES)}


def feature_names(labels: Sequence[str], cue_groups: Sequence[str]) -> list[str]:
    """The columns of :func:`span_features`, in order."""
    names = [f"{label}.{f}" for label in labels for f in _LABEL_FEATURES]
    return names + list(_GLOBAL_FEATURES) + [f"cue.{g}" for g in cue_groups]


def _best_overlap(start: int, end: int, units: Sequence[ArgUnit]) -> tuple[int, float]:
    """Index and character IoU of the unit overlapping ``[start, end)`` most (-1, 0.0: none)."""
    best, best_iou = -1, 0.0
    for k, u in enumerate(units):
        inter = min(end, u.end) - max(start, u.start)
        if inter <= 0:
            continue
        iou = inter / (max(end, u.end) - min(start, u.start))
        if iou > best_iou:
            best, best_iou = k, iou
    return best, best_iou


def _prev_class(text: str, start: int) -> float:
    """What precedes a span: 0 the text's start or a line break, 1 a sentence end (.!?),
    2 other punctuation, 3 a word character (all after skipping spaces)."""
    i = start - 1
    while i >= 0 and text[i] in " \t":
        i -= 1
    if i < 0 or text[i] in "\n\r\u2029":
        return 0.0
    ch = text[i]
    if ch in _SENTENCE_END or (ch in "\"'\u201d\u2019)" and i > 0 and text[i - 1] in _SENTENCE_END):
        return 1.0
    return 3.0 if ch.isalnum() else 2.0


def span_features(
    inp: Stage2Input,
    cands: Sequence[Candidate],
    labels: Sequence[str],
    *,
    lexicon: Any = None,
    segmenter: Any = None,
) -> np.ndarray:
    """``len(cands) x len(feature_names(labels, cue groups))`` float32 features (NaN where a
    value is missing: the unit head's probabilities of a model without one, or of a span no
    rule unit overlaps). ``lexicon``/``segmenter``: configs/lexicon.yaml and
    configs/segmenter.yaml by default."""
    from argmine.segment import paragraphs

    lexicon = lexicon if lexicon is not None else _default_lexicon()
    segmenter = segmenter if segmenter is not None else _default_segmenter()
    text = inp.article.text
    probs = inp.token_probs
    n_tokens = len(probs)
    nl = len(labels)
    groups = list(lexicon.groups)
    width = nl * len(_LABEL_FEATURES) + len(_GLOBAL_FEATURES) + len(groups)
    out = np.zeros((len(cands), width), dtype=np.float32)
    if not cands:
        return out
    paras = [(s, e) for s, e, _ in paragraphs(text, config=segmenter)] or [(0, len(text))]
    para_starts = np.array([s for s, _ in paras], dtype=np.int64)
    segs = _segments(text, segmenter)
    seg_starts = {s.start for s in segs}
    seg_ends = {s.end for s in segs}
    label_index = {label: k for k, label in enumerate(labels)}
    b_cols = [1 + 2 * k for k in range(nl)]
    i_cols = [2 + 2 * k for k in range(nl)]
    n_chars = max(len(text), 1)
    g0 = nl * len(_LABEL_FEATURES)
    for row, c in enumerate(cands):
        f = out[row]
        a, b = c.first, c.last
        span = probs[a:b]
        for k in range(nl):
            p_in = span[:, b_cols[k]] + span[:, i_cols[k]]
            base = k * len(_LABEL_FEATURES)
            f[base + _LF["mean"]] = p_in.mean()
            f[base + _LF["min"]] = p_in.min()
            f[base + _LF["max"]] = p_in.max()
            f[base + _LF["first_b"]] = span[0, b_cols[k]]
            f[base + _LF["inner_b"]] = span[1:, b_cols[k]].max() if b - a > 1 else 0.0
            f[base + _LF["before"]] = (
                probs[a - 1, b_cols[k]] + probs[a - 1, i_cols[k]] if a > 0 else 0.0
            )
            f[base + _LF["after_i"]] = probs[b, i_cols[k]] if b < n_tokens else 0.0
        b_sum = span[:, b_cols].sum(1)
        g = f[g0:]
        g[0] = span[:, 0].mean()
        g[1] = span[:, 0].max()
        g[2] = probs[a - 1, 0] if a > 0 else 1.0
        g[3] = probs[b, 0] if b < n_tokens else 1.0
        g[4] = b_sum[0]
        g[5] = b_sum[1:].max() if b - a > 1 else 0.0
        # the rule unit: this very span, else the one overlapping it most
        if c.rule >= 0:
            r, r_iou = c.rule, 1.0
        else:
            r, r_iou = _best_overlap(c.start, c.end, inp.rule_units)
        up = inp.unit_probs
        n_rules = len(inp.rule_units)
        g[6] = up[r, 0] if r >= 0 and up is not None else np.nan
        for k in range(nl):
            base = k * len(_LABEL_FEATURES)
            has = r >= 0 and up is not None
            # the unit head's P(label) of that rule unit, its rank among the article's rule
            # units (0 = the most probable, 1 = the least) and of the rule units around it
            f[base + _LF["unit"]] = up[r, 1 + k] if has else np.nan
            f[base + _LF["unit_rank"]] = (
                float((up[:, 1 + k] > up[r, 1 + k]).sum()) / max(n_rules - 1, 1) if has else np.nan
            )
            f[base + _LF["unit_prev"]] = up[r - 1, 1 + k] if has and r > 0 else np.nan
            f[base + _LF["unit_next"]] = up[r + 1, 1 + k] if has and r + 1 < n_rules else np.nan
        if r >= 0:
            rule = inp.rule_units[r]
            g[8] = float(rule.score or 0.0)
            for key, other in (("rule", r), ("rule_prev", r - 1), ("rule_next", r + 1)):
                if 0 <= other < n_rules:
                    k = label_index.get(inp.rule_units[other].label)
                    if k is not None:
                        f[k * len(_LABEL_FEATURES) + _LF[key]] = 1.0
        g[7] = r_iou
        g[9] = float(c.rule >= 0)
        _, v_iou = _best_overlap(c.start, c.end, inp.viterbi)
        g[10] = v_iou
        g[11] = float(c.viterbi)
        g[12] = c.threshold
        words = text[c.start : c.end].split()
        g[13] = len(words)
        g[14] = b - a
        g[15] = c.start / n_chars
        g[16] = c.end / n_chars
        p = max(int(np.searchsorted(para_starts, c.start, side="right")) - 1, 0)
        ps, pe = paras[p]
        g[17] = p / max(len(paras) - 1, 1)
        g[18] = float(p == 0)
        g[19] = float(p == len(paras) - 1)
        g[20] = (c.start - ps) / max(pe - ps, 1)
        g[21] = float(not any(ch.isalnum() for ch in text[ps : c.start]))
        g[22] = float(not any(ch.isalnum() for ch in text[c.end : max(pe, c.end)]))
        g[23] = float(c.start in seg_starts)
        g[24] = float(c.end in seg_ends)
        g[25] = sum(1 for s in segs if s.start < c.end and c.start < s.end)
        g[26] = float(text[c.start].isupper())
        g[27] = float(text[c.end - 1] in _SENTENCE_END or text[c.end - 1] in "\"'\u201d\u2019)")
        g[28] = _prev_class(text, c.start)
        span_text = text[c.start : c.end]
        last = p == len(paras) - 1
        for j, group in enumerate(groups):
            g[len(_GLOBAL_FEATURES) + j] = float(group.matches(span_text, last=last))
    return out


# -- targets and decoding --------------------------------------------------------------------
def targets(
    cands: Sequence[Candidate],
    gold: Sequence[ArgUnit],
    labels: Sequence[str],
    *,
    target: str = "overlap",
) -> np.ndarray:
    """Class ids (0 = none, 1 + label index) of ``cands`` against the ``gold`` units (see
    the module docstring for ``target``)."""
    if target not in TARGETS:
        raise ValueError(f"target must be one of {', '.join(TARGETS)}, got {target!r}")
    index = {label: k for k, label in enumerate(labels)}
    gold = [u for u in gold if u.label in index]
    y = np.zeros(len(cands), dtype=np.int64)
    matched: list[tuple[int, float]] = []  # (gold index, IoU) per candidate, -1 for none
    best_iou = [0.0] * len(gold)
    for c in cands:
        best, best_inter, iou = -1, 0, 0.0
        for gi, g in enumerate(gold):
            inter = min(c.end, g.end) - max(c.start, g.start)
            if inter <= 0 or inter * 2 < g.end - g.start or inter * 2 < c.end - c.start:
                continue
            if inter > best_inter:
                best, best_inter = gi, inter
                iou = inter / (max(c.end, g.end) - min(c.start, g.start))
        matched.append((best, iou))
        if best >= 0:
            best_iou[best] = max(best_iou[best], iou)
    for row, (gi, iou) in enumerate(matched):
        if gi < 0 or (target == "best" and iou < best_iou[gi] - 1e-9):
            continue
        y[row] = 1 + index[gold[gi].label]
    return y


def decode(
    article: Article,
    cands: Sequence[Candidate],
    probs: np.ndarray,
    labels: Sequence[str],
    *,
    thresholds: Mapping[str, float] | None = None,
    min_words: int | Mapping[str, int] = 0,
) -> list[ArgUnit]:
    """Units from candidate class probabilities (rows: none, labels...): each candidate's most
    probable label, kept if its probability reaches ``thresholds[label]`` (``None``: kept if
    it beats ``none``) and it has ``min_words`` words; then greedily, most probable first, every
    candidate that overlaps no unit kept before it. Ids ``T1``... in text order."""
    probs = np.asarray(probs, dtype=np.float64)
    if len(cands) != len(probs):
        raise ValueError(f"{len(cands)} candidates but {len(probs)} probability rows")
    scored = []
    for c, p in zip(cands, probs, strict=True):
        k = int(np.argmax(p[1:]))
        label, score = labels[k], float(p[1 + k])
        if thresholds is None:
            if score <= p[0]:
                continue
        elif score < float(thresholds.get(label, 0.0)):
            continue
        need = min_words.get(label, 0) if isinstance(min_words, Mapping) else min_words
        if need and len(article.text[c.start : c.end].split()) < need:
            continue
        scored.append((-score, c.start, c.end, label))
    scored.sort()
    taken = np.zeros(len(article.text) + 1, dtype=bool)
    kept = []
    for neg, start, end, label in scored:
        if taken[start:end].any():
            continue
        taken[start:end] = True
        kept.append((start, end, label, min(max(-neg, 0.0), 1.0)))
    kept.sort()
    return [ArgUnit(f"T{i}", s, e, lab, sc) for i, (s, e, lab, sc) in enumerate(kept, start=1)]


# -- the model -------------------------------------------------------------------------------
def _lgb() -> Any:
    try:
        import lightgbm
    except ImportError:
        raise ModelError(
            "the span second stage needs LightGBM: pip install 'argmine[stage2]'"
        ) from None
    return lightgbm


@dataclass
class Stage2Model:
    """A fitted second stage: LightGBM booster + what decoding needs (see the module doc)."""

    booster: Any
    labels: tuple[str, ...]
    features: tuple[str, ...]
    candidate_thresholds: tuple[float, ...] = CANDIDATE_THRESHOLDS
    sources: tuple[str, ...] = DEFAULT_SOURCES
    target: str = "best"
    thresholds: dict[str, float] = field(default_factory=dict)
    min_words: dict[str, int] = field(default_factory=dict)
    #: whether tagging uses it as the model's unit source (it beat the first stage on dev)
    active: bool = True
    report: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.labels = tuple(self.labels)
        self.features = tuple(self.features)
        self.candidate_thresholds = tuple(float(t) for t in self.candidate_thresholds)
        self.sources = tuple(self.sources)
        groups = tuple(f[len("cue.") :] for f in self.features if f.startswith("cue."))
        self.cue_groups = groups

    def check_lexicon(self, lexicon: Any) -> None:
        names = tuple(g.name for g in lexicon.groups)
        if names != self.cue_groups:
            raise ModelError(
                f"the second stage was fitted with the cue groups {list(self.cue_groups)}, "
                f"the lexicon now has {list(names)}: refit it (argmine train)"
            )

    def class_probs(self, inp: Stage2Input) -> tuple[list[Candidate], np.ndarray]:
        """Candidates of one article and their class probabilities (none, labels...)."""
        lexicon = _default_lexicon()
        self.check_lexicon(lexicon)
        cands = candidates(
            inp,
            self.labels,
            thresholds=self.candidate_thresholds,
            sources=self.sources,
            lexicon=lexicon,
        )
        if not cands:
            return cands, np.zeros((0, 1 + len(self.labels)))
        x = span_features(inp, cands, self.labels, lexicon=lexicon)
        p = np.asarray(self.booster.predict(x), dtype=np.float64).reshape(len(cands), -1)
        return cands, p

    def predict_units(self, inp: Stage2Input, *, thresholds: bool = True) -> list[ArgUnit]:
        """The units of one article (``thresholds=False``: every candidate whose most
        probable class is a label, greedy non-overlapping)."""
        cands, p = self.class_probs(inp)
        return decode(
            inp.article,
            cands,
            p,
            self.labels,
            thresholds=self.thresholds if thresholds else None,
            min_words=self.min_words if thresholds else 0,
        )

    def meta(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "labels": list(self.labels),
            "features": list(self.features),
            "candidate_thresholds": list(self.candidate_thresholds),
            "sources": list(self.sources),
            "target": self.target,
            "thresholds": dict(self.thresholds),
            "min_words": dict(self.min_words),
            "active": self.active,
            "report": self.report,
        }

    def save(self, directory: str | Path) -> None:
        from argmine.fileio import atomic_write_text

        directory = Path(directory)
        atomic_write_text(directory / MODEL_FILE, self.booster.model_to_string(), force=True)
        atomic_write_text(
            directory / META_FILE, json.dumps(self.meta(), indent=2) + "\n", force=True
        )

    @classmethod
    def load(cls, directory: str | Path) -> Stage2Model | None:
        """The second stage saved in ``directory``, or None if it has none."""
        directory = Path(directory)
        meta_path = directory / META_FILE
        if not meta_path.is_file():
            return None
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            text = (directory / MODEL_FILE).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelError(f"{directory}: cannot read the second stage ({exc})") from None
        if not isinstance(meta, dict) or meta.get("format_version") != FORMAT_VERSION:
            raise ModelError(f"{meta_path}: not a stage2 file of format {FORMAT_VERSION}")
        lgb = _lgb()
        try:
            booster = lgb.Booster(model_str=text)
            model = cls(
                booster=booster,
                labels=meta["labels"],
                features=meta["features"],
                candidate_thresholds=meta["candidate_thresholds"],
                sources=meta["sources"],
                target=meta["target"],
                thresholds={k: float(v) for k, v in meta["thresholds"].items()},
                min_words={k: int(v) for k, v in meta["min_words"].items()},
                active=bool(meta["active"]),
                report=meta.get("report") or {},
            )
        except (KeyError, TypeError, ValueError, lgb.basic.LightGBMError) as exc:
            raise ModelError(f"{directory}: bad second stage ({exc})") from None
        if booster.num_feature() != len(model.features):
            raise ModelError(
                f"{directory / MODEL_FILE}: {booster.num_feature()} features but "
                f"{META_FILE} names {len(model.features)}"
            )
        if feature_names(model.labels, model.cue_groups) != list(model.features):
            raise ModelError(f"{meta_path}: features do not match this argmine's features")
        return model


# -- fitting ---------------------------------------------------------------------------------
def _params(
    n_classes: int,
    *,
    trees: int,
    num_leaves: int,
    learning_rate: float,
    min_data: int,
    seed: int,
    threads: int,
) -> dict[str, Any]:
    return {
        "objective": "multiclass",
        "num_class": n_classes,
        "num_iterations": trees,
        "num_leaves": num_leaves,
        "learning_rate": learning_rate,
        "min_data_in_leaf": min_data,
        "lambda_l2": 1.0,
        "deterministic": True,
        "force_col_wise": True,
        "num_threads": threads,
        "seed": seed,
        "verbosity": -1,
    }


def _train(params: Mapping[str, Any], x: np.ndarray, y: np.ndarray) -> Any:
    lgb = _lgb()
    data = lgb.Dataset(x, label=y, params={"verbosity": -1}, free_raw_data=True)
    return lgb.train(dict(params), data)


def _score(
    gold: Sequence[Article],
    rows: Sequence[tuple[Article, list[Candidate], np.ndarray]],
    labels: Sequence[str],
    eval_labels: Sequence[str],
    thresholds: Mapping[str, float],
    min_words: Mapping[str, int],
) -> tuple[float, float]:
    from argmine.evaluate import span_scores

    pred = [
        article.with_annotations(
            decode(article, cands, p, labels, thresholds=thresholds, min_words=min_words), []
        )
        for article, cands, p in rows
    ]
    s = span_scores(gold, pred, labels=eval_labels)
    return s["overlap"]["micro"]["f1"], s["exact"]["micro"]["f1"]


def tune_decoding(
    gold: Sequence[Article],
    rows: Sequence[tuple[Article, list[Candidate], np.ndarray]],
    labels: Sequence[str],
    *,
    eval_labels: Sequence[str] | None = None,
    rounds: int = 2,
) -> tuple[dict[str, float], dict[str, int], tuple[float, float]]:
    """Per-label thresholds and minimum lengths with the best overlap F1 on ``rows`` (article,
    candidates, class probabilities), by coordinate ascent over the labels (``rounds``
    passes); ties go to the better exact F1, then the lower threshold and length. Returns
    them and the (overlap, exact) F1 they reach."""
    eval_labels = list(eval_labels or labels)
    thresholds = dict.fromkeys(labels, 0.3)
    min_words = dict.fromkeys(labels, 0)
    best = _score(gold, rows, labels, eval_labels, thresholds, min_words)
    for _ in range(rounds):
        changed = False
        for label in labels:
            choice = (best, -thresholds[label], -min_words[label])
            for t in THRESHOLD_GRID:
                for w in MIN_WORDS_GRID:
                    f1s = _score(
                        gold,
                        rows,
                        labels,
                        eval_labels,
                        {**thresholds, label: t},
                        {**min_words, label: w},
                    )
                    key = (f1s, -t, -w)
                    if key > choice:
                        choice = key
            f1s, neg_t, neg_w = choice
            if (-neg_t, -neg_w) != (thresholds[label], min_words[label]):
                changed = True
            thresholds[label], min_words[label], best = float(-neg_t), int(-neg_w), f1s
        if not changed:
            break
    return thresholds, min_words, best


def _candidate_recall(
    gold: Sequence[Article], cands: Sequence[Sequence[Candidate]], labels: Sequence[str]
) -> dict[str, float]:
    """Share of gold units some candidate matches (exact, overlap): the ceiling of recall."""
    from argmine.evaluate import exact_match, overlap_match

    total = exact = overlap = 0
    for article, cs in zip(gold, cands, strict=True):
        spans = [ArgUnit("c", c.start, c.end, "x") for c in cs]
        for g in article.units:
            if g.label not in labels:
                continue
            total += 1
            near = [s for s in spans if s.start < g.end and g.start < s.end]
            exact += any(exact_match(g, s) for s in near)
            overlap += any(overlap_match(g, s) for s in near)
    return {
        "gold_units": total,
        "exact": exact / total if total else 0.0,
        "overlap": overlap / total if total else 0.0,
    }


def fit(
    gold: Sequence[Article],
    inputs: Sequence[Stage2Input],
    labels: Sequence[str],
    *,
    eval_labels: Sequence[str] | None = None,
    candidate_thresholds: Sequence[float] = CANDIDATE_THRESHOLDS,
    sources: Sequence[str] = DEFAULT_SOURCES,
    target: str = "best",
    folds: int = 4,
    trees: int = 100,
    num_leaves: int = 15,
    learning_rate: float = 0.05,
    min_data: int = 5,
    seed: int = 0,
    threads: int = 1,
    baseline: float | None = None,
) -> Stage2Model | None:
    """Fit a second stage on first-stage predictions (``inputs``) for the gold articles
    ``gold`` (paired by id; articles the tagger did not train on). Thresholds and minimum
    lengths are tuned on out-of-fold probabilities of ``folds`` folds over the articles; the
    model is then refitted on all of them. ``active``: its out-of-fold dev overlap F1 beats
    ``baseline`` (the first stage's dev F1; None: active). None (with a warning) when there
    are fewer than two articles or no gold unit to learn from."""
    started = time.perf_counter()
    labels = tuple(labels)
    eval_labels = list(eval_labels or labels)
    by_id = {a.id: a for a in gold}
    missing = [inp.article.id for inp in inputs if inp.article.id not in by_id]
    if missing:
        raise ValueError(f"no gold article for {missing[:3]}")
    lexicon = _default_lexicon()
    names = feature_names(labels, [g.name for g in lexicon.groups])
    per_article = []
    for inp in inputs:
        cs = candidates(
            inp, labels, thresholds=candidate_thresholds, sources=sources, lexicon=lexicon
        )
        x = span_features(inp, cs, labels, lexicon=lexicon)
        y = targets(cs, by_id[inp.article.id].units, labels, target=target)
        per_article.append((inp.article, cs, x, y))
    gold_list = [by_id[inp.article.id] for inp in inputs]
    positives = int(sum((y > 0).sum() for *_, y in per_article))
    if len(per_article) < 2 or positives == 0:
        log.warning(
            "stage2: %d article(s) with %d matched candidate(s): too little to fit on; "
            "no second stage",
            len(per_article),
            positives,
        )
        return None
    params = _params(
        1 + len(labels),
        trees=trees,
        num_leaves=num_leaves,
        learning_rate=learning_rate,
        min_data=min_data,
        seed=seed,
        threads=threads,
    )
    k = max(2, min(folds, len(per_article)))
    order = np.random.default_rng(seed).permutation(len(per_article))
    fold_of = np.empty(len(per_article), dtype=np.int64)
    fold_of[order] = np.arange(len(per_article)) % k
    oof: list[np.ndarray | None] = [None] * len(per_article)
    for f in range(k):
        train_rows = [i for i in range(len(per_article)) if fold_of[i] != f]
        x = np.concatenate([per_article[i][2] for i in train_rows])
        y = np.concatenate([per_article[i][3] for i in train_rows])
        booster = _train(params, x, y)
        for i in range(len(per_article)):
            if fold_of[i] == f:
                xi = per_article[i][2]
                oof[i] = (
                    np.asarray(booster.predict(xi)).reshape(len(xi), -1)
                    if len(xi)
                    else np.zeros((0, 1 + len(labels)))
                )
    rows = [(a, cs, p) for (a, cs, _, _), p in zip(per_article, oof, strict=True)]
    thresholds, min_words, (dev_overlap, dev_exact) = tune_decoding(
        gold_list, rows, labels, eval_labels=eval_labels
    )
    x_all = np.concatenate([x for _, _, x, _ in per_article])
    y_all = np.concatenate([y for *_, y in per_article])
    booster = _train(params, x_all, y_all)
    report = {
        "dev_oof_overlap_f1": dev_overlap,
        "dev_oof_exact_f1": dev_exact,
        "baseline_dev_overlap_f1": baseline,
        "articles": len(per_article),
        "folds": k,
        "candidates": len(y_all),
        "positives": positives,
        "candidate_recall": _candidate_recall(
            gold_list, [cs for _, cs, _, _ in per_article], eval_labels
        ),
        "fit_seconds": round(time.perf_counter() - started, 2),
    }
    return Stage2Model(
        booster=booster,
        labels=labels,
        features=tuple(names),
        candidate_thresholds=tuple(candidate_thresholds),
        sources=tuple(sources),
        target=target,
        thresholds=thresholds,
        min_words=min_words,
        active=baseline is None or dev_overlap > baseline,
        report=report,
    )
