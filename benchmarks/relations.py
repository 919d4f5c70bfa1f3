"""Relation benchmarks: the learnt relation model beside the rule baseline, same articles.

Rows (numbers and commands in docs/benchmarks.md):

* arg-microtexts, 10-fold CV (``configs/microtexts.yaml``): attachment macro F1 over all
  ordered unit pairs (the field's figure; counts pooled over the test folds), attach-class F1,
  labelled relation F1 and link F1, with gold units (the relation model alone) and end to end
  (predicted units); the rules on the same test texts (their nearest-unit linking over the gold
  units, and ``argmine prelabel`` end to end).
* starter set, 5-fold CV (``configs/default.yaml`` with ``data.splits`` kfold 5: the starter
  and long project-written pieces): span and relation F1 end to end, model vs ``argmine
  prelabel``; and the reference article tagged by each fold model (it is in no fold's
  training data), mean over the folds beside the rules.
* the reference article, left out of training (``configs/default.yaml``): model vs rules.
* the cost of the relation head: training time of one starter fold with and without
  ``relations:``, and tagging time of the starter set with and without relation decoding.
* scope coverage: the share of gold relations each candidate scope reaches, per corpus.

    .venv/bin/python benchmarks/relations.py                       # everything (~1 h on 2 cores)
    .venv/bin/python benchmarks/relations.py --only micro --reuse  # re-score finished runs
    .venv/bin/python benchmarks/relations.py --only starter --reuse --refit-ranker  # ranker anew
    .venv/bin/python benchmarks/relations.py --only tagcost --model models/default
    .venv/bin/python benchmarks/relations.py --only cost --epochs 3     # head cost, 3 epochs each
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from argmine.config import load_run_config  # noqa: E402
from argmine.document import iter_jsonl_articles  # noqa: E402
from argmine.evaluate import (  # noqa: E402
    _prf,
    attachment_counts,
    attachment_from_counts,
    relation_scores,
    span_scores,
)
from argmine.prelabel import _link, load_lexicon, prelabel_articles  # noqa: E402
from argmine.relations import SCOPES, PairEncoder, paragraph_ids, scope_coverage  # noqa: E402

LABELS = ["Claim", "Evidence", "Conclusion"]
RELATIONS = ["supports", "attacks"]


def rules_on_gold_units(articles):
    """The rules' nearest-unit linking applied to the gold units (gold labels)."""
    lexicon = load_lexicon(REPO / "configs" / "lexicon.yaml")
    out = []
    for a in articles:
        units = a.sorted_units()
        paragraphs = paragraph_ids(a.text, [u.start for u in units])
        out.append(a.with_annotations(units, _link(units, paragraphs, lexicon)))
    return out


def labelled_by_model(tagger, articles):
    """The gold units of ``articles`` relabelled by the model's token tags
    (:func:`argmine.inference.spans_labelled_by_tags`): gold spans, no gold labels. In
    arg-microtexts the labels are read off the gold graph (a Claim is something a relation
    targets, the Conclusion is the root), so only this setting matches the published
    attachment figures."""
    from argmine.inference import spans_labelled_by_tags

    return spans_labelled_by_tags(tagger.network, tagger.codec, articles, pad_id=tagger.pad_id)


def pooled(scores_list, key="overlap"):
    micro = [s[key]["micro"] for s in scores_list]
    link = [s[key]["link"] for s in scores_list]
    return {
        "micro": _prf(*(sum(m[k] for m in micro) for k in ("tp", "fp", "fn"))),
        "link": _prf(*(sum(m[k] for m in link) for k in ("tp", "fp", "fn"))),
    }


