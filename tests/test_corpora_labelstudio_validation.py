"""Checks on importing a Label Studio export: every problem reported, repaired or refused."""

from __future__ import annotations

import json
import logging

import pytest

from argmine.config import load_label_schema
from argmine.corpora.labelstudio import (
    ImportReport,
    export_to_articles,
    load_export,
    parse_export,
)
from argmine.errors import InputError

TEXT = "Taxes must rise. The deficit hit 5% in 2023. So act now."
SCHEMA = load_label_schema("configs/labels.yaml")


def span(region: str, start: int, end: int, label: str = "Claim", text: str | None = None):
    return {
        "id": region,
        "from_name": "label",
        "to_name": "text",
        "type": "labels",
        "value": {
            "start": start,
            "end": end,
            "text": TEXT[start:end] if text is None else text,
            "labels": [label],
        },
    }


def relation(head: str, tail: str, label: str = "supports", direction: str = "right"):
    return {
        "from_id": head,
        "to_id": tail,
        "type": "relation",
        "direction": direction,
        "labels": [label],
    }


CLAIM = span("c1", 0, 15)  # "Taxes must rise"
EVIDENCE = span("e1", 17, 43, "Evidence")  # "The deficit hit 5% in 2023"


def export(*results, annotator=3, task_id=41, **annotation):
    return [
        {
            "id": task_id,
            "data": {"id": "budget", "text": TEXT, "title": "Budget"},
            "annotations": [
                {
                    "id": 9,
                    "completed_by": annotator,
                    "result": list(results),
                    "was_cancelled": False,
                    **annotation,
                }
            ],
        }
    ]


def test_corpora_labelstudio_clean_export_has_no_issues(caplog):
    report = ImportReport()
    (article,) = export_to_articles(
        export(CLAIM, EVIDENCE, relation("e1", "c1")), schema=SCHEMA, report=report
    )
    assert [(u.id, u.start, u.end, u.label) for u in article.units] == [
        ("c1", 0, 15, "Claim"),
        ("e1", 17, 43, "Evidence"),
    ]
    assert [(r.head, r.tail, r.label) for r in article.relations] == [("e1", "c1", "supports")]
    assert report.issues == []
    assert not caplog.records
    assert (report.tasks, report.annotations, report.articles) == (1, 1, 1)
    assert article.meta["studio"]["task_id"] == 41
    assert article.meta["studio"]["completed_by"] == 3


# (results, expected units (id, start, end, label), expected relations, warning fragment)
PROBLEMS = {
    "overlap_different_labels": (
        [CLAIM, span("e2", 6, 20, "Evidence")],
        [("c1", 0, 15, "Claim"), ("e2", 6, 20, "Evidence")],
        [],
        "overlap with different labels",
    ),
    "text_shifted_repaired": (
        [span("e1", 19, 45, "Evidence", text=TEXT[17:43])],
        [("e1", 17, 43, "Evidence")],
        [],
        "repaired to [17:43]",
    ),
    "text_not_found_dropped": (
        [CLAIM, span("e1", 17, 43, "Evidence", text="no such words")],
        [("c1", 0, 15, "Claim")],
        [],
        "not found nearby; dropped",
    ),
    "offsets_beyond_text_repaired": (
        [span("c2", 48, 90, "Conclusion", text="So act now")],
        [("c2", 45, 55, "Conclusion")],
        [],
        "repaired to [45:55]",
    ),
    "relation_to_missing_region": (
        [CLAIM, EVIDENCE, relation("e1", "zz")],
        [("c1", 0, 15, "Claim"), ("e1", 17, 43, "Evidence")],
        [],
        "region zz does not exist",
    ),
    "unknown_span_label": (
        [CLAIM, span("x1", 17, 43, "Rebuttal")],
        [("c1", 0, 15, "Claim")],
        [],
        "unknown label 'Rebuttal'",
    ),
    "unknown_relation_label": (
        [CLAIM, EVIDENCE, relation("e1", "c1", "explains")],
        [("c1", 0, 15, "Claim"), ("e1", 17, 43, "Evidence")],
        [],
        "unknown label 'explains'",
    ),
    "empty_result": ([], [], [], "empty result"),
    "relation_without_label": (
        [CLAIM, EVIDENCE, {**relation("e1", "c1"), "labels": []}],
        [("c1", 0, 15, "Claim"), ("e1", 17, 43, "Evidence")],
        [],
        "no relation label",
    ),
    "duplicate_span_merged": (
        [CLAIM, span("c9", 0, 15), EVIDENCE, relation("e1", "c9")],
        [("c1", 0, 15, "Claim"), ("e1", 17, 43, "Evidence")],
        [("e1", "c1", "supports")],
        "duplicate of span c1",
    ),
    "left_relation_reversed": (
        [CLAIM, EVIDENCE, relation("c1", "e1", direction="left")],
        [("c1", 0, 15, "Claim"), ("e1", 17, 43, "Evidence")],
        [("e1", "c1", "supports")],
        None,
    ),
}


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_corpora_labelstudio_problem_is_reported_with_task_and_annotator(name, caplog):
    results, units, relations, fragment = PROBLEMS[name]
    report = ImportReport()
    with caplog.at_level(logging.WARNING, logger="argmine.corpora.labelstudio.decode"):
        (article,) = export_to_articles(
            export(*results, annotator={"id": 5, "email": "ann@example.org"}),
            schema=SCHEMA,
            report=report,
        )
    assert [(u.id, u.start, u.end, u.label) for u in article.units] == units
    assert [(r.head, r.tail, r.label) for r in article.relations] == relations
    assert article.problems(SCHEMA) == []
    if fragment is None:
        assert report.issues == []
        return
    assert len(report.issues) == 1, report.issues
    message = str(report.issues[0])
    assert fragment in message
    assert message.startswith("task 41 (budget) (annotator ann@example.org): ")
    assert [r.getMessage() for r in caplog.records] == [message]
    assert f"warning: {message}" in report.lines()


