"""One forward pass per window -> units and relations: the inference shared by ``argmine tag``
(:class:`argmine.tag.Tagger`) and the dev/test evaluation of ``argmine train``.

::

    articles ──TokenTagCodec.encode──> windows ──sorted by length, batched──>
    ArgumentModel.encode (torch.inference_mode) ──> tag logits + last hidden states per window
        ──stitch (each token from the window that owns it)──> document tag probabilities and
          document token states
        ──units: "bio" (constrained Viterbi over the tag probabilities, TokenTagCodec.decode,
                 with the model's CRF transitions when it has a CRF)
                 "segments" (the rule segmenter's units, labelled by the unit head)
                 "gold" (the article's own units: the relation model alone)
                 "stage2" (candidates from both, scored by the LightGBM second stage:
                 argmine.stage2, fed by stage2_inputs)
        ──unit vectors (mean ‖ first token of each unit's states)──> relation head over the
          candidate pairs of the model's scope ──decode_relations──> ArgRelation with scores
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from argmine.document import ArgUnit, Article
from argmine.encoding import TokenTagCodec
from argmine.relations import (
    PairEncoder,
    decode_relations,
    labels_from_structure,
    rule_candidates,
    rule_links_of,
    unit_token_ranges,
    with_rule_bonus,
    with_rule_labels,
)

__all__ = [
    "UNIT_SOURCES",
    "Decoded",
    "ForwardCache",
    "Prediction",
    "decode_graph",
    "decode_units",
    "predict_articles",
    "relation_probs",
    "run_windows",
    "spans_labelled_by_tags",
    "stage2_inputs",
    "with_ranker",
]

UNIT_SOURCES = ("bio", "segments", "gold", "stage2")


class Prediction:
    """What one article's windows gave: tag probabilities and token states per window."""

    def __init__(self, windows: list[dict[str, Any]]) -> None:
        self.windows = windows
        self.probs: list[Any] = [None] * len(windows)
        self.states: list[Any] = [None] * len(windows)

    def stitched_states(self, codec: TokenTagCodec) -> np.ndarray:
        """Document token states (n_tokens x hidden), each token from the window owning it."""
        npre = len(codec.prefix)
        n_tokens = max((int(w["token_end"]) for w in self.windows), default=0)
        hidden = self.states[0].shape[-1] if self.windows else 0
        out = np.zeros((n_tokens, hidden), dtype=np.float32)
        for window, s in zip(self.windows, self.states, strict=True):
            start = int(window["token_start"])
            own_start, own_end = int(window["own_start"]), int(window["own_end"])
            out[own_start:own_end] = s[npre + own_start - start : npre + own_end - start]
        return out


class ForwardCache:
    """The forward passes of one set of weights, by article (id and text), shared by the
    :func:`run_windows` calls given it: ``argmine train`` scores the same dev articles several
    ways (BIO units, segment units, gold units for relations, each rule bonus) with the same
    weights, and one forward pass serves them all. The caller makes a new one whenever the
    weights change. Cached predictions keep their token states, and are shared, not copied:
    nothing downstream writes to a :class:`Prediction`. It holds at most ``max_bytes`` of
    probabilities and states (a large dev or test split would otherwise keep gigabytes of
    states); articles beyond that are run each time, as without a cache."""

    def __init__(self, max_bytes: int = 512 * 2**20) -> None:
        self.by_article: dict[tuple[str, str], Prediction] = {}
        self.owner: tuple[int, int, str] | None = None
        self.max_bytes = max_bytes
        self.nbytes = 0

    def check(self, model: Any, codec: TokenTagCodec, dtype: str) -> None:
        owner = (id(model), id(codec), dtype)
        if self.owner is None:
            self.owner = owner
        elif self.owner != owner:
            raise ValueError("a ForwardCache serves one model, codec and dtype")

    def add(self, key: tuple[str, str], pred: Prediction) -> None:
        size = sum(a.nbytes for a in (*pred.probs, *pred.states) if a is not None)
        if self.nbytes + size <= self.max_bytes:
            self.by_article[key] = pred
            self.nbytes += size


