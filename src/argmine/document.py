"""The one document model in the middle of argmine (standard library only).

An :class:`Article` is a text with argumentative units (:class:`ArgUnit`, character offsets
``start``/``end`` as Python ``str`` indices, end exclusive) and relations between them
(:class:`ArgRelation`, ``head`` supports/attacks ``tail``). Every adapter (Label Studio, brat,
BIO tags, HTML) converts to and from this at its edge.

The public interchange format is JSONL, one article per line::

    {"id": ..., "title": ..., "text": ..., "meta": {...},
     "units": [{"id", "start", "end", "label", "score", "text"}],
     "relations": [{"id", "head", "tail", "label", "score"}]}

where ``text[start:end] == unit["text"]``. :func:`dumps_article` and :func:`loads_article`
round-trip byte for byte.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = [
    "ArgRelation",
    "ArgUnit",
    "Article",
    "LabelSchema",
    "RelationLabel",
    "SpanLabel",
    "dumps_article",
    "iter_jsonl_articles",
    "line_problem",
    "loads_article",
    "strip_span",
]


def _check_score(score: float | None, what: str) -> None:
    if score is None:
        return
    if isinstance(score, bool) or not isinstance(score, (int, float)):
        raise ValueError(f"{what}: score must be a number or null, got {score!r}")
    if math.isnan(score) or not 0.0 <= score <= 1.0:
        raise ValueError(f"{what}: score must be in [0, 1], got {score!r}")


def _check_id(value: object, what: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what}: id must be a non-empty string, got {value!r}")


@dataclass(frozen=True)
class ArgUnit:
    """An argumentative unit: ``text[start:end]`` labelled ``label``.

    ``score`` (model or rule confidence, ``None`` for gold) does not take part in equality, so
    a predicted unit equals the gold unit it matches.
    """

    id: str
    start: int
    end: int
    label: str
    score: float | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        _check_id(self.id, "unit")
        for name in ("start", "end"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"unit {self.id}: {name} must be an integer, got {value!r}")
        if self.start < 0:
            raise ValueError(f"unit {self.id}: start {self.start} is negative")
        if self.start >= self.end:
            raise ValueError(f"unit {self.id}: start {self.start} must be less than end {self.end}")
        if not isinstance(self.label, str) or not self.label:
            raise ValueError(f"unit {self.id}: label must be a non-empty string")
        _check_score(self.score, f"unit {self.id}")

    @property
    def span(self) -> tuple[int, int]:
        return (self.start, self.end)

    def __len__(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class ArgRelation:
    """``head`` (the unit that supports or attacks) -> ``tail`` (the unit supported/attacked).

    Label Studio's ``from_id`` is ``head`` and its ``to_id`` is ``tail``.
    """

    id: str
    head: str
    tail: str
    label: str
    score: float | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        _check_id(self.id, "relation")
        _check_id(self.head, f"relation {self.id} head")
        _check_id(self.tail, f"relation {self.id} tail")
        if self.head == self.tail:
            raise ValueError(f"relation {self.id}: head and tail are the same unit {self.head!r}")
        if not isinstance(self.label, str) or not self.label:
            raise ValueError(f"relation {self.id}: label must be a non-empty string")
        _check_score(self.score, f"relation {self.id}")


@dataclass(frozen=True)
class SpanLabel:
    name: str
    description: str = ""
    color: str = "#cccccc"
    hotkey: str = ""


@dataclass(frozen=True)
class RelationLabel:
    name: str
    description: str = ""
    color: str = "#888888"


@dataclass(frozen=True)
class LabelSchema:
    """Span and relation labels (read from ``configs/labels.yaml`` by ``argmine.config``)."""

    span_labels: tuple[SpanLabel, ...]
    relation_labels: tuple[RelationLabel, ...]

    def __post_init__(self) -> None:
        if not self.span_labels:
            raise ValueError("label schema: at least one span label is needed")
        for kind, labels in (("span", self.span_labels), ("relation", self.relation_labels)):
            names = [label.name for label in labels]
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"label schema: duplicate {kind} label {dupes[0]!r}")
        hotkeys = [label.hotkey for label in self.span_labels if label.hotkey]
        dupes = sorted({h for h in hotkeys if hotkeys.count(h) > 1})
        if dupes:
            raise ValueError(f"label schema: hotkey {dupes[0]!r} is used twice")

    @property
    def span_names(self) -> tuple[str, ...]:
        return tuple(label.name for label in self.span_labels)

    @property
    def relation_names(self) -> tuple[str, ...]:
        return tuple(label.name for label in self.relation_labels)

    def span_label(self, name: str) -> SpanLabel:
        for label in self.span_labels:
            if label.name == name:
                return label
        raise KeyError(name)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LabelSchema:
        """Build from ``{"spans": {name: {...}}, "relations": {name: {...}}}``."""
        spans = data.get("spans") or {}
        relations = data.get("relations") or {}
        if not isinstance(spans, Mapping) or not isinstance(relations, Mapping):
            raise ValueError("label schema: 'spans' and 'relations' must be mappings")
        return cls(
            span_labels=tuple(SpanLabel(name=str(n), **(v or {})) for n, v in spans.items()),
            relation_labels=tuple(
                RelationLabel(name=str(n), **(v or {})) for n, v in relations.items()
            ),
        )


@dataclass
class Article:
    """A text with its argumentative units and relations.

    ``units`` and ``relations`` are kept in the order given; :meth:`sorted_units` orders by
    offset. :meth:`problems` lists everything wrong with the article at once (for
    ``argmine validate``); :meth:`validate` raises on the first problem.
    """

    id: str
    text: str
    title: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    units: list[ArgUnit] = field(default_factory=list)
    relations: list[ArgRelation] = field(default_factory=list)

    def __post_init__(self) -> None:
        _check_id(self.id, "article")
        if not isinstance(self.text, str):
            raise ValueError(f"article {self.id}: text must be a string")
        if not isinstance(self.title, str):
            raise ValueError(f"article {self.id}: title must be a string")
        if not isinstance(self.meta, dict):
            raise ValueError(f"article {self.id}: meta must be an object")
        self.units = list(self.units)
        self.relations = list(self.relations)

    # -- access -----------------------------------------------------------------------------
    def unit_text(self, unit: ArgUnit) -> str:
        return self.text[unit.start : unit.end]

    def unit(self, unit_id: str) -> ArgUnit:
        for unit in self.units:
            if unit.id == unit_id:
                return unit
        raise KeyError(unit_id)

    def sorted_units(self) -> list[ArgUnit]:
        return sorted(self.units, key=lambda u: (u.start, u.end, u.label, u.id))

    def with_annotations(
        self,
        units: Iterable[ArgUnit],
        relations: Iterable[ArgRelation] = (),
    ) -> Article:
        """A copy of this article with other units and relations (text, title, meta kept)."""
        return replace(self, meta=dict(self.meta), units=list(units), relations=list(relations))

    # -- validation -------------------------------------------------------------------------
    def problems(self, schema: LabelSchema | None = None) -> list[str]:
        """Every problem with this article, each naming the bad value."""
        found: list[str] = []
        n = len(self.text)
        seen: set[str] = set()
        for unit in self.units:
            if unit.id in seen:
                found.append(f"duplicate unit id {unit.id!r}")
            seen.add(unit.id)
            if unit.end > n:
                found.append(f"unit {unit.id}: end {unit.end} is beyond the text length {n}")
            if schema is not None and unit.label not in schema.span_names:
                found.append(
                    f"unit {unit.id}: label {unit.label!r} is not in the schema "
                    f"({', '.join(schema.span_names)})"
                )
        rel_seen: set[str] = set()
        for rel in self.relations:
            if rel.id in rel_seen or rel.id in seen:
                found.append(f"duplicate relation id {rel.id!r}")
            rel_seen.add(rel.id)
            for end_name in ("head", "tail"):
                ref = getattr(rel, end_name)
                if ref not in seen:
                    found.append(f"relation {rel.id}: {end_name} {ref!r} is not a unit")
            if schema is not None and rel.label not in schema.relation_names:
                found.append(
                    f"relation {rel.id}: label {rel.label!r} is not in the schema "
                    f"({', '.join(schema.relation_names)})"
                )
        return found

    def validate(self, schema: LabelSchema | None = None) -> Article:
        found = self.problems(schema)
        if found:
            raise ValueError(f"article {self.id}: {found[0]}")
        return self

    # -- interchange ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "text": self.text,
            "meta": self.meta,
            "units": [
                {
                    "id": u.id,
                    "start": u.start,
                    "end": u.end,
                    "label": u.label,
                    "score": u.score,
                    "text": self.text[u.start : u.end],
                }
                for u in self.units
            ],
            "relations": [
                {"id": r.id, "head": r.head, "tail": r.tail, "label": r.label, "score": r.score}
                for r in self.relations
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, errors: list[str] | None = None) -> Article:
        """Build an article from its JSONL object.

        Raises ``ValueError`` naming the bad value. With ``errors`` given, a bad unit or
        relation is recorded there and skipped instead, so a caller can list every problem.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"an article must be a JSON object, got {type(data).__name__}")
        if "text" not in data:
            raise ValueError("article has no 'text'")
        text = data["text"]
        if not isinstance(text, str):
            raise ValueError("article 'text' must be a string")
        for key, kind, name in (
            ("meta", Mapping, "an object"),
            ("units", list, "a list"),
            ("relations", list, "a list"),
            ("title", str, "a string"),
        ):
            if data.get(key) is not None and not isinstance(data[key], kind):
                raise ValueError(f"article '{key}' must be {name}, got {type(data[key]).__name__}")
        article = cls(
            id=data.get("id") if data.get("id") is not None else "",
            text=text,
            title=data.get("title") or "",
            meta=dict(data.get("meta") or {}),
        )

        def fail(message: str) -> None:
            if errors is None:
                raise ValueError(f"article {article.id}: {message}")
            errors.append(message)

        for i, raw in enumerate(data.get("units") or []):
            try:
                if not isinstance(raw, Mapping):
                    raise ValueError(f"units[{i}] is not an object")
                unit = ArgUnit(
                    id=raw.get("id") if raw.get("id") is not None else f"T{i + 1}",
                    start=raw.get("start"),
                    end=raw.get("end"),
                    label=raw.get("label"),
                    score=raw.get("score"),
                )
            except ValueError as exc:
                fail(str(exc))
                continue
            sliced = text[unit.start : unit.end]
            if unit.end <= len(text) and "text" in raw and raw["text"] != sliced:
                fail(
                    f"unit {unit.id}: text {raw['text']!r} does not equal the slice "
                    f"[{unit.start}:{unit.end}] {sliced!r}"
                )
                continue
            article.units.append(unit)
        for i, raw in enumerate(data.get("relations") or []):
            try:
                if not isinstance(raw, Mapping):
                    raise ValueError(f"relations[{i}] is not an object")
                article.relations.append(
                    ArgRelation(
                        id=raw.get("id") if raw.get("id") is not None else f"R{i + 1}",
                        head=raw.get("head"),
                        tail=raw.get("tail"),
                        label=raw.get("label"),
                        score=raw.get("score"),
                    )
                )
            except ValueError as exc:
                fail(str(exc))
        return article


