"""Agreement and adjudication on hand-built exports; every expected number is worked out by
hand in the test's docstring (see tests/agreement_exports.py for the text and offsets)."""

from __future__ import annotations

import pytest

from agreement_exports import (
    ANN_RELATIONS,
    ANN_UNITS,
    BOB_RELATIONS,
    BOB_UNITS,
    TEXT,
    annotation,
    task,
    two_annotators,
    write,
)
from argmine.agreement import (
    adjudicate,
    adjudicate_tasks,
    agreement,
    differences,
    gold_export,
    load_tasks,
    review_tasks,
)
from argmine.corpora.labelstudio import export_to_articles

LABELS = ("Claim", "Evidence", "Conclusion")
RELATIONS = ("supports", "attacks")
T1, T2 = "2026-01-01T10:00:00Z", "2026-01-02T10:00:00Z"


def _report(tmp_path, tasks):
    loaded, stats = load_tasks([write(tmp_path / "export.json", tasks)])
    return loaded, agreement(loaded, labels=LABELS, relation_labels=RELATIONS, stats=stats)


def test_agreement_two_annotators_span_f1(tmp_path) -> None:
    """ann: Claim [0,4), Evidence [5,14), Conclusion [20,24); bob: Claim [0,4), Evidence
    [7,14), Claim [15,19).

    Exact: only Claim [0,4) matches: tp 1, fp 2, fn 2 -> F1 = 1 / (1 + 0.5 * 4) = 1/3.
    Per label: Claim tp 1, fp 1 (bob's [15,19)) -> 1 / 1.5 = 2/3; Evidence tp 0 -> 0;
    Conclusion tp 0 -> 0.
    Overlap: the Evidence pair overlaps by 7 characters, >= half of 9 and of 7, so it
    matches too: tp 2, fp 1, fn 1 -> F1 = 2 / 3; per label Claim 2/3, Evidence 1, Conclusion 0.
    """
    _, report = _report(tmp_path, two_annotators())
    (pair,) = report["pairs"]
    assert pair["annotators"] == ["ann@x", "bob@x"]
    exact, overlap = pair["spans"]["exact"], pair["spans"]["overlap"]
    assert exact["micro"]["f1"] == pytest.approx(1 / 3)
    assert overlap["micro"]["f1"] == pytest.approx(2 / 3)
    assert [exact["per_label"][k]["f1"] for k in LABELS] == pytest.approx([2 / 3, 0, 0])
    assert [overlap["per_label"][k]["f1"] for k in LABELS] == pytest.approx([2 / 3, 1, 0])
    assert pair["units"] == [3, 3]
    # Confusion by overlap regardless of label: the two agreed units on the diagonal; ann's
    # Conclusion has no partner in bob's version, bob's Claim DDDD none in ann's.
    assert pair["swaps"] == [
        {"a": "Conclusion", "b": "O", "count": 1},
        {"a": "O", "b": "Claim", "count": 1},
    ]


def test_agreement_two_annotators_alpha(tmp_path) -> None:
    """Characters (20 non-whitespace), values O=0 Claim=1 Evidence=2 Conclusion=3:

        AAAA  ann 1111  bob 1111   agree x4
        BBBB  ann 2222  bob 0022   disagree x2 (2,0)
        CCCC  ann 2222  bob 2222   agree x4
        DDDD  ann 0000  bob 1111   disagree x4 (0,1)
        EEEE  ann 3333  bob 0000   disagree x4 (3,0)

    n = 40 values; n_0 = 10, n_1 = 12, n_2 = 14, n_3 = 4. Ten disagreeing units give
    sum_{c != k} o_ck = 20, so D_o = 20 / 40 = 1/2. sum_{c != k} n_c n_k = 40^2 - (100 + 144 +
    196 + 16) = 1144, D_e = 1144 / (40 * 39). alpha = 1 - D_o / D_e = 1 - 780 / 1144 = 7/22.
    """
    _, report = _report(tmp_path, two_annotators())
    assert report["pairs"][0]["alpha"] == pytest.approx(7 / 22)
    assert report["alpha"] == pytest.approx(7 / 22)  # two annotators: joint = pair
    assert report["articles"][0]["pairs"][0]["alpha"] == pytest.approx(7 / 22)


