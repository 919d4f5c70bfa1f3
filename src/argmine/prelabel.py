"""Cold-start rule pre-annotator: segments + cue lexicon -> labelled units and relations.

Data flow::

    Article.text --segments()--> sentences / clauses (argmine.segment)
        --skip rules--> argumentative segments (no titles, bylines, "(Source: ...)")
        --cue groups (configs/lexicon.yaml), noisy-or per label--> ArgUnit(label, score < 1)
        --nearest tail unit (same paragraph first)--> ArgRelation(head=Evidence, tail=Claim)

Labels come only from the lexicon (its cue groups map to labels) and are checked against the
label schema; nothing here names a label. Scores are calibrated by the cue weights: a segment
with stronger (or more) cues gets a higher score, and every score is below 1.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argmine.document import ArgRelation, ArgUnit, Article, LabelSchema
from argmine.errors import ConfigError
from argmine.segment import DEFAULT_CONFIG as DEFAULT_SEGMENTER
from argmine.segment import SegmenterConfig, load_segmenter_config, segments

__all__ = [
    "CueGroup",
    "Lexicon",
    "RelationRule",
    "load_lexicon",
    "prelabel",
    "prelabel_articles",
    "rule_link_pairs",
    "score_segment",
    "trim_unit",
]

log = logging.getLogger(__name__)

DEFAULT_LEXICON = "configs/lexicon.yaml"
PRELABEL_META = "rules"
_WORD = re.compile(r"\w+(?:[-'\u2019]\w+)*")
_LEAD = r"^\W*(?:(?:and|but|so|yet|or)\W+)?"
WHERE = ("anywhere", "start", "last")


@dataclass(frozen=True)
class CueGroup:
    """A named set of cues that votes for ``label`` with ``weight`` when any cue matches."""

    name: str
    label: str
    weight: float
    patterns: tuple[re.Pattern[str], ...]
    where: str = "anywhere"  # "anywhere", "start" (of the segment) or "last" (of the article)

    def __post_init__(self) -> None:
        if not 0.0 < self.weight < 1.0:
            raise ValueError(
                f"cue group {self.name}: weight must be in (0, 1), got {self.weight!r}"
            )
        if self.where not in WHERE:
            raise ValueError(
                f"cue group {self.name}: where must be one of {', '.join(WHERE)}, "
                f"got {self.where!r}"
            )

    def matches(self, text: str, *, last: bool = False) -> bool:
        if self.where == "last":
            return last and (not self.patterns or any(p.search(text) for p in self.patterns))
        return any(p.search(text) for p in self.patterns)


@dataclass(frozen=True)
class RelationRule:
    """Each unit labelled in ``head`` gets a relation to the nearest unit labelled in ``tail``:
    in the same paragraph first, else the nearest one ``prefer``-ed ("before" or "after"),
    else the nearest on the other side."""

    head: tuple[str, ...]
    tail: tuple[str, ...]
    prefer: str = "before"

    def __post_init__(self) -> None:
        object.__setattr__(self, "head", tuple(self.head))
        object.__setattr__(self, "tail", tuple(self.tail))
        if not self.head or not self.tail:
            raise ValueError("a relation rule needs head and tail labels")
        if self.prefer not in ("before", "after"):
            raise ValueError(f"relation rule: prefer must be before or after, got {self.prefer!r}")


@dataclass(frozen=True)
class Lexicon:
    """The pre-annotator's rules (``configs/lexicon.yaml``)."""

    groups: tuple[CueGroup, ...]
    default_label: str | None
    default_score: float = 0.3
    skip: tuple[re.Pattern[str], ...] = ()
    skip_headers: bool = True
    min_words: int = 4
    max_score: float = 0.95
    relation_label: str | None = None
    relation_rules: tuple[RelationRule, ...] = ()
    trim_leading: re.Pattern[str] | None = None
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not 0.0 < self.max_score < 1.0:
            raise ValueError(f"max_score must be in (0, 1), got {self.max_score!r}")
        if not 0.0 <= self.default_score < 1.0:
            raise ValueError(f"default.score must be in [0, 1), got {self.default_score!r}")

    @property
    def span_labels(self) -> tuple[str, ...]:
        labels = [g.label for g in self.groups]
        if self.default_label:
            labels.append(self.default_label)
        for rule in self.relation_rules:
            labels += [*rule.head, *rule.tail]
        return tuple(dict.fromkeys(labels))

    @property
    def relation_heads(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(h for r in self.relation_rules for h in r.head))

    def check(self, schema: LabelSchema) -> Lexicon:
        """Raise :class:`ConfigError` if a label is not in ``schema``."""
        for label in self.span_labels:
            if label not in schema.span_names:
                raise ConfigError(
                    self.source or "lexicon",
                    f"label {label!r} is not a span label of the schema "
                    f"({', '.join(schema.span_names)})",
                )
        if self.relation_label and self.relation_label not in schema.relation_names:
            raise ConfigError(
                self.source or "lexicon",
                f"relation label {self.relation_label!r} is not in the schema "
                f"({', '.join(schema.relation_names)})",
            )
        return self


