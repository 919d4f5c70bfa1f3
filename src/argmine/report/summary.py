"""Numbers the report shows: per-article counts, and what an analyst reads across a corpus.

Corpus figures (:func:`corpus_summary`), per group (an outlet, or each article when no
article names one):

- **claims with no support**: units labelled one of :data:`CLAIM_LABELS` (Claim, Conclusion,
  MajorClaim: the labels that need support) that are the tail of no ``supports`` relation;
- **evidence per claim**: units labelled Evidence over units labelled Claim (the article
  summary's ratio);
- **share of claims attacked**: of the same claims, the share that is the tail of at least
  one ``attacks`` relation.

The outlet of an article is the first non-empty value of ``meta["outlet"]``,
``meta["portal"]`` (Webis editorials), ``meta["publisher"]`` or ``meta["site"]``
(:data:`OUTLET_KEYS`), else the host name of ``meta["url"]``. ``meta["source"]`` is not used:
argmine's readers put the input file's path there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from argmine.document import ArgUnit, Article

__all__ = [
    "ATTACK_LABELS",
    "CLAIM_LABELS",
    "DEFAULT_RATIOS",
    "OUTLET_KEYS",
    "SUPPORT_LABELS",
    "ArticleStructure",
    "GroupStats",
    "article_structure",
    "article_summary",
    "corpus_summary",
    "outlet_of",
]

#: Ratios shown in the summary, ``(numerator label, denominator label)``; shown only for
#: labels present in the schema.
DEFAULT_RATIOS: tuple[tuple[str, str], ...] = (("Evidence", "Claim"),)
#: Unit labels that need support (counted by "claims with no support" and "attacked").
CLAIM_LABELS: tuple[str, ...] = ("Conclusion", "MajorClaim", "Claim")
#: Relation labels that count as support and as attack.
SUPPORT_LABELS: tuple[str, ...] = ("supports",)
ATTACK_LABELS: tuple[str, ...] = ("attacks",)
#: Meta keys naming an article's outlet, first non-empty one wins.
OUTLET_KEYS: tuple[str, ...] = ("outlet", "portal", "publisher", "site")


def article_summary(
    article: Article,
    *,
    labels: Sequence[str],
    ratios: Sequence[tuple[str, str]] = DEFAULT_RATIOS,
) -> dict[str, Any]:
    """Counts per label (schema order; unknown labels after), mean score, and ratios.

    ``ratios`` such as ``("Evidence", "Claim")`` give "evidence per claim"; a ratio is
    ``None`` when the denominator count is zero, and left out when a label is not in
    ``labels``.
    """
    counts = {label: 0 for label in labels}
    for unit in article.units:
        counts[unit.label] = counts.get(unit.label, 0) + 1
    scores = [u.score for u in article.units if u.score is not None]
    summary: dict[str, Any] = {
        "id": article.id,
        "title": article.title,
        "units": len(article.units),
        "relations": len(article.relations),
        "counts": counts,
        "mean_score": sum(scores) / len(scores) if scores else None,
        "ratios": {},
    }
    for num, den in ratios:
        if num in labels and den in labels:
            summary["ratios"][f"{num} per {den}"] = (
                counts[num] / counts[den] if counts[den] else None
            )
    return summary


def outlet_of(article: Article) -> str | None:
    """The article's outlet from its meta (see the module docstring), or ``None``."""
    for key in OUTLET_KEYS:
        value = article.meta.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    url = article.meta.get("url")
    if isinstance(url, str) and url:
        host = urlsplit(url).hostname or ""
        return host.removeprefix("www.") or None
    return None


@dataclass(frozen=True)
class ArticleStructure:
    """The claims of one article and how relations reach them."""

    claims: tuple[ArgUnit, ...]
    unsupported: tuple[ArgUnit, ...]
    attacked: tuple[ArgUnit, ...]
    evidence: int
    claim_count: int  # units labelled exactly "Claim", the denominator of evidence per claim


def article_structure(
    article: Article,
    *,
    claim_labels: Sequence[str] = CLAIM_LABELS,
    support_labels: Sequence[str] = SUPPORT_LABELS,
    attack_labels: Sequence[str] = ATTACK_LABELS,
    ratio: tuple[str, str] = DEFAULT_RATIOS[0],
) -> ArticleStructure:
    """Claims (``claim_labels``), those no ``supports`` relation reaches, those an
    ``attacks`` relation reaches, and the counts of ``ratio`` (evidence, claim)."""
    units = {u.id for u in article.units}
    supported = {r.tail for r in article.relations if r.label in support_labels and r.head in units}
    attacked = {r.tail for r in article.relations if r.label in attack_labels and r.head in units}
    claims = tuple(u for u in article.sorted_units() if u.label in claim_labels)
    return ArticleStructure(
        claims=claims,
        unsupported=tuple(u for u in claims if u.id not in supported),
        attacked=tuple(u for u in claims if u.id in attacked),
        evidence=sum(u.label == ratio[0] for u in article.units),
        claim_count=sum(u.label == ratio[1] for u in article.units),
    )


@dataclass
class GroupStats:
    """Corpus figures for one group of articles (an outlet, or one article)."""

    name: str
    articles: list[int] = field(default_factory=list)  # indices into the report's articles
    claims: int = 0
    unsupported: int = 0
    attacked: int = 0
    evidence: int = 0
    claim_count: int = 0

    @property
    def evidence_per_claim(self) -> float | None:
        return self.evidence / self.claim_count if self.claim_count else None

    @property
    def attacked_share(self) -> float | None:
        return self.attacked / self.claims if self.claims else None

    @property
    def unsupported_share(self) -> float | None:
        return self.unsupported / self.claims if self.claims else None


def corpus_summary(
    articles: Sequence[Article], structures: Sequence[ArticleStructure] | None = None
) -> tuple[str, list[GroupStats], GroupStats]:
    """``(grouping, groups, total)``: ``grouping`` is ``"outlet"`` when any article names an
    outlet (articles without one form the group ``"(no outlet)"``), else ``"article"`` (one
    group per article, named by its title or id). Groups keep first-appearance order."""
    if structures is None:
        structures = [article_structure(a) for a in articles]
    outlets = [outlet_of(a) for a in articles]
    grouping = "outlet" if any(outlets) else "article"
    groups: dict[Any, GroupStats] = {}
    total = GroupStats(name="all articles")
    for n, (article, structure, outlet) in enumerate(
        zip(articles, structures, outlets, strict=True)
    ):
        key: Any = (outlet or "(no outlet)") if grouping == "outlet" else n
        name = key if grouping == "outlet" else (article.title or article.id)
        group = groups.setdefault(key, GroupStats(name=name))
        for stats in (group, total):
            stats.articles.append(n)
            stats.claims += len(structure.claims)
            stats.unsupported += len(structure.unsupported)
            stats.attacked += len(structure.attacked)
            stats.evidence += structure.evidence
            stats.claim_count += structure.claim_count
    return grouping, list(groups.values()), total