def refit_ranker(fold: Path, tagger, overrides: list[str] = ()) -> dict:
    """Fit the pair ranker anew, with this checkout's argmine, on the fold's own training split
    (from the fold's ``config.yaml``) and re-tune the relation decoding on its dev split, as
    ``argmine train`` does after the network is trained; both go into ``tagger``. So a change
    to the ranker is measured on finished CV runs without training the networks again.
    ``overrides`` (``--set``) apply to the fold's config (``relations.*`` only matter here)."""
    from argmine.data import load_sources, relations_annotated, split_articles
    from argmine.inference import predict_articles
    from argmine.pair_ranker import MIX_GRID, PairRanker
    from argmine.relations import DECODINGS, RULE_BONUS_GRID
    from argmine.train import map_relation_labels, tune_relation_decoding

    config = load_run_config(fold / "config.yaml", overrides=list(overrides))
    rcfg = config.relations
    articles = load_sources(config, labels=list(tagger.spec.labels))
    if rcfg.labels:
        articles = [map_relation_labels(a, rcfg.labels) for a in articles]
    splits = split_articles(articles, config.data.splits, seed=config.seed)
    labels = list(tagger.encoder.relation_labels)
    ranker = PairRanker.fit(
        [a for a in splits["train"] if relations_annotated(a)],
        relation_labels=labels,
        l2=rcfg.ranker.l2 if rcfg.ranker is not None else 1e-3,
    )
    dev = [a for a in splits["dev"] if relations_annotated(a)]
    given = labelled_by_model(tagger, dev) if rcfg.tune_on == "gold_spans" else dev
    collected: list = []
    predict_articles(
        tagger.network, tagger.codec, given, units="gold", encoder=tagger.encoder, collect=collected
    )
    fixed_mix = rcfg.ranker is not None and rcfg.ranker.mix != "auto"
    mode, threshold, bonus, info = tune_relation_decoding(
        dev,
        collected,
        labels=labels,
        modes=DECODINGS if rcfg.decoding == "auto" else (rcfg.decoding,),
        tune=rcfg.tune_threshold,
        default=rcfg.threshold,
        bonuses=RULE_BONUS_GRID if rcfg.rule_bonus == "auto" else (float(rcfg.rule_bonus),),
        ranker=ranker,
        mixes=(float(rcfg.ranker.mix),) if fixed_mix else MIX_GRID,
    )
    mix = info["ranker_mix"]
    tagger.ranker = ranker if mix < 1.0 else None
    tagger.spec = replace(
        tagger.spec,
        relations={
            **tagger.spec.relations,
            "decoding": mode,
            "threshold": threshold,
            "rule_bonus": bonus,
            "ranker_mix": mix if mix < 1.0 else None,
            "unit_labels": rcfg.unit_labels,
            "label_temperature": (
                rcfg.ranker.label_temperature if rcfg.ranker is not None and mix < 1.0 else 0.0
            ),
        },
    )
    return {
        "decoding": mode,
        "threshold": threshold,
        "rule_bonus": bonus,
        "ranker_mix": mix,
        "label_temperature": tagger.spec.relations["label_temperature"],
        "dev_relation_f1": info["dev_relation_f1"],
    }


def refit_folds(out: Path, *, threads: int, overrides: list[str] = ()) -> list[dict]:
    """Every fold model of a CV run with its pair ranker refitted (:func:`refit_ranker`),
    copied to ``<out>/refit/fold-<k>`` (weights and test split as they were; ``argmine.json``
    and ``pair_ranker.json`` new); what was chosen per fold."""
    import shutil

    from argmine.pair_ranker import FILENAME
    from argmine.tag import Tagger

    chosen = []
    for fold in fold_dirs(out):
        tagger = Tagger.load(fold, threads=threads)
        chosen.append(refit_ranker(fold, tagger, overrides))
        dest = out / "refit" / fold.name
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(fold, dest, ignore=shutil.ignore_patterns("checkpoints", FILENAME))
        tagger.spec.save(dest)
        if tagger.ranker is not None:
            tagger.ranker.save(dest)
    return chosen


def fold_dirs(out: Path) -> list[Path]:
    return sorted(p for p in out.glob("fold-*") if (p / "argmine.json").is_file())


