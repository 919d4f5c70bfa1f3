"""Quality of the trained tagger next to the rule pre-annotator, on the public corpora.

Trains ``configs/webis.yaml`` (official split; scored on the 60 test editorials) and
``configs/microtexts.yaml`` (cross-validation folds; scored on each fold's test texts), and
scores the rule pre-annotator (``argmine.prelabel``) on exactly the same test articles. Span F1
from ``argmine.evaluate.span_scores`` (exact; overlap >= 0.5 both ways), micro over labels
unless marked macro.

The rule baseline is scored as in ``benchmarks/prelabel.py``: on Webis, predicted Conclusions
count as Claims (Webis has none) and sentence-final punctuation is dropped from predicted units
(the Webis unit convention); on microtexts, as predicted.

    .venv/bin/python benchmarks/quality.py                       # full: webis + 10 folds
    .venv/bin/python benchmarks/quality.py --micro-folds 3 --micro-epochs 5 --webis-epochs 2
    .venv/bin/python benchmarks/quality.py --reuse               # score existing runs only

Runs go to ``--out`` (default ``.cache/quality``); ``--reuse`` skips training where a finished
run (``metrics.json``) is already there.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from argmine.config import load_run_config
from argmine.corpora import load_corpus
from argmine.data import split_articles
from argmine.document import ArgUnit, Article
from argmine.evaluate import span_scores
from argmine.prelabel import prelabel

REPO = Path(__file__).resolve().parents[1]


def _prelabel_helpers() -> Any:
    spec = importlib.util.spec_from_file_location("bench_prelabel", REPO / "benchmarks/prelabel.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _strip(article: Article) -> Article:
    return Article(id=article.id, text=article.text, title=article.title, meta={})


def rules(articles: list[Article], *, conclusion_as: str | None = None) -> list[Article]:
    out = []
    for article in articles:
        pred = prelabel(_strip(article))
        if conclusion_as:
            pred = pred.with_annotations(
                [
                    ArgUnit(
                        u.id,
                        u.start,
                        u.end,
                        conclusion_as if u.label == "Conclusion" else u.label,
                        u.score,
                    )
                    for u in pred.units
                ]
            )
        out.append(pred)
    return out


def _summary(scores: dict[str, Any]) -> dict[str, Any]:
    return {
        "exact_f1": scores["exact"]["micro"]["f1"],
        "overlap_f1": scores["overlap"]["micro"]["f1"],
        "overlap_macro_f1": scores["overlap"]["macro"]["f1"],
        "per_label": {k: v["f1"] for k, v in scores["overlap"]["per_label"].items()},
    }


def _train_or_reuse(config_path: str, overrides: list[str], out: Path, reuse: bool):
    from argmine.train import train

    config = load_run_config(config_path, overrides=[*overrides, f"output_dir={out}"])
    metrics_file = out / "metrics.json"
    if reuse and metrics_file.is_file():
        return config, json.loads(metrics_file.read_text())
    return config, train(config, force=True).metrics


def webis(args: argparse.Namespace, console: Console) -> dict[str, Any]:
    overrides = list(args.set)
    if args.webis_epochs:
        overrides.append(f"train.epochs={args.webis_epochs}")
    config, metrics = _train_or_reuse(
        "configs/webis.yaml", overrides, Path(args.out) / "webis", args.reuse
    )
    source = config.data.sources[0]
    gold = load_corpus(
        source.format,
        source.path if Path(source.path).exists() else REPO / source.path,
        labels=source.labels,
        split="test",
    )
    labels = metrics["labels"]
    helpers = _prelabel_helpers()
    started = time.perf_counter()
    pred = helpers._webis_boundaries(rules(gold, conclusion_as="Claim"))
    rule_seconds = time.perf_counter() - started
    return {
        "gold": f"Webis-16 test ({len(gold)} editorials, {sum(len(a.units) for a in gold)} units)",
        "model": _summary(metrics["test"]),
        "model_dev": _summary(metrics["dev"]),
        "thresholds": metrics.get("thresholds"),
        "train_seconds": metrics.get("train_seconds"),
        "rules": _summary(span_scores(gold, pred, labels=labels)),
        "rules_seconds": round(rule_seconds, 1),
        "overrides": overrides,
    }


def microtexts(args: argparse.Namespace, console: Console) -> dict[str, Any]:
    overrides = list(args.set)
    if args.micro_epochs:
        overrides.append(f"train.epochs={args.micro_epochs}")
    base = load_run_config("configs/microtexts.yaml", overrides=overrides)
    folds = min(args.micro_folds or base.data.splits.folds, base.data.splits.folds)
    source = base.data.sources[0]
    articles = load_corpus(
        source.format,
        source.path if Path(source.path).exists() else REPO / source.path,
        labels=source.labels,
    )
    model_scores, rule_scores, seconds = [], [], 0.0
    for k in range(folds):
        config, metrics = _train_or_reuse(
            "configs/microtexts.yaml",
            [*overrides, f"data.splits.fold={k}"],
            Path(args.out) / "microtexts" / f"fold-{k}",
            args.reuse,
        )
        test = split_articles(articles, config.data.splits, seed=config.seed)["test"]
        labels = metrics["labels"]
        model_scores.append(_summary(metrics["test"]))
        rule_scores.append(_summary(span_scores(test, rules(test), labels=labels)))
        seconds += metrics.get("train_seconds") or 0.0
        console.print(
            f"microtexts fold {k}: model {model_scores[-1]['overlap_f1']:.3f}, "
            f"rules {rule_scores[-1]['overlap_f1']:.3f}"
        )

    def mean(rows: list[dict[str, Any]]) -> dict[str, Any]:
        keys = ("exact_f1", "overlap_f1", "overlap_macro_f1")
        out: dict[str, Any] = {k: sum(r[k] for r in rows) / len(rows) for k in keys}
        labels = sorted({label for r in rows for label in r["per_label"]})
        out["per_label"] = {
            label: sum(r["per_label"].get(label, 0.0) for r in rows) / len(rows) for label in labels
        }
        return out

    return {
        "gold": f"microtexts, {folds} of {base.data.splits.folds} CV folds ({len(articles)} texts)",
        "model": mean(model_scores),
        "rules": mean(rule_scores),
        "per_fold_model": [r["overlap_f1"] for r in model_scores],
        "per_fold_rules": [r["overlap_f1"] for r in rule_scores],
        "train_seconds": round(seconds, 1),
        "overrides": overrides,
    }


def table(results: dict[str, Any]) -> Table:
    out = Table(title="Trained tagger vs rule pre-annotator (span F1)")
    for column in (
        "gold",
        "predictor",
        "exact F1",
        "overlap F1",
        "overlap macro F1",
        "per label (overlap)",
        "train time",
    ):
        out.add_column(column)
    for result in results.values():
        for who in ("model", "rules"):
            s = result[who]
            per = ", ".join(f"{k} {v:.3f}" for k, v in s["per_label"].items())
            secs = result.get("train_seconds") if who == "model" else None
            out.add_row(
                result["gold"] if who == "model" else "",
                "MiniLM tagger" if who == "model" else "rules (prelabel)",
                f"{s['exact_f1']:.3f}",
                f"{s['overlap_f1']:.3f}",
                f"{s['overlap_macro_f1']:.3f}",
                per,
                f"{secs:.0f} s" if secs else "",
            )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["webis", "microtexts"])
    parser.add_argument("--webis-epochs", type=float, help="override train.epochs for Webis")
    parser.add_argument("--micro-folds", type=int, help="run only the first N of the CV folds")
    parser.add_argument("--micro-epochs", type=float, help="override train.epochs for microtexts")
    parser.add_argument("--set", action="append", default=[], help="config override (both)")
    parser.add_argument("--out", default=str(REPO / ".cache" / "quality"))
    parser.add_argument("--reuse", action="store_true", help="reuse finished runs in --out")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)
    corpora = Path(os.environ.get("ARGMINE_CORPORA", REPO.parent / "shared" / "corpora"))
    if not corpora.is_dir():
        print(f"corpora not found at {corpora} (set ARGMINE_CORPORA)", file=sys.stderr)
        return 1
    console = Console()
    results: dict[str, Any] = {}
    if args.only in (None, "webis"):
        results["webis"] = webis(args, console)
    if args.only in (None, "microtexts"):
        results["microtexts"] = microtexts(args, console)
    console.print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
