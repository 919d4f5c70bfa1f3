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


PATHS = ("pipeline", "float32", "bfloat16", "int8", "ray")
CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_tile", "amx_bf16", "amx_int8")


def cpu_flags() -> str:
    """What this CPU offers for fast inference: torch's view and /proc/cpuinfo's flags."""
    import torch

    flags: set[str] = set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    model = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor() or platform.machine(),
        )
        if Path("/proc/cpuinfo").exists()
        else platform.machine()
    )
    has = ", ".join(f"{f} {'yes' if f in flags else 'no'}" for f in CPU_FLAGS)
    amx = getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)()
    bf16 = getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)()
    return (
        f"CPU: {model}; torch capability {torch.backends.cpu.get_cpu_capability()}, "
        f"torch AMX tiles {'yes' if amx else 'no'}, torch AVX512-BF16 {'yes' if bf16 else 'no'}; "
        f"/proc/cpuinfo: {has}"
    )


def compare_paths(args) -> int:
    """Every path of ``--paths`` over the same articles (Webis dev + test), one after the other:
    seconds and tokens/s, and span F1 (overlap micro, full decoding: Viterbi, thresholds,
    minimum lengths) on dev and on test against gold, with its drop from float32 (a path
    passes if the drop is <= 0.01 on both). The pipeline is timed only (its spans come from
    another decoder, so its F1 would not measure the precision). int8: static quantization
    with ONNX Runtime calibrated on dev windows (argmine.quantize). ray: the Ray engine with 2
    local workers of 1 CPU and 1 thread each, from a JSONL file to a JSONL file (the time
    includes starting the actors and loading the model in them, not starting the local
    Ray instance)."""
    import json
    import tempfile

    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer, pipeline
    from transformers.utils import logging as hf_logging

    from argmine.corpora import load_corpus
    from argmine.document import dumps_article, iter_jsonl_articles
    from argmine.evaluate import span_scores
    from argmine.tag import Tagger

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    unknown = [p for p in paths if p not in PATHS]
    if unknown:
        raise SystemExit(f"unknown --paths {unknown}; choose from {', '.join(PATHS)}")
    torch.set_num_threads(args.threads)
    webis = Path(args.corpora) / "webis-editorials-16"
    gold = {
        split: load_corpus("webis", webis, split=split)[: args.limit or None]
        for split in ("dev", "test")
    }
    articles = [a.with_annotations([]) for split in ("dev", "test") for a in gold[split]]
    reference = Tagger.load(args.model, threads=args.threads)
    labels = list(reference.spec.labels)
    n_tokens = sum(len(reference.codec.tokenize(a.text)[0]) for a in articles)
    print(cpu_flags())
    print(
        f"articles: Webis-Editorials-16 dev {len(gold['dev'])} + test {len(gold['test'])} = "
        f"{len(articles)}, {n_tokens} tokens; model {args.model}; {args.threads} threads; "
        f"torch {torch.__version__}"
    )

    def f1s(pred) -> dict[str, float]:
        by_id = {a.id: a for a in pred}
        return {
            split: span_scores(gold[split], [by_id[a.id] for a in gold[split]], labels=labels)[
                "overlap"
            ]["micro"]["f1"]
            for split in ("dev", "test")
        }

    def timed(fn):
        fn_result = None
        best = float("inf")
        for _ in range(args.rounds):
            start = time.perf_counter()
            fn_result = fn()
            best = min(best, time.perf_counter() - start)
        return best, fn_result

    rows: list[tuple[str, float, dict[str, float] | None, object]] = []
    base_pred = None
    for path in paths:
        note = ""
        if path == "pipeline":
            tokenizer = AutoTokenizer.from_pretrained(args.model, local_files_only=True)
            tokenizer.model_max_length = reference.spec.max_length
            hf_model = AutoModelForTokenClassification.from_pretrained(
                args.model, local_files_only=True, use_safetensors=True
            ).eval()
            pipe = pipeline(
                "token-classification",
                model=hf_model,
                tokenizer=tokenizer,
                aggregation_strategy="simple",
                stride=reference.spec.stride,
                batch_size=8,
                device=-1,
            )
            texts = [a.text for a in articles]
            pipe(texts[:2])

            def run(pipe=pipe, texts=texts):
                with torch.inference_mode():
                    return pipe(texts)

            seconds, _ = timed(run)
            rows.append((path, seconds, None, "batch 8; speed reference, no F1"))
            print(f"  {path}: {seconds:.1f}s", flush=True)
            continue
        if path == "ray":
            import ray

            from argmine.engines.ray import connect, tag_files_ray

            connect(None, num_cpus=2)  # the instance is started before the clock runs
            with tempfile.TemporaryDirectory() as tmp:
                src = Path(tmp) / "in.jsonl"
                src.write_text("".join(dumps_article(a) + "\n" for a in articles))

                def run(src=src, tmp=tmp):
                    out = Path(tmp) / "out.jsonl"
                    tag_files_ray(
                        [str(src)],
                        model_dir=args.model,
                        output=out,
                        force=True,
                        workers=2,
                        worker_cpus=1,
                        threads=1,
                        batch_size=args.batch_size,
                        chunk_size=16,
                        progress=False,
                    )
                    with out.open(encoding="utf-8") as handle:
                        return list(iter_jsonl_articles(handle))

                seconds, pred = timed(run)
            ray.shutdown()
            note = "2 workers x 1 thread, chunk 16; incl. actor start and model load"
        else:
            if path == "int8":
                from argmine.quantize import export_int8, int8_tagger

                with tempfile.TemporaryDirectory() as tmp:
                    start = time.perf_counter()
                    onnx_path = export_int8(
                        args.model,
                        [a.with_annotations([]) for a in gold["dev"]],
                        Path(tmp) / "int8.onnx",
                        windows=args.int8_calibration_windows,
                        threads=args.threads,
                    )
                    note = (
                        f"ONNX Runtime QDQ, {args.int8_calibration_windows} dev windows, "
                        f"export+calibration {time.perf_counter() - start:.0f}s"
                    )
                    tagger = int8_tagger(args.model, onnx_path, threads=args.threads)
            elif path == "bfloat16":
                tagger = Tagger.load(args.model, threads=args.threads, dtype="bfloat16")
                note = "autocast"
            else:
                tagger = reference
            tagger.predict(articles[:2], batch_size=args.batch_size)  # warm-up
            seconds, pred = timed(
                lambda tagger=tagger: tagger.predict(articles, batch_size=args.batch_size)
            )
        scores = f1s(pred)
        if path == "float32":
            base_pred = pred
        rows.append((path, seconds, scores, (note, pred)))
        print(
            f"  {path}: {seconds:.1f}s, dev F1 {scores['dev']:.4f}, test F1 {scores['test']:.4f}",
            flush=True,
        )

    base = next((r[2] for r in rows if r[0] == "float32"), None)
    t_pipe = next((r[1] for r in rows if r[0] == "pipeline"), None)
    print(
        "| path | time | tokens/s | vs pipeline | dev F1 | test F1 | drop (dev, test) | "
        "spans identical to float32 | pass | note |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    verdicts = []
    for path, seconds, scores, extra in rows:
        speed = f"{t_pipe / seconds:.2f}x" if t_pipe else "-"
        if scores is None:
            print(
                f"| {path} | {seconds:.1f} s | {n_tokens / seconds:.0f} | {speed} | - | - | - | - "
                f"| - | {extra} |"
            )
            continue
        note, pred = extra
        if base is not None:
            drops = (base["dev"] - scores["dev"], base["test"] - scores["test"])
            ok = max(drops) <= 0.01
            same, union = span_identity(
                (unit_spans(x), unit_spans(y))
                for x, y in zip(
                    sorted(base_pred, key=lambda a: a.id),
                    sorted(pred, key=lambda a: a.id),
                    strict=True,
                )
            )
            identity = f"{same / union if union else 1.0:.3f}"
            drop = f"{drops[0]:+.3f}, {drops[1]:+.3f}"
        else:
            ok, identity, drop = None, "-", "-"
        verdicts.append(f"{path}={'pass' if ok else 'fail' if ok is not None else '-'}")
        print(
            f"| {path} | {seconds:.1f} s | {n_tokens / seconds:.0f} | {speed} | "
            f"{scores['dev']:.4f} | {scores['test']:.4f} | {drop} | {identity} | "
            f"{'yes' if ok else 'no' if ok is not None else '-'} | {note} |"
        )
    print(json.dumps({"paths": verdicts}))
    return 0


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
    parser.add_argument(
        "--paths",
        default=None,
        help="compare inference paths by speed and F1 instead (comma list of "
        f"{','.join(PATHS)}; see compare_paths)",
    )
    parser.add_argument("--int8-calibration-windows", type=int, default=64)
    args = parser.parse_args(argv)
    if args.paths:
        return compare_paths(args)

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
