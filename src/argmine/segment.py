"""Cut text into paragraphs, sentences and clauses with exact character offsets.

Pipeline (all offsets are Python ``str`` indices into the original text, never a copy):

1. **Paragraphs**: runs of non-blank lines. A header-like line (few words, no sentence-final
   punctuation), a Markdown heading or a list item is a paragraph of its own even when only a
   single newline separates it from the next line. ``U+2029`` always ends a paragraph.
2. **Sentences**: pysbd (``clean=False``) on each paragraph. Its sentence strings are located
   in the paragraph with a moving cursor, so an offset can never drift; a header is one unit.
3. **Clauses** (optional): a sentence is split at discourse markers ("but", "although", ";"
   ...) when both sides keep at least ``min_clause_words`` words, never inside quotes or
   parentheses.

Every segment is stripped of surrounding whitespace and is never empty, so for each
``(start, end)`` returned ``text[start:end] == text[start:end].strip() != ""``.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argmine.document import ArgUnit, Article, strip_span
from argmine.errors import ConfigError

__all__ = [
    "DEFAULT_CLAUSE_MARKERS",
    "SEGMENT_LABEL",
    "Segment",
    "SegmenterConfig",
    "load_segmenter_config",
    "segment",
    "segment_article",
    "segments",
]

log = logging.getLogger(__name__)

DEFAULT_CONFIG = "configs/segmenter.yaml"
SEGMENT_LABEL = "Segment"
DEFAULT_CLAUSE_MARKERS: tuple[str, ...] = (
    "but",
    "although",
    "even though",
    "whereas",
    ", while",
    ", which means",
    ", because",
    ", allegedly because",
    ", even as",
    ";",
)

DEFAULT_INITIAL_MARKERS: tuple[str, ...] = (
    "although",
    "even though",
    "though",
    "while",
    "whereas",
    "despite the fact that",
)
_CLAUSE_TAIL = ",;:\u2014\u2013-"

# Line breaks as Python's str.splitlines() knows them ("\r\n" counts as one).
_LINE_BREAK = re.compile(r"\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
_SENTENCE_END = re.compile(r"[.!?:;,\u2026][\"'\u201d\u2019)\]]*\s*$")
_LIST_ITEM = re.compile(r"\s*(?:[-*\u2022]\s|\d{1,3}[.)]\s|#{1,6}\s)")
_WORD = re.compile(r"\w+(?:[-'\u2019]\w+)*")
_OPENERS = {"(": ")", "[": "]", "\u201c": "\u201d", "\u2018": "\u2019"}


@dataclass(frozen=True)
class SegmenterConfig:
    """Settings of :func:`segments` (``configs/segmenter.yaml``)."""

    clauses: bool = True
    clause_markers: tuple[str, ...] = DEFAULT_CLAUSE_MARKERS
    min_clause_words: int = 4
    header_max_words: int = 12
    initial_markers: tuple[str, ...] = DEFAULT_INITIAL_MARKERS

    def __post_init__(self) -> None:
        if isinstance(self.clause_markers, str):
            raise ValueError(f"clause_markers must be a list, got {self.clause_markers!r}")
        object.__setattr__(self, "clause_markers", tuple(self.clause_markers))
        if isinstance(self.initial_markers, str):
            raise ValueError(f"initial_markers must be a list, got {self.initial_markers!r}")
        object.__setattr__(self, "initial_markers", tuple(self.initial_markers))
        for marker in self.clause_markers:
            if not isinstance(marker, str) or not marker.strip(" ,"):
                raise ValueError(f"clause marker {marker!r} is empty")
        for name in ("min_clause_words", "header_max_words"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")

    @functools.cached_property
    def _marker_pattern(self) -> re.Pattern[str] | None:
        return _compile_markers(self.clause_markers)

    @functools.cached_property
    def _initial_pattern(self) -> re.Pattern[str] | None:
        if not self.initial_markers:
            return None
        words = "|".join(
            r"\s+".join(re.escape(w) for w in m.split())
            for m in sorted(self.initial_markers, key=len, reverse=True)
        )
        return re.compile(rf"\W*(?:(?:but|and|yet)\s+)?(?:{words})(?!\w)", re.IGNORECASE)


@dataclass(frozen=True)
class Segment:
    """One unit of text: ``text[start:end]``, in paragraph ``paragraph`` (0-based)."""

    start: int
    end: int
    paragraph: int
    kind: str = "sentence"  # "header", "sentence" or "clause"
    sentence: int = field(default=0, compare=False)

    @property
    def span(self) -> tuple[int, int]:
        return (self.start, self.end)


def load_segmenter_config(path: str | Path = DEFAULT_CONFIG) -> SegmenterConfig:
    """Read a segmenter YAML file (unknown keys are errors)."""
    from argmine.config import load_yaml

    data = load_yaml(path) or {}
    if not isinstance(data, Mapping):
        raise ConfigError(path, "a segmenter config must be a mapping")
    return config_from_dict(data, source=str(path))


def config_from_dict(
    data: Mapping[str, Any], *, source: str = "segmenter config"
) -> SegmenterConfig:
    """A :class:`SegmenterConfig` from a segmenter file's mapping, checked strictly by
    :class:`argmine.config.SegmenterFile` (unknown keys and wrong types are errors)."""
    from argmine.config import SegmenterFile, check_file

    checked = check_file(SegmenterFile, dict(data), source)
    try:
        return SegmenterConfig(**checked.model_dump(exclude_none=True))
    except (TypeError, ValueError) as exc:
        raise ConfigError(source, str(exc)) from None


def _compile_markers(markers: Sequence[str]) -> re.Pattern[str] | None:
    """One regex; group ``cut`` marks where the split goes (the marker's first character for
    words, just after it for punctuation)."""
    parts = []
    for marker in sorted(set(markers), key=len, reverse=True):
        needs_comma = marker.lstrip().startswith(",") and marker.strip(" ,")
        body = marker.strip(" ,") if needs_comma else marker.strip()
        words = body.split()
        escaped = r"\s+".join(re.escape(w) for w in words)
        if body[0].isalnum():
            word = rf"(?<![\w\u2019'-]){escaped}(?![\w\u2019'-])"
            parts.append(
                rf",\s*(?P<c{len(parts)}>){word}" if needs_comma else rf"(?P<c{len(parts)}>){word}"
            )
        else:
            parts.append(rf"{escaped}(?P<c{len(parts)}>)")
    if not parts:
        return None
    return re.compile("|".join(parts), re.IGNORECASE)


def _lines(text: str, start: int, end: int) -> list[tuple[int, int, str]]:
    """(line_start, line_end, break) for text[start:end]; line_end excludes the break."""
    out = []
    pos = start
    for match in _LINE_BREAK.finditer(text, start, end):
        out.append((pos, match.start(), match.group()))
        pos = match.end()
    out.append((pos, end, ""))
    return out


def _word_count(text: str) -> int:
    return len(_WORD.findall(text))


def _is_header(line: str, max_words: int) -> bool:
    stripped = line.strip()
    if not stripped:
        return False
    if re.match(r"#{1,6}\s", stripped):
        return True
    return _word_count(stripped) <= max_words and not _SENTENCE_END.search(stripped)


def paragraphs(text: str, *, config: SegmenterConfig | None = None) -> list[tuple[int, int, bool]]:
    """``(start, end, is_header)`` of each paragraph, whitespace stripped, never empty."""
    config = config or SegmenterConfig()
    found: list[tuple[int, int, bool]] = []
    block_start: int | None = None
    block_end = 0
    prev_ends_sentence = True

    def close() -> None:
        nonlocal block_start
        if block_start is not None:
            s, e = strip_span(text, block_start, block_end)
            if s < e:
                found.append((s, e, False))
        block_start = None

    for line_start, line_end, brk in _lines(text, 0, len(text)):
        line = text[line_start:line_end]
        if not line.strip():
            close()
        elif _LIST_ITEM.match(line) or (
            prev_ends_sentence and _is_header(line, config.header_max_words)
        ):
            close()
            s, e = strip_span(text, line_start, line_end)
            header = _is_header(line, config.header_max_words)
            found.append((s, e, header))
            # A list item may continue on the next line; a header never does.
            if not header:
                block_start, block_end = s, e
                found.pop()
        else:
            if block_start is None:
                block_start = line_start
            block_end = line_end
        if line.strip():
            prev_ends_sentence = bool(_SENTENCE_END.search(line)) or _is_header(
                line, config.header_max_words
            )
        if brk == "\u2029":
            close()
            prev_ends_sentence = True
    close()
    return found


@functools.lru_cache(maxsize=4)
def _pysbd_language(language: str):  # -> pysbd language module
    from pysbd.languages import Language

    return Language.get_language_code(language)


def _split_sentences(chunk: str, language: str = "en") -> list[str]:
    """pysbd's sentences for ``chunk`` (``clean=False``).

    Calls pysbd's ``Processor`` directly: ``Segmenter.segment`` would also compute character
    spans with one fresh regex per sentence, which :func:`_sentences` does exactly (and ~40%
    faster) with a cursor.
    """
    from pysbd.processor import Processor

    return Processor(chunk, _pysbd_language(language), char_span=False).process()


def _sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans inside text[start:end], located exactly with a cursor."""
    chunk = text[start:end]
    out: list[tuple[int, int]] = []
    cursor = 0
    for sent in _split_sentences(chunk):
        piece = sent.strip()
        if not piece:
            continue
        found = chunk.find(piece, cursor)
        if found < 0:
            log.warning(
                "sentence splitter changed the text near offset %d; keeping the rest of the "
                "paragraph as one sentence",
                start + cursor,
            )
            break
        out.append((start + found, start + found + len(piece)))
        cursor = found + len(piece)
    rest = strip_span(text, start + cursor, end)
    if rest[0] < rest[1]:
        # Anything pysbd did not return (or everything after a mismatch) is kept, never lost.
        if out and not text[rest[0] : rest[1]].strip(".!?\u2026\"'\u201d\u2019)] "):
            out[-1] = (out[-1][0], rest[1])
        else:
            out.append(rest)
    return out


