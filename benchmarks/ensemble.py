"""Span-level ensembling (``argmine tag --ensemble``, #12 item 5) beside its members, same
articles, same run: dev (where ``--min-share`` is chosen) and test, span F1, relation F1 end
to end and with gold units, attachment, and tagging seconds.

Two model dirs (or more), or two cross-validation runs whose ``fold-<k>`` dirs are paired
(counts pooled over the folds); dev articles are each model dir's own dev split
(``data_stats.json`` ids, loaded from the sources of its ``config.yaml``), test its
``test.jsonl``::

    .venv/bin/python benchmarks/ensemble.py --models models/webis models/webis-seed14
    .venv/bin/python benchmarks/ensemble.py --cv runs/micro-a/microtexts runs/micro-b/microtexts

Prints one table per split, the members first; ``--json`` writes every number.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARES = (0.5, 1.0)


def _articles(model_dir: Path, split: str) -> list:
    from argmine.config import load_run_config
    from argmine.data import load_sources
    from argmine.document import iter_jsonl_articles

    if split == "test":
        with (model_dir / "test.jsonl").open(encoding="utf-8") as handle:
            return list(iter_jsonl_articles(handle))
    stats = json.loads((model_dir / "data_stats.json").read_text())
    ids = stats[split]["article_ids"]
    config = load_run_config(model_dir / "config.yaml")
    spec = json.loads((model_dir / "argmine.json").read_text())
    by_id = {a.id: a for a in load_sources(config, labels=spec["labels"])}
    return [by_id[i] for i in ids]


def _counts(scores: dict) -> dict[str, list[int]]:
    """tp / fp / fn of what the table shows, to pool over folds."""
    out = {}
    for crit in ("overlap", "exact"):
        m = scores[crit]["micro"]
        out[f"span_{crit}"] = [m["tp"], m["fp"], m["fn"]]
    for key, name in (("relations", "rel_e2e"), ("relations_gold_units", "rel_gold")):
        if key in scores:
            m = scores[key]["overlap"]["micro"]
            out[name] = [m["tp"], m["fp"], m["fn"]]
    att = scores.get("attachment_gold_units")
    if att:
        out["attach_counts"] = [int(att[k]) for k in ("tp", "fp", "fn", "tn")]
    return out


def _f1(tp: int, fp: int, fn: int) -> float:
    return tp / (tp + 0.5 * (fp + fn)) if tp + fp + fn else 0.0


def _row(counts: dict[str, list[int]]) -> dict[str, float]:
    from argmine.evaluate import attachment_from_counts

    row = {k: _f1(*v) for k, v in counts.items() if k != "attach_counts"}
    if "attach_counts" in counts:
        tp, fp, fn, tn = counts["attach_counts"]
        row["attachment_macro"] = attachment_from_counts({"tp": tp, "fp": fp, "fn": fn, "tn": tn})[
            "macro_f1"
        ]
    return row


def score_group(members: list[Path], split: str, *, threads: int) -> dict[str, dict]:
    """Each member alone and the ensembles, on ``split`` of the first member."""
    from argmine.tag import evaluate_model

    gold = _articles(members[0], split)
    out = {}
    settings = [(f"member {k + 1}", [m], 0.5) for k, m in enumerate(members)]
    settings += [(f"ensemble, min_share {s:g}", members, s) for s in SHARES]
    for name, dirs, share in settings:
        started = time.perf_counter()
        scores = evaluate_model(
            dirs[0], gold, threads=threads, baseline=False, ensemble=dirs[1:], min_share=share
        )
        out[name] = {"counts": _counts(scores), "seconds": time.perf_counter() - started}
    return out


def tagging_cost(members: list[Path], *, threads: int, rounds: int = 3) -> dict[str, float]:
    """Seconds to tag the first member's test articles (bare) with the first member alone and
    with the ensemble, interleaved, best of ``rounds`` each (models loaded once)."""
    from argmine.tag import Ensemble, Tagger

    articles = [a.with_annotations([]) for a in _articles(members[0], "test")]
    single = Tagger.load(members[0], threads=threads)
    ensemble = Ensemble.load(members, threads=threads)
    best = {"single": float("inf"), "ensemble": float("inf")}
    for _ in range(rounds):
        for name, predictor in (("single", single), ("ensemble", ensemble)):
            started = time.perf_counter()
            predictor.predict(articles)
            best[name] = min(best[name], time.perf_counter() - started)
    return {**best, "ratio": best["ensemble"] / best["single"], "articles": len(articles)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--models", nargs="+", type=Path, help="model dirs (the first: primary)")
    group.add_argument("--cv", nargs="+", type=Path, help="CV run dirs with fold-<k>/ each")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--cost-only", action="store_true", help="only the tagging time, single vs ensemble"
    )
    args = parser.parse_args(argv)
    dirs = args.models or args.cv
    if len(dirs) < 2:
        parser.error("an ensemble needs at least two models")
    if args.cv:
        names = sorted(p.name for p in dirs[0].glob("fold-*") if (p / "argmine.json").is_file())
        groups = [[d / name for d in dirs] for name in names]
        missing = [str(p) for g in groups for p in g if not (p / "argmine.json").is_file()]
        if missing or not groups:
            print(f"no paired fold dirs: missing {missing or dirs}", file=sys.stderr)
            return 1
    else:
        groups = [list(dirs)]
    results: dict = {}
    cost = tagging_cost(groups[0], threads=args.threads)
    results["tagging_seconds"] = cost
    print(
        f"tagging {cost['articles']} test articles of {groups[0][0]}: single model "
        f"{cost['single']:.2f} s, ensemble of {len(dirs)} {cost['ensemble']:.2f} s "
        f"({cost['ratio']:.2f}x; best of 3, interleaved)"
    )
    for split in () if args.cost_only else ("dev", "test"):
        pooled: dict[str, dict[str, list[int]]] = defaultdict(dict)
        seconds: dict[str, float] = defaultdict(float)
        for g in groups:
            for name, r in score_group(g, split, threads=args.threads).items():
                for key, value in r["counts"].items():
                    have = pooled[name].setdefault(key, [0] * len(value))
                    pooled[name][key] = [a + b for a, b in zip(have, value, strict=True)]
                seconds[name] += r["seconds"]
        results[split] = {
            name: {**_row(c), "counts": c, "seconds": seconds[name]} for name, c in pooled.items()
        }
        cols = [k for k in next(iter(results[split].values())) if k not in ("counts", "seconds")]
        print(f"\n{split} ({len(groups)} group(s) of {len(dirs)} models)")
        print("| setting | " + " | ".join(cols) + " | seconds |")
        print("|---" * (len(cols) + 2) + "|")
        for name, row in results[split].items():
            cells = " | ".join(f"{row[c]:.4f}" for c in cols)
            print(f"| {name} | {cells} | {row['seconds']:.1f} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
