"""Articles -> Label Studio tasks/exports -> articles, without a server."""

from __future__ import annotations

import json

import pytest

from argmine.corpora.labelstudio import (
    article_to_task,
    articles_to_export,
    export_to_articles,
    from_ls_offset,
    spec,
    to_ls_offset,
)
from argmine.document import ArgRelation, ArgUnit, Article


def _article(text: str, spans: list[tuple[str, str, str]], rels=(), **kw) -> Article:
    """Units from (id, substring, label), found in order in ``text``."""
    units = []
    pos = 0
    for unit_id, sub, label in spans:
        start = text.index(sub, pos)
        units.append(ArgUnit(unit_id, start, start + len(sub), label))
        pos = start + 1
    relations = [ArgRelation(f"R{i + 1}", h, t, lab) for i, (h, t, lab) in enumerate(rels)]
    return Article(id=kw.pop("id", "a1"), text=text, units=units, relations=relations, **kw)


CASES = {
    "ascii": _article(
        "Taxes must rise. The deficit hit 5% in 2023. So act now.",
        [
            ("T1", "Taxes must rise", "Claim"),
            ("T2", "The deficit hit 5% in 2023", "Evidence"),
            ("T3", "So act now", "Conclusion"),
        ],
        [("T2", "T1", "supports"), ("T3", "T1", "supports")],
        title="Budget",
        meta={"source": "budget.txt", "lang": "en"},
    ),
    "emoji": _article(
        "👨🏻‍🚒 firemen 😀 drive firetrucks 🚒 at work. They love 🇩🇪 flags.",
        [
            ("T1", "firemen 😀 drive", "Claim"),
            ("T2", "🚒 at work", "Evidence"),
            ("T3", "🇩🇪 flags", "Conclusion"),
        ],
        [("T2", "T1", "attacks")],
    ),
    "crlf_tabs": _article(
        "First line.\r\nSecond\tline is\ttabbed.\r\n\r\nThird.",
        [("T1", "Second\tline", "Claim"), ("T2", "Third.", "Evidence")],
        [("T2", "T1", "supports")],
    ),
    "combining": _article(
        "Cafe\u0301 owners say nai\u0308ve policies fail. Zalgo z\u0336\u0353 text.",
        [
            ("T1", "Cafe\u0301 owners", "Claim"),
            ("T2", "nai\u0308ve policies fail", "Evidence"),
            ("T3", "z\u0336\u0353", "Claim"),
        ],
    ),
    "no_units": Article(id="empty", text="Nothing argued here."),
    "overlap_same_label": _article(
        "One two three four.", [("T1", "One two three", "Claim"), ("T2", "two three four", "Claim")]
    ),
}


@pytest.fixture(params=["codepoint", "utf16"])
def offset_unit(request, monkeypatch):
    monkeypatch.setattr(spec, "LS_OFFSET_UNIT", request.param)
    return request.param


@pytest.mark.parametrize("name", sorted(CASES))
def test_corpora_labelstudio_export_roundtrip_keeps_everything(name, offset_unit, caplog):
    article = CASES[name]
    export = json.loads(json.dumps(articles_to_export([article])))
    back = export_to_articles(export)
    assert len(back) == 1
    got = back[0]
    assert got.id == article.id
    assert got.text == article.text
    assert got.title == article.title
    assert got.units == article.units
    assert got.relations == article.relations
    assert {k: v for k, v in got.meta.items() if k != "studio"} == article.meta
    # Only the empty article is reported (an empty result is never silent).
    assert bool(caplog.records) == (not article.units)