def test_agreement_relation_disagreement(tmp_path) -> None:
    """ann: Evidence -supports-> Claim, Claim AAAA -supports-> Conclusion; bob: Evidence
    -attacks-> Claim, Claim DDDD -supports-> Claim AAAA.

    With label: no relation agrees (the Evidence -> Claim arrow has another label): tp 0 ->
    F1 0. Label ignored: Evidence -> Claim agrees (tp 1); bob's DDDD -> AAAA has no
    counterpart (fp 1, DDDD matches no unit of ann); ann's AAAA -> EEEE is missed (fn 1):
    F1 = 1 / (1 + 0.5 * 2) = 1/2.
    """
    _, report = _report(tmp_path, two_annotators())
    relations = report["pairs"][0]["relations"]
    assert relations["labelled"]["micro"]["f1"] == 0.0
    assert relations["labelled"]["per_label"]["attacks"]["fp"] == 1
    assert relations["unlabelled"]["f1"] == pytest.approx(0.5)
    assert relations["relations"] == [2, 2]


def test_agreement_label_swap(tmp_path) -> None:
    """ann: Claim AAAA; bob: Evidence AAAA. Spans: no match at all (F1 0 exact and overlap);
    confusion (pairs by overlap regardless of label): Claim (ann) x Evidence (bob) = 1.

    Alpha: AAAA (1, 2) x4, the other 16 characters (0, 0). n = 40; n_0 = 32, n_1 = 4, n_2 = 4.
    sum o_ck (c != k) = 8, D_o = 8 / 40 = 1/5; sum n_c n_k (c != k) = 1600 - (1024 + 16 + 16)
    = 544, D_e = 544 / 1560; alpha = 1 - (1/5) (1560 / 544) = 1 - 312 / 544 = 29/68.
    """
    export = [
        task(
            1,
            "swap",
            [
                annotation("ann@x", [("a", "Claim", 0, 4)], number=1, created=T1),
                annotation("bob@x", [("b", "Evidence", 0, 4)], number=2, created=T2),
            ],
        )
    ]
    tasks, report = _report(tmp_path, export)
    (pair,) = report["pairs"]
    assert pair["spans"]["exact"]["micro"]["f1"] == 0.0
    assert pair["spans"]["overlap"]["micro"]["f1"] == 0.0
    assert pair["confusion"]["cells"]["Claim"] == {"Evidence": 1}
    assert pair["swaps"] == [{"a": "Claim", "b": "Evidence", "count": 1}]
    assert report["articles"][0]["pairs"][0]["swaps"] == pair["swaps"]
    assert pair["alpha"] == pytest.approx(29 / 68)
    ann, bob = tasks[0].versions.values()
    assert differences(ann, bob) == {"a": "label"}


def test_agreement_one_annotator_and_cancelled_left_out(tmp_path) -> None:
    """Task "solo" has one annotator; in task "cancel" bob cancelled: both are counted as
    single-annotator tasks and left out, so the pair's figures are those of task "two" alone
    (exact F1 1/3 as above); the cancelled annotation is counted."""
    export = [
        *two_annotators(),
        task(2, "solo", [annotation("ann@x", [("a", "Claim", 0, 4)], number=3, created=T1)]),
        task(
            3,
            "cancel",
            [
                annotation("ann@x", [("a", "Claim", 0, 4)], number=4, created=T1),
                annotation(
                    "bob@x", [("b", "Evidence", 5, 9)], number=5, created=T2, cancelled=True
                ),
            ],
        ),
    ]
    _, report = _report(tmp_path, export)
    assert report["tasks"] == {"total": 3, "compared": 1, "single_annotator": ["solo", "cancel"]}
    assert report["load"]["cancelled"] == 1
    assert [a["id"] for a in report["articles"]] == ["two"]
    assert report["pairs"][0]["tasks"] == 1
    assert report["pairs"][0]["spans"]["exact"]["micro"]["f1"] == pytest.approx(1 / 3)


