"""Rule pre-annotator: the reference article, calibrated scores, relations, lexicon checks."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from argmine.config import load_label_schema
from argmine.document import Article, LabelSchema, dumps_article, loads_article
from argmine.errors import ConfigError
from argmine.prelabel import lexicon_from_dict, load_lexicon, prelabel, score_segment
from argmine.readers import read_articles


@pytest.fixture(scope="module")
def schema() -> LabelSchema:
    return load_label_schema()


@pytest.fixture(scope="module")
def lexicon(schema):
    return load_lexicon(schema=schema)


@pytest.fixture(scope="module")
def reference(reference_path, lexicon, schema) -> Article:
    (article,) = read_articles([reference_path])
    return prelabel(article, lexicon=lexicon, schema=schema)


def test_prelabel_reference_finds_all_labels(reference, schema) -> None:
    assert {u.label for u in reference.units} == set(schema.span_names)
    assert reference.problems(schema) == []
    assert reference.meta["prelabel"] == "rules"


def test_prelabel_reference_units_are_exact_and_scored_below_one(reference) -> None:
    data = reference.to_dict()
    for unit in data["units"]:
        assert reference.text[unit["start"] : unit["end"]] == unit["text"]
        assert unit["text"] == unit["text"].strip()
        assert 0 < unit["score"] < 1
    assert [u["id"] for u in data["units"]] == [f"T{i}" for i in range(1, len(data["units"]) + 1)]


def test_prelabel_reference_skips_title_byline_and_source(reference) -> None:
    texts = [reference.unit_text(u) for u in reference.units]
    assert not any(t.startswith(("A Caravan", "Publication:", "(Source:")) for t in texts)
    assert min(u.start for u in reference.units) > reference.text.index("(Source: Sputnik News)")


def test_prelabel_reference_relations_point_at_existing_units(reference, lexicon) -> None:
    units = {u.id: u for u in reference.units}
    assert reference.relations
    pairs = set()
    for i, rel in enumerate(reference.relations, start=1):
        assert rel.id == f"R{i}"
        assert any(
            units[rel.head].label in rule.head and units[rel.tail].label in rule.tail
            for rule in lexicon.relation_rules
        )
        assert rel.label == lexicon.relation_label and 0 < rel.score < 1
        assert (rel.head, rel.tail) not in pairs and (rel.tail, rel.head) not in pairs
        pairs.add((rel.head, rel.tail))
    # Every unit that can be a head (Evidence, Claim) supports something.
    heads = {r.head for r in reference.relations}
    assert {u.id for u in reference.units if u.label in lexicon.relation_heads} == heads


def test_prelabel_leading_markers_are_trimmed(reference) -> None:
    texts = [reference.unit_text(u) for u in reference.units]
    assert any(t.startswith("this hardly sounds like a constructive response") for t in texts)
    assert not any(t.startswith(("Thus,", "All in all,", "In other words,")) for t in texts)


@pytest.mark.parametrize(
    ("weaker", "stronger", "label", "added"),
    [
        (
            "The deal was signed in 2016 after long talks.",
            "The minister said the deal was signed in 2016 (Japan Times, April 10).",
            "Evidence",
            {"evidence_citation", "evidence_attribution"},  # the source and who said it
        ),
        (
            "This may be a mistake for the region.",
            "This may be a dangerous mistake that we must avoid.",
            "Claim",
            {"claim_modal", "claim_evaluative"},  # "must", "dangerous"
        ),
    ],
)
def test_prelabel_stronger_cues_score_higher(lexicon, weaker, stronger, label, added) -> None:
    weak, strong = score_segment(weaker, lexicon), score_segment(stronger, lexicon)
    assert weak is not None and strong is not None
    assert weak[0] == strong[0] == label
    assert set(weak[2]) < set(strong[2]) and added <= set(strong[2]) - set(weak[2])
    assert strong[1] > weak[1]


def test_prelabel_evidence_links_to_claim_in_same_paragraph(lexicon) -> None:
    text = (
        "The government should scrap the new tax on bread.\n\n"
        "Ministers have clearly misjudged the mood of the voters.\n"
        "“Prices rose by 12 percent in March,” the statistics office said (Reuters, April 2)."
    )
    article = prelabel(Article(id="x", text=text), lexicon=lexicon)
    by_text = {article.unit_text(u): u for u in article.units}
    evidence = next(u for t, u in by_text.items() if t.startswith("“Prices"))
    (relation,) = [r for r in article.relations if r.head == evidence.id]
    assert article.unit_text(article.unit(relation.tail)).startswith("Ministers")


def test_prelabel_labels_come_from_the_lexicon() -> None:
    custom = LabelSchema.from_dict(
        {"spans": {"Fact": {}, "Opinion": {}}, "relations": {"backs": {}}}
    )
    lexicon = lexicon_from_dict(
        {
            "default": {"label": "Opinion", "score": 0.2},
            "groups": {"numbers": {"label": "Fact", "weight": 0.6, "regex": [r"\d+"]}},
            "relations": {"label": "backs", "rules": [{"head": ["Fact"], "tail": ["Opinion"]}]},
        }
    )
    text = "Taxes are far too high for everyone. They rose by 40 percent in ten years."
    article = prelabel(Article(id="c", text=text), lexicon=lexicon, schema=custom)
    assert [u.label for u in article.units] == ["Opinion", "Fact"]
    assert [(r.head, r.tail, r.label) for r in article.relations] == [("T2", "T1", "backs")]
    assert article.problems(custom) == []


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (
            {"groups": {"g": {"label": "Claim", "weight": 0.5, "regex": ["("]}}},
            "bad regular expression",
        ),
        (
            {"groups": {"g": {"label": "Claim", "weight": 1.5, "phrases": ["x"]}}},
            "weight must be in",
        ),
        ({"groups": {"g": {"label": "Claim", "phrase": ["x"]}}}, "groups.g.phrase: unknown key"),
        ({"defaults": {}}, "defaults: unknown key"),
        (
            {"groups": {"g": {"label": "Claim", "where": "end", "phrases": ["x"]}}},
            "groups.g.where: Input should be 'anywhere', 'start' or 'last'",
        ),
        ({"relations": {"label": "supports", "head": ["Evidence"]}}, "relations.head: unknown key"),
        (
            {"relations": {"label": "supports", "rules": [{"head": ["Evidence"], "tail": []}]}},
            "needs head and tail",
        ),
    ],
)
def test_prelabel_lexicon_errors_name_the_bad_value(data, problem) -> None:
    with pytest.raises(ConfigError, match=problem):
        lexicon_from_dict(data)


def test_prelabel_lexicon_label_not_in_schema(schema) -> None:
    lexicon = lexicon_from_dict({"default": {"label": "Opinion"}}, source="my-lexicon.yaml")
    with pytest.raises(ConfigError, match=r"my-lexicon\.yaml: label 'Opinion' is not a span label"):
        lexicon.check(schema)


@pytest.mark.parametrize(
    "text",
    [
        "Taxes Are Not Theft. They Are Rent.\n\nThe council should tax empty homes.",
        "# Taxes Are Not Theft. They Are Rent.\n\nThe council should tax empty homes.",
    ],
)
def test_prelabel_title_of_several_sentences_gets_no_unit(lexicon, text) -> None:
    article = Article(id="t", text=text, title="Taxes Are Not Theft. They Are Rent.")
    out = prelabel(article, lexicon=lexicon)
    assert [out.unit_text(u) for u in out.units] == ["The council should tax empty homes."]


def test_prelabel_last_segment_cue_and_claim_to_conclusion(lexicon) -> None:
    text = (
        "The city should build more housing near the new station.\n\n"
        "Rents rose by 18 percent last year (City Herald, May 2).\n\n"
        "Building near the station is the cheapest way to keep the city affordable."
    )
    article = prelabel(Article(id="h", text=text), lexicon=lexicon)
    labels = [u.label for u in article.units]
    assert labels == ["Claim", "Evidence", "Conclusion"]
    assert [(r.head, r.tail) for r in article.relations] == [("T1", "T3"), ("T2", "T1")]
    # Without the position cue the last sentence is a plain Claim.
    assert score_segment(article.unit_text(article.units[2]), lexicon)[0] == "Claim"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(st.characters(exclude_categories=("Cs",)), max_size=20),
            st.sampled_from(
                [
                    "Thus, the plan failed. ",
                    "“We will win,” he said (AP, May 3). ",
                    "Prices rose 12 percent in 2024. ",
                    "\r\n\r\n",
                    "But although it may work, we should wait. ",
                    "I saw it myself. ",
                    "Is this fair? ",
                ]
            ),
        ),
        max_size=20,
    ).map("".join)
)
def test_prelabel_any_text_gives_valid_articles(text) -> None:
    lexicon = load_lexicon()
    article = prelabel(Article(id="p", text=text or " "), lexicon=lexicon)
    assert article.problems(load_label_schema()) == []
    for unit in article.units:
        piece = article.unit_text(unit)
        assert piece and piece == piece.strip() and 0 < unit.score < 1
    assert loads_article(dumps_article(article)) == article
