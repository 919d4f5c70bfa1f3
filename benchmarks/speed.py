"""Tagging speed: argmine's Tagger versus the transformers token-classification pipeline.

Both run the same model directory on the same articles (the Webis-Editorials-16 test split
when ../shared/corpora is there, else the starter annotations), alternately, ``--rounds``
times each, on ``--threads`` CPU threads. Fair by construction:

* the pipeline gets the model's window length (``tokenizer.model_max_length = max_length``)
  and ``stride``, and its best batch size (tried on the articles first);
* argmine runs without its per-class thresholds and minimum lengths and with argmax decoding
  (``thresholds=False, viterbi=False, trim=False``), so both decode the same argmax; the pipeline's
  ``aggregation_strategy="simple"`` entity groups are already character spans, and the
  identity check compares the span sets (start, end, label) article by article.

``identical_spans`` = |argmine spans ∩ pipeline spans| / |argmine spans ∪ pipeline spans|,
pooled over articles. The last line reads ``speedup: X.XX identical_spans: 0.XXX``.

Run (2 cores)::

    .venv/bin/python benchmarks/speed.py --model models/default --threads 2
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))


def load_articles(corpora: Path, limit: int | None, split: str = "test"):
    webis = corpora / "webis-editorials-16"
    if webis.is_dir():
        from argmine.corpora import load_corpus

        articles = load_corpus("webis", webis, split=split)
        name = f"Webis-Editorials-16 {split}"
    else:
        from argmine.studio.convert import load_export

        articles = load_export(REPO / "annotations" / "starter.json")
        name = "starter annotations"
    articles = [a.with_annotations([]) for a in articles]
    if limit:
        articles = articles[:limit]
    return articles, name


def pipeline_spans(outputs) -> set[tuple[int, int, str]]:
    return {(int(e["start"]), int(e["end"]), str(e["entity_group"])) for e in outputs}


def overlap_chars(tagger, article) -> list[tuple[int, int]]:
    """Character ranges covered by two windows of ``article``."""
    windows = tagger.codec.encode(article, with_labels=False)
    npre = len(tagger.codec.prefix)
    ranges = []
    for first, second in itertools.pairwise(windows):
        n_first = first["token_end"] - first["token_start"]
        start = second["offsets"][npre][0]
        end = first["offsets"][npre + n_first - 1][1]
        ranges.append((start, end))
    return ranges


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="models/default", help="model directory")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=16, help="argmine's batch size")
    parser.add_argument(
        "--pipeline-batch-sizes", default="1,4,8,16,32", help="tried for the pipeline"
    )
    parser.add_argument("--limit", type=int, default=None, help="only the first N articles")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    parser.add_argument("--quantize", default=None, choices=["int8"])
    parser.add_argument("--corpora", default=str(REPO.parent / "shared" / "corpora"))
    parser.add_argument("--split", default="test", choices=["train", "dev", "test"])
    args = parser.parse_args(argv)

    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer, pipeline
    from transformers.utils import logging as hf_logging

    from argmine.tag import Tagger

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    torch.set_num_threads(args.threads)
    articles, corpus = load_articles(Path(args.corpora), args.limit, args.split)
    tagger = Tagger.load(args.model, threads=args.threads, dtype=args.dtype, quantize=args.quantize)
    spec = tagger.spec
    n_tokens = sum(len(tagger.codec.tokenize(a.text)[0]) for a in articles)
    texts = [a.text for a in articles]
    print(
        f"corpus: {corpus}, {len(articles)} articles, {n_tokens} tokens; model {args.model} "
        f"(max_length {spec.max_length}, stride {spec.stride}); {args.threads} threads; "
        f"argmine dtype {args.dtype}, quantize {args.quantize}"
    )

    tokenizer = AutoTokenizer.from_pretrained(args.model, local_files_only=True)
    tokenizer.model_max_length = spec.max_length
    hf_model = AutoModelForTokenClassification.from_pretrained(
        args.model, local_files_only=True, use_safetensors=True
    ).eval()

    def make_pipe(batch_size: int):
        return pipeline(
            "token-classification",
            model=hf_model,
            tokenizer=tokenizer,
            aggregation_strategy="simple",
            stride=spec.stride,
            batch_size=batch_size,
            device=-1,
        )

    # The pipeline's best batch size, tried on (up to) the first 20 articles.
    trial = texts[:20]
    best_bs, best_t = 1, float("inf")
    for bs in (int(x) for x in args.pipeline_batch_sizes.split(",")):
        pipe = make_pipe(bs)
        pipe(trial[:2])  # warm-up
        start = time.perf_counter()
        pipe(trial)
        took = time.perf_counter() - start
        print(f"  pipeline batch_size {bs:3d}: {took:6.2f}s on {len(trial)} articles")
        if took < best_t:
            best_bs, best_t = bs, took
    pipe = make_pipe(best_bs)
    print(f"pipeline batch size: {best_bs}")

    def run_argmine():
        return tagger.predict(
            articles, batch_size=args.batch_size, thresholds=False, viterbi=False, trim=False
        )

    def run_pipeline():
        with torch.inference_mode():
            return pipe(texts)

    run_argmine()  # warm-up both
    pipe(texts[:2])
    times: dict[str, list[float]] = {"argmine": [], "pipeline": []}
    results: dict[str, object] = {}
    for r in range(args.rounds):
        for name, fn in (("argmine", run_argmine), ("pipeline", run_pipeline)):
            start = time.perf_counter()
            results[name] = fn()
            times[name].append(time.perf_counter() - start)
        print(
            f"  round {r + 1}: argmine {times['argmine'][-1]:.2f}s, "
            f"pipeline {times['pipeline'][-1]:.2f}s"
        )

    same = union = same_in = union_in = 0
    for tagged, outputs in zip(results["argmine"], results["pipeline"], strict=True):
        ours = {(u.start, u.end, u.label) for u in tagged.units}
        theirs = pipeline_spans(outputs)
        same += len(ours & theirs)
        union += len(ours | theirs)
        # Spans that touch no window overlap: there both decode one window's argmax, so any
        # difference would be a decoding difference, not a stitching one.
        overlaps = overlap_chars(tagger, tagged)
        inside = {s for s in ours | theirs if not any(s[0] < b and s[1] > a for a, b in overlaps)}
        same_in += len(ours & theirs & inside)
        union_in += len(inside)
    identical = same / union if union else 1.0

    for name in ("argmine", "pipeline"):
        t = statistics.median(times[name])
        print(
            f"{name:9s}: median {t:.2f}s  {n_tokens / t:8.0f} tokens/s  "
            f"{len(articles) / t:6.2f} articles/s"
        )
    print(f"spans: {same} identical of {union} distinct (argmine ∪ pipeline)")
    print(
        f"spans away from window overlaps: {same_in} identical of {union_in} "
        f"({same_in / union_in if union_in else 1.0:.3f})"
    )
    if args.quantize or args.dtype != "float32":
        reference = Tagger.load(args.model, threads=args.threads)
        base = reference.predict(articles, batch_size=args.batch_size)
        fast = tagger.predict(articles, batch_size=args.batch_size)
        agree = union_q = 0
        for x, y in zip(base, fast, strict=True):
            a = {(u.start, u.end, u.label) for u in x.units}
            b = {(u.start, u.end, u.label) for u in y.units}
            agree += len(a & b)
            union_q += len(a | b)
        print(
            f"agreement with float32 (full decoding: Viterbi, thresholds, min lengths): "
            f"{agree} identical of {union_q} spans ({agree / union_q if union_q else 1.0:.3f})"
        )
    speedup = statistics.median(times["pipeline"]) / statistics.median(times["argmine"])
    print(f"speedup: {speedup:.2f} identical_spans: {identical:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