def strip_span(text: str, start: int, end: int, *, also: str = "") -> tuple[int, int]:
    """``(start, end)`` moved inwards past whitespace and the characters in ``also``."""
    while start < end and (text[start].isspace() or text[start] in also):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in also):
        end -= 1
    return start, end


def dumps_article(article: Article) -> str:
    """One JSONL line (without the newline). UTF-8 text; U+0085, U+2028 and U+2029 escaped."""
    line = json.dumps(article.to_dict(), ensure_ascii=False)
    # Keep lines safe for tools that split on Unicode line breaks (str.splitlines() too).
    return line.replace("\x85", "\\u0085").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def loads_article(line: str, *, errors: list[str] | None = None) -> Article:
    return Article.from_dict(json.loads(line), errors=errors)


def line_problem(number: int, article: Article, *, more: str = "") -> str | None:
    """The first of :meth:`Article.problems` as the one line a reader reports for JSONL line
    ``number``, naming the article and how many more problems it has (``more``: a hint after
    the count, e.g. which command lists them); None when there is none."""
    problems = article.problems()  # offsets past the text, dangling relations, duplicates
    if not problems:
        return None
    rest = f" (and {len(problems) - 1} more{more})" if len(problems) > 1 else ""
    return f"line {number} (article {article.id!r}): {problems[0]}{rest}"


def iter_jsonl_articles(lines: Iterable[str]) -> Iterator[Article]:
    """Articles from JSONL lines (blank lines skipped); raises ``ValueError`` with the line for
    bad JSON or an article with :meth:`Article.problems` (no schema: labels are not checked)."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            article = loads_article(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"line {number}: not valid JSON ({exc.msg})") from None
        except ValueError as exc:
            raise ValueError(f"line {number}: {exc}") from None
        problem = line_problem(number, article)
        if problem:
            raise ValueError(problem)
        yield article
