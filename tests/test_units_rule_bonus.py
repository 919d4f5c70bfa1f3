"""``units.rule_bonus``: the rules' own label of each segment unit fused with the unit head's
probabilities (log-linear), chosen on dev at training time, stored in the model directory and
applied by ``argmine tag``."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from argmine.config import ConfigError, run_config_from_dict
from argmine.document import ArgUnit, Article
from argmine.errors import ModelError

REPO = Path(__file__).resolve().parents[1]

LABELS = ("Claim", "Evidence", "Conclusion")


def _unit(label: str, start: int = 0, end: int = 10) -> ArgUnit:
    return ArgUnit("T1", start, end, label)


def test_with_rule_labels_multiplies_the_rule_label_by_e_to_the_bonus_and_renormalises():
    from argmine.relations import with_rule_labels

    probs = np.array(
        [
            [0.5, 0.3, 0.2, 0.0],  # rule says Evidence
            [0.1, 0.6, 0.1, 0.2],  # rule label not a model label: unchanged
            [0.25, 0.25, 0.25, 0.25],  # rule says Conclusion
        ],
        dtype=np.float32,
    )
    cands = [_unit("Evidence"), _unit("Premise"), _unit("Conclusion")]
    fused = with_rule_labels(cands, probs, LABELS, math.log(3.0))
    # row 0: (0.5, 0.3, 0.2 * 3, 0) / 1.4
    np.testing.assert_allclose(fused[0], [0.5 / 1.4, 0.3 / 1.4, 0.6 / 1.4, 0.0], rtol=1e-5)
    np.testing.assert_allclose(fused[1], probs[1], rtol=1e-6)
    # row 2: (1, 1, 1, 3) / 6
    np.testing.assert_allclose(fused[2], [1 / 6, 1 / 6, 1 / 6, 0.5], rtol=1e-5)
    assert fused.dtype == probs.dtype
    # no bonus: the head alone, the very same numbers
    np.testing.assert_array_equal(with_rule_labels(cands, probs, LABELS, 0.0), probs)
    # the input is not modified in place
    assert probs[0, 2] == np.float32(0.2)


def test_segment_units_takes_the_rule_label_once_the_bonus_outweighs_the_head(monkeypatch):
    import argmine.inference as inference

    text = "Taxes must rise now. Data show a large deficit. So we act today."
    cands = [
        ArgUnit("R1", 0, 20, "Claim"),
        ArgUnit("R2", 21, 47, "Evidence"),
        ArgUnit("R3", 48, 64, "Conclusion"),
    ]
    head = np.array(
        [
            [0.1, 0.2, 0.7, 0.0],  # head: Evidence (0.7) vs rule Claim (0.2)
            [0.6, 0.0, 0.4, 0.0],  # head: none (0.6) vs rule Evidence (0.4)
            [0.0, 0.9, 0.0, 0.1],  # head: Claim (0.9) vs rule Conclusion (0.1)
        ],
        dtype=np.float32,
    )
    monkeypatch.setattr(inference, "segment_probs", lambda *a, **k: (cands, head))
    article = Article(id="a", text=text)

    def labels_at(bonus: float) -> list[tuple[int, str]]:
        units = inference.segment_units(
            None, article, np.zeros((1, 1)), [], labels=LABELS, encoder=None, rule_bonus=bonus
        )
        return [(u.start, u.label) for u in units]

    assert labels_at(0.0) == [(0, "Evidence"), (48, "Claim")]
    # ln(0.7 / 0.2) = 1.25 flips unit 1; ln(0.6 / 0.4) = 0.41 brings unit 2 in; ln 9 = 2.2 unit 3
    assert labels_at(1.0) == [(0, "Evidence"), (21, "Evidence"), (48, "Claim")]
    assert labels_at(1.5) == [(0, "Claim"), (21, "Evidence"), (48, "Claim")]
    assert labels_at(2.5) == [(0, "Claim"), (21, "Evidence"), (48, "Conclusion")]
    # the score is the fused probability of the chosen label: 0.4 e^2.5 / (0.6 + 0.4 e^2.5)
    (_, second, _) = inference.segment_units(
        None, article, np.zeros((1, 1)), [], labels=LABELS, encoder=None, rule_bonus=2.5
    )
    e = math.exp(2.5)
    assert second.score == pytest.approx(0.4 * e / (0.6 + 0.4 * e), rel=1e-5)


def test_units_rule_bonus_config_and_model_spec_validation(tmp_path):
    from argmine.encoding import ModelSpec

    base = {
        "seed": 1,
        "output_dir": str(tmp_path / "m"),
        "data": {"sources": [{"format": "jsonl", "path": str(tmp_path / "gold.jsonl")}]},
    }
    assert run_config_from_dict({**base, "units": {"rule_bonus": "auto"}}).units.rule_bonus == (
        "auto"
    )
    assert run_config_from_dict({**base, "units": {"rule_bonus": 2}}).units.rule_bonus == 2.0
    assert run_config_from_dict(base).units.rule_bonus == 0.0  # off unless asked for
    for bad in (-1, "always", 51):
        with pytest.raises(ConfigError, match="rule_bonus"):
            run_config_from_dict({**base, "units": {"rule_bonus": bad}})

    spec = ModelSpec(labels=LABELS, unit_rule_bonus=2.0)
    spec.save(tmp_path)
    assert ModelSpec.load(tmp_path).unit_rule_bonus == 2.0
    data = json.loads((tmp_path / "argmine.json").read_text())
    data["unit_rule_bonus"] = -0.5
    (tmp_path / "argmine.json").write_text(json.dumps(data))
    with pytest.raises(ModelError, match="unit_rule_bonus"):
        ModelSpec.load(tmp_path)
    # model dirs written before the option load as the head alone
    data.pop("unit_rule_bonus")
    (tmp_path / "argmine.json").write_text(json.dumps(data))
    assert ModelSpec.load(tmp_path).unit_rule_bonus == 0.0


@pytest.mark.slow
def test_train_chooses_the_unit_rule_bonus_on_dev_and_tag_applies_it(tmp_path):
    """Real training (tiny random-init model, starter pieces): the bonus with the best dev
    overlap F1 is stored; a model dir with a huge bonus tags every rule unit with its rule
    label, the same dir without it does not."""
    from argmine.prelabel import prelabel
    from argmine.relations import UNIT_RULE_BONUS_GRID
    from argmine.tag import Tagger, load_gold
    from argmine.train import train
    from tiny_runs import tiny_starter_config

    starter = REPO / "annotations" / "starter.json"
    config = tiny_starter_config(
        tmp_path / "model",
        f"data.cache_dir={tmp_path / 'cache'}",
        "train.max_steps=10",
        "units.mode=segments",
        "units.rule_bonus=auto",
        "relations.enabled=false",
    )
    result = train(config, force=True)
    metrics = json.loads((result.output_dir / "metrics.json").read_text())
    spec = json.loads((result.output_dir / "argmine.json").read_text())
    table = metrics["unit_rule_bonus_dev"]
    assert set(table) == {f"{b:g}" for b in UNIT_RULE_BONUS_GRID}
    best = max(UNIT_RULE_BONUS_GRID, key=lambda b: (table[f"{b:g}"]["overlap_f1"], -b))
    assert spec["unit_mode"] == "segments"
    assert spec["unit_rule_bonus"] == metrics["unit_rule_bonus"] == best
    # the dev row the thresholds were tuned on is the chosen bonus's
    assert metrics["dev_untuned"]["overlap"]["micro"]["f1"] == table[f"{best:g}"]["overlap_f1"]
    assert "rule bonus" in (result.output_dir / "README.md").read_text()

    articles = [a.with_annotations([], []) for a in load_gold(starter)[:8]]
    rules = [[(u.start, u.end, u.label) for u in prelabel(a).sorted_units()] for a in articles]
    forced = tmp_path / "forced"
    shutil.copytree(result.output_dir, forced, ignore=shutil.ignore_patterns("checkpoints"))
    for directory, bonus in ((forced, 50.0), (result.output_dir, 0.0)):
        data = json.loads((directory / "argmine.json").read_text())
        data["unit_rule_bonus"] = bonus
        (directory / "argmine.json").write_text(json.dumps(data))
    got = [
        [(u.start, u.end, u.label) for u in a.sorted_units()]
        for a in Tagger.load(forced).predict(articles, thresholds=False)
    ]
    assert got == rules
    plain = [
        [(u.start, u.end, u.label) for u in a.sorted_units()]
        for a in Tagger.load(result.output_dir).predict(articles, thresholds=False)
    ]
    assert plain != rules  # a 10-step model alone does not reproduce the rules
    # the unit head's dropout is off for predictions made while the model is in training mode
    # (as when argmine.train scores dev and test)
    from argmine.inference import predict_articles

    tagger = Tagger.load(result.output_dir)
    tagger.network.train()
    again = predict_articles(
        tagger.network, tagger.codec, articles, units="segments", encoder=tagger.encoder
    )
    assert [[(u.start, u.end, u.label) for u in a.sorted_units()] for a in again] == plain
    assert tagger.network.training
