"""brat standoff (``.txt`` + ``.ann``), the format of the Argument Annotated Essays corpus.

``T`` lines are units (``T1<TAB>Label START END<TAB>text``; a discontinuous ``START END;START
END`` span becomes its hull, with a warning), ``R`` lines relations (``R1<TAB>supports Arg1:T2
Arg2:T1``: Arg1 is the head, Arg2 the tail), ``A`` lines attributes (``A1<TAB>Stance T3 For``),
kept in ``meta["attributes"]`` as ``{unit_id: {name: value}}``. Other lines (``#`` notes, ``E``,
``N``) are ignored. Bad lines are skipped with one warning per file.
"""

from __future__ import annotations

import logging
from pathlib import Path

from argmine.document import ArgRelation, ArgUnit, Article
from argmine.errors import InputError

log = logging.getLogger(__name__)

RELATION_LABELS = {
    "supports": "supports",
    "support": "supports",
    "attacks": "attacks",
    "attack": "attacks",
}


def parse_ann(text: str, ann: str, *, article_id: str, source: str) -> Article:
    units: list[ArgUnit] = []
    relations: list[ArgRelation] = []
    attributes: dict[str, dict[str, str]] = {}
    problems: list[str] = []
    for number, line in enumerate(ann.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        ident = fields[0]
        try:
            if ident.startswith("T"):
                label, _, spans = fields[1].partition(" ")
                pieces = [tuple(int(x) for x in piece.split()) for piece in spans.split(";")]
                if any(len(p) != 2 for p in pieces):
                    raise ValueError(f"bad span {spans!r}")
                if len(pieces) > 1:
                    problems.append(f"line {number}: discontinuous span {ident} uses its hull")
                start, end = min(p[0] for p in pieces), max(p[1] for p in pieces)
                if end > len(text):
                    raise ValueError(f"end {end} beyond the text length {len(text)}")
                if len(fields) > 2 and text[start:end] != fields[2] and len(pieces) == 1:
                    raise ValueError(f"text {fields[2]!r} != text[{start}:{end}]")
                units.append(ArgUnit(id=ident, start=start, end=end, label=label))
            elif ident.startswith("R"):
                label, *args = fields[1].split()
                roles = dict(arg.split(":", 1) for arg in args)
                relations.append(
                    ArgRelation(
                        id=ident,
                        head=roles["Arg1"],
                        tail=roles["Arg2"],
                        label=RELATION_LABELS.get(label, label),
                    )
                )
            elif ident.startswith("A") or ident.startswith("M"):
                name, target, *value = fields[1].split()
                attributes.setdefault(target, {})[name] = value[0] if value else "true"
        except (IndexError, KeyError, ValueError) as exc:
            problems.append(f"line {number}: {exc}")
    if problems:
        log.warning(
            "%s: skipped or repaired %d line(s): %s", source, len(problems), "; ".join(problems[:3])
        )
    known = {u.id for u in units}
    relations = [r for r in relations if r.head in known and r.tail in known]
    meta = {"source": source}
    if attributes:
        meta["attributes"] = attributes
    return Article(id=article_id, text=text, meta=meta, units=units, relations=relations)


def load_brat(path: Path) -> list[Article]:
    """Every ``.ann`` file (with its ``.txt``) under a directory, or one ``.ann``/``.txt``."""
    anns = sorted(path.rglob("*.ann")) if path.is_dir() else [path.with_suffix(".ann")]
    articles = []
    for ann in anns:
        txt = ann.with_suffix(".txt")
        if not txt.is_file() or not ann.is_file():
            raise InputError(ann, "a brat document needs both the .txt and the .ann file")
        try:
            # newline="" keeps \r\n: brat offsets count every character of the file
            with txt.open(encoding="utf-8-sig", newline="") as handle:
                text = handle.read()
            with ann.open(encoding="utf-8", newline="") as handle:
                annotations = handle.read()
        except UnicodeDecodeError as exc:
            raise InputError(txt, f"not UTF-8 text (byte offset {exc.start})") from None
        articles.append(parse_ann(text, annotations, article_id=ann.stem, source=str(ann)))
    return articles