def _inside_brackets(text: str, start: int, cut: int) -> bool:
    """Is ``cut`` inside quotes or parentheses opened within text[start:cut]?"""
    depth: list[str] = []
    straight = 0
    for ch in text[start:cut]:
        if ch in _OPENERS:
            depth.append(_OPENERS[ch])
        elif depth and ch == depth[-1]:
            depth.pop()
        elif ch == '"':
            straight += 1
    return bool(depth) or straight % 2 == 1


_PREV_WORD = re.compile(r"(\w+)\W*$")
_NEXT_WORDS = re.compile(r"\w+\s+(\w+)")
# "nowhere but", "nothing but", "all but", "not only ... but also": "but" that joins no clause.
_BUT_NOT_AFTER = frozenset({"nowhere", "nothing", "anything", "all", "none", "only", "anyone"})


def _not_a_clause(text: str, cut: int) -> bool:
    if text[cut : cut + 3].lower() != "but":
        return False
    before = _PREV_WORD.search(text, max(0, cut - 40), cut)
    after = _NEXT_WORDS.match(text, cut, cut + 40)
    return bool(
        (before and before.group(1).lower() in _BUT_NOT_AFTER)
        or (after and after.group(1).lower() == "also")
    )


def _initial_cut(text: str, start: int, end: int, config: SegmenterConfig) -> int | None:
    """After the comma that closes a sentence-initial concessive clause ("Although X, Y")."""
    pattern = config._initial_pattern
    if pattern is None or not pattern.match(text, start, end):
        return None
    for match in re.finditer(",", text[start:end]):
        cut = start + match.end()
        if _inside_brackets(text, start, cut - 1):
            continue
        if _word_count(text[start:cut]) < config.min_clause_words:
            continue
        if _word_count(text[cut:end]) < config.min_clause_words:
            return None
        return cut
    return None