def test_agreement_one_file_per_annotator(tmp_path) -> None:
    """The same task in two files (one annotation each) is one task with two versions; an
    annotation without an annotator is named after its file."""
    ann, bob = two_annotators()[0]["annotations"]
    ann["completed_by"] = None
    first = write(tmp_path / "first.json", [task(1, "two", [ann])])
    second = write(tmp_path / "second.json", [task(7, "two", [bob])])
    tasks, _ = load_tasks([first, second])
    assert [t.id for t in tasks] == ["two"]
    assert list(tasks[0].versions) == ["first.json", "bob@x"]


def test_agreement_three_annotators_joint_alpha(tmp_path) -> None:
    """Task 1 "AAAA BBBB": x and y Claim AAAA; z Claim AAAA and Evidence BBBB. Task 2
    "CCCC DDDD" (z did not annotate it: missing values): x Claim CCCC; y Claim CCCC and
    Claim DDDD.

    Task 1 units have 3 values (weight 1/(3-1) per ordered pair): AAAA (1,1,1) gives o_11 3
    each (12); BBBB (0,0,2) gives o_00 1, o_02 1, o_20 1 each (x4). Task 2 units have 2:
    CCCC (1,1) gives o_11 2 each (8); DDDD (0,1) gives o_01 1, o_10 1 each (x4).
    n = 24 + 16 = 40; n_0 = 12, n_1 = 24, n_2 = 4. sum o_ck (c != k) = 16, D_o = 16/40;
    sum n_c n_k (c != k) = 1600 - (144 + 576 + 16) = 864, D_e = 864 / 1560;
    alpha = 1 - 0.4 * 1560 / 864 = 1 - 624 / 864 = 5/18. Three pairs are reported.
    """
    text1, text2 = "AAAA BBBB", "CCCC DDDD"
    export = [
        task(
            1,
            "t1",
            [
                annotation("x", [("1", "Claim", 0, 4)], number=1, created=T1, text=text1),
                annotation("y", [("1", "Claim", 0, 4)], number=2, created=T1, text=text1),
                annotation(
                    "z",
                    [("1", "Claim", 0, 4), ("2", "Evidence", 5, 9)],
                    number=3,
                    created=T1,
                    text=text1,
                ),
            ],
            text=text1,
        ),
        task(
            2,
            "t2",
            [
                annotation("x", [("1", "Claim", 0, 4)], number=4, created=T1, text=text2),
                annotation(
                    "y",
                    [("1", "Claim", 0, 4), ("2", "Claim", 5, 9)],
                    number=5,
                    created=T1,
                    text=text2,
                ),
            ],
            text=text2,
        ),
    ]
    _, report = _report(tmp_path, export)
    assert report["alpha"] == pytest.approx(5 / 18)
    assert sorted(tuple(p["annotators"]) for p in report["pairs"]) == [
        ("x", "y"),
        ("x", "z"),
        ("y", "z"),
    ]


