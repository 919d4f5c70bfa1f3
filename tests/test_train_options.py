"""Training options that need no training run to check."""

from __future__ import annotations


def test_train_freeze_layers_freezes_embeddings_and_the_first_layers():
    import transformers

    from argmine.train import freeze_layers

    config = transformers.BertConfig(
        vocab_size=50, hidden_size=16, num_hidden_layers=3, num_attention_heads=2,
        intermediate_size=32, num_labels=3,
    )  # fmt: skip
    model = transformers.AutoModelForTokenClassification.from_config(config)
    frozen = freeze_layers(model, 2)
    layer_of = lambda n: n.split("encoder.layer.")[1].split(".")[0]  # noqa: E731
    assert all(not p.requires_grad for n, p in model.named_parameters() if "embeddings" in n)
    assert {
        layer_of(n) for n, p in model.named_parameters() if "encoder.layer" in n and p.requires_grad
    } == {"2"}
    assert any(p.requires_grad for n, p in model.named_parameters() if n.startswith("classifier"))
    assert frozen == sum(p.numel() for p in model.parameters() if not p.requires_grad)
    freeze_layers(model, -1)
    assert not any(p.requires_grad for n, p in model.named_parameters() if "encoder.layer" in n)
