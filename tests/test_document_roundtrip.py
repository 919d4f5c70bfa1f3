"""Property tests: any Unicode text with any spans and relations survives JSONL byte-identically."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from argmine.config import load_label_schema
from argmine.document import (
    ArgRelation,
    ArgUnit,
    Article,
    dumps_article,
    iter_jsonl_articles,
    loads_article,
)

# Characters that break naive offset handling, mixed into arbitrary (non-surrogate) text.
HARD = [
    "\r\n",
    "\r",
    "\n",
    "👍🏽",
    "🇯🇵",
    "e\u0301",
    "\u201c",
    "\u201d",
    "\u2019",
    "\u2028",
    "\u2029",
    "\t",
    "\x00",
    '"',
    "\\",
]
LABELS = ["Claim", "Evidence", "Conclusion"]

texts = (
    st.lists(
        st.one_of(
            st.text(st.characters(exclude_categories=("Cs",)), max_size=12), st.sampled_from(HARD)
        ),
        min_size=1,
        max_size=30,
    )
    .map("".join)
    .filter(bool)
)


@st.composite
def articles(draw: st.DrawFn) -> Article:
    text = draw(texts)
    n = len(text)
    spans = draw(
        st.lists(
            st.tuples(st.integers(0, n - 1), st.integers(1, n)).filter(lambda p: p[0] < p[1]),
            max_size=8,
        )
    )
    scores = st.one_of(st.none(), st.floats(0, 1, allow_nan=False))
    units = [
        ArgUnit(f"T{i}", s, e, draw(st.sampled_from(LABELS)), draw(scores))
        for i, (s, e) in enumerate(spans, start=1)
    ]
    relations = []
    if len(units) >= 2:
        for i in range(draw(st.integers(0, 4))):
            head, tail = draw(
                st.lists(st.sampled_from(units), min_size=2, max_size=2, unique_by=lambda u: u.id)
            )
            relations.append(
                ArgRelation(
                    f"R{i + 1}",
                    head.id,
                    tail.id,
                    draw(st.sampled_from(["supports", "attacks"])),
                    draw(scores),
                )
            )
    title = draw(st.text(st.characters(exclude_categories=("Cs",)), max_size=10))
    meta = draw(
        st.dictionaries(
            st.text(max_size=5), st.one_of(st.integers(), st.text(max_size=5)), max_size=3
        )
    )
    return Article(
        id=draw(st.text(min_size=1, max_size=8)),
        text=text,
        title=title,
        meta=meta,
        units=units,
        relations=relations,
    )


@settings(max_examples=300, deadline=None)
@given(articles())
def test_document_jsonl_round_trip_is_byte_identical(article: Article) -> None:
    line = dumps_article(article)
    assert "\n" not in line and "\r" not in line and "\u2028" not in line and "\u2029" not in line
    back = loads_article(line)
    assert dumps_article(back) == line
    assert back == article
    assert [u.score for u in back.units] == [u.score for u in article.units]
    assert [r.score for r in back.relations] == [r.score for r in article.relations]
    for raw in json.loads(line)["units"]:
        assert back.text[raw["start"] : raw["end"]] == raw["text"]


@settings(max_examples=50, deadline=None)
@given(st.lists(articles(), min_size=1, max_size=4))
def test_document_iter_jsonl_reads_what_dumps_wrote(batch: list[Article]) -> None:
    # splitlines() also splits at U+2028 and friends: the dump must escape them.
    lines = "\n".join(dumps_article(a) for a in batch).splitlines()
    assert list(iter_jsonl_articles(lines)) == batch


@pytest.fixture(scope="module")
def schema():
    return load_label_schema()


BASE = {"id": "a1", "text": "Prices rose. So we act.", "units": [], "relations": []}


@pytest.mark.parametrize(
    ("units", "relations", "expected"),
    [
        (
            [{"id": "T1", "start": 0, "end": 99, "label": "Claim"}],
            [],
            "end 99 is beyond the text length 23",
        ),
        (
            [{"id": "T1", "start": 0, "end": 5, "label": "Opinion"}],
            [],
            "label 'Opinion' is not in the schema",
        ),
        (
            [
                {"id": "T1", "start": 0, "end": 5, "label": "Claim"},
                {"id": "T1", "start": 6, "end": 9, "label": "Claim"},
            ],
            [],
            "duplicate unit id 'T1'",
        ),
        (
            [{"id": "T1", "start": 0, "end": 5, "label": "Claim"}],
            [{"id": "R1", "head": "T1", "tail": "T9", "label": "supports"}],
            "relation R1: tail 'T9' is not a unit",
        ),
        (
            [
                {"id": "T1", "start": 0, "end": 5, "label": "Claim"},
                {"id": "T2", "start": 6, "end": 9, "label": "Claim"},
            ],
            [{"id": "R1", "head": "T1", "tail": "T2", "label": "refutes"}],
            "label 'refutes' is not in the schema",
        ),
    ],
)
def test_document_problems_name_the_bad_value(schema, units, relations, expected) -> None:
    article = Article.from_dict({**BASE, "units": units, "relations": relations})
    problems = article.problems(schema)
    assert any(expected in p for p in problems), problems
    with pytest.raises(ValueError, match="article a1"):
        article.validate(schema)


@pytest.mark.parametrize(
    ("unit", "expected"),
    [
        ({"id": "T1", "start": 5, "end": 5, "label": "Claim"}, "start 5 must be less than end 5"),
        ({"id": "T1", "start": -1, "end": 5, "label": "Claim"}, "start -1 is negative"),
        ({"id": "T1", "start": 0, "end": 5, "label": "Claim", "score": 1.5}, "score must be in"),
        ({"id": "T1", "start": 0, "end": 6, "label": "Claim", "text": "Prices"}, None),
        (
            {"id": "T1", "start": 0, "end": 6, "label": "Claim", "text": "prices"},
            "does not equal the slice",
        ),
    ],
)
def test_document_from_dict_rejects_bad_units(unit, expected) -> None:
    data = {**BASE, "units": [unit]}
    if expected is None:
        assert Article.from_dict(data).units[0].span == (0, 6)
        return
    with pytest.raises(ValueError, match=expected):
        Article.from_dict(data)
    errors: list[str] = []
    article = Article.from_dict(data, errors=errors)
    assert article.units == [] and any(expected in e for e in errors)
