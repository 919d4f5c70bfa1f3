"""Span-level ensembling: overlap-group voting over several models' units (built by hand) and
averaged relation probabilities; then real ensembles of tiny model dirs through the tag API and
the CLI."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from argmine.document import ArgUnit
from argmine.fusion import fuse_units, mean_pair_probs


def U(start: int, end: int, label: str = "Claim", score: float | None = 0.8, uid: str = "x"):
    return ArgUnit(uid, start, end, label, score)


def spans(units):
    return [(u.start, u.end, u.label) for u in units]


def test_fusion_units_all_models_agree_gives_their_unit_with_the_mean_score():
    fused = fuse_units([[U(0, 10, score=0.6)], [U(0, 10, score=0.8)]])
    assert spans(fused) == [(0, 10, "Claim")]
    assert fused[0].score == pytest.approx(0.7)
    assert fused[0].id == "T1"


@pytest.mark.parametrize(("min_share", "kept"), [(0.5, True), (1.0, False)])
def test_fusion_units_a_unit_one_of_two_models_finds_needs_half_the_weight(min_share, kept):
    a = [U(0, 10), U(20, 30, "Evidence", 0.9)]
    b = [U(0, 10)]
    fused = fuse_units([a, b], min_share=min_share)
    assert ((20, 30, "Evidence") in spans(fused)) is kept
    assert (0, 10, "Claim") in spans(fused)
    if kept:  # a model that misses the unit counts as probability 0
        assert next(u for u in fused if u.start == 20).score == pytest.approx(0.45)


def test_fusion_units_three_models_vote_span_and_label_by_majority():
    # two models agree on (0, 20) as Evidence; the most confident one says (2, 20) Claim
    fused = fuse_units(
        [[U(2, 20, "Claim", 0.95)], [U(0, 20, "Evidence", 0.7)], [U(0, 20, "Evidence", 0.6)]]
    )
    assert spans(fused) == [(0, 20, "Evidence")]
    assert fused[0].score == pytest.approx((0.7 + 0.6) / 3)


def test_fusion_units_one_of_three_is_not_enough_and_weights_count():
    one = [[U(0, 10)], [], []]
    assert fuse_units(one) == []
    assert spans(fuse_units(one, weights=[2.0, 0.5, 0.5])) == [(0, 10, "Claim")]


def test_fusion_units_groups_match_by_the_overlap_criterion_not_any_overlap():
    # (0, 10) and (6, 30) overlap by 4 characters: under half of each, so two groups; both
    # are kept by their own model's vote, and the overlap goes to the more confident one
    fused = fuse_units([[U(0, 10, score=0.9)], [U(6, 30, score=0.5)]])
    assert spans(fused) == [(0, 10, "Claim")]
    # a model's own units never share a group: two neighbours from one model stay apart
    fused = fuse_units([[U(0, 10), U(11, 20)], [U(0, 10), U(11, 20)]])
    assert spans(fused) == [(0, 10, "Claim"), (11, 20, "Claim")]
    assert [u.id for u in fused] == ["T1", "T2"]


def test_fusion_units_gold_like_units_without_scores_count_as_one():
    fused = fuse_units([[U(0, 5, score=None)], [U(0, 5, score=None)]])
    assert fused[0].score == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_share": 0.0}, "min_share"),
        ({"min_share": 1.5}, "min_share"),
        ({"weights": [1.0]}, "1 weights for 2 models"),
        ({"weights": [1.0, 0.0]}, "positive"),
    ],
)
def test_fusion_units_rejects_bad_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        fuse_units([[U(0, 5)], [U(0, 5)]], **kwargs)


def test_fusion_pair_probs_average_with_a_missing_pair_as_none():
    p1 = np.array([[0.2, 0.6, 0.2], [0.9, 0.1, 0.0]])
    p2 = np.array([[0.4, 0.4, 0.2]])
    pairs, probs = mean_pair_probs([[(0, 1), (1, 0)], [(0, 1)]], [p1, p2])
    assert pairs == [(0, 1), (1, 0)]
    np.testing.assert_allclose(probs[0], [0.3, 0.5, 0.2])
    np.testing.assert_allclose(probs[1], [0.95, 0.05, 0.0])  # model 2: "none" for (1, 0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    _, weighted = mean_pair_probs([[(0, 1)], [(0, 1)]], [p1[:1], p2], weights=[3.0, 1.0])
    np.testing.assert_allclose(weighted[0], [0.25, 0.55, 0.2])


def test_fusion_pair_probs_rejects_rows_that_do_not_match_pairs():
    with pytest.raises(ValueError, match="2 pairs but 1 probability rows"):
        mean_pair_probs([[(0, 1), (1, 0)]], [np.array([[1.0, 0.0, 0.0]])])


# -- real model dirs -------------------------------------------------------------------------
def _copy(model, dest, **relations):
    shutil.copytree(model, dest, ignore=shutil.ignore_patterns("checkpoints"))
    spec = json.loads((dest / "argmine.json").read_text())
    if relations:
        spec["relations"].update(relations)
    (dest / "argmine.json").write_text(json.dumps(spec))
    return dest


def _articles(repo_root, n=4):
    from argmine.corpora import load_corpus

    gold = load_corpus("labelstudio", repo_root / "annotations" / "starter.json")[:n]
    return gold


def _with_ranker(model, repo_root, mix=0.25):
    """``model`` with a pair ranker (fitted on starter pieces) at the head's share ``mix``."""
    from argmine.corpora import load_corpus
    from argmine.pair_ranker import PairRanker

    gold = load_corpus("labelstudio", repo_root / "annotations" / "starter.json")[10:30]
    PairRanker.fit(gold, relation_labels=("supports", "attacks")).save(model)
    spec = json.loads((model / "argmine.json").read_text())
    spec["relations"]["ranker_mix"] = mix
    (model / "argmine.json").write_text(json.dumps(spec))
    return model