@pytest.mark.parametrize("name", sorted(n for n, p in PROBLEMS.items() if p[3]))
def test_corpora_labelstudio_strict_refuses_problems(name):
    results, _, _, fragment = PROBLEMS[name]
    with pytest.raises(ValueError, match="1 problem in the export: task 41") as info:
        export_to_articles(export(*results), schema=SCHEMA, strict=True)
    assert fragment in str(info.value)


def test_corpora_labelstudio_cancelled_drafts_and_unannotated_are_counted(caplog):
    tasks = export(CLAIM)
    tasks[0]["annotations"].append(
        {"id": 10, "completed_by": 4, "result": [EVIDENCE], "was_cancelled": True}
    )
    tasks.append(
        {
            "id": 42,
            "data": {"id": "other", "text": "Plain."},
            "annotations": [],
            "drafts": [{"id": 1, "user": "drafter@example.org", "result": []}],
        }
    )
    report = ImportReport()
    articles = export_to_articles(tasks, schema=SCHEMA, report=report)
    assert [a.id for a in articles] == ["budget"]
    assert report.cancelled == 1
    assert report.unannotated == ["42 (other)"]
    assert report.drafts == ["task 42 (other) (annotator drafter@example.org)"]
    lines = report.lines()
    assert "1 cancelled annotations skipped" in lines[0]
    assert any("unsubmitted drafts" in line for line in lines)


def test_corpora_labelstudio_parse_export_keeps_every_annotation_with_its_metadata():
    tasks = export(CLAIM, ground_truth=True, created_at="2026-01-01T10:00:00Z")
    tasks[0]["annotations"] += [
        {
            "id": 10,
            "completed_by": {"email": "b@example.org"},
            "result": [EVIDENCE],
            "updated_at": "2026-01-02T10:00:00Z",
        },
        {"id": 11, "completed_by": 4, "result": [CLAIM], "was_cancelled": True},
    ]
    (task,) = parse_export(tasks, schema=SCHEMA, annotators={3: "a@example.org"})
    assert (task.task_id, task.data_id, task.text) == (41, "budget", TEXT)
    got = [
        (a.annotation_id, a.annotator, a.ground_truth, a.was_cancelled, a.created_at, a.updated_at)
        for a in task.annotations
    ]
    assert got == [
        (9, "a@example.org", True, False, "2026-01-01T10:00:00Z", None),
        (10, "b@example.org", False, False, None, "2026-01-02T10:00:00Z"),
        (11, "4", False, True, None, None),
    ]
    assert [[u.label for u in a.units] for a in task.submitted] == [["Claim"], ["Evidence"]]
    assert task.to_article(task.annotations[1]).meta["studio"]["annotation_id"] == 10


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "not valid JSON"),
        ('{"tasks": []}', "must be a list of tasks"),
        ("[1]", "task #1 is not an object"),
        ('[{"id": 3, "data": {"title": "x"}}]', "task 3: data has no 'text'"),
    ],
)
def test_corpora_labelstudio_load_export_bad_file_is_input_error(tmp_path, content, problem):
    path = tmp_path / "export.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=problem) as info:
        load_export(path)
    assert str(info.value).startswith(str(path))


def test_corpora_labelstudio_load_export_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_export(tmp_path / "nope.json")


def test_corpora_labelstudio_load_export_strict_is_input_error(tmp_path):
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export(span("x1", 0, 15, "Rebuttal"))), encoding="utf-8")
    assert load_export(path)[0].units[0].label == "Rebuttal"  # no schema: any label
    with pytest.raises(InputError, match="unknown label 'Rebuttal'"):
        load_export(path, schema=SCHEMA, strict=True)


@pytest.mark.parametrize(("ls_start", "ls_end"), [(6, 12), (2, 8), (9, 15)])
def test_corpora_labelstudio_repair_finds_ui_saved_line_breaks(ls_start, ls_end, caplog):
    """The UI saves a CR or LF in region text as backslash + n; repair still finds the span."""
    text = "Hi. It is.\r\nSo it goes.\nEnd."
    result = {
        "id": "c1",
        "type": "labels",
        "from_name": "label",
        "to_name": "text",
        "value": {"start": ls_start, "end": ls_end, "text": "is.\\n\\nSo", "labels": ["Claim"]},
    }
    task = {"id": 1, "data": {"id": "t", "text": text}, "annotations": [{"result": [result]}]}
    report = ImportReport()
    (article,) = export_to_articles([task], schema=SCHEMA, report=report)
    assert [(u.start, u.end) for u in article.units] == [(7, 14)]
    assert article.unit_text(article.units[0]) == "is.\r\nSo"
    assert len(report.issues) == 1 and "repaired to [7:14]" in str(report.issues[0])


