"""The span second stage (argmine.stage2) on a trained model, decoding only (no retraining).

Rebuilds the model's dev and test splits from its run config (seeded split, as ``argmine
train`` made them), runs the model once over both, and scores side by side on dev and test:
the first-stage unit sources (``bio``, ``segments``; each with per-label thresholds tuned on
dev exactly as ``argmine train`` tunes them) and second stages fitted on the dev predictions
(thresholds and minimum lengths tuned on out-of-fold dev probabilities; the dev column is that
out-of-fold score, so it is honest). Span F1 from ``argmine.evaluate.span_scores`` (micro;
exact, and overlap >= 0.5 both ways).

    .venv/bin/python benchmarks/stage2.py --model models/default
    .venv/bin/python benchmarks/stage2.py --model models/microtexts/fold-0

The splits are rebuilt from the model dir's ``config.yaml`` (or ``--config``) and checked
against its ``data_stats.json``: a config that has changed since the model was trained is
refused rather than scored on articles it trained on.

Prints a markdown table (for docs/benchmarks.md) and writes the numbers to ``--json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from argmine.config import load_run_config
from argmine.data import load_sources, split_articles
from argmine.evaluate import span_scores
from argmine.inference import predict_articles, stage2_inputs
from argmine.stage2 import fit
from argmine.tag import Tagger
from argmine.train import _filter, map_relation_labels, tune_thresholds

VARIANTS = {
    "stage2, config defaults (bio + segments candidates, target best)": {},
    "stage2, + sentences candidates": {"sources": ("bio", "segments", "sentences")},
    "stage2, target overlap": {"target": "overlap"},
    "stage2, segments candidates only": {"sources": ("segments",)},
    "stage2, bio candidates only": {"sources": ("bio",)},
}


def _f1(scores: dict[str, Any]) -> tuple[float, float]:
    return scores["overlap"]["micro"]["f1"], scores["exact"]["micro"]["f1"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="a trained model directory")
    parser.add_argument(
        "--config",
        default=None,
        help="the run config it was trained from (default: the model dir's config.yaml)",
    )
    parser.add_argument("--set", action="append", default=[], help="config override key=value")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", default=None, help="write the numbers here")
    args = parser.parse_args()

    config = load_run_config(args.config or Path(args.model) / "config.yaml", overrides=args.set)
    tagger = Tagger.load(args.model, threads=args.threads)
    labels = list(tagger.spec.labels)
    articles = load_sources(config, labels=labels)
    rcfg = config.relations
    if rcfg is not None and rcfg.enabled and rcfg.labels:
        articles = [map_relation_labels(a, rcfg.labels) for a in articles]
    splits = split_articles(articles, config.data.splits, seed=config.seed)
    stats_path = Path(args.model) / "data_stats.json"
    if stats_path.is_file():  # the rebuilt splits must be the ones the model was trained on
        stats = json.loads(stats_path.read_text(encoding="utf-8"))
        for name, arts in splits.items():
            want = sorted(stats.get(name, {}).get("article_ids", []))
            if want and sorted(a.id for a in arts) != want:
                raise SystemExit(f"{name} split differs from {stats_path}: wrong config?")
    dev, test = splits["dev"], splits["test"]
    seen = {u.label for a in splits["train"] for u in a.units}
    eval_labels = [x for x in labels if x in seen] or labels
    print(f"model {args.model}: dev {len(dev)} articles, test {len(test)} articles")
    bare = {name: [a.with_annotations([], []) for a in arts] for name, arts in splits.items()}

    rows: list[dict[str, Any]] = []
    common = dict(
        encoder=tagger.encoder,
        relations=False,
        min_words=tagger.spec.min_words,
        pad_id=tagger.pad_id,
        batch_size=16,
    )
    modes = ["bio"] + (["segments"] if getattr(tagger.network, "unit_head", None) else [])
    for mode in modes:
        started = time.perf_counter()
        dev_pred = predict_articles(tagger.network, tagger.codec, bare["dev"], units=mode, **common)
        test_pred = predict_articles(
            tagger.network, tagger.codec, bare["test"], units=mode, **common
        )
        seconds = time.perf_counter() - started
        thresholds = tune_thresholds(dev, dev_pred, labels=eval_labels)
        d = _f1(span_scores(dev, _filter(dev_pred, thresholds), labels=eval_labels))
        t = _f1(span_scores(test, _filter(test_pred, thresholds), labels=eval_labels))
        rows.append(
            {
                "name": f"first stage: {mode} (thresholds tuned on dev)",
                "dev": d,
                "test": t,
                "fit_s": 0.0,
                "tag_s": seconds,
                "thresholds": thresholds,
            }
        )

    started = time.perf_counter()
    dev_in = stage2_inputs(tagger.network, tagger.codec, bare["dev"], encoder=tagger.encoder)
    test_in = stage2_inputs(tagger.network, tagger.codec, bare["test"], encoder=tagger.encoder)
    forward_s = time.perf_counter() - started
    for name, options in VARIANTS.items():
        model = fit(
            dev,
            dev_in,
            labels,
            eval_labels=eval_labels,
            seed=config.seed,
            threads=args.threads,
            **options,
        )
        if model is None:
            continue
        started = time.perf_counter()
        pred = [inp.article.with_annotations(model.predict_units(inp), []) for inp in test_in]
        decode_s = time.perf_counter() - started
        t = _f1(span_scores(test, pred, labels=eval_labels))
        r = model.report
        rows.append(
            {
                "name": name,
                "dev": (r["dev_oof_overlap_f1"], r["dev_oof_exact_f1"]),
                "test": t,
                "fit_s": r["fit_seconds"],
                "tag_s": forward_s + decode_s,
                "decode_s": decode_s,
                "thresholds": model.thresholds,
                "min_words": model.min_words,
                "candidates": r["candidates"],
                "positives": r["positives"],
                "candidate_recall": r["candidate_recall"],
            }
        )

    print()
    print(
        "| units | dev overlap F1 | dev exact F1 | test overlap F1 | test exact F1 "
        "| fit s | tag s (dev+test) |"
    )
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['name']} | {row['dev'][0]:.3f} | {row['dev'][1]:.3f} | {row['test'][0]:.3f} "
            f"| {row['test'][1]:.3f} | {row['fit_s']:.1f} | {row['tag_s']:.1f} |"
        )
    for row in rows:
        extra = {k: v for k, v in row.items() if k not in ("name", "dev", "test")}
        print(f"{row['name']}: {json.dumps(extra)}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