def _phrase_pattern(phrases: Sequence[str], *, at_start: bool) -> re.Pattern[str]:
    alternatives = "|".join(
        r"\s+".join(re.escape(w) for w in str(p).split())
        for p in sorted(phrases, key=lambda p: len(str(p)), reverse=True)
    )
    body = rf"(?<![\w'\u2019-])(?:{alternatives})(?![\w'\u2019-])"
    return re.compile(_LEAD + body if at_start else body, re.IGNORECASE)


def _trim_pattern(phrases: Sequence[str]) -> re.Pattern[str] | None:
    if not phrases:
        return None
    alternatives = "|".join(
        r"\s+".join(re.escape(w) for w in str(p).split())
        for p in sorted(phrases, key=lambda p: len(str(p)), reverse=True)
    )
    return re.compile(rf"(?:{alternatives})(?![\w'\u2019-])[\s,:\u2014\u2013]*", re.IGNORECASE)


def trim_unit(text: str, start: int, end: int, lexicon: Lexicon) -> tuple[int, int]:
    """Drop leading discourse markers ("Thus,", "But although") from ``text[start:end]``,
    keeping at least ``lexicon.min_words`` words; the result is never empty."""
    pattern = lexicon.trim_leading
    if pattern is None:
        return start, end
    while True:
        match = pattern.match(text, start, end)
        if not match or match.end() >= end:
            return start, end
        if len(_WORD.findall(text, match.end(), end)) < lexicon.min_words:
            return start, end
        start = match.end()


_TOP_KEYS = {
    "trim_leading",
    "max_score",
    "min_words",
    "skip",
    "skip_headers",
    "default",
    "groups",
    "relations",
}
_GROUP_KEYS = {"label", "weight", "where", "phrases", "regex"}


def lexicon_from_dict(data: Mapping[str, Any], *, source: str = "lexicon") -> Lexicon:
    """Build a :class:`Lexicon`; unknown keys and bad patterns are :class:`ConfigError`."""

    def bad(problem: str) -> ConfigError:
        return ConfigError(source, problem)

    if not isinstance(data, Mapping):
        raise bad("a lexicon must be a mapping")
    from argmine.config import LexiconFile, check_file

    check_file(LexiconFile, dict(data), source)  # unknown keys and wrong types, by dotted key
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise bad(f"unknown key {unknown[0]!r} (expected {', '.join(sorted(_TOP_KEYS))})")

    def compile_regex(pattern: Any, where: str) -> re.Pattern[str]:
        try:
            return re.compile(str(pattern))
        except re.error as exc:
            raise bad(f"{where}: bad regular expression {pattern!r} ({exc})") from None

    groups = []
    raw_groups = data.get("groups") or {}
    if not isinstance(raw_groups, Mapping):
        raise bad("groups must be a mapping of group names")
    for name, body in raw_groups.items():
        if not isinstance(body, Mapping):
            raise bad(f"groups.{name} must be a mapping")
        extra = sorted(set(body) - _GROUP_KEYS)
        if extra:
            raise bad(f"unknown key groups.{name}.{extra[0]}")
        if not body.get("label"):
            raise bad(f"groups.{name}: no label")
        where = body.get("where", "anywhere")
        if where not in WHERE:
            raise bad(f"groups.{name}.where must be one of {', '.join(WHERE)}, got {where!r}")
        patterns = []
        phrases = body.get("phrases") or []
        if phrases:
            patterns.append(_phrase_pattern(phrases, at_start=where == "start"))
        for regex in body.get("regex") or []:
            pattern = compile_regex(regex, f"groups.{name}.regex")
            if where == "start":
                pattern = re.compile(_LEAD + f"(?:{pattern.pattern})", pattern.flags)
            patterns.append(pattern)
        if not patterns and where != "last":
            raise bad(f"groups.{name}: no phrases or regex")
        try:
            groups.append(
                CueGroup(
                    str(name),
                    str(body["label"]),
                    float(body.get("weight", 0.5)),
                    tuple(patterns),
                    where,
                )
            )
        except (TypeError, ValueError) as exc:
            raise bad(str(exc)) from None
    default = data.get("default") or {}
    relations = data.get("relations") or {}
    if not isinstance(default, Mapping) or not isinstance(relations, Mapping):
        raise bad("default and relations must be mappings")
    extra = sorted(set(default) - {"label", "score"}) + sorted(set(relations) - {"label", "rules"})
    if extra:
        raise bad(f"unknown key {extra[0]!r} in default/relations")
    rules = []
    for i, rule in enumerate(relations.get("rules") or []):
        if not isinstance(rule, Mapping) or set(rule) - {"head", "tail", "prefer"}:
            raise bad(f"relations.rules[{i}] must be a mapping with head, tail and prefer")
        try:
            rules.append(
                RelationRule(
                    tuple(rule.get("head") or ()),
                    tuple(rule.get("tail") or ()),
                    rule.get("prefer", "before"),
                )
            )
        except ValueError as exc:
            raise bad(f"relations.rules[{i}]: {exc}") from None
    try:
        return Lexicon(
            groups=tuple(groups),
            default_label=default.get("label") or None,
            default_score=float(default.get("score", 0.3)),
            skip=tuple(compile_regex(p, "skip") for p in data.get("skip") or []),
            skip_headers=bool(data.get("skip_headers", True)),
            min_words=int(data.get("min_words", 4)),
            max_score=float(data.get("max_score", 0.95)),
            relation_label=relations.get("label") or None,
            relation_rules=tuple(rules),
            trim_leading=_trim_pattern(data.get("trim_leading") or ()),
            source=source,
        )
    except (TypeError, ValueError) as exc:
        raise bad(str(exc)) from None


