"""Training speed: float32 vs bfloat16 autocast, random vs length-grouped batches, side by side.

One process, one model, interleaved: ``argmine.train.train`` builds the run of a config as
usual (data, windows, model with its heads, optimizer); a callback takes over at the start of
training and times ``--steps`` training steps (forward, backward, optimizer step) of every
variant in turn, step by step (fp32, bf16, fp32 grouped, bf16 grouped, then again, the order
rotating), so a change in machine load hits every variant alike. Then it stops the run (no
model is written). Batches come from the run's own training set, collator and batch size:
``random`` is a seeded permutation (what the Trainer's default sampler does), ``group`` the
Trainer's ``LengthGroupedSampler`` (``train.group_by_length``); fp32 and bf16 see the same
batches. bf16 is ``torch.autocast("cpu", dtype=torch.bfloat16)``, what the Trainer does with
``train.bf16``; a forward hook on the token classifier records the dtype it really computed in.
Padding: real tokens over padded tokens in one epoch of each sampler. Quality (F1) needs full
runs: docs/benchmarks.md, "Training levers".

    .venv/bin/python benchmarks/train_speed.py                           # microtexts fold 0
    .venv/bin/python benchmarks/train_speed.py --config configs/default.yaml --steps 10
    .venv/bin/python benchmarks/train_speed.py --config configs/default.yaml --steps 10 \
        --variants bf16+group,bf16+group+attn0,fp32+group,fp32+group+attn0

``attn0``: the same steps without dropout on the attention probabilities
(``model.attention_dropout: 0``): on CPU, PyTorch's fused attention kernel has no dropout, so
with dropout the attention runs unfused (docs/benchmarks.md "Session 22"). ``keys``: the
config's attention dropout as key dropout (``model.attention_dropout_on: keys``,
``argmine.attention``), which keeps the fused kernel; the other variants put the config's
attention dropout on the probabilities, whatever ``attention_dropout_on`` says (session 23:
``--set model.attention_dropout=0.1 --variants bf16+group,bf16+group+keys,bf16+group+attn0``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

import torch  # noqa: E402
from transformers import TrainerCallback  # noqa: E402
from transformers.trainer_pt_utils import LengthGroupedSampler  # noqa: E402

from argmine.attention import KEY_DROPOUT  # noqa: E402
from argmine.attention import register as register_key_dropout  # noqa: E402
from argmine.config import load_run_config  # noqa: E402
from argmine.tag import cpu_has_bf16_matmul  # noqa: E402
from argmine.train import train  # noqa: E402

#: variant -> (sampler, bf16, attention dropout: None = the config's, dropout on: probs / keys)
VARIANTS = {
    "fp32": ("random", False, None, "probs"),
    "bf16": ("random", True, None, "probs"),
    "fp32+group": ("group", False, None, "probs"),
    "bf16+group": ("group", True, None, "probs"),
    "fp32+group+attn0": ("group", False, 0.0, "probs"),
    "bf16+group+attn0": ("group", True, 0.0, "probs"),
    "fp32+group+keys": ("group", False, None, "keys"),
    "bf16+group+keys": ("group", True, None, "keys"),
}
DEFAULT_VARIANTS = ("fp32", "bf16", "fp32+group", "bf16+group")


def attention_dropouts(model) -> list:
    """The dropout modules on the encoder's attention probabilities (``model.attention_dropout``;
    BERT and MPNet name them ``dropout`` in their self-attention modules)."""
    return [
        m.dropout
        for m in model.tagger.modules()
        if type(m).__name__.endswith("SelfAttention") and hasattr(m, "dropout")
    ]


class Done(Exception):
    """Raised by the callback once everything is timed: the run stops there."""


class Interleaved(TrainerCallback):
    def __init__(self, names: list[str], *, steps: int, warmup: int, seed: int) -> None:
        self.names = names
        self.steps = steps
        self.warmup = warmup
        self.seed = seed
        self.seconds: dict[str, list[float]] = {n: [] for n in names}
        self.dtypes: dict[str, set[str]] = {n: set() for n in names}
        self.padding: dict[str, dict[str, int]] = {}

    def _batches(self, loader, sampler: str, batch_size: int):
        ds = loader.dataset
        g = torch.Generator().manual_seed(self.seed)
        if sampler == "group":
            order = list(LengthGroupedSampler(batch_size, dataset=ds, generator=g))
        else:
            order = torch.randperm(len(ds), generator=g).tolist()
        chunks = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
        lengths = [len(ds[j]["input_ids"]) for j in order]
        real = sum(lengths)
        padded = sum(max(len(ds[j]["input_ids"]) for j in c) * len(c) for c in chunks)
        self.padding[sampler] = {"real_tokens": real, "padded_tokens": padded}
        return [loader.collate_fn([ds[j] for j in c]) for c in chunks]

    def on_train_begin(self, args, state, control, model=None, optimizer=None, **kwargs):
        loader = kwargs["train_dataloader"]
        batch_size = args.per_device_train_batch_size
        batches = {s: self._batches(loader, s, batch_size) for s in {"random", "group"}}
        current: list[str] = []

        def record(module, inputs, output):
            if module.training and current:
                self.dtypes[current[0]].add(str(output.dtype).removeprefix("torch."))

        hook = model.tagger.classifier.register_forward_hook(record)
        drops = attention_dropouts(model)
        configured = [d.p for d in drops]
        # the "probs" variants: the model's own attention (plain SDPA when the config asks for
        # key dropout)
        base_attention = model.tagger.config._attn_implementation
        if base_attention == KEY_DROPOUT:
            base_attention = "sdpa"
        register_key_dropout()
        model.train()
        try:
            for i in range(self.steps):
                k = i % len(self.names)
                for name in self.names[k:] + self.names[:k]:
                    sampler, bf16, attention, where = VARIANTS[name]
                    for d, p in zip(drops, configured, strict=True):
                        d.p = p if attention is None else attention
                    model.tagger.set_attn_implementation(
                        KEY_DROPOUT if where == "keys" else base_attention
                    )
                    batch = batches[sampler][i % len(batches[sampler])]
                    current[:] = [name]
                    autocast = (
                        torch.autocast("cpu", dtype=torch.bfloat16)
                        if bf16
                        else contextlib.nullcontext()
                    )
                    t0 = time.perf_counter()
                    with autocast:
                        loss = model(**batch)["loss"]
                    loss.backward()
                    optimizer.step()
                    optimizer.zero_grad()
                    if i >= self.warmup:
                        self.seconds[name].append(time.perf_counter() - t0)
        finally:
            hook.remove()
            for d, p in zip(drops, configured, strict=True):
                d.p = p
            model.tagger.set_attn_implementation(base_attention)
        raise Done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=str(REPO / "configs" / "microtexts.yaml"))
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=None,
        help="config override key.path=value (default for microtexts: data.splits.fold=0)",
    )
    parser.add_argument("--steps", type=int, default=15, help="training steps per variant")
    parser.add_argument("--warmup", type=int, default=2, help="first steps not timed")
    parser.add_argument(
        "--variants",
        default=",".join(DEFAULT_VARIANTS),
        help=f"comma-separated, of: {', '.join(VARIANTS)} (attn0: no attention dropout; "
        "keys: key dropout)",
    )
    parser.add_argument("--json", default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)
    names = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant {unknown[0]!r} (known: {', '.join(VARIANTS)})")
    if args.steps <= args.warmup:
        parser.error("--steps must be above --warmup")
    overrides = args.overrides
    if overrides is None:
        overrides = ["data.splits.fold=0"] if "microtexts" in Path(args.config).name else []
    runs = Path(tempfile.mkdtemp(prefix="argmine-train-speed-"))
    config = load_run_config(
        args.config, overrides=[*overrides, f"output_dir={runs / 'run'}", "train.bf16=false"]
    )
    bench = Interleaved(names, steps=args.steps, warmup=args.warmup, seed=config.seed)
    load_before = os.getloadavg()
    started = time.monotonic()
    with contextlib.suppress(Done):
        train(config, force=True, callbacks=[bench])
    wall = time.monotonic() - started
    load_after = os.getloadavg()
    base = statistics.fmean(bench.seconds[names[0]])
    rows = []
    for name in names:
        sampler = VARIANTS[name][0]
        pad = bench.padding[sampler]
        rows.append(
            {
                "variant": name,
                "computed_in": sorted(bench.dtypes[name]),
                "steps_timed": len(bench.seconds[name]),
                "mean_step_s": statistics.fmean(bench.seconds[name]),
                "median_step_s": statistics.median(bench.seconds[name]),
                "real_over_padded_tokens": pad["real_tokens"] / pad["padded_tokens"],
                "seconds": bench.seconds[name],
            }
        )
    print(
        f"\nconfig {args.config} {' '.join(overrides)}; batch {config.train.batch_size} windows of "
        f"<= {config.train.max_length} tokens; {args.steps} steps per variant interleaved, first "
        f"{args.warmup} untimed; CPU bf16 matrix units: "
        f"{'yes' if cpu_has_bf16_matmul() else 'no'}; torch threads {torch.get_num_threads()}; "
        f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after; {wall:.0f} s\n"
    )
    print(
        "| variant | computed in | mean s/step | median s/step | speed vs "
        f"{names[0]} | real / padded tokens (one epoch) |"
    )
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['variant']} | {', '.join(row['computed_in'])} | {row['mean_step_s']:.3f} | "
            f"{row['median_step_s']:.3f} | {base / row['mean_step_s']:.2f}x | "
            f"{row['real_over_padded_tokens']:.3f} |"
        )
    if args.json:
        payload = {
            "config": args.config,
            "overrides": overrides,
            "steps": args.steps,
            "warmup": args.warmup,
            "cpu_bf16_matmul": cpu_has_bf16_matmul(),
            "load_before": load_before,
            "load_after": load_after,
            "wall_s": wall,
            "rows": rows,
        }
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
