"""The pair ranker: a feature-based relation scorer beside the relation head (``relations.ranker``).

No torch; numpy and scipy. The relation head learns from the encoder's unit vectors, and with the
few dozen training articles a project has it memorises them: on the starter set's 5-fold CV it
was no better than the rules' nearest-unit linking with gold units (relation F1 0.421 vs 0.430).
The ranker learns the same decision from hand-built, sparse features of a pair that transfer
between articles::

    units (text order, labelled)
        ──for each head unit i: every other unit j and "no parent"──> sparse features:
            label pair; signed distance; label pair x direction x same paragraph; paragraph
            distance; how many units of j's label lie between (is j the nearest Claim before
            i?); j ends or starts its paragraph, is the last unit, the last Conclusion; the
            rules' nearest-unit link either way; word overlap; i opens with a contrast marker
            ("no parent": i's label, position, last Conclusion)
        ──attachment: one weight per feature, a softmax per head over its candidates and "no
          parent" (a conditional logit, as the relation head's head selection), L2-regularised
          maximum likelihood (L-BFGS)──> P(head i attaches to j), P(i has no parent)
        ──label: a multinomial logit over label features (label pair, contrast, concession,
          negation and reporting cues, "but" between the two, marker words before i), fitted
          on the gold pairs──> P(label | attached)
        ──probs(): len(pairs) x (1 + R), the format of argmine.inference.relation_probs──>
    mix_pair_probs(head probs, ranker probs, mix): per head unit, the geometric mean of the two
        distributions (mix = the head's share; 0 = the ranker alone, 1 = the head alone),
        renormalised; the label split likewise ──> decode_relations

``argmine train`` fits it on the training articles' gold units (``relations.ranker``), chooses
``mix`` on dev with the decoding mode, threshold and rule bonus, and saves it as
``pair_ranker.json`` (the weights by feature name, readable) beside the model; ``argmine tag``
applies it.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from argmine.document import ArgUnit, Article
from argmine.relations import paragraph_ids

__all__ = [
    "MIX_GRID",
    "PairRanker",
    "label_features",
    "mix_pair_probs",
    "ranker_features",
]

log = logging.getLogger(__name__)

FILENAME = "pair_ranker.json"
FORMAT_VERSION = 1
#: the head's share in the fused attachment that ``relations.ranker.mix: auto`` tries on dev
MIX_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)

_CONTRAST = re.compile(
    r"^\W*(but|however|yet|still|nevertheless|nonetheless|although|though|even so|"
    r"on the contrary|in fact|critics|opponents)\b",
    re.IGNORECASE,
)
_REPORTING = re.compile(
    r"\b(argue|argues|argued|claim|claims|say|says|said|insist|insists|contend|contends|"
    r"supporters|critics|opponents|some)\b",
    re.IGNORECASE,
)
_NEGATION = re.compile(r"\b(not|no|never|nor|cannot|n't|hardly)\b", re.IGNORECASE)
_CONCESSION = re.compile(
    r"\b(although|though|while|granted|admittedly|of course|true)\b", re.IGNORECASE
)
_BUT = re.compile(r"\b(but|however|yet)\b", re.IGNORECASE)
_BUT_BEFORE = re.compile(r"\b(but|however|yet)\W*$", re.IGNORECASE)
_WORD = re.compile(r"[a-z]+")
_STOPWORDS = (
    "the a an of to in and or is are was were be been that this it its for on with as by at "
    "from but not no have has had will would can could should may might their they them "
    "there which who what than so if into about more most also"
)
_STOP = frozenset(_STOPWORDS.split())

Features = dict[str, float]


def _content_words(text: str) -> frozenset[str]:
    return frozenset(w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 2)


@dataclass
class _Context:
    """What the pair features of one article share: each unit's paragraph, label, content
    words and position cues, computed once per article."""

    par: list[int]
    links: set[tuple[int, int]]
    label: list[str]
    words: list[frozenset[str]]
    contrast: list[bool]
    last_in_par: list[bool]
    first_in_par: list[bool]
    last_conclusion: int | None
    counts: dict[str, np.ndarray]  # per label: prefix counts of the units with that label


def _context(
    text: str, units: Sequence[ArgUnit], links: set[tuple[int, int]] | None = None
) -> _Context:
    n = len(units)
    par = paragraph_ids(text, [u.start for u in units])
    if links is None:
        from argmine.prelabel import rule_link_pairs

        links = rule_link_pairs(units, par)
    label = [u.label for u in units]
    conclusions = [k for k in range(n) if label[k] == "Conclusion"]
    return _Context(
        par=par,
        links=links,
        label=label,
        words=[_content_words(text[u.start : u.end]) for u in units],
        contrast=[bool(_CONTRAST.search(text[u.start : u.end])) for u in units],
        last_in_par=[k == n - 1 or par[k + 1] != par[k] for k in range(n)],
        first_in_par=[k == 0 or par[k - 1] != par[k] for k in range(n)],
        last_conclusion=conclusions[-1] if conclusions else None,
        counts={lab: np.cumsum([0] + [int(x == lab) for x in label]) for lab in sorted(set(label))},
    )


def _pair_features(c: _Context, i: int, j: int, li: str, lj: str) -> Features:
    """The features of head ``i`` (labelled ``li``) attaching to ``j`` (labelled ``lj``); the
    other units keep their labels in ``c``."""
    n = len(c.label)
    d = j - i
    side = "b" if d < 0 else "a"
    same = int(c.par[i] == c.par[j])
    pair = f"{li}>{lj}"
    lo, hi = (j + 1, i) if d < 0 else (i + 1, j)
    counts = c.counts.get(lj)
    between = int(counts[hi] - counts[lo]) if hi > lo and counts is not None else 0
    rank = min(between, 2)
    wi, wj = c.words[i], c.words[j]
    overlap = len(wi & wj) / max(1, min(len(wi), len(wj)))
    f: Features = {
        f"pair={pair}": 1.0,
        f"d={max(-6, min(6, d))}": 1.0,
        f"pair={pair},side={side},same_par={same}": 1.0,
        f"par_dist={min(abs(c.par[i] - c.par[j]), 3)},side={side}": 1.0,
        f"rank={lj},{side},{rank}": 1.0,
        f"rank={lj},{side},{rank},same_par={same}": 1.0,
        "distance": abs(d) / 10.0,
        "overlap": overlap,
    }
    if c.last_in_par[j]:
        f["tail_ends_par"] = 1.0
        f[f"tail_ends_par,pair={pair}"] = 1.0
    if c.first_in_par[j]:
        f["tail_opens_par"] = 1.0
    if j == n - 1:
        f["tail_last"] = 1.0
    if j == c.last_conclusion:
        f["tail_last_conclusion"] = 1.0
        f[f"tail_last_conclusion,head={li}"] = 1.0
    if (i, j) in c.links:
        f["rule_link"] = 1.0
        f[f"rule_link,pair={pair}"] = 1.0
    if (j, i) in c.links:
        f["rule_link_reversed"] = 1.0
    if c.contrast[i]:
        f["head_contrast"] = 1.0
        f[f"head_contrast,side={side},same_par={same}"] = 1.0
    return f


def _root_features(c: _Context, i: int, li: str) -> Features:
    """The features of head ``i`` (labelled ``li``) having no parent."""
    root: Features = {f"root,head={li}": 1.0}
    if i == len(c.label) - 1:
        root["root,last"] = 1.0
    if i == c.last_conclusion:
        root["root,last_conclusion"] = 1.0
    if c.par[i] == c.par[-1]:
        root["root,last_par"] = 1.0
    if i == 0:
        root["root,first"] = 1.0
    return root


def ranker_features(
    text: str, units: Sequence[ArgUnit], links: set[tuple[int, int]] | None = None
) -> list[tuple[dict[int, Features], Features]]:
    """Per head unit ``i`` (``units`` in text order, labelled): the features of every other
    unit ``j`` as its target, and of "no parent". ``links``: the rules' nearest-unit links
    ``(i, j)`` over these units (:func:`argmine.relations.rule_links_of`; computed when None)."""
    c = _context(text, units, links)
    n = len(units)
    return [
        (
            {j: _pair_features(c, i, j, c.label[i], c.label[j]) for j in range(n) if j != i},
            _root_features(c, i, c.label[i]),
        )
        for i in range(n)
    ]


@dataclass(frozen=True)
class _Cues:
    """What one unit contributes to the label features of the pairs it is in."""

    as_head: dict[str, float]  # its features as the head of a pair
    contrast: bool
    reports: bool
    negated: bool


def _unit_cues(text: str, unit: ArgUnit) -> _Cues:
    body = text[unit.start : unit.end]
    before = text[max(0, unit.start - 40) : unit.start]
    contrast = bool(_CONTRAST.search(body) or _BUT_BEFORE.search(before))
    reports = bool(_REPORTING.search(body))
    negated = bool(_NEGATION.search(body))
    f: Features = {}
    if contrast:
        f["contrast"] = 1.0
    if reports:
        f["head_reports"] = 1.0
    if negated:
        f["head_negated"] = 1.0
    if _CONCESSION.search(body):
        f["head_concedes"] = 1.0
    for w in _content_words(body[:30]):
        f[f"head_word={w}"] = 1.0
    for w in _WORD.findall(before.lower())[-3:]:
        f[f"before={w}"] = 1.0
    return _Cues(f, contrast, reports, negated)


def label_features(
    text: str,
    units: Sequence[ArgUnit],
    i: int,
    j: int,
    *,
    cues: Sequence[_Cues] | None = None,
    pair_labels: tuple[str, str] | None = None,
) -> Features:
    """Features of the relation label of the pair ``i -> j`` (text order): the label pair,
    contrast, concession, negation and reporting cues of the two units, "but" between them,
    the head's first content words and the words before it. ``cues``: each unit's part,
    computed once per article (:func:`_unit_cues`) when the caller scores many pairs;
    ``pair_labels``: the two units' labels, if not their own."""
    head = cues[i] if cues is not None else _unit_cues(text, units[i])
    tail = cues[j] if cues is not None else _unit_cues(text, units[j])
    li, lj = pair_labels if pair_labels is not None else (units[i].label, units[j].label)
    pair = f"{li}>{lj}"
    f: Features = {"bias": 1.0, f"pair={pair}": 1.0, **head.as_head}
    if tail.reports:
        f["tail_reports"] = 1.0
    if tail.negated:
        f["tail_negated"] = 1.0
    if j > i:
        f["tail_after"] = 1.0
    if head.contrast:
        f[f"contrast,pair={pair}"] = 1.0
    lo, hi = (units[j].end, units[i].start) if j < i else (units[i].end, units[j].start)
    if _BUT.search(text, lo, max(lo, hi)):
        f["but_between"] = 1.0
    return f


