"""Tagger: loading a model dir, batched inference, thresholds, errors (tiny trained model)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from argmine.document import Article
from argmine.errors import ModelError
from argmine.tag import Tagger, evaluate_model, resolve_model_dir

pytestmark = pytest.mark.slow


def _articles() -> list[Article]:
    """Articles of very different lengths (the longest needs several windows)."""
    long = " ".join(
        f"In {1990 + i} the council said the plan would fail, and critics agreed that it was "
        f"costly & slow."
        for i in range(40)
    )
    return [
        Article(id="short", text="Clearly, this is wrong."),
        Article(id="long", text=long),
        Article(id="mid", text="Experts argue the data show a rise. " * 8),
        Article(id="html", text='He wrote <script>alert("x")</script> & left.'),
    ]


@pytest.fixture(scope="module")
def tagger(tiny_model) -> Tagger:
    return Tagger.load(tiny_model, threads=1)


def test_tag_predict_units_are_valid_slices(tagger):
    articles = _articles()
    tagged = tagger.predict(articles, batch_size=3, thresholds=False, viterbi=False)
    assert [a.id for a in tagged] == [a.id for a in articles]
    assert any(a.units for a in tagged), "the tiny model should predict some spans"
    for source, article in zip(articles, tagged, strict=True):
        assert article.text == source.text
        assert article.meta["model"] == tagger.name
        assert not article.problems(), article.problems()
        ends = [u.end for u in article.sorted_units()]
        starts = [u.start for u in article.sorted_units()]
        assert all(s >= e for s, e in zip(starts[1:], ends, strict=False)), "overlap"
        for unit in article.units:
            assert 0.0 <= unit.score <= 1.0
            assert unit.label in tagger.spec.labels
            assert article.unit_text(unit).strip()


def test_tag_long_article_uses_several_windows(tagger):
    article = _articles()[1]
    windows = tagger.codec.encode(article, with_labels=False)
    assert len(windows) > 2
    ((_, probs),) = tagger.window_probs([article])
    assert len(probs) == len(windows)
    for window, p in zip(windows, probs, strict=True):
        assert p.shape == (len(window["input_ids"]), len(tagger.spec.tags))
        np.testing.assert_allclose(p.sum(-1), 1.0, atol=1e-5)


@pytest.mark.parametrize("batch_size", [1, 2, 7, 64])
def test_tag_predict_does_not_depend_on_batching(tagger, batch_size):
    """Length-sorted, padded batches give the probabilities of one window at a time."""
    articles = _articles()
    reference = tagger.window_probs(articles, batch_size=1)
    got = tagger.window_probs(list(reversed(articles)), batch_size=batch_size)[::-1]
    for (_, ref_probs), (_, probs) in zip(reference, got, strict=True):
        for a, b in zip(ref_probs, probs, strict=True):
            np.testing.assert_allclose(a, b, atol=1e-4)


def test_tag_longest_stitch_matches_the_transformers_pipeline(tagger, tiny_model):
    """With thresholds, Viterbi and trimming off and ``stitch="longest"``, argmine decodes the
    same argmax to the same spans as ``pipeline("token-classification",
    aggregation_strategy="simple")`` given the same window length and stride (the identity
    check of benchmarks/speed.py, here on a real, multi-window run)."""
    from transformers import AutoModelForTokenClassification, AutoTokenizer, pipeline

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    tokenizer.model_max_length = tagger.spec.max_length
    pipe = pipeline(
        "token-classification",
        model=AutoModelForTokenClassification.from_pretrained(tiny_model).eval(),
        tokenizer=tokenizer,
        aggregation_strategy="simple",
        stride=tagger.spec.stride,
        device=-1,
    )
    articles = _articles()
    assert len(tagger.codec.encode(articles[1], with_labels=False)) > 2
    ours = tagger.predict(articles, thresholds=False, viterbi=False, trim=False, stitch="longest")
    owned = tagger.predict(articles, thresholds=False, viterbi=False, trim=False)
    n_spans = 0
    for article, tagged, theirs in zip(
        articles, ours, pipe([a.text for a in articles]), strict=True
    ):
        expected = {(int(e["start"]), int(e["end"]), e["entity_group"]) for e in theirs}
        assert {(u.start, u.end, u.label) for u in tagged.units} == expected, article.id
        n_spans += len(expected)
    assert n_spans > 0, "the tiny model should predict some spans"
    # away from window overlaps both stitchings agree; in them they may not
    assert {(u.start, u.end) for u in ours[0].units} == {(u.start, u.end) for u in owned[0].units}


def _with_spec(tiny_model, tmp_path, **changes):
    copy = tmp_path / "model"
    shutil.copytree(tiny_model, copy, ignore=shutil.ignore_patterns("checkpoints"))
    spec = json.loads((copy / "argmine.json").read_text())
    spec.update(changes)
    (copy / "argmine.json").write_text(json.dumps(spec))
    return copy


def test_tag_thresholds_and_min_words_from_model_dir(tiny_model, tmp_path):
    labels = json.loads((tiny_model / "argmine.json").read_text())["labels"]
    articles = _articles()
    plain = Tagger.load(_with_spec(tiny_model, tmp_path / "a", thresholds={}, min_words={}))
    base = plain.predict(articles)
    assert any(a.units for a in base)
    strict = Tagger.load(
        _with_spec(tiny_model, tmp_path / "b", thresholds=dict.fromkeys(labels, 1.0))
    )
    assert not any(a.units for a in strict.predict(articles))
    off = strict.predict(articles, thresholds=False)
    assert [a.units for a in off] == [a.units for a in base]
    wordy = Tagger.load(_with_spec(tiny_model, tmp_path / "c", min_words=dict.fromkeys(labels, 3)))
    for article in wordy.predict(articles):
        assert all(len(article.unit_text(u).split()) >= 3 for u in article.units)


@pytest.mark.parametrize(
    ("break_it", "message"),
    [
        (lambda d: (d / "argmine.json").unlink(), "not a model directory"),
        (lambda d: (d / "model.safetensors").unlink(), "model.safetensors"),
        (
            lambda d: (d / "argmine.json").write_text(
                json.dumps(
                    {**json.loads((d / "argmine.json").read_text()), "labels": ["X"], "tags": []}
                )
            ),
            "do not match",
        ),
    ],
)
def test_tag_load_rejects_broken_model_dirs(tiny_model, tmp_path, break_it, message):
    copy = _with_spec(tiny_model, tmp_path)
    break_it(copy)
    with pytest.raises(ModelError, match=message):
        Tagger.load(copy)


def test_tag_without_model_says_how_to_train(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelError, match=r"argmine train configs/default\.yaml"):
        resolve_model_dir(None)
    with pytest.raises(ModelError, match="not found"):
        resolve_model_dir(tmp_path / "nope")


def test_tag_evaluate_model_perfect_when_gold_is_its_own_output(tiny_model):
    tagger = Tagger.load(tiny_model)
    gold = [a for a in tagger.predict(_articles()) if a.units]
    assert gold
    scores = evaluate_model(tiny_model, gold)
    assert scores["exact"]["micro"]["f1"] == pytest.approx(1.0)
    assert scores["overlap"]["micro"]["f1"] == pytest.approx(1.0)


def test_tag_predict_rejects_unknown_stitch_before_running_the_model(tagger, monkeypatch):
    def no_forward(*args, **kwargs):
        raise AssertionError("the model ran before the argument was checked")

    monkeypatch.setattr(tagger, "window_probs", no_forward)
    with pytest.raises(ValueError, match="stitch must be one of owned, longest"):
        tagger.predict(_articles(), stitch="middle")


def test_predictions_switch_the_heads_dropout_off_while_the_model_is_training(tiny_model):
    """Training scores dev and test, and tunes thresholds and decoding, while the Trainer
    holds the model in training mode: the unit and relation heads' dropout must be off for
    every prediction (same scores twice, equal to eval mode's) and the mode restored after."""
    from argmine.inference import predict_articles
    from argmine.tag import load_gold
    from conftest import REPO

    t = Tagger.load(tiny_model)
    assert t.network.relation_head is not None
    articles = [
        a.with_annotations([], []) for a in load_gold(REPO / "annotations" / "starter.json")[:6]
    ]

    def run(units: str) -> list:
        out = predict_articles(
            t.network,
            t.codec,
            articles if units != "gold" else load_gold(REPO / "annotations" / "starter.json")[:6],
            units=units,
            encoder=t.encoder,
            decoding="independent",
            relation_threshold=0.0,
            pad_id=t.pad_id,
        )
        return [
            (
                [
                    (u.start, u.end, u.label, None if u.score is None else round(u.score, 6))
                    for u in a.units
                ],
                [(r.head, r.tail, r.label, round(r.score, 6)) for r in a.relations],
            )
            for a in out
        ]

    for units in ("bio", "gold"):
        t.network.eval()
        want = run(units)
        assert any(rels for _, rels in want)  # relations were scored
        t.network.train()
        for _ in range(2):
            assert run(units) == want, units
            assert t.network.training  # the caller's mode is back


def test_tag_relation_pairs_scored_in_blocks_give_the_same_relations(
    tagger, reference_path, monkeypatch
):
    """The relation head scores an article's candidate pairs in blocks (memory flat in the
    number of units): blocks of 3 pairs give the relations and scores of one block."""
    import argmine.inference as inference

    article = Article(id="ref", text=reference_path.read_text(encoding="utf-8"))
    monkeypatch.setattr(inference, "PAIR_BLOCK", 1_000_000)
    whole = tagger.predict([article])[0]
    n = len(whole.units)
    assert n * (n - 1) > 3 and whole.relations  # many pairs, some relations
    monkeypatch.setattr(inference, "PAIR_BLOCK", 3)
    blocks = tagger.predict([article])[0]
    assert [(r.head, r.tail, r.label) for r in blocks.relations] == [
        (r.head, r.tail, r.label) for r in whole.relations
    ]
    assert [r.score for r in blocks.relations] == pytest.approx(
        [r.score for r in whole.relations], abs=1e-6
    )


def test_forward_cache_runs_each_article_once_and_changes_no_prediction(tiny_model):
    """``argmine train`` scores the same dev articles several ways with the same weights
    (BIO units, segment units, gold units with relations; some of them, or all): with a
    ForwardCache the model runs once per article, and every prediction equals the one without
    the cache."""
    from argmine.inference import ForwardCache, predict_articles
    from argmine.tag import load_gold
    from conftest import REPO

    t = Tagger.load(tiny_model)
    gold = load_gold(REPO / "annotations" / "starter.json")[:5]
    bare = [a.with_annotations([], []) for a in gold]
    runs: list[int] = []
    encode = t.network.encode

    def counting(ids, mask):
        runs.append(int(ids.shape[0]))
        return encode(ids, mask)

    t.network.encode = counting

    def predict(cache, articles, units):
        out = predict_articles(
            t.network, t.codec, articles, units=units, encoder=t.encoder,
            decoding="independent", relation_threshold=0.0, pad_id=t.pad_id, cache=cache,
        )  # fmt: skip
        return [
            (
                [(u.start, u.end, u.label, round(u.score or 0.0, 5)) for u in a.units],
                [(r.head, r.tail, r.label, round(r.score, 5)) for r in a.relations],
            )
            for a in out
        ]

    calls = [(bare, "bio"), (gold, "gold"), (gold[2:4], "gold"), (bare[1:3], "bio")]
    want = [predict(None, arts, units) for arts, units in calls]
    plain = sum(runs)
    runs.clear()
    cache = ForwardCache()
    assert [predict(cache, arts, units) for arts, units in calls] == want
    per_article = [len(t.codec.encode(a, with_labels=False)) for a in bare]
    assert sum(runs) == sum(per_article) < plain  # each window once, for all four calls
    runs.clear()
    full = ForwardCache(max_bytes=0)  # no room: every call runs, the predictions are the same
    assert [predict(full, arts, units) for arts, units in calls] == want
    assert sum(runs) == plain and not full.by_article
    with pytest.raises(ValueError, match="one model"):
        predict_articles(
            Tagger.load(tiny_model).network, t.codec, bare, encoder=t.encoder, cache=cache
        )
