"""Span F1 of the rule pre-annotator (``argmine prelabel``): the cold-start baseline.

Scores (exact, and overlap >= 0.5 both ways; ``argmine.evaluate.span_scores``):

(a) the hand-annotated reference article (``annotations/caravan-to-nowhere.json``, a Label
    Studio export), on all schema span labels, plus relation F1; the same for the
    project-written starter set (``annotations/starter.json``);
(b) Webis-Editorials-16 (one official split, ``test`` by default), with the corpus mapping in
    ``../shared/corpora/README.md`` (assumption, common-ground -> Claim; anecdote, statistics,
    testimony -> Evidence; no-unit, other dropped). Webis has no Conclusion label, so predicted
    Conclusions are scored as Claims there (``--webis-map``). Webis units stop before
    sentence-final punctuation, argmine's include it: predictions are scored both as they are
    and with that punctuation dropped (the Webis convention).

Each is compared with a trivial baseline: every segment labelled with the lexicon's default
label. Tune the lexicon on ``--split train``/``dev``; report ``test``.

    .venv/bin/python benchmarks/prelabel.py [--split test] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from rich.console import Console

from argmine.config import load_label_schema
from argmine.document import ArgUnit, Article
from argmine.evaluate import format_table, relation_scores, span_scores
from argmine.prelabel import load_lexicon, prelabel
from argmine.segment import load_segmenter_config, segments

REPO = Path(__file__).resolve().parents[1]


def _strip(article: Article) -> Article:
    return Article(id=article.id, text=article.text, title=article.title, meta={})


def _relabel(articles: list[Article], mapping: dict[str, str]) -> list[Article]:
    return [
        a.with_annotations(
            [ArgUnit(u.id, u.start, u.end, mapping.get(u.label, u.label), u.score) for u in a.units]
        )
        for a in articles
    ]


def _webis_boundaries(articles: list[Article]) -> list[Article]:
    """Webis units stop before sentence-final punctuation; argmine units include it
    (annotations/GUIDELINES.md). Convert predictions to the Webis convention at this edge."""
    out = []
    for article in articles:
        units = []
        for u in article.units:
            end = u.end
            while end > u.start + 1 and article.text[end - 1] in ".!?\u2026,;:":
                end -= 1
            units.append(ArgUnit(u.id, u.start, end, u.label, u.score))
        out.append(article.with_annotations(units, article.relations))
    return out


def _all_default(articles: list[Article], label: str, config) -> list[Article]:
    out = []
    for article in articles:
        units = [
            ArgUnit(f"S{i}", s.start, s.end, label)
            for i, s in enumerate(segments(article.text, config=config), start=1)
            if s.kind != "header"
        ]
        out.append(_strip(article).with_annotations(units))
    return out


def load_webis(corpora: Path, split: str) -> list[Article]:
    """The Webis-Editorials-16 split with argmine's default mapping (corpora README)."""
    from argmine.corpora import load_corpus

    return load_corpus("webis", corpora / "webis-editorials-16", split=split)


def run(args: argparse.Namespace) -> dict:
    schema = load_label_schema(args.schema)
    lexicon = load_lexicon(args.lexicon, schema=schema)
    config = load_segmenter_config(args.config)
    console = Console()
    results: dict = {}

    for key, path in (("reference", Path(args.gold)), ("starter", Path(args.starter))):
        if not path.exists():
            console.print(f"[yellow]skipped {key}: {path} not found[/]")
            continue
        from argmine.corpora.labelstudio import load_export

        gold = load_export(path, schema=schema)
        pred = [prelabel(_strip(a), lexicon=lexicon, segmenter=config) for a in gold]
        labels = list(schema.span_names)
        scores = span_scores(gold, pred, labels=labels)
        base = span_scores(gold, _all_default(gold, lexicon.default_label, config), labels=labels)
        relations = relation_scores(gold, pred, labels=list(schema.relation_names))
        results[key] = {
            "rules": scores,
            "all_default": base,
            "relations": relations,
            "gold": str(path),
        }
        name = f"{path.name} ({len(gold)} articles)"
        console.print(format_table(scores, title=f"prelabel vs {name}"))
        console.print(format_table(base, title=f"every segment {lexicon.default_label}"))
        rel = relations["micro"]
        console.print(
            f"relations (head and tail overlap-matched, same label): P {rel['precision']:.3f} "
            f"R {rel['recall']:.3f} F1 {rel['f1']:.3f}"
        )

    corpora = Path(args.corpora)
    if (corpora / "webis-editorials-16").is_dir():
        gold = load_webis(corpora, args.split)
        mapping = dict(pair.split("=", 1) for pair in args.webis_map)
        started = time.perf_counter()
        pred = [prelabel(_strip(a), lexicon=lexicon, segmenter=config) for a in gold]
        seconds = time.perf_counter() - started
        pred = _relabel(pred, mapping)
        labels = [name for name in schema.span_names if name not in mapping]
        raw = span_scores(gold, pred, labels=labels)
        scores = span_scores(gold, _webis_boundaries(pred), labels=labels)
        base = _all_default(gold, lexicon.default_label, config)
        base = span_scores(gold, _webis_boundaries(base), labels=labels)
        results["webis"] = {
            "split": args.split,
            "map": mapping,
            "rules": scores,
            "rules_argmine_boundaries": raw,
            "all_default": base,
            "seconds": round(seconds, 2),
        }
        title = f"prelabel vs Webis-Editorials-16 {args.split} ({len(gold)} editorials)"
        console.print(format_table(raw, title=f"{title}, argmine boundaries"))
        console.print(format_table(scores, title=f"{title}, final punctuation dropped"))
        console.print(format_table(base, title=f"every segment {lexicon.default_label}"))
        console.print(f"{len(gold)} editorials pre-labelled in {seconds:.1f} s")
    else:
        console.print(f"[yellow]skipped Webis: {corpora}/webis-editorials-16 not found[/]")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gold", default=str(REPO / "annotations" / "caravan-to-nowhere.json"))
    parser.add_argument(
        "--corpora", default=os.environ.get("ARGMINE_CORPORA", str(REPO.parent / "shared/corpora"))
    )
    parser.add_argument(
        "--starter", default=str(REPO / "annotations" / "starter.json"), help="project-written set"
    )
    parser.add_argument("--split", default="test", choices=["train", "dev", "test"])
    parser.add_argument("--webis-map", nargs="*", default=["Conclusion=Claim"])
    parser.add_argument("--lexicon", default=str(REPO / "configs" / "lexicon.yaml"))
    parser.add_argument("--config", default=str(REPO / "configs" / "segmenter.yaml"))
    parser.add_argument("--schema", default=str(REPO / "configs" / "labels.yaml"))
    parser.add_argument("--json", help="also write all scores here")
    args = parser.parse_args(argv)
    results = run(args)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