def run_windows(
    model: Any,
    codec: TokenTagCodec,
    articles: Sequence[Article],
    *,
    batch_size: int = 16,
    pad_id: int = 0,
    dtype: str = "float32",
    keep_states: bool = False,
    on_progress: Callable[[float], None] | None = None,
    cache: ForwardCache | None = None,
) -> list[Prediction]:
    """Tag probabilities (and, with ``keep_states``, last hidden states) for every window of
    ``articles``; windows of all articles are sorted by length and batched, padded to the
    batch's longest. ``model`` is an :class:`~argmine.modeling.ArgumentModel`. With a
    ``cache``, articles it holds are not run again; the others are run with their states
    kept, and added to it while it has room."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size!r}")
    if cache is not None:
        cache.check(model, codec, dtype)
        keys = [(a.id, a.text) for a in articles]
        new = {k: a for k, a in zip(keys, articles, strict=True) if k not in cache.by_article}
        ran: dict[tuple[str, str], Prediction] = {}
        if new:
            fresh = run_windows(
                model, codec, list(new.values()), batch_size=batch_size, pad_id=pad_id,
                dtype=dtype, keep_states=True,
            )  # fmt: skip
            ran = dict(zip(new, fresh, strict=True))
            for k, p in ran.items():
                cache.add(k, p)
        preds = [ran[k] if k in ran else cache.by_article[k] for k in keys]
        if on_progress is not None:
            for _ in preds:
                on_progress(1.0)
        return preds
    import torch

    preds = [Prediction(codec.encode(a, with_labels=False)) for a in articles]
    order = sorted(
        (
            (len(w["input_ids"]), ai, wi)
            for ai, p in enumerate(preds)
            for wi, w in enumerate(p.windows)
        ),
        reverse=True,
    )
    autocast = (
        torch.autocast("cpu", dtype=torch.bfloat16)
        if dtype == "bfloat16"
        else contextlib.nullcontext()
    )
    device = next(model.parameters()).device
    with eval_mode(model), torch.inference_mode(), autocast:
        for b in range(0, len(order), batch_size):
            batch = order[b : b + batch_size]
            width = batch[0][0]
            ids = np.full((len(batch), width), pad_id, dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, (n, ai, wi) in enumerate(batch):
                ids[row, :n] = preds[ai].windows[wi]["input_ids"]
                mask[row, :n] = 1
            logits, states = model.encode(
                torch.from_numpy(ids).to(device), torch.from_numpy(mask).to(device)
            )
            p = torch.softmax(logits.float(), dim=-1).cpu().numpy()
            s = states.float().cpu().numpy() if keep_states else None
            for row, (n, ai, wi) in enumerate(batch):
                preds[ai].probs[wi] = p[row, :n]
                if s is not None:
                    preds[ai].states[wi] = s[row, :n]
                if on_progress is not None:
                    on_progress(1.0 / len(preds[ai].windows))
    return preds


@contextlib.contextmanager
def eval_mode(model: Any) -> Any:
    """``model`` (and its heads) in eval mode inside the block, its previous mode after it: the
    heads' dropout must be off whenever argmine predicts, also while the Trainer has the model
    in training mode (dev scoring, threshold and decoding tuning, test scoring)."""
    was = getattr(model, "training", None)
    if was is None:  # not a torch module
        yield model
        return
    model.eval()
    try:
        yield model
    finally:
        model.train(was)


def _in_eval_mode(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn(model, ...)`` run with ``model`` in eval mode (:func:`eval_mode`)."""

    @functools.wraps(fn)
    def wrapper(model: Any, *args: Any, **kwargs: Any) -> Any:
        with eval_mode(model):
            return fn(model, *args, **kwargs)

    return wrapper


def _pool(states: np.ndarray, ranges: Sequence[tuple[int, int]]) -> np.ndarray:
    hidden = states.shape[-1]
    out = np.zeros((len(ranges), 2 * hidden), dtype=np.float32)
    for k, (a, b) in enumerate(ranges):
        if b > a:
            out[k, :hidden] = states[a:b].mean(axis=0)
            out[k, hidden:] = states[a]
    return out


