"""Attention with dropout on CPU: where the time goes, side by side in one process.

One attention layer of MiniLM's shape (``--batch`` windows x 12 heads x ``--length`` tokens x
32, a padding mask as transformers builds it for SDPA), forward and backward, timed round by
round with every variant in turn (the order rotating), in bfloat16 autocast and in float32:

- ``sdpa``: PyTorch's scaled-dot-product attention without dropout (the fused kernel);
- ``sdpa+dropout``: the same with dropout on the probabilities (what BERT trains with; on CPU
  the fused kernel has no dropout, so this runs unfused);
- ``unfused+shared``: attention written out, one dropout mask shared by the heads;
- ``sdpa+keys(full)``: SDPA with a per-element key mask (DropKey as published,
  ``B x H x L x L``);
- ``sdpa+keys``: SDPA with ``argmine.attention``'s key dropout (``B x H x 1 x L``, broadcast).

    .venv/bin/python benchmarks/attention_kernels.py                # 4 x 512, 5 rounds
    .venv/bin/python benchmarks/attention_kernels.py --length 256 --batch 8
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from argmine.attention import key_dropout_mask  # noqa: E402

HEADS, DIM = 12, 32


def variants(batch: int, length: int, p: float):
    real = (
        torch.arange(length)[None, :]
        < torch.tensor([length - 37 * i for i in range(batch)])[:, None]
    )
    padding = real[:, None, None, :].expand(batch, 1, length, length).contiguous()

    def sdpa(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=padding)

    def sdpa_dropout(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=padding, dropout_p=p)

    def unfused_shared(q, k, v):
        scores = (q @ k.transpose(-1, -2)) * DIM**-0.5
        scores = scores.masked_fill(~padding, torch.finfo(scores.dtype).min)
        probs = scores.softmax(-1)
        keep = (torch.rand(batch, 1, length, length) >= p).to(probs.dtype) / (1 - p)
        return (probs * keep) @ v

    def sdpa_keys_full(q, k, v):
        mask = padding & (torch.rand(batch, HEADS, length, length) >= p)
        mask[..., 0] = True
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)

    def sdpa_keys(q, k, v):
        mask = key_dropout_mask(padding, batch, HEADS, length, p, dtype=q.dtype, device=q.device)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)

    return {
        "sdpa": sdpa,
        "sdpa+dropout": sdpa_dropout,
        "unfused+shared": unfused_shared,
        "sdpa+keys(full)": sdpa_keys_full,
        "sdpa+keys": sdpa_keys,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--length", type=int, default=512)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    funcs = variants(args.batch, args.length, args.dropout)
    names = list(funcs)
    shape = (args.batch, HEADS, args.length, DIM)
    qkv = [torch.randn(shape, requires_grad=True) for _ in range(3)]
    print(
        f"one attention layer, {args.batch} x {HEADS} heads x {args.length} tokens x {DIM}, "
        f"dropout {args.dropout}, forward + backward; {args.rounds} rounds after one untimed; "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    for bf16 in (True, False):
        seconds: dict[str, list[float]] = {n: [] for n in names}
        for r in range(args.rounds + 1):
            k = r % len(names)
            for name in names[k:] + names[:k]:
                t0 = time.perf_counter()
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                    out = funcs[name](*qkv)
                out.float().sum().backward()
                if r:
                    seconds[name].append(time.perf_counter() - t0)
                for t in qkv:
                    t.grad = None
        base = sorted(seconds["sdpa+dropout"])[args.rounds // 2]
        print(f"\n{'bfloat16 autocast' if bf16 else 'float32'}")
        print("| variant | median ms | speed vs sdpa+dropout |")
        print("|---|---|---|")
        for name in names:
            med = sorted(seconds[name])[args.rounds // 2]
            print(f"| {name} | {med * 1000:.1f} | {base / med:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