def test_corpora_labelstudio_annotators_name_the_user():
    report = ImportReport()
    (article,) = export_to_articles(
        export(CLAIM, span("x1", 17, 43, "Rebuttal")),
        schema=SCHEMA,
        report=report,
        annotators={3: "ann3@example.org"},
    )
    assert article.meta["studio"]["completed_by"] == 3
    assert article.meta["studio"]["annotator"] == "ann3@example.org"
    assert str(report.issues[0]).startswith("task 41 (budget) (annotator ann3@example.org): ")


def _ann(ann_id, *, gt=False, created=None, updated=None, cancelled=False, result=(CLAIM,)):
    return {
        "id": ann_id,
        "completed_by": ann_id,
        "result": list(result),
        "was_cancelled": cancelled,
        "ground_truth": gt,
        "created_at": created,
        "updated_at": updated,
    }


SELECTION = {
    "ground_truth_beats_a_later_edit": (
        [_ann(1, gt=True, updated="2026-01-01T00:00:00Z"), _ann(2, updated="2026-03-01T00:00:00Z")],
        1,
    ),
    "latest_updated_at": (
        [_ann(1, updated="2026-03-01T00:00:00Z"), _ann(2, updated="2026-01-01T00:00:00+00:00")],
        1,
    ),
    "updated_at_with_offset_is_compared_as_a_time": (
        [_ann(1, updated="2026-01-01T10:00:00+02:00"), _ann(2, updated="2026-01-01T09:00:00Z")],
        2,
    ),
    "then_created_at": (
        [_ann(1, created="2026-02-01T00:00:00Z"), _ann(2, created="2026-01-01T00:00:00Z")],
        1,
    ),
    "then_highest_annotation_id": ([_ann(3), _ann(7), _ann(5)], 7),
    "cancelled_never_even_if_ground_truth": (
        [_ann(1), _ann(2, gt=True, cancelled=True, updated="2027-01-01T00:00:00Z")],
        1,
    ),
    "only_cancelled_gives_none": ([_ann(1, cancelled=True)], None),
}


@pytest.mark.parametrize("name", list(SELECTION))
def test_corpora_labelstudio_select_annotation_order(name):
    from argmine.corpora.labelstudio import select_annotation

    annotations, expected = SELECTION[name]
    tasks = [{"id": 41, "data": {"id": "budget", "text": TEXT}, "annotations": annotations}]
    (task,) = parse_export(tasks)
    chosen = select_annotation(task)
    assert (chosen.annotation_id if chosen else None) == expected
    articles = export_to_articles(tasks, one_per_task=True)
    assert [a.meta["studio"]["annotation_id"] for a in articles] == (
        [expected] if expected is not None else []
    )
    assert all(a.id == "budget" for a in articles)
    # the training path (corpora.choose_annotations) orders the same way
    from argmine.corpora import choose_annotations

    trained = choose_annotations(export_to_articles(tasks), None, source="x")
    assert [a.meta["studio"]["annotation_id"] for a in trained] == (
        [expected] if expected is not None else []
    )


def test_corpora_labelstudio_repeated_data_ids_get_distinct_article_ids():
    tasks = [
        {"id": i, "data": {"id": "a", "text": TEXT}, "annotations": [_ann(i)]} for i in (1, 2, 3)
    ]
    assert [a.id for a in export_to_articles(tasks)] == ["a", "a~1", "a~2"]


def test_corpora_labelstudio_corpus_format_gives_one_article_per_task(tmp_path):
    from argmine.corpora import load_corpus

    tasks = [
        {
            "id": 1,
            "data": {"id": "budget", "text": TEXT},
            "annotations": [_ann(1, updated="2026-01-02T00:00:00Z"), _ann(2, result=[EVIDENCE])],
        }
    ]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks), encoding="utf-8")
    (article,) = load_corpus("labelstudio", path)
    assert article.id == "budget" and article.meta["studio"]["annotation_id"] == 1


def test_corpora_labelstudio_long_span_text_is_shortened_in_the_warning():
    """A span whose stored text is a whole article (a bad export) is named by its start and
    length, so the warning stays one readable line."""
    long_text = "An argument that goes on and on. " * 30
    report = ImportReport()
    (article,) = export_to_articles(
        export(CLAIM, span("e1", 17, 43, "Evidence", text=long_text)),
        schema=SCHEMA,
        report=report,
    )
    (issue,) = report.issues
    assert "not found nearby; dropped" in str(issue)
    assert f"({len(long_text):,} characters)" in str(issue)
    assert len(str(issue)) < 250, str(issue)
    assert [u.id for u in article.units] == ["c1"]