#: label options below this probability are left out of the expected scores (then renormalised)
MIN_LABEL_PROB = 0.02


def _label_options(
    units: Sequence[ArgUnit], label_probs: Sequence[Mapping[str, float]] | None
) -> list[list[tuple[str, float]]]:
    """Per unit the labels the expected scores run over, with their weights: its own label
    alone without ``label_probs``."""
    if label_probs is None:
        return [[(u.label, 1.0)] for u in units]
    if len(label_probs) != len(units):
        raise ValueError(f"{len(label_probs)} label distributions for {len(units)} units")
    out = []
    for unit, dist in zip(units, label_probs, strict=True):
        kept = [(lab, float(p)) for lab, p in dist.items() if p >= MIN_LABEL_PROB]
        total = sum(p for _, p in kept)
        out.append([(lab, p / total) for lab, p in kept] if total > 0 else [(unit.label, 1.0)])
    return out


# -- fitting ---------------------------------------------------------------------------------
def _design(rows: Sequence[Features], vocab: Mapping[str, int]) -> Any:
    from scipy import sparse

    data, cols, ptr = [], [], [0]
    for f in rows:
        for name, value in f.items():
            k = vocab.get(name)
            if k is not None and value:
                cols.append(k)
                data.append(value)
        ptr.append(len(cols))
    return sparse.csr_matrix(
        (np.asarray(data, dtype=np.float64), np.asarray(cols, dtype=np.int64), ptr),
        shape=(len(rows), len(vocab)),
    )


