"""Real training of the relation head on a tiny model: it must learn a small, regular set."""

from __future__ import annotations

import json

import pytest

from argmine.config import run_config_from_dict
from argmine.document import ArgRelation, ArgUnit, Article, dumps_article
from argmine.evaluate import relation_scores

TOPICS = ["parks", "buses", "schools", "libraries", "bridges", "clinics", "markets", "trams"]
TOPICS += ["ports", "museums"]


def _article(k: int, topic: str) -> Article:
    """Two paragraphs: a claim, its evidence (supports it) and an objection (attacks it), then
    a conclusion that both claims support."""
    parts: list[tuple[str, str | None]] = [
        (f"The city should fund its {topic} now.", "Claim"),
        (" ", None),
        (f"Figures show use of the {topic} rose by {20 + k} percent last year.", "Evidence"),
        (" ", None),
        (f"However, critics say the {topic} cost too much.", "Claim"),
        ("\n\n", None),
        (f"Spending on {topic} also creates local jobs.", "Claim"),
        (" ", None),
        (f"So the council must pass the {topic} budget.", "Conclusion"),
    ]
    text, units = "", []
    for piece, label in parts:
        if label:
            units.append(ArgUnit(f"T{len(units) + 1}", len(text), len(text) + len(piece), label))
        text += piece
    relations = [
        ArgRelation("R1", "T2", "T1", "supports"),
        ArgRelation("R2", "T3", "T1", "attacks"),
        ArgRelation("R3", "T1", "T5", "supports"),
        ArgRelation("R4", "T4", "T5", "supports"),
    ]
    return Article(id=f"a{k}", text=text, units=units, relations=relations)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("rule_links", "pair_prior"),
    [(False, False), (True, False), (True, True)],
    ids=["plain", "rule_links", "rule_links+pair_prior"],
)
def test_train_relations_tiny_model_overfits_to_relation_f1_09(tmp_path, rule_links, pair_prior):
    from argmine.tag import Tagger
    from argmine.train import train

    articles = [_article(k, topic) for k, topic in enumerate(TOPICS)]
    data = tmp_path / "gold.jsonl"
    data.write_text("".join(dumps_article(a) + "\n" for a in articles), encoding="utf-8")
    config = run_config_from_dict(
        {
            "seed": 3,
            "output_dir": str(tmp_path / "model"),
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
                "epochs": 60,
                "lr": 2e-3,
                "batch_size": 4,
                "max_length": 128,
                "stride": 16,
                "warmup": 0.0,
                "patience": 0,
                "logging_steps": 50,
                "eval_steps": 50,
            },
            "decode": {"min_words": 0},
            "relations": {
                "scope": "all",
                "decoding": "auto",
                "rule_links": rule_links,
                "pair_prior": pair_prior,
            },
        }
    )
    result = train(config, force=True)
    spec = json.loads((result.output_dir / "argmine.json").read_text())
    assert spec["relations"]["labels"] == ["supports", "attacks"]
    assert spec["relations"]["rule_links"] is rule_links
    assert spec["heads"]["pair_prior"] is pair_prior
    assert (result.output_dir / "heads.safetensors").is_file()

    tagger = Tagger.load(result.output_dir)
    assert tagger.has_relations
    assert tagger.encoder.rule_links is rule_links  # the pair features it was trained with
    assert (tagger.network.relation_head.prior is not None) is pair_prior
    predicted = tagger.predict(articles, units="gold")
    scores = relation_scores(articles, predicted, labels=["supports", "attacks"])
    assert scores["overlap"]["micro"]["f1"] >= 0.9, scores["overlap"]
    assert scores["per_label"]["attacks"]["f1"] >= 0.9
    # end to end, the tagged JSONL carries scored relations
    tagged = tagger.predict([a.with_annotations([]) for a in articles])
    assert any(a.relations for a in tagged)
    assert all(0.0 <= r.score <= 1.0 for a in tagged for r in a.relations)


@pytest.mark.slow
def test_tag_model_without_relations_tags_spans_only_and_says_so(tiny_model, tmp_path, caplog):
    import logging
    import shutil

    from argmine.tag import Tagger

    with_relations = Tagger.load(tiny_model)
    assert with_relations.has_relations
    spans_only = tmp_path / "spans-only"
    shutil.copytree(tiny_model, spans_only, ignore=shutil.ignore_patterns("checkpoints"))
    spec = json.loads((spans_only / "argmine.json").read_text())
    spec.update(heads=None, relations=None)
    (spans_only / "argmine.json").write_text(json.dumps(spec))
    (spans_only / "heads.safetensors").unlink()
    with caplog.at_level(logging.WARNING, logger="argmine.tag"):
        tagger = Tagger.load(spans_only)
    assert [r.getMessage() for r in caplog.records] == [
        f"{spans_only} was trained without relations: it tags spans only"
    ]
    article = _article(0, "parks").with_annotations([])
    (tagged,) = tagger.predict([article])
    assert tagged.relations == []
    # the spans are the same as those of the model with the relation head
    (full,) = with_relations.predict([article])
    assert [(u.start, u.end, u.label) for u in tagged.units] == [
        (u.start, u.end, u.label) for u in full.units
    ]


@pytest.mark.slow
def test_tag_applies_the_model_dirs_rule_bonus(tiny_model, tmp_path):
    """``relations.rule_bonus`` in argmine.json reaches decoding: with a huge bonus every pair
    the rules' nearest-unit linking links among the units is a predicted relation."""
    import shutil

    from argmine.prelabel import rule_link_pairs
    from argmine.relations import paragraph_ids
    from argmine.tag import Tagger

    spec = json.loads((tiny_model / "argmine.json").read_text())
    assert spec["relations"]["rule_bonus"] == 0.0  # configs/tiny.yaml leaves it at 0
    boosted = tmp_path / "boosted"
    shutil.copytree(tiny_model, boosted, ignore=shutil.ignore_patterns("checkpoints"))
    spec["relations"].update(rule_bonus=40.0, decoding="independent", threshold=0.9)
    (boosted / "argmine.json").write_text(json.dumps(spec))
    article = _article(0, "parks")
    units = article.sorted_units()
    links = rule_link_pairs(units, paragraph_ids(article.text, [u.start for u in units]))
    assert links
    want = {(units[i].id, units[j].id) for i, j in links}
    (plain,) = Tagger.load(tiny_model).predict([article], units="gold")
    (tagged,) = Tagger.load(boosted).predict([article], units="gold")
    got = {(r.head, r.tail) for r in tagged.relations}
    assert want <= got
    assert all(r.score > 0.9 for r in tagged.relations if (r.head, r.tail) in want)
    assert {(r.head, r.tail) for r in plain.relations} != got  # the tiny model alone differs
