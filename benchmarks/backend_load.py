"""Load on the Label Studio ML backend: /predict latency and throughput against `argmine tag`.

A real ``argmine serve`` process (127.0.0.1 only) gets ``--requests`` POST /predict requests,
each one Label Studio task holding one 600-word article, from a closed loop of 1, 4 and 8
concurrent clients (each sends its next request when its answer is in). Reported per
concurrency: p50 / p95 latency, errors (non-200, wrong result count), articles/s. In the same
run ``argmine tag`` tags the same articles (same model, same threads) and its own tagging time
(after the model is loaded, as the backend's model is) gives its articles/s; the last line is
``c8_over_tag: X.XX`` (target >= 0.8: the server's batching must not waste the CPU).

Articles: consecutive 600-word pieces of the Webis-Editorials-16 texts (``../shared/corpora``),
else of the starter annotations' texts, repeated if needed.

Run (2 cores; the lead's MiniLM model)::

    flock /tmp/argmine-cpu.lock nice -n 5 .venv/bin/python benchmarks/backend_load.py \\
        --model ../models/webis --threads 2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORDS = 600


def articles_600(n: int) -> list[dict[str, str]]:
    """``n`` articles of 600 words each, cut from consecutive real texts."""
    texts: list[str] = []
    corpus = Path(os.environ.get("ARGMINE_CORPORA", REPO.parent / "shared" / "corpora"))
    webis = corpus / "webis-editorials-16"
    if webis.is_dir():
        from argmine.corpora import load_corpus

        texts = [a.text for a in load_corpus("webis", webis)]
        source = "Webis-Editorials-16"
    if not texts:
        from argmine.corpora.labelstudio import load_export

        texts = [a.text for a in load_export(REPO / "annotations" / "starter.json")]
        source = "starter annotations"
    words = re.findall(r"\S+", "\n\n".join(texts))
    out = []
    for i in range(n):
        start = (i * WORDS) % max(1, len(words) - WORDS)
        out.append({"id": f"load-{i}", "text": " ".join(words[start : start + WORDS])})
    print(f"{n} articles of {WORDS} words from {source}", file=sys.stderr)
    return out


def free_port() -> int:
    from argmine.studio.server import free_port as pick

    return pick()


def start_server(model: Path, port: int, threads: int, workdir: Path) -> subprocess.Popen:
    config = workdir / "backend.yaml"
    config.write_text(f"threads: {threads}\nretrain:\n  every: 0\n", encoding="utf-8")
    log = (workdir / "serve.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "argmine",
            "serve",
            "--model",
            str(model),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--config",
            str(config),
            "--studio-home",
            str(workdir / "none"),
        ],
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    import httpx

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"argmine serve exited: {(workdir / 'serve.log').read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise SystemExit("argmine serve did not start")


async def closed_loop(url: str, articles: list[dict[str, str]], concurrency: int) -> dict:
    import httpx

    queue = list(enumerate(articles))
    latencies: list[float] = []
    errors = 0

    async def client_loop(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while queue:
            i, article = queue.pop(0)
            body = {"tasks": [{"id": i, "data": article}], "project": "1.0"}
            started = time.perf_counter()
            try:
                response = await client.post(f"{url}/predict", json=body)
                ok = response.status_code == 200 and len(response.json()["results"]) == 1
            except (httpx.HTTPError, ValueError, KeyError):
                ok = False
            latencies.append(time.perf_counter() - started)
            errors += not ok

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(timeout=300, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(client_loop(client) for _ in range(concurrency)))
        wall = time.perf_counter() - started
    latencies.sort()
    return {
        "concurrency": concurrency,
        "requests": len(latencies),
        "errors": errors,
        "p50_s": statistics.median(latencies),
        "p95_s": latencies[max(0, round(0.95 * len(latencies)) - 1)],
        "articles_per_s": len(latencies) / wall,
        "wall_s": wall,
    }


def tag_throughput(model: Path, articles: list[dict[str, str]], threads: int, workdir: Path):
    data = workdir / "articles.jsonl"
    data.write_text("".join(json.dumps(a) + "\n" for a in articles), encoding="utf-8")
    out = workdir / "tagged.jsonl"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "argmine",
            "tag",
            str(data),
            "--model",
            str(model),
            "--output",
            str(out),
            "--threads",
            str(threads),
            "--no-progress",
            "--force",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = float(re.search(r" in ([0-9.]+)s ->", run.stderr).group(1))
    return len(articles) / seconds, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", default="1,4,8")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    articles = articles_600(args.requests)
    with tempfile.TemporaryDirectory(prefix="argmine-load-") as tmp:
        workdir = Path(tmp)
        model = workdir / "model"  # a copy: the server writes its versions beside it
        shutil.copytree(args.model, model, ignore=shutil.ignore_patterns("checkpoints"))
        port = free_port()
        proc = start_server(model, port, args.threads, workdir)
        url = f"http://127.0.0.1:{port}"
        try:
            asyncio.run(closed_loop(url, articles[:8], 2))  # warm-up
            rows = [
                asyncio.run(closed_loop(url, articles, int(c))) for c in args.concurrency.split(",")
            ]
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
        tag_rate, tag_seconds = tag_throughput(model, articles, args.threads, workdir)
    print(f"model {args.model}, {args.threads} threads, {args.requests} requests per level")
    print("| concurrency | requests | errors | p50 s | p95 s | articles/s |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['concurrency']} | {r['requests']} | {r['errors']} | {r['p50_s']:.3f} "
            f"| {r['p95_s']:.3f} | {r['articles_per_s']:.2f} |"
        )
    print(f"| argmine tag | {len(articles)} | - | - | - | {tag_rate:.2f} ({tag_seconds:.1f} s) |")
    c8 = next((r for r in rows if r["concurrency"] == 8), rows[-1])
    print(f"c8_over_tag: {c8['articles_per_s'] / tag_rate:.2f}")


if __name__ == "__main__":
    main()
