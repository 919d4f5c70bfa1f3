"""A linear-chain CRF over the token head's BIO tags (``train.crf: true``), in plain torch.

Beside :mod:`argmine.modeling` (which owns it as ``ArgumentModel.crf``)::

    tagger logits (B x L x T) = emissions; learnt: transitions (T x T, [from, to]), start, end (T)
    score(y) = start[y_0] + sum_t emissions[t, y_t] + sum_t transitions[y_t-1, y_t] + end[y_n]
    loss     = log Z - log (sum of exp(score) over the paths the labels allow)
               summed over windows, divided by the number of labelled tokens
    decoding = TokenTagCodec.viterbi(probs, crf=BIOCRF.decode_scores()): the best path of
               log softmax(emissions) + transitions (log softmax only shifts each position by a
               constant, so this is the CRF's own best path)

The BIO constraints (:func:`argmine.encoding.bio_allowed`: no O->I-X, no I-Y->I-X, no B-Y->I-X)
are hard: a forbidden transition scores :data:`FORBIDDEN` whatever its learnt weight. Training
windows overlap and cut an article anywhere, so a window may start inside a unit: ``start`` is
therefore learnt without the "no I-X first" rule, which decoding a whole article applies.

Labels: ``-100`` positions (special tokens, padding) are left out of the chain (the remaining
positions of a row are chained in order). A label ``>= T`` is a set, ``T + bitmask`` (bit ``k``:
tag ``k`` allowed; :func:`argmine.data.label_sets` writes them for labels a source does not
annotate, as :func:`argmine.modeling.set_cross_entropy` reads them): the likelihood then sums
over every path those sets allow (a partial-label CRF), so a hidden label is not trained as O.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from argmine.encoding import bio_allowed

__all__ = ["BIOCRF", "FORBIDDEN", "crf_log_partition", "label_tag_mask"]

FORBIDDEN = -1e4
IGNORE = -100


def label_tag_mask(labels: torch.Tensor, n_tags: int) -> torch.Tensor:
    """``(B x L)`` labels -> ``(B x L x T)``: which tags each position's label allows: one tag
    for ``0 <= label < T``; for a set label ``T + bitmask`` (bit ``k``: tag ``k`` allowed, the
    code of :func:`argmine.data.label_sets`) its tags; none for ``-100``."""
    known = (labels >= 0) & (labels < n_tags)
    mask = nn.functional.one_hot(labels.clamp(0, n_tags - 1), n_tags).bool() & known[..., None]
    sets = labels >= n_tags
    if bool(sets.any()):
        bits = (labels - n_tags).clamp(min=0)
        if int(bits.max()) >= 1 << n_tags:
            raise ValueError(f"set label {int(labels.max())} names tags beyond the {n_tags}")
        allowed = ((bits.unsqueeze(-1) >> torch.arange(n_tags, device=labels.device)) & 1).bool()
        mask = mask | (allowed & sets[..., None])
    return mask


def crf_log_partition(
    emissions: torch.Tensor,
    transitions: torch.Tensor,
    start: torch.Tensor,
    end: torch.Tensor,
    mask: torch.Tensor,
    tag_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """``log sum_y exp(score(y))`` per row (the forward algorithm): ``emissions`` ``(B x L x T)``,
    ``mask`` ``(B x L)`` a prefix of each row (every row at least one position); with
    ``tag_mask`` ``(B x L x T)`` only paths through allowed tags are summed."""
    if tag_mask is not None:
        emissions = emissions.masked_fill(~tag_mask, FORBIDDEN)
    alpha = start + emissions[:, 0]  # B x T
    for t in range(1, emissions.shape[1]):
        step = torch.logsumexp(alpha.unsqueeze(2) + transitions, dim=1) + emissions[:, t]
        alpha = torch.where(mask[:, t : t + 1], step, alpha)
    return torch.logsumexp(alpha + end, dim=1)


def _chain(emissions: torch.Tensor, labels: torch.Tensor):
    """The labelled positions of each row moved to its front, in order; rows without any
    dropped. -> emissions, labels, mask (B' x L' ...)."""
    ignore = labels == IGNORE
    order = torch.sort(ignore.long(), dim=1, stable=True).indices
    labels = labels.gather(1, order)
    emissions = emissions.gather(1, order.unsqueeze(-1).expand(-1, -1, emissions.shape[-1]))
    mask = labels != IGNORE
    lengths = mask.sum(1)
    keep = lengths > 0
    width = int(lengths.max()) if bool(keep.any()) else 0
    return emissions[keep, :width], labels[keep, :width], mask[keep, :width]


class BIOCRF(nn.Module):
    """Transition, start and end scores over the BIO ``tags`` (module docstring)."""

    def __init__(self, tags: Sequence[str]) -> None:
        super().__init__()
        tags = list(tags)
        n = len(tags)
        self.tags = tags
        self.transitions = nn.Parameter(torch.zeros(n, n))
        self.start = nn.Parameter(torch.zeros(n))
        self.end = nn.Parameter(torch.zeros(n))
        self.register_buffer("allowed", torch.from_numpy(bio_allowed(tags)), persistent=False)
        self.register_buffer(
            "start_ok",
            torch.tensor([not t.startswith("I-") for t in tags], dtype=torch.bool),
            persistent=False,
        )

    @property
    def n_tags(self) -> int:
        return len(self.tags)

    def constrained(self) -> torch.Tensor:
        """The transition scores with the BIO constraints applied (forbidden: FORBIDDEN)."""
        return self.transitions.masked_fill(~self.allowed, FORBIDDEN)

    def nll(self, emissions: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood of ``labels`` ``(B x L)`` given ``emissions`` ``(B x L x T)``,
        summed over rows and divided by the number of labelled tokens (the scale of the
        per-token cross-entropy it replaces)."""
        if emissions.shape[-1] != self.n_tags:
            raise ValueError(f"emissions have {emissions.shape[-1]} tags, the CRF {self.n_tags}")
        em, lab, mask = _chain(emissions.float(), labels)
        if em.shape[0] == 0:
            return emissions.sum() * 0.0
        tag_mask = label_tag_mask(lab, self.n_tags) | ~mask[..., None]
        both = crf_log_partition(
            torch.cat([em, em]),
            self.constrained(),
            self.start,
            self.end,
            torch.cat([mask, mask]),
            torch.cat([torch.ones_like(tag_mask), tag_mask]),
        )
        log_z, log_gold = both.split(em.shape[0])
        return (log_z - log_gold).sum() / mask.sum()

    def decode_scores(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(transitions, start, end)`` as numpy for :meth:`TokenTagCodec.viterbi` (the BIO
        constraints are applied there)."""
        with torch.no_grad():
            return tuple(  # type: ignore[return-value]
                p.detach().float().cpu().numpy().astype(np.float64)
                for p in (self.transitions, self.start, self.end)
            )
