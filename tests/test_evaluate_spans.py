"""Span metrics: exact and >= 0.5 overlap matching, per-class F1, confusion, relations."""

from __future__ import annotations

import pytest

from argmine.document import ArgRelation, ArgUnit, Article
from argmine.evaluate import (
    format_confusion,
    format_table,
    overlap_match,
    relation_scores,
    span_scores,
)

LABELS = ["Claim", "Evidence", "Conclusion"]
TEXT = "x" * 200


def art(*units: tuple[int, int, str], rels=(), article_id="a") -> Article:
    return Article(
        id=article_id,
        text=TEXT,
        units=[ArgUnit(f"T{i}", s, e, label) for i, (s, e, label) in enumerate(units, 1)],
        relations=[ArgRelation(f"R{i}", h, t, lab) for i, (h, t, lab) in enumerate(rels, 1)],
    )


@pytest.mark.parametrize(
    ("gold", "pred", "expected"),
    [
        ((0, 10), (0, 10), True),
        ((0, 10), (0, 5), True),  # exactly half of gold, all of pred
        ((0, 10), (0, 4), False),  # under half of gold
        ((0, 10), (5, 20), False),  # half of gold but a third of pred
        ((0, 10), (10, 20), False),  # touching only
        ((0, 10), (2, 12), True),
    ],
)
def test_evaluate_overlap_match_is_half_both_ways(gold, pred, expected):
    assert overlap_match(ArgUnit("g", *gold, "Claim"), ArgUnit("p", *pred, "Claim")) is expected


def test_evaluate_perfect_prediction_scores_one():
    gold = [art((0, 10, "Claim"), (20, 40, "Evidence"), (50, 60, "Conclusion"))]
    scores = span_scores(gold, gold, labels=LABELS)
    for crit in ("exact", "overlap"):
        assert scores[crit]["micro"]["f1"] == 1.0
        assert scores[crit]["macro"]["f1"] == 1.0


def test_evaluate_per_class_f1_formula_and_macro():
    gold = [art((0, 10, "Claim"), (20, 40, "Claim"), (50, 60, "Evidence"))]
    pred = [art((0, 10, "Claim"), (21, 40, "Claim"), (70, 80, "Evidence"))]
    scores = span_scores(gold, pred, labels=LABELS)
    claim = scores["exact"]["per_label"]["Claim"]
    assert (claim["tp"], claim["fp"], claim["fn"]) == (1, 1, 1)
    assert claim["f1"] == pytest.approx(1 / (1 + 0.5 * 2))
    assert scores["overlap"]["per_label"]["Claim"]["f1"] == 1.0
    evidence = scores["overlap"]["per_label"]["Evidence"]
    assert (evidence["tp"], evidence["fp"], evidence["fn"]) == (0, 1, 1)
    # macro over the labels that occur: Conclusion is in neither gold nor predictions
    macro = scores["overlap"]["macro"]["f1"]
    assert macro == pytest.approx((1.0 + 0.0) / 2)
    # a label only predicted is a zero in the mean
    more = [art((0, 10, "Claim"), (21, 40, "Claim"), (70, 80, "Evidence"), (82, 90, "Conclusion"))]
    again = span_scores(gold, more, labels=LABELS)["overlap"]["macro"]["f1"]
    assert again == pytest.approx((1.0 + 0.0 + 0.0) / 3)


def test_evaluate_matching_is_one_to_one():
    gold = [art((0, 10, "Claim"))]
    pred = [art((0, 10, "Claim"), (0, 9, "Claim"))]
    row = span_scores(gold, pred, labels=LABELS)["overlap"]["per_label"]["Claim"]
    assert (row["tp"], row["fp"], row["fn"]) == (1, 1, 0)


def test_evaluate_wrong_label_is_fp_and_fn_and_in_confusion():
    gold = [art((0, 10, "Claim"))]
    pred = [art((0, 10, "Evidence"))]
    scores = span_scores(gold, pred, labels=LABELS)
    assert scores["exact"]["micro"]["tp"] == 0
    conf = scores["overlap"]["confusion"]
    gi, pi = conf["labels"].index("Claim"), conf["labels"].index("Evidence")
    assert conf["matrix"][gi][pi] == 1


def test_evaluate_articles_paired_by_id_and_missing_prediction_counts_as_missed():
    gold = [art((0, 10, "Claim"), article_id="a"), art((0, 10, "Claim"), article_id="b")]
    pred = [art((0, 10, "Claim"), article_id="b")]
    row = span_scores(gold, pred, labels=LABELS)["exact"]["micro"]
    assert (row["tp"], row["fp"], row["fn"]) == (1, 0, 1)


def test_evaluate_relation_scores_follow_unit_matching():
    gold = [art((0, 10, "Evidence"), (20, 30, "Claim"), rels=[("T1", "T2", "supports")])]
    good = [art((0, 9, "Evidence"), (20, 30, "Claim"), rels=[("T1", "T2", "supports")])]
    wrong = [art((0, 9, "Evidence"), (20, 30, "Claim"), rels=[("T1", "T2", "attacks")])]
    labels = ["supports", "attacks"]
    assert relation_scores(gold, good, labels=labels)["micro"]["f1"] == 1.0
    assert relation_scores(gold, wrong, labels=labels)["micro"]["f1"] == 0.0


def test_evaluate_tables_render():
    from rich.console import Console

    gold = [art((0, 10, "Claim"))]
    scores = span_scores(gold, gold, labels=LABELS)
    console = Console(record=True, width=140)
    console.print(format_table(scores))
    console.print(format_confusion(scores))
    text = console.export_text()
    assert "Claim" in text and "micro" in text and "gold \\ pred" in text
