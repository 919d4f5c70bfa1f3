"""Tagging speed: argmine's Tagger versus the transformers token-classification pipeline.

Both run the same model directory on the same articles (the Webis-Editorials-16 test split
when ../shared/corpora is there, else the starter annotations), alternately, ``--rounds``
times each, on ``--threads`` CPU threads. Fair by construction:

* the pipeline gets the model's window length (``tokenizer.model_max_length = max_length``)
  and ``stride``, and its best batch size (tried on the articles first);
* argmine runs without its per-class thresholds and minimum lengths and with argmax decoding
  (``thresholds=False, viterbi=False, trim=False``) and joins overlapping windows the
  pipeline's way (``stitch="longest"``: each window decoded on its own, the longer of two
  overlapping units kept), so both decode the same argmax the same way; the pipeline's
  ``aggregation_strategy="simple"`` entity groups are already character spans, and the
  identity check compares the span sets (start, end, label) article by article. The same
  probabilities are also decoded with argmine's default stitching (``"owned"``: each token from
  the window where it is farthest from an edge), and that identity is printed beside it.

``identical_spans`` = |argmine spans ∩ pipeline spans| / |argmine spans ∪ pipeline spans|,
pooled over articles. The last line reads ``speedup: X.XX identical_spans: 0.XXX``.

The run also prints a *float32 ceiling*: the multiply-adds of the model's linear layers and
attention over argmine's windows, divided by the matrix-multiply speed measured on this machine
(torch.matmul in the FFN's shape, same threads), is the least time any float32 implementation
of this model needs; the pipeline's time over it bounds the speed-up float32 can reach here.

Run (2 cores)::

    .venv/bin/python benchmarks/speed.py --model models/default --threads 2
"""

from __future__ import annotations

import argparse
import itertools
import platform
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
        from argmine.corpora.labelstudio import load_export

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


def matmul_gflops(hidden: int, intermediate: int, threads: int, seconds: float = 2.0) -> float:
    """Best float32 torch.matmul speed (GFLOP/s) in the FFN's shape: 4096 tokens x hidden @
    hidden x intermediate, the layer shape that dominates a BERT encoder's time."""
    import torch

    torch.set_num_threads(threads)
    a = torch.randn(4096, hidden)
    b = torch.randn(hidden, intermediate)
    flops = 2.0 * 4096 * hidden * intermediate
    best = 0.0
    end = time.perf_counter() + seconds
    with torch.inference_mode():
        torch.matmul(a, b)
        while time.perf_counter() < end:
            start = time.perf_counter()
            torch.matmul(a, b)
            best = max(best, flops / (time.perf_counter() - start) / 1e9)
    return best


def model_flops(model, window_lengths: list[int]) -> float:
    """FLOPs (2 per multiply-add) of a BERT-style encoder over windows of the given lengths:
    every nn.Linear once per token, plus attention scores and weighted sums (2 x n x hidden
    multiply-adds per token per layer for a window of n tokens)."""
    import torch

    linear = sum(
        m.in_features * m.out_features for m in model.modules() if isinstance(m, torch.nn.Linear)
    )
    config = model.config
    layers, hidden = config.num_hidden_layers, config.hidden_size
    return sum(2.0 * n * linear + layers * 4.0 * n * n * hidden for n in window_lengths)


def unit_spans(article) -> set[tuple[int, int, str]]:
    return {(u.start, u.end, u.label) for u in article.units}


def span_identity(pairs) -> tuple[int, int]:
    """(identical, distinct) spans pooled over ``(span set, span set)`` pairs."""
    same = union = 0
    for ours, theirs in pairs:
        same += len(ours & theirs)
        union += len(ours | theirs)
    return same, union


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

    from argmine.tag import Tagger, cpu_has_bf16_matmul

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
        f"argmine dtype {args.dtype}, quantize {args.quantize}; CPU {platform.machine()} "
        f"{torch.backends.cpu.get_cpu_capability()}, bfloat16 matrix units: "
        f"{'yes' if cpu_has_bf16_matmul() else 'no'}; torch {torch.__version__}"
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
            articles,
            batch_size=args.batch_size,
            thresholds=False,
            viterbi=False,
            trim=False,
            stitch="longest",
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

    same, union = span_identity(
        (unit_spans(a), pipeline_spans(o))
        for a, o in zip(results["argmine"], results["pipeline"], strict=True)
    )
    identical = same / union if union else 1.0
    # The same argmax decoded with argmine's default stitching, and where that differs.
    owned = []
    same_in = union_in = 0
    for article, outputs, (windows, probs) in zip(
        articles, results["pipeline"], tagger.window_probs(articles), strict=True
    ):
        units = tagger.codec.decode(article, windows, probs, viterbi=False, trim=False)
        owned.append(article.with_annotations(units))
        ours = unit_spans(owned[-1])
        theirs = pipeline_spans(outputs)
        # Spans that touch no window overlap: there both stitchings decode one window.
        overlaps = overlap_chars(tagger, article)
        inside = {s for s in ours | theirs if not any(s[0] < b and s[1] > a for a, b in overlaps)}
        same_in += len(ours & theirs & inside)
        union_in += len(inside)
    same_owned, union_owned = span_identity(
        (unit_spans(a), pipeline_spans(o)) for a, o in zip(owned, results["pipeline"], strict=True)
    )

    for name in ("argmine", "pipeline"):
        t = statistics.median(times[name])
        print(
            f"{name:9s}: median {t:.2f}s  {n_tokens / t:8.0f} tokens/s  "
            f"{len(articles) / t:6.2f} articles/s"
        )
    print(f"spans, stitch='longest': {same} identical of {union} distinct (argmine ∪ pipeline)")
    print(
        f"spans, argmine's default stitch='owned': {same_owned} identical of {union_owned} "
        f"({same_owned / union_owned if union_owned else 1.0:.3f}); away from window overlaps "
        f"{same_in} of {union_in} ({same_in / union_in if union_in else 1.0:.3f})"
    )

    lengths = [
        len(w["input_ids"]) for a in articles for w in tagger.codec.encode(a, with_labels=False)
    ]
    flops = model_flops(hf_model, lengths)  # the float model: quantized layers are no nn.Linear
    config = hf_model.config
    peak = matmul_gflops(config.hidden_size, config.intermediate_size, args.threads)
    floor = flops / (peak * 1e9)
    t_argmine = statistics.median(times["argmine"])
    print(
        f"float32 ceiling: {flops / 1e9:.0f} GFLOP over {len(lengths)} windows; matmul peak "
        f"{peak:.0f} GFLOP/s here -> at least {floor:.2f}s; argmine ran at "
        f"{flops / t_argmine / 1e9:.0f} GFLOP/s ({flops / t_argmine / 1e9 / peak:.0%} of peak); "
        f"the best float32 speed-up over this pipeline run is "
        f"{statistics.median(times['pipeline']) / floor:.2f}"
    )
    if args.quantize or args.dtype != "float32":
        reference = Tagger.load(args.model, threads=args.threads)
        base = reference.predict(articles, batch_size=args.batch_size)
        fast = tagger.predict(articles, batch_size=args.batch_size)
        agree, union_q = span_identity(
            (unit_spans(x), unit_spans(y)) for x, y in zip(base, fast, strict=True)
        )
        print(
            f"agreement with float32 (full decoding: Viterbi, thresholds, min lengths): "
            f"{agree} identical of {union_q} spans ({agree / union_q if union_q else 1.0:.3f})"
        )
    speedup = statistics.median(times["pipeline"]) / statistics.median(times["argmine"])
    print(f"speedup: {speedup:.2f} identical_spans: {identical:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
