"""How the pair ranker should read predicted units' labels: relation F1 end to end (and span F1,
which moves where labels are read off the graph) of finished CV fold models, dev and test, for
each ``relations.ranker.label_temperature``.

On predicted units the ranker can score each pair in expectation over the two units' label
distributions (segment units: the unit head's; BIO units: their token tags',
argmine.inference.tag_label_dists), raised to ``1 / t`` (t = 0: the labels as if certain; 1:
as given; larger: flatter). The fold models keep everything else they chose on dev (decoding,
threshold, rule bonus, the ranker's share); counts pooled over the folds. The temperature is
chosen on the dev rows (docs/benchmarks.md, "Session 12", "Session 13"):

    .venv/bin/python benchmarks/relations.py --only starter --runs RUNS     # the fold models
    .venv/bin/python benchmarks/label_temperature.py RUNS/starter-cv --temps 0,0.5,1,2,4,8,16
    .venv/bin/python benchmarks/relations.py --only micro --runs RUNS       # microtexts folds
    .venv/bin/python benchmarks/label_temperature.py RUNS/microtexts --temps 0,0.5,1,2,4
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "benchmarks"))

from relations import RELATIONS, fold_dirs  # noqa: E402

from argmine.config import load_run_config  # noqa: E402
from argmine.data import load_sources, split_articles  # noqa: E402
from argmine.document import iter_jsonl_articles  # noqa: E402
from argmine.evaluate import relation_scores, span_scores  # noqa: E402


def main() -> int:
    from argmine.tag import Tagger

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("runs", type=Path, help="a CV run's directory (fold-0, fold-1, ...)")
    ap.add_argument("--temps", default="0,0.5,1,2,4,8,16")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    temps = [float(x) for x in args.temps.split(",")]
    folds = fold_dirs(args.runs)
    if not folds:
        print(f"no fold models under {args.runs}", file=sys.stderr)
        return 1
    # (split, temperature, what) -> pooled tp / fp / fn; what: relations, overlap, exact
    pooled: dict[tuple[str, float, str], list[int]] = {}

    def add(key: tuple[str, float, str], micro: dict) -> None:
        acc = pooled.setdefault(key, [0, 0, 0])
        for k, name in enumerate(("tp", "fp", "fn")):
            acc[k] += micro[name]

    for fold in folds:
        tagger = Tagger.load(fold, threads=args.threads)
        # a fold whose dev chose the head alone has no ranker: the temperature changes nothing
        # there, but its counts stay in the pool, so t = 0 is the CV's own end-to-end figure
        config = load_run_config(fold / "config.yaml")
        articles = load_sources(config, labels=list(tagger.spec.labels))
        dev = split_articles(articles, config.data.splits, seed=config.seed)["dev"]
        test = list(iter_jsonl_articles((fold / "test.jsonl").open(encoding="utf-8")))
        cells = []
        for split, gold in (("dev", dev), ("test", test)):
            bare = [a.with_annotations([], []) for a in gold]
            for t in temps:
                # the tag API with only the temperature changed: every decoding option
                # (thresholds, Viterbi, edge trimming, stitching) as the model dir says
                tagger.spec = replace(
                    tagger.spec, relations={**tagger.spec.relations, "label_temperature": t}
                )
                pred = tagger.predict(bare)
                m = relation_scores(gold, pred, labels=RELATIONS)["overlap"]["micro"]
                add((split, t, "relations"), m)
                found = span_scores(gold, pred, labels=list(tagger.spec.labels))
                for crit in ("overlap", "exact"):
                    add((split, t, crit), found[crit]["micro"])
                cells.append(f"{split} t={t:g} {m['f1']:.3f}")
        share = f"head share {tagger.ranker_mix:g}" if tagger.ranker is not None else "no ranker"
        print(f"{fold.name} ({share}): " + " | ".join(cells), flush=True)

    def f1(tp: int, fp: int, fn: int) -> float:
        return 2 * tp / (2 * tp + fp + fn) if tp else 0.0

    print("\npooled over the folds: relation F1 end to end (tp / fp / fn); span overlap / exact F1")
    for split, t in sorted({key[:2] for key in pooled}):
        tp, fp, fn = pooled[(split, t, "relations")]
        print(
            f"  {split:4s} t={t:<5g} {f1(tp, fp, fn):.4f}  ({tp} / {fp} / {fn})"
            f"  spans {f1(*pooled[(split, t, 'overlap')]):.4f}"
            f" / {f1(*pooled[(split, t, 'exact')]):.4f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
