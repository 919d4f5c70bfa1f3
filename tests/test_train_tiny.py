"""Training end to end on a tiny randomly initialised BERT (slow: real training on CPU)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from transformers import TrainerCallback

from argmine.config import load_run_config, run_config_from_dict
from argmine.encoding import ModelSpec
from argmine.errors import ModelError, OutputExistsError
from argmine.train import train

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "configs" / "tiny.yaml"

pytestmark = pytest.mark.slow


class Interrupt(Exception):
    pass


class KillAfter(TrainerCallback):
    """Simulates a kill: raises after ``steps`` optimizer steps."""

    def __init__(self, steps: int) -> None:
        self.steps = steps

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step >= self.steps:
            raise Interrupt(f"killed at step {state.global_step}")


class Record(TrainerCallback):
    def __init__(self) -> None:
        self.first_step: int | None = None
        self.steps = 0

    def on_train_begin(self, args, state, control, **kwargs):
        self.first_step = state.global_step

    def on_step_end(self, args, state, control, **kwargs):
        self.steps += 1


def test_train_tiny_cli_writes_complete_model_dir(tmp_path):
    out = tmp_path / "tiny"
    cmd = [
        sys.executable,
        "-m",
        "argmine",
        "train",
        str(TINY),
        "--set",
        f"output_dir={out}",
        "--set",
        f"data.cache_dir={tmp_path / 'cache'}",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "ok:" in done.stderr
    for name in [
        "model.safetensors",
        "config.json",
        "tokenizer.json",
        "argmine.json",
        "config.yaml",
        "metrics.json",
        "data_stats.json",
        "README.md",
        "test.jsonl",
    ]:
        assert (out / name).is_file(), name
    spec = ModelSpec.load(out)
    hf = json.loads((out / "config.json").read_text())
    assert [hf["id2label"][str(i)] for i in range(len(spec.tags))] == list(spec.tags)
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"dev", "test", "thresholds"} <= set(metrics)
    assert 0.0 <= metrics["test"]["overlap"]["micro"]["f1"] <= 1.0
    assert set(spec.thresholds) == set(metrics["labels"])
    resolved = yaml.safe_load((out / "config.yaml").read_text())
    assert run_config_from_dict(resolved).output_dir == str(out)
    stats = json.loads((out / "data_stats.json").read_text())
    train_ids = set(stats["train"]["article_ids"])
    assert not train_ids & set(stats["test"]["article_ids"])
    # the tagging side reads the model dir: argmine evaluate on the held-out test articles
    evaluated = subprocess.run(
        [
            sys.executable,
            "-m",
            "argmine",
            "evaluate",
            str(out),
            str(out / "test.jsonl"),
            "-o",
            str(tmp_path / "eval.json"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    assert "overlap" in json.loads((tmp_path / "eval.json").read_text())
    # a second run refuses to overwrite without --force
    again = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=600)
    assert again.returncode == 1
    assert again.stderr.splitlines()[-1].startswith("error[E030]: ")
    assert again.stderr.splitlines()[-1].endswith("pass --force to overwrite it")


def test_train_resume_continues_from_last_checkpoint(tmp_path):
    config = load_run_config(
        TINY,
        overrides=[
            f"output_dir={tmp_path / 'run'}",
            f"data.cache_dir={tmp_path / 'cache'}",
            "train.max_steps=20",
            "train.eval_steps=5",
        ],
    )
    with pytest.raises(ModelError, match="no checkpoint"):
        train(config, resume=True)
    with pytest.raises(Interrupt):
        train(config, callbacks=[KillAfter(12)])
    checkpoints = sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir())
    assert "checkpoint-10" in checkpoints
    assert not (tmp_path / "run" / "model.safetensors").exists()
    with pytest.raises(OutputExistsError):
        train(config)
    record = Record()
    result = train(config, resume=True, callbacks=[record])
    assert record.first_step == 10
    assert record.steps == 10
    assert result.metrics["global_step"] == 20
    assert (tmp_path / "run" / "model.safetensors").is_file()
