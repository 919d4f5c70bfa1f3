"""benchmarks/speed.py end to end on the tiny model: it runs, prints its last line in the
agreed format, and argmine's pipeline-compatible decoding reproduces the pipeline's spans."""

from __future__ import annotations

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
