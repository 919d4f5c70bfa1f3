"""Training data: config sources -> articles -> document-level splits -> ``datasets.DatasetDict``.

Splits are always by whole article (an article, and every window of it, is in exactly one split),
and articles of one Label Studio task or with the same text always share a split; seeded by the
config's ``seed``: ``random`` fractions, the corpus's ``official`` split
(``meta["split"]``), or ``kfold`` folds (each fold is the test split once; ``dev`` of the rest
is the dev split). Tokenised datasets are cached on disk under
``<cache_dir>/<hash>``, keyed by the tokenizer, the label list, the window settings and a hash of
every article and its split, so a changed config or changed data builds a new cache entry.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import shutil
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from argmine.config import RunConfig, SplitConfig, resolve_path
from argmine.document import Article, dumps_article
from argmine.encoding import TokenTagCodec, tags_for_labels
from argmine.errors import ConfigError, InputError
from argmine.relations import (
    PARENT_OUTSIDE,
    PairEncoder,
    clean_relations,
    rule_candidates,
    segment_gold_labels,
    unit_token_ranges,
)

__all__ = [
    "SPLITS",
    "article_groups",
    "build_dataset",
    "data_stats",
    "kfold_splits",
    "load_sources",
    "split_articles",
]

log = logging.getLogger(__name__)

SPLITS = ("train", "dev", "test")
CACHE_VERSION = 4


def load_sources(config: RunConfig, *, labels: Sequence[str]) -> list[Article]:
    """Every source of the config, relabelled; units outside ``labels`` dropped with a warning;
    a repeated article id keeps its first copy (warned)."""
    from argmine.corpora import load_corpus

    articles: list[Article] = []
    seen: set[str] = set()
    duplicates: list[str] = []
    foreign: Counter[str] = Counter()
    for source in config.data.sources:
        loaded = load_corpus(
            source.format,
            resolve_path(source.path),
            labels=source.labels,
            split=source.split,
            annotations=source.annotations,
            stance_relations=source.stance_relations,
        )
        loaded = _source_articles(source, loaded, labels)
        for article in loaded:
            if article.id in seen:
                duplicates.append(article.id)
                continue
            seen.add(article.id)
            units = [u for u in article.units if u.label in labels]
            foreign.update(u.label for u in article.units if u.label not in labels)
            if len(units) != len(article.units):
                kept = {u.id for u in units}
                article = article.with_annotations(
                    units, [r for r in article.relations if r.head in kept and r.tail in kept]
                )
            articles.append(article)
    if duplicates:
        log.warning(
            "%d duplicate article id(s) skipped (first copy kept): %s",
            len(duplicates),
            ", ".join(duplicates[:5]),
        )
    if foreign:
        log.warning(
            "dropped units with labels outside the schema: %s",
            ", ".join(f"{k!r} x{v}" for k, v in sorted(foreign.items())),
        )
    return articles


#: ``meta`` keys :func:`load_sources` sets from a source's config.
FIXED_SPLIT = "fixed_split"
UNANNOTATED = "unannotated"


def _source_articles(
    source: Any, loaded: Sequence[Article], labels: Sequence[str]
) -> list[Article]:
    """``loaded`` with the source's ``limit`` applied and its ``fixed_split``, ``unannotated``
    and ``has_relations`` recorded in each article's meta (:data:`FIXED_SPLIT`,
    :data:`UNANNOTATED`: ``{"labels": {label: [hides under]}, "relations": bool}``)."""
    where = f"data.sources ({source.format} {source.path})"
    out = sorted(loaded, key=lambda a: a.id)[: source.limit] if source.limit else list(loaded)
    hidden = dict(source.unannotated or {})
    for label, under in hidden.items():
        if label not in labels:
            raise ConfigError(where, f"unannotated label {label!r} is not in the schema")
        bad = [u for u in under if u != "O" and u not in labels]
        if bad:
            raise ConfigError(where, f"{label} hides under unknown label(s) {bad}")
        found = next((a for a in out if any(u.label == label for u in a.units)), None)
        if found is not None:
            raise ConfigError(
                where, f"unannotated {label}, but article {found.id} has {label} units"
            )
    has_relations = (
        source.has_relations
        if source.has_relations is not None
        else any(a.relations for a in loaded)
    )
    if not (hidden or not has_relations or source.fixed_split):
        return out
    marked = []
    for article in out:
        meta = dict(article.meta)
        if source.fixed_split:
            name = meta.get("split") if source.fixed_split == "official" else source.fixed_split
            if name not in SPLITS:
                raise InputError(
                    article.id, f"fixed_split official: no official split (meta.split is {name!r})"
                )
            meta[FIXED_SPLIT] = name
        if hidden or not has_relations:
            meta[UNANNOTATED] = {"labels": hidden, "relations": not has_relations}
        marked.append(replace(article, meta=meta))
    return marked


def mark_unannotated(
    articles: Sequence[Article], hidden: Mapping[str, Sequence[str]]
) -> list[Article]:
    """``articles`` recorded as not annotating the labels of ``hidden`` (label -> the gold
    labels it may hide under), as a source's ``unannotated`` records them; what a source said
    of its relations is kept (else a corpus without any relation counts as not annotating
    them)."""
    if not hidden:
        return list(articles)
    none = not any(a.relations for a in articles)
    out = []
    for article in articles:
        meta = dict(article.meta)
        info = meta.get(UNANNOTATED)
        without = bool(info.get("relations")) if isinstance(info, Mapping) else none
        meta[UNANNOTATED] = {
            "labels": {k: list(v) for k, v in hidden.items()},
            "relations": without,
        }
        out.append(replace(article, meta=meta))
    return out


def unannotated_labels(article: Article) -> dict[str, list[str]]:
    """The labels ``article``'s source does not annotate, with what each may hide under."""
    info = article.meta.get(UNANNOTATED)
    return dict(info.get("labels") or {}) if isinstance(info, Mapping) else {}