def _head_probs(fn: Callable[..., Any], *arrays: np.ndarray) -> np.ndarray:
    import torch

    with torch.inference_mode():
        logits = fn(*(torch.from_numpy(np.ascontiguousarray(a)).unsqueeze(0) for a in arrays))
        return torch.softmax(logits.float(), dim=-1)[0].cpu().numpy()


@_in_eval_mode
def segment_probs(
    model: Any,
    article: Article,
    states: np.ndarray,
    offsets: Sequence[tuple[int, int]],
    *,
    encoder: PairEncoder,
) -> tuple[list[ArgUnit], np.ndarray]:
    """The rule candidates of ``article`` and the unit head's probabilities (none, labels...)
    for each."""
    candidates = rule_candidates(article)
    if not candidates:
        return [], np.zeros((0, 1 + len(encoder.span_labels)), dtype=np.float32)
    vectors = _pool(states, unit_token_ranges(offsets, candidates))
    feats = encoder.unit_features(article.text, candidates, candidates)
    return candidates, _head_probs(model.unit_logits, vectors, feats)


def _segment_units(
    model: Any,
    article: Article,
    states: np.ndarray,
    offsets: Sequence[tuple[int, int]],
    *,
    labels: Sequence[str],
    encoder: PairEncoder,
    thresholds: Mapping[str, float] | None = None,
    min_words: int | Mapping[str, int] = 0,
    rule_bonus: float = 0.0,
) -> tuple[list[ArgUnit], list[dict[str, float]]]:
    """The rule candidates of ``article`` labelled by the unit head (``none`` dropped); score =
    the probability of the chosen label, after ``rule_bonus`` is added to the log-probability
    of each candidate's rule label (:func:`argmine.relations.with_rule_labels`); with each
    kept unit its label distribution (the head's, ``none`` left out, renormalised)."""
    candidates, probs = segment_probs(model, article, states, offsets, encoder=encoder)
    probs = with_rule_labels(candidates, probs, labels, rule_bonus)
    units: list[ArgUnit] = []
    dists: list[dict[str, float]] = []
    for unit, p in zip(candidates, probs, strict=True):
        k = int(p.argmax())
        if k == 0:
            continue
        label, score = labels[k - 1], float(p[k])
        if thresholds is not None and score < float(thresholds.get(label, 0.0)):
            continue
        need = min_words.get(label, 0) if isinstance(min_words, Mapping) else min_words
        if need and len(article.text[unit.start : unit.end].split()) < need:
            continue
        units.append(
            ArgUnit(f"T{len(units) + 1}", unit.start, unit.end, label, min(max(score, 0.0), 1.0))
        )
        mass = max(float(p[1:].sum()), 1e-12)
        dists.append({lab: float(p[1 + k]) / mass for k, lab in enumerate(labels)})
    return units, dists


def segment_units(
    model: Any,
    article: Article,
    states: np.ndarray,
    offsets: Sequence[tuple[int, int]],
    *,
    labels: Sequence[str],
    encoder: PairEncoder,
    thresholds: Mapping[str, float] | None = None,
    min_words: int | Mapping[str, int] = 0,
    rule_bonus: float = 0.0,
) -> list[ArgUnit]:
    """The rule candidates of ``article`` labelled by the unit head (``none`` dropped); score =
    the probability of the chosen label, after ``rule_bonus`` is added to the log-probability
    of each candidate's rule label (:func:`argmine.relations.with_rule_labels`)."""
    return _segment_units(
        model,
        article,
        states,
        offsets,
        labels=labels,
        encoder=encoder,
        thresholds=thresholds,
        min_words=min_words,
        rule_bonus=rule_bonus,
    )[0]


#: candidate pairs scored per call of the relation head (bounds its memory)
PAIR_BLOCK = 4096