def _strip_clause_end(text: str, start: int, end: int) -> tuple[int, int]:
    """Strip whitespace, and a trailing comma, semicolon, colon or dash (a clause ends at its
    last word; sentence-final punctuation stays)."""
    start, end = strip_span(text, start, end)
    while end > start and text[end - 1] in _CLAUSE_TAIL:
        end -= 1
        start, end = strip_span(text, start, end)
    return start, end


def _clauses(text: str, start: int, end: int, config: SegmenterConfig) -> list[tuple[int, int]]:
    pattern = config._marker_pattern
    cuts: list[tuple[int, int]] = []
    initial = _initial_cut(text, start, end, config)
    if initial is not None:
        cuts.append((initial, initial))
    if pattern is not None:
        for match in pattern.finditer(text, start, end):
            cut = next(match.start(g) for g, v in match.groupdict().items() if v is not None)
            if start < cut < end:
                cuts.append((cut, match.end()))
    cuts.sort()
    pieces: list[tuple[int, int]] = []
    left = start
    for cut, marker_end in cuts:
        if cut <= left or _inside_brackets(text, left, cut) or _not_a_clause(text, cut):
            continue
        left_words = _word_count(text[left:cut])
        right_words = _word_count(text[marker_end:end])
        if left_words < config.min_clause_words or right_words < config.min_clause_words:
            continue
        s, e = _strip_clause_end(text, left, cut)
        if s < e:
            pieces.append((s, e))
            left = cut
    s, e = strip_span(text, left, end)
    if s < e:
        pieces.append((s, e))
    # The last piece may have become too short after earlier cuts: merge it back.
    if (
        len(pieces) > 1
        and _word_count(text[pieces[-1][0] : pieces[-1][1]]) < config.min_clause_words
    ):
        last = pieces.pop()
        pieces[-1] = (pieces[-1][0], last[1])
    return pieces