def relations_annotated(article: Article) -> bool:
    """False when ``article``'s source annotates no relations (its pairs are not trained or
    scored)."""
    info = article.meta.get(UNANNOTATED)
    return not (isinstance(info, Mapping) and info.get("relations"))


def fold_unannotated(pred: Sequence[Article], gold: Sequence[Article]) -> list[Article]:
    """``pred`` with units of labels the gold article's source does not annotate relabelled to
    the first gold label they may hide under (dropped when that is only ``O``), so scores do
    not count them against a source that could not have them; relations to dropped units go
    too."""
    out = []
    for p, g in zip(pred, gold, strict=True):
        hidden = unannotated_labels(g)
        if not hidden:
            out.append(p)
            continue
        units = []
        for u in p.units:
            if u.label in hidden:
                target = next((x for x in hidden[u.label] if x != "O"), None)
                if target is None:
                    continue
                u = replace(u, label=target)
            units.append(u)
        kept = {u.id for u in units}
        rels = [r for r in p.relations if r.head in kept and r.tail in kept]
        out.append(p.with_annotations(units, rels))
    return out


def _text_key(text: str) -> str:
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()


def article_groups(articles: Sequence[Article]) -> list[list[Article]]:
    """Articles that must share a split: the same Label Studio task (``meta.studio.data_id``)
    or the same text (a hash of it, whitespace runs folded), transitively; ordered by their
    smallest article id, each group in id order."""
    parent = list(range(len(articles)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[tuple[str, str], int] = {}
    for i, article in enumerate(articles):
        studio = article.meta.get("studio")
        keys = [("text", _text_key(article.text))]
        if isinstance(studio, Mapping) and studio.get("data_id") not in (None, ""):
            keys.append(("task", str(studio["data_id"])))
        for key in keys:
            if key in first:
                parent[find(i)] = find(first[key])
            else:
                first[key] = i
    groups: dict[int, list[Article]] = {}
    for i, article in enumerate(articles):
        groups.setdefault(find(i), []).append(article)
    out = [sorted(g, key=lambda a: a.id) for g in groups.values()]
    return sorted(out, key=lambda g: g[0].id)


def split_articles(
    articles: Sequence[Article], splits: SplitConfig, *, seed: int
) -> dict[str, list[Article]]:
    """``{"train", "dev", "test"}`` lists of whole articles (kfold: the fold ``splits.fold``,
    default 0). Articles of one task or with the same text stay in one split
    (:func:`article_groups`); the fractions count articles."""
    fixed = [a for a in articles if a.meta.get(FIXED_SPLIT) in SPLITS]
    if fixed:
        rest = [a for a in articles if a.meta.get(FIXED_SPLIT) not in SPLITS]
        out = split_articles(rest, splits, seed=seed) if rest else {n: [] for n in SPLITS}
        for article in fixed:
            out[article.meta[FIXED_SPLIT]].append(article)
        return out
    if splits.mode == "kfold":
        return kfold_splits(articles, splits, seed=seed)[splits.fold or 0]
    out = {name: [] for name in SPLITS}
    if splits.mode == "official":
        for article in articles:
            name = article.meta.get("split")
            if name not in out:
                raise InputError(
                    article.id, f"no official split (meta.split is {name!r}); use mode random"
                )
            out[name].append(article)
        if not out["dev"] and splits.dev and len(out["train"]) >= 2:
            # a corpus split into train and test only (the Argument Annotated Essays): the dev
            # split is ``dev`` of its training articles, seeded, so the test split stays official
            groups = article_groups(out["train"])
            random.Random(seed).shuffle(groups)
            n_dev = max(1, round(splits.dev * len(out["train"])))
            out["train"] = []
            for group in groups:
                (out["dev"] if len(out["dev"]) < n_dev else out["train"]).extend(group)
            log.info(
                "official split without a dev split: %d of the training articles are dev",
                len(out["dev"]),
            )
        return out
    groups = article_groups(articles)
    random.Random(seed).shuffle(groups)
    n = len(articles)
    n_test = round(splits.test * n) if splits.test else 0
    n_dev = round(splits.dev * n) if splits.dev else 0
    if splits.dev and n >= 3:
        n_dev = max(n_dev, 1)
    if splits.test and n >= 3:
        n_test = max(n_test, 1)
    for group in groups:
        if len(out["test"]) < n_test:
            out["test"].extend(group)
        elif len(out["dev"]) < n_dev:
            out["dev"].extend(group)
        else:
            out["train"].extend(group)
    if not out["train"]:
        raise ConfigError("data.splits", f"no training article left out of {n}")
    return out


def kfold_splits(
    articles: Sequence[Article], splits: SplitConfig, *, seed: int
) -> list[dict[str, list[Article]]]:
    """One ``{"train", "dev", "test"}`` per fold; every article is in exactly one test fold,
    with the rest of its group (:func:`article_groups`)."""
    fixed = [a for a in articles if a.meta.get(FIXED_SPLIT) in SPLITS]
    if fixed:  # sources that keep their own split join every fold's split of that name
        rest = [a for a in articles if a.meta.get(FIXED_SPLIT) not in SPLITS]
        folds = kfold_splits(rest, splits, seed=seed)
        for fold in folds:
            for article in fixed:
                fold[article.meta[FIXED_SPLIT]].append(article)
        return folds
    k = splits.folds
    groups = article_groups(articles)
    if len(groups) < k:
        raise ConfigError("data.splits.folds", f"{k} folds need at least {k} distinct articles")
    random.Random(seed).shuffle(groups)
    folds = [[a for g in groups[i::k] for a in g] for i in range(k)]
    result = []
    for i in range(k):
        rest_groups = [g for j in range(k) if j != i for g in groups[j::k]]
        n_dev = max(1, round(splits.dev * sum(map(len, rest_groups)))) if splits.dev else 0
        dev: list[Article] = []
        train: list[Article] = []
        for group in rest_groups:
            (dev if len(dev) < n_dev else train).extend(group)
        result.append({"train": train, "dev": dev, "test": folds[i]})
    return result


@dataclass(frozen=True)
class HeadTask:
    """What the unit and relation heads train on, besides the BIO tags: relation pairs over
    gold units (``relations``) and the rule segmenter's candidates labelled from gold
    (``segments``), both through ``encoder``."""

    encoder: PairEncoder
    relations: bool = True
    segments: bool = False

    def key(self) -> dict[str, Any]:
        return {
            "relations": self.relations,
            "segments": self.segments,
            "relation_labels": list(self.encoder.relation_labels),
            "scope": self.encoder.scope,
            "max_distance": self.encoder.max_distance,
            "features": [self.encoder.n_pair_features, self.encoder.n_unit_features],
            "parent_outside": True,  # rows mark units whose gold parent is in another window
        }


HEAD_COLUMNS = (
    "unit_spans",
    "pairs",
    "pair_features",
    "pair_labels",
    "unit_features",
    "seg_spans",
    "seg_features",
    "seg_labels",
)


def _cache_key(
    codec: TokenTagCodec, splits: Mapping[str, Sequence[Article]], task: HeadTask | None = None
) -> str:
    digest = hashlib.sha256()
    tok = codec.tokenizer
    vocab = json.dumps(sorted(tok.get_vocab().items()))
    digest.update(
        json.dumps(
            {
                "version": CACHE_VERSION,
                "tokenizer": type(tok).__name__,
                "vocab": hashlib.sha256(vocab.encode()).hexdigest(),
                "lower": getattr(tok, "do_lower_case", None),
                "labels": codec.labels,
                "max_length": codec.max_length,
                "stride": codec.stride,
                "paragraph_token": codec.paragraph_token,
                "heads": task.key() if task is not None else None,
            },
            sort_keys=True,
        ).encode()
    )
    for name in SPLITS:
        digest.update(f"\0split {name}\0".encode())
        for article in splits.get(name, ()):
            digest.update(dumps_article(article).encode())
            digest.update(b"\n")
    return digest.hexdigest()[:20]


def _local(
    ranges: Sequence[tuple[int, int]], start: int, end: int, npre: int
) -> tuple[dict[int, int], list[list[int]]]:
    """Units fully inside document tokens ``[start, end)``: document index -> window index,
    and their spans in window positions."""
    index: dict[int, int] = {}
    spans: list[list[int]] = []
    for k, (a, b) in enumerate(ranges):
        if b > a and a >= start and b <= end:
            index[k] = len(spans)
            spans.append([npre + a - start, npre + b - start])
    return index, spans


def head_rows(
    codec: TokenTagCodec, article: Article, windows: Sequence[dict[str, Any]], task: HeadTask
):
    """Per window, the unit-head and relation-head columns (:data:`HEAD_COLUMNS`)."""
    enc = task.encoder
    _, offsets = codec.tokenize(article.text)
    gold = [u for u in article.sorted_units() if u.label in codec.labels]
    npre = len(codec.prefix)
    rows: list[dict[str, Any]] = [{key: [] for key in HEAD_COLUMNS} for _ in windows]
    if task.relations and len(gold) > 1 and relations_annotated(article):
        rels = clean_relations(
            article.with_annotations(gold, article.relations), enc.relation_labels
        )
        ranges = unit_token_ranges(offsets, gold)
        pairs = enc.pairs(article.text, gold)
        feats = enc.pair_features(article.text, gold, pairs)
        labels = enc.pair_labels(gold, pairs, rels)
        unit_feats = enc.relation_unit_features(article.text, gold)
        parents: dict[int, set[int]] = {}
        for (i, j), y in zip(pairs, labels, strict=True):
            if y > 0:
                parents.setdefault(i, set()).add(j)
        for row, window in zip(rows, windows, strict=True):
            index, spans = _local(ranges, window["token_start"], window["token_end"], npre)
            row["unit_spans"] = spans
            order = sorted(index, key=index.get)
            row["unit_features"] = [[float(v) for v in unit_feats[k]] for k in order]
            # a unit whose gold parents all lie outside this window has no right answer here
            # (its softmax would learn "no parent"): its pairs are marked, the loss skips it
            away = {i for i, tails in parents.items() if i in index and not tails & index.keys()}
            for (i, j), f, y in zip(pairs, feats, labels, strict=True):
                if i in index and j in index:
                    row["pairs"].append([index[i], index[j]])
                    row["pair_features"].append([float(v) for v in f])
                    row["pair_labels"].append(PARENT_OUTSIDE if i in away else int(y))
    if task.segments:
        candidates = rule_candidates(article)
        ranges = unit_token_ranges(offsets, candidates)
        feats = enc.unit_features(article.text, candidates, candidates)
        targets = segment_gold_labels(candidates, gold, codec.labels)
        for row, window in zip(rows, windows, strict=True):
            index, spans = _local(ranges, window["token_start"], window["token_end"], npre)
            row["seg_spans"] = spans
            order = sorted(index, key=index.get)
            row["seg_features"] = [[float(v) for v in feats[k]] for k in order]
            row["seg_labels"] = [int(targets[k]) for k in order]
    return rows


def label_sets(
    labels: Sequence[str], hidden: Mapping[str, Sequence[str]]
) -> tuple[dict[int, int], dict[int, int]]:
    """Gold ids that stand for a set of ids when the labels in ``hidden`` are not annotated:
    ``{gold tag id: set code}`` for BIO tags (in :func:`argmine.encoding.tags_for_labels`
    order)  and ``{gold unit class: set code}`` for the unit head (0 none, 1 + label
    index). A set code is ``n + bitmask`` (``n`` the number of classes, bit ``k`` = class ``k``
    allowed; :func:`argmine.modeling.set_cross_entropy` reads it). A hidden label X that hides
    under O adds B-X and I-X to O (and X to none); under Y, B-X to B-Y and I-X to I-Y."""
    tags = tags_for_labels(labels)
    index = {t: k for k, t in enumerate(tags)}
    tag_bits = {k: 1 << k for k in range(len(tags))}
    unit_bits = {k: 1 << k for k in range(len(labels) + 1)}
    for x, under in hidden.items():
        ux = labels.index(x) + 1
        for y in under:
            if y == "O":
                tag_bits[0] |= (1 << index[f"B-{x}"]) | (1 << index[f"I-{x}"])
                unit_bits[0] |= 1 << ux
            else:
                for p in ("B", "I"):
                    tag_bits[index[f"{p}-{y}"]] |= 1 << index[f"{p}-{x}"]
                unit_bits[labels.index(y) + 1] |= 1 << ux
    nt, nu = len(tags), len(labels) + 1
    return (
        {k: nt + b for k, b in tag_bits.items() if b != 1 << k},
        {k: nu + b for k, b in unit_bits.items() if b != 1 << k},
    )


def _rows(
    codec: TokenTagCodec, articles: Sequence[Article], task: HeadTask | None = None
) -> dict[str, list[Any]]:
    columns: dict[str, list[Any]] = {
        key: []
        for key in (
            "article_id",
            "window",
            "input_ids",
            "attention_mask",
            "labels",
            "offsets",
            "token_start",
            "token_end",
            "own_start",
            "own_end",
        )
    }
    for key in HEAD_COLUMNS:
        columns[key] = []
    for article in articles:
        windows = codec.encode(article)
        extra = (
            head_rows(codec, article, windows, task)
            if task is not None
            else [{key: [] for key in HEAD_COLUMNS} for _ in windows]
        )
        hidden = unannotated_labels(article)
        if hidden:
            tag_sets, unit_sets = label_sets(codec.labels, hidden)
            for window, more in zip(windows, extra, strict=True):
                window["labels"] = [tag_sets.get(y, y) for y in window["labels"]]
                if more.get("seg_labels"):
                    more["seg_labels"] = [unit_sets.get(y, y) for y in more["seg_labels"]]
        for window, more in zip(windows, extra, strict=True):
            for key in columns:
                if key in more:
                    columns[key].append(more[key])
                    continue
                value = window[key]
                columns[key].append([list(o) for o in value] if key == "offsets" else value)
    return columns


def build_dataset(
    splits: Mapping[str, Sequence[Article]],
    codec: TokenTagCodec,
    *,
    cache_dir: str | Path | None = None,
    task: HeadTask | None = None,
):  # -> datasets.DatasetDict
    """Windows of every split as a ``DatasetDict`` (one row per window), cached on disk; with a
    ``task`` each row also carries the unit-head and relation-head columns."""
    import datasets

    key = _cache_key(codec, splits, task)
    target = Path(cache_dir) / key if cache_dir is not None else None
    features = datasets.Features(
        {
            "article_id": datasets.Value("string"),
            "window": datasets.Value("int32"),
            "input_ids": datasets.Sequence(datasets.Value("int32")),
            "attention_mask": datasets.Sequence(datasets.Value("int8")),
            "labels": datasets.Sequence(datasets.Value("int32")),
            "offsets": datasets.Sequence(datasets.Sequence(datasets.Value("int32"))),
            "token_start": datasets.Value("int32"),
            "token_end": datasets.Value("int32"),
            "own_start": datasets.Value("int32"),
            "own_end": datasets.Value("int32"),
            "unit_spans": datasets.Sequence(datasets.Sequence(datasets.Value("int32"))),
            "pairs": datasets.Sequence(datasets.Sequence(datasets.Value("int32"))),
            "pair_features": datasets.Sequence(datasets.Sequence(datasets.Value("float32"))),
            "pair_labels": datasets.Sequence(datasets.Value("int16")),
            "unit_features": datasets.Sequence(datasets.Sequence(datasets.Value("float32"))),
            "seg_spans": datasets.Sequence(datasets.Sequence(datasets.Value("int32"))),
            "seg_features": datasets.Sequence(datasets.Sequence(datasets.Value("float32"))),
            "seg_labels": datasets.Sequence(datasets.Value("int32")),
        }
    )

    def with_empty_splits(dd):  # type: ignore[no-untyped-def]
        # datasets cannot load an empty split back from disk (IndexError in concat_tables),
        # so empty splits are not saved and are added here as empty datasets.
        for name in SPLITS:
            if name not in dd:
                dd[name] = datasets.Dataset.from_dict({k: [] for k in features}, features=features)
        return dd

    if target is not None and (target / "dataset_dict.json").is_file():
        log.info("dataset cache hit: %s", target)
        return with_empty_splits(datasets.load_from_disk(str(target)))
    dd = datasets.DatasetDict(
        {
            name: datasets.Dataset.from_dict(
                _rows(codec, splits.get(name, ()), task), features=features
            )
            for name in SPLITS
        }
    )
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
        datasets.DatasetDict({k: v for k, v in dd.items() if v.num_rows}).save_to_disk(str(tmp))
        try:
            tmp.rename(target)
        except OSError:  # another process (e.g. a torchrun worker) got there first
            shutil.rmtree(tmp, ignore_errors=True)
        dd = with_empty_splits(datasets.load_from_disk(str(target)))
    return dd


def data_stats(
    splits: Mapping[str, Sequence[Article]], dataset: Any | None = None
) -> dict[str, Any]:
    """Per split: articles, characters, units per label, relations, windows (if a dataset)."""
    stats: dict[str, Any] = {}
    for name in SPLITS:
        arts = splits.get(name, ())
        stats[name] = {
            "articles": len(arts),
            "characters": sum(len(a.text) for a in arts),
            "units": dict(sorted(Counter(u.label for a in arts for u in a.units).items())),
            "relations": dict(sorted(Counter(r.label for a in arts for r in a.relations).items())),
            "article_ids": sorted(a.id for a in arts),
        }
        if dataset is not None and name in dataset:
            stats[name]["windows"] = dataset[name].num_rows
            stats[name]["tokens"] = int(
                sum(
                    e - s
                    for s, e in zip(
                        dataset[name]["own_start"], dataset[name]["own_end"], strict=True
                    )
                )
            )
    return stats