def load_lexicon(
    path: str | Path = DEFAULT_LEXICON, *, schema: LabelSchema | None = None
) -> Lexicon:
    """Read a lexicon YAML file and (with ``schema``) check its labels."""
    from argmine.config import load_yaml

    lexicon = lexicon_from_dict(load_yaml(path) or {}, source=str(path))
    return lexicon.check(schema) if schema is not None else lexicon


def score_segment(
    text: str, lexicon: Lexicon, *, last: bool = False
) -> tuple[str, float, list[str]] | None:
    """``(label, score, matched cue groups)`` for one segment, or ``None`` for no unit;
    ``last`` says that it is the article's last argumentative segment."""
    if len(_WORD.findall(text)) < lexicon.min_words:
        return None
    if any(p.search(text) for p in lexicon.skip):
        return None
    misses: dict[str, float] = {}
    matched: list[str] = []
    for group in lexicon.groups:
        if group.matches(text, last=last):
            matched.append(group.name)
            misses[group.label] = misses.get(group.label, 1.0) * (1.0 - group.weight)
    if lexicon.default_label:
        label = lexicon.default_label
        misses[label] = misses.get(label, 1.0) * (1.0 - lexicon.default_score)
    if not misses:
        return None
    # Highest score wins; on a tie the default label, then the label whose group comes first.
    order = {label: i + 1 for i, label in enumerate(lexicon.span_labels)}
    if lexicon.default_label:
        order[lexicon.default_label] = 0
    label = min(misses, key=lambda lab: (misses[lab], order.get(lab, len(order))))
    score = min(lexicon.max_score, 1.0 - misses[label])
    return label, round(score, 3), matched


def _nearest(i: int, candidates: list[int], paragraphs: list[int], prefer: str):
    """(index, factor): same paragraph first, then the preferred side, then the other."""
    same = [j for j in candidates if paragraphs[j] == paragraphs[i]]
    before = [j for j in candidates if j < i]
    after = [j for j in candidates if j > i]
    if same:
        return min(same, key=lambda j: (abs(j - i), (j > i) == (prefer == "before"))), 0.9
    first, second = (before, after) if prefer == "before" else (after, before)
    if first:
        return (first[-1] if prefer == "before" else first[0]), 0.6
    if second:
        return (second[0] if prefer == "before" else second[-1]), 0.5
    return None, 0.0


def _link(units: list[ArgUnit], paragraphs: list[int], lexicon: Lexicon) -> list[ArgRelation]:
    if not lexicon.relation_label:
        return []
    relations: list[ArgRelation] = []
    seen: set[tuple[int, int]] = set()
    for i, unit in enumerate(units):
        for rule in lexicon.relation_rules:
            if unit.label not in rule.head:
                continue
            tails = [j for j, u in enumerate(units) if u.label in rule.tail and j != i]
            target, factor = _nearest(i, tails, paragraphs, rule.prefer)
            if target is None or (i, target) in seen or (target, i) in seen:
                continue
            seen.add((i, target))
            score = round(min(unit.score or 0.0, units[target].score or 0.0) * factor, 3)
            relations.append(
                ArgRelation(
                    f"R{len(relations) + 1}",
                    head=unit.id,
                    tail=units[target].id,
                    label=lexicon.relation_label,
                    score=score,
                )
            )
    return relations