@_in_eval_mode
def relation_probs(
    model: Any,
    article: Article,
    units: Sequence[ArgUnit],
    states: np.ndarray,
    offsets: Sequence[tuple[int, int]],
    encoder: PairEncoder,
) -> tuple[list[tuple[int, int]], np.ndarray]:
    """Candidate pairs over ``units`` (text order) and their class probabilities."""
    pairs = encoder.pairs(article.text, units)
    if not pairs:
        return [], np.zeros((0, 1 + len(encoder.relation_labels)), dtype=np.float32)
    vectors = _pool(states, unit_token_ranges(offsets, units))
    index = np.array(pairs, dtype=np.int64)
    feats = encoder.pair_features(article.text, units, pairs)
    import torch

    with torch.inference_mode():
        t = lambda a: torch.from_numpy(np.ascontiguousarray(a))  # noqa: E731
        # pairs in blocks, so memory stays flat however many units an article has (every
        # pair of 400 units at once took 2.8 GB)
        logits = torch.cat(
            [
                model.relation_logits(
                    t(vectors[index[k : k + PAIR_BLOCK, 0]]),
                    t(vectors[index[k : k + PAIR_BLOCK, 1]]),
                    t(feats[k : k + PAIR_BLOCK]),
                ).float()
                for k in range(0, len(index), PAIR_BLOCK)
            ]
        )
        roots = model.root_logits(
            t(vectors), t(encoder.relation_unit_features(article.text, units))
        ).float()
        # each head unit: softmax over its candidate tails and the root
        n = len(units)
        grid = torch.full((n, n + 1), -1e4)
        grid[index[:, 0], index[:, 1]] = logits[:, 0]
        grid[:, n] = roots
        attach = torch.softmax(grid, dim=-1)[index[:, 0], index[:, 1]]
        label_p = torch.softmax(logits[:, 1:], dim=-1)
        probs = torch.cat([(1 - attach).unsqueeze(-1), attach.unsqueeze(-1) * label_p], dim=-1)
    return pairs, probs.numpy()


def _stage2_input(
    model: Any,
    codec: TokenTagCodec,
    article: Article,
    pred: Prediction,
    states: np.ndarray | None,
    *,
    encoder: PairEncoder | None,
    viterbi: bool = True,
    trim: bool = True,
    stitch: str = "owned",
) -> Any:
    """What the second stage needs of one article (an :class:`argmine.stage2.Stage2Input`)."""
    from argmine.stage2 import Stage2Input

    token_probs, offsets = codec.stitch(pred.windows, pred.probs)
    unit_p = None
    if states is not None and encoder is not None and getattr(model, "unit_head", None):
        rule, unit_p = segment_probs(model, article, states, offsets, encoder=encoder)
    else:
        rule = rule_candidates(article)
    found = (
        codec.decode(article, pred.windows, pred.probs, viterbi=viterbi, trim=trim, stitch=stitch)
        if pred.windows
        else []
    )
    return Stage2Input(article, token_probs, offsets, rule, unit_p, found)


@_in_eval_mode
def stage2_inputs(
    model: Any,
    codec: TokenTagCodec,
    articles: Sequence[Article],
    *,
    encoder: PairEncoder | None = None,
    viterbi: bool = True,
    batch_size: int = 16,
    pad_id: int = 0,
    dtype: str = "float32",
) -> list[Any]:
    """One forward pass over ``articles`` -> the second stage's inputs per article (tag
    probabilities, rule units with the unit head's probabilities when the model has a unit
    head and ``encoder`` is given, Viterbi units), to fit or score a second stage."""
    need_states = encoder is not None and getattr(model, "unit_head", None) is not None
    preds = run_windows(
        model,
        codec,
        articles,
        batch_size=batch_size,
        pad_id=pad_id,
        dtype=dtype,
        keep_states=need_states,
    )
    return [
        _stage2_input(
            model,
            codec,
            article,
            pred,
            pred.stitched_states(codec) if need_states and pred.windows else None,
            encoder=encoder,
            viterbi=viterbi,
        )
        for article, pred in zip(articles, preds, strict=True)
    ]


@dataclass
class Decoded:
    """One article after the forward pass and unit decoding: its units (text order) and, when
    kept, the document token states and token offsets the relation head pools from."""

    units: list[ArgUnit]
    states: np.ndarray | None = None
    offsets: list[tuple[int, int]] | None = None
    #: per unit (same order) its label distribution: segment units from the unit head, BIO units
    #: from their token tags when the states were kept (relations); None otherwise
    label_probs: list[dict[str, float]] | None = None


