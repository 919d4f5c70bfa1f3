"""What one dev evaluation of ``argmine train`` costs with and without the forward cache
(argmine.inference.ForwardCache), side by side in one process on a trained model dir.

One evaluation (``dev_scores`` in argmine.train) predicts the dev articles three ways with
the same weights: BIO units, segment units (models with a unit head), gold units with
relations. Without the cache each is its own forward pass; with it, one pass serves all three.
The two variants alternate ``--rounds`` times; the predictions are compared too (they must be
equal). The dev articles are the model dir's split as its ``config.yaml`` draws it.

    .venv/bin/python benchmarks/dev_eval_speed.py models/default --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from argmine.config import load_run_config  # noqa: E402
from argmine.data import load_sources, relations_annotated, split_articles  # noqa: E402
from argmine.inference import ForwardCache, predict_articles  # noqa: E402
from argmine.tag import Tagger  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", type=Path)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    tagger = Tagger.load(args.model, threads=args.threads)
    config = load_run_config(args.model / "config.yaml")
    articles = load_sources(config, labels=list(tagger.spec.labels))
    dev = split_articles(articles, config.data.splits, seed=config.seed)["dev"]
    bare = [a.with_annotations([], []) for a in dev]
    gold = [a for a in dev if relations_annotated(a)]
    modes = ["bio"] + (["segments"] if tagger.network.unit_head is not None else [])

    def evaluation(cache):
        out = []
        for mode in modes:
            out.append(predict_articles(
                tagger.network, tagger.codec, bare, units=mode, encoder=tagger.encoder,
                relations=False, pad_id=tagger.pad_id, batch_size=32, cache=cache,
            ))  # fmt: skip
        out.append(predict_articles(
            tagger.network, tagger.codec, gold, units="gold", encoder=tagger.encoder,
            pad_id=tagger.pad_id, batch_size=32, cache=cache,
        ))  # fmt: skip
        return [[(a.units, a.relations) for a in arts] for arts in out]

    seconds: dict[str, list[float]] = {"three passes": [], "forward cache": []}
    results = {}
    for r in range(args.rounds):
        names = list(seconds) if r % 2 == 0 else list(seconds)[::-1]
        for name in names:
            started = time.perf_counter()
            results[name] = evaluation(ForwardCache() if name == "forward cache" else None)
            seconds[name].append(time.perf_counter() - started)
    same = results["three passes"] == results["forward cache"]
    print(
        f"{args.model}: {len(dev)} dev articles, unit sources {' + '.join(modes)} + gold "
        f"units with relations; {args.rounds} rounds, {args.threads} threads"
    )
    print("| variant | median s per evaluation | speed |")
    print("|---|---|---|")
    base = statistics.median(seconds["three passes"])
    for name, values in seconds.items():
        med = statistics.median(values)
        print(f"| {name} | {med:.2f} | {base / med:.2f}x |")
    print(f"predictions identical: {same}")


if __name__ == "__main__":
    main()
