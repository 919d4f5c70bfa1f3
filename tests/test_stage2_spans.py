"""The span second stage (argmine.stage2): candidates, features, targets, greedy decoding and
the saved model, on a hand-built article with hand-set tag probabilities (every expected value
below is worked out by hand from the table in ``_input``); one slow test fits a second stage on
the tiny model's predictions and tags with it through :class:`argmine.tag.Tagger`."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest

from argmine.document import ArgUnit, Article
from argmine.errors import ModelError
from argmine.prelabel import CueGroup, Lexicon
from argmine.segment import SegmenterConfig
from argmine.stage2 import (
    Candidate,
    Stage2Input,
    Stage2Model,
    candidates,
    decode,
    feature_names,
    fit,
    span_features,
    targets,
)

pytest.importorskip("lightgbm")

LABELS = ("Claim", "Evidence")
TEXT = "Taxes rise. We must act now.\n\nIt works well."
#          0    5    10   15   20   25  28  30   35   40  44
OFFSETS = [
    (0, 5),  # 0 Taxes
    (6, 10),  # 1 rise
    (10, 11),  # 2 .
    (12, 14),  # 3 We
    (15, 19),  # 4 must
    (20, 23),  # 5 act
    (24, 27),  # 6 now
    (27, 28),  # 7 .
    (30, 32),  # 8 It
    (33, 38),  # 9 works
    (39, 43),  # 10 well
    (43, 44),  # 11 .
]
#                 O    B-C   I-C   B-E  I-E
PROBS = np.array(
    [
        [0.9, 0.05, 0.05, 0.0, 0.0],
        [0.9, 0.05, 0.05, 0.0, 0.0],
        [0.9, 0.05, 0.05, 0.0, 0.0],
        [0.1, 0.8, 0.05, 0.05, 0.0],
        [0.1, 0.1, 0.7, 0.0, 0.1],
        [0.2, 0.0, 0.6, 0.0, 0.2],
        [0.3, 0.0, 0.5, 0.0, 0.2],
        [0.4, 0.0, 0.4, 0.0, 0.2],
        [0.5, 0.0, 0.1, 0.3, 0.1],
        [0.6, 0.0, 0.0, 0.1, 0.3],
        [0.6, 0.0, 0.0, 0.0, 0.4],
        [0.7, 0.0, 0.0, 0.0, 0.3],
    ]
)
RULES = [ArgUnit("R1", 12, 28, "Claim", 0.3), ArgUnit("R2", 30, 44, "Evidence", 0.6)]
UNIT_PROBS = np.array([[0.2, 0.7, 0.1], [0.5, 0.1, 0.4]])
VITERBI = [ArgUnit("V1", 12, 27, "Claim", 0.7)]
LEXICON = Lexicon(
    groups=(
        CueGroup("must", "Claim", 0.5, (re.compile(r"\bmust\b"),)),
        CueGroup("ending", "Claim", 0.5, (), where="last"),
    ),
    default_label=None,
)
GOLD = [ArgUnit("G1", 12, 28, "Claim"), ArgUnit("G2", 30, 44, "Evidence")]


def _input(article_id: str = "a1", *, unit_probs: bool = True) -> Stage2Input:
    article = Article(id=article_id, text=TEXT)
    return Stage2Input(article, PROBS, OFFSETS, RULES, UNIT_PROBS if unit_probs else None, VITERBI)


BIO_SEGMENTS = ("bio", "segments")


def _spans(cands):
    return [(c.start, c.end) for c in cands]


def test_stage2_candidates_runs_rules_and_viterbi() -> None:
    # threshold 0.45: Claim B+I >= .45 on tokens 3..6 ("We must act now"); any label (1 - O)
    # on tokens 3..8, split before token 8 where B (.3) beats I (.2): "We must act now." and
    # "It"; the rule units add "It works well."; the Viterbi unit equals the Claim run.
    cands = candidates(_input(), LABELS, thresholds=(0.45,), sources=BIO_SEGMENTS)
    assert _spans(cands) == [(12, 27), (12, 28), (30, 32), (30, 44)]
    by_span = {(c.start, c.end): c for c in cands}
    assert by_span[(12, 27)] == Candidate(12, 27, 3, 7, threshold=0.45, rule=-1, viterbi=True)
    assert by_span[(12, 28)] == Candidate(12, 28, 3, 8, threshold=0.45, rule=0, viterbi=False)
    assert by_span[(30, 32)] == Candidate(30, 32, 8, 9, threshold=0.45)
    assert by_span[(30, 44)] == Candidate(30, 44, 8, 12, threshold=0.0, rule=1)


@pytest.mark.parametrize(
    ("sources", "spans"),
    [
        (("bio",), [(12, 27), (12, 28), (30, 32)]),
        (("segments",), [(12, 28), (30, 44)]),
        # each sentence, and the two of the first paragraph joined
        (("sentences",), [(0, 11), (0, 28), (12, 28), (30, 44)]),
    ],
)
def test_stage2_candidates_by_source(sources, spans) -> None:
    assert _spans(candidates(_input(), LABELS, thresholds=(0.45,), sources=sources)) == spans


def test_stage2_candidates_sentences_also_trimmed() -> None:
    # "However," is a leading discourse marker of configs/lexicon.yaml: both versions
    text = "However, we must act now on this."
    inp = Stage2Input(Article(id="t", text=text), np.zeros((2, 3)), [(0, 7), (9, 33)])
    cands = candidates(inp, ["Claim"], sources=("sentences",))
    assert _spans(cands) == [(0, 33), (9, 33)]


def test_stage2_candidates_snap_to_words() -> None:
    # a run ending inside a word ("mu|st") grows to the whole word
    inp = Stage2Input(
        Article(id="w", text="We must go."),
        np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]),
        [(0, 2), (3, 5), (5, 7), (8, 10)],
    )
    assert _spans(candidates(inp, ["Claim"], thresholds=(0.5,), sources=("bio",))) == [(0, 7)]


def _features() -> dict[tuple[int, int], dict[str, float]]:
    cands = candidates(_input(), LABELS, thresholds=(0.45,), sources=BIO_SEGMENTS)
    x = span_features(_input(), cands, LABELS, lexicon=LEXICON, segmenter=SegmenterConfig())
    names = feature_names(LABELS, ["must", "ending"])
    assert x.shape == (len(cands), len(names))
    return {
        (c.start, c.end): dict(zip(names, row.tolist(), strict=True))
        for c, row in zip(cands, x, strict=True)
    }


def test_stage2_features_of_a_rule_unit_worked_by_hand() -> None:
    f = _features()[(12, 28)]  # tokens 3..7, exactly rule unit R1
    expected = {
        "Claim.mean": (0.85 + 0.8 + 0.6 + 0.5 + 0.4) / 5,
        "Claim.min": 0.4,
        "Claim.max": 0.85,
        "Claim.first_b": 0.8,
        "Claim.inner_b": 0.1,
        "Claim.before": 0.1,
        "Claim.after_i": 0.1,
        "Claim.unit": 0.7,
        "Claim.unit_rank": 0.0,  # .7 is the higher of the two rule units' .7 and .1
        "Claim.unit_prev": float("nan"),  # R1 is the first rule unit
        "Claim.unit_next": 0.1,  # R2's
        "Claim.rule": 1.0,
        "Claim.rule_prev": 0.0,
        "Claim.rule_next": 0.0,
        "Evidence.mean": (0.05 + 0.1 + 0.2 + 0.2 + 0.2) / 5,
        "Evidence.min": 0.05,
        "Evidence.max": 0.2,
        "Evidence.first_b": 0.05,
        "Evidence.inner_b": 0.0,
        "Evidence.before": 0.0,
        "Evidence.after_i": 0.1,
        "Evidence.unit": 0.1,
        "Evidence.unit_rank": 1.0,  # .1 below R2's .4
        "Evidence.unit_prev": float("nan"),
        "Evidence.unit_next": 0.4,
        "Evidence.rule": 0.0,
        "Evidence.rule_prev": 0.0,
        "Evidence.rule_next": 1.0,  # R2 is an Evidence by the rules
        "O.mean": (0.1 + 0.1 + 0.2 + 0.3 + 0.4) / 5,
        "O.max": 0.4,
        "O.before": 0.9,
        "O.after": 0.5,
        "B.first": 0.85,
        "B.inner": 0.1,
        "unit.none": 0.2,
        "rule.iou": 1.0,
        "rule.score": 0.3,
        "rule.exact": 1.0,
        "viterbi.iou": 15 / 16,
        "viterbi.exact": 0.0,
        "cand.threshold": 0.45,
        "len.words": 4.0,
        "len.tokens": 5.0,
        "pos.start": 12 / 44,
        "pos.end": 28 / 44,
        "para.index": 0.0,
        "para.first": 1.0,
        "para.last": 0.0,
        "para.pos": 12 / 28,
        "para.starts": 0.0,
        "para.ends": 1.0,
        "seg.starts": 1.0,
        "seg.ends": 1.0,
        "seg.count": 1.0,
        "text.upper": 1.0,
        "text.end_punct": 1.0,
        "text.prev": 1.0,
        "cue.must": 1.0,
        "cue.ending": 0.0,
    }
    assert set(f) == set(expected)
    for name, value in expected.items():
        assert f[name] == pytest.approx(value, abs=1e-6, nan_ok=True), name


def test_stage2_features_at_the_end_of_the_article() -> None:
    f = _features()[(30, 44)]  # tokens 8..11, rule unit R2, last paragraph
    assert f["Evidence.mean"] == pytest.approx((0.4 + 0.4 + 0.4 + 0.3) / 4)
    assert f["Evidence.first_b"] == pytest.approx(0.3)
    assert f["Evidence.inner_b"] == pytest.approx(0.1)
    assert f["Evidence.before"] == pytest.approx(0.2)
    assert f["Evidence.after_i"] == 0.0  # no token after the last
    assert f["O.after"] == 1.0
    assert f["Evidence.unit"] == pytest.approx(0.4)
    assert f["unit.none"] == pytest.approx(0.5)
    assert f["Evidence.rule"] == 1.0
    assert (f["Claim.rule_prev"], f["Evidence.rule_prev"]) == (1.0, 0.0)  # R1 before it
    assert f["Evidence.unit_prev"] == pytest.approx(0.1)
    assert np.isnan(f["Evidence.unit_next"])
    assert f["Evidence.unit_rank"] == 0.0
    assert f["rule.score"] == pytest.approx(0.6)
    assert (f["para.index"], f["para.first"], f["para.last"]) == (1.0, 0.0, 1.0)
    assert f["text.prev"] == 0.0  # after a line break
    assert (f["cue.must"], f["cue.ending"]) == (0.0, 1.0)
    # "It": the rule unit overlapping it most is R2 (IoU 2/14), not its own span
    g = _features()[(30, 32)]
    assert g["rule.iou"] == pytest.approx(2 / 14)
    assert g["rule.exact"] == 0.0
    assert g["Evidence.unit"] == pytest.approx(0.4)
    assert g["len.words"] == 1.0


def test_stage2_features_missing_unit_head_is_nan() -> None:
    cands = candidates(_input(unit_probs=False), LABELS, thresholds=(0.45,), sources=BIO_SEGMENTS)
    x = span_features(
        _input(unit_probs=False), cands, LABELS, lexicon=LEXICON, segmenter=SegmenterConfig()
    )
    names = feature_names(LABELS, ["must", "ending"])
    for name in ("Claim.unit", "Evidence.unit_rank", "Claim.unit_next", "unit.none"):
        assert np.isnan(x[:, names.index(name)]).all()
    assert x[:, names.index("rule.score")].tolist() == pytest.approx([0.3, 0.3, 0.6, 0.6])


@pytest.mark.parametrize(
    ("target", "expected"),
    [("overlap", [1, 1, 0, 2]), ("best", [0, 1, 0, 2])],
)
def test_stage2_targets(target, expected) -> None:
    # (12,27) overlap-matches G1 (15 of 16 chars) but G1's best candidate is (12,28) itself;
    # "It" covers 2 of G2's 14 chars: no match
    cands = candidates(_input(), LABELS, thresholds=(0.45,), sources=BIO_SEGMENTS)
    assert targets(cands, GOLD, LABELS, target=target).tolist() == expected


CANDS = [
    Candidate(12, 27, 3, 7),
    Candidate(12, 28, 3, 8),
    Candidate(30, 32, 8, 9),
    Candidate(30, 44, 8, 12),
]
CLASS_PROBS = np.array(
    [
        [0.2, 0.7, 0.1],
        [0.1, 0.8, 0.1],
        [0.3, 0.1, 0.6],
        [0.4, 0.05, 0.55],
    ]
)


@pytest.mark.parametrize(
    ("thresholds", "min_words", "expected"),
    [
        # greedy by probability: (12,28) .8 beats (12,27) .7; "It" .6 beats (30,44) .55
        (None, 0, [(12, 28, "Claim", 0.8), (30, 32, "Evidence", 0.6)]),
        # "It" is one word: (30,44) takes its place
        (None, {"Evidence": 2}, [(12, 28, "Claim", 0.8), (30, 44, "Evidence", 0.55)]),
        # thresholds: Claim .75 keeps (12,28) only; Evidence .58 keeps "It" only
        ({"Claim": 0.75, "Evidence": 0.58}, 0, [(12, 28, "Claim", 0.8), (30, 32, "Evidence", 0.6)]),
        ({"Claim": 0.85, "Evidence": 0.5}, 2, [(30, 44, "Evidence", 0.55)]),
    ],
)
def test_stage2_decode_greedy(thresholds, min_words, expected) -> None:
    article = Article(id="a1", text=TEXT)
    units = decode(article, CANDS, CLASS_PROBS, LABELS, thresholds=thresholds, min_words=min_words)
    assert [(u.start, u.end, u.label, round(u.score, 6)) for u in units] == expected
    assert [u.id for u in units] == [f"T{i}" for i in range(1, len(units) + 1)]


def test_stage2_decode_drops_none() -> None:
    article = Article(id="a1", text=TEXT)
    probs = np.array([[0.8, 0.1, 0.1], [0.6, 0.3, 0.1], [0.3, 0.1, 0.6], [0.9, 0.05, 0.05]])
    units = decode(article, CANDS, probs, LABELS)  # no thresholds: a label must beat none
    assert [(u.start, u.end) for u in units] == [(30, 32)]


def _gold_article(article_id: str) -> Article:
    return Article(id=article_id, text=TEXT, units=GOLD)


def _fitted() -> tuple[Stage2Model, list[Stage2Input]]:
    inputs = [_input(f"a{i}") for i in range(4)]
    model = fit(
        [_gold_article(f"a{i}") for i in range(4)],
        inputs,
        LABELS,
        candidate_thresholds=(0.45,),
        sources=BIO_SEGMENTS,
        folds=2,
        trees=5,
        min_data=1,
    )
    assert model is not None
    return model, inputs


def test_stage2_fit_reports_out_of_fold_scores() -> None:
    model, _ = _fitted()
    r = model.report
    assert (r["articles"], r["folds"], r["candidates"]) == (4, 2, 16)
    assert r["positives"] == 8  # target "best": (12,28) and (30,44) in each article
    assert r["candidate_recall"] == {"gold_units": 8, "exact": 1.0, "overlap": 1.0}
    assert set(model.thresholds) == set(LABELS)


def test_stage2_fit_needs_two_articles(caplog) -> None:
    assert fit([_gold_article("a0")], [_input("a0")], LABELS) is None
    assert "too little to fit on" in caplog.text


def test_stage2_save_load_round_trip(tmp_path) -> None:
    model, inputs = _fitted()
    model.thresholds = {"Claim": 0.2, "Evidence": 0.25}
    model.min_words = {"Claim": 2, "Evidence": 0}
    model.save(tmp_path)
    loaded = Stage2Model.load(tmp_path)
    assert loaded is not None
    assert loaded.meta() == model.meta()
    for inp in inputs:
        _, p = model.class_probs(inp)
        _, q = loaded.class_probs(inp)
        np.testing.assert_allclose(p, q, rtol=0, atol=1e-12)
        assert loaded.predict_units(inp) == model.predict_units(inp)
    assert Stage2Model.load(tmp_path / "nowhere") is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: {**m, "format_version": 99}, "not a stage2 file"),
        (lambda m: {**m, "features": m["features"][:-1]}, "features but"),
        (lambda m: {k: v for k, v in m.items() if k != "thresholds"}, "bad second stage"),
    ],
)
def test_stage2_load_refuses_a_bad_file(tmp_path, change, message) -> None:
    model, _ = _fitted()
    model.save(tmp_path)
    meta = json.loads((tmp_path / "stage2.json").read_text())
    (tmp_path / "stage2.json").write_text(json.dumps(change(meta)))
    with pytest.raises(ModelError, match=message):
        Stage2Model.load(tmp_path)


@pytest.mark.slow
def test_stage2_tiny_model_fit_and_tag(tiny_model, tmp_path, repo_root) -> None:
    """Fit a second stage on the tiny model's predictions with ``argmine train``'s own helper,
    save it in (a copy of) the model dir, and tag through Tagger: the units are the stage's."""
    from argmine.config import load_run_config
    from argmine.corpora.labelstudio import load_export
    from argmine.inference import stage2_inputs
    from argmine.tag import Tagger
    from argmine.train import _fit_stage2

    model_dir = tmp_path / "model"
    shutil.copytree(tiny_model, model_dir, ignore=shutil.ignore_patterns("checkpoints"))
    tagger = Tagger.load(model_dir)
    assert tagger.stage2 is None and tagger.unit_source == tagger.spec.unit_mode
    gold = load_export(repo_root / "annotations" / "starter.json")[:6]
    config = load_run_config(
        repo_root / "configs" / "tiny.yaml",
        overrides=["stage2.enabled=true", "stage2.keep=always", "stage2.min_data=2"],
    )
    labels = list(tagger.spec.labels)
    metrics = {"dev": {"overlap": {"micro": {"f1": 0.0}}}}
    fitted = _fit_stage2(
        config, tagger.network, tagger.codec, tagger.encoder, gold, labels, labels, metrics
    )
    assert fitted is not None and fitted.active
    assert metrics["stage2"]["fitted"] and metrics["stage2"]["articles"] == 6
    fitted.save(model_dir)

    tagger = Tagger.load(model_dir)
    assert tagger.stage2 is not None and tagger.unit_source == "stage2"
    bare = [a.with_annotations([], []) for a in gold]
    tagged = tagger.predict(bare, thresholds=False, relations=False)
    inputs = stage2_inputs(tagger.network, tagger.codec, bare, encoder=tagger.encoder)
    direct = [tagger.stage2.predict_units(inp, thresholds=False) for inp in inputs]
    assert [a.units for a in tagged] == direct
    assert sum(len(u) for u in direct) > 0  # fitted on these very articles: it finds units
    spans = [{(c.start, c.end) for c in tagger.stage2.class_probs(inp)[0]} for inp in inputs]
    assert all((u.start, u.end) in s for a, s in zip(tagged, spans, strict=True) for u in a.units)


def test_stage2_config_defaults_are_the_library_defaults() -> None:
    """``stage2: {enabled: true}`` in a run config fits what ``argmine.stage2.fit`` fits."""
    import inspect

    from argmine.config import Stage2Config

    config = Stage2Config()
    params = inspect.signature(fit).parameters
    for name in ("target", "folds", "trees", "num_leaves", "learning_rate", "min_data"):
        assert getattr(config, name) == params[name].default, name
    assert tuple(config.sources) == params["sources"].default
    assert tuple(config.candidate_thresholds) == params["candidate_thresholds"].default
    assert config.enabled is False
