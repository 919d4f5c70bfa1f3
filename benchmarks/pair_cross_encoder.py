"""A cross-encoder pair scorer beside the pair ranker: relation F1 with gold units, dev and test,
on the starter 5-fold CV splits of ``configs/default.yaml`` (docs/benchmarks.md "Session 22").

Per fold: the pair ranker (argmine.pair_ranker) is fitted on the training articles' gold units
as ``argmine train`` fits it; a MiniLM cross-encoder (the base encoder with a 3-way
classification head: none / supports / attacks) is fine-tuned on pairs of the same units, each
pair one input ``"<label i>: <unit i>" [SEP] "<label j>, <d> before|after, same|other
paragraph: <unit j>"``, for every unit ``i`` its gold parents, the ranker's ``--k`` likeliest
other candidates and ``--random`` more at random. On the dev and test articles every ordered
pair is scored; the cross-encoder's pointwise odds of attaching become a distribution per head
unit over its candidates and "no parent" (odds 1), fused with the ranker's by
``argmine.pair_ranker.mix_pair_probs`` (the cross-encoder's share 0 / 0.25 / 0.5 / 0.75 / 1),
decoding mode and threshold chosen on dev per share. Prints per fold and pooled.

    .venv/bin/python benchmarks/pair_cross_encoder.py --folds 0 --k 3 --random 1 --epochs 2
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from argmine.config import load_label_schema, load_run_config  # noqa: E402
from argmine.data import load_sources, relations_annotated, split_articles  # noqa: E402
from argmine.encoders import resolve_base_model  # noqa: E402
from argmine.evaluate import relation_scores  # noqa: E402
from argmine.pair_ranker import PairRanker, mix_pair_probs  # noqa: E402
from argmine.relations import DECODINGS, clean_relations, decode_relations, paragraph_ids  # noqa: E402
from argmine.train import RELATION_GRID  # noqa: E402

SHARES = (0.0, 0.25, 0.5, 0.75, 1.0)


def describe(text, units, par, i, j):
    ui, uj = units[i], units[j]
    side = "before" if j < i else "after"
    same = "same paragraph" if par[i] == par[j] else "other paragraph"
    return (
        f"{ui.label}: {text[ui.start : ui.end]}",
        f"{uj.label}, {abs(i - j)} {side}, {same}: {text[uj.start : uj.end]}",
    )


def all_pairs(n):
    return [(i, j) for i in range(n) for j in range(n) if i != j]


def training_pairs(train, ranker, rel_labels, rng, k, n_random):
    out = []
    for art in train:
        rels = clean_relations(art, rel_labels)
        units = art.sorted_units()
        pairs = all_pairs(len(units))
        if not rels or not pairs:
            continue
        index = {u.id: n for n, u in enumerate(units)}
        gold = {(index[r.head], index[r.tail]): 1 + rel_labels.index(r.label) for r in rels}
        par = paragraph_ids(art.text, [u.start for u in units])
        p_attach = 1 - ranker.probs(art.text, units, pairs)[:, 0]
        by_head: dict[int, list[int]] = {}
        for row, (i, _) in enumerate(pairs):
            by_head.setdefault(i, []).append(row)
        for rows in by_head.values():
            keep = {r for r in rows if pairs[r] in gold}
            neg = sorted((r for r in rows if pairs[r] not in gold), key=lambda r: -p_attach[r])
            keep |= set(neg[:k]) | set(rng.sample(neg[k:], min(n_random, len(neg[k:]))))
            for r in sorted(keep):
                out.append((*describe(art.text, units, par, *pairs[r]), gold.get(pairs[r], 0)))
    return out


def decoded(scored, share, mode, t, rel_labels):
    """Relations decoded from the fused probabilities of ``scored`` articles."""
    return [
        art.with_annotations(
            units,
            decode_relations(
                units,
                pairs,
                mix_pair_probs(pairs, xp, rp, share),
                labels=rel_labels,
                mode=mode,
                threshold=t,
            ),
        )
        for art, units, pairs, rp, xp in scored
    ]


def relation_f1(gold, pred, rel_labels):
    return relation_scores(gold, pred, labels=rel_labels)["overlap"]["micro"]["f1"]


class CrossEncoder:
    def __init__(self, base, max_length):
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.tok = AutoTokenizer.from_pretrained(base)
        self.model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=3)
        self.max_length = max_length

    def encode(self, batch):
        return self.tok(
            [a for a, _, _ in batch],
            [b for _, b, _ in batch],
            truncation="longest_first",
            max_length=self.max_length,
            padding=True,
            return_tensors="pt",
        )

    def fit(self, examples, *, epochs, lr, seed, batch_size=32):
        from transformers import get_linear_schedule_with_warmup

        torch.manual_seed(seed)
        opt = torch.optim.AdamW(self.model.parameters(), lr=lr, weight_decay=0.01)
        steps = epochs * -(-len(examples) // batch_size)
        sched = get_linear_schedule_with_warmup(opt, int(0.1 * steps), steps)
        rng = random.Random(seed)
        self.model.train()
        for epoch in range(epochs):
            order = examples[:]
            rng.shuffle(order)
            total = 0.0
            for b in range(0, len(order), batch_size):
                batch = order[b : b + batch_size]
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    logits = self.model(**self.encode(batch)).logits
                y = torch.tensor([c for _, _, c in batch])
                loss = torch.nn.functional.cross_entropy(logits.float(), y)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
                opt.step()
                sched.step()
                opt.zero_grad()
                total += loss.item() * len(batch)
            print(f"  epoch {epoch + 1}: loss {total / len(order):.4f}", flush=True)
        self.model.eval()

    @torch.inference_mode()
    def probs(self, art, units, pairs):
        """Per head unit a distribution over its candidates and "no parent" (odds 1), in the
        format of argmine.inference.relation_probs."""
        par = paragraph_ids(art.text, [u.start for u in units])
        inputs = [(*describe(art.text, units, par, i, j), 0) for i, j in pairs]
        parts = []
        for b in range(0, len(inputs), 128):
            with torch.autocast("cpu", dtype=torch.bfloat16):
                logits = self.model(**self.encode(inputs[b : b + 128])).logits
            parts.append(torch.softmax(logits.float(), -1).numpy())
        p = np.concatenate(parts)
        odds = (1 - p[:, 0]) / np.maximum(p[:, 0], 1e-6)
        out = np.zeros(p.shape, dtype=np.float64)
        by_head: dict[int, list[int]] = {}
        for row, (i, _) in enumerate(pairs):
            by_head.setdefault(i, []).append(row)
        for rows in by_head.values():
            attach = odds[rows] / (1.0 + odds[rows].sum())
            split = p[rows, 1:] / np.maximum(p[rows, 1:].sum(1, keepdims=True), 1e-9)
            out[rows, 0] = 1 - attach
            out[rows, 1:] = attach[:, None] * split
        return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--folds", default="01234", help="fold numbers, e.g. 012")
    ap.add_argument("--k", type=int, default=3, help="the ranker's likeliest negatives per unit")
    ap.add_argument("--random", type=int, default=1, help="random negatives per unit")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--max-length", type=int, default=96)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = load_run_config(
        REPO / "configs" / "default.yaml",
        overrides=["data.splits={mode: kfold, folds: 5, dev: 0.2}"],
    )
    schema = load_label_schema(cfg.schema_path)
    rel_labels = list(schema.relation_names)
    articles = load_sources(cfg, labels=list(schema.span_names))
    base = str(resolve_base_model(cfg.model.base))
    pooled = {s: {"dev": ([], []), "test": ([], [])} for s in SHARES}
    results: dict = {"folds": {}}
    for fold in (int(c) for c in args.folds):
        started = time.monotonic()
        split = split_articles(
            articles, cfg.data.splits.model_copy(update={"fold": fold}), seed=cfg.seed
        )
        train = [a for a in split["train"] if relations_annotated(a)]
        dev = [a for a in split["dev"] if relations_annotated(a) and a.relations]
        test = [a for a in split["test"] if relations_annotated(a) and a.relations]
        ranker = PairRanker.fit(train, relation_labels=rel_labels)
        examples = training_pairs(
            train, ranker, rel_labels, random.Random(fold), args.k, args.random
        )
        print(
            f"fold {fold}: {len(train)} train, {len(dev)} dev, {len(test)} test articles; "
            f"{len(examples)} training pairs",
            flush=True,
        )
        xenc = CrossEncoder(base, args.max_length)
        xenc.fit(examples, epochs=args.epochs, lr=args.lr, seed=cfg.seed + fold)
        scored = {}
        for name, arts in (("dev", dev), ("test", test)):
            scored[name] = []
            for art in arts:
                units = art.sorted_units()
                pairs = all_pairs(len(units))
                if pairs:
                    rp = ranker.probs(art.text, units, pairs)
                    scored[name].append((art, units, pairs, rp, xenc.probs(art, units, pairs)))

        gold = {n: [s[0] for s in scored[n]] for n in scored}
        results["folds"][fold] = {}
        for share in SHARES:
            best = max(
                (
                    (
                        relation_f1(
                            gold["dev"], decoded(scored["dev"], share, m, t, rel_labels), rel_labels
                        ),
                        -k,
                        m,
                        t,
                    )
                    for k, m in enumerate(DECODINGS)
                    for t in RELATION_GRID
                ),
            )
            dev_f1, _, mode, t = best
            test_pred = decoded(scored["test"], share, mode, t, rel_labels)
            test_f1 = relation_f1(gold["test"], test_pred, rel_labels)
            results["folds"][fold][share] = {"dev": dev_f1, "test": test_f1, "mode": mode, "t": t}
            pooled[share]["dev"][0].extend(gold["dev"])
            pooled[share]["dev"][1].extend(decoded(scored["dev"], share, mode, t, rel_labels))
            pooled[share]["test"][0].extend(gold["test"])
            pooled[share]["test"][1].extend(test_pred)
            print(
                f"  cross-encoder share {share}: dev {dev_f1:.3f} test {test_f1:.3f} ({mode}, {t})",
                flush=True,
            )
        print(f"  fold {fold}: {time.monotonic() - started:.0f} s", flush=True)
    print(f"pooled over folds {args.folds} (relation F1, gold units):")
    results["pooled"] = {}
    for share in SHARES:
        row = {n: relation_f1(*pooled[share][n], rel_labels) for n in ("dev", "test")}
        results["pooled"][share] = row
        print(f"  cross-encoder share {share}: dev {row['dev']:.3f} test {row['test']:.3f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
