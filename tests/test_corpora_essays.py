"""The Argument Annotated Essays in brat: claims' ``Stance`` attributes become relations to the
essay's first major claim, the corpus's ``train-test-split.csv`` is its official split, and an
official split without dev gives part of train to dev."""

from __future__ import annotations

import logging

import pytest

from argmine.config import SplitConfig, run_config_from_dict
from argmine.corpora import load_corpus
from argmine.data import load_sources, split_articles
from argmine.errors import UsageError

# an essay shaped like the corpus's: a major claim in the first paragraph and a restatement in
# the last, claims linked only by Stance, premises by R lines
INTRO = "Should cities ban cars from their centres?\n\n"
BODY = [
    "Cities should ban cars from their centres.",
    "Clean air is the first reason.",
    "Traffic fumes cause most of the smog in town.",
    "Shops may lose customers who drive.",
    "Most shoppers in the centre arrive on foot anyway.",
    "In short, a car-free centre is worth the trouble.",
]


def _essay(folder, name: str, stance_b: str = "Against") -> None:
    text = f"{name}: {INTRO}" + "\n\n".join(BODY) + "\n"  # distinct texts: distinct groups
    spans = []
    for sentence in BODY:
        start = text.index(sentence)
        spans.append((start, start + len(sentence) - 1))  # the final stop left out
    labels = ["MajorClaim", "Claim", "Premise", "Claim", "Premise", "MajorClaim"]
    lines = [
        f"T{k + 1}\t{label} {a} {b}\t{text[a:b]}"
        for k, (label, (a, b)) in enumerate(zip(labels, spans, strict=True))
    ]
    lines += [
        "A1\tStance T2 For",
        f"A2\tStance T4 {stance_b}",
        "R1\tsupports Arg1:T3 Arg2:T2",
        "R2\tattacks Arg1:T5 Arg2:T4",
    ]
    (folder / f"{name}.txt").write_text(text, encoding="utf-8")
    (folder / f"{name}.ann").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def corpus(tmp_path):
    brat = tmp_path / "brat-project-final"
    brat.mkdir()
    for i in range(1, 9):
        _essay(brat, f"essay{i:03d}")
    rows = ['"ID";"SET"']
    rows += [f'"essay{i:03d}";"{"TEST" if i > 6 else "TRAIN"}"' for i in range(1, 9)]
    (tmp_path / "train-test-split.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return brat


def _triples(article):
    units = {u.id: article.unit_text(u) for u in article.units}
    return {(units[r.head][:12], units[r.tail][:12], r.label) for r in article.relations}


def test_essays_stance_links_claims_to_the_first_major_claim(corpus):
    essay = load_corpus("brat", corpus)[0]
    assert _triples(essay) == {
        ("Clean air is", "Cities shoul", "supports"),  # Stance For
        ("Shops may lo", "Cities shoul", "attacks"),  # Stance Against
        ("Traffic fume", "Clean air is", "supports"),  # R1
        ("Most shopper", "Shops may lo", "attacks"),  # R2
    }
    labels = {essay.unit_text(u)[:12]: u.label for u in essay.units}
    assert labels["Cities shoul"] == labels["In short, a "] == "Conclusion"
    # the restated major claim (last paragraph) is a root like the first
    assert not any(r.head == "T6" for r in essay.relations)
    plain = load_corpus("brat", corpus, stance_relations="none")[0]
    assert len(plain.relations) == 2
    assert plain.meta["attributes"] == essay.meta["attributes"]


def test_essays_unknown_stance_value_warns_and_leaves_the_claim_unlinked(tmp_path, caplog):
    _essay(tmp_path, "essay001", stance_b="Neutral")
    with caplog.at_level(logging.WARNING, logger="argmine.corpora.brat"):
        (essay,) = load_corpus("brat", tmp_path)
    assert "'Neutral'" in caplog.text and "essay001.ann" in caplog.text
    assert {r.head for r in essay.relations} == {"T2", "T3", "T5"}


def test_essays_official_split_from_the_corpus_file_and_dev_from_train(corpus):
    essays = load_corpus("brat", corpus)
    assert {a.id: a.meta["split"] for a in essays} == {
        f"essay{i:03d}": "test" if i > 6 else "train" for i in range(1, 9)
    }
    splits = split_articles(essays, SplitConfig(mode="official", dev=0.34), seed=4)
    assert sorted(a.id for a in splits["test"]) == ["essay007", "essay008"]
    assert len(splits["dev"]) == 2 and len(splits["train"]) == 4
    assert not {a.id for a in splits["dev"]} & {a.id for a in splits["train"]}
    again = split_articles(list(reversed(essays)), SplitConfig(mode="official", dev=0.34), seed=4)
    assert {a.id for a in again["dev"]} == {a.id for a in splits["dev"]}
    none = split_articles(essays, SplitConfig(mode="official", dev=0.0), seed=4)
    assert not none["dev"] and len(none["train"]) == 6


def test_essays_stance_relations_in_a_run_config(corpus, tmp_path):
    def config(**source):
        return run_config_from_dict(
            {
                "seed": 1,
                "run": "essays",
                "output_dir": str(tmp_path / "out"),
                "data": {"sources": [{"format": "brat", "path": str(corpus), **source}]},
            }
        )

    labels = ["Claim", "Evidence", "Conclusion"]
    linked = load_sources(config(), labels=labels)
    plain = load_sources(config(stance_relations="none"), labels=labels)
    assert [len(a.relations) for a in linked] == [4] * 8
    assert [len(a.relations) for a in plain] == [2] * 8
    with pytest.raises(Exception, match="stance_relations is only defined for brat"):
        run_config_from_dict(
            {
                "seed": 1,
                "run": "x",
                "output_dir": str(tmp_path / "x"),
                "data": {
                    "sources": [{"format": "jsonl", "path": "x", "stance_relations": "first"}]
                },
            }
        )
    with pytest.raises(UsageError, match="only defined for the brat format"):
        load_corpus("jsonl", corpus, stance_relations="none")


def test_essays_convert_cli_stance_option(corpus, tmp_path):
    from typer.testing import CliRunner

    from argmine.cli import app
    from argmine.document import iter_jsonl_articles

    runner = CliRunner()
    counts = {}
    for policy in ("first", "none"):
        out = tmp_path / f"{policy}.jsonl"
        done = runner.invoke(
            app, ["convert", "brat", str(corpus), "-o", str(out), "--stance-relations", policy]
        )
        assert done.exit_code == 0, done.output
        counts[policy] = [len(a.relations) for a in iter_jsonl_articles(out.open())]
    assert counts == {"first": [4] * 8, "none": [2] * 8}
    bad = runner.invoke(app, ["convert", "webis", str(corpus), "--stance-relations", "none"])
    assert bad.exit_code == 1 and "only for brat" in bad.output


def test_brat_relation_types_any_case_and_abstrct_partial_attack(tmp_path):
    # AbstRCT (Mayer et al. 2020) writes its relation types capitalised, with a Partial-Attack
    text = "Drug A lowered pain. Pain fell by half. The sample was small. Side effects were rare."
    (tmp_path / "abstract1.txt").write_text(text, encoding="utf-8")
    units = ["Drug A lowered pain", "Pain fell by half", "The sample was small", "effects were"]
    lines = [
        f"T{k + 1}\t{label} {text.index(u)} {text.index(u) + len(u)}\t{u}"
        for k, (label, u) in enumerate(zip(["Claim"] + ["Premise"] * 3, units, strict=True))
    ]
    lines += [
        "R1\tSupport Arg1:T2 Arg2:T1",
        "R2\tPartial-Attack Arg1:T3 Arg2:T1",
        "R3\tAttack Arg1:T4 Arg2:T1",
    ]
    (tmp_path / "abstract1.ann").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (doc,) = load_corpus("brat", tmp_path)
    assert [(r.head, r.label) for r in doc.relations] == [
        ("T2", "supports"),
        ("T3", "attacks"),
        ("T4", "attacks"),
    ]
    assert doc.meta["relation_types"] == {"R1": "Support", "R2": "Partial-Attack", "R3": "Attack"}


def test_essays_split_file_not_utf8_is_one_input_error(corpus):
    from argmine.errors import InputError

    (corpus.parent / "train-test-split.csv").write_bytes(b'"ID";"SET"\n"essay\xff01";"TRAIN"\n')
    with pytest.raises(InputError, match=r"train-test-split\.csv: not UTF-8"):
        load_corpus("brat", corpus)
