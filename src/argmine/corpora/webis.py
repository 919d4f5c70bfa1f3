"""Webis-Editorials-16 (Al-Khatib et al. 2016): 300 news editorials, units typed, no relations.

Reads the units JSONL derived from the XMI (``webis_editorials16_units.jsonl``: ``{id, split,
title, text, units: [{start, end, label}]}``) or, without it, the UIMA XMI files
(``annotated-xmi/split-for-evaluation-final/{training,validation,test}/*.xmi``: text in
``cas:Sofa@sofaString``, units in ``argumentation:ArgumentativeDiscourseUnit@begin/end/unitType``).
Source labels: assumption, common-ground, anecdote, statistics, testimony, other, no-unit. The
official split (180/60/60 by date) is kept in ``meta["split"]`` (train, dev, test).

The corpus has no conclusion label and no relations; Conclusion is not derived (a heuristic
such as "an assumption in the last paragraph" would teach the model the heuristic, not the
annotators' judgement), so a Webis-trained tagger predicts Claim and Evidence only.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from argmine.document import ArgUnit, Article, line_problem
from argmine.errors import InputError

JSONL_NAME = "webis_editorials16_units.jsonl"
XMI_SPLITS = {"training": "train", "validation": "dev", "test": "test"}
NS = {
    "cas": "http:///uima/cas.ecore",
    "argumentation": "http:///de/aitools/ie/uima/type/argumentation.ecore",
}
SPLITS = ("train", "dev", "test")


def _from_jsonl(path: Path) -> list[Article]:
    articles = []
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not UTF-8 text (byte offset {exc.start})") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            text = data["text"]
            units = [
                ArgUnit(id=f"T{i + 1}", start=u["start"], end=u["end"], label=u["label"])
                for i, u in enumerate(data["units"])
            ]
            meta = {k: data[k] for k in ("split", "portal", "url", "authors", "lastUpdate")}
            articles.append(
                Article(
                    id=data["id"],
                    text=text,
                    title=data.get("title") or "",
                    meta=meta,
                    units=units,
                )
            )
        except KeyError as exc:
            raise InputError(path, f"line {number}: no {exc.args[0]!r} field") from None
        except json.JSONDecodeError as exc:
            raise InputError(path, f"line {number}: not valid JSON ({exc.msg})") from None
        except (TypeError, ValueError) as exc:
            raise InputError(path, f"line {number}: {exc}") from None
        problem = line_problem(number, articles[-1])
        if problem:
            raise InputError(path, problem)
    return articles


def parse_xmi(path: Path, *, split: str | None) -> Article:
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise InputError(path, f"cannot read XMI ({exc})") from None
    sofa = root.find("cas:Sofa", NS)
    if sofa is None or sofa.get("sofaString") is None:
        raise InputError(path, "no cas:Sofa text")
    text = sofa.get("sofaString", "")
    units = []
    for i, node in enumerate(root.findall("argumentation:ArgumentativeDiscourseUnit", NS)):
        try:
            units.append(
                ArgUnit(
                    id=f"T{i + 1}",
                    start=int(node.get("begin", "")),
                    end=int(node.get("end", "")),
                    label=node.get("unitType") or "",
                )
            )
        except ValueError as exc:
            raise InputError(path, f"unit {i + 1}: {exc}") from None
    meta_node = root.find("argumentation:MetadataWebis16Editorials", NS)
    meta: dict[str, str | None] = {"split": split}
    title = ""
    if meta_node is not None:
        title = meta_node.get("title") or ""
        for key in ("portal", "url", "authors", "lastUpdate"):
            meta[key] = meta_node.get(key)
    units.sort(key=lambda u: (u.start, u.end))
    return Article(id=path.stem, text=text, title=title, meta=meta, units=units)


def load_webis(path: Path, *, split: str | None = None) -> list[Article]:
    if split is not None and split not in SPLITS:
        raise ValueError(f"unknown Webis split {split!r} (expected train, dev or test)")
    if path.is_dir() and (path / JSONL_NAME).is_file():
        path = path / JSONL_NAME
    if path.is_file() and path.suffix == ".jsonl":
        articles = _from_jsonl(path)
    elif path.is_file():
        articles = [parse_xmi(path, split=XMI_SPLITS.get(path.parent.name))]
    else:
        articles = []
        for xmi in sorted(path.rglob("*.xmi")):
            articles.append(parse_xmi(xmi, split=XMI_SPLITS.get(xmi.parent.name)))
    if split is not None:
        articles = [a for a in articles if a.meta.get("split") == split]
    return articles
