"""Corpus importers: brat, microtexts XML, Webis XMI/JSONL, JSONL and Label Studio exports."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from argmine.corpora import apply_label_map, load_corpus
from argmine.document import ArgRelation, ArgUnit, Article, dumps_article
from argmine.errors import InputError

FIXTURES = Path(__file__).parent / "fixtures"


def texts(article: Article) -> list[tuple[str, str]]:
    return [(article.unit_text(u), u.label) for u in article.sorted_units()]


def test_corpora_brat_units_relations_attributes():
    (article,) = load_corpus("brat", FIXTURES / "brat")
    assert texts(article) == [
        ("School uniforms should be mandatory", "Conclusion"),
        ("They reduce bullying", "Claim"),
        ("a 2019 survey of 500 schools found", "Evidence"),
        ("uniforms limit expression", "Claim"),
    ]
    assert {(r.head, r.tail, r.label) for r in article.relations} == {
        ("T3", "T2", "supports"),
        ("T4", "T1", "attacks"),
        ("T2", "T1", "supports"),  # T2's Stance For: a link to the major claim
    }
    assert article.meta["attributes"] == {"T2": {"Stance": "For"}, "T4": {"Stance": "Against"}}


@pytest.mark.parametrize(
    ("mapping", "kept"),
    [
        ({"MajorClaim": "Conclusion", "Claim": "Claim", "Premise": None}, 3),
        ({"MajorClaim": "Conclusion", "Claim": None, "Premise": "Evidence"}, 2),
    ],
)
def test_corpora_brat_mapping_drops_units_and_their_relations(mapping, kept):
    (article,) = load_corpus("brat", FIXTURES / "brat", labels=mapping)
    assert len(article.units) == kept
    ids = {u.id for u in article.units}
    assert all(r.head in ids and r.tail in ids for r in article.relations)


def test_corpora_brat_bad_line_warns_and_skips(tmp_path, caplog):
    (tmp_path / "d.txt").write_text("One two three.")
    (tmp_path / "d.ann").write_text(
        "T1\tClaim 0 3\tOne\nT2\tClaim 4 99\tbad\nR1\tsupports Arg1:T9\n"
    )
    with caplog.at_level(logging.WARNING, logger="argmine.corpora.brat"):
        (article,) = load_corpus("brat", tmp_path)
    assert [u.id for u in article.units] == ["T1"]
    assert "skipped or repaired 2 line" in caplog.text


def test_corpora_brat_missing_txt_is_input_error(tmp_path):
    (tmp_path / "d.ann").write_text("T1\tClaim 0 3\tOne\n")
    with pytest.raises(InputError, match=r"\.txt"):
        load_corpus("brat", tmp_path)


MICRO = """<?xml version='1.0' encoding='UTF-8'?>
<arggraph id="micro_x" topic_id="t" stance="pro">
  <edu id="e1"><![CDATA[Cities should ban cars.]]></edu>
  <edu id="e2"><![CDATA[Air would be cleaner,]]></edu>
  <edu id="e3"><![CDATA[as studies show.]]></edu>
  <edu id="e4"><![CDATA[Some say shops would suffer.]]></edu>
  <edu id="e5"><![CDATA[But footfall rises.]]></edu>
  <adu id="a1" type="pro"/><adu id="a2" type="pro"/><adu id="a3" type="pro"/>
  <adu id="a4" type="opp"/><adu id="a5" type="pro"/>
  <edge id="s1" src="e1" trg="a1" type="seg"/><edge id="s2" src="e2" trg="a2" type="seg"/>
  <edge id="s3" src="e3" trg="a3" type="seg"/><edge id="s4" src="e4" trg="a4" type="seg"/>
  <edge id="s5" src="e5" trg="a5" type="seg"/>
  <edge id="c1" src="a2" trg="a1" type="sup"/>
  <edge id="c2" src="a3" trg="a2" type="exa"/>
  <edge id="c3" src="a4" trg="a1" type="reb"/>
  <edge id="c4" src="a5" trg="c3" type="und"/>
