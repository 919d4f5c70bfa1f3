"""Article <-> BIO subword tags: the one encoding/decoding class of the token tagger.

Needs a (fast) tokenizer, never a model and never torch; numpy only::

    Article(text, units) ──tokenizer(offsets)──> subword tokens with char spans
        ──units by char span──> BIO tag ids (O, B-Label, I-Label)   [training labels]
        ──windows of max_length, overlapping by stride──> encode() -> list[window dict]
    model ──> per-window tag probabilities (n_positions x n_tags)
        ──stitch: each token from the window that "owns" it──> document token probabilities
        ──constrained Viterbi (no O->I-X, no I-Y->I-X; plus a CRF model's learnt transition
          scores, argmine.crf) or argmax + BIO repair──> tag sequence
        ──B starts a unit, I continues it, O ends it──> ArgUnit(start, end, label, score)
        ──edges trimmed (argmine.boundaries.punctuation_edges)──> char spans
        ──boundaries (optional: paragraph/sentence splits, snapping, markers)──> char spans
        ──thresholds / min_words filters──> decode() -> list[ArgUnit]

Which subwords carry labels, and why
------------------------------------
* **Every** subword gets a tag, not only the first subword of each word: decoding works on
  subwords and turns them back into character offsets, so every subword must be predicted, and
  training on all of them gives the model more signal per article.
* A subword belongs to the unit that covers the majority of its characters (ties go to the unit).
  Units are almost always whole words, so in practice a subword is inside a unit exactly when its
  characters are. A subword straddling a unit boundary (a unit cut inside a word) goes to the
  side holding most of its characters; such units are snapped to token boundaries and a warning
  is logged once per article.
* The first subword of a unit is ``B-Label``, the rest ``I-Label``; tokens outside every unit are
  ``O``. Two adjacent units of the same label are therefore ``B I I B I``: the second ``B``
  keeps them apart, and decoding never merges them.
* Special tokens ([CLS], [SEP]) get ``-100`` (ignored by the loss) and offsets ``(0, 0)``.
* Overlapping units cannot be expressed in one BIO sequence: the later one is skipped with a
  warning. A unit that covers no subword (only whitespace) is skipped with a warning.

Paragraph breaks
----------------
The tokenizer drops whitespace, so newlines are invisible to the model. With
``paragraph_token`` (a vocabulary token such as ``[unused1]``, saved in ``argmine.json`` so that
tagging encodes as training did) one such token is inserted at the start of every paragraph but
the first (:func:`argmine.segment.paragraphs`) with the zero-width char span ``(p, p)``: it
covers no character, so unit offsets, windows and stitching work unchanged. It is always ``O``
(the guidelines never let a unit cross a paragraph break, so a gold unit that does is cut there
into two), and decoding forces it to ``O``.

Windows and stitching
---------------------
The article is tokenised once; windows of ``max_length`` positions (special tokens included)
start every ``max_length - specials - stride`` tokens, so consecutive windows overlap by
``stride`` tokens and every token is in at least one window. Each window records the document
token range it covers (``token_start``/``token_end``) and the range it *owns* (``own_start``/
``own_end``): every token is owned by exactly one window, the one where it is farthest from a
window edge (the overlap is split in the middle), because predictions near an edge see little
context. ``decode(stitch="longest")`` is the alternative of transformers' token-classification
pipeline: each window decoded on its own, the longer of two overlapping units kept. Both
score the same on Webis dev (docs/benchmarks.md); "owned" is the default because a unit longer
than the overlap comes out whole, and "longest" lets benchmarks/speed.py check that argmine and
the pipeline decode the same argmax to the same spans.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from argmine.boundaries import BoundaryOptions, BoundaryRefiner, punctuation_edges
from argmine.document import ArgUnit, Article
from argmine.errors import ModelError

__all__ = ["IGNORE_INDEX", "ModelSpec", "TokenTagCodec", "bio_allowed", "tags_for_labels"]

log = logging.getLogger(__name__)

IGNORE_INDEX = -100
FORMAT_VERSION = 1


# Separators a unit never starts or ends with (besides whitespace), per the guidelines
# (decode's trim also drops a leading "." of the previous sentence and takes in the
# sentence-final punctuation after a unit: argmine.boundaries.punctuation_edges).
TRIM_CHARS = ",;:"

# How decode() joins overlapping windows (see TokenTagCodec.decode).
STITCH_MODES = ("owned", "longest")


def tags_for_labels(labels: Sequence[str]) -> list[str]:
    """``["O", "B-L1", "I-L1", "B-L2", ...]`` (the order of the model's output units)."""
    tags = ["O"]
    for label in labels:
        tags += [f"B-{label}", f"I-{label}"]
    return tags


def bio_allowed(tags: Sequence[str]) -> np.ndarray:
    """``allowed[i, j]``: tag j may follow tag i (no O->I-X, no I-Y->I-X, no B-Y->I-X)."""
    n = len(tags)
    allowed = np.ones((n, n), dtype=bool)
    for j, tag in enumerate(tags):
        if tag.startswith("I-"):
            label = tag[2:]
            for i, prev in enumerate(tags):
                allowed[i, j] = prev in (f"B-{label}", f"I-{label}")
    return allowed


#: Learnt CRF scores for decoding: ``(transitions (T x T), start (T), end (T))``, see
#: :mod:`argmine.crf`.
CRFScores = tuple[np.ndarray, np.ndarray, np.ndarray]


def _special_template(tokenizer: Any) -> tuple[list[int], list[int]]:
    """The special token ids the tokenizer puts before and after one sequence."""
    probe = "a"
    bare = tokenizer(probe, add_special_tokens=False)["input_ids"]
    full = tokenizer(probe, add_special_tokens=True)["input_ids"]
    for i in range(len(full) - len(bare) + 1):
        if full[i : i + len(bare)] == bare:
            return list(full[:i]), list(full[i + len(bare) :])
    raise ValueError(f"cannot find the special-token template of {type(tokenizer).__name__}")


class TokenTagCodec:
    """Encode articles into BIO-labelled subword windows and decode tag probabilities back.

    ``labels`` are the span labels (in schema order); ``tags`` are ``O`` then ``B-``/``I-`` per
    label. ``max_length`` counts special tokens; ``stride`` is the overlap between consecutive
    windows in tokens. ``paragraph_token``: the vocabulary token put at paragraph breaks (see
    the module docstring; ``None``: none). ``boundaries``: what :meth:`decode` does to the
    decoded spans besides trimming (:class:`argmine.boundaries.BoundaryOptions`).
    """

    def __init__(
        self,
        tokenizer: Any,
        labels: Sequence[str],
        *,
        max_length: int = 256,
        stride: int = 64,
        paragraph_token: str | None = None,
        boundaries: BoundaryOptions | None = None,
    ) -> None:
        labels = list(labels)
        if not labels:
            raise ValueError("TokenTagCodec: at least one label is needed")
        if len(set(labels)) != len(labels):
            raise ValueError(f"TokenTagCodec: duplicate labels in {labels!r}")
        if not getattr(tokenizer, "is_fast", False):
            raise ValueError("TokenTagCodec: a fast tokenizer (with offset mapping) is needed")
        self.tokenizer = tokenizer
        self.labels = labels
        self.tags = tags_for_labels(labels)
        self.tag_to_id = {tag: i for i, tag in enumerate(self.tags)}
        self.prefix, self.suffix = _special_template(tokenizer)
        specials = len(self.prefix) + len(self.suffix)
        if max_length <= specials + 1:
            raise ValueError(f"max_length {max_length} leaves no room for tokens")
        self.max_length = max_length
        self.content_length = max_length - specials
        if not 0 <= stride < self.content_length:
            raise ValueError(
                f"stride {stride} must be >= 0 and < {self.content_length} "
                f"(max_length {max_length} minus {specials} special tokens)"
            )
        self.stride = stride
        self.paragraph_token = paragraph_token
        self.paragraph_id: int | None = None
        if paragraph_token is not None:
            found = tokenizer.convert_tokens_to_ids(paragraph_token)
            if not isinstance(found, int) or found == tokenizer.unk_token_id:
                raise ValueError(
                    f"TokenTagCodec: paragraph token {paragraph_token!r} is not in the vocabulary"
                )
            self.paragraph_id = found
        self.boundaries = boundaries
        self._refiner = BoundaryRefiner(boundaries) if boundaries is not None else None

    # -- tokens -----------------------------------------------------------------------------
    def tokenize(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        """Subword ids and their char spans for the whole text (no special tokens)."""
        if not text:
            return [], []
        enc = self.tokenizer(
            text, add_special_tokens=False, return_offsets_mapping=True, verbose=False
        )
        offsets = [(int(a), int(b)) for a, b in enc["offset_mapping"]]
        ids = list(enc["input_ids"])
        if self.paragraph_id is None:
            return ids, offsets
        from argmine.segment import paragraphs

        out_ids: list[int] = []
        out_offsets: list[tuple[int, int]] = []
        breaks = [p[0] for p in paragraphs(text)[1:]]
        k = 0
        for tid, (a, b) in zip(ids, offsets, strict=True):
            while k < len(breaks) and breaks[k] <= a:
                out_ids.append(self.paragraph_id)
                out_offsets.append((breaks[k], breaks[k]))
                k += 1
            out_ids.append(tid)
            out_offsets.append((a, b))
        return out_ids, out_offsets

    def token_tags(self, article: Article, offsets: Sequence[tuple[int, int]]) -> list[int]:
        """One BIO tag id per token (rules in the module docstring); warns on bad units."""
        n = len(offsets)
        owner = [-1] * n  # index into kept units
        kept: list[ArgUnit] = []
        skipped_overlap: list[str] = []
        skipped_empty: list[str] = []
        snapped: list[str] = []
        taken = np.zeros(len(article.text) + 1, dtype=bool)
        starts = np.array([a for a, _ in offsets], dtype=np.int64)
        ends = np.array([b for _, b in offsets], dtype=np.int64)
        for unit in article.sorted_units():
            if unit.label not in self.labels:
                continue
            if taken[unit.start : unit.end].any():
                skipped_overlap.append(unit.id)
                continue
            # tokens overlapping the unit, then the majority rule
            lo = int(np.searchsorted(ends, unit.start, side="right"))
            hi = int(np.searchsorted(starts, unit.end, side="left"))
            members = []
            for t in range(lo, hi):
                a, b = offsets[t]
                if a == b:  # a paragraph token: always O
                    continue
                inside = min(b, unit.end) - max(a, unit.start)
                if inside * 2 >= (b - a) and owner[t] == -1:
                    members.append(t)
                if a < unit.start < b or a < unit.end < b:
                    snapped.append(unit.id)
            if not members:
                skipped_empty.append(unit.id)
                continue
            taken[unit.start : unit.end] = True
            for t in members:
                owner[t] = len(kept)
            kept.append(unit)
        if skipped_overlap:
            log.warning(
                "article %s: skipped %d unit(s) overlapping an earlier unit (%s)",
                article.id,
                len(skipped_overlap),
                ", ".join(skipped_overlap[:5]),
            )
        if skipped_empty:
            log.warning(
                "article %s: skipped %d unit(s) covering no token (%s)",
                article.id,
                len(skipped_empty),
                ", ".join(skipped_empty[:5]),
            )
        if snapped:
            log.warning(
                "article %s: %d unit(s) cut a token and were snapped to token boundaries (%s)",
                article.id,
                len(set(snapped)),
                ", ".join(sorted(set(snapped))[:5]),
            )
        tag_ids = [0] * n
        previous = -1
        for t in range(n):
            k = owner[t]
            if k >= 0:
                prefix = "I" if k == previous else "B"
                tag_ids[t] = self.tag_to_id[f"{prefix}-{kept[k].label}"]
            previous = k
        return tag_ids

    # -- windows ----------------------------------------------------------------------------
    def window_ranges(self, n_tokens: int) -> list[tuple[int, int, int, int]]:
        """``(token_start, token_end, own_start, own_end)`` for each window over n tokens."""
        step = self.content_length - self.stride
        spans: list[tuple[int, int]] = []
        start = 0
        while True:
            end = min(start + self.content_length, n_tokens)
            spans.append((start, end))
            if end >= n_tokens:
                break
            start += step
        ranges = []
        for i, (start, end) in enumerate(spans):
            own_start = 0 if i == 0 else (start + spans[i - 1][1]) // 2
            own_end = n_tokens if i == len(spans) - 1 else (spans[i + 1][0] + end) // 2
            ranges.append((start, end, own_start, own_end))
        return ranges

    def encode(self, article: Article, *, with_labels: bool = True) -> list[dict[str, Any]]:
        """Windows of one article, each a dict with:

        ``input_ids``, ``attention_mask``, ``offsets`` (char span per position, ``(0, 0)`` for
        special tokens), ``labels`` (tag ids, ``-100`` on special tokens; only
        ``with_labels``), ``token_start``/``token_end`` (the document tokens in the window),
        ``own_start``/``own_end`` (the document tokens whose prediction this window gives),
        ``article_id`` and ``window`` (its index).
        """
        ids, offsets = self.tokenize(article.text)
        tag_ids = self.token_tags(article, offsets) if with_labels else None
        npre, nsuf = len(self.prefix), len(self.suffix)
        windows = []
        for index, (start, end, own_start, own_end) in enumerate(self.window_ranges(len(ids))):
            input_ids = self.prefix + ids[start:end] + self.suffix
            window: dict[str, Any] = {
                "article_id": article.id,
                "window": index,
                "input_ids": input_ids,
                "attention_mask": [1] * len(input_ids),
                "offsets": [(0, 0)] * npre + offsets[start:end] + [(0, 0)] * nsuf,
                "token_start": start,
                "token_end": end,
                "own_start": own_start,
                "own_end": own_end,
            }
            if tag_ids is not None:
                window["labels"] = (
                    [IGNORE_INDEX] * npre + tag_ids[start:end] + [IGNORE_INDEX] * nsuf
                )
            windows.append(window)
        return windows

    # -- decoding ---------------------------------------------------------------------------
    def stitch(
        self, windows: Sequence[Mapping[str, Any]], probs: Sequence[np.ndarray]
    ) -> tuple[np.ndarray, list[tuple[int, int]]]:
        """Document token probabilities (n_tokens x n_tags) and char offsets from windows."""
        if len(windows) != len(probs):
            raise ValueError(f"{len(windows)} windows but {len(probs)} probability arrays")
        n_tags = len(self.tags)
        n_tokens = max((int(w["token_end"]) for w in windows), default=0)
        out = np.zeros((n_tokens, n_tags), dtype=np.float32)
        offsets: list[tuple[int, int]] = [(0, 0)] * n_tokens
        npre = len(self.prefix)
        for window, p in zip(windows, probs, strict=True):
            content = self._window_content(window, p)
            start, end = int(window["token_start"]), int(window["token_end"])
            own_start, own_end = int(window["own_start"]), int(window["own_end"])
            out[own_start:own_end] = content[own_start - start : own_end - start]
            win_offsets = window["offsets"]
            for t in range(start, end):
                offsets[t] = tuple(win_offsets[npre + t - start])  # type: ignore[assignment]
        return out, offsets

    def _allowed(self) -> np.ndarray:
        """``allowed[i, j]``: tag j may follow tag i (see :func:`bio_allowed`)."""
        return bio_allowed(self.tags)

    def viterbi(self, probs: np.ndarray, crf: CRFScores | None = None) -> list[int]:
        """The most probable tag sequence under the BIO constraints.

        With ``crf`` (a CRF model's learnt transition, start and end scores) the path score is
        ``start[y0] + sum_t (log p_t[y_t] + transitions[y_t-1, y_t]) + end[y_n]``; the BIO
        constraints stay hard whatever the learnt scores say."""
        n, n_tags = probs.shape
        if n == 0:
            return []
        logp = np.log(np.clip(probs, 1e-12, 1.0))
        penalty = np.where(self._allowed(), 0.0, -np.inf)
        start_ok = np.array([not t.startswith("I-") for t in self.tags])
        first = logp[0]
        end = np.zeros(n_tags)
        if crf is not None:
            transitions, start, end = (np.asarray(a, dtype=np.float64) for a in crf)
            if transitions.shape != (n_tags, n_tags) or {start.shape, end.shape} != {(n_tags,)}:
                raise ValueError(f"CRF scores {transitions.shape} do not fit {n_tags} tags")
            penalty = penalty + transitions
            first = first + start
        score = np.where(start_ok, first, -np.inf)
        back = np.zeros((n, n_tags), dtype=np.int64)
        for t in range(1, n):
            cand = score[:, None] + penalty  # prev x cur
            back[t] = np.argmax(cand, axis=0)
            score = cand[back[t], np.arange(n_tags)] + logp[t]
        best = [int(np.argmax(score + end))]
        for t in range(n - 1, 0, -1):
            best.append(int(back[t, best[-1]]))
        return best[::-1]

    def repair(self, tag_ids: Sequence[int]) -> list[int]:
        """BIO repair for argmax decoding: an I-X not after B-X/I-X becomes B-X."""
        fixed = []
        prev = "O"
        for tid in tag_ids:
            tag = self.tags[tid]
            if tag.startswith("I-") and prev[2:] != tag[2:]:
                tag = "B-" + tag[2:]
            fixed.append(self.tag_to_id[tag])
            prev = tag
        return fixed

    def spans(self, tag_ids: Sequence[int]) -> list[tuple[int, int, str]]:
        """``(first_token, last_token_exclusive, label)``: B starts, I continues, O ends.

        Two adjacent same-label units (``B I B I``) stay two spans.
        """
        found: list[tuple[int, int, str]] = []
        current: list[Any] | None = None
        for t, tid in enumerate(tag_ids):
            tag = self.tags[tid]
            if tag == "O":
                if current is not None:
                    found.append(tuple(current))  # type: ignore[arg-type]
                current = None
            elif tag.startswith("B-") or current is None or current[2] != tag[2:]:
                if current is not None:
                    found.append(tuple(current))  # type: ignore[arg-type]
                current = [t, t + 1, tag[2:]]
            else:
                current[1] = t + 1
        if current is not None:
            found.append(tuple(current))  # type: ignore[arg-type]
        return found

    def _window_content(self, window: Mapping[str, Any], p: np.ndarray) -> np.ndarray:
        """The rows of one window's probabilities that belong to its document tokens."""
        p = np.asarray(p, dtype=np.float32)
        npre, n_tags = len(self.prefix), len(self.tags)
        n = int(window["token_end"]) - int(window["token_start"])
        if p.ndim != 2 or p.shape[1] != n_tags or p.shape[0] < npre + n:
            raise ValueError(
                f"window {window.get('window')}: probabilities of shape {p.shape} do not fit "
                f"{npre + n + len(self.suffix)} positions x {n_tags} tags"
            )
        return p[npre : npre + n]

    def _tag_spans(
        self,
        token_probs: np.ndarray,
        offsets: Sequence[tuple[int, int]],
        viterbi: bool,
        crf: CRFScores | None = None,
    ) -> list[tuple[int, int, str, float, float]]:
        """``(start_char, end_char, label, score, confidence)`` of the units one probability
        sequence decodes to. ``score`` = mean over the unit's tokens of P(B-X) + P(I-X);
        ``confidence`` = mean over its tokens of the top tag probability, the entity score of
        transformers' pipeline (used to break ties in ``"longest"`` stitching)."""
        token_probs = self._paragraphs_outside(token_probs, offsets)
        tag_ids = self.viterbi(token_probs, crf) if viterbi else self.repair(token_probs.argmax(-1))
        found = []
        for first, last, label in self.spans(tag_ids):
            b = self.tag_to_id[f"B-{label}"]
            i = self.tag_to_id[f"I-{label}"]
            unit = token_probs[first:last]
            score = min(max(float(np.mean(unit[:, b] + unit[:, i])), 0.0), 1.0)
            confidence = float(np.mean(unit.max(-1)))
            found.append((offsets[first][0], offsets[last - 1][1], label, score, confidence))
        return found

    def _paragraphs_outside(
        self, token_probs: np.ndarray, offsets: Sequence[tuple[int, int]]
    ) -> np.ndarray:
        """Rows of paragraph tokens (zero-width offsets) set to certainly ``O``."""
        if self.paragraph_id is None:
            return token_probs
        marks = [t for t, (a, b) in enumerate(offsets[: len(token_probs)]) if a == b]
        if not marks:
            return token_probs
        token_probs = np.array(token_probs, dtype=np.float32)
        token_probs[marks] = 0.0
        token_probs[marks, 0] = 1.0
        return token_probs

    def _longest_spans(
        self,
        windows: Sequence[Mapping[str, Any]],
        probs: Sequence[np.ndarray],
        viterbi: bool,
        crf: CRFScores | None = None,
    ) -> list[tuple[int, int, str, float, float]]:
        """Each window decoded on its own; of overlapping units the longer (in characters) is
        kept, of two as long the one with the higher confidence, scanning by start exactly as
        transformers' token-classification pipeline does (``aggregate_overlapping_entities``)."""
        if len(windows) != len(probs):
            raise ValueError(f"{len(windows)} windows but {len(probs)} probability arrays")
        npre = len(self.prefix)
        found: list[tuple[int, int, str, float, float]] = []
        for window, p in zip(windows, probs, strict=True):
            content = self._window_content(window, p)
            offsets = window["offsets"][npre : npre + len(content)]
            found += self._tag_spans(content, offsets, viterbi, crf)
        if len(windows) < 2 or not found:
            return found
        found.sort(key=lambda s: s[0])  # stable: ties keep window order
        kept = []
        previous = found[0]
        for span in found:
            if previous[0] <= span[0] < previous[1]:
                longer = span[1] - span[0] - (previous[1] - previous[0])
                if longer > 0 or (longer == 0 and span[4] > previous[4]):
                    previous = span
            else:
                kept.append(previous)
                previous = span
        kept.append(previous)
        return kept

    def decode(
        self,
        article: Article,
        windows: Sequence[Mapping[str, Any]],
        probs: Sequence[np.ndarray],
        *,
        thresholds: Mapping[str, float] | None = None,
        min_words: int | Mapping[str, int] = 0,
        viterbi: bool = True,
        trim: bool | None = None,
        stitch: str = "owned",
        boundaries: BoundaryOptions | None = None,
        crf: CRFScores | None = None,
    ) -> list[ArgUnit]:
        """Units from per-window tag probabilities (rows = window positions incl. specials).

        ``stitch``: ``"owned"`` (default) joins the windows into one document sequence, each
        token from the window that owns it, and decodes that, so a unit crossing a window
        boundary comes out whole; ``"longest"`` decodes each window on its own and keeps the
        longer of two overlapping units, which is what transformers' token-classification
        pipeline does with ``stride`` (``benchmarks/speed.py`` uses it to check that both
        decode the same argmax to the same spans).
        ``thresholds``: a unit whose score (mean over its tokens of P(B-X) + P(I-X)) is below
        ``thresholds[X]`` is dropped. ``min_words``: units with fewer whitespace-separated
        words are dropped (one number, or per label). ``trim``: the unit's edges as the
        guidelines draw them (:func:`argmine.boundaries.punctuation_edges`): whitespace,
        separators (:data:`TRIM_CHARS`, dashes) and the previous sentence's closing "." cut
        from its start, whitespace and separators from its end, and the sentence-final
        punctuation right after it taken in. A model that tags the comma before a unit, or that
        puts the edge between two adjacent units on the first one's full stop (what Viterbi does
        when its B tags carry no signal), is corrected here. ``None``: the codec's
        ``boundaries.punctuation`` (true without boundaries); arg-microtexts' units keep their
        trailing comma, so its models score better without trimming (docs/benchmarks.md).
        ``boundaries``: the refinements of :class:`argmine.boundaries.BoundaryOptions` (the
        codec's own by default; they get the tagger's edge probabilities), after which a split
        unit's pieces are scored on their own tokens. ``crf``: a CRF model's learnt transition
        scores, added to the Viterbi path score (:meth:`viterbi`; ignored by argmax decoding).
        Unit ids are ``T1``, ``T2``, ... in text order.
        """
        if stitch not in STITCH_MODES:
            raise ValueError(f"stitch must be one of {', '.join(STITCH_MODES)}, got {stitch!r}")
        token_probs, offsets = self.stitch(windows, probs)
        if stitch == "owned":
            found = self._tag_spans(token_probs, offsets, viterbi, crf)
        else:
            found = self._longest_spans(windows, probs, viterbi, crf)
        options = self.boundaries if boundaries is None else boundaries
        if trim is None:
            trim = options.punctuation if options is not None else True
        text = article.text
        spans: list[tuple[int, int, str, float]] = []
        for start, end, label, score, _ in found:
            if trim:
                start, end = punctuation_edges(text, start, end)
                if spans and start < spans[-1][1]:
                    start = spans[-1][1]
                    start, end = punctuation_edges(text, start, end)
            if end > start:
                spans.append((start, end, label, score))
        refiner = self._refiner if boundaries is None else BoundaryRefiner(boundaries)
        if refiner is not None and refiner.options.active and spans:
            token_probs = self._paragraphs_outside(token_probs, offsets)
            inside = sum(token_probs[:, self.tag_to_id[f"I-{x}"]] for x in self.labels)
            refined = refiner.refine(
                text,
                [(s, e, lab) for s, e, lab, _ in spans],
                token_starts=[a for a, _ in offsets],
                edge_prob=np.clip(1.0 - inside, 0.0, 1.0),
            )
            spans = [
                (s, e, lab, self._span_score(token_probs, offsets, s, e, lab))
                for s, e, lab in refined
            ]
        units: list[ArgUnit] = []
        for start, end, label, score in spans:
            if thresholds is not None and score < float(thresholds.get(label, 0.0)):
                continue
            need = min_words.get(label, 0) if isinstance(min_words, Mapping) else min_words
            if need and len(text[start:end].split()) < need:
                continue
            units.append(
                ArgUnit(id=f"T{len(units) + 1}", start=start, end=end, label=label, score=score)
            )
        return units

    def _span_score(
        self,
        token_probs: np.ndarray,
        offsets: Sequence[tuple[int, int]],
        start: int,
        end: int,
        label: str,
    ) -> float:
        """Mean over the tokens inside ``[start, end)`` of P(B-label) + P(I-label)."""
        starts = np.array([a for a, _ in offsets], dtype=np.int64)
        ends = np.array([b for _, b in offsets], dtype=np.int64)
        lo = int(np.searchsorted(starts, start, side="left"))
        hi = int(np.searchsorted(ends, end, side="right"))
        rows = [t for t in range(lo, hi) if starts[t] < ends[t]]
        if not rows:
            return 0.0
        unit = token_probs[rows]
        both = unit[:, self.tag_to_id[f"B-{label}"]] + unit[:, self.tag_to_id[f"I-{label}"]]
        return min(max(float(np.mean(both)), 0.0), 1.0)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _label_map(value: Any, check: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and check(v) for k, v in value.items()
    )


def _str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(x, str) and x for x in value)


#: The keys of ``argmine.json``'s ``heads`` (argmine.modeling.HeadSpec, which this module may
#: not import: no torch here) and what each must be.
HEAD_KEYS: dict[str, tuple[Any, str]] = {
    "hidden": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    "n_pair_features": (lambda v: _is_int(v) and v >= 0, "an integer >= 0"),
    "n_relation_classes": (lambda v: _is_int(v) and v >= 0, "an integer >= 0"),
    "n_unit_features": (lambda v: _is_int(v) and v >= 0, "an integer >= 0"),
    "n_unit_classes": (lambda v: _is_int(v) and v >= 0, "an integer >= 0"),
    "dropout": (lambda v: _is_number(v) and 0.0 <= v <= 1.0, "a number in [0, 1]"),
    "crf": (lambda v: isinstance(v, bool), "true or false"),
    "pair_prior": (lambda v: isinstance(v, bool), "true or false"),
}


def _spec_type_problem(data: Mapping[str, Any]) -> str | None:
    """The first key of an ``argmine.json`` object whose value has the wrong type, as
    ``"key: expected ..., got ..."`` (None: all types fine; values are checked by ModelSpec)."""
    from argmine.relations import DECODINGS, SCOPES, UNIT_LABELS_FROM

    def number_or_none(v: Any) -> bool:
        return v is None or _is_number(v)

    top: dict[str, tuple[Any, str]] = {
        "format_version": (_is_int, "an integer"),
        "labels": (lambda v: _str_list(v) and bool(v), "a non-empty list of label names"),
        "tags": (_str_list, "a list of tag names"),
        "max_length": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
        "stride": (lambda v: _is_int(v) and v >= 0, "an integer >= 0"),
        "thresholds": (lambda v: isinstance(v, dict), "a mapping of label to number"),
        "min_words": (lambda v: isinstance(v, dict), "a mapping of label to integer"),
        "base_model": (lambda v: isinstance(v, str), "a string"),
        "run": (lambda v: isinstance(v, str), "a string"),
        "unit_mode": (lambda v: isinstance(v, str), "a string"),
        "heads": (lambda v: v is None or isinstance(v, dict), "a mapping or null"),
        "relations": (lambda v: v is None or isinstance(v, dict), "a mapping or null"),
        "paragraph_token": (lambda v: v is None or isinstance(v, str), "a string or null"),
        "boundaries": (lambda v: v is None or isinstance(v, dict), "a mapping or null"),
        "unit_rule_bonus": (_is_number, "a number"),
    }
    relations: dict[str, tuple[Any, str]] = {
        "labels": (_str_list, "a list of relation label names"),
        "scope": (lambda v: v in SCOPES, f"one of {', '.join(SCOPES)}"),
        "max_distance": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
        "decoding": (lambda v: v in DECODINGS, f"one of {', '.join(DECODINGS)}"),
        "threshold": (
            lambda v: _is_number(v) or _label_map(v, _is_number),
            "a number or a mapping of label to number",
        ),
        "rule_bonus": (_is_number, "a number"),
        "unit_labels": (lambda v: v in UNIT_LABELS_FROM, f"one of {', '.join(UNIT_LABELS_FROM)}"),
        "rule_links": (lambda v: isinstance(v, bool), "true or false"),
        "ranker_mix": (number_or_none, "a number or null"),
        "label_temperature": (number_or_none, "a number or null"),
    }

    def first(obj: Mapping[str, Any], rules: Mapping[str, tuple[Any, str]], prefix: str):
        for key, (ok, expected) in rules.items():
            if key in obj and not ok(obj[key]):
                return f"{prefix}{key}: expected {expected}, got {obj[key]!r}"
        return None

    problem = first(data, top, "")
    for key, ok, expected in (
        ("thresholds", _is_number, "a number"),
        ("min_words", _is_int, "an integer"),
    ):
        entries = data.get(key)
        for label, value in entries.items() if isinstance(entries, dict) else ():
            if problem is None and not ok(value):
                problem = f"{key}.{label}: expected {expected}, got {value!r}"
    if problem is None and isinstance(data.get("heads"), dict):
        unknown = sorted(set(data["heads"]) - set(HEAD_KEYS))
        if unknown:
            return f"heads: unknown key {unknown[0]!r}"
        problem = first(data["heads"], HEAD_KEYS, "heads.")
    if problem is None and isinstance(data.get("relations"), dict):
        problem = first(data["relations"], relations, "relations.")
    return problem


@dataclass(frozen=True)
class ModelSpec:
    """What a model directory's ``argmine.json`` says (besides the HF files beside it)."""

    labels: tuple[str, ...]
    max_length: int = 256
    stride: int = 64
    thresholds: dict[str, float] = field(default_factory=dict)
    min_words: dict[str, int] = field(default_factory=dict)
    base_model: str = ""
    run: str = ""
    tags: tuple[str, ...] = ()
    format_version: int = FORMAT_VERSION
    #: where units come from at tagging time: "bio" (the token tags) or "segments" (the rule
    #: segmenter's units labelled by the unit head)
    unit_mode: str = "bio"
    #: shapes of the unit and relation heads (argmine.modeling.HeadSpec) in heads.safetensors
    heads: dict[str, Any] | None = None
    #: relation head: labels, scope, max_distance, decoding, threshold (None: spans only)
    relations: dict[str, Any] | None = None
    #: the vocabulary token the codec puts at paragraph breaks (None: none)
    paragraph_token: str | None = None
    #: decode-time unit boundary refinements (argmine.boundaries.BoundaryOptions; None: trim only)
    boundaries: dict[str, Any] | None = None
    #: segment units: added to the log-probability of each unit's rule label before the unit
    #: head's label is chosen (argmine.relations.with_rule_labels; 0: the head alone)
    unit_rule_bonus: float = 0.0

    FILENAME = "argmine.json"

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", tuple(self.labels))
        if not self.labels:
            raise ValueError("model spec: labels must not be empty")
        expected = tuple(tags_for_labels(self.labels))
        if not self.tags:
            object.__setattr__(self, "tags", expected)
        elif tuple(self.tags) != expected:
            raise ValueError(f"model spec: tags {list(self.tags)!r} do not match {list(expected)}")
        else:
            object.__setattr__(self, "tags", tuple(self.tags))
        if self.unit_mode not in ("bio", "segments"):
            raise ValueError(
                f"model spec: unit_mode must be bio or segments, got {self.unit_mode!r}"
            )
        if self.unit_mode == "segments" and not (self.heads or {}).get("n_unit_classes"):
            raise ValueError("model spec: unit_mode segments needs a unit head")
        if self.relations is not None and not (self.heads or {}).get("n_relation_classes"):
            raise ValueError("model spec: relations need a relation head")
        if self.format_version != FORMAT_VERSION:
            raise ValueError(f"model spec: unsupported format_version {self.format_version!r}")
        for label, p in self.thresholds.items():
            if not isinstance(p, (int, float)) or math.isnan(p) or not 0.0 <= p <= 1.0:
                raise ValueError(
                    f"model spec: threshold for {label!r} must be in [0, 1], got {p!r}"
                )
        for label, n in self.min_words.items():
            if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                raise ValueError(f"model spec: min_words for {label!r} must be >= 0, got {n!r}")
        if self.paragraph_token is not None and not (
            isinstance(self.paragraph_token, str) and self.paragraph_token
        ):
            raise ValueError(
                f"model spec: paragraph_token must be a token or null, got {self.paragraph_token!r}"
            )
        b = self.unit_rule_bonus
        if isinstance(b, bool) or not isinstance(b, (int, float)) or not 0.0 <= b <= 50.0:
            raise ValueError(f"model spec: unit_rule_bonus must be in [0, 50], got {b!r}")
        if self.boundaries is not None and not isinstance(self.boundaries, dict):
            raise ValueError("model spec: boundaries must be a mapping or null")
        BoundaryOptions.from_dict(self.boundaries)  # ValueError names the bad key or value

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["labels"] = list(self.labels)
        data["tags"] = list(self.tags)
        return {"format_version": data.pop("format_version"), **data}

    def save(self, directory: str | Path, *, force: bool = True) -> Path:
        from argmine.fileio import atomic_write_text

        path = Path(directory) / self.FILENAME
        atomic_write_text(path, json.dumps(self.to_dict(), indent=2) + "\n", force=force)
        return path

    @classmethod
    def load(cls, directory: str | Path) -> ModelSpec:
        path = Path(directory) / cls.FILENAME
        if not path.is_file():
            raise ModelError(f"{directory}: not a model directory (no {cls.FILENAME})")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelError(f"{path}: cannot read ({exc})") from None
        if not isinstance(data, dict):
            raise ModelError(f"{path}: must be a JSON object")
        known = {f for f in cls.__dataclass_fields__ if f != "FILENAME"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ModelError(f"{path}: unknown key {unknown[0]!r}")
        problem = _spec_type_problem(data)
        if problem:
            raise ModelError(f"{path}: {problem}")
        try:
            return cls(**data)
        except (TypeError, ValueError) as exc:
            raise ModelError(f"{path}: {exc}") from None

    def codec(self, tokenizer: Any) -> TokenTagCodec:
        try:
            return TokenTagCodec(
                tokenizer,
                self.labels,
                max_length=self.max_length,
                stride=self.stride,
                paragraph_token=self.paragraph_token,
                boundaries=BoundaryOptions.from_dict(self.boundaries),
            )
        except ValueError as exc:
            raise ModelError(f"model spec: {exc}") from None

    def pair_encoder(self) -> Any:
        """The :class:`~argmine.relations.PairEncoder` of the unit and relation heads (None for
        a spans-only model)."""
        if not self.heads:
            return None
        from argmine.relations import PairEncoder

        rel = self.relations or {}
        return PairEncoder(
            span_labels=self.labels,
            relation_labels=tuple(rel.get("labels") or ("supports", "attacks")),
            scope=rel.get("scope", "paragraph_or_distance"),
            max_distance=int(rel.get("max_distance", 3)),
            rule_links=bool(rel.get("rule_links", False)),
        )
