"""Batch tagging: a trained model directory in, tagged articles (units with scores) out.

::

    articles ──TokenTagCodec.encode──> windows (max_length, overlapping by stride)
        ──all windows of a chunk sorted by length, batched, padded to the batch's longest──>
    model (torch.inference_mode) ──softmax──> per-window tag probabilities
        ──TokenTagCodec.decode: stitch (each token from the window owning it), Viterbi or
          argmax + BIO repair, per-class thresholds and min_words from argmine.json──>
    ArgUnit(start, end, label, score = mean token probability of the unit's label)

:class:`Tagger` does the inference; :func:`tag_batch` tags one batch (the one per-batch
function the CLI, the Label Studio backend and the Ray engine all call); :func:`tag_files` is
what ``argmine tag`` runs: read the inputs lazily, skip articles already in the output
(``resume``), tag in chunks, and append.

Streaming and output safety: inputs are read as they are tagged (a JSONL file line by line), so
memory does not grow with the corpus. The run appends to ``OUTPUT.partial``
(:func:`partial_path`): after each chunk of ``chunk_size`` articles the chunk's lines are
appended and fsynced, and a small progress journal (``OUTPUT.partial.progress``: chunks,
articles and bytes as of the last fsynced chunk; removed when the run ends) is replaced
atomically. When every input has been read the partial file is renamed to the JSONL output, so
an existing output is replaced only by a finished run. A ``kill -9`` (or a stop at a bad input)
leaves the partial file with complete lines plus at most one torn last line; ``--resume`` cuts
that line off (:func:`recover_torn_tail`), reads the ids in it and skips them. For the csv,
html, labelstudio and aif formats the same JSONL is kept beside the output as ``OUTPUT.jsonl``
and the output is generated from it (atomically) at the end.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from argmine.document import ArgUnit, Article, dumps_article
from argmine.errors import InputError, ModelError, OutputExistsError, UsageError
from argmine.fileio import atomic_writer, cannot_write

__all__ = [
    "DEFAULT_MODEL_DIR",
    "Ensemble",
    "TagSummary",
    "Tagger",
    "evaluate_model",
    "journal_path",
    "load_predictor",
    "read_journal",
    "recover_torn_tail",
    "resolve_model_dir",
    "tag_batch",
    "tag_files",
]

log = logging.getLogger(__name__)

DEFAULT_MODEL_DIR = Path("models/default")
DTYPES = ("auto", "float32", "bfloat16")
QUANTIZE = (None, "int8")


def resolve_model_dir(model_dir: str | os.PathLike[str] | None) -> Path:
    """``model_dir`` or ``models/default/``; a one-line :class:`ModelError` if there is none."""
    if model_dir is None:
        if (DEFAULT_MODEL_DIR / "argmine.json").is_file():
            return DEFAULT_MODEL_DIR
        raise ModelError(
            f"no model given and {DEFAULT_MODEL_DIR}/ has none; train one with "
            "`argmine train configs/default.yaml` or pass --model DIR"
        )
    path = Path(model_dir)
    if not path.is_dir():
        raise ModelError(f"{path}: model directory not found")
    return path


def cpu_has_bf16_matmul() -> bool:
    """Whether this CPU multiplies bfloat16 matrices in hardware (AMX tiles or AVX512-BF16);
    on other CPUs oneDNN emulates it and bfloat16 autocast is slower than float32."""
    try:
        import torch.cpu

        checks = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
        return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in checks)
    except (ImportError, RuntimeError):
        return False


class Tagger:
    """A loaded model directory: tokenizer, token classifier and its :class:`ModelSpec`."""

    def __init__(
        self,
        *,
        model: Any,
        tokenizer: Any,
        spec: Any,
        model_dir: Path,
        dtype: str,
        network: Any = None,
        stage2: Any = None,
        ranker: Any = None,
    ):
        """``model``: the Hugging Face token classifier; ``network``: the
        :class:`~argmine.modeling.ArgumentModel` around it (with the unit and relation heads),
        built without heads when not given; ``stage2``: the span second stage
        (:class:`~argmine.stage2.Stage2Model`) of the model directory, if it has one;
        ``ranker``: its pair ranker (:class:`~argmine.pair_ranker.PairRanker`), if it has one."""
        if network is None:
            from argmine.modeling import ArgumentModel, HeadSpec

            network = ArgumentModel(model, HeadSpec())
        self.model = model
        self.network = network
        self.tokenizer = tokenizer
        self.spec = spec
        self.codec = spec.codec(tokenizer)
        self.encoder = spec.pair_encoder()
        self.model_dir = model_dir
        self.dtype = dtype
        self.stage2 = stage2
        self.ranker = ranker
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    @property
    def ranker_mix(self) -> float:
        """The relation head's share beside the pair ranker (1: the head alone)."""
        mix = (self.spec.relations or {}).get("ranker_mix")
        return 1.0 if self.ranker is None or mix is None else float(mix)

    @property
    def label_temperature(self) -> float:
        """How the pair ranker reads predicted units' labels (0: as certain; see
        :func:`argmine.inference.with_ranker`)."""
        if self.ranker is None:
            return 0.0
        return float((self.spec.relations or {}).get("label_temperature") or 0.0)

    @property
    def has_relations(self) -> bool:
        return self.network.relation_head is not None and self.spec.relations is not None

    @property
    def unit_source(self) -> str:
        """Where units come from by default: ``stage2`` when the model directory has an active
        second stage, else the model's ``unit_mode``."""
        return "stage2" if self.stage2 is not None and self.stage2.active else self.spec.unit_mode

    @property
    def name(self) -> str:
        return self.spec.run or self.model_dir.name

    @classmethod
    def load(
        cls,
        model_dir: str | os.PathLike[str],
        *,
        threads: int | None = None,
        dtype: str = "auto",
        quantize: str | None = None,
    ) -> Tagger:
        """Load ``model_dir`` (safetensors only, never remote code).

        ``threads`` sets torch's intra-op threads. ``dtype``: ``float32``, ``bfloat16``
        (autocast) or ``auto`` (float32; see docs/benchmarks.md for why). ``quantize="int8"``
        applies dynamic int8 quantization to the linear layers (agreement with float32 is
        measured in docs/benchmarks.md).
        """
        if dtype not in DTYPES:
            raise ValueError(f"dtype {dtype!r} is not one of {', '.join(DTYPES)}")
        if quantize not in QUANTIZE:
            raise ValueError(f"quantize {quantize!r} must be None or 'int8'")
        if threads is not None and threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads!r}")
        from argmine.encoding import ModelSpec
        from argmine.modeling import check_model

        path = resolve_model_dir(model_dir)
        spec = check_model(path)

        import torch
        from safetensors import SafetensorError
        from transformers import AutoModelForTokenClassification, AutoTokenizer
        from transformers.utils import logging as hf_logging

        if threads is not None:
            torch.set_num_threads(threads)
        verbosity = hf_logging.get_verbosity()
        bars = hf_logging.is_progress_bar_enabled()
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        try:
            tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
            model = AutoModelForTokenClassification.from_pretrained(
                path, local_files_only=True, use_safetensors=True, trust_remote_code=False
            )
        except SafetensorError as exc:
            raise ModelError(f"{path / 'model.safetensors'}: cannot load ({exc})") from None
        except (OSError, ValueError, RuntimeError) as exc:
            reason = " ".join(str(exc).split())
            raise ModelError(f"{path}: cannot load the model ({reason})") from None
        finally:
            hf_logging.set_verbosity(verbosity)
            if bars:
                hf_logging.enable_progress_bar()
        id2label = {int(k): v for k, v in model.config.id2label.items()}
        tags = [id2label.get(i) for i in range(len(id2label))]
        if tags != list(spec.tags):
            raise ModelError(
                f"{path}: config.json labels {tags} do not match argmine.json tags "
                f"{list(spec.tags)}"
            )
        model.eval()
        if quantize == "int8":
            from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

            model = quantize_dynamic(
                model, {torch.nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8
            )
        from argmine.modeling import HEADS_FILE, ArgumentModel, HeadSpec

        heads = HeadSpec(**spec.heads) if spec.heads else HeadSpec()
        network = ArgumentModel(model, heads)
        if spec.heads:
            if not (path / HEADS_FILE).is_file():
                raise ModelError(
                    f"{path}: no {HEADS_FILE} (argmine.json names unit/relation heads)"
                )
            try:
                network.load_heads(path)
            except (OSError, RuntimeError, ValueError) as exc:
                raise ModelError(f"{path}: cannot load {HEADS_FILE} ({exc})") from None
        network.eval()
        from argmine.stage2 import Stage2Model

        stage2 = Stage2Model.load(path)
        if stage2 is not None and tuple(stage2.labels) != tuple(spec.labels):
            raise ModelError(
                f"{path}: stage2.json labels {list(stage2.labels)} do not match argmine.json "
                f"labels {list(spec.labels)}"
            )
        ranker = None
        if (spec.relations or {}).get("ranker_mix") is not None:
            from argmine.pair_ranker import FILENAME as RANKER_FILE
            from argmine.pair_ranker import PairRanker

            ranker = PairRanker.load(path)
            if ranker is None:
                raise ModelError(f"{path}: no {RANKER_FILE} (argmine.json names a pair ranker)")
            if ranker.relation_labels != tuple(spec.relations.get("labels") or ()):
                raise ModelError(
                    f"{path}: {RANKER_FILE} relation labels {list(ranker.relation_labels)} do "
                    f"not match argmine.json's {spec.relations.get('labels')}"
                )
        resolved = "float32" if dtype == "auto" else dtype
        if resolved == "bfloat16" and not cpu_has_bf16_matmul():
            log.warning(
                "this CPU (%s) has no bfloat16 matrix units (AMX or AVX512-BF16): bfloat16 "
                "will be slower than float32 here (about 5x on the AVX2 machine in "
                "docs/benchmarks.md)",
                torch.backends.cpu.get_cpu_capability(),
            )
        try:
            tagger = cls(
                model=model,
                tokenizer=tokenizer,
                spec=spec,
                model_dir=path,
                dtype=resolved,
                network=network,
                stage2=stage2,
                ranker=ranker,
            )
        except ModelError as exc:  # the codec's settings (max_length, stride) do not fit
            raise ModelError(f"{path / ModelSpec.FILENAME}: {exc}") from None
        if not tagger.has_relations:
            log.warning("%s was trained without relations: it tags spans only", path)
        return tagger

    # -- inference ----------------------------------------------------------------------------
    def window_probs(
        self,
        articles: Sequence[Article],
        *,
        batch_size: int = 16,
        on_progress: Callable[[float], None] | None = None,
    ) -> list[tuple[list[dict[str, Any]], list[Any]]]:
        """Windows and per-window tag probabilities (numpy, positions x tags) per article.

        All windows of ``articles`` are sorted by length and run in batches of ``batch_size``
        padded to the longest window of the batch, so little compute goes to padding.
        ``on_progress`` receives the fraction of an article each finished window stands for.
        """
        from argmine.inference import run_windows

        preds = run_windows(
            self.network,
            self.codec,
            articles,
            batch_size=batch_size,
            pad_id=self.pad_id,
            dtype=self.dtype,
            on_progress=on_progress,
        )
        return [(p.windows, p.probs) for p in preds]

    def predict(
        self,
        articles: Sequence[Article],
        *,
        batch_size: int = 16,
        thresholds: bool = True,
        viterbi: bool = True,
        trim: bool | None = None,
        stitch: str = "owned",
        relations: bool = True,
        units: str | None = None,
        on_progress: Callable[[float], None] | None = None,
    ) -> list[Article]:
        """Copies of ``articles`` with predicted units (ids ``T1``..., scores in [0, 1]) and,
        if the model has a relation head and ``relations``, scored relations (``R1``...).

        ``thresholds=False`` switches off the per-class thresholds and minimum lengths of the
        model directory (every decoded span is kept); ``trim=False`` keeps a separator such as
        a comma that the model tagged at a unit's edge (default: the model's
        ``boundaries.punctuation``, true unless set off); ``stitch`` is how overlapping windows
        are joined (``"owned"`` or the pipeline's ``"longest"``; see ``TokenTagCodec.decode``).
        ``units``: where units come from (:attr:`unit_source` by default: the second stage
        when the model directory has an active one, else the model's ``unit_mode``; ``"gold"``
        keeps the articles' units and predicts relations only). The article's meta gets
        ``{"model": <run name>}``.
        """
        from argmine.encoding import STITCH_MODES
        from argmine.inference import predict_articles

        if stitch not in STITCH_MODES:  # before the forward pass, not after it
            raise ValueError(f"stitch must be one of {', '.join(STITCH_MODES)}, got {stitch!r}")
        rel = self.spec.relations or {}
        out = predict_articles(
            self.network,
            self.codec,
            articles,
            units=units or self.unit_source,
            encoder=self.encoder,
            relations=relations and self.has_relations,
            decoding=rel.get("decoding", "one_parent"),
            relation_threshold=rel.get("threshold", 0.5),
            rule_bonus=float(rel.get("rule_bonus", 0.0)),
            unit_labels=rel.get("unit_labels", "tagger"),
            thresholds=self.spec.thresholds if thresholds else None,
            min_words=self.spec.min_words if thresholds else 0,
            viterbi=viterbi,
            trim=trim,
            stitch=stitch,
            batch_size=batch_size,
            pad_id=self.pad_id,
            dtype=self.dtype,
            on_progress=on_progress,
            stage2=self.stage2,
            unit_rule_bonus=float(self.spec.unit_rule_bonus),
            ranker=self.ranker,
            ranker_mix=self.ranker_mix,
            label_temperature=self.label_temperature,
        )
        for tagged in out:
            tagged.meta["model"] = self.name
        return out


class Ensemble:
    """Several model directories tagging as one (``argmine tag --ensemble``; #12 item 5): each
    model decodes its own units (its unit source, thresholds and boundaries), the units are
    fused by overlap-group voting (:func:`argmine.fusion.fuse_units`), then every model with a
    relation head scores the candidate pairs of the fused units (with its own rule bonus), the
    probabilities are averaged (:func:`argmine.fusion.mean_pair_probs`) and decoded with the
    first model's decoding mode and threshold. One forward pass per model and article.

    The first model is the primary: its labels, relation labels and decoding are the
    ensemble's; the others must have the same span labels (and relation labels, where they
    have a relation head). ``weights``: one positive number per model (default equal);
    ``min_share``: the share of the weight a fused unit needs (0.5: half the models)."""

    def __init__(
        self,
        taggers: Sequence[Tagger],
        *,
        weights: Sequence[float] | None = None,
        min_share: float = 0.5,
    ) -> None:
        if len(taggers) < 2:
            raise ValueError("an ensemble needs at least two models")
        if not 0.0 < min_share <= 1.0:
            raise ValueError(f"min_share must be in (0, 1], got {min_share!r}")
        if weights is not None and (
            len(weights) != len(taggers) or any(not w > 0 for w in weights)
        ):
            raise ValueError(f"need one positive weight per model, got {list(weights)}")
        primary = taggers[0]
        for other in taggers[1:]:
            if tuple(other.spec.labels) != tuple(primary.spec.labels):
                raise ModelError(
                    f"{other.model_dir}: labels {list(other.spec.labels)} differ from "
                    f"{primary.model_dir}'s {list(primary.spec.labels)}; an ensemble needs "
                    "the same labels"
                )
            if (
                other.has_relations
                and primary.has_relations
                and tuple(other.encoder.relation_labels) != tuple(primary.encoder.relation_labels)
            ):
                raise ModelError(
                    f"{other.model_dir}: relation labels {list(other.encoder.relation_labels)} "
                    f"differ from {primary.model_dir}'s "
                    f"{list(primary.encoder.relation_labels)}"
                )
        self.taggers = list(taggers)
        self.weights = list(weights) if weights is not None else [1.0] * len(taggers)
        self.min_share = min_share
        self.spec = primary.spec
        self.model_dir = primary.model_dir

    @classmethod
    def load(
        cls,
        model_dirs: Sequence[str | os.PathLike[str]],
        *,
        threads: int | None = None,
        dtype: str = "auto",
        quantize: str | None = None,
        weights: Sequence[float] | None = None,
        min_share: float = 0.5,
    ) -> Ensemble:
        taggers = [
            Tagger.load(resolve_model_dir(d), threads=threads, dtype=dtype, quantize=quantize)
            for d in model_dirs
        ]
        return cls(taggers, weights=weights, min_share=min_share)

    @property
    def has_relations(self) -> bool:
        """Relations are predicted when the primary model has a relation head."""
        return self.taggers[0].has_relations

    @property
    def unit_source(self) -> str:
        return "ensemble(" + ", ".join(t.unit_source for t in self.taggers) + ")"

    @property
    def name(self) -> str:
        return "+".join(t.name for t in self.taggers)

    def predict(
        self,
        articles: Sequence[Article],
        *,
        batch_size: int = 16,
        thresholds: bool = True,
        viterbi: bool = True,
        trim: bool | None = None,
        stitch: str = "owned",
        relations: bool = True,
        units: str | None = None,
        on_progress: Callable[[float], None] | None = None,
    ) -> list[Article]:
        """As :meth:`Tagger.predict`, fused; ``units="gold"`` keeps the articles' units and
        averages the models' relations over them."""
        from argmine.encoding import STITCH_MODES
        from argmine.fusion import fuse_units, mean_pair_probs
        from argmine.inference import decode_graph, decode_units, relation_probs, with_ranker
        from argmine.relations import with_rule_bonus

        if stitch not in STITCH_MODES:
            raise ValueError(f"stitch must be one of {', '.join(STITCH_MODES)}, got {stitch!r}")
        want_relations = relations and self.has_relations
        n = len(self.taggers)
        scaled = (lambda f: on_progress(f / n)) if on_progress is not None else None
        decoded = []
        for t in self.taggers:
            rel_member = want_relations and t.has_relations
            decoded.append(
                decode_units(
                    t.network,
                    t.codec,
                    articles,
                    units=units or t.unit_source,
                    encoder=t.encoder,
                    keep_states=rel_member,
                    thresholds=t.spec.thresholds if thresholds else None,
                    min_words=t.spec.min_words if thresholds else 0,
                    viterbi=viterbi,
                    trim=trim,
                    stitch=stitch,
                    batch_size=batch_size,
                    pad_id=t.pad_id,
                    dtype=t.dtype,
                    on_progress=scaled,
                    stage2=t.stage2,
                    unit_rule_bonus=float(t.spec.unit_rule_bonus),
                )
            )
        primary = self.taggers[0]
        rel = primary.spec.relations or {}
        out = []
        for a, article in enumerate(articles):
            if units == "gold":
                found = article.sorted_units()
            else:
                found = fuse_units(
                    [d[a].units for d in decoded], weights=self.weights, min_share=self.min_share
                )
            rels = []
            if want_relations and len(found) > 1:
                pair_sets, prob_sets, used = [], [], []
                for k, t in enumerate(self.taggers):
                    d = decoded[k][a]
                    if not t.has_relations or d.states is None:
                        continue
                    pairs, probs = relation_probs(
                        t.network, article, found, d.states, d.offsets, t.encoder
                    )
                    probs = with_ranker(
                        article.text,
                        found,
                        pairs,
                        probs,
                        t.ranker,
                        t.ranker_mix,
                        label_probs=_label_probs_of(found, d),
                        label_temperature=t.label_temperature,
                    )
                    bonus = float((t.spec.relations or {}).get("rule_bonus", 0.0))
                    pair_sets.append(pairs)
                    prob_sets.append(with_rule_bonus(article.text, found, pairs, probs, bonus))
                    used.append(self.weights[k])
                if pair_sets:
                    pairs, probs = mean_pair_probs(pair_sets, prob_sets, weights=used)
                    found, rels = decode_graph(
                        found,
                        pairs,
                        probs,
                        labels=primary.encoder.relation_labels,
                        mode=rel.get("decoding", "one_parent"),
                        threshold=rel.get("threshold", 0.5),
                        structure=rel.get("unit_labels", "tagger") == "structure"
                        and units != "gold",
                    )
            tagged = article.with_annotations(list(found), rels)
            tagged.meta["model"] = self.name
            out.append(tagged)
        return out


def _label_probs_of(units: Sequence[ArgUnit], decoded: Any) -> list[dict[str, float]] | None:
    """Each of ``units``' label distribution as one ensemble member decoded it (a unit the
    member did not find, after fusion: its own label, certain); None when the member's units
    came without distributions."""
    if decoded.label_probs is None:
        return None
    by_span = {(u.start, u.end): p for u, p in zip(decoded.units, decoded.label_probs, strict=True)}
    return [by_span.get((u.start, u.end)) or {u.label: 1.0} for u in units]


def load_predictor(
    model_dir: str | os.PathLike[str] | None,
    *,
    ensemble: Sequence[str | os.PathLike[str]] = (),
    threads: int | None = None,
    dtype: str = "auto",
    quantize: str | None = None,
    min_share: float = 0.5,
) -> Tagger | Ensemble:
    """``model_dir`` alone as a :class:`Tagger`, or with the ``ensemble`` model directories
    as an :class:`Ensemble` (``model_dir`` first, the primary)."""
    if not ensemble:
        return Tagger.load(
            resolve_model_dir(model_dir), threads=threads, dtype=dtype, quantize=quantize
        )
    return Ensemble.load(
        [resolve_model_dir(model_dir), *ensemble],
        threads=threads,
        dtype=dtype,
        quantize=quantize,
        min_share=min_share,
    )


def evaluate_model(
    model_dir: str | os.PathLike[str],
    articles: Sequence[Article],
    *,
    batch_size: int = 16,
    threads: int | None = None,
    baseline: bool = True,
    ensemble: Sequence[str | os.PathLike[str]] = (),
    min_share: float = 0.5,
) -> dict[str, Any]:
    """Scores of the model on gold ``articles``: span scores (:func:`argmine.evaluate.
    span_scores`, at the top level), and when the model predicts relations and the gold has
    them, ``relations`` (end to end, from predicted units), ``relations_gold_units`` and
    ``attachment_gold_units`` (the relation model alone). With ``baseline`` the rule
    pre-annotator is scored on the same articles with the same functions under ``rules``.
    ``ensemble``: more model directories fused with ``model_dir`` (:class:`Ensemble`)."""
    from argmine.data import fold_unannotated, relations_annotated
    from argmine.evaluate import attachment_scores, relation_scores, span_scores

    tagger = load_predictor(model_dir, ensemble=ensemble, threads=threads, min_share=min_share)
    gold = list(articles)
    labels = list(tagger.spec.labels)
    _check_unannotated(gold, labels)
    _check_gold_labels(gold, labels)
    bare = [a.with_annotations([]) for a in gold]
    # a source that does not annotate a label (Webis: no Conclusion) is scored with the
    # predictions of it folded into what it hides under; its relations only if it has them
    pred = fold_unannotated(tagger.predict(bare, batch_size=batch_size), gold)
    scores = span_scores(gold, pred, labels=labels)
    scores["model"] = str(tagger.model_dir)
    if ensemble:
        scores["ensemble"] = [str(tagger.model_dir), *(str(d) for d in ensemble)]
    scores["articles"] = len(gold)
    scores["unit_mode"] = tagger.unit_source
    rel_labels = list((tagger.spec.relations or {}).get("labels") or ())
    keep = [k for k, a in enumerate(gold) if relations_annotated(a)]
    rel_gold = [gold[k] for k in keep]
    has_gold_relations = any(a.relations for a in rel_gold)
    if tagger.has_relations and has_gold_relations:
        scores["relations"] = relation_scores(rel_gold, [pred[k] for k in keep], labels=rel_labels)
        given = tagger.predict(rel_gold, batch_size=batch_size, units="gold")
        scores["relations_gold_units"] = relation_scores(rel_gold, given, labels=rel_labels)
        scores["attachment_gold_units"] = attachment_scores(rel_gold, given)
    elif has_gold_relations:
        log.info("%s was trained without relations: scoring spans only", tagger.model_dir)
    if baseline:
        from argmine.prelabel import prelabel_articles

        rules = fold_unannotated(prelabel_articles(bare), gold)
        scores["rules"] = span_scores(gold, rules, labels=labels)
        if has_gold_relations:
            names = rel_labels or sorted({r.label for a in rel_gold for r in a.relations})
            scores["rules"]["relations"] = relation_scores(
                rel_gold, [rules[k] for k in keep], labels=names
            )
    return scores


# -- files -----------------------------------------------------------------------------------
@dataclass
class TagSummary:
    """What a :func:`tag_files` run did."""

    output: Path | None
    tagged: int = 0
    skipped: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    jsonl: Path | None = None
    seconds: float = 0.0
    #: a run stopped at a bad input: what it tagged, kept for ``--resume`` (the outputs are
    #: as they were)
    partial: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.failed


def _existing_ids(path: Path, *, torn_tail: bool = False) -> set[str]:
    """Ids of the articles in an argmine JSONL output (for ``resume``); ``torn_tail``: a last
    line without its newline (a run killed while appending) is left out instead of refused."""
    ids: set[str] = set()
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(path, f"cannot read the output to resume ({exc.strerror})") from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            if torn_tail and not raw.endswith(b"\n"):
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise InputError(
                    path, f"line {number}: not UTF-8 text, cannot resume from it"
                ) from None
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                raise InputError(
                    path, f"line {number}: not argmine JSONL, cannot resume from it"
                ) from None
            if not isinstance(data, dict) or not isinstance(data.get("id"), str):
                raise InputError(path, f"line {number}: no article id, cannot resume from it")
            ids.add(data["id"])
    return ids


def append_atomic(path: Path, lines: Sequence[str], *, keep_existing: bool = True) -> None:
    """Replace ``path`` by (its current content +) ``lines``, atomically (copy-on-write)."""
    mode = (path.stat().st_mode & 0o777) if path.exists() else None
    with atomic_writer(path, force=True, mode="wb", file_mode=mode) as out:
        if keep_existing and path.exists():
            with path.open("rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)
        out.write("".join(line + "\n" for line in lines).encode("utf-8"))


def _read_inputs(
    inputs: Sequence[str],
    *,
    stdin: IO[bytes] | IO[str] | None,
    keep_going: bool,
    failed: list[tuple[str, str]],
) -> Iterator[tuple[str, Article]]:
    """``(source, article)`` for every readable article; bad inputs go to ``failed``.

    An article read twice (same id, same text, e.g. a file and the folder holding it) is
    tagged once; the same id with another text is a failure. Without ``keep_going`` reading
    stops at the first failure.
    """
    from argmine.readers import expand_inputs, iter_articles

    seen: dict[str, tuple[str, str]] = {}  # id -> (source, hash of the text): small per id
    for item in inputs:
        try:
            files = expand_inputs([item])
        except InputError as exc:
            failed.append((exc.source, exc.problem))
            if not keep_going:
                return
            continue
        for file in files:
            source = str(file)
            articles = iter_articles([file], stdin=stdin)  # lazily: a JSONL line at a time
            while True:
                try:
                    article = next(articles)
                except StopIteration:
                    break
                except InputError as exc:  # what was read before the bad line is kept
                    failed.append((exc.source, exc.problem))
                    if not keep_going:
                        return
                    break
                digest = hashlib.blake2b(article.text.encode("utf-8"), digest_size=16).hexdigest()
                if article.id in seen:
                    first, text = seen[article.id]
                    if text == digest:  # the same article given twice: tag it once
                        log.info("%s: %s already read from %s", source, article.id, first)
                        continue
                    failed.append(
                        (source, f"duplicate article id {article.id!r} (first seen in {first})")
                    )
                    if not keep_going:
                        return
                    continue
                seen[article.id] = (source, digest)
                yield source, article


class _Progress:
    """A rich progress bar on stderr (articles/s and ETA), or nothing."""

    def __init__(self, total: int | None, *, enabled: bool) -> None:
        self.bar = None  # total None: not known ahead (inputs are read as they are tagged)
        if not enabled or total == 0:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            ProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.text import Text

        class Rate(ProgressColumn):
            """Articles per second over the whole run so far (rich's own speed estimate
            jumps when a chunk's progress is set at once)."""

            def render(self, task):  # type: ignore[no-untyped-def]
                elapsed = task.finished_time or task.elapsed
                if not elapsed or not task.completed:
                    return Text("  – art/s")
                return Text(f"{task.completed / elapsed:5.1f} art/s")

        self.bar = Progress(
            TextColumn("tagging"),
            BarColumn(),
            MofNCompleteColumn(),
            Rate(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self.task = self.bar.add_task("tagging", total=total)
        self.bar.start()

    def advance(self, amount: float) -> None:
        if self.bar is not None:
            self.bar.advance(self.task, amount)

    def set(self, completed: int) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=completed)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def tag_batch(
    tagger: Tagger | Ensemble,
    articles: Sequence[Article],
    *,
    batch_size: int = 16,
    on_progress: Callable[[float], None] | None = None,
    **options: Any,
) -> list[Article]:
    """Tag one batch of articles: the one per-batch function every engine calls (``argmine
    tag``'s :func:`tag_files`, the Label Studio backend, the Ray engine), so they all decode the
    same way. ``options`` go to :meth:`Tagger.predict` (``thresholds``, ``viterbi``, ``trim``,
    ``stitch``). Returns tagged copies, in order."""
    return tagger.predict(articles, batch_size=batch_size, on_progress=on_progress, **options)


def journal_path(jsonl: Path) -> Path:
    """The progress journal of a running ``tag`` output: ``OUTPUT.progress``."""
    return jsonl.with_name(jsonl.name + ".progress")


def read_journal(jsonl: Path) -> dict[str, Any] | None:
    """The last progress record of a run writing ``jsonl`` (``None`` if there is none):
    ``{"chunks", "articles", "bytes"}`` as of the last fsynced chunk."""
    try:
        return json.loads(journal_path(jsonl).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_journal(jsonl: Path, record: dict[str, Any]) -> None:
    path = journal_path(jsonl)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(record) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _start_work(jsonl: Path, work: Path, *, resume: bool) -> set[str]:
    """Prepare the file a run appends to (``work``, :func:`partial_path`) and return the ids
    it need not tag again. A fresh run starts an empty one. ``resume`` continues the partial
    output of an unfinished run (its torn last line cut off), or else appends to a copy of a
    finished output, which is itself never changed before the run ends; either must be argmine
    JSONL (checked before anything is cut or copied)."""
    work.parent.mkdir(parents=True, exist_ok=True)
    if not resume:
        work.write_bytes(b"")
        journal_path(work).unlink(missing_ok=True)
        return set()
    if work.exists():
        _existing_ids(work, torn_tail=True)
        recover_torn_tail(work)
        return _existing_ids(work)
    if not jsonl.exists():
        work.write_bytes(b"")
        return set()
    # an output of an older argmine killed while appending to it has its journal beside it
    killed = journal_path(jsonl).exists()
    done = _existing_ids(jsonl, torn_tail=killed)
    with jsonl.open("rb") as src, work.open("wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    if killed:
        recover_torn_tail(work)
        journal_path(jsonl).unlink(missing_ok=True)
    return done


def recover_torn_tail(jsonl: Path) -> int:
    """Cut a torn last line (a run killed while appending) off ``jsonl``; the bytes cut.

    Lines are appended whole and in order, so only the text after the last newline can be
    incomplete; everything before it is complete JSONL."""
    size = jsonl.stat().st_size
    if size == 0:
        return 0
    with jsonl.open("rb+") as handle:
        block = 1 << 16
        end = size
        while end > 0:
            start = max(0, end - block)
            handle.seek(start)
            chunk = handle.read(end - start)
            newline = chunk.rfind(b"\n")
            if newline >= 0:
                keep = start + newline + 1
                break
            end = start
        else:
            keep = 0
        if keep < size:
            handle.truncate(keep)
            handle.flush()
            os.fsync(handle.fileno())
            log.warning(
                "%s: cut a torn last line (%d bytes) left by a killed run", jsonl, size - keep
            )
    return size - keep


def tag_files(
    inputs: Sequence[str],
    *,
    model_dir: str | os.PathLike[str] | None = None,
    output: str | os.PathLike[str],
    fmt: str = "jsonl",
    resume: bool = False,
    force: bool = False,
    keep_going: bool = False,
    threads: int | None = None,
    batch_size: int = 16,
    chunk_size: int = 64,
    dtype: str = "auto",
    quantize: str | None = None,
    schema_path: str | os.PathLike[str] = "configs/labels.yaml",
    progress: bool = True,
    stdin: IO[bytes] | IO[str] | None = None,
    ensemble: Sequence[str | os.PathLike[str]] = (),
    min_share: float = 0.5,
) -> TagSummary:
    """Tag every article of ``inputs`` into ``output`` (``fmt``: jsonl, csv, html,
    labelstudio); see the module docstring for the resume and atomic-write scheme.

    Without ``keep_going`` the run stops at the first input that cannot be read (after
    writing what is tagged); the summary lists every failure with its file and reason.
    ``ensemble``: more model directories fused with ``model_dir`` (:class:`Ensemble`, units
    kept by ``min_share`` of the models).
    """
    from argmine.report import FORMATS, write_report

    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size!r}")
    target, jsonl = check_tag_outputs(output, fmt, resume=resume, force=force)
    schema = None
    if fmt == "html":
        from argmine.config import load_label_schema

        schema = load_label_schema(schema_path)
    # the schema and the model before OUTPUT.partial is touched: a bad one leaves no file
    tagger = load_predictor(
        model_dir,
        ensemble=ensemble,
        threads=threads,
        dtype=dtype,
        quantize=quantize,
        min_share=min_share,
    )
    work = partial_path(jsonl)
    try:
        done = _start_work(jsonl, work, resume=resume)
    except OSError as exc:  # no permission, a read-only file system
        raise cannot_write(work, exc) from None

    started = time.perf_counter()
    summary = TagSummary(output=target, jsonl=jsonl)

    def todo() -> Iterator[Article]:
        for _source, article in _read_inputs(
            inputs, stdin=stdin, keep_going=keep_going, failed=summary.failed
        ):
            if article.id in done:
                summary.skipped += 1
            else:
                yield article

    bar = _Progress(None, enabled=progress)
    articles = todo()
    chunks = 0
    # Append and fsync per chunk to OUTPUT.partial; the journal records each fsynced chunk (a
    # kill leaves at most a torn last line, which --resume cuts off). The outputs are only
    # replaced when every input was read.
    try:
        with work.open("ab") as out:
            while chunk := list(itertools.islice(articles, chunk_size)):
                tagged = tag_batch(tagger, chunk, batch_size=batch_size, on_progress=bar.advance)
                try:
                    out.write("".join(dumps_article(a) + "\n" for a in tagged).encode("utf-8"))
                    out.flush()
                    os.fsync(out.fileno())
                except OSError as exc:  # a full disk: what is fsynced so far can be resumed
                    raise cannot_write(work, exc) from None
                chunks += 1
                summary.tagged += len(tagged)
                _write_journal(
                    work, {"chunks": chunks, "articles": summary.tagged, "bytes": out.tell()}
                )
                bar.set(summary.tagged)
    finally:
        bar.close()
    journal_path(work).unlink(missing_ok=True)
    if summary.failed and not keep_going:
        # stopped at a bad input: the outputs stay as they were; the work is kept to resume
        if work.stat().st_size == 0:
            work.unlink()
        else:
            summary.partial = work
        summary.seconds = time.perf_counter() - started
        return summary
    try:
        os.replace(work, jsonl)
    except OSError as exc:
        raise cannot_write(jsonl, exc) from None
    if fmt != "jsonl":
        from argmine.document import iter_jsonl_articles

        with jsonl.open(encoding="utf-8") as handle:
            try:
                articles = list(iter_jsonl_articles(handle))
            except ValueError as exc:
                raise InputError(jsonl, str(exc)) from None
        write_report(
            articles,
            target,
            fmt=fmt,
            schema=schema,
            force=True,
            model_version=tagger.name,
        )
    summary.seconds = time.perf_counter() - started
    return summary


def partial_path(jsonl: Path) -> Path:
    """Where a local tagging run appends its JSONL until it finishes: ``OUTPUT.partial``
    (``OUTPUT.jsonl.partial`` for a report format); renamed to the JSONL output at the end."""
    return jsonl.with_name(jsonl.name + ".partial")


def tag_jsonl_path(output: str | os.PathLike[str], fmt: str) -> Path:
    """The JSONL a tagging run appends to: ``output`` itself for ``jsonl``, else
    ``OUTPUT.jsonl`` beside the report."""
    target = Path(output)
    return target if fmt == "jsonl" else target.with_name(target.name + ".jsonl")


def check_tag_outputs(
    output: str | os.PathLike[str],
    fmt: str,
    *,
    resume: bool,
    force: bool,
    more: Sequence[Path] = (),
) -> tuple[Path, Path]:
    """The report ``output`` and the JSONL a tagging run appends to (``output`` itself for
    ``jsonl``, else ``OUTPUT.jsonl``), after the checks every engine makes before it starts:
    not stdout, ``resume`` and ``force`` not both, no file the run writes (the JSONL, the
    report, a CSV's relation file, ``more``) already there unless one of them is given, and a
    report to resume has its JSONL."""
    from argmine.report import output_paths

    if str(output) == "-":
        raise UsageError(
            "argmine tag writes files (appended per chunk, resumable), not stdout: give "
            "--output a path, e.g. tagged.jsonl"
        )
    if resume and force:
        raise ValueError("--resume and --force contradict each other; pass one")
    from argmine.fileio import check_output

    target, jsonl = Path(output), tag_jsonl_path(output, fmt)
    for path in dict.fromkeys([*output_paths(target, fmt=fmt), jsonl, partial_path(jsonl)]):
        check_output(path, force=True)  # not a directory, no file where a folder must be
    if not resume and not force:
        for path in dict.fromkeys([*output_paths(target, fmt=fmt), jsonl, *more]):
            if path.exists():
                raise OutputExistsError(path)
        if partial_path(jsonl).exists():
            raise InputError(
                partial_path(jsonl),
                "the partial output of a run that did not finish: --resume continues it, "
                "--force starts over",
            )
    resumable = jsonl.exists() or partial_path(jsonl).exists()
    if resume and fmt != "jsonl" and target.exists() and not resumable:
        raise InputError(
            jsonl, f"missing, so {target} cannot be resumed (pass --force to start over)"
        )
    return target, jsonl


def _check_unannotated(gold: Sequence[Article], labels: Sequence[str]) -> None:
    """A label said to be unannotated must be absent from the gold, and what it hides under
    must be O or one of the model's ``labels``."""
    from argmine.data import unannotated_labels

    for article in gold:
        for label, under in unannotated_labels(article).items():
            if label not in labels:
                raise UsageError(
                    f"unannotated {label}: not a label of the model "
                    f"(its labels: {', '.join(labels)})"
                )
            bad = [u for u in under if u != "O" and u not in labels]
            if bad:
                raise UsageError(
                    f"unannotated {label}: {', '.join(bad)} is not a label of the model "
                    f"(its labels: {', '.join(labels)})"
                )
            found = sum(u.label == label for u in article.units)
            if found:
                raise UsageError(
                    f"unannotated {label}: article {article.id} has {found} {label} unit(s) "
                    "in its gold annotation"
                )


def _check_gold_labels(gold: Sequence[Article], labels: Sequence[str]) -> None:
    """Gold with no unit of the model's labels cannot be scored (a usage error: plain text
    was given, the wrong file, or a corpus whose labels were not mapped); units whose label
    the model does not have are left out of the scores and named in one warning."""
    from collections import Counter

    foreign = Counter(u.label for a in gold for u in a.units if u.label not in labels)
    shown = ", ".join(f"{k!r} x{v}" for k, v in sorted(foreign.items()))
    if not any(u.label in labels for a in gold for u in a.units):
        raise UsageError(
            f"the gold has no units labelled {', '.join(labels)} in its {len(gold)} "
            "article(s), nothing to score"
            + (
                f" (its labels: {shown}; map them when converting: argmine convert --labels)"
                if foreign
                else " (evaluate needs argmine JSONL with units, a Label Studio export or --format)"
            )
        )
    if foreign:
        log.warning(
            "gold units with labels the model does not have are not scored: %s (model labels: %s)",
            shown,
            ", ".join(labels),
        )


def load_gold(
    data: str | os.PathLike[str],
    *,
    fmt: str = "auto",
    split: str | None = None,
    unannotated: Mapping[str, Sequence[str]] | None = None,
) -> list[Article]:
    """Gold articles for :func:`evaluate_model`.

    ``fmt="auto"``: a ``.json`` file is a Label Studio export, anything else is read by
    :mod:`argmine.readers` (argmine JSONL with units). Other values (``jsonl``,
    ``labelstudio``, ``brat``, ``microtexts``, ``webis``) go to
    :func:`argmine.corpora.load_corpus` with ``split``. ``unannotated``: labels the gold does
    not annotate, each with the gold labels it may hide under (a source's ``unannotated``);
    omitted: the format's own (:data:`argmine.corpora.DEFAULT_UNANNOTATED`: Webis has no
    Conclusion), none for ``auto``; ``{}``: none.
    """
    from argmine.corpora import DEFAULT_UNANNOTATED
    from argmine.data import mark_unannotated

    path = Path(data)
    if fmt == "auto":
        if split is not None:
            raise UsageError("--split needs --format (e.g. --format webis --split test)")
        if path.suffix.lower() == ".json":
            from argmine.corpora.labelstudio import load_export

            articles = load_export(path)
        else:
            from argmine.readers import read_articles

            articles = read_articles([str(path)])
    else:
        from argmine.corpora import load_corpus

        articles = load_corpus(fmt, path, split=split)
    if not articles:
        raise InputError(path, "no articles to evaluate on")
    hidden = DEFAULT_UNANNOTATED.get(fmt, {}) if unannotated is None else unannotated
    return mark_unannotated(articles, hidden)
