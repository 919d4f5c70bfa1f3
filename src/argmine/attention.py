"""Key dropout: attention dropout that keeps PyTorch's fused attention kernel.

BERT-style encoders drop attention *probabilities* while training (``attention_probs_dropout_prob``,
0.1 for MiniLM). On CPU, PyTorch's fused scaled-dot-product attention has no dropout, so any
dropout there sends every layer down the unfused path, which builds the full
``heads x length x length`` probability tensor: a MiniLM bf16 training step at 512 tokens was
2.2x slower for it (docs/benchmarks.md "Session 22").

Key dropout regularises the same place without leaving the fused kernel: while training, each
head of each window ignores a random share ``p`` of the tokens as keys (they are masked before
the softmax, which renormalises over the rest; the first token, ``[CLS]``, is always kept so no
row is left empty). It is DropKey (Li et al., CVPR 2023, "DropKey for Vision Transformer") with
one draw per (window, head, key) shared by all queries, so the mask stays ``B x H x 1 x L`` and
broadcasts instead of growing to ``B x H x L x L``. In evaluation (``module.training`` false, or
``p == 0``) it is plain SDPA, so a model trained with it is saved and loaded as an ordinary
``sdpa`` model.

``register()`` adds it to transformers' attention and mask registries under
:data:`KEY_DROPOUT`; pass that name as ``attn_implementation``.
"""

from __future__ import annotations

from typing import Any

import torch

KEY_DROPOUT = "argmine_key_dropout"


def _row_mask(mask: torch.Tensor) -> torch.Tensor:
    """``mask`` (``B x 1 x Lq x Lk``) as ``B x 1 x 1 x Lk`` when every query row is the same
    (a padding mask, as encoders build it), so that adding per-key drops keeps it small."""
    if mask.dim() == 4 and mask.shape[2] > 1:
        first = mask[:, :, :1, :]
        if torch.equal(mask, first.expand_as(mask)):
            return first
    return mask


def key_dropout_mask(
    attention_mask: torch.Tensor | None,
    batch: int,
    heads: int,
    keys: int,
    p: float,
    *,
    dtype: torch.dtype,
    device: torch.device,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The attention mask with a share ``p`` of the keys dropped per (window, head): a boolean
    (True: attend) mask, or an additive float one when ``attention_mask`` is float."""
    keep = torch.rand(batch, heads, 1, keys, device=device, generator=generator) >= p
    keep[..., 0] = True
    if attention_mask is None:
        return keep
    base = _row_mask(attention_mask)
    if base.dtype == torch.bool:
        return base & keep
    return base.to(dtype).masked_fill(~keep, torch.finfo(dtype).min)


def key_dropout_attention(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """transformers' SDPA attention with key dropout in place of probability dropout:
    ``dropout`` (the layer's attention dropout, passed as 0 in evaluation) is the share of keys
    dropped."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    if dropout > 0.0 and module.training:
        attention_mask = key_dropout_mask(
            attention_mask,
            query.shape[0],
            query.shape[1],
            key.shape[2],
            dropout,
            dtype=query.dtype,
            device=query.device,
        )
    return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=0.0, **kwargs)


def register() -> str:
    """Register key dropout with transformers (idempotent); returns its name."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(KEY_DROPOUT, key_dropout_attention)
    AttentionMaskInterface.register(KEY_DROPOUT, sdpa_mask)
    return KEY_DROPOUT