def _group_lse(scores: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Log-sum-exp of each contiguous group of ``scores`` (groups begin at ``starts``)."""
    top = np.maximum.reduceat(scores, starts)
    sizes = np.diff(np.append(starts, len(scores)))
    shifted = np.exp(scores - np.repeat(top, sizes))
    return top + np.log(np.add.reduceat(shifted, starts))


def _fit_grouped(x: Any, gold: np.ndarray, starts: np.ndarray, l2: float) -> np.ndarray:
    """Weights of a conditional logit: per group (rows ``starts[g]`` to the next start) a
    softmax over its rows; the likelihood of the gold rows (``gold``, a set per group),
    L2-penalised."""
    from scipy.optimize import minimize

    sizes = np.diff(np.append(starts, x.shape[0]))
    n_groups = len(starts)
    neg = -1e9

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        s = x @ w
        total = _group_lse(s, starts)
        good = _group_lse(np.where(gold, s, neg), starts)
        p = np.exp(s - np.repeat(total, sizes))
        q = np.where(gold, np.exp(s - np.repeat(good, sizes)), 0.0)
        value = float((total - good).sum() / n_groups + l2 * (w @ w))
        grad = x.T @ (p - q) / n_groups + 2 * l2 * w
        return value, np.asarray(grad).ravel()

    w0 = np.zeros(x.shape[1])
    result = minimize(loss, w0, jac=True, method="L-BFGS-B", options={"maxiter": 500})
    return result.x


@dataclass(frozen=True)
class PairRanker:
    """A fitted pair ranker: attachment weights and label weights by feature name."""

    relation_labels: tuple[str, ...]
    attach: dict[str, float]
    label: dict[str, dict[str, float]]
    l2: float = 1e-3
    report: dict[str, Any] = field(default_factory=dict)

    # -- fitting -------------------------------------------------------------------------
    @classmethod
    def fit(
        cls,
        articles: Sequence[Article],
        *,
        relation_labels: Sequence[str],
        l2: float = 1e-3,
    ) -> PairRanker | None:
        """Fit on the units and relations of ``articles`` (relations cleaned as the relation
        head's training data: :func:`argmine.relations.clean_relations`). Articles without
        relations teach nothing and are left out; None (with a warning) when no relation is
        left."""
        from argmine.relations import clean_relations

        relation_labels = tuple(relation_labels)
        groups: list[list[Features]] = []
        golds: list[list[bool]] = []
        label_rows: list[Features] = []
        label_y: list[int] = []
        used = 0
        for article in articles:
            relations = clean_relations(article, relation_labels)
            if not relations:
                continue
            used += 1
            units = article.sorted_units()
            index = {u.id: k for k, u in enumerate(units)}
            cues = [_unit_cues(article.text, u) for u in units]
            parents: dict[int, set[int]] = {}
            for r in relations:
                head, tail = index[r.head], index[r.tail]
                parents.setdefault(head, set()).add(tail)
                label_rows.append(label_features(article.text, units, head, tail, cues=cues))
                label_y.append(relation_labels.index(r.label))
            for i, (tails, root) in enumerate(ranker_features(article.text, units)):
                targets = parents.get(i, set())
                groups.append([*tails.values(), root])
                golds.append([j in targets for j in tails] + [not targets])
        if not label_y:
            log.warning("pair ranker: no relation in the training articles; none fitted")
            return None
        vocab: dict[str, int] = {}
        for rows in groups:
            for f in rows:
                for name in f:
                    vocab.setdefault(name, len(vocab))
        x = _design([f for rows in groups for f in rows], vocab)
        gold = np.array([g for gs in golds for g in gs], dtype=bool)
        starts = np.cumsum([0] + [len(rows) for rows in groups[:-1]]).astype(np.int64)
        w = _fit_grouped(x, gold, starts, l2)
        attach = {name: float(w[k]) for name, k in vocab.items() if abs(w[k]) > 1e-9}
        # labels: a multinomial logit is the conditional logit over one group of R rows
        label_weights: dict[str, dict[str, float]] = {lab: {} for lab in relation_labels}
        if len(relation_labels) > 1 and len(set(label_y)) > 1:
            lvocab: dict[str, int] = {}
            for f in label_rows:
                for name in f:
                    for lab in relation_labels:
                        lvocab.setdefault(f"{lab}|{name}", len(lvocab))
            rows = [
                {f"{lab}|{name}": v for name, v in f.items()}
                for f in label_rows
                for lab in relation_labels
            ]
            lx = _design(rows, lvocab)
            r = len(relation_labels)
            lgold = np.array([k == y for y in label_y for k in range(r)], dtype=bool)
            lw = _fit_grouped(lx, lgold, np.arange(0, len(rows), r, dtype=np.int64), l2)
            for key, k in lvocab.items():
                lab, name = key.split("|", 1)
                if abs(lw[k]) > 1e-9:
                    label_weights[lab][name] = float(lw[k])
        report = {
            "articles": used,
            "head_units": len(groups),
            "relations": len(label_y),
            "features": len(attach),
        }
        return cls(relation_labels, attach, label_weights, l2=l2, report=report)

    # -- scoring -------------------------------------------------------------------------
    @staticmethod
    def _score(weights: Mapping[str, float], f: Features) -> float:
        return sum(weights.get(name, 0.0) * v for name, v in f.items())

    def probs(
        self,
        text: str,
        units: Sequence[ArgUnit],
        pairs: Sequence[tuple[int, int]],
        *,
        links: set[tuple[int, int]] | None = None,
        label_probs: Sequence[Mapping[str, float]] | None = None,
    ) -> np.ndarray:
        """``len(pairs) x (1 + R)`` class probabilities of the candidate ``pairs`` over
        ``units`` (text order), in the format of :func:`argmine.inference.relation_probs`:
        per head unit a softmax over its candidate tails and "no parent"; column 0 is
        1 - P(attach), the others P(attach) x P(label).

        ``label_probs``: per unit a distribution over its span label (predicted units: the
        unit head's), else each unit's own label. Every score is then its expectation over the
        two units' labels (the weights are linear in the features), so a unit the model is
        unsure about no longer commits the ranker to one label pair."""
        r = len(self.relation_labels)
        out = np.zeros((len(pairs), 1 + r), dtype=np.float64)
        if not pairs:
            return out
        c = _context(text, units, links)
        options = _label_options(units, label_probs)
        cues = [_unit_cues(text, u) for u in units]
        by_head: dict[int, list[int]] = {}
        for row, (i, _) in enumerate(pairs):
            by_head.setdefault(i, []).append(row)
        for i, rows in by_head.items():
            scores = np.array(
                [
                    sum(
                        pa * pb * self._score(self.attach, _pair_features(c, i, j, a, b))
                        for a, pa in options[i]
                        for b, pb in options[j]
                    )
                    for j in (pairs[row][1] for row in rows)
                ]
                + [
                    sum(
                        pa * self._score(self.attach, _root_features(c, i, a))
                        for a, pa in options[i]
                    )
                ]
            )
            p = np.exp(scores - scores.max())
            p /= p.sum()
            for k, row in enumerate(rows):
                j = pairs[row][1]
                ls = np.zeros(r)
                for a, pa in options[i]:
                    for b, pb in options[j]:
                        lf = label_features(text, units, i, j, cues=cues, pair_labels=(a, b))
                        ls += (
                            pa
                            * pb
                            * np.array(
                                [self._score(self.label[lab], lf) for lab in self.relation_labels]
                            )
                        )
                lp = np.exp(ls - ls.max())
                lp /= lp.sum()
                out[row, 0] = 1.0 - p[k]
                out[row, 1:] = p[k] * lp
        return out

    # -- files ---------------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        from argmine.fileio import atomic_write_text

        path = Path(directory) / FILENAME
        payload = {
            "format_version": FORMAT_VERSION,
            "relation_labels": list(self.relation_labels),
            "l2": self.l2,
            "report": self.report,
            "attach": dict(sorted(self.attach.items(), key=lambda kv: -abs(kv[1]))),
            "label": {
                lab: dict(sorted(w.items(), key=lambda kv: -abs(kv[1])))
                for lab, w in self.label.items()
            },
        }
        atomic_write_text(path, json.dumps(payload, indent=1) + "\n", force=True)
        return path

    @classmethod
    def load(cls, directory: str | Path) -> PairRanker | None:
        """The ranker saved in ``directory``, or None if it has none."""
        from argmine.errors import ModelError

        path = Path(directory) / FILENAME
        if not path.is_file():
            return None
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelError(f"{path}: cannot read the pair ranker ({exc})") from None
        if not isinstance(meta, dict) or meta.get("format_version") != FORMAT_VERSION:
            raise ModelError(f"{path}: not a pair ranker file of format {FORMAT_VERSION}")
        try:
            labels = tuple(str(x) for x in meta["relation_labels"])
            attach = {str(k): float(v) for k, v in meta["attach"].items()}
            label = {
                str(lab): {str(k): float(v) for k, v in w.items()}
                for lab, w in meta["label"].items()
            }
            if set(label) != set(labels):
                raise ValueError(f"label weights for {sorted(label)}, labels {list(labels)}")
            l2 = float(meta.get("l2", 1e-3))
            return cls(labels, attach, label, l2=l2, report=meta.get("report") or {})
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ModelError(f"{path}: bad pair ranker ({exc})") from None


def mix_pair_probs(
    pairs: Sequence[tuple[int, int]], head: np.ndarray, ranker: np.ndarray, mix: float
) -> np.ndarray:
    """The relation head's and the ranker's pair probabilities (both ``len(pairs) x (1 + R)``,
    per head unit a distribution over its candidates and "no parent") fused per head unit:
    ``head^mix * ranker^(1 - mix)``, renormalised over the candidates and "no parent"; the
    label split of each pair likewise. ``mix`` 1 returns ``head``, 0 ``ranker``."""
    head = np.asarray(head, dtype=np.float64)
    ranker = np.asarray(ranker, dtype=np.float64)
    if mix >= 1.0 or not len(pairs):
        return head
    if mix <= 0.0:
        return ranker
    if head.shape != ranker.shape:
        raise ValueError(f"probabilities of shapes {head.shape} and {ranker.shape} do not fit")
    eps = 1e-12
    heads = np.array([i for i, _ in pairs], dtype=np.int64)
    n = int(heads.max()) + 1

    def parts(p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        attach = np.clip(1.0 - p[:, 0], eps, 1.0)
        root = np.clip(1.0 - np.bincount(heads, weights=attach, minlength=n), eps, 1.0)
        split = np.clip(p[:, 1:] / attach[:, None], eps, 1.0)
        return attach, root, split

    ha, hr, hs = parts(head)
    ra, rr, rs = parts(ranker)
    attach = np.exp(mix * np.log(ha) + (1 - mix) * np.log(ra))
    root = np.exp(mix * np.log(hr) + (1 - mix) * np.log(rr))
    norm = root + np.bincount(heads, weights=attach, minlength=n)
    attach = attach / norm[heads]
    split = np.exp(mix * np.log(hs) + (1 - mix) * np.log(rs))
    split /= split.sum(axis=1, keepdims=True)
    out = np.empty_like(head)
    out[:, 0] = 1.0 - attach
    out[:, 1:] = attach[:, None] * split
    return out
