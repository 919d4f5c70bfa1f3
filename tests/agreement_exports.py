"""Hand-built Label Studio exports for the agreement tests (imported by test_agreement_*.py).

``TEXT`` is five four-letter words, so every offset is easy to check by eye::

    AAAA BBBB CCCC DDDD EEEE
    0    5    10   15   20      (each word is [k, k + 4); 20 non-whitespace characters)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

TEXT = "AAAA BBBB CCCC DDDD EEEE"
A, B, C, D, E = 0, 5, 10, 15, 20

Unit = tuple[str, str, int, int]  # region id, label, start, end
Relation = tuple[str, str, str]  # head region id, tail region id, label


def annotation(
    who: str | None,
    units: Sequence[Unit],
    relations: Sequence[Relation] = (),
    *,
    number: int,
    created: str,
    cancelled: bool = False,
    ground_truth: bool = False,
    text: str = TEXT,
) -> dict[str, Any]:
    result: list[dict[str, Any]] = [
        {
            "id": rid,
            "from_name": "label",
            "to_name": "text",
            "type": "labels",
            "value": {"start": s, "end": e, "text": text[s:e], "labels": [label]},
        }
        for rid, label, s, e in units
    ]
    result += [
        {
            "id": f"{head}-{tail}",
            "from_id": head,
            "to_id": tail,
            "type": "relation",
            "direction": "right",
            "labels": [label],
        }
        for head, tail, label in relations
    ]
    return {
        "id": number,
        "completed_by": who,
        "result": result,
        "was_cancelled": cancelled,
        "ground_truth": ground_truth,
        "lead_time": 1.0,
        "created_at": created,
        "updated_at": created,
    }


def task(task_id: int, data_id: str, annotations: Sequence[dict[str, Any]], text: str = TEXT):
    return {
        "id": task_id,
        "data": {"id": data_id, "title": data_id, "text": text, "source": "", "meta": {}},
        "annotations": list(annotations),
        "predictions": [],
    }


def write(path: Path, tasks: Sequence[dict[str, Any]]) -> Path:
    path.write_text(json.dumps(list(tasks), indent=1), encoding="utf-8")
    return path


# The two-annotator fixture (test_agreement_scores.test_agreement_two_annotators_*):
#   ann: Claim AAAA, Evidence "BBBB CCCC" [5, 14), Conclusion EEEE;
#        Evidence -> Claim supports, Claim -> Conclusion supports
#   bob: Claim AAAA, Evidence "BB CCCC" [7, 14), Claim DDDD;
#        Evidence -> Claim attacks, Claim DDDD -> Claim AAAA supports
ANN_UNITS: list[Unit] = [
    ("a1", "Claim", A, A + 4),
    ("a2", "Evidence", B, C + 4),
    ("a3", "Conclusion", E, E + 4),
]
ANN_RELATIONS: list[Relation] = [("a2", "a1", "supports"), ("a1", "a3", "supports")]
BOB_UNITS: list[Unit] = [
    ("b1", "Claim", A, A + 4),
    ("b2", "Evidence", B + 2, C + 4),
    ("b3", "Claim", D, D + 4),
]
BOB_RELATIONS: list[Relation] = [("b2", "b1", "attacks"), ("b3", "b1", "supports")]


def two_annotators() -> list[dict[str, Any]]:
    return [
        task(
            1,
            "two",
            [
                annotation(
                    "ann@x", ANN_UNITS, ANN_RELATIONS, number=1, created="2026-01-01T10:00:00Z"
                ),
                annotation(
                    "bob@x", BOB_UNITS, BOB_RELATIONS, number=2, created="2026-01-02T10:00:00Z"
                ),
            ],
        )
    ]