def score_cv(out: Path, *, threads: int) -> dict:
    """Re-score each fold's model on its test.jsonl with the tag API (model and rules)."""
    from argmine.tag import Tagger

    rows = {
        "model_gold": [],
        "model_gold_spans": [],
        "model_e2e": [],
        "rules_gold": [],
        "rules_e2e": [],
    }
    att = {"model": [], "model_gold_spans": [], "rules": []}
    label_hits = label_total = 0
    spans = {"model": [], "rules": []}
    for fold in fold_dirs(out):
        gold = list(iter_jsonl_articles((fold / "test.jsonl").open(encoding="utf-8")))
        tagger = Tagger.load(fold, threads=threads)
        bare = [a.with_annotations([]) for a in gold]
        e2e = tagger.predict(bare)
        given = tagger.predict(gold, units="gold")
        spans_only = labelled_by_model(tagger, gold)
        label_hits += sum(
            g.label == m.label
            for a, b in zip(gold, spans_only, strict=True)
            for g, m in zip(a.sorted_units(), b.sorted_units(), strict=True)
        )
        label_total += sum(len(a.units) for a in gold)
        given_spans = tagger.predict(spans_only, units="gold")
        rows["model_gold_spans"].append(relation_scores(gold, given_spans, labels=RELATIONS))
        att["model_gold_spans"].append(attachment_counts(gold, given_spans))
        rules_e2e = prelabel_articles(bare)
        rules_gold = rules_on_gold_units(gold)
        rows["model_gold"].append(relation_scores(gold, given, labels=RELATIONS))
        rows["model_e2e"].append(relation_scores(gold, e2e, labels=RELATIONS))
        rows["rules_gold"].append(relation_scores(gold, rules_gold, labels=RELATIONS))
        rows["rules_e2e"].append(relation_scores(gold, rules_e2e, labels=RELATIONS))
        att["model"].append(attachment_counts(gold, given))
        att["rules"].append(attachment_counts(gold, rules_gold))
        spans["model"].append((gold, e2e))
        spans["rules"].append((gold, rules_e2e))
    result = {
        "folds": len(fold_dirs(out)),
        "gold_span_label_accuracy": label_hits / label_total if label_total else None,
    }
    for name, lst in rows.items():
        result[name] = pooled(lst)
    for name, lst in att.items():
        result[f"attachment_{name}"] = attachment_from_counts(
            {k: sum(c[k] for c in lst) for k in ("tp", "fp", "fn", "tn")}
        )
    for name, pairs in spans.items():
        gold = [a for g, _ in pairs for a in g]
        pred = [a for _, p in pairs for a in p]
        s = span_scores(gold, pred, labels=LABELS)
        result[f"spans_{name}"] = {
            "overlap_f1": s["overlap"]["micro"]["f1"],
            "exact_f1": s["exact"]["micro"]["f1"],
        }
    return result


def reference_by_folds(out: Path, *, threads: int) -> dict:
    """The reference article (in no fold's training data) tagged by every fold model of a CV
    run: span and relation F1 per fold, their mean, and the rules on the same article."""
    from argmine.corpora import load_corpus
    from argmine.tag import evaluate_model

    gold = load_corpus("labelstudio", REPO / "annotations" / "caravan-to-nowhere.json")
    per_fold = []
    rules: dict = {}
    for fold in fold_dirs(out):
        s = evaluate_model(fold, gold, threads=threads)
        per_fold.append(
            {
                "overlap_f1": s["overlap"]["micro"]["f1"],
                "exact_f1": s["exact"]["micro"]["f1"],
                "relation_f1": s.get("relations", {}).get("micro", {}).get("f1"),
                "relation_f1_gold_units": (
                    s.get("relations_gold_units", {}).get("micro", {}).get("f1")
                ),
            }
        )
        rules = {
            "overlap_f1": s["rules"]["overlap"]["micro"]["f1"],
            "exact_f1": s["rules"]["exact"]["micro"]["f1"],
            "relation_f1": s["rules"].get("relations", {}).get("micro", {}).get("f1"),
        }
    mean = {}
    for k in per_fold[0] if per_fold else ():
        values = [f[k] for f in per_fold if f[k] is not None]  # None: no relations to score
        mean[k] = sum(values) / len(values) if values else None
    return {"folds": per_fold, "mean": mean, "rules": rules}


def run_cv(config_path: Path, out: Path, overrides: list[str], *, reuse: bool) -> float:
    from argmine.train import train_cv

    if reuse and fold_dirs(out):
        return 0.0
    config = load_run_config(config_path, overrides=[f"output_dir={out}", *overrides])
    started = time.monotonic()
    train_cv(config, force=True)
    return time.monotonic() - started


def reference(out: Path, *, reuse: bool, threads: int) -> dict:
    from argmine.corpora import load_corpus
    from argmine.tag import evaluate_model
    from argmine.train import train

    if not (reuse and (out / "argmine.json").is_file()):
        config = load_run_config(REPO / "configs" / "default.yaml", overrides=[f"output_dir={out}"])
        train(config, force=True)
    gold = load_corpus("labelstudio", REPO / "annotations" / "caravan-to-nowhere.json")
    return evaluate_model(out, gold, threads=threads)