</arggraph>
"""


def test_corpora_microtexts_roles_and_relations(tmp_path):
    (tmp_path / "micro_x.xml").write_text(MICRO)
    text = "Cities should ban cars. Air would be cleaner, as studies show. Some say shops would "
    text += "suffer. But footfall rises."
    (tmp_path / "micro_x.txt").write_text(text + "\n")
    (article,) = load_corpus("microtexts", tmp_path)
    assert article.text == text
    assert texts(article) == [
        ("Cities should ban cars.", "Conclusion"),
        ("Air would be cleaner,", "Claim"),
        ("as studies show.", "Evidence"),
        ("Some say shops would suffer.", "Claim"),
        ("But footfall rises.", "Evidence"),
    ]
    assert {(r.head, r.tail, r.label) for r in article.relations} == {
        ("a2", "a1", "supports"),
        ("a3", "a2", "supports"),
        ("a4", "a1", "attacks"),
        ("a5", "a4", "attacks"),
    }
    assert article.meta["edge_types"]["c4"] == "und"


XMI = """<?xml version="1.0" encoding="utf-8"?><xmi:XMI xmlns:xmi="http://www.omg.org/XMI"
 xmlns:cas="http:///uima/cas.ecore"
 xmlns:argumentation="http:///de/aitools/ie/uima/type/argumentation.ecore" xmi:version="2.0">
<argumentation:ArgumentativeDiscourseUnit xmi:id="6" sofa="9" begin="0" end="14"
 unitType="assumption"/>
<argumentation:ArgumentativeDiscourseUnit xmi:id="7" sofa="9" begin="15" end="32"
 unitType="statistics"/>
<argumentation:ArgumentativeDiscourseUnit xmi:id="8" sofa="9" begin="33" end="39"
 unitType="no-unit"/>
<argumentation:MetadataWebis16Editorials xmi:id="2" sofa="9" begin="0" end="40" portal="p"
 title="T" url="u" authors="a" lastUpdate="d"/>
<cas:Sofa xmi:id="9" sofaNum="1" sofaID="_InitialView" mimeType="text"
 sofaString="Taxes are bad. Up 5% since 2019. Thanks"/>