@pytest.mark.parametrize("name", sorted(CASES))
def test_corpora_labelstudio_task_results_slice_the_text(name, offset_unit):
    article = CASES[name]
    task = article_to_task(article.with_annotations([]), predictions=article, model_version="m1")
    assert set(task["data"]) == {"id", "title", "text", "source", "meta"}
    assert "annotations" not in task
    prediction = task["predictions"][0]
    assert prediction["model_version"] == "m1"
    spans = [r for r in prediction["result"] if r["type"] == "labels"]
    assert len(spans) == len(article.units)
    for result, unit in zip(spans, article.units, strict=True):
        assert (result["from_name"], result["to_name"]) == ("label", "text")
        value = result["value"]
        start = from_ls_offset(article.text, value["start"])
        end = from_ls_offset(article.text, value["end"])
        assert (start, end) == unit.span
        assert value["text"] == article.text[start:end]
        assert value["labels"] == [unit.label]


def test_corpora_labelstudio_relation_direction_is_head_to_tail():
    article = CASES["ascii"]
    task = article_to_task(article)
    relations = [r for r in task["annotations"][0]["result"] if r["type"] == "relation"]
    assert [(r["from_id"], r["to_id"], r["direction"], r["labels"]) for r in relations] == [
        ("T2", "T1", "right", ["supports"]),
        ("T3", "T1", "right", ["supports"]),
    ]


def test_corpora_labelstudio_prediction_carries_scores():
    gold = CASES["ascii"]
    pred = gold.with_annotations(
        [
            ArgUnit(u.id, u.start, u.end, u.label, score=s)
            for u, s in zip(gold.units, (0.2, 0.4, 0.9), strict=True)
        ],
        [ArgRelation("R1", "T2", "T1", "supports", score=0.5)],
    )
    task = article_to_task(gold.with_annotations([]), predictions=pred, model_version="rules")
    prediction = task["predictions"][0]
    assert prediction["score"] == pytest.approx(0.5)
    assert [r.get("score") for r in prediction["result"]] == [0.2, 0.4, 0.9, 0.5]


@pytest.mark.parametrize(
    ("change", "problem"),
    [({"text": "Other text."}, "text differs"), ({"id": "b2"}, "predictions are for")],
)
def test_corpora_labelstudio_task_rejects_mismatched_predictions(change, problem):
    article = CASES["ascii"]
    other = Article(**{"id": article.id, "text": article.text, **change})
    with pytest.raises(ValueError, match=problem):
        article_to_task(article, predictions=other)


@pytest.mark.parametrize(
    ("text", "offset", "ls"),
    [("abc", 2, 2), ("a😀b", 2, 3), ("a😀b", 3, 4), ("😀😀x", 2, 4), ("é\u0301x", 2, 2)],
)
def test_corpora_labelstudio_utf16_offsets_invert(monkeypatch, text, offset, ls):
    monkeypatch.setattr(spec, "LS_OFFSET_UNIT", "utf16")
    assert to_ls_offset(text, offset) == ls
    assert from_ls_offset(text, ls) == offset


def test_corpora_labelstudio_utf16_offset_inside_a_character_is_an_error(monkeypatch):
    monkeypatch.setattr(spec, "LS_OFFSET_UNIT", "utf16")
    with pytest.raises(ValueError, match="inside the character"):
        from_ls_offset("a😀b", 2)


def test_corpora_labelstudio_export_groups_annotators_back_into_one_task():
    base = CASES["ascii"]
    export = articles_to_export([base])
    second = json.loads(json.dumps(export[0]["annotations"][0]))
    second["result"] = second["result"][:1]
    export[0]["annotations"][0]["completed_by"] = 1
    second.update(id=7, completed_by={"id": 2, "email": "ann@example.org"}, ground_truth=True)
    export[0]["annotations"].append(second)
    articles = export_to_articles(export)
    assert [a.id for a in articles] == ["a1@1", "a1@ann@example.org"]
    assert [a.meta["studio"]["completed_by"] for a in articles] == [
        1,
        {"id": 2, "email": "ann@example.org"},
    ]
    assert articles[1].meta["studio"]["ground_truth"] is True
    assert articles[1].units == base.units[:1]
    again = articles_to_export(articles)
    assert len(again) == 1
    assert [a["id"] for a in again[0]["annotations"]] == [1, 7]
    assert export_to_articles(again) == articles
