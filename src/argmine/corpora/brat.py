"""brat standoff (``.txt`` + ``.ann``), the format of the Argument Annotated Essays corpus.

``T`` lines are units (``T1<TAB>Label START END<TAB>text``; a discontinuous ``START END;START
END`` span becomes its hull, with a warning), ``R`` lines relations (``R1<TAB>supports Arg1:T2
Arg2:T1``: Arg1 is the head, Arg2 the tail), ``A`` lines attributes (``A1<TAB>Stance T3 For``),
kept in ``meta["attributes"]`` as ``{unit_id: {name: value}}``. Other lines (``#`` notes, ``E``,
``N``) are ignored. Bad lines are skipped with one warning per file.

**Stance as relations** (``stance_relations``, default ``first``). The Argument Annotated Essays
(Stab & Gurevych 2017) draw ``R`` lines only from premises; a claim's link to the essay's thesis
is its ``Stance`` attribute (``For`` / ``Against`` the major claim), and the essay's major claims
restate one thesis. So each unit with a ``Stance`` and no relation of its own becomes the head of
a relation to the essay's first ``MajorClaim`` (in text order): ``For`` -> ``supports``,
``Against`` -> ``attacks`` (ids ``S1``, ``S2``...). The argument graph is then the corpus's tree
(premises -> claims -> the major claim) instead of claims left unattached. ``none`` keeps the
``R`` lines only (the attributes stay in the meta either way).

**Official split**: a ``train-test-split.csv`` (the corpus's own, ``"essay001";"TRAIN"``) in the
directory or its parent sets each essay's ``meta["split"]`` (``train`` / ``test``), which
``data.splits.mode: official`` and ``fixed_split: official`` read.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from argmine.document import ArgRelation, ArgUnit, Article
from argmine.errors import InputError

log = logging.getLogger(__name__)

#: ``stance_relations`` policies: ``first`` (link to the first MajorClaim) or ``none``
STANCE_POLICIES = ("first", "none")
#: a Stance attribute's value -> the relation label of the unit's link to the major claim
STANCE_LABELS = {"for": "supports", "against": "attacks"}
#: the corpus's split file, looked for in the brat directory and its parent
SPLIT_FILE = "train-test-split.csv"

#: ``R`` line types (any case) -> schema relation labels; other types are kept as written
#: (``relations.labels`` in a run config can map them). ``Partial-Attack`` is AbstRCT's
#: (Mayer et al. 2020) weaker attack; the original type of every relation whose label was
#: mapped stays in ``meta["relation_types"]``.
RELATION_LABELS = {
    "supports": "supports",
    "support": "supports",
    "attacks": "attacks",
    "attack": "attacks",
    "partial-attack": "attacks",
}


def parse_ann(
    text: str, ann: str, *, article_id: str, source: str, stance_relations: str = "first"
) -> Article:
    units: list[ArgUnit] = []
    relations: list[ArgRelation] = []
    attributes: dict[str, dict[str, str]] = {}
    relation_types: dict[str, str] = {}
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
                kind, *args = fields[1].split()
                roles = dict(arg.split(":", 1) for arg in args)
                label = RELATION_LABELS.get(kind.lower(), kind)
                relations.append(
                    ArgRelation(id=ident, head=roles["Arg1"], tail=roles["Arg2"], label=label)
                )
                if label != kind:
                    relation_types[ident] = kind
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
    if stance_relations == "first":
        relations += _stance_relations(units, relations, attributes, source)
    meta = {"source": source}
    if attributes:
        meta["attributes"] = attributes
    kept = {r.id for r in relations}
    if any(k in kept for k in relation_types):
        meta["relation_types"] = {k: v for k, v in relation_types.items() if k in kept}
    return Article(id=article_id, text=text, meta=meta, units=units, relations=relations)


def _stance_relations(
    units: list[ArgUnit],
    relations: list[ArgRelation],
    attributes: dict[str, dict[str, str]],
    source: str,
) -> list[ArgRelation]:
    """A relation from each unit with a ``Stance`` (and no relation of its own) to the first
    ``MajorClaim``; none when the essay has no major claim."""
    majors = sorted((u for u in units if u.label == "MajorClaim"), key=lambda u: u.start)
    if not majors:
        return []
    thesis = majors[0].id
    heads = {r.head for r in relations}
    added: list[ArgRelation] = []
    unknown: set[str] = set()
    for unit in sorted(units, key=lambda u: u.start):
        stance = attributes.get(unit.id, {}).get("Stance")
        if stance is None or unit.id in heads or unit.id == thesis:
            continue
        label = STANCE_LABELS.get(stance.lower())
        if label is None:
            unknown.add(stance)
            continue
        added.append(ArgRelation(id=f"S{len(added) + 1}", head=unit.id, tail=thesis, label=label))
    if unknown:
        log.warning(
            "%s: Stance value(s) %s are neither For nor Against; those units stay unlinked",
            source,
            ", ".join(sorted(map(repr, unknown))),
        )
    return added


def read_split_file(path: Path) -> dict[str, str]:
    """``{essay id: "train" | "test"}`` from the corpus's ``train-test-split.csv``
    (``"ID";"SET"`` rows, quotes optional); rows that are not ``ID;TRAIN|TEST`` are skipped."""
    out: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not UTF-8 text (byte offset {exc.start})") from None
    for line in text.splitlines():
        fields = [f.strip().strip('"').strip() for f in line.split(";")]
        if len(fields) == 2 and fields[1].upper() in ("TRAIN", "TEST"):
            out[fields[0]] = fields[1].lower()
    return out


def _split_file(path: Path) -> Path | None:
    folder = path if path.is_dir() else path.parent
    for candidate in (folder / SPLIT_FILE, folder.parent / SPLIT_FILE):
        if candidate.is_file():
            return candidate
    return None


def load_brat(path: Path, *, stance_relations: str = "first") -> list[Article]:
    """Every ``.ann`` file (with its ``.txt``) under a directory, or one ``.ann``/``.txt``;
    ``stance_relations``: see the module docstring."""
    if stance_relations not in STANCE_POLICIES:
        raise ValueError(
            f"stance_relations must be one of {', '.join(STANCE_POLICIES)}, "
            f"got {stance_relations!r}"
        )
    anns = sorted(path.rglob("*.ann")) if path.is_dir() else [path.with_suffix(".ann")]
    split_file = _split_file(path)
    splits = read_split_file(split_file) if split_file is not None else {}
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
        article = parse_ann(
            text,
            annotations,
            article_id=ann.stem,
            source=str(ann),
            stance_relations=stance_relations,
        )
        if ann.stem in splits:
            article = replace(article, meta={**article.meta, "split": splits[ann.stem]})
        articles.append(article)
    return articles
