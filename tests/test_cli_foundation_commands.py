"""argmine segment / prelabel / validate through typer's CliRunner (the real app, real files)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from argmine.cli import app
from argmine.document import ArgRelation, ArgUnit, Article, dumps_article
from argmine.readers import read_articles

runner = CliRunner()


def run(*args: str, stdin: str | bytes | None = None):
    return runner.invoke(app, [str(a) for a in args], input=stdin)


def jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def assert_units_are_slices(rows: list[dict]) -> None:
    for row in rows:
        for unit in row["units"]:
            assert row["text"][unit["start"] : unit["end"]] == unit["text"]


@pytest.mark.parametrize("command", ["segment", "prelabel", "validate"])
def test_cli_foundation_help(command) -> None:
    result = run(command, "--help")
    assert result.exit_code == 0
    assert "--output" in result.output and "--force" in result.output


def test_cli_foundation_segment_reference(reference_path) -> None:
    result = run("segment", reference_path)
    assert result.exit_code == 0, result.output
    (row,) = jsonl(result.stdout)
    assert row["id"] == "caravan-to-nowhere" and len(row["units"]) > 30
    assert_units_are_slices([row])


def test_cli_foundation_prelabel_reference_all_labels(reference_path) -> None:
    result = run("prelabel", reference_path)
    assert result.exit_code == 0, result.output
    (row,) = jsonl(result.stdout)
    assert_units_are_slices([row])
    assert {u["label"] for u in row["units"]} == {"Claim", "Evidence", "Conclusion"}
    ids = {u["id"] for u in row["units"]}
    assert row["relations"] and all(r["head"] in ids and r["tail"] in ids for r in row["relations"])


def test_cli_foundation_stdin_and_output_force(tmp_path) -> None:
    out = tmp_path / "out.jsonl"
    text = "Taxes should fall. They rose by 40 percent (Reuters, May 2)."
    first = run("prelabel", "-", "--output", out, stdin=text)
    assert first.exit_code == 0, first.output
    before = out.read_bytes()
    refused = run("prelabel", "-", "-o", out, stdin="Something else entirely here.")
    assert refused.exit_code == 1 and isinstance(refused.exception, SystemExit)
    assert refused.stderr == f"error[E030]: {out}: output exists; pass --force to overwrite it\n"
    assert out.read_bytes() == before
    forced = run("segment", "-", "-o", out, "--force", stdin="Something else entirely here.")
    assert forced.exit_code == 0
    assert (
        jsonl(out.read_text(encoding="utf-8"))[0]["units"][0]["text"]
        == "Something else entirely here."
    )


@pytest.mark.parametrize("command", ["segment", "prelabel"])
@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("empty.txt", b"", "file is empty"),
        ("picture.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary file"),
        ("latin1.txt", "Ein schöner Tag in Zürich.".encode("latin-1"), "undecodable byte 0xf6"),
    ],
)
def test_cli_foundation_bad_file_one_line_exit_1(tmp_path, command, name, content, problem) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    result = run(command, path)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error[E010]: {path}: ")
    assert problem in lines[0]


def _article(units, relations=()) -> Article:
    return Article(
        id="a1",
        text="Rates rose. So we must act now.",
        units=list(units),
        relations=list(relations),
    )


def test_cli_foundation_validate_good_jsonl(tmp_path) -> None:
    good = _article(
        [ArgUnit("T1", 0, 11, "Evidence"), ArgUnit("T2", 12, 31, "Conclusion")],
        [ArgRelation("R1", "T1", "T2", "supports")],
    )
    path = tmp_path / "good.jsonl"
    path.write_text(dumps_article(good) + "\n", encoding="utf-8")
    result = run("validate", path)
    assert result.exit_code == 0, result.output
    assert result.stdout == dumps_article(good) + "\n"
    assert "ok: 1 files, 1 articles, 2 units, 1 relations" in result.stderr
    quiet = run("validate", "-q", path)
    assert quiet.exit_code == 0 and quiet.stdout == ""


def test_cli_foundation_validate_lists_every_problem(tmp_path) -> None:
    rows = [
        {
            "id": "a1",
            "text": "Short text.",
            "units": [{"id": "T1", "start": 0, "end": 40, "label": "Claim"}],
        },
        {
            "id": "a2",
            "text": "Other text.",
            "units": [{"id": "T1", "start": 0, "end": 5, "label": "Opinion"}],
            "relations": [{"id": "R1", "head": "T1", "tail": "T5", "label": "supports"}],
        },
        {"id": "a1", "text": "Dup id."},
    ]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    result = run("validate", path)
    assert result.exit_code == 1 and result.stdout == ""
    err = result.stderr
    assert "line 1 (article 'a1'): unit T1: end 40 is beyond the text length 11" in err
    assert "line 2 (article 'a2'): unit T1: label 'Opinion' is not in the schema" in err
    assert "line 2 (article 'a2'): relation R1: tail 'T5' is not a unit" in err
    assert "duplicate article id 'a1'" in err
    assert isinstance(result.exception, SystemExit)
    assert err.splitlines()[-1] == "error[E011]: 4 problems in 1 file (3 articles read)"


def test_cli_foundation_validate_label_studio_export(tmp_path) -> None:
    from argmine.corpora.labelstudio import articles_to_export

    good = _article(
        [ArgUnit("T1", 0, 11, "Evidence"), ArgUnit("T2", 12, 31, "Conclusion")],
        [ArgRelation("R1", "T1", "T2", "supports")],
    )
    export = articles_to_export([good])
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export), encoding="utf-8")
    ok = run("validate", path)
    assert ok.exit_code == 0, ok.output
    (row,) = jsonl(ok.stdout)
    assert [(u["start"], u["end"], u["label"]) for u in row["units"]] == [
        (0, 11, "Evidence"),
        (12, 31, "Conclusion"),
    ]

    result = export[0]["annotations"][0]["result"]
    span = next(r for r in result if r["type"] == "labels")
    span["value"]["labels"] = ["Opinion"]
    task_id = export[0].get("id")
    bad = tmp_path / "bad-export.json"
    bad.write_text(json.dumps(export), encoding="utf-8")
    failed = run("validate", bad)
    assert failed.exit_code == 1
    assert "Opinion" in failed.stderr and f"task {task_id}" in failed.stderr


def test_cli_foundation_validate_annotations_dir(repo_root, tmp_path) -> None:
    folder = repo_root / "annotations"
    exports = sorted(folder.glob("*.json"))
    if not exports:
        pytest.skip("no Label Studio exports in annotations/ yet")
    result = run("validate", "-q", *exports)
    assert result.exit_code == 0, result.stderr
    # A second annotator's versions (same article ids as starter.json) validate on their own.
    second = run("validate", "-q", folder / "agreement")
    assert second.exit_code == 0, second.stderr
    # A directory is searched for .json and .jsonl only (GUIDELINES.md is not read).
    copy = tmp_path / "annotations"
    copy.mkdir()
    for path in [*exports, folder / "GUIDELINES.md"]:
        shutil.copy(path, copy / path.name)
    whole = run("validate", "-q", copy)
    assert whole.exit_code == 0, whole.stderr
    assert f"ok: {len(exports)} files" in whole.stderr


def test_cli_foundation_missing_input_one_line(tmp_path) -> None:
    result = run("segment", tmp_path / "nope.txt")
    assert result.exit_code == 1
    assert (
        "no such file or directory" in result.stderr
        and len(result.stderr.strip().splitlines()) == 1
    )


def test_cli_foundation_bad_lexicon(tmp_path, reference_path) -> None:
    lexicon = tmp_path / "lexicon.yaml"
    lexicon.write_text(
        "groups:\n  g: {label: Opinion, weight: 0.5, phrases: [x]}\n", encoding="utf-8"
    )
    result = run("prelabel", reference_path, "--lexicon", lexicon)
    assert result.exit_code == 1
    assert "label 'Opinion' is not a span label" in result.stderr


def test_cli_foundation_no_clauses_gives_fewer_units(reference_path) -> None:
    with_clauses = jsonl(run("segment", reference_path).stdout)[0]["units"]
    without = jsonl(run("segment", reference_path, "--no-clauses").stdout)[0]["units"]
    assert len(without) < len(with_clauses)


def test_cli_foundation_output_is_jsonl_lines(tmp_path, reference_path) -> None:
    out = tmp_path / "seg.jsonl"
    (tmp_path / "in").mkdir()
    twin = tmp_path / "in" / reference_path.name
    twin.write_text("Another article with the same file name.", encoding="utf-8")
    failed = run("segment", reference_path, twin, "-o", out)
    assert failed.exit_code == 1 and "duplicate article id 'caravan-to-nowhere'" in failed.stderr
    assert not out.exists()  # nothing half-written
    # The same file named twice (directly and through its directory) is read once.
    assert run("segment", reference_path, reference_path.parent, "-o", out).exit_code == 0
    expected = len(read_articles([reference_path.parent]))
    assert Path(out).read_text(encoding="utf-8").count("\n") == expected


def test_cli_foundation_validate_export_with_unannotated_task_is_ok_with_note(tmp_path) -> None:
    from argmine.corpora.labelstudio import article_to_task, articles_to_export

    done = Article(
        id="done",
        text="Prices rose. So we must act.",
        units=[ArgUnit("T1", 0, 12, "Evidence"), ArgUnit("T2", 13, 28, "Conclusion")],
        relations=[ArgRelation("R1", "T1", "T2", "supports")],
    )
    export = articles_to_export([done])
    pending = article_to_task(Article(id="pending", text="Nobody has labelled this yet."))
    pending["id"] = 999
    export.append(pending)
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export), encoding="utf-8")

    result = run("validate", path)

    assert result.exit_code == 0, result.output
    assert "no submitted annotation yet" in result.output
    rows = jsonl(result.stdout)
    assert [row["id"] for row in rows] == ["done"]
    assert [(u["label"], u["text"]) for u in rows[0]["units"]] == [
        ("Evidence", "Prices rose."),
        ("Conclusion", "So we must act."),
    ]