# --- adjudication --------------------------------------------------------------------------
def _three_annotators():
    """x (earliest): Claim [0,4), Evidence [5,9), Evidence -> Claim supports.
    y: Claim [0,4), Evidence [5,9), Conclusion [20,24); Evidence -> Claim, Claim -> Conclusion.
    z: Claim [0,3), Claim [5,9) (a label swap), Conclusion [20,24); Claim [0,3) ->
    Conclusion, Claim [5,9) -> Conclusion (all supports)."""
    return [
        task(
            1,
            "three",
            [
                annotation(
                    "x",
                    [("x1", "Claim", 0, 4), ("x2", "Evidence", 5, 9)],
                    [("x2", "x1", "supports")],
                    number=1,
                    created="2026-01-01T00:00:00Z",
                ),
                annotation(
                    "y",
                    [("y1", "Claim", 0, 4), ("y2", "Evidence", 5, 9), ("y3", "Conclusion", 20, 24)],
                    [("y2", "y1", "supports"), ("y1", "y3", "supports")],
                    number=2,
                    created="2026-01-02T00:00:00Z",
                ),
                annotation(
                    "z",
                    [("z1", "Claim", 0, 3), ("z2", "Claim", 5, 9), ("z3", "Conclusion", 20, 24)],
                    [("z1", "z3", "supports"), ("z2", "z3", "supports")],
                    number=3,
                    created="2026-01-03T00:00:00Z",
                ),
            ],
        )
    ]


def _shape(article):
    """Units as (label, start, end) and relations as (head span, tail span, label)."""
    by_id = {u.id: u for u in article.units}
    units = sorted((u.label, u.start, u.end) for u in article.units)
    relations = sorted(
        (by_id[r.head].start, by_id[r.tail].start, r.label) for r in article.relations
    )
    return units, relations


def test_adjudicate_three_annotators_majority(tmp_path) -> None:
    """Majority = at least 2 of 3. Claim {x [0,4), y [0,4), z [0,3)}: kept, boundary [0,4)
    (2 votes of 3). Evidence [5,9) {x, y}: kept; z's Claim [5,9) (support 1) is not.
    Conclusion [20,24) {y, z}: kept. Evidence -> Claim {x, y} and Claim -> Conclusion {y, z}
    are kept; z's Claim [5,9) -> Conclusion (support 1) is not."""
    tasks, _ = load_tasks([write(tmp_path / "e.json", _three_annotators())])
    result = adjudicate(tasks[0], policy="majority")
    assert _shape(result.gold) == (
        [("Claim", 0, 4), ("Conclusion", 20, 24), ("Evidence", 5, 9)],
        [(0, 20, "supports"), (5, 0, "supports")],
    )
    assert result.has_conflicts
    # union: z's Claim [5,9) overlaps the better-supported Evidence [5,9), so it stays out.
    assert _shape(adjudicate(tasks[0], policy="union").gold) == _shape(result.gold)


def test_adjudicate_three_annotators_authority(tmp_path) -> None:
    """annotator=z: z's Claim [5,9) goes first and pushes out the majority's Evidence [5,9)
    (and with it Evidence -> Claim); the Claim keeps the majority boundary [0,4); z's two
    relations are kept."""
    tasks, _ = load_tasks([write(tmp_path / "e.json", _three_annotators())])
    gold = adjudicate(tasks[0], policy="annotator=z").gold
    assert _shape(gold) == (
        [("Claim", 0, 4), ("Claim", 5, 9), ("Conclusion", 20, 24)],
        [(0, 20, "supports"), (5, 20, "supports")],
    )


@pytest.mark.parametrize(
    ("policy", "units", "relations"),
    [
        # Both agree on Claim AAAA and (by overlap) on the Evidence; the Evidence boundary is
        # a 1-1 tie, so the earliest annotator's [5,14) wins. No relation has both.
        ("majority", [("Claim", 0, 4), ("Evidence", 5, 14)], []),
        # Everything anyone drew; Evidence -> Claim is supports (ann, earlier) vs attacks
        # (bob): a tie, the earliest annotator's label wins.
        (
            "union",
            [("Claim", 0, 4), ("Claim", 15, 19), ("Conclusion", 20, 24), ("Evidence", 5, 14)],
            [(0, 20, "supports"), (5, 0, "supports"), (15, 0, "supports")],
        ),
        # bob's version, with bob's boundary for the tied Evidence.
        (
            "annotator=bob@x",
            [("Claim", 0, 4), ("Claim", 15, 19), ("Evidence", 7, 14)],
            [(7, 0, "attacks"), (15, 0, "supports")],
        ),
    ],
)
def test_adjudicate_two_annotators_policies(tmp_path, policy, units, relations) -> None:
    tasks, _ = load_tasks([write(tmp_path / "e.json", two_annotators())])
    result = adjudicate(tasks[0], policy=policy)
    assert _shape(result.gold) == (units, relations)
    # Conclusion, Claim DDDD and all four relation keys lack one annotator.
    assert len(result.conflicts) == 6


