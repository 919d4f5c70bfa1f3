"""Training levers, mostly without training: the EMA callback's arithmetic, the ``train.crf``
/ ``train.ema`` / ``train.bf16`` / ``train.group_by_length`` / ``model.attention_dropout`` /
``model.attention_dropout_on`` config keys, ``bf16: auto``, the dev curve read from a
Trainer's log history, and three tiny training runs that check the attention dropout each
training step sees (two on the probabilities, one as key dropout)."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
import torch
import yaml

from argmine.config import load_run_config, run_config_from_dict
from argmine.ema import EMA_FILE, WeightEMA
from argmine.errors import ConfigError
from argmine.train import _curve_lines, dev_curve, resolve_bf16
from tiny_runs import tiny_starter_config

MINIMAL = {
    "seed": 1,
    "output_dir": "models/x",
    "data": {"sources": [{"format": "jsonl", "path": "data.jsonl"}]},
}


# -- EMA ------------------------------------------------------------------------------------------
def _toy(weight: list[float], bias: float) -> torch.nn.Linear:
    layer = torch.nn.Linear(2, 1)
    layer.weight.data = torch.tensor([weight])
    layer.bias.data = torch.tensor([bias])
    return layer


def _set(layer: torch.nn.Linear, weight: list[float], bias: float) -> None:
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([weight]))
        layer.bias.fill_(bias)


def test_ema_callback_weights_equal_the_hand_computed_average():
    model = _toy([1.0, 2.0], 0.0)
    ema = WeightEMA(0.2)
    state = SimpleNamespace(global_step=0, is_world_process_zero=True)
    ema.on_train_begin(None, state, None, model=model)
    _set(model, [3.0, 4.0], 1.0)  # after step 1
    ema.on_step_end(None, state, None, model=model)
    _set(model, [5.0, 8.0], -1.0)  # after step 2
    ema.on_step_end(None, state, None, model=model)
    # step 1: decay min(0.2, 2/11) = 2/11 (warm-up); step 2: min(0.2, 3/12) = 0.2 (the cap)
    w1 = [2 / 11 * 1 + 9 / 11 * 3, 2 / 11 * 2 + 9 / 11 * 4]
    b1 = 2 / 11 * 0 + 9 / 11 * 1
    expected_w = [0.2 * w1[0] + 0.8 * 5, 0.2 * w1[1] + 0.8 * 8]
    expected_b = 0.2 * b1 + 0.8 * -1
    assert ema.shadow["weight"][0].tolist() == pytest.approx(expected_w)
    assert ema.shadow["bias"].tolist() == pytest.approx([expected_b])
    # the model keeps its own weights; inside swapped() it holds the average
    with ema.swapped(model):
        assert model.weight[0].tolist() == pytest.approx(expected_w)
    assert model.weight.tolist() == [[5.0, 8.0]]
    ema.copy_to(model)
    assert model.bias.tolist() == pytest.approx([expected_b])


def test_ema_skips_frozen_weights_and_restores_after_an_error():
    model = _toy([1.0, 1.0], 0.0)
    model.bias.requires_grad_(False)
    ema = WeightEMA(0.5)
    ema.init(model)
    _set(model, [3.0, 3.0], 7.0)
    ema.update(model)
    assert set(ema.shadow) == {"weight"}
    with pytest.raises(RuntimeError), ema.swapped(model):
        raise RuntimeError("evaluation failed")
    assert model.weight.tolist() == [[3.0, 3.0]] and model.bias.tolist() == [7.0]


def test_ema_checkpoint_file_round_trips_and_seeds_a_resumed_run(tmp_path):
    model = _toy([1.0, 2.0], 0.5)
    ema = WeightEMA(0.9)
    ema.init(model)
    _set(model, [4.0, 4.0], 0.0)
    ema.update(model)
    checkpoint = tmp_path / "checkpoint-7"
    checkpoint.mkdir()
    args = SimpleNamespace(output_dir=str(tmp_path))
    ema.on_save(args, SimpleNamespace(global_step=7, is_world_process_zero=True), None)
    assert (checkpoint / EMA_FILE).is_file()
    resumed = WeightEMA(0.9, resume_from=checkpoint)
    resumed.on_train_begin(None, SimpleNamespace(global_step=7), None, model=_toy([9.0, 9.0], 9.0))
    assert resumed.updates == 7
    for name in ("weight", "bias"):
        assert torch.equal(resumed.shadow[name], ema.shadow[name])


@pytest.mark.parametrize("decay", [0.0, 1.0, 1.5])
def test_ema_rejects_a_decay_outside_0_1(decay):
    with pytest.raises(ValueError, match="decay"):
        WeightEMA(decay)


# -- config ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("train", "expected"),
    [
        ({}, (False, False, False, None)),
        ({"bf16": "auto"}, ("auto", False, False, None)),
        ({"bf16": True, "crf": True}, (True, True, False, None)),
        ({"group_by_length": True, "ema": {}}, (False, False, True, 0.99)),
        ({"ema": {"decay": 0.999}}, (False, False, False, 0.999)),
    ],
)
def test_config_train_levers_validate(train, expected):
    config = run_config_from_dict({**MINIMAL, "train": train})
    t = config.train
    got = (t.bf16, t.crf, t.group_by_length, t.ema.decay if t.ema is not None else None)
    assert got == expected


@pytest.mark.parametrize(
    ("train", "message"),
    [
        ({"bf16": "maybe"}, "train.bf16"),
        ({"crf": "often"}, "train.crf"),
        ({"ema": {"decay": 1.0}}, "train.ema.decay"),
        ({"ema": {"decay": 0}}, "train.ema.decay"),
        ({"ema": {"rate": 0.9}}, "train.ema.rate: unknown key"),
        ({"ema": 0.99}, "train.ema"),
    ],
)
def test_config_train_levers_reject_bad_values_in_one_line(train, message):
    with pytest.raises(ConfigError, match=message) as info:
        run_config_from_dict({**MINIMAL, "train": train})
    assert "\n" not in str(info.value)


def test_config_train_levers_set_by_dotted_overrides(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(MINIMAL))
    config = load_run_config(
        path, overrides=["train.ema.decay=0.95", "train.crf=true", "train.bf16=auto"]
    )
    assert (config.train.ema.decay, config.train.crf, config.train.bf16) == (0.95, True, "auto")


# -- bf16 -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("has_units", [True, False])
def test_train_bf16_auto_follows_the_cpu_and_true_warns_without_units(
    monkeypatch, caplog, has_units
):
    import argmine.tag

    monkeypatch.setattr(argmine.tag, "cpu_has_bf16_matmul", lambda: has_units)
    assert resolve_bf16("auto", cuda=False) is has_units
    assert resolve_bf16(False, cuda=False) is False
    with caplog.at_level(logging.WARNING, logger="argmine.train"):
        assert resolve_bf16(True, cuda=False) is True
    assert ("slower than float32" in caplog.text) is not has_units


# -- dev curve ------------------------------------------------------------------------------------
HISTORY = [
    {"loss": 1.5, "grad_norm": 3.0, "learning_rate": 1e-4, "epoch": 0.5, "step": 5},
    {"eval_bio_span_f1": 0.2, "eval_span_f1": 0.2, "eval_relation_f1": 0.1,
     "eval_selection": 0.15, "epoch": 1.0, "step": 10},
    {"eval_bio_span_f1": 0.4, "eval_span_f1": 0.4, "eval_relation_f1": 0.3,
     "eval_selection": 0.35, "epoch": 2.0, "step": 20},
    {"loss": 0.9, "grad_norm": 2.0, "learning_rate": 5e-5, "epoch": 2.5, "step": 25},
    {"eval_bio_span_f1": 0.3, "eval_span_f1": 0.3, "eval_relation_f1": 0.2,
     "eval_selection": 0.25, "epoch": 3.0, "step": 30},
    {"train_runtime": 12.0, "train_loss": 1.1, "epoch": 3.0, "step": 30},
]  # fmt: skip


def test_train_dev_curve_has_one_row_per_evaluation():
    curve = dev_curve(HISTORY, best_step=20)
    assert [(r["epoch"], r["step"], r["train_loss"], r["best"]) for r in curve] == [
        (1.0, 10, 1.5, False),
        (2.0, 20, 1.5, True),
        (3.0, 30, 0.9, False),
    ]
    assert [(r["bio_span_f1"], r["relation_f1"], r["selection"]) for r in curve] == [
        (0.2, 0.1, 0.15),
        (0.4, 0.3, 0.35),
        (0.3, 0.2, 0.25),
    ]
    text = "\n".join(_curve_lines(curve, max_steps=60))
    assert "| **2** | **20** | **1.5000** | **0.400** | **0.300** |" in text
    assert "| 3 | 30 | 0.9000 | 0.300 | 0.200 |" in text
    assert "segments" not in text  # a mode that was not trained has no column
    assert "Best at step 20 (epoch 2); 1 later evaluation(s) did not improve on it" in text
    assert "stopped early" in text


def test_train_dev_curve_says_when_the_last_evaluation_was_the_best():
    curve = dev_curve(HISTORY[:3], best_step=20)
    assert "still rising" in "\n".join(_curve_lines(curve, max_steps=20))
    assert _curve_lines([], max_steps=None) == ["No dev evaluation was logged."]


def test_train_relation_head_runs_under_bfloat16_autocast():
    """train.bf16 trains the relation head under CPU autocast (its bilinear term is not on
    autocast's list and failed on bfloat16 inputs with float32 weights)."""
    from argmine.modeling import HeadSpec, RelationHead

    torch.manual_seed(0)
    head = RelationHead(8, HeadSpec(hidden=16, n_pair_features=3, n_relation_classes=3)).eval()
    heads, tails, feats = torch.randn(2, 5, 8), torch.randn(2, 5, 8), torch.randn(2, 5, 3)
    plain = head.pair(heads, tails, feats)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = head.pair(heads, tails, feats)
    assert mixed.shape == plain.shape == (2, 5, 3)
    assert torch.allclose(mixed.float(), plain, atol=0.1)


# -- attention dropout ----------------------------------------------------------------------------
#: (section, key, default, value, valid) for the dropout keys' validation
DROPOUT_KEYS = [
    *[("model", "attention_dropout", None, v, ok) for v, ok in
      [(0, True), (0.25, True), (-0.1, False), (1.0, False)]],
    *[("model", "attention_dropout_on", "probs", v, ok) for v, ok in
      [("probs", True), ("keys", True), ("heads", False)]],
    *[("train", "head_dropout", 0.1, v, ok) for v, ok in
      [(0, True), (0.3, True), (-0.1, False), (1.0, False)]],
]  # fmt: skip


@pytest.mark.parametrize(("section", "key", "default", "value", "ok"), DROPOUT_KEYS)
def test_config_dropout_keys_validate(section, key, default, value, ok):
    """``model.attention_dropout``, ``model.attention_dropout_on`` and ``train.head_dropout``:
    a valid value is kept, a bad one fails in one line naming the dotted key, and the default
    is as documented."""
    data = {**MINIMAL, section: {key: value}}
    if ok:
        assert getattr(getattr(run_config_from_dict(data), section), key) == value
    else:
        with pytest.raises(ConfigError, match=rf"{section}\.{key}\b") as info:
            run_config_from_dict(data)
        assert "\n" not in str(info.value)
    assert getattr(getattr(run_config_from_dict(MINIMAL), section), key) == default


def _tiny_starter_run(tmp_path, *overrides: str):
    """The tiny training runs below: tests/tiny_runs.py's config writing ``tmp_path/model``."""
    return tiny_starter_config(tmp_path / "model", *overrides)


@pytest.mark.slow
@pytest.mark.parametrize("value", [None, 0.0])
def test_train_model_attention_dropout_reaches_the_training_steps(tmp_path, value):
    """The tiny model trains with the attention dropout asked for (``null``: its config's 0.1)
    and the saved model says so; hidden dropout stays as it was."""
    import json

    from transformers import TrainerCallback

    from argmine.train import train

    seen: list[tuple[bool, set[float], set[float]]] = []

    class Watch(TrainerCallback):
        def on_step_end(self, args, state, control, model=None, **kwargs):
            attention = {
                m.dropout.p
                for m in model.tagger.modules()
                if type(m).__name__.endswith("SelfAttention")
            }
            hidden = {
                m.dropout.p
                for m in model.tagger.modules()
                if type(m).__name__.endswith("SelfOutput")
            }
            seen.append((model.training, attention, hidden))

    overrides = [
        "train.max_steps=2",
        "relations.enabled=false",
    ]
    if value is not None:
        overrides.append(f"model.attention_dropout={value}")
    train(_tiny_starter_run(tmp_path, *overrides), callbacks=[Watch()])
    want = 0.1 if value is None else value
    assert seen and all(training for training, _, _ in seen)
    assert all(attention == {want} and hidden == {0.1} for _, attention, hidden in seen)
    saved = json.loads((tmp_path / "model" / "config.json").read_text())
    assert saved["attention_probs_dropout_prob"] == want


@pytest.mark.slow
def test_train_key_dropout_trains_through_the_fused_attention_and_saves_a_plain_model(
    tmp_path, monkeypatch
):
    """``model.attention_dropout_on: keys``: every training step's attention gets its dropout
    as a broadcast key mask with ``dropout_p`` 0 (what PyTorch's fused CPU kernel needs); the
    saved model names no argmine attention, so plain transformers loads it."""
    import json

    from transformers import AutoModelForTokenClassification

    from argmine.attention import KEY_DROPOUT
    from argmine.train import train

    calls: list[tuple[bool, float, int]] = []
    sdpa = torch.nn.functional.scaled_dot_product_attention

    def spy(q, k, v, attn_mask=None, dropout_p=0.0, **kw):
        rows = attn_mask.shape[2] if attn_mask is not None else 0
        calls.append((torch.is_grad_enabled(), dropout_p, rows))
        return sdpa(q, k, v, attn_mask=attn_mask, dropout_p=dropout_p, **kw)

    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention", spy)
    overrides = [
        "train.max_steps=2",
        "relations.enabled=false",
        "model.attention_dropout_on=keys",
    ]
    train(_tiny_starter_run(tmp_path, *overrides))
    training = [(p, rows) for grad, p, rows in calls if grad]
    assert len(training) >= 2 * 2  # 2 steps, 2 layers in the tiny model
    assert all(p == 0.0 and rows == 1 for p, rows in training)
    text = (tmp_path / "model" / "config.json").read_text()
    assert KEY_DROPOUT not in text
    assert json.loads(text)["attention_probs_dropout_prob"] == 0.1
    model = AutoModelForTokenClassification.from_pretrained(tmp_path / "model")
    assert model.config._attn_implementation == "sdpa"
    metrics = json.loads((tmp_path / "model" / "metrics.json").read_text())
    assert metrics["attention_dropout_on"] == "keys"


@pytest.mark.slow
def test_train_key_dropout_on_an_encoder_without_attention_functions_says_so(
    tmp_path, monkeypatch, caplog
):
    """An encoder whose attention is its own code (MPNet) cannot take key dropout: the run
    warns, keeps the dropout on the probabilities and its metrics say ``probs``."""
    import json

    import transformers

    from argmine.train import train

    monkeypatch.setattr(
        transformers.BertForTokenClassification, "_supports_attention_backend", False
    )
    overrides = [
        "train.max_steps=1",
        "relations.enabled=false",
        "model.attention_dropout_on=keys",
    ]
    with caplog.at_level(logging.WARNING, logger="argmine.train"):
        train(_tiny_starter_run(tmp_path, *overrides))
    assert any(
        "attention_dropout_on: keys: BertForTokenClassification computes its own attention"
        in r.getMessage()
        for r in caplog.records
    )
    metrics = json.loads((tmp_path / "model" / "metrics.json").read_text())
    assert metrics["attention_dropout_on"] == "probs"


# -- head dropout ---------------------------------------------------------------------------------
@pytest.mark.slow
def test_train_head_dropout_reaches_both_heads_while_the_encoder_keeps_its_own(tmp_path):
    """``train.head_dropout`` is the dropout of the unit and relation heads' MLPs in every
    training step; the encoder's dropouts are left alone."""

    from transformers import TrainerCallback

    from argmine.train import train

    seen: list[tuple[set[float], set[float], set[float]]] = []

    def rates(module) -> set[float]:
        return {m.p for m in module.modules() if isinstance(m, torch.nn.Dropout)}

    class Watch(TrainerCallback):
        def on_step_end(self, args, state, control, model=None, **kwargs):
            seen.append((rates(model.unit_head), rates(model.relation_head), rates(model.tagger)))

    overrides = [
        "train.max_steps=2",
        "train.head_dropout=0.3",
        "units.mode=segments",
    ]
    train(_tiny_starter_run(tmp_path, *overrides), callbacks=[Watch()])
    assert seen and all(u == {0.3} and r == {0.3} and 0.3 not in t for u, r, t in seen)
