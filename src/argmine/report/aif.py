"""Argument Interchange Format (AIF) JSON, as read and written by AIFdb and OVA.

One AIF document per article; :func:`render_aif` writes them as JSON Lines (one complete AIF
document per line, so ``head -n 1 out.aif.jsonl > one.json`` is a file OVA and AIFdb import).
Each document::

    {"nodes": [{"nodeID": "1", "text": "<unit text>", "type": "I"},
               {"nodeID": "4", "text": "Default Inference", "type": "RA"},
               {"nodeID": "5", "text": "Default Conflict", "type": "CA"}],
     "edges": [{"edgeID": "1", "fromID": "2", "toID": "4"},      # head I-node -> RA
               {"edgeID": "2", "fromID": "4", "toID": "1"}],     # RA -> tail I-node
     "locutions": [],
     "argmine": {"article_id": ..., "title": ...,
                 "units": {"T1": {"nodeID": "1", "label": "Claim", "start": 0, "end": 42,
                                  "score": 0.91}},
                 "relations": {"R1": {"nodeID": "4", "label": "supports", "head": "T2",
                                      "tail": "T1", "score": 0.77}}}}

I-nodes are the units in text order, then one RA node per ``supports`` relation and one CA
node per ``attacks`` relation (:data:`AIF_NODE_TYPES`), each with exactly one edge in (from
the head unit's I-node) and one edge out (to the tail unit's I-node). Node and edge ids are
numeric strings, as in AIFdb. ``locutions`` is empty: argmine has no speakers or L-nodes.
The ``argmine`` block keeps what AIF has no field for (labels, offsets, scores) and maps unit
and relation ids to node ids; AIF readers ignore it. A relation with another label, or whose
head or tail is not a unit of the article, is left out with one warning per article.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from argmine.document import Article

__all__ = ["AIF_NODE_TEXT", "AIF_NODE_TYPES", "article_to_aif", "render_aif"]

log = logging.getLogger(__name__)

#: Relation label -> AIF scheme node type.
AIF_NODE_TYPES: Mapping[str, str] = {"supports": "RA", "attacks": "CA"}
#: The text AIFdb gives scheme nodes without a named argumentation scheme.
AIF_NODE_TEXT: Mapping[str, str] = {"RA": "Default Inference", "CA": "Default Conflict"}


def article_to_aif(
    article: Article, *, node_types: Mapping[str, str] = AIF_NODE_TYPES
) -> dict[str, Any]:
    """The AIF document of one article (see the module docstring for its shape)."""
    nodes: list[dict[str, str]] = []
    edges: list[dict[str, str]] = []
    units: dict[str, dict[str, Any]] = {}
    relations: dict[str, dict[str, Any]] = {}
    node_of: dict[str, str] = {}
    for unit in article.sorted_units():
        node_id = str(len(nodes) + 1)
        nodes.append({"nodeID": node_id, "text": article.unit_text(unit), "type": "I"})
        node_of[unit.id] = node_id
        units[unit.id] = {
            "nodeID": node_id,
            "label": unit.label,
            "start": unit.start,
            "end": unit.end,
            "score": unit.score,
        }
    skipped: list[str] = []
    for rel in article.relations:
        kind = node_types.get(rel.label)
        if kind is None or rel.head not in node_of or rel.tail not in node_of:
            skipped.append(rel.id)
            continue
        node_id = str(len(nodes) + 1)
        nodes.append({"nodeID": node_id, "text": AIF_NODE_TEXT.get(kind, kind), "type": kind})
        for source, target in ((node_of[rel.head], node_id), (node_id, node_of[rel.tail])):
            edges.append({"edgeID": str(len(edges) + 1), "fromID": source, "toID": target})
        relations[rel.id] = {
            "nodeID": node_id,
            "label": rel.label,
            "head": rel.head,
            "tail": rel.tail,
            "score": rel.score,
        }
    if skipped:
        log.warning(
            "article %s: relations %s left out of AIF (label not one of %s, or head/tail "
            "not a unit)",
            article.id,
            ", ".join(skipped),
            ", ".join(node_types),
        )
    return {
        "nodes": nodes,
        "edges": edges,
        "locutions": [],
        "argmine": {
            "article_id": article.id,
            "title": article.title,
            "units": units,
            "relations": relations,
        },
    }


def render_aif(articles: Iterable[Article]) -> str:
    """One AIF document per article, one per line (JSON Lines)."""
    lines = []
    for article in articles:
        line = json.dumps(article_to_aif(article), ensure_ascii=False)
        # Unicode line breaks escaped, as in argmine JSONL, so every line splits cleanly.
        for char in ("\x85", "\u2028", "\u2029"):
            line = line.replace(char, f"\\u{ord(char):04x}")
        lines.append(line + "\n")
    return "".join(lines)