def cost(out: Path, *, threads: int, epochs: int | None = None) -> dict:
    """Training seconds of starter fold 0 with and without the relation head, and tagging
    seconds of the starter set with and without relation decoding (same model, same run).
    ``epochs`` overrides the config's (the ratio is per epoch; fewer epochs save time)."""
    from argmine.corpora import load_corpus
    from argmine.tag import Tagger
    from argmine.train import train

    base = [
        "data.splits={mode: kfold, folds: 5, dev: 0.2, fold: 0}",
        "units.mode=bio",
        *([f"train.epochs={epochs}", "train.patience=0"] if epochs else []),
    ]
    seconds = {}
    for name, extra in (("with_relations", []), ("spans_only", ["relations.enabled=false"])):
        config = load_run_config(
            REPO / "configs" / "default.yaml",
            overrides=[f"output_dir={out / name}", *base, *extra],
        )
        started = time.monotonic()
        train(config, force=True)
        seconds[f"train_{name}"] = time.monotonic() - started
    articles = [
        a.with_annotations([])
        for a in load_corpus("labelstudio", REPO / "annotations" / "starter.json")
    ]
    tagger = Tagger.load(out / "with_relations", threads=threads)
    for name, rel in (("tag_with_relations", True), ("tag_spans_only", False)):
        best = float("inf")
        for _ in range(3):
            started = time.monotonic()
            tagger.predict(articles, relations=rel)
            best = min(best, time.monotonic() - started)
        seconds[name] = best
    return seconds


def tag_cost(model: Path, *, threads: int) -> dict:
    """Tagging seconds of the starter set with one model, relation decoding on and off, and,
    for a model with a pair ranker, with the head alone (interleaved, best of 3): the tagging
    cost of the relation head and of the ranker."""
    from argmine.corpora import load_corpus
    from argmine.tag import Tagger

    articles = [
        a.with_annotations([])
        for a in load_corpus("labelstudio", REPO / "annotations" / "starter.json")
    ]
    tagger = Tagger.load(model, threads=threads)
    ranker = tagger.ranker
    runs = [("tag_with_relations", True, ranker), ("tag_relations_off", False, ranker)]
    if ranker is not None:  # the same model with its pair ranker set aside: the head alone
        runs.append(("tag_relations_head_only", True, None))
    best = {name: float("inf") for name, _, _ in runs}
    for _ in range(3):
        for name, rel, r in runs:
            tagger.ranker = r
            started = time.monotonic()
            tagger.predict(articles, relations=rel)
            best[name] = min(best[name], time.monotonic() - started)
    tagger.ranker = ranker
    return {"articles": len(articles), **best}