def segments(text: str, *, config: SegmenterConfig | None = None) -> list[Segment]:
    """Paragraph, sentence and clause segments of ``text`` in order (see the module doc)."""
    config = config or SegmenterConfig()
    out: list[Segment] = []
    sentence_no = 0
    for para_no, (p_start, p_end, header) in enumerate(paragraphs(text, config=config)):
        if header:
            out.append(Segment(p_start, p_end, para_no, "header", sentence_no))
            sentence_no += 1
            continue
        for s_start, s_end in _sentences(text, p_start, p_end):
            pieces = _clauses(text, s_start, s_end, config) if config.clauses else []
            if len(pieces) > 1:
                out.extend(Segment(s, e, para_no, "clause", sentence_no) for s, e in pieces)
            else:
                out.append(Segment(s_start, s_end, para_no, "sentence", sentence_no))
            sentence_no += 1
    return out


def segment(
    text: str,
    *,
    clause_markers: Sequence[str] | None = DEFAULT_CLAUSE_MARKERS,
    min_clause_words: int = 4,
    config: SegmenterConfig | None = None,
) -> list[tuple[int, int]]:
    """``(start, end)`` of every segment of ``text``; ``clause_markers=None`` (or empty) keeps
    whole sentences. ``config`` (when given) overrides the other options."""
    if config is None:
        config = SegmenterConfig(
            clauses=bool(clause_markers),
            clause_markers=tuple(clause_markers or ()),
            min_clause_words=min_clause_words,
        )
    return [seg.span for seg in segments(text, config=config)]


def segment_article(
    article: Article, *, config: SegmenterConfig | None = None, label: str = SEGMENT_LABEL
) -> Article:
    """A copy of ``article`` whose units are its segments (ids ``S1``, ``S2`` ..., label
    ``label``, no score); existing units and relations are replaced. ``meta["segmenter"]``
    lists each segment's kind (header, sentence, clause) and paragraph number."""
    found = segments(article.text, config=config)
    units = [ArgUnit(f"S{i}", seg.start, seg.end, label) for i, seg in enumerate(found, start=1)]
    result = article.with_annotations(units, [])
    result.meta["segmenter"] = {
        "kinds": [seg.kind for seg in found],
        "paragraphs": [seg.paragraph for seg in found],
    }
    return result
