"""Corpus importers: public argument corpora and Label Studio exports -> :class:`Article`.

``load_corpus(fmt, path, *, labels=None, split=None)`` reads one corpus. Each format has source
labels and a default mapping to the schema labels (:data:`DEFAULT_LABELS`); ``labels`` replaces
it (a source label mapped to ``None`` is dropped, one missing from the mapping is dropped with a
warning). Relations are kept; a relation whose head or tail was dropped goes with it.

=============  ==============================================================================
format         path
=============  ==============================================================================
jsonl          an argmine JSONL file or a directory of them (labels kept unless mapped)
labelstudio    a Label Studio JSON export or a directory of them (``annotations/``)
brat           a directory of brat standoff ``.txt`` + ``.ann`` pairs (Argument Annotated Essays)
microtexts     the arg-microtexts folder (``corpus/en/*.xml``) or a folder of ``micro_*.xml``
webis          the Webis-Editorials-16 folder (units JSONL, else the XMI) or either file kind
=============  ==============================================================================
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path

from argmine.document import Article

__all__ = [
    "DEFAULT_LABELS",
    "FORMATS",
    "apply_label_map",
    "choose_annotations",
    "corpus_lines",
    "load_corpus",
    "load_label_map",
    "select_annotation",
]

log = logging.getLogger(__name__)

# source label -> schema label (None: not an argumentative unit, dropped)
DEFAULT_LABELS: dict[str, dict[str, str | None] | None] = {
    "jsonl": None,  # argmine labels already
    "labelstudio": None,
    "brat": {"MajorClaim": "Conclusion", "Claim": "Claim", "Premise": "Evidence"},
    "microtexts": {
        "central_claim": "Conclusion",
        "claim": "Claim",
        "premise": "Evidence",
        "objection": "Claim",
    },
    "webis": {
        "assumption": "Claim",
        "common-ground": "Claim",
        "anecdote": "Evidence",
        "statistics": "Evidence",
        "testimony": "Evidence",
        "no-unit": None,
        "other": None,
    },
}
FORMATS = tuple(DEFAULT_LABELS)
#: Schema labels a format's corpus does not annotate under its default mapping, each with the
#: gold labels it may hide under (as a source's ``unannotated``): an editorial's conclusion is
#: annotated in Webis-Editorials-16 as an assumption, i.e. a Claim, or not at all. ``argmine
#: evaluate --format`` scores a model's predictions of such a label as what it hides under.
DEFAULT_UNANNOTATED: dict[str, dict[str, list[str]]] = {
    "webis": {"Conclusion": ["O", "Claim"]},
}


def apply_label_map(
    articles: list[Article], labels: Mapping[str, str | None] | None, *, source: str
) -> list[Article]:
    """Relabel units by ``labels`` (``None`` drops); drop relations to dropped units."""
    if labels is None:
        return articles
    unmapped: dict[str, int] = {}
    out = []
    for article in articles:
        units = []
        for unit in article.units:
            if unit.label not in labels:
                unmapped[unit.label] = unmapped.get(unit.label, 0) + 1
                continue
            target = labels[unit.label]
            if target is not None:
                units.append(type(unit)(unit.id, unit.start, unit.end, target, unit.score))
        kept = {u.id for u in units}
        relations = [r for r in article.relations if r.head in kept and r.tail in kept]
        out.append(article.with_annotations(units, relations))
    if unmapped:
        shown = ", ".join(f"{k!r} x{v}" for k, v in sorted(unmapped.items()))
        log.warning(
            "%s: dropped units with labels missing from the label mapping: %s", source, shown
        )
    return out


def _jsonl(path: Path) -> list[Article]:
    from argmine.document import iter_jsonl_articles
    from argmine.errors import InputError

    files = sorted(path.rglob("*.jsonl")) if path.is_dir() else [path]
    articles = []
    for file in files:
        try:
            with file.open(encoding="utf-8") as handle:
                articles.extend(iter_jsonl_articles(handle))
        except (UnicodeDecodeError, ValueError) as exc:
            raise InputError(file, str(exc)) from None
    return articles


def _studio_meta(article: Article) -> dict:
    studio = article.meta.get("studio")
    return studio if isinstance(studio, dict) else {}


def select_annotation(versions: list[Article]) -> Article:
    """The one version of a task that training uses by default: the ground-truth annotation,
    else the most recently updated (then created, then the highest annotation id). The order is
    :func:`argmine.corpora.labelstudio.annotation_rank`, the same one
    :func:`argmine.corpora.labelstudio.select_annotation` applies to a parsed task."""
    from argmine.corpora.labelstudio import annotation_rank

    def key(article: Article) -> tuple[bool, float, float, float]:
        studio = _studio_meta(article)
        return annotation_rank(
            ground_truth=bool(studio.get("ground_truth")),
            updated_at=studio.get("updated_at"),
            created_at=studio.get("created_at"),
            annotation_id=studio.get("annotation_id"),
        )

    return max(versions, key=key)


def choose_annotations(articles: list[Article], mode: str | None, *, source: str) -> list[Article]:
    """The versions of each task (``meta["studio"]["data_id"]``) that ``mode`` picks: ``None``
    one per task (:func:`select_annotation`), ``"all"`` every one, ``"gold"`` the ground-truth
    one (tasks without are left out), ``"annotator=NAME"`` NAME's (tasks without are left
    out). A chosen version's id is its task's id. Tasks left out are warned about once."""
    if mode == "all":
        return articles
    tasks: dict[str, list[Article]] = {}
    for article in articles:
        task_id = str(_studio_meta(article).get("data_id") or article.id)
        tasks.setdefault(task_id, []).append(article)
    name = mode.partition("=")[2] if mode and mode.startswith("annotator=") else None
    chosen: list[Article] = []
    missing: list[str] = []
    for task_id, versions in tasks.items():
        if mode == "gold":
            versions = [v for v in versions if _studio_meta(v).get("ground_truth")]
        elif name is not None:
            versions = [v for v in versions if _studio_meta(v).get("annotator") == name]
        if not versions:
            missing.append(task_id)
            continue
        picked = select_annotation(versions)
        chosen.append(replace(picked, id=task_id, meta=dict(picked.meta)))
    if missing:
        what = "no ground-truth annotation" if mode == "gold" else f"no annotation by {name}"
        log.warning(
            "%s: %d task(s) with %s left out: %s",
            source,
            len(missing),
            what,
            ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else ""),
        )
    return chosen


def _labelstudio(path: Path, annotations: str | None = None) -> list[Article]:
    from argmine.corpora.labelstudio import load_export

    files = sorted(p for p in path.rglob("*.json") if p.is_file()) if path.is_dir() else [path]
    articles: list[Article] = []
    for file in files:
        articles.extend(load_export(file))
    return choose_annotations(articles, annotations, source=str(path))


def load_corpus(
    fmt: str,
    path: str | Path,
    *,
    labels: Mapping[str, str | None] | None = None,
    split: str | None = None,
    annotations: str | None = None,
    stance_relations: str | None = None,
) -> list[Article]:
    """Read a corpus of format ``fmt`` from ``path`` as articles with schema labels.

    ``labels`` maps source labels to schema labels (default: the format's mapping). ``split``
    (Webis only: train, dev or test) loads one official split; without it every Webis article
    carries its split in ``meta["split"]`` (brat essays too, from the corpus's
    ``train-test-split.csv`` when there is one). ``annotations`` (Label Studio only) chooses the
    versions of a task: see :func:`choose_annotations`. ``stance_relations`` (brat only, default
    ``first``): claims' ``Stance`` attributes as relations to the first major claim, or
    ``none`` (:mod:`argmine.corpora.brat`).
    """
    from argmine.errors import InputError, UsageError

    if fmt not in DEFAULT_LABELS:
        raise UsageError(f"unknown corpus format {fmt!r} (expected {', '.join(FORMATS)})")
    source = Path(path)
    if not source.exists():
        raise InputError(source, "no such file or directory")
    if split is not None and fmt != "webis":
        raise UsageError(f"split={split!r} is only defined for the webis format")
    if annotations is not None and fmt != "labelstudio":
        raise UsageError(f"annotations={annotations!r} is only defined for the labelstudio format")
    if stance_relations is not None and fmt != "brat":
        raise UsageError(
            f"stance_relations={stance_relations!r} is only defined for the brat format"
        )
    if fmt == "jsonl":
        articles = _jsonl(source)
    elif fmt == "labelstudio":
        articles = _labelstudio(source, annotations)
    elif fmt == "brat":
        from argmine.corpora.brat import load_brat

        articles = (
            load_brat(source)
            if stance_relations is None
            else load_brat(source, stance_relations=stance_relations)
        )
    elif fmt == "microtexts":
        from argmine.corpora.microtexts import load_microtexts

        articles = load_microtexts(source)
    else:
        from argmine.corpora.webis import load_webis

        articles = load_webis(source, split=split)
    if not articles:
        raise InputError(source, f"no {fmt} documents found")
    mapping = labels if labels is not None else DEFAULT_LABELS[fmt]
    return apply_label_map(articles, mapping, source=str(source))


def load_label_map(path: str | Path) -> dict[str, str | None]:
    """A YAML mapping ``source label: schema label`` (``null`` drops the label)."""
    from argmine.config import load_yaml
    from argmine.errors import ConfigError

    data = load_yaml(path)
    if not isinstance(data, dict) or not data:
        raise ConfigError(path, "a label map must be a non-empty mapping of source: schema label")
    for key, value in data.items():
        if value is not None and not isinstance(value, str):
            raise ConfigError(path, f"{key}: must map to a label name or null, got {value!r}")
    return {str(k): v for k, v in data.items()}


def corpus_lines(
    fmt: str,
    path: str | Path,
    *,
    labels: Mapping[str, str | None] | None = None,
    split: str | None = None,
    stance_relations: str | None = None,
) -> Iterator[str]:
    """The corpus as argmine JSONL lines (for ``argmine convert``)."""
    from argmine.document import dumps_article

    for article in load_corpus(
        fmt, path, labels=labels, split=split, stance_relations=stance_relations
    ):
        yield dumps_article(article)
