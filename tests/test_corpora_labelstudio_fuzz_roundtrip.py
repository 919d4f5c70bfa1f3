"""Fuzz: random articles go to Label Studio task/export format and back unchanged (no server).

Texts mix ASCII, emoji (astral, ZWJ sequences, flags), combining marks, CJK, CRLF, tabs and
Unicode line separators; spans may split a grapheme cluster or cross a line break, overlap and
nest; relations join random pairs. Seeded, so a failure names a reproducible case.
"""

from __future__ import annotations

import random

import pytest

from argmine.config import load_label_schema
from argmine.corpora.labelstudio import (
    ImportReport,
    article_to_task,
    articles_to_export,
    export_to_articles,
    to_ls_text,
)
from argmine.document import ArgRelation, ArgUnit, Article

CASES = 1000
PIECES = [
    "a", "b", "Z", " ", " ", " ", ".", ",", "\t", "\r\n", "\n", "\n\n", "\r", "\u2028",
    "\U0001f600", "\U0001f468\u200d\U0001f469\u200d\U0001f467", "\U0001f1e9\U0001f1ea",
    "\U0001f44d\U0001f3fd", "e\u0301", "a\u0308\u0323", "\u00e9", "\u4e2d\u6587", "\u0928\u093f",
    '"', "'", "&", "<", "\\n", "\ufe0f", "\u200b", "word", "Claim",
]  # fmt: skip
SCHEMA = load_label_schema()


def random_article(rng: random.Random, n: int) -> Article:
    text = "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 60)))
    spans: set[tuple[int, int, str]] = set()
    for _ in range(rng.randint(0, 8)):
        start = rng.randrange(len(text))
        end = rng.randint(start + 1, min(len(text), start + 30))
        spans.add((start, end, rng.choice(SCHEMA.span_names)))
    scored = rng.random() < 0.5
    units = [
        ArgUnit(
            id=f"{rng.choice(['T', 'r', 'x-'])}{i}",
            start=s,
            end=e,
            label=label,
            score=round(rng.random(), 4) if scored else None,
        )
        for i, (s, e, label) in enumerate(sorted(spans))
    ]
    pairs: set[tuple[str, str, str]] = set()
    if len(units) >= 2:
        for _ in range(rng.randint(0, 6)):
            head, tail = rng.sample(units, 2)
            pairs.add((head.id, tail.id, rng.choice(SCHEMA.relation_names)))
    relations = [
        ArgRelation(
            id=f"R{i}",
            head=h,
            tail=t,
            label=label,
            score=round(rng.random(), 4) if scored else None,
        )
        for i, (h, t, label) in enumerate(sorted(pairs))
    ]
    meta = {"source": rng.choice(["", "https://example.org/a?b=1&c=2", "pasted"])}
    if rng.random() < 0.3:
        meta["topic"] = rng.choice(["x", "\U0001f600", "ä"])
    title = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 5)))
    return Article(
        id=f"art-{n}", text=text, title=title, meta=meta, units=units, relations=relations
    )


def overlaps_with_different_labels(article: Article) -> bool:
    return any(
        a.label != b.label and a.start < b.end and b.start < a.end
        for a in article.units
        for b in article.units
    )


def same(a: Article, b: Article, *, scores: bool) -> None:
    assert (b.id, b.text, b.title) == (a.id, a.text, a.title)
    assert {k: v for k, v in b.meta.items() if k != "studio" and v != ""} == {
        k: v for k, v in a.meta.items() if v != ""
    }
    assert sorted(b.units, key=lambda u: u.id) == sorted(a.units, key=lambda u: u.id)
    assert sorted(b.relations, key=lambda r: r.id) == sorted(a.relations, key=lambda r: r.id)
    if scores:
        assert {u.id: u.score for u in b.units} == {u.id: u.score for u in a.units}
        assert {r.id: r.score for r in b.relations} == {r.id: r.score for r in a.relations}


def ui_saved(task: dict, rng: random.Random) -> dict:
    """Some regions with their text as the Label Studio UI saves it (line breaks escaped)."""
    for result in task["annotations"][0]["result"]:
        if result["type"] == "labels" and rng.random() < 0.5:
            result["value"]["text"] = to_ls_text(result["value"]["text"])
    return task


@pytest.mark.parametrize("path", ["export", "task", "prediction"])
def test_corpora_labelstudio_fuzz_articles_survive_label_studio_format(path, capsys):
    rng = random.Random(f"argmine-studio-fuzz-{path}")
    ran = units = relations = 0
    for n in range(CASES):
        article = random_article(rng, n)
        if path == "export":
            export = articles_to_export([article])
        elif path == "task":
            task = article_to_task(article)
            task["annotations"] = task.get("annotations") or [{"result": []}]
            export = [{"id": n + 1, **ui_saved(task, rng)}]
        else:
            bare = article.with_annotations([], [])
            task = article_to_task(bare, predictions=article, model_version="fuzz")
            task["annotations"] = [{"result": task.pop("predictions")[0]["result"]}]
            export = [{"id": n + 1, **task}]
        report = ImportReport()
        back = export_to_articles(export, schema=SCHEMA, report=report)
        # Only what the article really has is reported: an empty result, or overlapping spans
        # with different labels (both kept); anything else would be a conversion error.
        expected = set()
        if not article.units:
            expected.add("empty result")
        if overlaps_with_different_labels(article):
            expected.add("overlap with different labels")
        found = {
            "empty result" if "empty result" in i.message else "overlap with different labels"
            for i in report.issues
            if "empty result" in i.message or "overlap with different labels" in i.message
        }
        assert found == expected, f"case {n}: {[str(i) for i in report.issues]}"
        assert len(report.issues) >= len(expected)
        assert all(
            "empty result" in i.message or "overlap with different labels" in i.message
            for i in report.issues
        ), f"case {n}: {[str(i) for i in report.issues]}"
        assert len(back) == 1, f"case {n}"
        same(article, back[0], scores=path != "task")
        ran += 1
        units += len(article.units)
        relations += len(article.relations)
    with capsys.disabled():
        print(f"\nstudio fuzz ({path}): {ran} cases, {units} spans, {relations} relations")
    assert ran == CASES
