"""The torch model: one encoder, a token (BIO) head, a unit head and a relation head.

::

    window input_ids ──encoder (any HF token-classification model)──> token states (B x L x H)
        ├─ its own classifier ──> BIO tag logits                        (token loss)
        ├─ unit spans ──pool (mean ‖ first token)──> unit vectors (B x U x 2H)
        │     └─ unit head: MLP(unit vector ‖ unit features) ──> none / label logits   (unit loss)
        └─ pair (head, tail) ──pair head: MLP(proj_h(u_h) ‖ proj_t(u_t) ‖ product ‖ pair
              features) ──> none / supports / attacks logits                    (relation loss)

    loss = token loss + unit_weight · unit loss + relation_weight · relation loss
    (token loss: per-token cross-entropy, or with HeadSpec.crf a linear-chain CRF's negative
    log-likelihood over the BIO tags, argmine.crf)

One forward pass per window serves all three heads. The token classifier is kept as the Hugging
Face model it is (saved with ``save_pretrained``: ``config.json`` + ``model.safetensors``, so a
model directory still loads with ``AutoModelForTokenClassification``); the two small heads are
saved beside it in ``heads.safetensors`` with their shape in ``argmine.json`` (so is the CRF's
transition matrix when there is one).

Unit spans and pairs are given per window row in positions of that window: ``unit_spans``
``(B x U x 2)`` half-open ``[start, end)`` (``end == 0`` pads), ``pairs`` ``(B x P x 2)`` indices
into that row's ``unit_spans`` (``-1`` pads), ``pair_features`` ``(B x P x F)``, ``pair_labels``
``(B x P)`` (``-100`` pads; ``-1``, ``PARENT_OUTSIDE``, marks every in-window pair of a head
unit whose gold parents all lie outside the window: that unit is left out of the head-selection
loss, which would otherwise teach it "no parent"). The unit head reads its own spans
(``seg_spans``, ``seg_features``, ``seg_labels``) because it classifies candidate segments, while
the relation head is trained on gold units.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from argmine.errors import ModelError
from argmine.relations import PARENT_OUTSIDE

if TYPE_CHECKING:
    from argmine.encoding import ModelSpec

__all__ = [
    "ArgumentModel",
    "HeadSpec",
    "WindowCollator",
    "check_model",
    "check_safetensors",
    "pool_spans",
    "set_cross_entropy",
]

HEADS_FILE = "heads.safetensors"
IGNORE = -100


@dataclass(frozen=True)
class HeadSpec:
    """Shapes of the unit and relation heads (stored in ``argmine.json``)."""

    hidden: int = 256
    n_pair_features: int = 0
    n_relation_classes: int = 0  # 1 + relation labels; 0 = no relation head
    n_unit_features: int = 0
    n_unit_classes: int = 0  # 1 + span labels; 0 = no unit head
    dropout: float = 0.1
    crf: bool = False  # a CRF over the BIO tags (argmine.crf): transitions in heads.safetensors
    #: a linear term over the pair features added to the attachment logit (relations.pair_prior)
    pair_prior: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def pool_spans(states: torch.Tensor, spans: torch.Tensor) -> torch.Tensor:
    """``(B x L x H)`` token states, ``(B x U x 2)`` spans -> ``(B x U x 2H)``: the mean of each
    span's states and the state of its first token (zeros for padding spans)."""
    length = states.shape[1]
    positions = torch.arange(length, device=states.device).view(1, 1, length)
    start = spans[..., 0:1]
    end = spans[..., 1:2]
    mask = ((positions >= start) & (positions < end)).to(states.dtype)  # B x U x L
    counts = mask.sum(-1, keepdim=True).clamp(min=1.0)
    mean = torch.bmm(mask, states) / counts
    first_index = spans[..., 0].clamp(min=0, max=length - 1)  # B x U
    first = torch.gather(states, 1, first_index.unsqueeze(-1).expand(-1, -1, states.shape[-1]))
    valid = (spans[..., 1] > spans[..., 0]).unsqueeze(-1).to(states.dtype)
    return torch.cat([mean, first], dim=-1) * valid


