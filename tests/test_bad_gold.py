"""Gold data that cannot mean what it says fails in one line naming the file, line or article:
unit offsets past the text, relations to no unit, a ``.json`` named where prose is read, gold
with nothing to score; gold labels the model does not have are named in a warning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from argmine.cli import app
from argmine.document import ArgRelation, ArgUnit, Article, dumps_article

runner = CliRunner()
TEXT = "Schools should ban phones. Students focus better without them."


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    # a crash is kept in result.exception (never printed): only a clean exit is allowed
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result.exit_code, result.stdout, result.stderr


def _jsonl(path: Path, *articles: Article) -> Path:
    path.write_text("".join(dumps_article(a) + "\n" for a in articles), encoding="utf-8")
    return path


def _good(i: int = 1) -> Article:
    return Article(
        id=f"a{i}",
        text=TEXT,
        units=[ArgUnit("T1", 0, 26, "Claim"), ArgUnit("T2", 27, len(TEXT), "Evidence")],
        relations=[ArgRelation("R1", "T2", "T1", "supports")],
    )


def _past_end() -> Article:
    return Article(id="bad", text=TEXT, units=[ArgUnit("T1", 0, len(TEXT) + 40, "Claim")])


def _dangling() -> Article:
    good = _good(2)
    return Article(
        id="dangling",
        text=TEXT,
        units=good.units,
        relations=[ArgRelation("R1", "T2", "T9", "supports")],
    )


@pytest.mark.parametrize(
    ("article", "problem"),
    [
        (_past_end(), f"unit T1: end {len(TEXT) + 40} is beyond the text length {len(TEXT)}"),
        (_dangling(), "relation R1: tail 'T9' is not a unit"),
    ],
)
@pytest.mark.parametrize("command", ["segment", "convert"])
def test_bad_gold_units_past_the_text_or_dangling_relations(tmp_path, article, problem, command):
    data = _jsonl(tmp_path / "in.jsonl", _good(), article)
    out = tmp_path / "out.jsonl"
    args = ["convert", "jsonl"] if command == "convert" else ["segment"]
    code, _, stderr = _run(*args, str(data), "-o", str(out))
    assert code == 1
    assert f"{data}: line 2 (article {article.id!r}): {problem}" in stderr, stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert not out.exists()


def test_bad_gold_train_source_with_units_past_the_text(tmp_path):
    from argmine.config import run_config_from_dict
    from argmine.data import load_sources
    from argmine.errors import InputError

    data = _jsonl(tmp_path / "own.jsonl", _good(), _past_end())
    config = run_config_from_dict(
        {
            "seed": 1,
            "run": "bad",
            "output_dir": str(tmp_path / "out"),
            "data": {"sources": [{"format": "jsonl", "path": str(data)}]},
        }
    )
    with pytest.raises(InputError, match=r"line 2 \(article 'bad'\): unit T1: end"):
        load_sources(config, labels=["Claim", "Evidence", "Conclusion"])


@pytest.mark.parametrize("command", ["segment", "prelabel", "tag"])
def test_bad_gold_json_named_as_prose_is_refused(tmp_path, command, request):
    export = tmp_path / "export.json"
    export.write_text(json.dumps([{"id": 1, "data": {"text": TEXT}}]), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    model = ["-m", str(request.getfixturevalue("tiny_model"))] if command == "tag" else []
    code, _, stderr = _run(command, str(export), "-o", str(out), *model)
    assert code == 1
    assert f"{export}: a .json file is not an article" in stderr, stderr
    assert "argmine convert labelstudio" in stderr
    assert not out.exists()


def test_bad_gold_webis_jsonl_missing_field(tmp_path):
    data = tmp_path / "webis.jsonl"
    data.write_text(json.dumps({"id": "w1", "text": TEXT, "units": []}) + "\n", encoding="utf-8")
    code, _, stderr = _run("convert", "webis", str(data))
    assert code == 1
    assert f"{data}: line 1: no 'split' field" in stderr, stderr


@pytest.mark.slow
def test_bad_gold_evaluate_needs_units_of_the_model_labels(tiny_model, tmp_path, caplog):
    plain = tmp_path / "plain.txt"
    plain.write_text(TEXT + "\n", encoding="utf-8")
    code, _, stderr = _run("evaluate", str(tiny_model), str(plain))
    assert code == 1
    assert "the gold has no units labelled Claim, Evidence, Conclusion in its 1 article" in stderr

    def relabel(article: Article, label: str) -> Article:
        units = [ArgUnit(u.id, u.start, u.end, label) for u in article.units]
        return article.with_annotations(units, article.relations)

    foreign = _jsonl(tmp_path / "premises.jsonl", relabel(_good(), "Premise"))
    code, _, stderr = _run("evaluate", str(tiny_model), str(foreign))
    assert code == 1
    assert "(its labels: 'Premise' x2; map them when converting" in stderr, stderr

    mixed = _jsonl(tmp_path / "mixed.jsonl", _good(1), relabel(_good(2), "Premise"))
    out = tmp_path / "scores.json"
    code, _, stderr = _run("evaluate", str(tiny_model), str(mixed), "-o", str(out))
    assert code == 0, stderr
    # a real run prints the warning on stderr; under pytest the log goes to caplog
    assert "labels the model does not have are not scored: 'Premise' x2" in caplog.text
    scores = json.loads(out.read_text(encoding="utf-8"))
    overlap = scores["overlap"]["micro"]
    assert overlap["tp"] + overlap["fn"] == 2  # the two Claim/Evidence units of a1 only