@pytest.mark.slow
@pytest.mark.parametrize(
    ("bonus", "ranker"),
    [(None, False), (40.0, False), (None, True)],
    ids=["plain", "rule_bonus", "ranker"],
)
def test_ensemble_of_a_model_with_itself_tags_as_the_model(
    tiny_model, repo_root, tmp_path, bonus, ranker
):
    """Two copies of one model dir: every unit is found by both with the same score, and the
    averaged relation probabilities are the model's own (each member's rule bonus and pair
    ranker applied), so the ensemble tags as the model."""
    from argmine.tag import Ensemble, Tagger

    gold = _articles(repo_root)
    bare = [a.with_annotations([]) for a in gold]
    extra = {"rule_bonus": bonus, "decoding": "independent", "threshold": 0.9} if bonus else {}
    model = _copy(tiny_model, tmp_path / "model", **extra)
    twin = _copy(tiny_model, tmp_path / "twin", **extra)
    if ranker:
        head_alone = Tagger.load(model).predict(gold, units="gold")
        model, twin = _with_ranker(model, repo_root), _with_ranker(twin, repo_root)
        with_ranker = Tagger.load(model).predict(gold, units="gold")
        assert [sorted((r.head, r.tail) for r in a.relations) for a in with_ranker] != [
            sorted((r.head, r.tail) for r in a.relations) for a in head_alone
        ]
    tiny_model = model
    single = Tagger.load(tiny_model).predict(bare)
    ensemble = Ensemble.load([tiny_model, twin])
    fused = ensemble.predict(bare)
    name = Tagger.load(tiny_model).name
    assert ensemble.name == f"{name}+{name}"
    assert sum(len(a.units) for a in single) > 0
    for s, f in zip(single, fused, strict=True):
        assert spans(f.sorted_units()) == spans(s.sorted_units())
        for us, uf in zip(s.sorted_units(), f.sorted_units(), strict=True):
            assert uf.score == pytest.approx(us.score, abs=1e-5)
        assert {(r.head, r.tail, r.label) for r in f.relations} == {
            (r.head, r.tail, r.label) for r in s.relations
        }
        assert f.meta["model"] == ensemble.name
    given_single = Tagger.load(tiny_model).predict(gold, units="gold")
    given = ensemble.predict(gold, units="gold")
    for s, f in zip(given_single, given, strict=True):
        assert [u.span for u in f.sorted_units()] == [u.span for u in s.sorted_units()]
        got = {(r.head, r.tail, r.label): r.score for r in f.relations}
        want = {(r.head, r.tail, r.label): r.score for r in s.relations}
        assert got.keys() == want.keys()
        for key, score in want.items():
            assert got[key] == pytest.approx(score, abs=1e-5)


