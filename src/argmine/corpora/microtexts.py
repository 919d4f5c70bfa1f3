"""arg-microtexts (Peldszus & Stede 2015) ``arggraph`` XML -> articles with relations.

Text: the ``.txt`` beside each ``.xml`` (else the EDUs joined by spaces); each EDU is found in it
in order. A unit is an ADU (the hull of its EDUs). Source labels, by the unit's role in the graph:

* ``central_claim``: the ADU with no outgoing relation (default -> Conclusion);
* ``claim``: another ADU that some relation targets (it is argued for or against; -> Claim);
* ``premise``: a proponent ADU that nothing targets (-> Evidence);
* ``objection``: an opponent ADU that nothing targets (-> Claim).

Relations: ``sup``/``exa`` -> supports, ``reb`` -> attacks (head = src ADU, tail = trg ADU);
``und`` (attacks an edge) -> attacks the edge's source ADU; ``add`` (joins a linked premise)
-> the target edge's label and tail. ``meta`` keeps topic_id, stance and the original edge type
per relation (``meta["edge_types"]``).

An EDU marked ``implicit="true"`` (an implicit claim, written apart in the .txt, in capitals at
the end) is matched anywhere in the text ignoring case and flagged in ``meta["implicit_edus"]``
and ``meta["implicit_units"]``; a text whose implicit EDU is not in it is skipped with one
warning, and the rest of the corpus loads.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from argmine.document import ArgRelation, ArgUnit, Article
from argmine.errors import InputError

log = logging.getLogger(__name__)

EDGE_LABELS = {"sup": "supports", "exa": "supports", "reb": "attacks", "und": "attacks"}


def _find_implicit(text: str, etext: str) -> tuple[int, int] | None:
    """An implicit EDU in the text: written apart (the corpus puts it in capitals at the end),
    so matched anywhere, ignoring case and with any whitespace between its words."""
    words = etext.split()
    if not words:
        return None
    pattern = re.compile(r"\s+".join(re.escape(w) for w in words), re.IGNORECASE)
    matches = list(pattern.finditer(text))
    return (matches[-1].start(), matches[-1].end()) if matches else None


def parse_arggraph(xml_text: str, text: str | None, *, source: str) -> Article | None:
    """One arggraph as an article; ``None`` (with one warning) when an implicit EDU is not in
    the text, so the rest of a corpus still loads."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as exc:
        raise InputError(source, f"not valid XML ({exc})") from None
    if root.tag != "arggraph":
        raise InputError(source, f"root element is {root.tag!r}, not 'arggraph'")
    edus = {e.get("id"): (e.text or "").strip() for e in root.findall("edu")}
    implicit = {
        e.get("id") for e in root.findall("edu") if (e.get("implicit") or "").lower() == "true"
    }
    if text is None:
        text = " ".join(edus.values())
    spans: dict[str, tuple[int, int]] = {}
    pos = 0
    for eid, etext in edus.items():
        if eid in implicit:
            span = _find_implicit(text, etext)
            if span is None:
                log.warning(
                    "%s: implicit EDU %s %r is not in the text; this text is skipped",
                    source,
                    eid,
                    etext[:40],
                )
                return None
            spans[eid] = span
            continue
        found = text.find(etext, pos)
        if found < 0 or not etext:
            raise InputError(source, f"EDU {eid} {etext[:40]!r} not found in the text")
        spans[eid] = (found, found + len(etext))
        pos = found + len(etext)
    adus = {a.get("id"): a.get("type", "pro") for a in root.findall("adu")}
    edges = {e.get("id"): (e.get("src"), e.get("trg"), e.get("type")) for e in root.findall("edge")}
    members: dict[str, list[str]] = {a: [] for a in adus}
    for src, trg, kind in edges.values():
        if kind == "seg" and trg in members and src in spans:
            members[trg].append(src)

    def resolve(edge_id: str, depth: int = 0) -> tuple[str, str] | None:
        """(label, tail ADU) of an argumentative edge, following add/und to ADUs."""
        if edge_id not in edges or depth > 10:
            return None
        _src, trg, kind = edges[edge_id]
        if kind == "add":
            return resolve(trg, depth + 1)
        label = EDGE_LABELS.get(kind)
        if label is None:
            return None
        if trg in adus:
            return label, trg
        if kind == "und" and trg in edges:
            return label, edges[trg][0]  # attacks the premise of the undercut inference
        return None

    relations: list[ArgRelation] = []
    edge_types: dict[str, str] = {}
    outgoing: set[str] = set()
    targeted: set[str] = set()
    for edge_id, (src, _trg, kind) in edges.items():
        if kind == "seg" or src not in adus:
            continue
        outgoing.add(src)
        resolved = resolve(edge_id)
        if resolved is None or resolved[1] == src:
            continue
        label, tail = resolved
        targeted.add(tail)
        relations.append(ArgRelation(id=edge_id, head=src, tail=tail, label=label))
        edge_types[edge_id] = kind
    units = []
    for adu, kind in adus.items():
        if not members[adu]:
            log.warning("%s: ADU %s has no EDU; skipped", source, adu)
            continue
        start = min(spans[e][0] for e in members[adu])
        end = max(spans[e][1] for e in members[adu])
        if adu not in outgoing:
            role = "central_claim"
        elif adu in targeted:
            role = "claim"
        else:
            role = "premise" if kind == "pro" else "objection"
        units.append(ArgUnit(id=adu, start=start, end=end, label=role))
    known = {u.id for u in units}
    relations = [r for r in relations if r.head in known and r.tail in known]
    meta = {
        "topic_id": root.get("topic_id"),
        "stance": root.get("stance"),
        "edge_types": edge_types,
        "source": source,
    }
    if implicit:  # which EDUs and units are implicit (matched in the text written apart)
        meta["implicit_edus"] = sorted(implicit)
        meta["implicit_units"] = sorted(
            u.id for u in units if any(e in implicit for e in members[u.id])
        )
    units.sort(key=lambda u: u.start)
    return Article(
        id=root.get("id") or Path(source).stem,
        text=text,
        meta=meta,
        units=units,
        relations=relations,
    )


def load_microtexts(path: Path) -> list[Article]:
    """``micro_*.xml`` under ``path`` (``corpus/en`` first if it exists), or one XML file."""
    if path.is_dir():
        english = path / "corpus" / "en"
        files = sorted((english if english.is_dir() else path).rglob("*.xml"))
    else:
        files = [path]
    articles = []
    for xml in files:
        txt = xml.with_suffix(".txt")
        try:
            xml_text = xml.read_text(encoding="utf-8")
            text = txt.read_text(encoding="utf-8").rstrip("\n") if txt.is_file() else None
        except UnicodeDecodeError as exc:
            raise InputError(xml, f"not UTF-8 text (byte offset {exc.start})") from None
        article = parse_arggraph(xml_text, text, source=str(xml))
        if article is not None:
            articles.append(article)
    return articles
