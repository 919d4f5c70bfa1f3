"""Unit boundaries as annotations/GUIDELINES.md (section 2) draws them, applied to predicted
units of any source. Pure functions over character offsets: no tokenizer, no torch::

    text + predicted spans (start, end, label)
        ──split at paragraph breaks (segment.paragraphs)──> rule 1: never across a break
        ──split at sentence (or clause) starts of the segmenter where the tagger's edge
          probability is at least ``sentences``──> a unit is a sentence or a clause
        ──snap each edge whose edge probability is below ``snap_margin`` to the nearest
          segment edge within ``snap_tokens`` tokens──>
        ──cover: a segment at least ``cover`` of whose characters lie in predicted units
          becomes one unit, with the label that covers most of it──>
        ──punctuation_edges──> rules 1 and 3: never starting with the previous sentence's
          "." or a separator, a clause ending at its last word, sentence-final punctuation
          right after the unit included
        ──strip leading discourse markers (``trim_leading`` of configs/lexicon.yaml, the rule
          pre-annotator's list, via :func:`argmine.prelabel.trim_unit`)──> rule 2
        ──> refined spans, in text order, never overlapping

The tagger's *edge probability* before token ``t`` is ``1 - sum_X P(I-X)[t]``: under BIO a
unit edge (a start, an end or both) lies just before ``t`` exactly when ``t`` is not tagged
``I-*``. :class:`argmine.encoding.TokenTagCodec` passes it with the tokens' start offsets;
without it (units that did not come from the tagger) every edge counts as unsure and nothing
is snapped (snapping is measured in tokens).

Attributions ("Supporters argue that", "X said") stay inside units: the guidelines keep them
(hard cases 2 and 4), so nothing here strips them.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from argmine.document import strip_span

__all__ = [
    "BoundaryOptions",
    "BoundaryRefiner",
    "Span",
    "cover_segments",
    "paragraph_gaps",
    "punctuation_edges",
    "segment_gaps",
    "snap_edges",
    "split_spans",
]

Span = tuple[int, int, str]

# Separators a unit never starts or ends with (guidelines rules 1 and 3).
SEPARATORS = ",;:\u2014\u2013"
# What ends the previous sentence and so never starts a unit: sentence-final punctuation and
# closing quotes or brackets (straight quotes are ambiguous and left alone).
_CLOSERS = ".?!\u2026\u201d\u2019)]"
# Sentence-final punctuation (with closing quotes/brackets around it) right after a unit and
# followed by whitespace or the end of the text: rule 3 includes it.
_FINAL = re.compile(r"[\u201d\u2019)\]\"']*[.?!\u2026]+[\u201d\u2019)\]\"']*(?=\s|$)")


@dataclass(frozen=True)
class BoundaryOptions:
    """Which refinements :class:`BoundaryRefiner` applies (all off: spans pass unchanged).

    ``paragraphs``: split units at paragraph breaks. ``sentences``: split units at the
    segmenter's sentence starts where the edge probability is at least this (``0``: at every
    sentence start; ``None``: never); ``clauses``: clause starts count too. ``snap_tokens``:
    move an edge whose edge probability is below ``snap_margin`` to the nearest segment edge
    at most this many tokens away (``0``: never). ``cover``: a sentence (with ``clauses``: a
    clause) at least this fraction of whose characters lie inside predicted units becomes one
    unit (:func:`cover_segments`; ``None``: never). ``markers``: strip leading discourse
    markers (from the segments ``cover`` snaps to, too). ``punctuation``:
    :func:`punctuation_edges` on every refined span.
    """

    paragraphs: bool = False
    sentences: float | None = None
    clauses: bool = False
    snap_tokens: int = 0
    snap_margin: float = 1.0
    cover: float | None = None
    markers: bool = False
    punctuation: bool = True

    def __post_init__(self) -> None:
        for name in ("paragraphs", "clauses", "markers", "punctuation"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"boundaries: {name} must be true or false")
        if self.sentences is not None and not 0.0 <= float(self.sentences) <= 1.0:
            raise ValueError(
                f"boundaries: sentences must be in [0, 1] or null, got {self.sentences!r}"
            )
        if isinstance(self.snap_tokens, bool) or not isinstance(self.snap_tokens, int):
            raise ValueError(
                f"boundaries: snap_tokens must be an integer, got {self.snap_tokens!r}"
            )
        if self.snap_tokens < 0:
            raise ValueError(f"boundaries: snap_tokens must be >= 0, got {self.snap_tokens!r}")
        if not 0.0 <= float(self.snap_margin) <= 1.0:
            raise ValueError(f"boundaries: snap_margin must be in [0, 1], got {self.snap_margin!r}")
        if self.cover is not None and not 0.0 < float(self.cover) <= 1.0:
            raise ValueError(f"boundaries: cover must be in (0, 1] or null, got {self.cover!r}")

    @property
    def active(self) -> bool:
        """Does anything besides punctuation change spans?"""
        return bool(
            self.paragraphs
            or self.sentences is not None
            or self.snap_tokens
            or self.cover is not None
            or self.markers
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> BoundaryOptions | None:
        if data is None:
            return None
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"boundaries: unknown key {unknown[0]!r}")
        return cls(**data)


def punctuation_edges(text: str, start: int, end: int) -> tuple[int, int]:
    """``(start, end)`` moved to the guidelines' edges: the start past whitespace, separators
    and the previous sentence's closing punctuation (". " or "” "), the end back past
    whitespace and separators, then forward over sentence-final punctuation that directly
    follows the unit and ends a sentence ("... rose by 3%" + "." -> "... rose by 3%.").
    May return ``start >= end`` when nothing but punctuation is left."""
    while start < end and (text[start].isspace() or text[start] in SEPARATORS + _CLOSERS):
        start += 1
    start, end = strip_span(text, start, end, also=SEPARATORS)
    if start >= end:
        return start, end
    match = _FINAL.match(text, end)
    if match and match.end() > end:
        end = match.end()
    return start, end


def split_spans(spans: Sequence[Span], gaps: Sequence[tuple[int, int]]) -> list[Span]:
    """Each span cut at every gap ``(left_end, right_start)`` strictly inside it: the left
    piece ends at ``left_end``, the right one starts at ``right_start``. Pieces keep the label;
    empty pieces are dropped. Gaps must be in text order and must not overlap."""
    ends = [g[0] for g in gaps]
    out: list[Span] = []
    for start, end, label in spans:
        left = start
        for k in range(bisect.bisect_right(ends, start), len(gaps)):
            gap_end, gap_start = gaps[k]
            if gap_start >= end:
                break
            if left < gap_end and gap_start < end:
                out.append((left, gap_end, label))
                left = gap_start
        out.append((left, end, label))
    return [s for s in out if s[0] < s[1]]


def paragraph_gaps(paragraphs: Sequence[tuple[int, int, Any]]) -> list[tuple[int, int]]:
    """``(end of paragraph i, start of paragraph i+1)`` for consecutive paragraphs
    (:func:`argmine.segment.paragraphs` rows)."""
    return [(a[1], b[0]) for a, b in itertools.pairwise(paragraphs)]


def segment_gaps(segments: Sequence[Any], *, clauses: bool = False) -> list[tuple[int, int]]:
    """Gaps between consecutive segments (:class:`argmine.segment.Segment`) of one paragraph:
    between sentences, and with ``clauses`` between the clauses of one sentence too."""
    out = []
    for a, b in itertools.pairwise(segments):
        if a.paragraph != b.paragraph:
            continue
        if clauses or a.sentence != b.sentence:
            out.append((a.end, b.start))
    return out


def cover_segments(
    spans: Sequence[Span], segments: Sequence[tuple[int, int]], frac: float
) -> list[Span]:
    """Spans snapped to whole segments: each segment ``(start, end)`` at least ``frac`` of
    whose characters lie inside ``spans`` becomes one span, labelled by the label that covers
    most of its characters (of two as many, the one first in text); the spans it overlaps are
    dropped. Spans overlapping no such segment stay as they are. Segments must not overlap."""
    spans = sorted(spans)
    taken: list[Span] = []
    used: set[int] = set()
    for seg_start, seg_end in segments:
        if seg_end <= seg_start:
            continue
        cover: dict[str, int] = {}
        inside = []
        for i, (start, end, label) in enumerate(spans):
            chars = min(end, seg_end) - max(start, seg_start)
            if chars > 0:
                cover[label] = cover.get(label, 0) + chars
                inside.append(i)
        if cover and sum(cover.values()) >= frac * (seg_end - seg_start):
            label = max(cover, key=lambda lab: cover[lab])  # first maximum: first in text
            taken.append((seg_start, seg_end, label))
            used.update(inside)
    kept = [
        s
        for i, s in enumerate(spans)
        if i not in used and not any(t[0] < s[1] and s[0] < t[1] for t in taken)
    ]
    return sorted(taken + kept)


def _token(token_starts: Sequence[int], char: int) -> int:
    """Index of the first token starting at or after ``char`` (the gap before it)."""
    return bisect.bisect_left(token_starts, char)


def _edge_prob(edge_prob: Sequence[float] | None, token: int) -> float:
    if edge_prob is None or not 0 <= token < len(edge_prob):
        return 1.0 if edge_prob is not None else 0.0  # text ends: a sure edge
    return float(edge_prob[token])


def snap_edges(
    spans: Sequence[Span],
    *,
    starts: Sequence[int],
    ends: Sequence[int],
    token_starts: Sequence[int],
    edge_prob: Sequence[float] | None,
    k: int,
    margin: float,
) -> list[Span]:
    """Each span edge whose edge probability (before the token at the edge) is below
    ``margin`` moved to the nearest candidate (``starts`` for starts, ``ends`` for ends) at
    most ``k`` tokens away; of two as near, the one with the higher edge probability. A span
    never moves over its neighbours and never becomes empty."""
    if k <= 0 or not spans:
        return list(spans)
    starts, ends = sorted(set(starts)), sorted(set(ends))

    def nearest(char: int, candidates: list[int], lo: int, hi: int) -> int:
        t = _token(token_starts, char)
        best, key = char, None
        for c in candidates:
            if not lo <= c <= hi:
                continue
            dist = abs(_token(token_starts, c) - t)
            if dist > k:
                continue
            rank = (dist, -_edge_prob(edge_prob, _token(token_starts, c)))
            if key is None or rank < key:
                best, key = c, rank
        return best

    out: list[Span] = []
    ordered = sorted(spans)
    for i, (start, end, label) in enumerate(ordered):
        previous_end = out[-1][1] if out else 0
        next_start = ordered[i + 1][0] if i + 1 < len(ordered) else 1 << 62
        if _edge_prob(edge_prob, _token(token_starts, start)) < margin:
            start = nearest(start, starts, previous_end, end - 1)
        if _edge_prob(edge_prob, _token(token_starts, end)) < margin:
            end = nearest(end, ends, start + 1, next_start)
        out.append((start, end, label))
    return out


class BoundaryRefiner:
    """:class:`BoundaryOptions` applied to one article's spans at a time. The segmenter
    (configs/segmenter.yaml) and the lexicon (configs/lexicon.yaml) are the rule
    pre-annotator's, loaded once, so the rules and the model cut and trim units alike."""

    def __init__(
        self, options: BoundaryOptions, *, lexicon: Any = None, segmenter: Any = None
    ) -> None:
        self.options = options
        self._lexicon = lexicon
        self._segmenter = segmenter

    @property
    def lexicon(self) -> Any:
        if self._lexicon is None:
            from argmine.prelabel import load_lexicon

            self._lexicon = load_lexicon()
        return self._lexicon

    @property
    def segmenter(self) -> Any:
        if self._segmenter is None:
            from argmine.prelabel import _default_segmenter

            self._segmenter = _default_segmenter()
        return self._segmenter

    def refine(
        self,
        text: str,
        spans: Sequence[Span],
        *,
        token_starts: Sequence[int] | None = None,
        edge_prob: Sequence[float] | None = None,
    ) -> list[Span]:
        """The refined spans of ``text`` (see the module docstring), in text order."""
        from argmine.prelabel import trim_unit
        from argmine.segment import paragraphs, segments

        opts = self.options
        spans = sorted(spans)
        if opts.paragraphs:
            spans = split_spans(spans, paragraph_gaps(paragraphs(text, config=self.segmenter)))
        need_segments = (
            opts.sentences is not None
            or opts.cover is not None
            or (opts.snap_tokens and token_starts is not None)
        )
        segs = segments(text, config=self.segmenter) if need_segments else []
        if opts.sentences is not None:
            gaps = segment_gaps(segs, clauses=opts.clauses)
            if token_starts is not None and edge_prob is not None:
                gaps = [
                    g
                    for g in gaps
                    if _edge_prob(edge_prob, _token(token_starts, g[1])) >= opts.sentences
                ]
            spans = split_spans(spans, gaps)
        if opts.snap_tokens and token_starts is not None:
            seg_starts = [s.start for s in segs]
            if opts.markers:
                seg_starts += [trim_unit(text, s.start, s.end, self.lexicon)[0] for s in segs]
            spans = snap_edges(
                spans,
                starts=seg_starts,
                ends=[s.end for s in segs],
                token_starts=token_starts,
                edge_prob=edge_prob,
                k=opts.snap_tokens,
                margin=opts.snap_margin,
            )
        if opts.cover is not None:
            spans = cover_segments(spans, self._cover_targets(text, segs), opts.cover)
        out: list[Span] = []
        for start, end, label in spans:
            if opts.punctuation:
                start, end = punctuation_edges(text, start, end)
            if opts.markers and start < end:
                start, end = trim_unit(text, start, end, self.lexicon)
            if out and start < out[-1][1]:  # a moved edge never overlaps the unit before
                start = out[-1][1]
                start, end = strip_span(text, start, end, also=SEPARATORS)
            if start < end:
                out.append((start, end, label))
        return out

    def _cover_targets(self, text: str, segs: Sequence[Any]) -> list[tuple[int, int]]:
        """The segments :func:`cover_segments` snaps to: clauses, or whole sentences (the
        clauses of one sentence joined), with leading markers stripped under ``markers``."""
        from argmine.prelabel import trim_unit

        if self.options.clauses:
            spans = [(s.start, s.end) for s in segs]
        else:
            joined: dict[tuple[int, int], list[int]] = {}
            for s in segs:
                key = (s.paragraph, s.sentence)
                if key in joined:
                    joined[key][1] = s.end
                else:
                    joined[key] = [s.start, s.end]
            spans = [(a, b) for a, b in joined.values()]
        if self.options.markers:
            spans = [trim_unit(text, a, b, self.lexicon) for a, b in spans]
        return spans
