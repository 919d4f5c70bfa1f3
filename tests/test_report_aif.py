"""AIF export: the AIFdb/OVA shape (I, RA and CA nodes, edges, locutions), one document per line."""

from __future__ import annotations

import json
import logging
from collections import Counter

import pytest

from argmine.document import ArgRelation, ArgUnit, Article
from argmine.prelabel import prelabel
from argmine.readers import read_articles
from argmine.report import render_aif, write_report

AIF_TYPES = {"I", "RA", "CA"}


def check_aif(doc: dict, article: Article) -> None:
    """Raise AssertionError unless ``doc`` is a well-formed AIF graph of ``article``.

    The shape AIFdb and OVA read: ``nodes`` (``nodeID``, ``text``, ``type`` in I/RA/CA),
    ``edges`` (``edgeID``, ``fromID``, ``toID``), ``locutions`` empty or one per I-node;
    every RA and CA node has exactly one edge in, from an I-node, and one out, to an I-node.
    """
    assert set(doc) >= {"nodes", "edges", "locutions"}
    assert isinstance(doc["nodes"], list) and isinstance(doc["edges"], list)
    nodes = {}
    for node in doc["nodes"]:
        assert set(node) >= {"nodeID", "text", "type"}, node
        assert isinstance(node["nodeID"], str) and isinstance(node["text"], str)
        assert node["type"] in AIF_TYPES, node
        assert node["nodeID"] not in nodes, f"duplicate nodeID {node['nodeID']}"
        nodes[node["nodeID"]] = node
    edge_ids = [e["edgeID"] for e in doc["edges"]]
    assert len(edge_ids) == len(set(edge_ids))
    incoming: dict[str, list[str]] = {n: [] for n in nodes}
    outgoing: dict[str, list[str]] = {n: [] for n in nodes}
    for edge in doc["edges"]:
        assert set(edge) >= {"edgeID", "fromID", "toID"}, edge
        assert edge["fromID"] in nodes and edge["toID"] in nodes, edge
        outgoing[edge["fromID"]].append(edge["toID"])
        incoming[edge["toID"]].append(edge["fromID"])
    for node_id, node in nodes.items():
        if node["type"] in ("RA", "CA"):
            assert len(incoming[node_id]) == 1 and len(outgoing[node_id]) == 1, node
            assert nodes[incoming[node_id][0]]["type"] == "I"
            assert nodes[outgoing[node_id][0]]["type"] == "I"
        else:  # I-nodes connect only through scheme nodes
            for other in incoming[node_id] + outgoing[node_id]:
                assert nodes[other]["type"] in ("RA", "CA")
    i_nodes = [n for n in nodes.values() if n["type"] == "I"]
    assert doc["locutions"] == [] or len(doc["locutions"]) == len(i_nodes)

    # ... and it is this article: one I-node per unit with its text, one RA per support,
    # one CA per attack, from the head unit's I-node to the tail unit's.
    assert sorted(n["text"] for n in i_nodes) == sorted(article.unit_text(u) for u in article.units)
    kinds = Counter(n["type"] for n in nodes.values())
    labels = Counter(r.label for r in article.relations)
    assert kinds["RA"] == labels["supports"] and kinds["CA"] == labels["attacks"]
    block = doc["argmine"]
    assert block["article_id"] == article.id
    node_of = {uid: u["nodeID"] for uid, u in block["units"].items()}
    for rel in article.relations:
        scheme = block["relations"][rel.id]["nodeID"]
        assert nodes[scheme]["type"] == {"supports": "RA", "attacks": "CA"}[rel.label]
        assert incoming[scheme] == [node_of[rel.head]]
        assert outgoing[scheme] == [node_of[rel.tail]]
        assert nodes[node_of[rel.head]]["text"] == article.unit_text(article.unit(rel.head))
        assert block["relations"][rel.id]["score"] == rel.score


TEXT = "Taxes must fall. Growth was 3% last year. Critics say <debt> rises. So: cut them."


def _units() -> list[ArgUnit]:
    pieces = [
        ("Taxes must fall.", "Claim", 0.9),
        ("Growth was 3% last year.", "Evidence", 0.8),
        ("Critics say <debt> rises.", "Evidence", 0.7),
        ("So: cut them.", "Conclusion", None),
    ]
    return [
        ArgUnit(f"T{n}", TEXT.index(p), TEXT.index(p) + len(p), label, score)
        for n, (p, label, score) in enumerate(pieces, start=1)
    ]


def _no_relations() -> Article:
    return Article(id="plain", text=TEXT, title="No relations", units=_units())


def _with_relations() -> Article:
    return Article(
        id="rel",
        text=TEXT,
        title='With "relations"',
        units=_units(),
        relations=[
            ArgRelation("R1", "T2", "T1", "supports", 0.81),
            ArgRelation("R2", "T3", "T1", "attacks", 0.4),
            ArgRelation("R3", "T1", "T4", "supports", None),
        ],
    )


def _reference(reference_path) -> Article:
    return prelabel(read_articles([str(reference_path)])[0])


@pytest.mark.parametrize("which", ["no_relations", "with_relations", "reference"])
def test_report_aif_shape(which, reference_path):
    article = {
        "no_relations": _no_relations,
        "with_relations": _with_relations,
        "reference": lambda: _reference(reference_path),
    }[which]()
    if which == "reference":
        assert article.relations, "the rule pre-labeller should link the reference article"
    lines = render_aif([article]).splitlines()
    assert len(lines) == 1
    check_aif(json.loads(lines[0]), article)


def test_report_aif_validator_rejects_broken_graphs():
    article = _with_relations()
    doc = json.loads(render_aif([article]))
    check_aif(doc, article)
    broken = json.loads(json.dumps(doc))
    broken["edges"] = broken["edges"][1:]  # the first RA node loses its edge in
    with pytest.raises(AssertionError):
        check_aif(broken, article)
    broken = json.loads(json.dumps(doc))
    broken["nodes"][0]["type"] = "L"
    with pytest.raises(AssertionError):
        check_aif(broken, article)


def test_report_aif_one_document_per_line(tmp_path):
    articles = [_no_relations(), _with_relations()]
    path = write_report(articles, tmp_path / "maps.aif.jsonl", fmt="aif")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    for line, article in zip(lines, articles, strict=True):
        check_aif(json.loads(line), article)


def test_report_aif_leaves_out_unknown_relations_with_warning(caplog):
    article = _with_relations()
    article.relations.append(ArgRelation("R9", "T2", "T4", "rephrases", 0.5))
    with caplog.at_level(logging.WARNING, logger="argmine.report"):
        doc = json.loads(render_aif([article]))
    assert "R9" in caplog.text and "rel" in caplog.text
    assert "R9" not in doc["argmine"]["relations"]
    article.relations.pop()
    check_aif(doc, article)