def test_adjudicate_unknown_policy() -> None:
    with pytest.raises(ValueError, match="unknown adjudication policy 'vote'"):
        adjudicate_tasks([], policy="vote")


def test_adjudicate_gold_export_is_ground_truth(tmp_path) -> None:
    """The gold export has one annotation per task, marked ground truth, that reads back as
    the gold article; a one-annotator task passes through unchanged."""
    export = [
        *two_annotators(),
        task(2, "solo", [annotation("ann@x", ANN_UNITS, ANN_RELATIONS, number=3, created=T1)]),
    ]
    tasks, _ = load_tasks([write(tmp_path / "e.json", export)])
    results = adjudicate_tasks(tasks, policy="union")
    gold = gold_export(results)
    assert [t["id"] for t in gold] == [1, 2]
    assert [len(t["annotations"]) for t in gold] == [1, 1]
    assert all(t["annotations"][0]["ground_truth"] for t in gold)
    back = export_to_articles(gold, strict=True)
    assert [_shape(a) for a in back] == [_shape(r.gold) for r in results]
    assert _shape(back[1]) == (
        sorted((label, s, e) for _, label, s, e in ANN_UNITS),
        [(0, 20, "supports"), (5, 0, "supports")],
    )
    assert back[0].text == TEXT


def test_adjudicate_review_tasks_carry_every_version(tmp_path) -> None:
    """A review task: no annotation, the policy's merge plus one prediction per annotator."""
    tasks, _ = load_tasks([write(tmp_path / "e.json", two_annotators())])
    (review,) = review_tasks(adjudicate_tasks(tasks, policy="majority"))
    assert "annotations" not in review
    assert [p["model_version"] for p in review["predictions"]] == [
        "adjudicated majority",
        "annotator ann@x",
        "annotator bob@x",
    ]
    regions = [
        sorted(r["value"]["start"] for r in p["result"] if r["type"] == "labels")
        for p in review["predictions"]
    ]
    assert regions == [[0, 5], [s for _, _, s, _ in ANN_UNITS], [s for _, _, s, _ in BOB_UNITS]]
    assert review["data"]["meta"]["adjudication"]["review"] is True
    assert len(BOB_RELATIONS) == sum(
        r["type"] == "relation" for r in review["predictions"][2]["result"]
    )


def test_agreement_duplicate_version_keeps_the_one_training_picks(tmp_path) -> None:
    """bob's task "two" twice (the same file given twice, then a newer edit): one version is
    kept, the most recent (times compared as times: 11:00+02:00 is before 10:00Z), and the
    duplicates are recorded; annotators are ordered by when they started, not by file."""
    ann, bob = two_annotators()[0]["annotations"]
    newer = {**bob, "id": 9, "updated_at": "2026-01-03T10:00:00Z"}
    newer["result"] = [r for r in bob["result"] if r["id"] == "b1"]
    older = {**bob, "id": 8, "updated_at": "2026-01-03T11:00:00+02:00"}
    first = write(tmp_path / "bob-new.json", [task(1, "two", [newer])])
    second = write(tmp_path / "bob-old.json", [task(1, "two", [older])])
    third = write(tmp_path / "ann.json", [task(1, "two", [ann])])
    tasks, stats = load_tasks([first, second, third])
    (only,) = tasks
    assert list(only.versions) == ["ann@x", "bob@x"]  # ann created first
    assert [u.id for u in only.versions["bob@x"].units] == ["b1"]
    assert stats.duplicates == ["two (bob@x)"]
