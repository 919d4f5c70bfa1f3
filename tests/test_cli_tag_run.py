"""``argmine tag`` and ``argmine evaluate`` end to end (tiny trained model)."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from argmine.cli import app
from argmine.document import ArgUnit, Article, dumps_article, iter_jsonl_articles
from argmine.tag import cpu_has_bf16_matmul

pytestmark = pytest.mark.slow

runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, [*args, "--no-progress"] if args[0] == "tag" else list(args))
    return result.exit_code, result.stdout, result.stderr


def _read(path: Path) -> list[Article]:
    with path.open(encoding="utf-8") as handle:
        return list(iter_jsonl_articles(handle))


def test_cli_tag_reference_article_units_are_slices(tiny_model, reference_path, tmp_path):
    out = tmp_path / "ref.jsonl"
    code, _, stderr = _run("tag", str(reference_path), "--model", str(tiny_model), "-o", str(out))
    assert code == 0, stderr
    assert "tagged 1, skipped 0, failed 0" in stderr
    text = reference_path.read_text(encoding="utf-8")
    for line in out.read_text(encoding="utf-8").splitlines():
        data = json.loads(line)
        assert data["text"] == text
        for unit in data["units"]:
            assert unit["text"] == text[unit["start"] : unit["end"]]
            assert 0.0 <= unit["score"] <= 1.0


@pytest.fixture()
def inputs(tmp_path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "hostile.txt").write_text(
        'Tom & Jerry: <script>alert("x")</script> is clearly bad.\n\nThe data show 5% & more.\n',
        encoding="utf-8",
    )
    (folder / "plain.md").write_text(
        "# A title\n\nCritics argue the plan will fail. " * 5, encoding="utf-8"
    )
    return folder


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "html", "labelstudio", "aif"])
def test_cli_tag_formats(tiny_model, inputs, tmp_path, fmt):
    out = tmp_path / f"out.{fmt}"
    code, _, stderr = _run(
        "tag", str(inputs), "--model", str(tiny_model), "-o", str(out), "--format", fmt
    )
    assert code == 0, stderr
    body = out.read_text(encoding="utf-8")
    sidecar = out.with_name(out.name + ".jsonl")
    tagged = _read(out if fmt == "jsonl" else sidecar)
    assert sorted(a.id for a in tagged) == ["hostile", "plain"]
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(body)))
        assert len(rows) == sum(len(a.units) for a in tagged)
        by_id = {a.id: a for a in tagged}
        for row in rows:
            assert row["text"] == by_id[row["article_id"]].text[int(row["start"]) : int(row["end"])]
        relations = out.with_name("out.relations.csv").read_text(encoding="utf-8")
        rel_rows = list(csv.DictReader(io.StringIO(relations)))
        assert relations.startswith("article_id,id,head,tail,label,score\n")
        assert len(rel_rows) == sum(len(a.relations) for a in tagged)
    elif fmt == "aif":
        from test_report_aif import check_aif

        docs = [json.loads(line) for line in body.splitlines()]
        for doc, article in zip(docs, tagged, strict=True):
            check_aif(doc, article)
    elif fmt == "html":
        assert "<script>" not in body and "&lt;script&gt;" in body
        assert body.count('<mark class="u"') == sum(len(a.units) for a in tagged)
    elif fmt == "labelstudio":
        tasks = json.loads(body)
        assert [t["data"]["id"] for t in tasks] == [a.id for a in tagged]
        for task, article in zip(tasks, tagged, strict=True):
            results = task["predictions"][0]["result"]
            assert len(results) == len(article.units)


def test_cli_tag_refuses_to_overwrite(tiny_model, inputs, tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_text("keep me\n", encoding="utf-8")
    code, _, stderr = _run("tag", str(inputs), "--model", str(tiny_model), "-o", str(out))
    assert code == 1
    assert "--force" in stderr and "Traceback" not in stderr
    assert out.read_text(encoding="utf-8") == "keep me\n"
    code, _, _ = _run("tag", str(inputs), "--model", str(tiny_model), "-o", str(out), "--force")
    assert code == 0
    assert len(_read(out)) == 2


@pytest.mark.parametrize("keep_going", [False, True])
def test_cli_tag_failures_summary_and_exit_code(tiny_model, inputs, tmp_path, keep_going):
    bad = tmp_path / "empty.txt"
    bad.write_text("", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    extra = ["--keep-going"] if keep_going else []
    code, _, stderr = _run(
        "tag", str(bad), str(inputs), "--model", str(tiny_model), "-o", str(out), *extra
    )
    assert code == (0 if keep_going else 1)
    assert f"failed: {bad}" in stderr
    assert "Traceback" not in stderr
    tagged = _read(out)
    assert len(tagged) == (2 if keep_going else 0)


def test_cli_tag_resume_skips_done_articles(tiny_model, inputs, tmp_path):
    out = tmp_path / "out.html"
    first = inputs / "hostile.txt"
    code, _, _ = _run("tag", str(first), "--model", str(tiny_model), "-o", str(out), "-f", "html")
    assert code == 0
    code, _, stderr = _run(
        "tag", str(inputs), "--model", str(tiny_model), "-o", str(out), "-f", "html", "--resume"
    )
    assert code == 0, stderr
    assert "tagged 1, skipped 1, failed 0" in stderr
    assert sorted(a.id for a in _read(out.with_name("out.html.jsonl"))) == ["hostile", "plain"]
    assert out.read_text(encoding="utf-8").count('class="article"') == 2


def test_cli_tag_without_model_fails_in_one_line(inputs, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, stderr = _run("tag", str(inputs), "-o", str(tmp_path / "o.jsonl"))
    assert code == 1
    assert "argmine train configs/default.yaml" in stderr
    assert len(stderr.strip().splitlines()) == 1


def test_cli_tag_killed_then_resumed_has_every_article_once(tiny_model, tmp_path):
    """SIGKILL mid-run leaves complete JSONL lines only; --resume completes the output."""
    total = 120
    source = tmp_path / "many.jsonl"
    body = "Critics argue the plan will fail because costs rose 40% in 2020. " * 3
    source.write_text(
        "".join(
            dumps_article(Article(id=f"doc{i:04d}", text=f"Piece {i}. {body}")) + "\n"
            for i in range(total)
        ),
        encoding="utf-8",
    )
    out = tmp_path / "out.jsonl"
    args = ["tag", str(source), "--model", str(tiny_model), "-o", str(out)]
    args += ["--chunk-size", "2", "--batch-size", "2", "--no-progress"]
    cmd = [sys.executable, "-m", "argmine", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (out.exists() and out.stat().st_size > 0):
        assert proc.poll() is None, proc.communicate()[1].decode()
        assert time.monotonic() < deadline, "no output after 120 s"
        time.sleep(0.01)
    time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    raw = out.read_bytes()
    assert raw.endswith(b"\n")
    partial = _read(out)  # raises on a torn line
    assert 0 < len(partial) < total, "the run should have been killed mid-way"

    resumed = subprocess.run([*cmd, "--resume"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"skipped {len(partial)}" in resumed.stderr
    ids = [a.id for a in _read(out)]
    assert len(ids) == total
    assert sorted(ids) == [f"doc{i:04d}" for i in range(total)]
    assert ids[: len(partial)] == [a.id for a in partial]


def test_cli_evaluate_prints_table_and_writes_json(tiny_model, tmp_path):
    text = "Critics argue the plan will fail. The data show a rise of 5%. So we must act."
    gold = Article(
        id="g1",
        text=text,
        units=[ArgUnit("T1", 0, 33, "Claim"), ArgUnit("T2", 34, 61, "Evidence")],
    )
    data = tmp_path / "gold.jsonl"
    data.write_text(dumps_article(gold) + "\n", encoding="utf-8")
    out = tmp_path / "metrics.json"
    code, stdout, stderr = _run("evaluate", str(tiny_model), str(data), "--output", str(out))
    assert code == 0, stderr
    assert "micro" in stdout and "overlap" in stdout
    scores = json.loads(out.read_text(encoding="utf-8"))
    assert scores["exact"]["micro"]["fn"] + scores["exact"]["micro"]["tp"] == 2
    code, _, stderr = _run("evaluate", str(tiny_model), str(data), "--output", str(out))
    assert code == 1 and "--force" in stderr


def test_cli_tag_same_article_twice_is_tagged_once(tiny_model, inputs, tmp_path):
    out = tmp_path / "out.jsonl"
    file = inputs / "hostile.txt"
    code, _, stderr = _run(
        "tag", str(file), str(inputs), "--model", str(tiny_model), "-o", str(out)
    )
    assert code == 0, stderr
    assert sorted(a.id for a in _read(out)) == ["hostile", "plain"]
    clash = tmp_path / "other" / "hostile.txt"
    clash.parent.mkdir()
    clash.write_text("Another text with the same id.", encoding="utf-8")
    code, _, stderr = _run(
        "tag", str(inputs), str(clash), "--model", str(tiny_model), "-o", str(out), "--force"
    )
    assert code == 1
    assert "duplicate article id 'hostile'" in stderr


def test_cli_tag_bfloat16_agrees_with_float32_in_label_and_span_count(
    tiny_model, inputs, tmp_path, caplog
):
    """--dtype bfloat16 runs the model under bfloat16 autocast; its units are valid slices and
    close to float32's (same articles, similar numbers of units)."""
    runs = {}
    for dtype in ("float32", "bfloat16"):
        out = tmp_path / f"{dtype}.jsonl"
        code, _, stderr = _run(
            "tag", str(inputs), "--model", str(tiny_model), "-o", str(out), "--dtype", dtype
        )
        assert code == 0, stderr
        if dtype == "bfloat16" and not cpu_has_bf16_matmul():
            # a real run prints it on stderr; under pytest the log goes to caplog
            assert "no bfloat16 matrix units" in caplog.text
        runs[dtype] = {a.id: a for a in _read(out)}
    assert runs["float32"].keys() == runs["bfloat16"].keys()
    for article_id, article in runs["bfloat16"].items():
        assert not article.problems(), article.problems()
        n32 = len(runs["float32"][article_id].units)
        assert abs(len(article.units) - n32) <= max(2, n32 // 4), article_id


def test_cli_tag_rejects_unknown_dtype_in_one_line(tiny_model, inputs, tmp_path):
    out = tmp_path / "o.jsonl"
    code, _, stderr = _run(
        "tag", str(inputs), "--model", str(tiny_model), "-o", str(out), "--dtype", "float16"
    )
    assert code == 1
    assert "--dtype 'float16'" in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert not out.exists()
