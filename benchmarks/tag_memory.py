"""Peak memory of ``argmine tag`` as the corpus grows: 1k, 10k and 100k short articles.

Each size runs ``argmine tag`` in a fresh process on one JSONL file of short articles (two
sentences each) with the tiny model (``configs/tiny.yaml``, trained here into a temporary
directory unless ``--model`` is given) and reads the child's peak resident set size
(``ru_maxrss`` from ``wait4``). Inputs are streamed and the output appended per chunk, so the
peak should not grow with the corpus: the target is ``peak(100k) <= 1.2 x peak(1k)``. The last
line reads ``ratio_max_over_smallest: X.XX``.

Run (2 cores; the 100k run takes a while)::

    .venv/bin/python benchmarks/tag_memory.py --sizes 1000 10000 100000 --threads 1
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SENTENCES = (
    "Critics argue the plan will fail because costs rose {n} percent last year.",
    "The ministry said on Monday that {n} schools had closed.",
    "So the council must act now.",
)


def write_corpus(path: Path, n: int) -> int:
    with path.open("w", encoding="utf-8") as handle:
        for i in range(n):
            text = f"{SENTENCES[i % 3].format(n=i % 97)} {SENTENCES[(i + 1) % 3].format(n=i % 89)}"
            handle.write(json.dumps({"id": f"a{i:06d}", "text": text}) + "\n")
    return path.stat().st_size


def train_tiny(folder: Path) -> Path:
    from argmine.config import load_run_config
    from argmine.train import train

    out = folder / "tiny-model"
    config = load_run_config(
        REPO / "configs" / "tiny.yaml", overrides=[f"output_dir={out}", "train.max_steps=10"]
    )
    train(config, force=True)
    return out


def peak_rss(cmd: list[str]) -> tuple[int, float, int]:
    """(peak RSS in KiB, seconds, exit status) of ``cmd`` run in a child process."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        sys.stderr.write(proc.stderr.read().decode("utf-8", "replace")[-2000:])
    return usage.ru_maxrss, seconds, proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--model", type=Path, help="model dir (default: train the tiny one)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--chunk-size", type=int, default=64)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="argmine-tag-memory-") as tmp:
        folder = Path(tmp)
        model = args.model or train_tiny(folder)
        rows = []
        for n in args.sizes:
            corpus = folder / f"in-{n}.jsonl"
            size = write_corpus(corpus, n)
            out = folder / f"out-{n}.jsonl"
            cmd = [sys.executable, "-m", "argmine", "tag", str(corpus), "--model", str(model)]
            cmd += ["-o", str(out), "--no-progress", "--threads", str(args.threads)]
            cmd += ["--chunk-size", str(args.chunk_size), "--force"]
            rss, seconds, code = peak_rss(cmd)
            if code:
                raise SystemExit(f"argmine tag failed on {n} articles (exit {code})")
            lines = sum(1 for _ in out.open(encoding="utf-8"))
            assert lines == n, (lines, n)
            rows.append((n, size, rss, seconds))
            written = out.stat().st_size / 1e6
            print(
                f"articles {n:>7}  input {size / 1e6:7.1f} MB  output {written:7.1f} MB  "
                f"peak RSS {rss / 1024:7.1f} MiB  {seconds:7.1f} s  {n / seconds:6.0f} art/s",
                flush=True,
            )
            out.unlink()
            corpus.unlink()
        smallest = rows[0][2]
        ratio = max(r[2] for r in rows) / smallest
        print(f"ratio_max_over_smallest: {ratio:.2f}")


if __name__ == "__main__":
    main()