@_in_eval_mode
def decode_units(
    model: Any,
    codec: TokenTagCodec,
    articles: Sequence[Article],
    *,
    units: str = "bio",
    encoder: PairEncoder | None = None,
    keep_states: bool = False,
    thresholds: Mapping[str, float] | None = None,
    min_words: int | Mapping[str, int] = 0,
    viterbi: bool = True,
    trim: bool | None = None,
    stitch: str = "owned",
    batch_size: int = 16,
    pad_id: int = 0,
    dtype: str = "float32",
    on_progress: Callable[[float], None] | None = None,
    stage2: Any = None,
    unit_rule_bonus: float = 0.0,
    cache: ForwardCache | None = None,
) -> list[Decoded]:
    """One forward pass over ``articles`` and their units from ``units`` (see
    :func:`predict_articles`), with the token states kept when ``keep_states`` (for the
    relation head); with a ``cache``, the pass it already holds (:class:`ForwardCache`)."""
    if units not in UNIT_SOURCES:
        raise ValueError(f"units must be one of {', '.join(UNIT_SOURCES)}, got {units!r}")
    if units == "stage2" and stage2 is None:
        raise ValueError("units stage2 needs a fitted second stage (stage2=...)")
    need_states = (
        keep_states
        or units == "segments"
        or (units == "stage2" and getattr(model, "unit_head", None) is not None)
    )
    if need_states and encoder is None:
        raise ValueError("predicting relations or segments needs a PairEncoder")
    preds = run_windows(
        model,
        codec,
        articles,
        batch_size=batch_size,
        pad_id=pad_id,
        dtype=dtype,
        keep_states=need_states,
        on_progress=on_progress,
        cache=cache,
    )
    crf = getattr(model, "crf", None)
    crf_scores = crf.decode_scores() if crf is not None else None
    out = []
    for article, pred in zip(articles, preds, strict=True):
        states = offsets = None
        dists: list[dict[str, float]] | None = None
        token_probs = None
        if need_states and pred.windows:
            states = pred.stitched_states(codec)
            token_probs, offsets = codec.stitch(pred.windows, pred.probs)
        if units == "gold":
            found = article.sorted_units()
        elif units == "stage2":
            inp = _stage2_input(
                model,
                codec,
                article,
                pred,
                states,
                encoder=encoder,
                viterbi=viterbi,
                trim=trim,
                stitch=stitch,
            )
            found = stage2.predict_units(inp, thresholds=thresholds is not None)
        elif units == "segments":
            found, dists = (
                _segment_units(
                    model,
                    article,
                    states,
                    offsets,
                    labels=codec.labels,
                    encoder=encoder,
                    thresholds=thresholds,
                    min_words=min_words,
                    rule_bonus=unit_rule_bonus,
                )
                if states is not None
                else ([], [])
            )
        else:
            found = (
                codec.decode(
                    article,
                    pred.windows,
                    pred.probs,
                    thresholds=thresholds,
                    min_words=min_words,
                    viterbi=viterbi,
                    trim=trim,
                    stitch=stitch,
                    crf=crf_scores,
                )
                if pred.windows
                else []
            )
            if token_probs is not None and offsets is not None:
                dists = tag_label_dists(codec, token_probs, offsets, found)
        ordered = article.with_annotations(list(found), []).sorted_units()
        if dists is not None:
            by_span = {(u.start, u.end): d for u, d in zip(found, dists, strict=True)}
            dists = [by_span[(u.start, u.end)] for u in ordered]
        out.append(Decoded(ordered, states, list(offsets) if offsets is not None else None, dists))
    return out


def tag_label_dists(
    codec: TokenTagCodec,
    probs: np.ndarray,
    offsets: Sequence[tuple[int, int]],
    units: Sequence[ArgUnit],
) -> list[dict[str, float]]:
    """Per unit a distribution over the span labels from the token tags (``probs``: document
    tokens x tags, :meth:`TokenTagCodec.stitch`): each label's B- and I- probabilities summed,
    averaged over the unit's tokens (all tokens when it has none), renormalised without O.
    What the pair ranker reads for BIO units as the unit head's distribution for segments."""
    labels = list(codec.labels)
    columns = [[k for k, tag in enumerate(codec.tags) if tag[2:] == label] for label in labels]
    out = []
    for lo, hi in unit_token_ranges(offsets, units):
        mean = probs[lo:hi].mean(axis=0) if hi > lo else probs.mean(axis=0)
        mass = np.array([float(mean[c].sum()) for c in columns])
        total = float(mass.sum())
        if total <= 0:
            mass, total = np.ones(len(labels)), float(len(labels))
        out.append({label: float(m) / total for label, m in zip(labels, mass, strict=True)})
    return out