def set_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy where a label may stand for a set of classes: ``labels`` ``< C`` is one
    class, ``>= C`` is ``C + bitmask`` (bit ``k``: class ``k`` allowed; see
    :func:`argmine.data.label_sets`), ``-100`` is ignored. The loss of a set is
    ``-log sum_{k in set} p_k``: a label a source does not annotate is not trained as O. With
    no set labels this is ``torch.nn.functional.cross_entropy``."""
    c = logits.shape[-1]
    logits = logits.reshape(-1, c).float()
    labels = labels.reshape(-1)
    keep = labels != IGNORE
    if not bool(keep.any()):
        return logits.sum() * 0.0
    logits, labels = logits[keep], labels[keep]
    sets = labels >= c
    if not bool(sets.any()):
        return nn.functional.cross_entropy(logits, labels)
    bits = torch.where(sets, labels - c, torch.ones_like(labels) << labels.clamp(max=c - 1))
    allowed = ((bits.unsqueeze(-1) >> torch.arange(c, device=labels.device)) & 1).bool()
    good = torch.logsumexp(logits.masked_fill(~allowed, float("-inf")), dim=-1)
    return (torch.logsumexp(logits, dim=-1) - good).mean()


class _MLP(nn.Sequential):
    def __init__(self, n_in: int, hidden: int, n_out: int, dropout: float) -> None:
        super().__init__(
            nn.Dropout(dropout), nn.Linear(n_in, hidden), nn.GELU(), nn.Dropout(dropout),
            nn.Linear(hidden, n_out),
        )  # fmt: skip


class RelationHead(nn.Module):
    """Scores candidate pairs and each unit's "no parent" option.

    ``pair(heads, tails, features)`` -> ``(..., 1 + R)``: column 0 an attachment logit, the
    rest relation-label logits. ``root(units, unit_features)`` -> ``(...)``: the logit of the
    unit attaching to nothing. Each head unit's attachment is a softmax over its candidate
    tails and the root (head selection, as in biaffine dependency parsers), trained by the
    likelihood of its gold parent(s); the label is trained on gold pairs only.
    """

    def __init__(self, unit_dim: int, spec: HeadSpec) -> None:
        super().__init__()
        d = spec.hidden
        self.head_proj = nn.Sequential(nn.Linear(unit_dim, d), nn.GELU())
        self.tail_proj = nn.Sequential(nn.Linear(unit_dim, d), nn.GELU())
        self.bilinear = nn.Bilinear(d, d, 1)
        self.scorer = _MLP(3 * d + spec.n_pair_features, d, spec.n_relation_classes, spec.dropout)
        self.root_scorer = _MLP(d + spec.n_unit_features, d, 1, spec.dropout)
        # a log-linear prior over the pair features alone (distance, paragraph, endpoint labels,
        # rule links), free of dropout, beside the MLP over the unit vectors
        self.prior = nn.Linear(spec.n_pair_features, 1) if spec.pair_prior else None

    def pair(self, heads: torch.Tensor, tails: torch.Tensor, features: torch.Tensor):
        h = self.head_proj(heads)
        t = self.tail_proj(tails)
        logits = self.scorer(torch.cat([h, t, h * t, features], dim=-1))
        # nn.Bilinear is not on autocast's cast list: under bfloat16 autocast (train.bf16) its
        # inputs are bfloat16 and its weights float32, so it runs in the weights' dtype
        w = self.bilinear.weight.dtype
        attach = logits[..., :1].to(w) + self.bilinear(h.to(w).contiguous(), t.to(w).contiguous())
        if self.prior is not None:
            attach = attach + self.prior(features.to(w))
        return torch.cat([attach, logits[..., 1:].to(w)], dim=-1)

    def root(self, units: torch.Tensor, unit_features: torch.Tensor) -> torch.Tensor:
        return self.root_scorer(torch.cat([self.head_proj(units), unit_features], dim=-1))[..., 0]


def relation_loss(
    pair_logits: torch.Tensor,
    root_logits: torch.Tensor,
    pairs: torch.Tensor,
    pair_labels: torch.Tensor,
    unit_valid: torch.Tensor,
) -> torch.Tensor:
    """Head-selection loss (each unit: softmax over its candidate tails and the root) plus the
    label loss on gold pairs. Shapes: ``(B x P x (1+R))``, ``(B x U)``, ``(B x P x 2)``,
    ``(B x P)``, ``(B x U)``."""
    b, u = root_logits.shape
    neg = -1e4
    valid = pair_labels >= 0
    outside = pair_labels == PARENT_OUTSIDE
    bi, pi = valid.nonzero(as_tuple=True)
    hi, ti = pairs[bi, pi, 0], pairs[bi, pi, 1]
    scores = torch.full((b, u, u), neg, dtype=pair_logits.dtype, device=pair_logits.device)
    scores = scores.index_put((bi, hi, ti), pair_logits[bi, pi, 0].float())
    scores = torch.cat([scores, root_logits.float().unsqueeze(-1)], dim=-1)  # B x U x (U+1)
    gold = torch.zeros((b, u, u + 1), dtype=torch.bool, device=pair_logits.device)
    positive = pair_labels[bi, pi] > 0
    gold[bi[positive], hi[positive], ti[positive]] = True
    gold[..., u] = ~gold[..., :u].any(-1)
    total = torch.logsumexp(scores, dim=-1)
    good = torch.logsumexp(scores.masked_fill(~gold, neg), dim=-1)
    mask = unit_valid.clone()
    if bool(outside.any()):  # units whose gold parent is in another window: no target here
        ob, op = outside.nonzero(as_tuple=True)
        mask[ob, pairs[ob, op, 0]] = False
    loss = (total - good)[mask].mean() if bool(mask.any()) else scores.sum() * 0.0
    if bool(positive.any()):
        label_logits = pair_logits[bi[positive], pi[positive], 1:].float()
        loss = loss + nn.functional.cross_entropy(label_logits, pair_labels[bi, pi][positive] - 1)
    return loss


class ArgumentModel(nn.Module):
    """A token classifier (``tagger``) plus optional unit and relation heads on its states."""

    def __init__(
        self,
        tagger: nn.Module,
        spec: HeadSpec,
        *,
        unit_weight: float = 1.0,
        relation_weight: float = 1.0,
    ) -> None:
        super().__init__()
        self.tagger = tagger
        self.spec = spec
        hidden = int(tagger.config.hidden_size)
        unit_dim = 2 * hidden
        self.unit_head = (
            _MLP(unit_dim + spec.n_unit_features, spec.hidden, spec.n_unit_classes, spec.dropout)
            if spec.n_unit_classes
            else None
        )
        self.relation_head = RelationHead(unit_dim, spec) if spec.n_relation_classes else None
        self.crf = None
        if spec.crf:
            from argmine.crf import BIOCRF

            id2label = tagger.config.id2label
            self.crf = BIOCRF([id2label[i] for i in range(len(id2label))])
        self.unit_weight = unit_weight
        self.relation_weight = relation_weight

    @property
    def config(self) -> Any:  # Trainer and callers read model.config
        return self.tagger.config

    # -- pieces used by training and inference ----------------------------------------------
    def encode(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Token logits and the last hidden states of one batch of windows."""
        out = self.tagger(
            input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True
        )
        return out.logits, out.hidden_states[-1]

    def unit_logits(self, unit_vectors: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        if self.unit_head is None:
            raise ValueError("this model has no unit head")
        return self.unit_head(torch.cat([unit_vectors, features], dim=-1))

    def relation_logits(
        self, heads: torch.Tensor, tails: torch.Tensor, features: torch.Tensor
    ) -> torch.Tensor:
        if self.relation_head is None:
            raise ValueError("this model has no relation head")
        return self.relation_head.pair(heads, tails, features)

    def root_logits(self, units: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        if self.relation_head is None:
            raise ValueError("this model has no relation head")
        return self.relation_head.root(units, features)

    # -- training forward ---------------------------------------------------------------------
    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        labels: torch.Tensor | None = None,
        unit_spans: torch.Tensor | None = None,
        pairs: torch.Tensor | None = None,
        pair_features: torch.Tensor | None = None,
        pair_labels: torch.Tensor | None = None,
        unit_features: torch.Tensor | None = None,
        seg_spans: torch.Tensor | None = None,
        seg_features: torch.Tensor | None = None,
        seg_labels: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        logits, states = self.encode(input_ids, attention_mask)
        out: dict[str, torch.Tensor] = {"logits": logits}
        if labels is None:
            return out
        if self.crf is not None:  # the CRF's likelihood replaces the per-token loss
            loss = self.crf.nll(logits, labels)
        else:
            loss = set_cross_entropy(logits, labels)
        if (
            self.unit_head is not None
            and seg_spans is not None
            and seg_labels is not None
            and bool((seg_labels != IGNORE).any())
        ):
            vectors = pool_spans(states, seg_spans)
            unit_logits = self.unit_logits(vectors, seg_features)
            loss = loss + self.unit_weight * set_cross_entropy(unit_logits, seg_labels)
        if (
            self.relation_head is not None
            and unit_spans is not None
            and pairs is not None
            and pair_labels is not None
            and bool((pair_labels >= 0).any())
        ):
            vectors = pool_spans(states, unit_spans)  # B x U x 2H
            index = pairs.clamp(min=0)
            dim = vectors.shape[-1]
            heads = torch.gather(vectors, 1, index[..., 0:1].expand(-1, -1, dim))
            tails = torch.gather(vectors, 1, index[..., 1:2].expand(-1, -1, dim))
            rel_logits = self.relation_logits(heads, tails, pair_features)
            roots = self.root_logits(vectors, unit_features)
            unit_valid = unit_spans[..., 1] > unit_spans[..., 0]
            loss = loss + self.relation_weight * relation_loss(
                rel_logits, roots, pairs, pair_labels, unit_valid
            )
        out["loss"] = loss
        return out

    # -- files ----------------------------------------------------------------------------------
    def _heads(self) -> tuple[tuple[str, nn.Module | None], ...]:
        return (
            ("unit_head", self.unit_head),
            ("relation_head", self.relation_head),
            ("crf", self.crf),
        )

    def head_state(self) -> dict[str, torch.Tensor]:
        state = {}
        for name, module in self._heads():
            if module is not None:
                for key, value in module.state_dict().items():
                    state[f"{name}.{key}"] = value.detach().contiguous().cpu()
        return state

    def save_heads(self, directory: str | Path) -> Path | None:
        from safetensors.torch import save_file

        state = self.head_state()
        if not state:
            return None
        path = Path(directory) / HEADS_FILE
        tmp = path.with_name(path.name + ".tmp")
        save_file(state, str(tmp))
        tmp.replace(path)
        return path

    def load_heads(self, directory: str | Path) -> None:
        """The heads' weights from ``directory/heads.safetensors``; a one-line
        :class:`~argmine.errors.ModelError` naming the file if it is missing, unreadable or does
        not fit the heads' shapes."""
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        path = Path(directory) / HEADS_FILE
        try:
            state = load_file(str(path))
            for name, module in self._heads():
                if module is None:
                    continue
                prefix = name + "."
                sub = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
                module.load_state_dict(sub, strict=True)
        except (OSError, RuntimeError, SafetensorError) as exc:
            reason = " ".join(str(exc).split())
            raise ModelError(f"{path}: cannot load ({reason})") from None


def check_safetensors(path: str | Path) -> None:
    """A cheap check that ``path`` is a readable safetensors file (its header only, no
    tensors loaded); a one-line :class:`~argmine.errors.ModelError` naming it if not."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            handle.keys()
    except (OSError, SafetensorError) as exc:
        raise ModelError(f"{path}: cannot load ({exc})") from None


class WindowCollator:
    """Pads a list of window rows (see the module docstring) into one batch of tensors."""

    def __init__(self, *, pad_id: int = 0) -> None:
        self.pad_id = pad_id

    @staticmethod
    def _pad3(rows: list[list[list[float]]], width: int, fill: float, dtype: torch.dtype):
        n = max((len(r) for r in rows), default=0)
        out = torch.full((len(rows), max(n, 1), width), fill, dtype=dtype)
        for b, r in enumerate(rows):
            if r:
                out[b, : len(r)] = torch.tensor(r, dtype=dtype).view(len(r), width)
        return out

    @staticmethod
    def _pad2(rows: list[list[int]], fill: int) -> torch.Tensor:
        n = max((len(r) for r in rows), default=0)
        out = torch.full((len(rows), max(n, 1)), fill, dtype=torch.long)
        for b, r in enumerate(rows):
            if r:
                out[b, : len(r)] = torch.tensor(r, dtype=torch.long)
        return out

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        width = max(len(f["input_ids"]) for f in features)
        ids = torch.full((len(features), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(features), width), dtype=torch.long)
        labels = torch.full((len(features), width), IGNORE, dtype=torch.long)
        for b, f in enumerate(features):
            n = len(f["input_ids"])
            ids[b, :n] = torch.tensor(f["input_ids"], dtype=torch.long)
            mask[b, :n] = 1
            if "labels" in f:
                labels[b, :n] = torch.tensor(f["labels"], dtype=torch.long)
        batch = {"input_ids": ids, "attention_mask": mask, "labels": labels}
        if "pairs" in features[0]:
            n_pf = max((len(p) for f in features for p in f["pair_features"]), default=0)
            n_sf = max((len(p) for f in features for p in f["seg_features"]), default=0)
            batch["unit_spans"] = self._pad3([f["unit_spans"] for f in features], 2, 0, torch.long)
            batch["pairs"] = self._pad3([f["pairs"] for f in features], 2, -1, torch.long)
            batch["pair_features"] = self._pad3(
                [f["pair_features"] for f in features], max(n_pf, 1), 0.0, torch.float32
            )
            batch["pair_labels"] = self._pad2([f["pair_labels"] for f in features], IGNORE)
            n_uf = max((len(p) for f in features for p in f["unit_features"]), default=0)
            batch["unit_features"] = self._pad3(
                [f["unit_features"] for f in features], max(n_uf, 1), 0.0, torch.float32
            )
            batch["seg_spans"] = self._pad3([f["seg_spans"] for f in features], 2, 0, torch.long)
            batch["seg_features"] = self._pad3(
                [f["seg_features"] for f in features], max(n_sf, 1), 0.0, torch.float32
            )
            batch["seg_labels"] = self._pad2([f["seg_labels"] for f in features], IGNORE)
        return batch


def check_model(model_dir: str | Path) -> ModelSpec:
    """``model_dir``'s :class:`~argmine.encoding.ModelSpec`, once the directory is a model that
    will load: ``argmine.json`` valid, ``model.safetensors`` (and ``heads.safetensors`` when the
    spec has heads) present with readable headers (no weights are loaded). A one-line
    :class:`ModelError` naming the file and the problem if not. Called before a model is
    loaded (:meth:`argmine.tag.Tagger.load`), registered or served (:mod:`argmine.serve`)."""
    from argmine.encoding import ModelSpec

    path = Path(model_dir)
    if not path.is_dir():
        raise ModelError(f"{path}: model directory not found")
    spec = ModelSpec.load(path)
    for name in ["model.safetensors"] + ([HEADS_FILE] if spec.heads else []):
        if not (path / name).is_file():
            raise ModelError(f"{path}: no {name} (incomplete model directory)")
        check_safetensors(path / name)
    return spec
