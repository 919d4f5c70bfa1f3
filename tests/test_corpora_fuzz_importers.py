"""Fuzzed importers: broken Label Studio exports, brat files, Webis units JSONL and argmine JSONL
(wrong types, missing keys, offsets past the end, bad UTF-8) end in an ArgmineError or a clean
load, never in another exception."""

from __future__ import annotations

import contextlib
import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from argmine.corpora import load_corpus
from argmine.errors import ArgmineError
from argmine.readers import check_files, read_articles

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))

TEXT = "Taxes must rise. The deficit hit 5% in 2023."
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 80),
    st.floats(allow_nan=True),
    st.text(max_size=8),
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


def _mutate(draw, value):
    """``value`` with one key dropped, replaced by a random JSON value, or kept."""
    if isinstance(value, dict) and value:
        key = draw(st.sampled_from(sorted(value)))
        action = draw(st.sampled_from(["drop", "replace", "recurse", "keep"]))
        out = dict(value)
        if action == "drop":
            del out[key]
        elif action == "replace":
            out[key] = draw(json_values)
        elif action == "recurse":
            out[key] = _mutate(draw, out[key])
        return out
    if isinstance(value, list) and value:
        i = draw(st.integers(0, len(value) - 1))
        out = list(value)
        out[i] = _mutate(draw, out[i]) if draw(st.booleans()) else draw(json_values)
        return out
    return draw(json_values) if draw(st.booleans()) else value


def _span(start, end):
    return {
        "id": "c1",
        "type": "labels",
        "from_name": "label",
        "to_name": "text",
        "value": {"start": start, "end": end, "text": TEXT[0:15], "labels": ["Claim"]},
    }


@st.composite
def exports(draw):
    start = draw(st.integers(-3, 60))
    end = draw(st.integers(-3, 60))
    task = {
        "id": 1,
        "data": {"id": "doc", "text": TEXT, "title": "T", "meta": {"source": "x"}},
        "annotations": [
            {
                "id": 5,
                "completed_by": 1,
                "result": [
                    _span(start, end),
                    {"type": "relation", "from_id": "c1", "to_id": "c2", "labels": ["supports"]},
                ],
                "was_cancelled": False,
                "ground_truth": False,
                "updated_at": "2026-01-01T00:00:00Z",
            }
        ],
        "drafts": [{"user": "a@x", "result": []}],
        "predictions": [],
    }
    export = [_mutate(draw, task) for _ in range(draw(st.integers(1, 2)))]
    return json.dumps(export).encode("utf-8")


@st.composite
def argmine_lines(draw):
    article = {
        "id": "a",
        "text": TEXT,
        "title": "T",
        "meta": {"k": 1},
        "units": [{"id": "T1", "start": 0, "end": draw(st.integers(-2, 60)), "label": "Claim"}],
        "relations": [{"id": "R1", "head": "T1", "tail": "T1", "label": "supports"}],
    }
    return (json.dumps(_mutate(draw, article)) + "\n").encode("utf-8")


@st.composite
def webis_lines(draw):
    record = {
        "id": "w1",
        "text": TEXT,
        "title": "T",
        "split": "train",
        "portal": "p",
        "url": "u",
        "authors": "a",
        "lastUpdate": "d",
        "units": [{"start": 0, "end": draw(st.integers(-2, 60)), "label": "assumption"}],
    }
    return (json.dumps(_mutate(draw, record)) + "\n").encode("utf-8")


def _maybe_break_utf8(draw, data: bytes) -> bytes:
    if draw(st.integers(0, 4)) == 0:
        i = draw(st.integers(0, len(data)))
        return data[:i] + b"\xff\xfe" + data[i:]
    if draw(st.integers(0, 6)) == 0:
        return data[: draw(st.integers(0, len(data)))]  # cut anywhere
    return data


def _loads_cleanly_or_argmine_error(load) -> None:
    with contextlib.suppress(ArgmineError):
        load()


@FUZZ
@given(data=st.data())
def test_corpora_fuzz_label_studio_export(data):
    content = _maybe_break_utf8(data.draw, data.draw(exports()))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.json"
        path.write_bytes(content)
        _loads_cleanly_or_argmine_error(lambda: load_corpus("labelstudio", path))
        _loads_cleanly_or_argmine_error(lambda: read_articles([str(path)]))
        check_files([str(path)])  # lists problems, never raises


@FUZZ
@given(data=st.data())
def test_corpora_fuzz_argmine_jsonl(data):
    content = _maybe_break_utf8(data.draw, data.draw(argmine_lines()))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "in.jsonl"
        path.write_bytes(content)
        _loads_cleanly_or_argmine_error(lambda: load_corpus("jsonl", path))
        _loads_cleanly_or_argmine_error(lambda: read_articles([str(path)]))
        check_files([str(path)])


@FUZZ
@given(data=st.data())
def test_corpora_fuzz_webis_units_jsonl(data):
    content = _maybe_break_utf8(data.draw, data.draw(webis_lines()))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "webis_editorials16_units.jsonl"
        path.write_bytes(content)
        _loads_cleanly_or_argmine_error(lambda: load_corpus("webis", path))


ann_lines = st.one_of(
    st.builds(
        lambda i, label, a, b, t: f"T{i}\t{label} {a} {b}\t{t}",
        st.integers(0, 3),
        st.sampled_from(["Claim", "Premise", "MajorClaim", ""]),
        st.integers(-3, 60),
        st.integers(-3, 60),
        st.text(max_size=10),
    ),
    st.builds(
        lambda i, a, b: f"R{i}\tsupports Arg1:T{a} Arg2:T{b}",
        st.integers(0, 3),
        st.integers(0, 3),
        st.integers(0, 3),
    ),
    st.builds(lambda t: f"A1\tStance {t}", st.text(max_size=6)),
    st.text(max_size=20),
)


@FUZZ
@given(data=st.data())
def test_corpora_fuzz_brat(data):
    ann = "\n".join(data.draw(st.lists(ann_lines, max_size=6))).encode("utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "essay.txt").write_bytes(_maybe_break_utf8(data.draw, TEXT.encode("utf-8")))
        (folder / "essay.ann").write_bytes(_maybe_break_utf8(data.draw, ann))
        _loads_cleanly_or_argmine_error(lambda: load_corpus("brat", folder))
