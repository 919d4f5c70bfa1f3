"""benchmarks/speed.py end to end on the tiny model: it runs, prints its last line in the
agreed format, and argmine's pipeline-compatible decoding reproduces the pipeline's spans."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]


def test_benchmark_speed_last_line_and_identity(tiny_model, tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "speed.py"),
            "--model",
            str(tiny_model),
            "--threads",
            "1",
            "--rounds",
            "1",
            "--limit",
            "4",
            "--pipeline-batch-sizes",
            "2,4",
            # an empty folder: the benchmark falls back to the starter annotations
            "--corpora",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    assert "starter annotations, 4 articles" in lines[0]
    match = re.fullmatch(r"speedup: (\d+\.\d\d) identical_spans: (\d\.\d\d\d)", lines[-1])
    assert match, lines[-1]
    assert float(match.group(1)) > 0
    assert match.group(2) == "1.000", proc.stdout
    assert any(line.startswith("float32 ceiling: ") for line in lines)


def test_benchmark_speed_paths_table_and_verdicts(tiny_model, corpora):
    pytest.importorskip("onnxruntime")
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "speed.py"),
            "--model",
            str(tiny_model),
            "--threads",
            "1",
            "--rounds",
            "1",
            "--limit",
            "2",
            "--corpora",
            str(corpora),
            "--paths",
            "pipeline,float32,bfloat16",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    assert lines[0].startswith("CPU: ") and "amx_tile " in lines[0] and "avx2 " in lines[0]
    rows = {line.split(" | ")[0][2:]: line.split(" | ") for line in lines if line.startswith("| ")}
    assert set(rows) >= {"pipeline", "float32", "bfloat16"}
    assert rows["float32"][6] == "+0.000, +0.000" and rows["float32"][7] == "1.000"
    assert json.loads(lines[-1])["paths"][0] == "float32=pass"
