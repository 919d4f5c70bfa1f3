"""argmine agreement / adjudicate through typer's CliRunner (the real app, real files), the
``annotations:`` choice of Label Studio sources, and (slow) training on an adjudicated export."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agreement_exports import annotation, task, two_annotators, write
from argmine.cli import app
from argmine.config import SourceConfig
from argmine.corpora import load_corpus
from argmine.errors import ConfigError, InputError

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()


def run(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def _one_file_each(tmp_path: Path) -> tuple[Path, Path]:
    """ann's and bob's versions of task "two" in one file each (see agreement_exports)."""
    (only,) = two_annotators()
    ann, bob = only["annotations"]
    first = write(tmp_path / "ann.json", [{**only, "annotations": [ann]}])
    second = write(tmp_path / "bob.json", [{**only, "annotations": [bob]}])
    return first, second


def _one_error_line(result, *needles: str) -> None:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # no traceback: a clean exit
    lines = [line for line in result.stderr.splitlines() if line.startswith("error[E")]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_agreement_cli_json_report(tmp_path) -> None:
    """Exact F1 1/3, overlap 2/3, alpha 7/22: worked out in test_agreement_scores.py."""
    first, second = _one_file_each(tmp_path)
    out = tmp_path / "report.json"
    result = run("agreement", first, second, "--output", out)
    assert result.exit_code == 0, result.stderr
    assert "ann@x vs bob@x" in result.stdout
    report = json.loads(out.read_text(encoding="utf-8"))
    (pair,) = report["pairs"]
    assert pair["spans"]["exact"]["micro"]["f1"] == pytest.approx(1 / 3)
    assert pair["spans"]["overlap"]["micro"]["f1"] == pytest.approx(2 / 3)
    assert pair["alpha"] == pytest.approx(7 / 22)
    assert report["load"]["files"] == [str(first), str(second)]
    # An existing report is not overwritten without --force.
    again = run("agreement", first, second, "--output", out)
    _one_error_line(again, str(out), "--force")
    assert run("agreement", first, second, "--output", out, "--force").exit_code == 0


def test_agreement_cli_html_report(tmp_path) -> None:
    """The page shows both versions side by side, each span marked by how it fares in the
    other one; everything from the export is escaped."""
    (only,) = two_annotators()
    only["data"]["title"] = "<script>alert(1)</script>"
    export = write(tmp_path / "e.json", [only])
    out = tmp_path / "report.html"
    result = run("agreement", export, "-o", out)
    assert result.exit_code == 0, result.stderr
    page = out.read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("<h3>ann@x</h3>") == 1 and page.count("<h3>bob@x</h3>") == 1
    side = page[page.index("<h3>ann@x</h3>") : page.index("<h3>bob@x</h3>")]
    assert 'class="u same"' in side and ">AAAA</mark>" in side  # both: same span
    assert 'class="u boundary"' in side and ">BBBB CCCC</mark>" in side  # other boundary
    assert 'class="u only"' in side and ">EEEE</mark>" in side  # bob has no unit there
    other = page[page.index("<h3>bob@x</h3>") :]
    assert ">BB CCCC</mark>" in other and ">DDDD</mark>" in other


def test_agreement_cli_bad_inputs(tmp_path) -> None:
    first, _ = _one_file_each(tmp_path)
    missing = tmp_path / "missing.json"
    _one_error_line(run("agreement", missing), str(missing), "no such file")
    broken = tmp_path / "broken.json"
    broken.write_text("[{", encoding="utf-8")
    _one_error_line(run("agreement", broken), str(broken), "not valid JSON")
    no_text = write(tmp_path / "no-text.json", [{"id": 3, "data": {"title": "x"}}])
    _one_error_line(run("agreement", no_text), str(no_text), "task 3", "text")
    _one_error_line(
        run("agreement", first, "-o", tmp_path / "report.txt"), "report.txt", ".html or .json"
    )
    _one_error_line(run("agreement", first), "no task has two annotators")
    other = write(
        tmp_path / "other.json",
        [task(1, "two", [annotation("bob@x", [], number=9, created="x")], text="DIFFERENT")],
    )
    _one_error_line(run("agreement", first, other), str(other), "task two", "text differs")


def test_adjudicate_cli_gold_export_validates_and_loads(tmp_path) -> None:
    first, second = _one_file_each(tmp_path)
    gold = tmp_path / "gold.json"
    result = run("adjudicate", first, second, "--output", gold, "--policy", "annotator=bob@x")
    assert result.exit_code == 0, result.stderr
    assert "1 tasks adjudicated (annotator=bob@x): 1 with conflicts" in result.stderr
    assert run("validate", "-q", gold).exit_code == 0
    (article,) = load_corpus("labelstudio", gold, annotations="gold")
    assert article.id == "two" and article.meta["studio"]["ground_truth"] is True
    # bob's version (see test_agreement_scores: Claim AAAA, Evidence [7,14), Claim DDDD).
    assert sorted((u.start, u.end) for u in article.units) == [(0, 4), (7, 14), (15, 19)]
    _one_error_line(run("adjudicate", first, second, "-o", gold), str(gold), "--force")


def test_adjudicate_cli_bad_policy(tmp_path) -> None:
    first, second = _one_file_each(tmp_path)
    gold = tmp_path / "gold.json"
    _one_error_line(run("adjudicate", first, "-o", gold, "--policy", "vote"), "vote")
    _one_error_line(
        run("adjudicate", first, second, "-o", gold, "--policy", "annotator=eve@x"),
        "eve@x",
        "ann@x, bob@x",
    )
    assert not gold.exists()


def test_agreement_config_annotations_choice(tmp_path) -> None:
    """Default: one version per task (ground truth, else the latest: bob's, created later);
    gold: only ground truth; annotator=NAME; all: every version."""
    (only,) = two_annotators()
    ann = only["annotations"][0]
    export = write(tmp_path / "e.json", [only])
    by_default = load_corpus("labelstudio", export)
    assert [a.meta["studio"]["annotator"] for a in by_default] == ["bob@x"]
    assert [a.id for a in by_default] == ["two"]
    assert [
        a.meta["studio"]["annotator"]
        for a in load_corpus("labelstudio", export, annotations="annotator=ann@x")
    ] == ["ann@x"]
    assert len(load_corpus("labelstudio", export, annotations="all")) == 2
    with pytest.raises(InputError, match="no labelstudio documents"):  # none is ground truth
        load_corpus("labelstudio", export, annotations="gold")
    ann["ground_truth"] = True
    flagged = write(tmp_path / "flagged.json", [only])
    assert [a.meta["studio"]["annotator"] for a in load_corpus("labelstudio", flagged)] == ["ann@x"]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"format": "webis", "path": "x", "annotations": "gold"}, "only defined for labelstudio"),
        ({"format": "labelstudio", "path": "x", "annotations": "best"}, "gold, all or annotator"),
        ({"format": "labelstudio", "path": "x", "annotations": "annotator="}, "annotator=NAME"),
    ],
)
def test_agreement_config_annotations_key_checked(source, message) -> None:
    from argmine.config import run_config_from_dict

    ok = SourceConfig(format="labelstudio", path="x", annotations="annotator= ann ")
    assert ok.annotations == "annotator=ann"
    with pytest.raises(ConfigError, match=rf"^run\.yaml: data\.sources\.0[.a-z]*: .*{message}"):
        run_config_from_dict(
            {"seed": 1, "output_dir": "o", "data": {"sources": [source]}}, source="run.yaml"
        )


@pytest.mark.slow
def test_agreement_cli_adjudicated_starter_trains_tiny(tmp_path) -> None:
    """The project's own second annotation, adjudicated, is what `argmine train` reads: one
    article per task (40, not 50), ground truth only."""
    gold = tmp_path / "gold.json"
    result = run(
        "adjudicate",
        REPO / "annotations" / "starter.json",
        REPO / "annotations" / "agreement" / "starter-annotator2.json",
        "-o",
        gold,
    )
    assert result.exit_code == 0, result.stderr
    out = tmp_path / "tiny"
    cmd = [
        sys.executable,
        "-m",
        "argmine",
        "train",
        str(REPO / "configs" / "tiny.yaml"),
        "--set",
        f"output_dir={out}",
        "--set",
        f"data.cache_dir={tmp_path / 'cache'}",
        "--set",
        f"data.sources=[{{format: labelstudio, path: {gold}, annotations: gold}}]",
        "--set",
        "train.max_steps=4",
        "--set",
        "train.eval_steps=4",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    stats = json.loads((out / "data_stats.json").read_text(encoding="utf-8"))
    ids = [i for split in ("train", "dev", "test") for i in stats[split]["article_ids"]]
    assert len(ids) == len(set(ids)) == 40
