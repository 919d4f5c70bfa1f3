"""Relation candidates, features, decoding and metrics, with hand-built articles and perfect
(or hand-set) probabilities: no weights needed."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from argmine.document import ArgRelation, ArgUnit, Article
from argmine.evaluate import attachment_scores, relation_scores
from argmine.relations import (
    DECODINGS,
    PairEncoder,
    clean_relations,
    decode_relations,
    labels_from_structure,
    max_arborescence,
    paragraph_ids,
    scope_coverage,
)

LABELS = ("Claim", "Evidence", "Conclusion")
RELS = ("supports", "attacks")

TEXT = "Aaa aaa.\n\nBbb bbb. Ccc ccc.\n\nDdd ddd. Eee eee."


def _article(relations=()) -> Article:
    spans = [(0, 8, "Conclusion"), (10, 18, "Claim"), (19, 27, "Evidence"), (29, 37, "Claim")]
    spans.append((38, 46, "Evidence"))
    units = [ArgUnit(f"T{i + 1}", s, e, lab) for i, (s, e, lab) in enumerate(spans)]
    return Article(id="a", text=TEXT, units=units, relations=list(relations))


GOLD = [
    ArgRelation("R1", "T2", "T1", "supports"),
    ArgRelation("R2", "T3", "T2", "supports"),
    ArgRelation("R3", "T4", "T1", "attacks"),
    ArgRelation("R4", "T5", "T4", "supports"),
]


def _perfect(encoder, article):
    units = article.sorted_units()
    pairs = encoder.pairs(article.text, units)
    labels = encoder.pair_labels(units, pairs, article.relations)
    probs = np.zeros((len(pairs), 1 + len(RELS)))
    probs[np.arange(len(pairs)), labels] = 1.0
    return units, pairs, probs


def test_relations_paragraph_ids_count_blank_line_blocks():
    assert paragraph_ids(TEXT, [0, 10, 19, 29, 38]) == [0, 1, 1, 2, 2]


@pytest.mark.parametrize(
    ("scope", "distance", "expected"),
    [
        # pairs in text order: T1..T5 in paragraphs 0,1,1,2,2
        ("paragraph", 1, {(1, 2), (2, 1), (3, 4), (4, 3)}),
        ("distance", 1, {(0, 1), (1, 0), (1, 2), (2, 1), (2, 3), (3, 2), (3, 4), (4, 3)}),
        ("all", 1, {(i, j) for i in range(5) for j in range(5) if i != j}),
    ],
)
def test_relations_candidate_pairs_follow_the_scope(scope, distance, expected):
    encoder = PairEncoder(LABELS, RELS, scope=scope, max_distance=distance)
    article = _article()
    assert set(encoder.pairs(article.text, article.sorted_units())) == expected


def test_relations_scope_coverage_counts_reachable_gold_relations():
    # Gold: T2->T1 (distance 1), T3->T2 (same paragraph), T4->T1 (distance 3), T5->T4.
    article = _article(GOLD)
    near = scope_coverage([article], PairEncoder(LABELS, RELS, "paragraph", 1))
    assert (near["covered"], near["relations"]) == (2, 4)  # T3->T2 and T5->T4 only
    every = scope_coverage([article], PairEncoder(LABELS, RELS, "all", 1))
    assert every["coverage"] == 1.0


@pytest.mark.parametrize("mode", DECODINGS)
def test_relations_decode_perfect_scores_gives_the_gold_tree(mode):
    article = _article(GOLD)
    encoder = PairEncoder(LABELS, RELS, scope="all")
    units, pairs, probs = _perfect(encoder, article)
    got = decode_relations(units, pairs, probs, labels=RELS, mode=mode, threshold=0.5)
    assert {(r.head, r.tail, r.label) for r in got} == {(r.head, r.tail, r.label) for r in GOLD}
    assert all(r.score == pytest.approx(1.0) for r in got)


def _two_parent_probs():
    """T3 is likely to support both T2 (0.9) and T4 (0.8); T2 -> T3 (0.7) would close a
    cycle with T3 -> T2."""
    article = _article()
    units = article.sorted_units()
    pairs = [(2, 1), (2, 3), (1, 2), (1, 0), (3, 0), (4, 3)]
    p = {(2, 1): 0.9, (2, 3): 0.8, (1, 2): 0.7, (1, 0): 0.6, (3, 0): 0.95, (4, 3): 0.3}
    probs = np.array([[1 - p[q], p[q], 0.0] for q in pairs])
    return units, pairs, probs


def test_relations_independent_keeps_every_pair_over_the_threshold():
    units, pairs, probs = _two_parent_probs()
    got = decode_relations(units, pairs, probs, labels=RELS, mode="independent", threshold=0.5)
    assert {(r.head, r.tail) for r in got} == {
        ("T3", "T2"),
        ("T3", "T4"),
        ("T2", "T3"),
        ("T2", "T1"),
        ("T4", "T1"),
    }


def test_relations_one_parent_keeps_each_units_best_target_over_the_threshold():
    units, pairs, probs = _two_parent_probs()
    got = decode_relations(units, pairs, probs, labels=RELS, mode="one_parent", threshold=0.5)
    # T3 -> T2 (0.9 beats 0.8), T2 -> T3 (0.7 beats 0.6), T4 -> T1; T5 -> T4 is below 0.5.
    assert {(r.head, r.tail) for r in got} == {("T3", "T2"), ("T2", "T3"), ("T4", "T1")}


def test_relations_tree_has_no_cycle_and_one_parent_each():
    units, pairs, probs = _two_parent_probs()
    got = decode_relations(units, pairs, probs, labels=RELS, mode="tree", threshold=0.5)
    heads = [r.head for r in got]
    assert len(heads) == len(set(heads))
    parent = {r.head: r.tail for r in got}
    for start in parent:  # following parents always ends at a root
        seen, node = set(), start
        while node in parent:
            assert node not in seen
            seen.add(node)
            node = parent[node]
    # T1 has no candidate target, so it is the root. T3 -> T2 (0.9) with T2 -> T1 (0.6)
    # weighs 0.54; T2 -> T3 (0.7) with T3 -> T4 (0.8) weighs 0.56 and wins, T3 -> T2 with
    # T2 -> T3 would be a cycle. T4 -> T1 and T5 -> T4 are the only choices left.
    assert set(parent.items()) == {("T2", "T3"), ("T3", "T4"), ("T4", "T1"), ("T5", "T4")}


def _brute_force_best(scores):
    """The best parent map of a small dense graph by trying every one (the oracle)."""
    import itertools

    n = len(scores)
    best, best_parent = -np.inf, None
    for choice in itertools.product(range(n), repeat=n - 1):
        parent = (0, *choice)
        if any(parent[d] == d for d in range(1, n)):
            continue
        ok = True
        for start in range(1, n):  # every node must reach the root
            seen, node = set(), start
            while node != 0 and ok:
                ok = node not in seen
                seen.add(node)
                node = parent[node]
        if not ok:
            continue
        total = sum(scores[d, parent[d]] for d in range(1, n))
        if total > best:
            best, best_parent = total, parent
    return best, best_parent


def test_relations_max_arborescence_matches_brute_force_on_random_graphs():
    rng = np.random.default_rng(7)
    for _ in range(300):
        n = int(rng.integers(2, 7))
        scores = np.where(rng.random((n, n)) < 0.6, rng.normal(size=(n, n)), -np.inf)
        scores[1:, 0] = rng.normal(size=n - 1) - 3.0  # the root edge always exists
        parent = max_arborescence(scores)
        assert parent[0] == 0
        total = sum(scores[d, parent[d]] for d in range(1, n))
        best, _ = _brute_force_best(scores)
        assert np.isfinite(total)
        assert total == pytest.approx(best), (scores, parent)


def test_relations_tree_decoding_matches_networkx_and_scales():
    """Same total weight as networkx's Edmonds (an independent implementation) on a dense
    graph, and a few hundred units (what an untrained model can predict on a long article)
    decode at once."""
    import math

    import networkx as nx

    rng = np.random.default_rng(3)
    n = 60
    units = [ArgUnit(f"T{i + 1}", 2 * i, 2 * i + 1, "Claim") for i in range(n)]
    pairs = [(i, j) for i in range(n) for j in range(n) if i != j and rng.random() < 0.5]
    p_rel = rng.random(len(pairs))
    probs = np.stack([1.0 - p_rel, p_rel, np.zeros_like(p_rel)], axis=1)
    got = decode_relations(units, pairs, probs, labels=RELS, mode="tree", threshold=0.5)

    index = {u.id: k for k, u in enumerate(units)}
    weight = {pair: math.log(max(p, 1e-6)) for pair, p in zip(pairs, p_rel, strict=True)}
    best = {i: max(p for (h, _), p in zip(pairs, p_rel, strict=True) if h == i) for i, _ in pairs}
    graph = nx.DiGraph()
    for i in range(n):
        graph.add_edge(-1, i, weight=math.log(max(1.0 - best.get(i, 0.0), 1e-6)) - 1e3)
    for (i, j), w in weight.items():
        graph.add_edge(j, i, weight=w)
    tree = nx.maximum_spanning_arborescence(graph, attr="weight")
    expected = sum(d["weight"] for _, _, d in tree.edges(data=True))
    attached = {index[r.head] for r in got}
    total = sum(weight[(index[r.head], index[r.tail])] for r in got) + sum(
        math.log(max(1.0 - best.get(i, 0.0), 1e-6)) - 1e3 for i in range(n) if i not in attached
    )
    assert len(attached) == len(got)
    assert total == pytest.approx(expected)

    n = 400  # every ordered pair: 159,600 candidates
    units = [ArgUnit(f"T{i + 1}", 2 * i, 2 * i + 1, "Claim") for i in range(n)]
    pairs = [(i, j) for i in range(n) for j in range(n) if i != j]
    p_rel = rng.random(len(pairs))
    probs = np.stack([1.0 - p_rel, p_rel, np.zeros_like(p_rel)], axis=1)
    got = decode_relations(units, pairs, probs, labels=RELS, mode="tree", threshold=0.5)
    assert len(got) == n - 1  # one root, everything else attached


def test_relations_decode_rejects_bad_shapes_and_modes():
    units, pairs, probs = _two_parent_probs()
    with pytest.raises(ValueError, match="decoding must be one of"):
        decode_relations(units, pairs, probs, labels=RELS, mode="greedy")
    with pytest.raises(ValueError, match="do not fit"):
        decode_relations(units, pairs, probs[:, :2], labels=RELS)


def test_relations_features_mark_order_paragraph_and_endpoint_labels():
    article = _article()
    encoder = PairEncoder(LABELS, RELS, scope="all")
    units = article.sorted_units()
    feats = encoder.pair_features(article.text, units, [(2, 1), (0, 4)])
    assert feats.shape == (2, encoder.n_pair_features)
    assert feats[0, 9] == 1.0 and feats[1, 9] == 0.0  # same paragraph
    assert feats[0, 1 + 3] == 1.0  # distance -1: buckets < -3, -3, -2, -1, 1, 2, 3, > 3
    assert feats[1, 1 + 7] == 1.0  # distance > 3 bucket
    nl = len(LABELS)
    assert feats[0, 18 + LABELS.index("Evidence")] == 1.0  # head label
    assert feats[0, 18 + nl + LABELS.index("Claim")] == 1.0  # tail label


def test_relations_rule_link_features_mark_the_rules_nearest_unit_links():
    # configs/lexicon.yaml links Evidence to the nearest Claim (same paragraph first) and a
    # Claim to the nearest Conclusion: T3 -> T2, T5 -> T4, T2 -> T1, T4 -> T1
    article = _article()
    units = article.sorted_units()
    plain = PairEncoder(LABELS, RELS, scope="all")
    encoder = PairEncoder(LABELS, RELS, scope="all", rule_links=True)
    assert encoder.n_pair_features == plain.n_pair_features + 2
    pairs = [(2, 1), (1, 2), (4, 3), (3, 0), (0, 4), (2, 3)]
    feats = encoder.pair_features(article.text, units, pairs)
    col = plain.n_pair_features
    assert feats[:, col].tolist() == [1.0, 0.0, 1.0, 1.0, 0.0, 0.0]  # the rule links head -> tail
    assert feats[:, col + 1].tolist() == [0.0, 1.0, 0.0, 0.0, 0.0, 0.0]  # ... tail -> head
    # the other features are those of the encoder without rule links
    assert np.array_equal(feats[:, :col], plain.pair_features(article.text, units, pairs))
    # labels decide the links: with T3 relabelled Claim, nothing links T3 -> T2
    relabelled = [u if u.id != "T3" else ArgUnit("T3", u.start, u.end, "Claim") for u in units]
    assert encoder.pair_features(article.text, relabelled, [(2, 1)])[0, col] == 0.0


def test_relations_clean_skips_bad_relations_once_with_the_article_id(caplog):
    article = _article(
        [
            ArgRelation("R1", "T2", "T1", "supports"),
            ArgRelation("R2", "T2", "T1", "attacks"),  # same pair again
            ArgRelation("R3", "T9", "T1", "supports"),  # missing head
            ArgRelation("R4", "T3", "T2", "rebuts"),  # unknown label
        ]
    )
    with caplog.at_level(logging.WARNING, logger="argmine.relations"):
        kept = clean_relations(article, RELS)
    assert [r.id for r in kept] == ["R1"]
    text = caplog.text
    assert "article a" in text and "duplicate" in text and "missing" in text
    assert "'rebuts'" in text
    assert len(caplog.records) == 3


def test_evaluate_relation_scores_exact_overlap_and_link():
    gold = _article(GOLD)
    # predicted units: T2 shifted by one character (overlap match, not exact)
    units = list(gold.units)
    units[1] = ArgUnit("T2", 10, 17, "Claim")
    pred = gold.with_annotations(
        [ArgUnit(f"P{u.id}", u.start, u.end, u.label) for u in units],
        [
            ArgRelation("X1", "PT2", "PT1", "supports"),  # right (overlap only)
            ArgRelation("X2", "PT3", "PT2", "attacks"),  # right pair, wrong label
            ArgRelation("X3", "PT5", "PT4", "supports"),  # right
        ],
    )
    scores = relation_scores([gold], [pred], labels=list(RELS))
    # overlap: tp 2 (X1, X3), fp 1 (X2), fn 2 (R2, R3) -> F1 = 2 / (2 + 1.5)
    assert scores["overlap"]["micro"]["f1"] == pytest.approx(2 / 3.5)
    # exact: T2 does not match, so X1 and X2 miss: tp 1, fp 2, fn 3 -> 1 / 3.5
    assert scores["exact"]["micro"]["f1"] == pytest.approx(1 / 3.5)
    # link (label ignored), overlap: tp 3, fp 0, fn 1 -> 3 / 3.5
    assert scores["overlap"]["link"]["f1"] == pytest.approx(3 / 3.5)


def test_evaluate_attachment_counts_every_ordered_pair():
    gold = _article(GOLD)
    pred = gold.with_annotations(
        gold.units,
        [ArgRelation("X1", "T2", "T1", "attacks"), ArgRelation("X2", "T1", "T5", "supports")],
    )
    scores = attachment_scores([gold], [pred])
    # 5 units -> 20 ordered pairs; gold attached 4. tp 1 (T2->T1, label ignored), fp 1, fn 3,
    # tn 15. attach F1 = 1 / (1 + 2) = 1/3; no-attach F1 = 15 / (15 + 2) = 15/17.
    assert (scores["tp"], scores["fp"], scores["fn"], scores["tn"]) == (1, 1, 3, 15)
    assert scores["attach_f1"] == pytest.approx(1 / 3)
    assert scores["macro_f1"] == pytest.approx((1 / 3 + 15 / 17) / 2)


def test_relations_labels_from_structure_follow_the_microtexts_roles():
    # T1 <- T2 <- T3 (supports), T4 attacks T2, T5 has no relation, T6 (a "Conclusion") -> T1
    units = [
        ArgUnit("T1", 0, 5, "Claim"),
        ArgUnit("T2", 6, 10, "Evidence"),
        ArgUnit("T3", 11, 15, "Evidence"),
        ArgUnit("T4", 16, 20, "Claim"),
        ArgUnit("T5", 21, 25, "Conclusion"),
        ArgUnit("T6", 26, 30, "Conclusion"),
    ]
    rels = [
        ArgRelation("R1", "T2", "T1", "supports"),
        ArgRelation("R2", "T3", "T2", "supports"),
        ArgRelation("R3", "T4", "T2", "attacks"),
        ArgRelation("R4", "T6", "T1", "supports"),
    ]
    got = [u.label for u in labels_from_structure(units, rels)]
    # root with incoming -> Conclusion; targeted inner -> Claim; untargeted leaves keep the
    # tagger's Evidence / Claim; a "Conclusion" that supports something -> Evidence; isolated
    # T5 keeps its label
    assert got == ["Conclusion", "Claim", "Evidence", "Claim", "Conclusion", "Evidence"]


# -- the rule bonus (relations.rule_bonus) -------------------------------------------------------
def _head_softmax_probs(n, pairs, attach_logits, root_logits, label_p):
    """Pair probabilities as argmine.inference.relation_probs builds them: per head unit a
    softmax over its candidate tails and "no parent", times the label split."""
    grid = np.full((n, n + 1), -1e4)
    for row, (i, j) in enumerate(pairs):
        grid[i, j] = attach_logits[row]
    grid[:, n] = root_logits
    soft = np.exp(grid - grid.max(axis=1, keepdims=True))
    soft /= soft.sum(axis=1, keepdims=True)
    attach = np.array([soft[i, j] for i, j in pairs])
    return np.column_stack([1 - attach, attach[:, None] * label_p])


def test_rule_bonus_equals_adding_it_to_the_attachment_logit_of_the_rule_links():
    from argmine.prelabel import rule_link_pairs
    from argmine.relations import with_rule_bonus

    article = _article()
    units = article.sorted_units()
    links = rule_link_pairs(units, paragraph_ids(TEXT, [u.start for u in units]))
    assert links  # Evidence -> Claim -> Conclusion: the rules link something here
    pairs = PairEncoder(LABELS, RELS, "all").pairs(TEXT, units)
    rng = np.random.default_rng(7)
    logits = rng.normal(size=len(pairs))
    roots = rng.normal(size=len(units))
    label_p = rng.dirichlet([1.0, 1.0], size=len(pairs))
    probs = _head_softmax_probs(len(units), pairs, logits, roots, label_p)
    for bonus in (0.5, 3.0):
        boosted = logits + np.array([bonus if p in links else 0.0 for p in pairs])
        want = _head_softmax_probs(len(units), pairs, boosted, roots, label_p)
        got = with_rule_bonus(TEXT, units, pairs, probs, bonus)
        np.testing.assert_allclose(got, want, atol=1e-9)
    np.testing.assert_array_equal(with_rule_bonus(TEXT, units, pairs, probs, 0.0), probs)
    # a larger bonus moves probability onto the rule links, off the other pairs
    strong = with_rule_bonus(TEXT, units, pairs, probs, 8.0)
    on_link = [r for r, p in enumerate(pairs) if p in links]
    off_link = [r for r, p in enumerate(pairs) if p not in links]
    assert (1 - strong[on_link, 0] > 1 - probs[on_link, 0]).all()
    assert (1 - strong[off_link, 0] <= 1 - probs[off_link, 0] + 1e-12).all()


def _tuning_case(gold_pairs):
    """One dev article whose head probabilities point every unit at the wrong target."""
    article = _article()
    units = article.sorted_units()
    gold = article.with_annotations(
        units,
        [
            ArgRelation(f"R{k + 1}", units[i].id, units[j].id, "supports")
            for k, (i, j) in enumerate(gold_pairs)
        ],
    )
    pairs = PairEncoder(LABELS, RELS, "all").pairs(TEXT, units)
    # the head prefers the unit two to the left (or the last one): neither is a rule link
    logits = [2.0 if (j == i - 2 or (i < 2 and j == len(units) - 1)) else 0.0 for i, j in pairs]
    label_p = np.tile([0.9, 0.1], (len(pairs), 1))
    probs = _head_softmax_probs(len(units), pairs, logits, np.zeros(len(units)), label_p)
    return gold, [(gold, units, pairs, probs)]


def test_tune_relation_decoding_picks_a_rule_bonus_only_where_the_rules_are_right():
    from argmine.train import tune_relation_decoding

    # gold = the rules' links: a bonus wins on dev
    gold, collected = _tuning_case([(1, 0), (2, 1), (3, 0), (4, 3)])
    _, _, bonus, info = tune_relation_decoding(
        [gold], collected, labels=RELS, modes=("one_parent",), bonuses=(0.0, 2.0, 8.0)
    )
    assert bonus > 0
    assert info["dev_relation_f1"] == 1.0
    assert max(info["grid"]["one_parent, rule bonus 0"].values()) < 1.0
    # gold = what the head prefers: no bonus
    gold, collected = _tuning_case([(2, 0), (3, 1), (4, 2), (0, 4)])
    _, _, bonus, info = tune_relation_decoding(
        [gold], collected, labels=RELS, modes=("one_parent",), bonuses=(0.0, 2.0, 8.0)
    )
    assert bonus == 0.0
    assert info["dev_relation_f1"] > 0.5


@pytest.mark.parametrize("value", ["auto", 0, 2.5, 50])
def test_relations_config_rule_bonus_accepts_auto_and_non_negative_numbers(value):
    from argmine.config import RelationsConfig

    assert RelationsConfig(rule_bonus=value).rule_bonus == value


@pytest.mark.parametrize("value", [-1, "strong", 51])
def test_relations_config_rule_bonus_rejects_other_values(value):
    from pydantic import ValidationError

    from argmine.config import RelationsConfig

    with pytest.raises(ValidationError):
        RelationsConfig(rule_bonus=value)
