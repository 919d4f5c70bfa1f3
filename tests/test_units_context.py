"""The unit-context layer (``units.context``): a BiGRU over a row's unit vectors in text order."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from argmine.modeling import ArgumentModel, HeadSpec  # noqa: E402

HIDDEN = 16


def _model(context: int) -> ArgumentModel:
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=50,
        hidden_size=HIDDEN,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        num_labels=3,
    )
    tagger = transformers.BertForTokenClassification(config)
    spec = HeadSpec(hidden=8, n_unit_classes=4, n_relation_classes=3, context=context)
    return ArgumentModel(tagger, spec).eval()


def test_a_units_context_ignores_the_padding_after_its_row():
    """Two windows batched, the shorter padded: its units' context states are the ones it
    gets alone, and the padding slots get none (the backward direction must start at the
    row's last real unit, not at the padding)."""
    model = _model(context=4)
    vectors = torch.randn(2, 5, 2 * HIDDEN)
    valid = torch.tensor([[True, True, True, False, False], [True] * 5])
    with torch.no_grad():
        batched = model.contextualize(vectors, valid)
        alone = model.contextualize(vectors[:1, :3])
        second = model.contextualize(vectors[1:])
    assert batched.shape == (2, 5, 2 * HIDDEN + 8)
    torch.testing.assert_close(batched[0, :3], alone[0])
    torch.testing.assert_close(batched[1], second[0])
    assert torch.count_nonzero(batched[0, 3:, 2 * HIDDEN :]) == 0
    # each unit keeps its own vector in front
    torch.testing.assert_close(batched[..., : 2 * HIDDEN], vectors)


def test_a_units_context_reads_the_units_on_both_sides():
    model = _model(context=4)
    vectors = torch.randn(1, 4, 2 * HIDDEN)
    changed_last, changed_first = vectors.clone(), vectors.clone()
    changed_last[0, 3] += 1.0
    changed_first[0, 0] += 1.0
    with torch.no_grad():
        base = model.contextualize(vectors)[0, 1, 2 * HIDDEN :]
        after = model.contextualize(changed_last)[0, 1, 2 * HIDDEN :]
        before = model.contextualize(changed_first)[0, 1, 2 * HIDDEN :]
    assert not torch.allclose(base, after)  # a later unit reaches unit 1 (backward GRU)
    assert not torch.allclose(base, before)  # so does an earlier one (forward GRU)


def test_without_a_context_layer_the_vectors_pass_unchanged_and_heads_keep_their_shape():
    plain, with_context = _model(context=0), _model(context=4)
    vectors = torch.randn(1, 3, 2 * HIDDEN)
    assert plain.unit_context is None
    assert plain.contextualize(vectors) is vectors
    assert plain.unit_head[1].in_features == 2 * HIDDEN
    assert with_context.unit_head[1].in_features == 2 * HIDDEN + 8
    # the saved heads carry the GRU, so a model dir reloads it
    assert any(k.startswith("unit_context.") for k in with_context.head_state())
    assert not any(k.startswith("unit_context.") for k in plain.head_state())
