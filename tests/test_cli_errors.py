"""One error boundary: bad input ends in one plain-text `error[<code>]: ...` line, exit 1."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from argmine.cli import app
from argmine.errors import ERRORS

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]


def _export(**task):
    return json.dumps([{"id": 7, "data": {"id": "doc", "text": "Taxes must rise."}, **task}])


# (files to write, argv, the exact error line)
CASES = {
    "glob_with_brackets_is_printed_as_is": (
        {},
        ["segment", "nope[x]/*.txt"],
        "error[E010]: nope[x]/*.txt: no files match this pattern",
    ),
    "closing_markup_tag_in_a_path": (
        {},
        ["segment", "a[/x]b.txt"],
        "error[E010]: a[/x]b.txt: no files match this pattern",
    ),
    "jsonl_meta_not_an_object": (
        {"in.jsonl": '{"id": "a", "text": "Hi.", "meta": 5}\n'},
        ["segment", "in.jsonl"],
        "error[E010]: in.jsonl: line 1: article 'meta' must be an object, got int",
    ),
    "jsonl_units_not_a_list": (
        {"in.jsonl": '\n{"id": "a", "text": "Hi.", "units": 5}\n'},
        ["prelabel", "in.jsonl"],
        "error[E010]: in.jsonl: line 2: article 'units' must be a list, got int",
    ),
    "export_annotations_not_a_list": (
        {"x.json": _export(annotations=5)},
        ["studio", "import", "x.json"],
        "error[E010]: x.json: task 7 (doc): 'annotations' must be a list, got int",
    ),
    "export_drafts_not_a_list": (
        {"x.json": _export(annotations=[], drafts=5)},
        ["convert", "labelstudio", "x.json"],
        "error[E010]: x.json: task 7 (doc): 'drafts' must be a list, got int",
    ),
    "evaluate_split_without_format": (
        {"gold.jsonl": '{"id": "a", "text": "Hi."}\n'},
        ["evaluate", "no-model", "gold.jsonl", "--split", "test"],
        "error[E002]: --split needs --format (e.g. --format webis --split test)",
    ),
    "contradicting_options": (
        {},
        ["train", "configs/tiny.yaml", "--resume", "--force"],
        "error[E002]: --resume and --force exclude each other",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_cli_errors_one_plain_line_with_code_and_exit_1(name, tmp_path, monkeypatch):
    files, argv, line = CASES[name]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "configs").symlink_to(REPO / "configs")
    for file, content in files.items():
        (tmp_path / file).write_text(content, encoding="utf-8")
    result = runner.invoke(app, argv)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert line in result.stderr.splitlines()


def test_cli_errors_validate_lists_problems_then_one_coded_summary(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "text": "Hi.", "meta": 5}\n', encoding="utf-8")
    result = runner.invoke(app, ["validate", "-q", str(bad)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    lines = result.stderr.splitlines()
    assert lines[-1] == "error[E011]: 1 problem in 1 file (0 articles read)"
    assert f"{bad}: line 1 (article 'a'): article 'meta' must be an object, got int" in lines


def test_cli_errors_every_code_is_unique_and_documented():
    codes = [cls.code for cls in ERRORS]
    assert len(set(codes)) == len(codes)
    doc = (REPO / "docs" / "errors.md").read_text(encoding="utf-8")
    documented = dict(re.findall(r"^\| `(E\d{3})` \| `(\w+)` \|", doc, flags=re.M))
    assert documented == {cls.code: cls.__name__ for cls in ERRORS}


def test_cli_errors_no_command_catches_errors_itself():
    # The group handler is the only printer: no command module has its own try/except.
    for module in (REPO / "src" / "argmine" / "cli").glob("*.py"):
        if module.name == "_util.py":
            continue
        source = module.read_text(encoding="utf-8")
        assert "except ValueError" not in source, module.name
        assert "print_error" not in source, module.name
