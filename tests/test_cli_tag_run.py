"""``argmine tag`` and ``argmine evaluate`` end to end (tiny trained model)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from argmine.cli import app
from argmine.document import ArgUnit, Article, dumps_article, iter_jsonl_articles
from argmine.tag import cpu_has_bf16_matmul, journal_path, partial_path, read_journal

pytestmark = pytest.mark.slow

runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, [*args, "--no-progress"] if args[0] == "tag" else list(args))
    # a crash is kept in result.exception (never printed): only a clean exit is allowed
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
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
        assert "<script>" not in body
        # the hostile text is there, escaped (unit <mark>s may cut it, so tags are removed)
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in re.sub(r"<[^>]*>", "", body)
        assert body.count('<mark class="u"') == sum(len(a.units) for a in tagged)
    elif fmt == "labelstudio":
        tasks = json.loads(body)
        assert [t["data"]["id"] for t in tasks] == [a.id for a in tagged]
        for task, article in zip(tasks, tagged, strict=True):
            results = task["predictions"][0]["result"]
            assert sum(r["type"] == "labels" for r in results) == len(article.units)
            # the model's relations travel as Label Studio relations, head -> tail
            rels = [(r["from_id"], r["to_id"]) for r in results if r["type"] == "relation"]
            assert rels == [(r.head, r.tail) for r in article.relations]
        assert any(a.relations for a in tagged)


def test_cli_tag_refuses_to_overwrite(tiny_model, inputs, tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_text("keep me\n", encoding="utf-8")
    code, _, stderr = _run("tag", str(inputs), "--model", str(tiny_model), "-o", str(out))
    assert code == 1
    assert stderr == f"error[E030]: {out}: output exists; pass --force to overwrite it\n"
    assert out.read_text(encoding="utf-8") == "keep me\n"
    code, _, _ = _run("tag", str(inputs), "--model", str(tiny_model), "-o", str(out), "--force")
    assert code == 0
    assert len(_read(out)) == 2
    # a CSV run writes OUTPUT.relations.csv too: an old one alone is kept without --force
    units = tmp_path / "units.csv"
    rels = tmp_path / "units.relations.csv"
    rels.write_text("keep me too\n", encoding="utf-8")
    args = ("tag", str(inputs), "--model", str(tiny_model), "-o", str(units), "--format", "csv")
    code, _, stderr = _run(*args)
    assert code == 1 and f"{rels}: output exists" in stderr, stderr
    assert rels.read_text(encoding="utf-8") == "keep me too\n" and not units.exists()
    code, _, stderr = _run(*args, "--force")
    assert code == 0, stderr
    assert rels.read_text(encoding="utf-8").startswith("article_id,id,head,tail,label,score")
    # an output that cannot be written: one line before any tagging, with --force too
    for bad, message in [
        (tmp_path, "is a directory"),
        (tmp_path / "units.csv" / "x.jsonl", "is not a directory"),
        (Path("/sys/argmine-x.jsonl"), "cannot write"),
    ]:
        code, _, stderr = _run(
            "tag", str(inputs), "--model", str(tiny_model), "-o", str(bad), "--force"
        )
        assert code == 1 and message in stderr and len(stderr.splitlines()) == 1, stderr
    # stdout is not a file tag can append to
    code, _, stderr = _run("tag", str(inputs), "--model", str(tiny_model), "-o", "-")
    assert code == 1 and "not stdout" in stderr and not Path("-").exists(), stderr


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
    assert f"  failed: {bad}: file is empty" in stderr.splitlines()
    if keep_going:
        assert len(_read(out)) == 2
    else:  # stopped before anything was tagged: no output, nothing to resume
        assert not out.exists() and not partial_path(out).exists()


def test_cli_tag_stopped_run_keeps_the_old_output_and_resumes(tiny_model, inputs, tmp_path):
    """A run that stops at a bad input leaves the output as it was (even with --force) and
    its work in OUTPUT.partial, which --resume continues; --resume checks a file is argmine
    JSONL before it changes anything."""
    out = tmp_path / "out.jsonl"
    old = dumps_article(Article(id="old", text="An earlier run's article.")) + "\n"
    out.write_text(old, encoding="utf-8")
    bad = tmp_path / "bad.txt"
    bad.write_text("", encoding="utf-8")
    late = tmp_path / "late.txt"
    late.write_text("Critics argue the levy is unfair. It cost 5 pounds.", encoding="utf-8")
    base = ("tag", "--model", str(tiny_model), "-o", str(out))
    code, _, stderr = _run(*base, str(inputs), str(bad), str(late), "--force")
    assert code == 1 and f"{out} was not written" in stderr, stderr
    assert out.read_text(encoding="utf-8") == old
    assert sorted(a.id for a in _read(partial_path(out))) == ["hostile", "plain"]
    # without --resume or --force a partial output is not thrown away
    fresh = tmp_path / "fresh.jsonl"
    again = ("tag", "--model", str(tiny_model), "-o", str(fresh), str(inputs))
    code, _, stderr = _run(*again, str(bad))
    assert code == 1 and not fresh.exists() and partial_path(fresh).exists(), stderr
    code, _, stderr = _run(*again)
    assert code == 1 and "--resume continues it, --force starts over" in stderr, stderr
    code, _, stderr = _run(*base, str(inputs), str(late), "--resume")
    assert code == 0, stderr
    assert "tagged 1, skipped 2, failed 0" in stderr
    assert sorted(a.id for a in _read(out)) == ["hostile", "late", "plain"]
    assert not partial_path(out).exists()

    for name, body in [
        ("notes.jsonl", b"my notes line 1\nmy precious last line"),
        ("blob.jsonl", bytes(range(256)) * 4),
    ]:
        mine = tmp_path / name
        mine.write_bytes(body)
        code, _, stderr = _run(
            "tag", str(late), "--model", str(tiny_model), "-o", str(mine), "--resume"
        )
        assert code == 1 and "cannot resume from it" in stderr, stderr
        assert mine.read_bytes() == body


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
    """SIGKILL at a point the test controls (the progress journal says 10 articles are
    fsynced, and the run waits for more input on a pipe) leaves exactly those 10 lines; a torn
    last line is cut off by --resume, which completes the output."""
    total, first = 120, 10
    body = "Critics argue the plan will fail because costs rose 40% in 2020. " * 3
    lines = [
        dumps_article(Article(id=f"doc{i:04d}", text=f"Piece {i}. {body}")) + "\n"
        for i in range(total)
    ]
    fifo = tmp_path / "stream.jsonl"
    os.mkfifo(fifo)
    out = tmp_path / "out.jsonl"
    work = partial_path(out)  # where the run appends until it finishes
    args = ["--model", str(tiny_model), "-o", str(out), "--chunk-size", "2", "--batch-size", "2"]
    cmd = [sys.executable, "-m", "argmine", "tag", *args, "--no-progress"]
    proc = subprocess.Popen([*cmd, str(fifo)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while True:  # the writer end opens once the run opens the pipe for reading
            assert proc.poll() is None, proc.communicate()[1].decode()
            assert time.monotonic() < deadline, "the run never opened its input"
            try:
                writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
                break
            except OSError:
                time.sleep(0.05)
        os.set_blocking(writer, True)
        os.write(writer, "".join(lines[:first]).encode("utf-8"))
        while (read_journal(work) or {}).get("articles") != first:
            assert proc.poll() is None, proc.communicate()[1].decode()
            assert time.monotonic() < deadline, f"journal: {read_journal(work)}"
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)  # the run is blocked on the pipe, waiting for more
        proc.wait()
        os.close(writer)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists()  # the output appears only when the run finishes
    partial = _read(work)
    assert [a.id for a in partial] == [f"doc{i:04d}" for i in range(first)]
    with work.open("ab") as handle:  # as if killed in the middle of appending a line
        handle.write(b'{"id": "doc0010", "text": "Piece 10. Crit')

    source = tmp_path / "all.jsonl"
    source.write_text("".join(lines), encoding="utf-8")
    resumed = subprocess.run(
        [*cmd, str(source), "--resume"], capture_output=True, text=True, timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "cut a torn last line" in resumed.stderr
    assert f"tagged {total - first}, skipped {first}, failed 0" in resumed.stderr
    ids = [a.id for a in _read(out)]
    assert ids == [f"doc{i:04d}" for i in range(total)]
    assert not work.exists() and not journal_path(work).exists()  # gone when the run ends


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


def test_cli_tag_schema_outside_html_is_refused(tiny_model, inputs, tmp_path):
    """--schema shapes the HTML report only; given with another format it did nothing."""
    out = tmp_path / "o.jsonl"
    schema = tmp_path / "missing.yaml"
    code, _, stderr = _run(
        "tag", str(inputs), "--model", str(tiny_model), "-o", str(out), "--schema", str(schema)
    )
    assert code == 1
    assert "--schema is read by --format html only" in stderr
    assert not out.exists()
    html = tmp_path / "o.html"
    code, _, stderr = _run(
        "tag",
        str(inputs),
        "-m",
        str(tiny_model),
        "-o",
        str(html),
        "-f",
        "html",
        "--schema",
        str(schema),
    )
    assert code == 1
    assert f"{schema}" in stderr and not html.exists(), stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"], "no file left behind"


def test_cli_evaluate_unannotated_label_counts_as_what_it_hides_under(
    tiny_model, repo_root, tmp_path
):
    """Gold without Conclusions (as Webis): with --unannotated the rules' Conclusions are
    scored as Claims, not as false positives; bad uses of the option fail in one line."""
    from argmine.corpora.labelstudio import load_export

    (ref,) = load_export(repo_root / "annotations" / "caravan-to-nowhere.json")
    flat = ref.with_annotations(
        [
            ArgUnit(u.id, u.start, u.end, "Claim" if u.label == "Conclusion" else u.label)
            for u in ref.units
        ],
        ref.relations,
    )
    data = tmp_path / "gold.jsonl"
    data.write_text(dumps_article(flat) + "\n", encoding="utf-8")

    def rules(*extra: str) -> dict:
        out = tmp_path / f"scores{len(extra)}.json"
        code, _, stderr = _run("evaluate", str(tiny_model), str(data), "-o", str(out), *extra)
        assert code == 0, stderr
        return json.loads(out.read_text(encoding="utf-8"))["rules"]["overlap"]

    plain = rules()
    folded = rules("--unannotated", "Conclusion=O,Claim")
    conclusions = plain["per_label"]["Conclusion"]["fp"]
    assert conclusions > 0  # the rules do predict Conclusions on the reference article
    assert folded["per_label"]["Conclusion"]["fp"] == 0
    assert folded["micro"]["fp"] < plain["micro"]["fp"]
    assert folded["per_label"]["Claim"]["tp"] > plain["per_label"]["Claim"]["tp"]

    for spec, message in [
        ("Conclusion", "expected LABEL=UNDER"),
        ("Conclusion=Conclusion", "cannot hide under itself"),
        ("Conclusion=O,Thesis", "Thesis is not a label of the model"),
        ("Thesis=O,Claim", "unannotated Thesis: not a label of the model"),
    ]:
        code, _, stderr = _run("evaluate", str(tiny_model), str(data), "--unannotated", spec)
        assert code == 1 and message in stderr, stderr
    for specs, message in [
        (["Conclusion=O", "Conclusion=Claim"], "--unannotated Conclusion is given twice"),
        (["none", "Conclusion=Claim"], "--unannotated none cannot be combined"),
    ]:
        extra = [x for spec in specs for x in ("--unannotated", spec)]
        code, _, stderr = _run("evaluate", str(tiny_model), str(data), *extra)
        assert code == 1 and message in stderr, stderr
    claims = sum(u.label == "Claim" for u in flat.units)
    code, _, stderr = _run("evaluate", str(tiny_model), str(data), "--unannotated", "Claim=O")
    assert code == 1
    assert f"article {flat.id} has {claims} Claim unit(s)" in stderr, stderr


def test_cli_tag_a_model_directory_given_as_input_is_refused(tiny_model, inputs, tmp_path):
    """`argmine tag models/default article.txt` (the model where an input goes) tagged the
    model directory's own test.jsonl and README.md as articles, with the default model."""
    out = tmp_path / "o.jsonl"
    model = str(tiny_model)
    code, _, stderr = _run("tag", model, str(inputs), "-m", model, "-o", str(out))
    assert code == 1
    # named in the run's failure summary, as any unreadable input is
    assert f"{tiny_model}: a model directory" in stderr and "--model" in stderr
    assert not out.exists()