</xmi:XMI>
"""


@pytest.mark.parametrize("split_dir", ["training", "test"])
def test_corpora_webis_xmi_official_split_and_mapping(tmp_path, split_dir):
    folder = tmp_path / "annotated-xmi" / split_dir
    folder.mkdir(parents=True)
    (folder / "001-x.xmi").write_text(XMI)
    (article,) = load_corpus("webis", tmp_path)
    assert article.meta["split"] == {"training": "train", "test": "test"}[split_dir]
    assert article.title == "T"
    assert texts(article) == [("Taxes are bad.", "Claim"), ("Up 5% since 2019.", "Evidence")]
    wanted = "train" if split_dir == "test" else "test"
    with pytest.raises(InputError, match="no webis documents"):
        load_corpus("webis", tmp_path, split=wanted)


def test_corpora_webis_real_corpus_matches_readme_counts(corpora):
    articles = load_corpus("webis", corpora / "webis-editorials-16", labels={})
    assert len(articles) == 300
    raw = load_corpus(
        "webis",
        corpora / "webis-editorials-16",
        labels={
            k: k
            for k in [
                "assumption",
                "anecdote",
                "testimony",
                "statistics",
                "common-ground",
                "other",
                "no-unit",
            ]
        },
    )
    assert sum(len(a.units) for a in raw) == 16700
    test = load_corpus("webis", corpora / "webis-editorials-16", split="test")
    assert len(test) == 60
    assert {u.label for a in test for u in a.units} == {"Claim", "Evidence"}


def test_corpora_microtexts_real_corpus(corpora):
    articles = load_corpus("microtexts", corpora / "arg-microtexts")
    assert len(articles) == 112
    assert sum(1 for a in articles for u in a.units if u.label == "Conclusion") == 112
    assert sum(len(a.relations) for a in articles) == 464


def test_corpora_jsonl_and_labelstudio_round_trip(tmp_path):
    from argmine.corpora.labelstudio import articles_to_export

    article = Article(
        id="a1",
        text="Rents rose 8%. So cap them.",
        units=[ArgUnit("T1", 0, 14, "Evidence"), ArgUnit("T2", 15, 27, "Conclusion")],
        relations=[ArgRelation("R1", "T1", "T2", "supports")],
    )
    (tmp_path / "a.jsonl").write_text(dumps_article(article) + "\n")
    (loaded,) = load_corpus("jsonl", tmp_path / "a.jsonl")
    assert loaded.units == article.units and loaded.relations == article.relations
    (tmp_path / "export.json").write_text(json.dumps(articles_to_export([article])))
    (from_ls,) = load_corpus("labelstudio", tmp_path / "export.json")
    assert texts(from_ls) == texts(article)
    assert len(from_ls.relations) == 1


def test_corpora_unmapped_label_warns(caplog):
    article = Article(id="a", text="abc def", units=[ArgUnit("T1", 0, 3, "Odd")])
    with caplog.at_level(logging.WARNING, logger="argmine.corpora"):
        (out,) = apply_label_map([article], {"Claim": "Claim"}, source="s")
    assert out.units == []
    assert "'Odd' x1" in caplog.text


@pytest.mark.parametrize("fmt", ["brat", "microtexts", "webis", "jsonl"])
def test_corpora_missing_path_is_input_error(tmp_path, fmt):
    with pytest.raises(InputError, match="no such file"):
        load_corpus(fmt, tmp_path / "nope")


def test_corpora_convert_cli_writes_jsonl_and_refuses_overwrite(tmp_path):
    from typer.testing import CliRunner

    from argmine.cli import app
    from argmine.document import iter_jsonl_articles

    out = tmp_path / "essays.jsonl"
    runner = CliRunner()
    done = runner.invoke(app, ["convert", "brat", str(FIXTURES / "brat"), "-o", str(out)])
    assert done.exit_code == 0, done.output
    (article,) = list(iter_jsonl_articles(out.read_text().splitlines()))
    # 2 R lines and T2's Stance For as a relation to the major claim
    assert len(article.units) == 4 and len(article.relations) == 3
    again = runner.invoke(app, ["convert", "brat", str(FIXTURES / "brat"), "-o", str(out)])
    assert again.exit_code == 1
    mapping = tmp_path / "map.yaml"
    mapping.write_text("MajorClaim: Claim\nClaim: Claim\nPremise: null\n")
    relabel = runner.invoke(
        app,
        [
            "convert",
            "brat",
            str(FIXTURES / "brat"),
            "-o",
            str(out),
            "--force",
            "--labels",
            str(mapping),
        ],
    )
    assert relabel.exit_code == 0, relabel.output
    (article,) = list(iter_jsonl_articles(out.read_text().splitlines()))
    assert {u.label for u in article.units} == {"Claim"}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["convert", "xml", "x"],
            "error[E002]: unknown format 'xml' (expected jsonl, labelstudio, brat, microtexts, "
            "webis)",
        ),
        (
            ["convert", "brat", "x", "--split", "dev"],
            "error[E002]: --split 'dev': only train, dev or test, and only for webis",
        ),
    ],
)
def test_corpora_convert_cli_bad_input_one_line(args, expected):
    from typer.testing import CliRunner

    from argmine.cli import app

    done = CliRunner().invoke(app, args)
    assert done.exit_code == 1 and isinstance(done.exception, SystemExit)
    assert done.stderr == expected + "\n"


def test_load_gold_webis_says_it_has_no_conclusion(tmp_path):
    """`argmine evaluate --format webis` knows the corpus annotates no Conclusion (its
    assumptions are Claims) and no relations; --unannotated none takes that back."""
    from argmine.data import relations_annotated, unannotated_labels
    from argmine.tag import load_gold

    folder = tmp_path / "annotated-xmi" / "test"
    folder.mkdir(parents=True)
    (folder / "001-x.xmi").write_text(XMI)
    (article,) = load_gold(tmp_path, fmt="webis")
    assert unannotated_labels(article) == {"Conclusion": ["O", "Claim"]}
    assert not relations_annotated(article)
    (article,) = load_gold(tmp_path, fmt="webis", unannotated={})
    assert unannotated_labels(article) == {}
    jsonl = tmp_path / "gold.jsonl"
    jsonl.write_text(dumps_article(article) + "\n", encoding="utf-8")
    (plain,) = load_gold(jsonl)
    assert unannotated_labels(plain) == {}
