"""Training speed: float32 vs bfloat16 autocast, random vs length-grouped batches, side by side.

Each variant is a real ``argmine.train.train`` run of the same config for a fixed number of
optimizer steps (``train.max_steps``), with one dev evaluation at the end; a callback times
every optimizer step (forward, backward, optimizer) after a few warm-up steps, and a forward
hook on the token classifier records the dtype the encoder really computed in (so a variant
that silently ran in float32 shows it). Variants run one after the other in one process, in
the order given, ``--rounds`` times (alternating order), so they see the same machine.
Quality (F1) needs full runs: see docs/benchmarks.md, "Training levers".

    .venv/bin/python benchmarks/train_speed.py                               # microtexts fold 0
    .venv/bin/python benchmarks/train_speed.py --config configs/default.yaml --steps 20
    .venv/bin/python benchmarks/train_speed.py --variants fp32,bf16 --steps 20 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from transformers import TrainerCallback  # noqa: E402

from argmine.config import load_run_config  # noqa: E402
from argmine.tag import cpu_has_bf16_matmul  # noqa: E402
from argmine.train import train  # noqa: E402

#: variant name -> config overrides
VARIANTS = {
    "fp32": ["train.bf16=false", "train.group_by_length=false"],
    "bf16": ["train.bf16=true", "train.group_by_length=false"],
    "fp32+group": ["train.bf16=false", "train.group_by_length=true"],
    "bf16+group": ["train.bf16=true", "train.group_by_length=true"],
}


class StepTimer(TrainerCallback):
    """Wall time of each optimizer step and the dtype of the classifier's output."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self.dtypes: set[str] = set()
        self._t0 = 0.0
        self._hook = None

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        def record(module, inputs, output):
            if module.training:
                self.dtypes.add(str(output.dtype).removeprefix("torch."))

        self._hook = model.tagger.classifier.register_forward_hook(record)

    def on_step_begin(self, args, state, control, **kwargs):
        self._t0 = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        self.seconds.append(time.perf_counter() - self._t0)

    def on_train_end(self, args, state, control, **kwargs):
        if self._hook is not None:
            self._hook.remove()


def run_variant(config_path, overrides, name, *, steps, runs, warmup) -> dict:
    """One variant's run with the step timer attached to its Trainer."""
    timer = StepTimer()
    config = load_run_config(
        config_path,
        overrides=[
            *overrides,
            *VARIANTS[name],
            f"output_dir={runs / name}",
            f"train.max_steps={steps}",
            f"train.eval_steps={steps}",
            "train.patience=0",
        ],
    )
    started = time.monotonic()
    result = train(config, force=True, callbacks=[timer])
    timed = timer.seconds[warmup:]
    return {
        "variant": name,
        "steps_timed": len(timed),
        "mean_step_s": statistics.fmean(timed),
        "median_step_s": statistics.median(timed),
        "computed_in": sorted(timer.dtypes),
        "run_s": round(time.monotonic() - started, 1),
        "bf16": result.metrics.get("bf16"),
        "group_by_length": result.metrics.get("group_by_length"),
        "dev_at_end": {  # after only `steps` steps: a sanity check, not a quality number
            k: v
            for k, v in ((result.metrics.get("dev_curve") or [{}])[-1]).items()
            if k.endswith("_f1")
        },
    }


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
    parser.add_argument("--steps", type=int, default=30, help="optimizer steps per variant")
    parser.add_argument("--warmup", type=int, default=3, help="first steps not timed")
    parser.add_argument("--variants", default="fp32,bf16,fp32+group,bf16+group")
    parser.add_argument("--rounds", type=int, default=1, help="repeat (alternating order)")
    parser.add_argument("--runs", default=None, help="where the runs go (default: a temp dir)")
    parser.add_argument("--json", default=None, help="write the rows as JSON here")
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
    runs = Path(args.runs or tempfile.mkdtemp(prefix="argmine-train-speed-"))
    load_before = os.getloadavg()
    rows = []
    for r in range(args.rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            print(f"round {r + 1}: {name} ...", file=sys.stderr, flush=True)
            rows.append(
                run_variant(
                    args.config, overrides, name, steps=args.steps, runs=runs, warmup=args.warmup
                )
            )
    load_after = os.getloadavg()
    base = {}
    for row in rows:
        base.setdefault(row["variant"], []).append(row["mean_step_s"])
    fp32 = statistics.fmean(base["fp32"]) if "fp32" in base else None
    print(
        f"\nconfig {args.config} {' '.join(overrides)}; {args.steps} steps per variant, first "
        f"{args.warmup} untimed; CPU bf16 matrix units: "
        f"{'yes' if cpu_has_bf16_matmul() else 'no'}; load average {load_before[0]:.2f} before, "
        f"{load_after[0]:.2f} after\n"
    )
    print(
        "| variant | computed in | mean s/step | median s/step | speed vs fp32 | run (s) "
        f"| dev BIO overlap F1 @{args.steps} | dev relation F1 @{args.steps} |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        ratio = f"{fp32 / row['mean_step_s']:.2f}x" if fp32 and row["mean_step_s"] else "-"
        dev = row["dev_at_end"]
        f1 = [
            "-" if dev.get(k) is None else f"{dev[k]:.3f}" for k in ("bio_span_f1", "relation_f1")
        ]
        print(
            f"| {row['variant']} | {', '.join(row['computed_in'])} | {row['mean_step_s']:.3f} | "
            f"{row['median_step_s']:.3f} | {ratio} | {row['run_s']:.0f} | {f1[0]} | {f1[1]} |"
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
            "rows": [{k: v for k, v in row.items() if not k.startswith("_")} for row in rows],
        }
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