def coverage(corpora: Path) -> dict:
    from argmine.corpora import load_corpus

    sets = {"starter": load_corpus("labelstudio", REPO / "annotations" / "starter.json")}
    micro = corpora / "arg-microtexts"
    if micro.is_dir():
        sets["microtexts"] = load_corpus("microtexts", micro)
    essays = corpora / "ArgumentAnnotatedEssays-2.0" / "brat-project-final"
    if essays.is_dir():  # not in ../shared here: configs/essays.yaml says where to put it
        sets["essays"] = load_corpus("brat", essays)
    out = {}
    for name, arts in sets.items():
        out[name] = {}
        for scope in SCOPES:
            for k in (3, 6):
                if scope in ("paragraph", "all") and k != 3:
                    continue
                enc = PairEncoder(tuple(LABELS), tuple(RELATIONS), scope, k)
                key = scope if scope in ("paragraph", "all") else f"{scope}<={k}"
                out[name][key] = scope_coverage(arts, enc)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=Path, default=REPO / "models" / "bench-relations")
    ap.add_argument("--corpora", type=Path, default=REPO.parent / "shared" / "corpora")
    ap.add_argument(
        "--only", choices=["micro", "starter", "reference", "cost", "tagcost", "coverage"]
    )
    ap.add_argument("--model", type=Path, default=REPO / "models" / "default", help="tagcost")
    ap.add_argument("--reuse", action="store_true", help="re-score finished runs")
    ap.add_argument(
        "--refit-ranker",
        action="store_true",
        help="with --reuse: fit each fold's pair ranker anew with this checkout's code and "
        "re-tune its relation decoding on the fold's dev split (copies in RUNS/.../refit/) "
        "before scoring",
    )
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, help="cost: train this many epochs each way")
    ap.add_argument("--json", type=Path, help="write all numbers here")
    ap.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="config override for the micro and starter CV runs (repeatable), "
        "e.g. --set relations.pair_prior=true",
    )
    args = ap.parse_args()
    want = {args.only} if args.only else {"micro", "starter", "reference", "cost", "coverage"}
    results: dict = {}
    if "coverage" in want:
        results["coverage"] = coverage(args.corpora)
        print(json.dumps(results["coverage"], indent=1))
    if "micro" in want:
        if not (args.corpora / "arg-microtexts").is_dir():
            print(f"skipped microtexts: {args.corpora / 'arg-microtexts'} not found")
        else:
            out = args.runs / "microtexts"
            secs = run_cv(
                REPO / "configs" / "microtexts.yaml", out, args.overrides, reuse=args.reuse
            )
            if args.refit_ranker:
                refits = refit_folds(out, threads=args.threads, overrides=args.overrides)
                out = out / "refit"
            results["microtexts"] = {"train_seconds": secs, **score_cv(out, threads=args.threads)}
            if args.refit_ranker:
                results["microtexts"]["refitted"] = refits
    if "starter" in want:
        out = args.runs / "starter-cv"
        secs = run_cv(
            REPO / "configs" / "default.yaml",
            out,
            ["data.splits={mode: kfold, folds: 5, dev: 0.2}", *args.overrides],
            reuse=args.reuse,
        )
        if args.refit_ranker:
            refits = refit_folds(out, threads=args.threads, overrides=args.overrides)
            out = out / "refit"
        results["starter"] = {"train_seconds": secs, **score_cv(out, threads=args.threads)}
        if args.refit_ranker:
            results["starter"]["refitted"] = refits
        results["reference_by_folds"] = reference_by_folds(out, threads=args.threads)
    if "reference" in want:
        scores = reference(args.runs / "reference", reuse=args.reuse, threads=args.threads)
        results["reference"] = {
            "model": {
                "overlap_f1": scores["overlap"]["micro"]["f1"],
                "exact_f1": scores["exact"]["micro"]["f1"],
                "relations": scores.get("relations", {}).get("overlap"),
            },
            "rules": {
                "overlap_f1": scores["rules"]["overlap"]["micro"]["f1"],
                "exact_f1": scores["rules"]["exact"]["micro"]["f1"],
                "relations": scores["rules"].get("relations", {}).get("overlap"),
            },
        }
    if "cost" in want:
        results["cost"] = cost(args.runs / "cost", threads=args.threads, epochs=args.epochs)
    if args.only == "tagcost":
        results["tagcost"] = tag_cost(args.model, threads=args.threads)
    print(json.dumps({k: v for k, v in results.items() if k != "coverage"}, indent=1))
    for name in ("microtexts", "starter"):
        r = results.get(name)
        if not r:
            continue
        print(f"\n{name}: {r['folds']} folds")
        for row in ("model_gold", "model_gold_spans", "rules_gold", "model_e2e", "rules_e2e"):
            print(
                f"  {row:11s} relation F1 {r[row]['micro']['f1']:.3f}  link F1 "
                f"{r[row]['link']['f1']:.3f}"
            )
        for who in ("model", "model_gold_spans", "rules"):
            a = r[f"attachment_{who}"]
            print(
                f"  attachment ({who}, gold units): macro {a['macro_f1']:.3f} attach "
                f"{a['attach_f1']:.3f}"
            )
        for who in ("model", "rules"):
            s = r[f"spans_{who}"]
            print(f"  spans ({who}): overlap {s['overlap_f1']:.3f} exact {s['exact_f1']:.3f}")
        accuracy = r["gold_span_label_accuracy"]
        print(f"  labels the model gives the gold spans: {accuracy:.3f} right")
    ref = results.get("reference_by_folds")
    if ref and ref["folds"]:
        m, r = ref["mean"], ref["rules"]
        print(f"\nreference article, mean of {len(ref['folds'])} fold models (rules):")
        fmt = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
        print(
            f"  overlap {fmt(m['overlap_f1'])} ({fmt(r['overlap_f1'])})  exact "
            f"{fmt(m['exact_f1'])} ({fmt(r['exact_f1'])})  relation F1 "
            f"{fmt(m['relation_f1'])} ({fmt(r['relation_f1'])})"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