@pytest.mark.slow
def test_ensemble_votes_between_a_strict_and_a_lenient_copy(tiny_model, repo_root, tmp_path):
    """A copy with every threshold at 0 finds more units than the model; with two models half
    the weight (one model) keeps a unit, so the ensemble gives the lenient copy's units, and
    all of the weight (both) gives the strict model's."""
    from argmine.tag import Ensemble, Tagger

    bare = [a.with_annotations([]) for a in _articles(repo_root)]
    lenient = _copy(tiny_model, tmp_path / "lenient")
    spec = json.loads((lenient / "argmine.json").read_text())
    spec["thresholds"] = {k: 0.0 for k in spec["thresholds"]}
    spec["min_words"] = {k: 0 for k in spec["min_words"]}
    (lenient / "argmine.json").write_text(json.dumps(spec))
    strict_units = [spans(a.sorted_units()) for a in Tagger.load(tiny_model).predict(bare)]
    lenient_units = [spans(a.sorted_units()) for a in Tagger.load(lenient).predict(bare)]
    assert sum(map(len, lenient_units)) > sum(map(len, strict_units))  # the copies differ
    union = Ensemble.load([tiny_model, lenient], min_share=0.5).predict(bare, relations=False)
    both = Ensemble.load([tiny_model, lenient], min_share=1.0).predict(bare, relations=False)
    assert [spans(a.sorted_units()) for a in union] == lenient_units
    assert [spans(a.sorted_units()) for a in both] == strict_units


@pytest.mark.slow
def test_ensemble_cli_tags_and_evaluates_with_two_models(tiny_model, repo_root, tmp_path):
    from typer.testing import CliRunner

    from argmine.cli import app
    from argmine.document import loads_article

    twin = _copy(tiny_model, tmp_path / "twin")
    text = tmp_path / "piece.txt"
    text.write_text(
        "The council must act now. Figures show costs rose by 20 percent last year.\n\n"
        "However, critics say the plan costs too much. So the budget must pass.\n"
    )
    out = tmp_path / "tagged.jsonl"
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "tag",
            str(text),
            "-o",
            str(out),
            "-m",
            str(tiny_model),
            "--ensemble",
            str(twin),
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, (result.output, result.exception)
    (article,) = [loads_article(line) for line in out.read_text().splitlines()]
    name = json.loads((tiny_model / "argmine.json").read_text())["run"]
    assert article.meta["model"] == f"{name}+{name}"
    scores_path = tmp_path / "scores.json"
    gold = repo_root / "annotations" / "starter.json"
    result = runner.invoke(
        app,
        ["evaluate", str(tiny_model), str(gold), "--ensemble", str(twin), "-o", str(scores_path)],
    )
    assert result.exit_code == 0, (result.output, result.exception)
    scores = json.loads(scores_path.read_text())
    assert scores["ensemble"] == [str(tiny_model), str(twin)]
    assert scores["articles"] == 40


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--min-share", "0.7"], "--min-share needs --ensemble"),
        (["--ensemble", "{model}", "--engine", "ray"], "--engine local only"),
    ],
)
def test_ensemble_cli_rejects_bad_combinations(tmp_path, extra, message):
    from typer.testing import CliRunner

    from argmine.cli import app

    text = tmp_path / "a.txt"
    text.write_text("The council must act now.\n")
    args = [a.format(model=tmp_path) for a in extra]
    result = CliRunner().invoke(app, ["tag", str(text), "-o", str(tmp_path / "o.jsonl"), *args])
    assert result.exit_code == 1
    assert message in result.output
    assert not (tmp_path / "o.jsonl").exists()


def _member(path, labels, relation_labels=("supports", "attacks")):
    """What Ensemble reads of a loaded Tagger, for the checks that need no weights."""
    from types import SimpleNamespace

    return SimpleNamespace(
        model_dir=path,
        spec=SimpleNamespace(labels=tuple(labels)),
        has_relations=True,
        encoder=SimpleNamespace(relation_labels=tuple(relation_labels)),
    )


@pytest.mark.parametrize(
    ("other", "message"),
    [
        (("Claim", "Evidence"), "labels \\['Claim', 'Evidence'\\] differ from a's"),
        (("Claim", "Evidence", "Conclusion"), "relation labels \\['supports'\\] differ"),
    ],
)
def test_ensemble_of_models_with_other_labels_fails_in_one_line(other, message):
    from argmine.errors import ModelError
    from argmine.tag import Ensemble

    first = _member("a", ("Claim", "Evidence", "Conclusion"))
    second = _member("b", other, relation_labels=("supports",))
    with pytest.raises(ModelError, match=message) as info:
        Ensemble([first, second])
    assert "\n" not in str(info.value)
    Ensemble([first, _member("c", first.spec.labels)])  # same labels: fine


def test_ensemble_needs_two_models():
    from argmine.tag import Ensemble

    with pytest.raises(ValueError, match="at least two"):
        Ensemble([])
