"""Key dropout (``argmine.attention``, ``model.attention_dropout_on: keys``): the mask it draws,
and a real (tiny, random) BERT through transformers' attention registry: in evaluation the same
outputs as plain SDPA; in training, dropout reaches PyTorch's attention only as a broadcast
key mask, with ``dropout_p`` 0, so the fused kernel can run."""

from __future__ import annotations

import pytest
import torch

from argmine.attention import key_dropout_mask, register


def _padding_mask(lengths: list[int], n: int) -> torch.Tensor:
    """A boolean ``B x 1 x n x n`` padding mask as transformers builds it for SDPA."""
    keys = torch.arange(n)[None, :] < torch.tensor(lengths)[:, None]
    return keys[:, None, None, :].expand(len(lengths), 1, n, n).contiguous()


def test_key_dropout_mask_drops_a_share_of_the_real_keys_per_head_never_the_first():
    g = torch.Generator().manual_seed(0)
    base = _padding_mask([3000, 2000], 3000)
    mask = key_dropout_mask(
        base, 2, 4, 3000, 0.3, dtype=torch.float32, device=torch.device("cpu"), generator=g
    )
    # one row per (window, head), broadcast over the queries
    assert mask.shape == (2, 4, 1, 3000) and mask.dtype == torch.bool
    assert mask[..., 0].all()
    assert not mask[1, :, :, 2000:].any()  # padding stays masked
    kept = mask[1, :, 0, :2000].float().mean(dim=-1)
    assert ((kept > 0.65) & (kept < 0.75)).all(), kept
    # the heads draw apart
    assert not torch.equal(mask[0, 0], mask[0, 1])


def test_key_dropout_mask_on_an_additive_float_mask():
    base = torch.zeros(1, 1, 1, 500)
    base[..., 400:] = torch.finfo(torch.float32).min
    mask = key_dropout_mask(base, 1, 2, 500, 0.5, dtype=torch.float32, device=torch.device("cpu"))
    assert mask.shape == (1, 2, 1, 500) and mask.dtype == torch.float32
    dropped = mask[..., :400] == torch.finfo(torch.float32).min
    assert 0.35 < dropped.float().mean().item() < 0.65
    assert (mask[..., 400:] == torch.finfo(torch.float32).min).all()
    assert mask[..., 0].eq(0).all()


def test_key_dropout_mask_keeps_a_mask_whose_rows_differ_whole():
    """Only a padding mask (every query row alike) is cut to one row; any other keeps its rows."""
    causal = torch.ones(5, 5, dtype=torch.bool).tril()[None, None]
    mask = key_dropout_mask(causal, 1, 3, 5, 0.0, dtype=torch.float32, device=torch.device("cpu"))
    assert mask.shape == (1, 3, 5, 5)
    assert torch.equal(mask, causal.expand(1, 3, 5, 5))
    cpu = torch.device("cpu")
    assert key_dropout_mask(None, 2, 3, 7, 0.0, dtype=torch.float32, device=cpu).all()


def _tiny_bert(attn: str, p: float):
    from transformers import AutoModel, BertConfig

    config = BertConfig(
        vocab_size=50,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=p,
    )
    torch.manual_seed(0)
    return AutoModel.from_config(config, attn_implementation=attn)


def _batch():
    ids = torch.randint(1, 50, (2, 40), generator=torch.Generator().manual_seed(1))
    attention = torch.ones(2, 40, dtype=torch.long)
    attention[1, 25:] = 0
    return {"input_ids": ids, "attention_mask": attention}


def test_key_dropout_attention_in_a_real_bert(monkeypatch):
    name = register()
    plain = _tiny_bert("sdpa", 0.2)
    keys = _tiny_bert(name, 0.2)
    keys.load_state_dict(plain.state_dict())
    batch = _batch()

    plain.eval()
    keys.eval()
    with torch.no_grad():
        a = plain(**batch).last_hidden_state
        b = keys(**batch).last_hidden_state
    assert torch.allclose(a, b, atol=1e-6)

    calls: list[tuple[float, tuple[int, ...]]] = []
    sdpa = torch.nn.functional.scaled_dot_product_attention

    def spy(q, k, v, attn_mask=None, dropout_p=0.0, **kw):
        calls.append((dropout_p, tuple(attn_mask.shape) if attn_mask is not None else ()))
        return sdpa(q, k, v, attn_mask=attn_mask, dropout_p=dropout_p, **kw)

    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention", spy)
    keys.train()
    torch.manual_seed(2)
    c = keys(**batch).last_hidden_state
    c.sum().backward()
    assert calls == [(0.0, (2, 4, 1, 40))] * 2
    assert not torch.allclose(a, c, atol=1e-3)  # something was dropped
    assert keys.embeddings.word_embeddings.weight.grad is not None

    # the same dropout as probabilities reaches SDPA as dropout_p (its unfused path on CPU)
    calls.clear()
    plain.train()
    plain(**batch)
    assert [p for p, _ in calls] == [0.2, 0.2]


@pytest.mark.parametrize("p", [0.0, 0.2])
def test_key_dropout_leaves_training_at_zero_and_evaluation_alone(p):
    """With p 0 training is exactly plain SDPA; a padded window's real tokens come out the
    same as the unpadded window's in evaluation, so padding stays masked."""
    name = register()
    plain = _tiny_bert("sdpa", 0.0)
    keys = _tiny_bert(name, p)
    keys.load_state_dict(plain.state_dict())
    batch = _batch()
    if p == 0.0:
        plain.train()
        keys.train()
        assert torch.allclose(plain(**batch).last_hidden_state, keys(**batch).last_hidden_state)
    keys.eval()
    with torch.no_grad():
        padded = keys(**batch).last_hidden_state[1, :25]
        alone = keys(input_ids=batch["input_ids"][1:, :25]).last_hidden_state[0]
    assert torch.allclose(padded, alone, atol=1e-5)


def test_attention_kernels_benchmark_times_every_variant(capsys):
    """``benchmarks/attention_kernels.py`` (docs/benchmarks.md "Session 23") runs every
    variant in both precisions and prints one table row each."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "attention_kernels.py"
    spec = importlib.util.spec_from_file_location("attention_kernels", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--batch", "2", "--length", "64", "--rounds", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [line for line in lines if line.startswith("| ") and not line.startswith("| variant")]
    names = ["sdpa", "sdpa+dropout", "unfused+shared", "sdpa+keys(full)", "sdpa+keys"]
    assert sorted({r.split(" | ")[0][2:] for r in rows}) == sorted(names)
    assert len(rows) == 2 * len(names)