@functools.lru_cache(maxsize=1)
def _default_lexicon() -> Lexicon:
    return load_lexicon(DEFAULT_LEXICON)


def rule_link_pairs(
    units: Sequence[ArgUnit], paragraphs: Sequence[int], lexicon: Lexicon | None = None
) -> set[tuple[int, int]]:
    """``(head index, tail index)`` of the rules' nearest-unit links over ``units`` (text
    order, labelled as given; ``paragraphs``: each unit's paragraph): the pre-annotator's
    linking, offered to the relation head as a pair feature (``relations.rule_links``)."""
    lexicon = lexicon if lexicon is not None else _default_lexicon()
    index = {u.id: k for k, u in enumerate(units)}
    return {(index[r.head], index[r.tail]) for r in _link(list(units), list(paragraphs), lexicon)}


def _title_span(article: Article) -> tuple[int, int] | None:
    """Where the title sits in the text, when the text starts with it (HTML and .txt headers),
    so that a title of several sentences gets no unit either."""
    title = article.title.strip()
    if not title:
        return None
    found = article.text.find(title, 0, len(title) + 200)
    if found < 0 or article.text[:found].strip(" \t\r\n#"):
        return None
    return found, found + len(title)


def _default_segmenter() -> SegmenterConfig:
    """``configs/segmenter.yaml`` when it can be found, else the built-in defaults."""
    from argmine.config import find_config

    try:
        find_config(DEFAULT_SEGMENTER)
    except ConfigError:
        return SegmenterConfig()
    return load_segmenter_config(DEFAULT_SEGMENTER)


def _resolve(
    lexicon: Lexicon | None, schema: LabelSchema | None, segmenter: SegmenterConfig | None
) -> tuple[Lexicon, SegmenterConfig]:
    """The default lexicon and segmenter where none is given; the lexicon checked against
    ``schema`` if there is one."""
    if lexicon is None:
        lexicon = load_lexicon(DEFAULT_LEXICON)
    if schema is not None:
        lexicon.check(schema)
    return lexicon, segmenter if segmenter is not None else _default_segmenter()


def prelabel(
    article: Article,
    *,
    lexicon: Lexicon | None = None,
    schema: LabelSchema | None = None,
    segmenter: SegmenterConfig | None = None,
) -> Article:
    """A copy of ``article`` with rule-based units (``T1``...) and relations (``R1``...).

    ``lexicon`` defaults to ``configs/lexicon.yaml`` and ``segmenter`` to
    ``configs/segmenter.yaml``; with ``schema`` the lexicon's labels are checked.
    Existing units and relations are replaced; ``meta["prelabel"] = "rules"``.
    """
    lexicon, segmenter = _resolve(lexicon, schema, segmenter)
    title = _title_span(article)
    scored = []
    for seg in segments(article.text, config=segmenter):
        if seg.kind == "header" and lexicon.skip_headers:
            continue
        if title is not None and title[0] <= seg.start and seg.end <= title[1]:
            continue
        found = score_segment(article.text[seg.start : seg.end], lexicon)
        if found is not None:
            scored.append((seg, found))
    if scored:  # position cues ("where: last") see the article's last argumentative segment
        seg = scored[-1][0]
        scored[-1] = (seg, score_segment(article.text[seg.start : seg.end], lexicon, last=True))
    units: list[ArgUnit] = []
    paragraphs: list[int] = []
    for seg, (label, score, _) in scored:
        start, end = trim_unit(article.text, seg.start, seg.end, lexicon)
        units.append(ArgUnit(f"T{len(units) + 1}", start, end, label, score))
        paragraphs.append(seg.paragraph)
    result = article.with_annotations(units, _link(units, paragraphs, lexicon))
    result.meta["prelabel"] = PRELABEL_META
    return result


def prelabel_articles(
    articles: Sequence[Article],
    *,
    lexicon: Lexicon | None = None,
    schema: LabelSchema | None = None,
    segmenter: SegmenterConfig | None = None,
) -> list[Article]:
    """:func:`prelabel` over many articles (the lexicon is loaded and checked once)."""
    lexicon, segmenter = _resolve(lexicon, schema, segmenter)
    return [prelabel(a, lexicon=lexicon, segmenter=segmenter) for a in articles]
