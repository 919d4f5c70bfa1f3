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

Training levers (``train:`` keys, all off by default; measured in docs/benchmarks.md, "Training
levers"): ``crf`` (a linear-chain CRF over the BIO tags, :mod:`argmine.crf`), ``ema`` (an
exponential moving average of the weights, :mod:`argmine.ema`), ``bf16`` (bfloat16 autocast;
``auto`` where the hardware has bfloat16 matrix units) and ``group_by_length`` (batches of
windows of similar length). ``metrics.json`` and the model card carry the dev curve (the dev
scores after every evaluation, from the Trainer's log history).

``kfold`` configs without a fold train every fold into ``<output_dir>/fold-<k>/`` and write the
averaged test scores to ``<output_dir>/cv_metrics.json``.
"""

from __future__ import annotations

import contextlib
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

from argmine.boundaries import BoundaryOptions
from argmine.config import RunConfig, load_label_schema
from argmine.document import Article
from argmine.encoders import resolve_base_model
from argmine.encoding import ModelSpec, TokenTagCodec
from argmine.errors import ConfigError, ModelError, OutputExistsError
from argmine.pair_ranker import FILENAME as PAIR_RANKER_FILE

__all__ = [
    "TrainResult",
    "dev_curve",
    "map_relation_labels",
    "resolve_base_model",
    "resolve_bf16",
    "train",
    "train_cv",
    "tune_relation_decoding",
    "tune_thresholds",
]

log = logging.getLogger(__name__)

CHECKPOINTS = "checkpoints"
SELECTION_METRIC = "selection"
SPAN_METRIC = "span_f1"
THRESHOLD_GRID = (0.0, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)


@dataclass(frozen=True)
class TrainResult:
    output_dir: Path
    metrics: dict[str, Any]
    seconds: float


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


RELATION_GRID = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


def freeze_layers(tagger: Any, n: int) -> int:
    """Stop training the embeddings and the first ``n`` transformer layers (``-1``: all) of a
    Hugging Face encoder; returns the number of parameters frozen."""
    base = getattr(tagger, "base_model", tagger)
    layers = getattr(getattr(base, "encoder", None), "layer", None)
    if layers is None or not hasattr(base, "embeddings"):
        raise ConfigError("train.freeze_layers", f"{type(base).__name__} has no embeddings/layers")
    modules = [base.embeddings, *(layers if n < 0 else layers[:n])]
    count = 0
    for module in modules:
        for param in module.parameters():
            param.requires_grad_(False)
            count += param.numel()
    return count


def map_relation_labels(article: Article, mapping: Mapping[str, str | None]) -> Article:
    """Relation labels renamed by ``mapping`` (a label mapped to ``None`` is dropped; labels
    not in the mapping are kept)."""
    from dataclasses import replace

    rels = []
    for rel in article.relations:
        label = mapping.get(rel.label, rel.label)
        if label is not None:
            rels.append(replace(rel, label=label))
    return article.with_annotations(article.units, rels)


def tune_relation_decoding(
    gold: Sequence[Article],
    collected: Sequence[Any],
    *,
    labels: Sequence[str],
    modes: Sequence[str],
    tune: bool = True,
    default: float = 0.5,
    bonuses: Sequence[float] = (0.0,),
    ranker: Any = None,
    mixes: Sequence[float] = (1.0,),
) -> tuple[str, float, float, dict[str, Any]]:
    """The relation decoding mode, threshold and rule bonus
    (:func:`argmine.relations.with_rule_bonus`) with the best dev relation F1 (gold units
    given), from one forward pass: ``collected`` holds ``(article, units, pairs, probs)`` per
    dev article (see :func:`argmine.inference.predict_articles`). With a ``ranker``
    (:class:`argmine.pair_ranker.PairRanker`) the head's share in the fused probabilities is
    chosen from ``mixes`` too, and returned as ``info["ranker_mix"]``. Ties go to the first
    mode, the larger share of the head, the smaller bonus and the lower threshold."""
    from argmine.evaluate import relation_scores
    from argmine.pair_ranker import mix_pair_probs
    from argmine.relations import decode_relations, rule_links_of, with_rule_bonus

    grid = RELATION_GRID if tune else (default,)
    if ranker is None:
        mixes = (1.0,)
    results: dict[str, dict[str, float]] = {}
    best: tuple[float, int, float, float, float, str] = (-1.0, 0, 0.0, 0.0, 0.0, modes[0])
    # the rules' links depend on neither the bonus nor the mix, the ranker's probabilities not
    # on the bonus: once per article
    links = [
        rule_links_of(article.text, units) if any(bonuses) or ranker is not None else set()
        for article, units, _, _ in collected
    ]
    ranked = [
        ranker.probs(article.text, units, pairs, links=lk)
        if ranker is not None and min(mixes) < 1.0
        else probs
        for (article, units, pairs, probs), lk in zip(collected, links, strict=True)
    ]
    for mix in mixes:
        fused = [
            mix_pair_probs(pairs, probs, r, mix)
            for (_, _, pairs, probs), r in zip(collected, ranked, strict=True)
        ]
        for bonus in bonuses:
            adjusted = [
                (
                    article,
                    units,
                    pairs,
                    with_rule_bonus(article.text, units, pairs, probs, bonus, links=lk),
                )
                for (article, units, pairs, _), probs, lk in zip(
                    collected, fused, links, strict=True
                )
            ]
            for m, mode in enumerate(modes):
                key_name = mode if len(bonuses) == 1 else f"{mode}, rule bonus {bonus:g}"
                if len(mixes) > 1:
                    key_name += f", head share {mix:g}"
                results[key_name] = {}
                for t in grid:
                    pred = [
                        article.with_annotations(
                            units,
                            decode_relations(
                                units, pairs, probs, labels=labels, mode=mode, threshold=t
                            ),
                        )
                        for article, units, pairs, probs in adjusted
                    ]
                    f1 = relation_scores(gold, pred, labels=labels)["overlap"]["micro"]["f1"]
                    results[key_name][str(t)] = f1
                    key = (f1, -m, mix, -bonus, -t, mode)
                    if key > best:
                        best = key
    f1, _, mix, neg_bonus, neg_t, mode = best
    info: dict[str, Any] = {"dev_relation_f1": f1, "grid": results}
    if ranker is not None:
        info["ranker_mix"] = float(mix)
    return mode, float(-neg_t), float(-neg_bonus), info


def resolve_bf16(setting: bool | str, *, cuda: bool) -> bool:
    """``train.bf16`` resolved: ``"auto"`` is on where the hardware multiplies bfloat16 natively
    (a bf16-capable GPU; AMX or AVX512-BF16 on a CPU); ``true`` on a CPU without them warns
    (oneDNN emulates bfloat16 there and it is slower than float32)."""
    from argmine.tag import cpu_has_bf16_matmul

    if setting == "auto":
        if cuda:
            import torch

            return bool(torch.cuda.is_bf16_supported())
        return cpu_has_bf16_matmul()
    if setting is True and not cuda and not cpu_has_bf16_matmul():
        log.warning(
            "train.bf16: this CPU has no bfloat16 matrix units (AMX or AVX512-BF16); "
            "bfloat16 autocast will be slower than float32"
        )
    return bool(setting)


CURVE_KEYS = (
    ("bio_span_f1", "BIO overlap F1"),
    ("bio_span_exact_f1", "BIO exact F1"),
    ("segments_span_f1", "segments overlap F1"),
    ("segments_span_exact_f1", "segments exact F1"),
    ("relation_f1", "relation F1 (gold units)"),
)


def dev_curve(
    log_history: Sequence[Mapping[str, Any]], *, best_step: int | None = None
) -> list[dict[str, Any]]:
    """One row per dev evaluation in a Trainer's ``log_history``: ``epoch``, ``step``,
    ``train_loss`` (the last training loss logged at or before that step: the mean over the
    ``logging_steps`` before it; None before the first log), every dev score the evaluation
    logged (``bio_span_f1``, ``segments_span_f1``, ``relation_f1``, ``selection``, ...) and
    ``best`` (the step the best checkpoint was saved at)."""
    eval_key = f"eval_{SELECTION_METRIC}"
    rows: list[dict[str, Any]] = []
    loss: float | None = None
    for entry in log_history:
        if "loss" in entry and eval_key not in entry:
            loss = float(entry["loss"])
        if eval_key not in entry:
            continue
        row: dict[str, Any] = {
            "epoch": round(float(entry.get("epoch", 0.0)), 3),
            "step": int(entry.get("step", 0)),
            "train_loss": loss,
        }
        row.update({k[len("eval_") :]: v for k, v in entry.items() if k.startswith("eval_")})
        row["best"] = best_step is not None and row["step"] == best_step
        rows.append(row)
    return rows


def _curve_lines(curve: Sequence[Mapping[str, Any]], *, max_steps: int | None) -> list[str]:
    if not curve:
        return ["No dev evaluation was logged."]
    columns = [(k, name) for k, name in CURVE_KEYS if any(k in row for row in curve)]
    lines = [
        "Dev scores after each evaluation (overlap F1 = micro over labels; relation F1 with "
        "the gold units); **bold**: the checkpoint kept (best selection score).",
        "",
        "| epoch | step | train loss | " + " | ".join(n for _, n in columns) + " |",
        "|---|---|---|" + "---|" * len(columns),
    ]
    for row in curve:
        loss = "-" if row.get("train_loss") is None else f"{row['train_loss']:.4f}"
        cells = [f"{row['epoch']:g}", str(row["step"]), loss]
        cells += ["-" if row.get(k) is None else f"{row[k]:.3f}" for k, _ in columns]
        if row.get("best"):
            cells = [f"**{c}**" for c in cells]
        lines.append("| " + " | ".join(cells) + " |")
    best = [r for r in curve if r.get("best")]
    last = curve[-1]
    if best and best[0] is last:
        lines += [
            "",
            "The last evaluation was the best: the dev scores were still rising, so more "
            "epochs may help.",
        ]
    elif best:
        after = len(curve) - 1 - curve.index(best[0])
        lines += [
            "",
            f"Best at step {best[0]['step']} (epoch {best[0]['epoch']:g}); {after} later "
            "evaluation(s) did not improve on it"
            + (" (stopped early)." if max_steps and last["step"] < max_steps else "."),
        ]
    return lines


def _present_labels(labels: Sequence[str], splits: Mapping[str, Sequence[Article]]) -> list[str]:
    seen = {u.label for a in splits.get("train", ()) for u in a.units}
    return [label for label in labels if label in seen] or list(labels)


def _prepare_output(output: Path, *, resume: bool, force: bool) -> Path:
    """The staging directory the run writes into (``<output>.partial``, moved into place at the
    end by :func:`argmine.fileio.publish_dir`, so ``--force`` replaces the whole directory and a
    kill never leaves a half-written model dir). Refuses to overwrite without ``force``; a fresh
    run starts from an empty staging dir, ``resume`` continues in it (global rank 0 only
    prepares, so ``torchrun``/``accelerate launch`` workers do not race)."""
    from argmine.fileio import check_output_dir, staging_dir

    stage = staging_dir(output)
    check_output_dir(output)  # a file there, or no way to create it: one line, before any work
    check_output_dir(stage)
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


def _relation_line(metrics: Mapping[str, Any]) -> str:
    parts = []
    for split in ("dev", "test"):
        m = metrics.get(split) or {}
        for key, name in (
            ("relations_gold_units", "gold units"),
            ("relations_end_to_end", "end to end"),
        ):
            if key in m:
                parts.append(f"{split} relation F1 ({name}) {m[key]['overlap']['micro']['f1']:.3f}")
    return "; ".join(parts) + "." if parts else ""


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
        "Viterbi (no O->I-X, no I-Y->I-X)"
        + (" with the CRF's learnt transition scores" if (spec.heads or {}).get("crf") else "")
        + "; units shorter than "
        f"{spec.min_words} words dropped; per-label score thresholds tuned on dev: "
        f"{spec.thresholds}.",
        "",
        "## Intended use and limits",
        "",
        "- Pre-annotation for Label Studio and batch tagging of English commentary; spans are a "
        "starting point for human review, not ground truth.",
        "- Trained on the data above only: other genres, other languages and other annotation "
        "guidelines will score lower. Labels absent from the training data are never predicted.",
        (
            "- Relations are not predicted by this model."
            if not spec.relations
            else f"- Relations ({', '.join(spec.relations['labels'])}) come from a relation head "
            f"over candidate pairs ({spec.relations['scope']}, max distance "
            f"{spec.relations['max_distance']} units) on the same encoder; decoding "
            f"{spec.relations['decoding']}, threshold {spec.relations['threshold']}"
            + (
                f", rule bonus {spec.relations['rule_bonus']:g} (added to the attachment logit "
                "of the rules' nearest-unit links, chosen on dev)"
                if spec.relations.get("rule_bonus")
                else ""
            )
            + (
                f", fused with the feature-based pair ranker ({PAIR_RANKER_FILE}; the head's "
                f"share {spec.relations['ranker_mix']:g}, chosen on dev"
                + (
                    f"; on predicted units it scores over the unit head's label distributions "
                    f"at temperature {spec.relations['label_temperature']:g}"
                    if spec.relations.get("label_temperature")
                    else ""
                )
                + ")"
                if spec.relations.get("ranker_mix") is not None
                else ""
            )
            + ". "
            + _relation_line(metrics)
        ),
        "- Units come from "
        + (
            "the token tags (BIO)"
            if spec.unit_mode == "bio"
            else "the rule segmenter's units, labelled by a unit head"
            + (
                f" with the rules' own label fused in (rule bonus {spec.unit_rule_bonus:g} on its"
                f" log-probability; dev overlap F1 by bonus: "
                + ", ".join(
                    f"{b}: {v['overlap_f1']:.3f}"
                    for b, v in metrics.get("unit_rule_bonus_dev", {}).items()
                )
                + ")"
                if metrics.get("unit_rule_bonus_dev")
                else ""
            )
        )
        + f" (chosen on dev: {metrics.get('unit_modes_dev', {})})"
        + (
            ", rescored by the span second stage (stage2.txt; dev out-of-fold overlap F1 "
            f"{metrics['stage2']['dev_oof_overlap_f1']:.3f})."
            if (metrics.get("stage2") or {}).get("active")
            else "."
        ),
        "",
        "## Dev curve",
        "",
        *_curve_lines(metrics.get("dev_curve") or [], max_steps=metrics.get("max_steps")),
        "",
        "## Reproduce",
        "",
        f"`argmine train <config>` with the resolved config in `config.yaml` (seed {config.seed});"
        f" trained in {seconds:.0f} s on {device}"
        + (", bfloat16 autocast" if metrics.get("bf16") else "")
        + (
            f", EMA of the weights (decay {config.train.ema.decay})"
            if config.train.ema is not None
            else ""
        )
        + ".",
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
        EarlyStoppingCallback,
        Trainer,
        TrainingArguments,
    )

    from argmine.attention import register as register_key_dropout
    from argmine.data import (
        HeadTask,
        build_dataset,
        data_stats,
        fold_unannotated,
        load_sources,
        relations_annotated,
        split_articles,
    )
    from argmine.ema import EMA_FILE, WeightEMA
    from argmine.evaluate import attachment_scores, relation_scores, span_scores
    from argmine.fileio import atomic_write_text
    from argmine.inference import ForwardCache, predict_articles, spans_labelled_by_tags
    from argmine.modeling import ArgumentModel, HeadSpec, WindowCollator
    from argmine.relations import (
        DECODINGS,
        RULE_BONUS_GRID,
        UNIT_RULE_BONUS_GRID,
        PairEncoder,
        scope_coverage,
    )

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
    boundaries = BoundaryOptions.from_dict(config.decode.boundaries.model_dump())
    codec = TokenTagCodec(
        tokenizer,
        labels,
        max_length=tcfg.max_length,
        stride=tcfg.stride,
        paragraph_token=config.model.paragraph_token,
        boundaries=boundaries if boundaries != BoundaryOptions() else None,
    )

    articles = load_sources(config, labels=labels)
    rcfg = config.relations if config.relations is not None and config.relations.enabled else None
    relation_labels = list(schema.relation_names)
    if rcfg is not None and rcfg.labels:
        articles = [map_relation_labels(a, rcfg.labels) for a in articles]
    splits = split_articles(articles, config.data.splits, seed=config.seed)
    if not splits["dev"]:
        raise ConfigError("data.splits", "the dev split is empty: model selection needs it")
    want_relations = rcfg is not None and bool(relation_labels)
    if want_relations and not any(a.relations for a in splits["train"]):
        log.warning("relations: no training article has relations; training spans only")
        want_relations = False
    dev_relations = [a for a in splits["dev"] if relations_annotated(a)]
    dev_has_relations = any(a.relations for a in dev_relations)
    want_segments = config.units.mode in ("segments", "auto")
    encoder = (
        PairEncoder(
            span_labels=tuple(labels),
            relation_labels=tuple(relation_labels or ("supports", "attacks")),
            scope=rcfg.scope if rcfg is not None else "paragraph_or_distance",
            max_distance=rcfg.max_distance if rcfg is not None else 3,
            rule_links=rcfg.rule_links if rcfg is not None else False,
        )
        if want_relations or want_segments
        else None
    )
    task = (
        HeadTask(encoder=encoder, relations=want_relations, segments=want_segments)
        if encoder is not None
        else None
    )
    dataset = build_dataset(
        splits, codec, cache_dir=resolve_output(config.data.cache_dir), task=task
    )
    stats = data_stats(splits, dataset)
    eval_labels = _present_labels(labels, splits)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    id2label = dict(enumerate(codec.tags))
    label2id = {t: i for i, t in id2label.items()}
    dropout_kw: dict[str, float] = {}
    if config.model.attention_dropout is not None:
        dropout_kw["attention_probs_dropout_prob"] = config.model.attention_dropout
    attn_kw: dict[str, str] = {}
    if config.model.attention_dropout_on == "keys":
        attn_kw["attn_implementation"] = register_key_dropout()
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
            **dropout_kw,
        )
        tagger = AutoModelForTokenClassification.from_config(model_config, **attn_kw)
    else:
        tagger = AutoModelForTokenClassification.from_pretrained(
            str(base),
            num_labels=len(codec.tags),
            id2label=id2label,
            label2id=label2id,
            use_safetensors=True,
            trust_remote_code=False,
            **dropout_kw,
            **attn_kw,
        )
    attention_dropout_on = config.model.attention_dropout_on
    if attn_kw and not getattr(tagger, "_supports_attention_backend", False):
        # e.g. MPNet: its attention is its own code, which takes no attention function
        log.warning(
            "model.attention_dropout_on: keys: %s computes its own attention, so its dropout "
            "stays on the attention probabilities",
            type(tagger).__name__,
        )
        attention_dropout_on = "probs"
    head_spec = HeadSpec(
        hidden=rcfg.hidden if rcfg is not None else 256,
        n_pair_features=encoder.n_pair_features if encoder is not None else 0,
        n_relation_classes=1 + len(relation_labels) if want_relations else 0,
        n_unit_features=encoder.n_unit_features if encoder is not None else 0,
        n_unit_classes=1 + len(labels) if want_segments else 0,
        crf=tcfg.crf,
        pair_prior=bool(rcfg.pair_prior) if rcfg is not None and want_relations else False,
        dropout=tcfg.head_dropout,
    )
    model = ArgumentModel(
        tagger,
        head_spec,
        unit_weight=config.units.loss_weight,
        relation_weight=rcfg.loss_weight if rcfg is not None else 0.0,
    )
    if tcfg.freeze_layers:
        frozen = freeze_layers(tagger, tcfg.freeze_layers)
        log.info("train.freeze_layers=%d: %d encoder parameters frozen", tcfg.freeze_layers, frozen)
    min_words = config.decode.min_words
    unit_modes = [m for m in ("bio", "segments") if m != "segments" or want_segments]
    if config.units.mode == "segments":
        unit_modes = ["segments"]

    # one forward pass per article while the weights stay the same (an evaluation, the tuning
    # and scoring after training): argmine.inference.ForwardCache
    forward: dict[str, ForwardCache | None] = {"cache": None}

    def predict(
        articles: Sequence[Article],
        *,
        units: str,
        decoding: str = "one_parent",
        threshold: float | Mapping[str, float] = 0.5,
        rule_bonus: float = 0.0,
        unit_labels: str = "tagger",
        thresholds: Mapping[str, float] | None = None,
        relations: bool = True,
        collect: list[Any] | None = None,
        stage2: Any = None,
        unit_rule_bonus: float = 0.0,
        ranker: Any = None,
        ranker_mix: float = 1.0,
        label_temperature: float = 0.0,
    ) -> list[Article]:
        pred = predict_articles(
            model,
            codec,
            [a.with_annotations(a.units if units == "gold" else [], []) for a in articles],
            units=units,
            encoder=encoder,
            relations=relations and want_relations,
            decoding=decoding,
            relation_threshold=threshold,
            rule_bonus=rule_bonus,
            unit_labels=unit_labels,
            thresholds=thresholds,
            min_words=min_words,
            viterbi=config.decode.viterbi,
            batch_size=tcfg.eval_batch_size,
            pad_id=pad_id,
            collect=collect,
            stage2=stage2,
            unit_rule_bonus=unit_rule_bonus,
            ranker=ranker,
            ranker_mix=ranker_mix,
            label_temperature=label_temperature,
            cache=forward["cache"],
        )
        return fold_unannotated(pred, articles)

    def dev_scores() -> dict[str, float]:
        """Dev scores of the current weights (one forward pass per mode)."""
        out: dict[str, float] = {}
        best_span = 0.0
        for mode in unit_modes:
            pred = predict(splits["dev"], units=mode, relations=False)
            scores = span_scores(splits["dev"], pred, labels=eval_labels)
            out[f"{mode}_span_f1"] = scores["overlap"]["micro"]["f1"]
            out[f"{mode}_span_exact_f1"] = scores["exact"]["micro"]["f1"]
            best_span = max(best_span, out[f"{mode}_span_f1"])
        out[SPAN_METRIC] = best_span
        selection = best_span
        if want_relations and dev_has_relations:
            pred = predict(dev_relations, units="gold")
            rel = relation_scores(dev_relations, pred, labels=relation_labels)
            out["relation_f1"] = rel["overlap"]["micro"]["f1"]
            selection = (best_span + out["relation_f1"]) / 2
        out[SELECTION_METRIC] = selection
        return out

    class ArgTrainer(Trainer):
        """Evaluates with argmine's own decoding (spans, segments, relations) on dev."""

        def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix="eval"):  # type: ignore[no-untyped-def]
            # with EMA, dev scores (and callbacks watching them) see the averaged weights
            with ema.swapped(model) if ema is not None else contextlib.nullcontext():
                forward["cache"] = ForwardCache()
                try:
                    scores = dev_scores()
                finally:
                    forward["cache"] = None
                metrics = {f"{metric_key_prefix}_{k}": v for k, v in scores.items()}
                metrics["epoch"] = self.state.epoch or 0.0
                self.log(metrics)
                self.control = self.callback_handler.on_evaluate(
                    self.args, self.state, self.control, metrics
                )
            return metrics

    use_cpu = not torch.cuda.is_available()
    bf16 = resolve_bf16(tcfg.bf16, cuda=not use_cpu)
    ema = WeightEMA(tcfg.ema.decay, resume_from=resume_from) if tcfg.ema is not None else None
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
        bf16=bf16,
        train_sampling_strategy="group_by_length" if tcfg.group_by_length else "random",
        report_to="none",
        dataloader_num_workers=0,
        disable_tqdm=True,
        label_names=["labels"],
        remove_unused_columns=True,
    )
    all_callbacks = list(callbacks)
    if ema is not None:
        all_callbacks.append(ema)
    if tcfg.patience > 0:
        all_callbacks.append(EarlyStoppingCallback(early_stopping_patience=tcfg.patience))
    head_params = [p for name, p in model.named_parameters() if not name.startswith("tagger.")]
    tagger_named = list(model.tagger.named_parameters())
    no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight", "norm.weight")
    groups = [
        {
            "params": [p for n, p in tagger_named if not n.endswith(no_decay)],
            "weight_decay": tcfg.weight_decay,
        },
        {"params": [p for n, p in tagger_named if n.endswith(no_decay)], "weight_decay": 0.0},
    ]
    if head_params:
        groups.append(
            {
                "params": head_params,
                "weight_decay": tcfg.weight_decay,
                "lr": tcfg.lr * tcfg.head_lr_multiplier,
            }
        )
    optimizer = torch.optim.AdamW(groups, lr=tcfg.lr)
    trainer = ArgTrainer(
        optimizers=(optimizer, None),
        model=model,
        args=args,
        train_dataset=dataset["train"],
        eval_dataset=dataset["dev"],
        data_collator=WindowCollator(pad_id=pad_id),
        processing_class=tokenizer,
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
    best_checkpoint = trainer.state.best_model_checkpoint
    if ema is not None:  # the averaged weights of the checkpoint the dev scores chose
        if best_checkpoint and (Path(best_checkpoint) / EMA_FILE).is_file():
            ema.load(best_checkpoint)
        ema.copy_to(model)

    # With the best weights: choose the unit source, tune thresholds and relation decoding on
    # dev, then score test (one forward pass per article for all of it).
    forward["cache"] = ForwardCache()
    metrics: dict[str, Any] = {
        "run": config.run_name,
        "labels": eval_labels,
        "best_checkpoint": (trainer.state.best_model_checkpoint or "").replace(
            str(output), str(final), 1
        )
        or None,
        "global_step": trainer.state.global_step,
        "max_steps": trainer.state.max_steps,
        "dev_curve": dev_curve(
            trainer.state.log_history, best_step=getattr(trainer.state, "best_global_step", None)
        ),
        "bf16": bf16,
        "group_by_length": tcfg.group_by_length,
        "attention_dropout_on": attention_dropout_on,
        "crf": tcfg.crf,
        "ema": {"decay": tcfg.ema.decay} if tcfg.ema is not None else None,
    }
    dev_by_mode: dict[str, tuple[list[Article], dict[str, Any]]] = {}
    for mode in unit_modes:
        pred = predict(splits["dev"], units=mode, relations=False)
        dev_by_mode[mode] = (pred, span_scores(splits["dev"], pred, labels=eval_labels))
    unit_mode = max(unit_modes, key=lambda m: dev_by_mode[m][1]["overlap"]["micro"]["f1"])
    dev_pred, metrics["dev_untuned"] = dev_by_mode[unit_mode]
    metrics["unit_mode"] = unit_mode
    metrics["unit_modes_dev"] = {
        m: {
            "overlap_f1": sc["overlap"]["micro"]["f1"],
            "exact_f1": sc["exact"]["micro"]["f1"],
        }
        for m, (_, sc) in dev_by_mode.items()
    }
    # segment units: the rules' own label fused with the unit head's, weighted on dev
    unit_rule_bonus = 0.0
    if unit_mode == "segments":
        ucfg = config.units.rule_bonus
        grid = UNIT_RULE_BONUS_GRID if ucfg == "auto" else (float(ucfg),)
        by_bonus: dict[float, tuple[list[Article], dict[str, Any]]] = {}
        for b in grid:
            if b == 0.0:
                by_bonus[b] = (dev_pred, metrics["dev_untuned"])
                continue
            pred = predict(splits["dev"], units="segments", relations=False, unit_rule_bonus=b)
            by_bonus[b] = (pred, span_scores(splits["dev"], pred, labels=eval_labels))
        # the best dev overlap F1; ties go to the smaller bonus
        unit_rule_bonus = max(grid, key=lambda b: (by_bonus[b][1]["overlap"]["micro"]["f1"], -b))
        dev_pred, metrics["dev_untuned"] = by_bonus[unit_rule_bonus]
        metrics["unit_rule_bonus"] = unit_rule_bonus
        metrics["unit_rule_bonus_dev"] = {
            f"{b:g}": {
                "overlap_f1": sc["overlap"]["micro"]["f1"],
                "exact_f1": sc["exact"]["micro"]["f1"],
            }
            for b, (_, sc) in by_bonus.items()
        }
    thresholds = (
        tune_thresholds(splits["dev"], dev_pred, labels=eval_labels)
        if config.decode.tune_thresholds
        else {}
    )
    metrics["thresholds"] = thresholds
    metrics["dev"] = span_scores(splits["dev"], _filter(dev_pred, thresholds), labels=eval_labels)

    relation_spec: dict[str, Any] | None = None
    ranker = None
    ranker_mix = 1.0
    if want_relations:
        fixed_bonus = 0.0 if rcfg.rule_bonus == "auto" else float(rcfg.rule_bonus)
        decoding, threshold, bonus, tuning = "one_parent", rcfg.threshold, fixed_bonus, {}
        mixes: tuple[float, ...] = (1.0,)
        if rcfg.ranker is not None:
            from argmine.pair_ranker import MIX_GRID, PairRanker

            ranker = PairRanker.fit(
                [a for a in splits["train"] if relations_annotated(a)],
                relation_labels=relation_labels,
                l2=rcfg.ranker.l2,
            )
            mixes = MIX_GRID if rcfg.ranker.mix == "auto" else (float(rcfg.ranker.mix),)
            if ranker is not None:
                metrics["pair_ranker"] = ranker.report
        if dev_has_relations:
            collected: list[Any] = []
            tune_articles = dev_relations
            if rcfg.tune_on == "gold_spans":
                tune_articles = spans_labelled_by_tags(
                    model, codec, dev_relations, batch_size=tcfg.eval_batch_size, pad_id=pad_id
                )
            predict(tune_articles, units="gold", collect=collected)
            decoding, threshold, bonus, tuning = tune_relation_decoding(
                dev_relations,
                collected,
                labels=relation_labels,
                modes=(rcfg.decoding,) if rcfg.decoding != "auto" else DECODINGS,
                tune=rcfg.tune_threshold,
                default=rcfg.threshold,
                bonuses=RULE_BONUS_GRID if rcfg.rule_bonus == "auto" else (fixed_bonus,),
                ranker=ranker,
                mixes=mixes,
            )
        elif ranker is not None:
            tuning = {"ranker_mix": mixes[0] if len(mixes) == 1 else 0.5}
        ranker_mix = float(tuning.get("ranker_mix", 1.0))
        if ranker_mix >= 1.0:  # the head alone: the ranker is not kept
            ranker = None
        relation_spec = {
            "labels": list(relation_labels),
            "scope": encoder.scope,
            "max_distance": encoder.max_distance,
            "decoding": decoding,
            "threshold": threshold,
            "rule_bonus": bonus,
            "unit_labels": rcfg.unit_labels,
            "rule_links": encoder.rule_links,
            "ranker_mix": ranker_mix if ranker is not None else None,
            "label_temperature": (
                rcfg.ranker.label_temperature
                if ranker is not None and rcfg.ranker is not None
                else 0.0
            ),
        }
        metrics["relation_decoding"] = {
            "tuned_on": rcfg.tune_on,
            "decoding": decoding,
            "threshold": threshold,
            "rule_bonus": bonus,
            **tuning,
        }
        metrics["scope_coverage"] = {
            name: scope_coverage(arts, encoder) for name, arts in splits.items() if arts
        }

    stage2 = (
        _fit_stage2(config, model, codec, encoder, splits["dev"], labels, eval_labels, metrics)
        if config.stage2.enabled
        else None
    )
    final_units = "stage2" if stage2 is not None and stage2.active else unit_mode
    metrics["unit_source"] = final_units

    def score_split(gold: Sequence[Article]) -> dict[str, Any]:
        pred = predict(
            gold,
            units=final_units,
            stage2=stage2,
            thresholds=thresholds,
            decoding=relation_spec["decoding"] if relation_spec else "one_parent",
            threshold=relation_spec["threshold"] if relation_spec else 0.5,
            rule_bonus=relation_spec["rule_bonus"] if relation_spec else 0.0,
            unit_labels=relation_spec["unit_labels"] if relation_spec else "tagger",
            unit_rule_bonus=unit_rule_bonus,
            ranker=ranker,
            ranker_mix=ranker_mix,
            label_temperature=relation_spec["label_temperature"] if relation_spec else 0.0,
        )
        scores = span_scores(gold, pred, labels=eval_labels)
        keep = [k for k, a in enumerate(gold) if relations_annotated(a)]
        if relation_spec and any(gold[k].relations for k in keep):
            pred = [pred[k] for k in keep]
            gold = [gold[k] for k in keep]
            scores["relations_end_to_end"] = relation_scores(gold, pred, labels=relation_labels)
            given = predict(
                gold,
                units="gold",
                decoding=relation_spec["decoding"],
                threshold=relation_spec["threshold"],
                rule_bonus=relation_spec["rule_bonus"],
                ranker=ranker,
                ranker_mix=ranker_mix,
            )
            scores["relations_gold_units"] = relation_scores(gold, given, labels=relation_labels)
            scores["attachment_gold_units"] = attachment_scores(gold, given)
        return scores

    if relation_spec and dev_has_relations:
        dev_full = score_split(splits["dev"])
        for key in ("relations_end_to_end", "relations_gold_units", "attachment_gold_units"):
            if key in dev_full:
                metrics["dev"][key] = dev_full[key]
    if splits["test"]:
        metrics["test"] = score_split(splits["test"])
    seconds = time.monotonic() - started
    metrics["train_seconds"] = round(seconds, 1)
    device = "cpu" if use_cpu else torch.cuda.get_device_name(0)
    metrics["device"] = device

    if trainer.is_world_process_zero():
        tagger.save_pretrained(str(output))
        tokenizer.save_pretrained(str(output))
        model.save_heads(output)
        if stage2 is not None:
            stage2.save(output)
        if ranker is not None:
            ranker.save(output)
        for stray in ("training_args.bin",):
            if (output / stray).exists():
                (output / stray).unlink()
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
            unit_mode=unit_mode,
            heads=head_spec.to_dict() if (want_relations or want_segments or tcfg.crf) else None,
            relations=relation_spec,
            paragraph_token=codec.paragraph_token,
            boundaries=codec.boundaries.to_dict() if codec.boundaries is not None else None,
            unit_rule_bonus=unit_rule_bonus,
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


def _fit_stage2(
    config: RunConfig,
    model: Any,
    codec: TokenTagCodec,
    encoder: Any,
    dev: Sequence[Article],
    labels: Sequence[str],
    eval_labels: Sequence[str],
    metrics: dict[str, Any],
) -> Any:
    """The span second stage fitted on the trained tagger's dev predictions (None if dev is
    too small); its report goes to ``metrics["stage2"]``."""
    from argmine.inference import stage2_inputs
    from argmine.stage2 import fit

    s2 = config.stage2
    started = time.monotonic()
    inputs = stage2_inputs(
        model,
        codec,
        [a.with_annotations([], []) for a in dev],
        encoder=encoder,
        viterbi=config.decode.viterbi,
        batch_size=config.train.eval_batch_size,
        pad_id=codec.tokenizer.pad_token_id or 0,
    )
    fitted = fit(
        dev,
        inputs,
        labels,
        eval_labels=eval_labels,
        candidate_thresholds=s2.candidate_thresholds,
        sources=s2.sources,
        target=s2.target,
        folds=s2.folds,
        trees=s2.trees,
        num_leaves=s2.num_leaves,
        learning_rate=s2.learning_rate,
        min_data=s2.min_data,
        seed=config.seed,
        threads=s2.threads or config.train.threads or 1,
        baseline=None if s2.keep == "always" else metrics["dev"]["overlap"]["micro"]["f1"],
    )
    if fitted is None:
        metrics["stage2"] = {"fitted": False}
        return None
    metrics["stage2"] = {
        "fitted": True,
        "active": fitted.active,
        "thresholds": fitted.thresholds,
        "min_words": fitted.min_words,
        "seconds": round(time.monotonic() - started, 1),
        **fitted.report,
    }
    log.info(
        "stage2: dev out-of-fold overlap F1 %.3f (first stage %.3f): %s",
        fitted.report["dev_oof_overlap_f1"],
        metrics["dev"]["overlap"]["micro"]["f1"],
        "used" if fitted.active else "kept off",
    )
    return fitted


def resolve_output(path: str | Path) -> Path:
    """Outputs are relative to the working directory."""
    return Path(path).expanduser()


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(values)) if values else 0.0


def _pool_relation_counts(tests: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Relation and attachment counts summed over folds' test scores, and their F1."""
    from argmine.evaluate import _prf, attachment_from_counts

    out: dict[str, Any] = {}
    att = [t["attachment_gold_units"] for t in tests if "attachment_gold_units" in t]
    if att:
        counts = {k: sum(int(a[k]) for a in att) for k in ("tp", "fp", "fn", "tn")}
        out["attachment_gold_units"] = attachment_from_counts(counts)
    for key in ("relations_gold_units", "relations_end_to_end"):
        found = [t[key] for t in tests if key in t]
        if not found:
            continue
        out[key] = {}
        for crit in ("exact", "overlap"):
            micro = [f[crit]["micro"] for f in found]
            link = [f[crit]["link"] for f in found]
            out[key][crit] = {
                "micro": _prf(*(sum(m[k] for m in micro) for k in ("tp", "fp", "fn"))),
                "link": _prf(*(sum(m[k] for m in link) for k in ("tp", "fp", "fn"))),
            }
    return out


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
    pooled = _pool_relation_counts([r.metrics.get("test", {}) for r in results])
    if pooled:
        summary["relations_pooled"] = pooled
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
