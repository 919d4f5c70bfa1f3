"""Articles whose labels follow a surface rule a tiny model learns in a few dozen steps.

The tiny test model scores 0 on real editorials, so retraining tests need gold it can learn:
every article is filler sentences with a few fixed marker phrases; each occurrence of
"official figures show a rise" is Evidence and each "we must act now" is a Claim.
:func:`shuffled` moves every unit to a random place of the same length (the labels no longer
follow the rule), which is what a worse model is trained on.
"""

from __future__ import annotations

import random

from argmine.document import ArgUnit, Article

EVIDENCE = "official figures show a rise"
CLAIM = "we must act now"
WORDS = [
    "the",
    "council",
    "met",
    "on",
    "tuesday",
    "and",
    "talked",
    "about",
    "roads",
    "schools",
    "parks",
    "budgets",
    "weather",
    "trains",
    "houses",
    "markets",
    "rivers",
    "bridges",
    "music",
    "libraries",
    "buses",
    "streets",
    "farms",
    "harbours",
    "museums",
]


def _filler(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(5, 10))]
    return " ".join(words).capitalize() + "."


def rule_article(index: int, *, seed: int = 0) -> Article:
    """Article ``rule-<index>``: filler with 1-2 Evidence and 1 Claim marker sentences."""
    rng = random.Random(seed * 1000 + index)
    parts: list[str] = []
    units: list[ArgUnit] = []
    pos = 0
    markers = [EVIDENCE] * rng.randint(1, 2) + [CLAIM]
    rng.shuffle(markers)
    sentences: list[str | None] = [None] * len(markers) + ["filler"] * rng.randint(3, 5)
    rng.shuffle(sentences)
    for slot in sentences:
        if slot is None:
            phrase = markers.pop()
            before = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3))).capitalize()
            sentence = f"{before} {phrase} in {rng.choice(WORDS)}."
            start = pos + len(before) + 1
            label = "Evidence" if phrase == EVIDENCE else "Claim"
            units.append(ArgUnit(f"T{len(units) + 1}", start, start + len(phrase), label))
        else:
            sentence = _filler(rng)
        parts.append(sentence)
        pos += len(sentence) + 1
    text = " ".join(parts)
    article = Article(id=f"rule-{index}", text=text, title=f"Rule article {index}", units=units)
    for unit in units:
        assert text[unit.start : unit.end] in (EVIDENCE, CLAIM)
    return article


def rule_articles(n: int, *, seed: int = 0) -> list[Article]:
    return [rule_article(i, seed=seed) for i in range(n)]


def shuffled(article: Article, *, seed: int = 0) -> Article:
    """The same article with every unit moved to a random span of the same length."""
    rng = random.Random(f"{seed}-{article.id}")
    units = []
    for unit in article.units:
        length = unit.end - unit.start
        start = rng.randrange(0, len(article.text) - length)
        while article.text[start].isspace():
            start = rng.randrange(0, len(article.text) - length)
        units.append(ArgUnit(unit.id, start, start + length, rng.choice(["Claim", "Evidence"])))
    return article.with_annotations(units)