def spans_labelled_by_tags(
    model: Any,
    codec: TokenTagCodec,
    articles: Sequence[Article],
    *,
    batch_size: int = 16,
    pad_id: int = 0,
    dtype: str = "float32",
) -> list[Article]:
    """Copies of ``articles`` whose units keep their spans (and relations) and take the label
    the model's token tags give them: the label whose B- and I- probabilities, summed, are
    highest on average over the unit's tokens. Gold boundaries without gold labels: the
    setting ``relations.tune_on: gold_spans`` tunes the relation decoding in, and that of the
    published arg-microtexts attachment figures."""
    labels = list(codec.labels)
    bare = [a.with_annotations([], []) for a in articles]
    preds = run_windows(model, codec, bare, batch_size=batch_size, pad_id=pad_id, dtype=dtype)
    out = []
    for article, pred in zip(articles, preds, strict=True):
        units = article.sorted_units()
        if not pred.windows or not units:
            out.append(article)
            continue
        probs, offsets = codec.stitch(pred.windows, pred.probs)
        dists = tag_label_dists(codec, probs, offsets, units)
        relabelled = [
            dataclasses.replace(unit, label=max(labels, key=dist.__getitem__))
            for unit, dist in zip(units, dists, strict=True)
        ]
        out.append(article.with_annotations(relabelled, list(article.relations)))
    return out


def with_ranker(
    text: str,
    units: Sequence[ArgUnit],
    pairs: Sequence[tuple[int, int]],
    probs: np.ndarray,
    ranker: Any,
    mix: float,
    *,
    links: set[tuple[int, int]] | None = None,
    label_probs: Sequence[Mapping[str, float]] | None = None,
    label_temperature: float = 0.0,
) -> np.ndarray:
    """The relation head's pair ``probs`` fused with ``ranker``'s (a
    :class:`argmine.pair_ranker.PairRanker`, or None: ``probs`` unchanged), the head's share
    ``mix`` (:func:`argmine.pair_ranker.mix_pair_probs`). With ``label_probs`` (each unit's
    label distribution) and ``label_temperature`` > 0 the ranker scores each pair in
    expectation over the two units' labels, the distributions sharpened or flattened by the
    temperature (``p ** (1 / t)``, renormalised; 1 as given); 0 keeps the units' own labels."""
    if ranker is None or mix >= 1.0 or not len(pairs):
        return probs
    from argmine.pair_ranker import mix_pair_probs

    soft = None
    if label_probs is not None and label_temperature > 0:
        soft = [tempered(d, label_temperature) for d in label_probs]
    ranked = ranker.probs(text, units, pairs, links=links, label_probs=soft)
    return mix_pair_probs(pairs, probs, ranked, mix)


def tempered(dist: Mapping[str, float], temperature: float) -> dict[str, float]:
    """``dist ** (1 / temperature)``, renormalised."""
    powered = {k: max(float(v), 0.0) ** (1.0 / temperature) for k, v in dist.items()}
    total = sum(powered.values())
    return {k: v / total for k, v in powered.items()} if total > 0 else dict(dist)


def decode_graph(
    units: Sequence[ArgUnit],
    pairs: Sequence[tuple[int, int]],
    probs: np.ndarray,
    *,
    labels: Sequence[str],
    mode: str,
    threshold: float | Mapping[str, float],
    structure: bool = False,
) -> tuple[list[ArgUnit], list[Any]]:
    """``units`` (text order) and the relations decoded from their pair probabilities; with
    ``structure`` the units' labels read off the decoded graph (``relations.unit_labels:
    structure``). What a model and an ensemble both do after scoring the pairs."""
    rels = decode_relations(units, pairs, probs, labels=labels, mode=mode, threshold=threshold)
    return (labels_from_structure(units, rels) if structure else list(units)), rels


