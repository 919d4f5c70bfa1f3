"""Training end to end on a tiny randomly initialised BERT (slow: real training on CPU)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

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


def stats_test_ids(out: Path) -> list[str]:
    return json.loads((out / "data_stats.json").read_text())["test"]["article_ids"]


OPENERS = {"Claim": "Surely", "Evidence": "Records show", "Conclusion": "Therefore"}
FILLER = ["the harbour fees", "the night trains", "the school meals", "the river bridge"]


def _learnable_articles(n: int) -> list:
    """Articles whose unit labels follow a surface rule: each sentence is one unit, labelled by
    its first words (Surely -> Claim, Records show -> Evidence, Therefore -> Conclusion)."""
    from argmine.document import ArgUnit, Article

    articles = []
    for i in range(n):
        text, units = "", []
        for j, label in enumerate(["Claim", "Evidence", "Claim", "Evidence", "Conclusion"]):
            thing = FILLER[(i + j) % len(FILLER)]
            sentence = f"{OPENERS[label]} {thing} changed in year {2000 + i + j}."
            start = len(text)
            text += sentence + " "
            units.append(ArgUnit(f"T{j + 1}", start, start + len(sentence), label))
        articles.append(Article(id=f"rule-{i:02d}", text=text.strip(), units=units))
    return articles


def test_train_tiny_overfits_a_surface_rule_to_span_f1_above_0_9(tmp_path):
    """Training learns: the tiny model, given enough steps, fits a few articles whose labels
    follow a surface rule (scored on the articles it trained on, against their gold units)."""
    from argmine.document import dumps_article
    from argmine.tag import evaluate_model

    articles = _learnable_articles(12)
    source = tmp_path / "rule.jsonl"
    source.write_text("".join(dumps_article(a) + "\n" for a in articles), encoding="utf-8")
    config = load_run_config(
        TINY,
        overrides=[
            f"output_dir={tmp_path / 'run'}",
            f"data.cache_dir={tmp_path / 'cache'}",
            f"data.sources=[{{format: jsonl, path: {source}}}]",
            "data.splits.test=0.0",
            "train.max_steps=300",
            "train.eval_steps=100",
            "train.lr=0.003",
            "train.batch_size=4",
        ],
    )
    train(config)
    trained = set(
        json.loads((tmp_path / "run" / "data_stats.json").read_text())["train"]["article_ids"]
    )
    gold = [a for a in articles if a.id in trained]
    scores = evaluate_model(tmp_path / "run", gold)
    assert scores["exact"]["micro"]["f1"] >= 0.9, scores["exact"]["micro"]


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
    # the test scores count the held-out gold units written beside the model
    from argmine.document import iter_jsonl_articles

    with (out / "test.jsonl").open(encoding="utf-8") as handle:
        held_out = list(iter_jsonl_articles(handle))
    assert held_out and sorted(a.id for a in held_out) == sorted(stats_test_ids(out))
    for kind in ("exact", "overlap"):
        micro = metrics["test"][kind]["micro"]
        assert micro["tp"] + micro["fn"] == sum(len(a.units) for a in held_out)
        denominator = 2 * micro["tp"] + micro["fp"] + micro["fn"]
        assert micro["f1"] == pytest.approx(2 * micro["tp"] / denominator if denominator else 0)
    assert set(spec.thresholds) == set(metrics["labels"])
    # the dev curve: one row per evaluation, as in the Trainer's own saved log history
    (state_file,) = (out / "checkpoints" / "checkpoint-40").glob("trainer_state.json")
    evals = [e for e in json.loads(state_file.read_text())["log_history"] if "eval_selection" in e]
    curve = metrics["dev_curve"]
    assert [r["step"] for r in curve] == [e["step"] for e in evals] == [20, 40]
    for key in ("bio_span_f1", "relation_f1", "selection"):
        assert [r[key] for r in curve] == [e[f"eval_{key}"] for e in evals], key
    (best,) = [r for r in curve if r["best"]]
    assert metrics["best_checkpoint"].endswith(f"checkpoint-{best['step']}")
    card = (out / "README.md").read_text()
    table = [line for line in card.split("## Dev curve")[1].splitlines() if line.startswith("| ")]
    assert [row.split(" | ")[1].strip("*") for row in table[1:]] == ["20", "40"]  # step column
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
    # a killed run leaves its work in run.partial/ only: no half-written model dir
    assert not (tmp_path / "run").exists()
    checkpoints = sorted(p.name for p in (tmp_path / "run.partial" / "checkpoints").iterdir())
    assert "checkpoint-10" in checkpoints
    with pytest.raises(OutputExistsError, match=r"run\.partial"):
        train(config)
    record = Record()
    result = train(config, resume=True, callbacks=[record])
    assert record.first_step == 10
    assert record.steps == 10
    assert result.metrics["global_step"] == 20
    assert (tmp_path / "run" / "model.safetensors").is_file()
    assert not (tmp_path / "run.partial").exists()


def test_train_force_replaces_the_whole_model_dir(tmp_path):
    run = tmp_path / "run"
    config = load_run_config(
        TINY,
        overrides=[
            f"output_dir={run}",
            f"data.cache_dir={tmp_path / 'cache'}",
            "train.max_steps=4",
        ],
    )
    run.mkdir()
    (run / "cv_metrics.json").write_text("{}\n")  # left by an earlier run
    with pytest.raises(OutputExistsError):
        train(config)
    train(config, force=True)
    assert (run / "model.safetensors").is_file() and (run / "metrics.json").is_file()
    assert not (run / "cv_metrics.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("run")) == ["run"]


class SeenAtEvaluation(TrainerCallback):
    """The classifier weights the model holds while dev callbacks run, per step."""

    def __init__(self) -> None:
        self.weights: dict[int, Any] = {}

    def on_evaluate(self, args, state, control, model=None, **kwargs):
        self.weights[state.global_step] = model.tagger.classifier.weight.detach().clone()


def test_train_tiny_crf_and_ema_reach_the_model_dir(tmp_path):
    """train.crf saves trained transitions with the heads and tagging loads them; train.ema
    evaluates dev on the averaged weights and saves the best checkpoint's average."""
    import torch
    from safetensors.torch import load_file

    from argmine.ema import EMA_FILE
    from argmine.tag import Tagger

    out = tmp_path / "run"
    config = load_run_config(
        TINY,
        overrides=[
            f"output_dir={out}",
            f"data.cache_dir={tmp_path / 'cache'}",
            "train.max_steps=6",
            "train.eval_steps=3",
            "train.crf=true",
            "train.ema.decay=0.9",
        ],
    )
    seen = SeenAtEvaluation()
    result = train(config, callbacks=[seen])
    assert ModelSpec.load(out).heads["crf"] is True
    heads = load_file(str(out / "heads.safetensors"))
    assert heads["crf.transitions"].abs().sum() > 0  # trained away from their zero start
    tagger = Tagger.load(out)
    assert torch.equal(tagger.network.crf.transitions, heads["crf.transitions"])

    best = Path(result.metrics["best_checkpoint"])
    average = load_file(str(best / EMA_FILE))
    raw = load_file(str(best / "model.safetensors"))
    saved = load_file(str(out / "model.safetensors"))
    key = "tagger.classifier.weight"
    assert not torch.equal(average[key], raw[key])
    assert torch.equal(saved["classifier.weight"], average[key])
    assert torch.equal(heads["crf.transitions"], average["crf.transitions"])
    # what dev evaluation saw at each checkpoint is that checkpoint's average
    assert sorted(seen.weights) == [3, 6]
    for step, weight in seen.weights.items():
        ema = load_file(str(out / "checkpoints" / f"checkpoint-{step}" / EMA_FILE))
        assert torch.equal(weight, ema[key])
    assert result.metrics["ema"] == {"decay": 0.9} and result.metrics["crf"] is True