@_in_eval_mode
def predict_articles(
    model: Any,
    codec: TokenTagCodec,
    articles: Sequence[Article],
    *,
    units: str = "bio",
    encoder: PairEncoder | None = None,
    relations: bool = True,
    decoding: str = "one_parent",
    relation_threshold: float | Mapping[str, float] = 0.5,
    rule_bonus: float = 0.0,
    unit_labels: str = "tagger",
    thresholds: Mapping[str, float] | None = None,
    min_words: int | Mapping[str, int] = 0,
    viterbi: bool = True,
    trim: bool | None = None,
    stitch: str = "owned",
    batch_size: int = 16,
    pad_id: int = 0,
    dtype: str = "float32",
    on_progress: Callable[[float], None] | None = None,
    collect: list[tuple[Article, list[ArgUnit], list[tuple[int, int]], np.ndarray]] | None = None,
    stage2: Any = None,
    unit_rule_bonus: float = 0.0,
    ranker: Any = None,
    ranker_mix: float = 1.0,
    label_temperature: float = 0.0,
    cache: ForwardCache | None = None,
) -> list[Article]:
    """Copies of ``articles`` with predicted units (``units``: bio, segments, gold or stage2,
    which needs ``stage2``, an :class:`argmine.stage2.Stage2Model`, applied with its own
    thresholds unless ``thresholds`` is None) and, when the model has a relation head and
    ``relations``, predicted relations (with ``unit_labels="structure"`` the predicted units'
    labels are then read off the graph; ``rule_bonus``: see
    :func:`argmine.relations.with_rule_bonus`; ``unit_rule_bonus``, for segment units: see
    :func:`argmine.relations.with_rule_labels`; ``ranker``, a
    :class:`argmine.pair_ranker.PairRanker`, fused with the relation head by
    :func:`argmine.pair_ranker.mix_pair_probs` with the head's share ``ranker_mix``, before the
    rule bonus; ``label_temperature``: see :func:`with_ranker`, for predicted units). ``collect``
    receives ``(article, units in text order, candidate pairs, the relation head's pair
    probabilities)`` per article, for tuning the relation decoding on dev without another
    forward pass; ``cache``: see :class:`ForwardCache`."""
    want_relations = relations and getattr(model, "relation_head", None) is not None
    decoded = decode_units(
        model,
        codec,
        articles,
        units=units,
        encoder=encoder,
        keep_states=want_relations,
        thresholds=thresholds,
        min_words=min_words,
        viterbi=viterbi,
        trim=trim,
        stitch=stitch,
        batch_size=batch_size,
        pad_id=pad_id,
        dtype=dtype,
        on_progress=on_progress,
        stage2=stage2,
        unit_rule_bonus=unit_rule_bonus,
        cache=cache,
    )
    out = []
    for article, d in zip(articles, decoded, strict=True):
        found = d.units
        rels = []
        tagged = article.with_annotations(list(found), [])
        if want_relations and d.states is not None and len(found) > 1:
            pairs, probs = relation_probs(model, article, found, d.states, d.offsets, encoder)
            # the rules' links, once, when both the ranker and the rule bonus need them
            links = (
                rule_links_of(article.text, found)
                if rule_bonus and ranker is not None and ranker_mix < 1.0
                else None
            )
            fused = with_ranker(
                article.text,
                found,
                pairs,
                probs,
                ranker,
                ranker_mix,
                links=links,
                label_probs=d.label_probs,
                label_temperature=label_temperature,
            )
            found, rels = decode_graph(
                found,
                pairs,
                with_rule_bonus(article.text, found, pairs, fused, rule_bonus, links=links),
                labels=encoder.relation_labels,
                mode=decoding,
                threshold=relation_threshold,
                structure=unit_labels == "structure" and units != "gold",
            )
            tagged = tagged.with_annotations(list(found), rels)
            if collect is not None:
                collect.append((article, d.units, pairs, probs))
        out.append(tagged)
    return out
