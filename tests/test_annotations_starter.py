"""The gold annotations in annotations/: Label Studio exports that argmine reads as Articles.

Checks every export against the label schema and the boundary rules of
annotations/GUIDELINES.md, the size and provenance of the starter set and of the long analysis
pieces (longform.json), that the gold reference article lines up with what the readers produce
for ../shared/articles, and that ``argmine validate`` accepts every file (and rejects a
corrupted copy).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from itertools import pairwise
from pathlib import Path

import pytest
from typer.testing import CliRunner

from argmine.cli import app
from argmine.config import load_label_schema
from argmine.corpora.labelstudio import from_ls_offset, load_export
from argmine.document import Article, LabelSchema
from argmine.readers import read_articles

REPO = Path(__file__).resolve().parents[1]
ANNOTATIONS = REPO / "annotations"
EXPORTS = sorted(ANNOTATIONS.glob("*.json"))
STARTER = ANNOTATIONS / "starter.json"
LONGFORM = ANNOTATIONS / "longform.json"
LONGFORM2 = ANNOTATIONS / "longform2.json"  # the second batch (paragraph-level conclusions)
LONGFORM3 = ANNOTATIONS / "longform3.json"  # the third batch (the reference article's genre)
LONGFORM4 = ANNOTATIONS / "longform4.json"  # the fourth (unsourced record, section verdicts)
SHORTFORM = ANNOTATIONS / "shortform.json"  # short op-eds like the starter pieces, training only
LONG_BATCHES = (LONGFORM, LONGFORM2, LONGFORM3, LONGFORM4)  # the long analysis pieces, all batches
REFERENCE_EXPORT = ANNOTATIONS / "caravan-to-nowhere.json"
# The hand-made gold files (other exports, e.g. from `argmine studio pull`, get the general checks).
GOLD = [REFERENCE_EXPORT, STARTER, *LONG_BATCHES, SHORTFORM]
SAMPLE_META = {
    "source": "argmine project-written sample data",
    "author": "argmine team",
    "license": "CC0-1.0",
}
LONGFORM_META = {
    "source": "project-written",
    "written_for": "issue 12: long analysis pieces",
    "author": "argmine team",
    "license": "CC0-1.0",
}
SHORTFORM_META = {**LONGFORM_META, "written_for": "issue 12: short commentary pieces"}
# Leading discourse markers that GUIDELINES.md (section 2, rule 2) keeps out of a unit.
EXCLUDED_MARKERS = (
    "Thus",
    "Indeed",
    "But",
    "And",
    "Yet",
    "However",
    "Instead",
    "Meanwhile",
    "Nevertheless",
    "Nonetheless",
    "In other words",
    "All in all",
    "On balance",
    "Taken as a whole",
    "After all",
    "Clearly",
    "Surely",
    "Obviously",
    "Of course",
    "Illustratively",
    "Notably",
    "On the other hand",
    "Even though",
    "Although",
    "Though",
    "To be sure",
)
MARKER_RE = re.compile(rf"^(?:{'|'.join(re.escape(m) for m in EXCLUDED_MARKERS)})\b[ ,]")


@pytest.fixture(scope="module")
def schema() -> LabelSchema:
    return load_label_schema(REPO / "configs" / "labels.yaml")


def _load(path: Path, schema: LabelSchema) -> list[Article]:
    return load_export(path, schema=schema, strict=True)


@pytest.fixture(scope="module")
def starter(schema) -> list[Article]:
    return _load(STARTER, schema)


@pytest.fixture(scope="module")
def longform(schema) -> list[Article]:
    return [a for path in LONG_BATCHES for a in _load(path, schema)]


def test_annotations_exports_exist() -> None:
    assert REFERENCE_EXPORT in EXPORTS
    assert STARTER in EXPORTS
    assert LONGFORM in EXPORTS
    assert LONGFORM2 in EXPORTS


@pytest.mark.parametrize("path", EXPORTS, ids=lambda p: p.name)
def test_annotations_export_loads_without_problems(path: Path, schema) -> None:
    articles = _load(path, schema)  # strict: any repaired or dropped region raises
    assert articles
    for article in articles:
        assert article.problems(schema) == [], article.id


@pytest.mark.parametrize("path", EXPORTS, ids=lambda p: p.name)
def test_annotations_export_region_texts_equal_slices(path: Path) -> None:
    """Every stored region's text is exactly its slice of the task text (Label Studio side)."""
    export = json.loads(path.read_text(encoding="utf-8"))
    checked = 0
    for task in export:
        text = task["data"]["text"]
        for annotation in task["annotations"]:
            for result in annotation["result"]:
                if result["type"] != "labels":
                    continue
                value = result["value"]
                start = from_ls_offset(text, value["start"])
                end = from_ls_offset(text, value["end"])
                assert text[start:end] == value["text"], (task["data"]["id"], result["id"])
                checked += 1
    assert checked > 0


@pytest.mark.parametrize("path", GOLD, ids=lambda p: p.name)
def test_annotations_units_follow_boundary_rules(path: Path, schema) -> None:
    for article in _load(path, schema):
        units = article.sorted_units()
        for unit in units:
            span = article.unit_text(unit)
            where = f"{article.id} {unit.id} {span[:40]!r}"
            assert span == span.strip(), f"surrounding whitespace: {where}"
            assert "\n" not in span, f"crosses a line break: {where}"
            assert not MARKER_RE.match(span), f"leading discourse marker: {where}"
            assert span[-1] not in ",;:", f"trailing clause punctuation: {where}"
        for first, second in pairwise(units):
            assert first.end <= second.start, f"{article.id}: {first.id} overlaps {second.id}"


@pytest.mark.parametrize("path", EXPORTS, ids=lambda p: p.name)
def test_annotations_every_piece_has_all_labels_and_relations(path: Path, schema) -> None:
    for article in _load(path, schema):
        assert {u.label for u in article.units} == set(schema.span_names), article.id
        assert article.relations, article.id
        assert {r.label for r in article.relations} <= set(schema.relation_names)


@pytest.mark.parametrize("path", GOLD, ids=lambda p: p.name)
def test_annotations_gold_units_all_related(path: Path, schema) -> None:
    """In the gold files every unit takes part in a relation, and attacks occur."""
    articles = _load(path, schema)
    for article in articles:
        linked = {end for r in article.relations for end in (r.head, r.tail)}
        unlinked = [u.id for u in article.units if u.id not in linked]
        assert unlinked == [], f"{article.id}: units in no relation {unlinked}"
    labels = Counter(r.label for a in articles for r in a.relations)
    assert set(labels) == set(schema.relation_names), labels


def test_annotations_ids_unique_across_files(schema) -> None:
    ids = [a.id for path in EXPORTS for a in _load(path, schema)]
    duplicates = sorted(i for i, n in Counter(ids).items() if n > 1)
    assert duplicates == []


def test_annotations_starter_size_and_length(starter) -> None:
    assert len(starter) >= 30
    for article in starter:
        words = len(article.text.split())
        assert 150 <= words <= 500, f"{article.id}: {words} words"
        assert re.fullmatch(r"sample-\d{3}-[a-z0-9-]+", article.id), article.id
        assert article.title and article.text.startswith(article.title)


def test_annotations_starter_marked_as_project_written(starter) -> None:
    for article in starter:
        meta = {k: v for k, v in article.meta.items() if k != "studio"}
        for key, value in SAMPLE_META.items():
            assert meta.get(key) == value, f"{article.id}: meta {key!r} is {meta.get(key)!r}"
        assert isinstance(meta.get("topic"), str) and meta["topic"], article.id
    topics = {a.meta["topic"] for a in starter}
    assert len(topics) >= 10, f"only {len(topics)} topics: {sorted(topics)}"


def _body_paragraphs(article: Article) -> list[str]:
    """The paragraphs after the title line and the byline line (the last may be an author note)."""
    paragraphs = [p for p in article.text.split("\n\n") if p.strip()]
    return paragraphs[2:]


def test_annotations_shortform_size_and_provenance(schema, starter) -> None:
    """The short training pieces: starter-sized, headline first, project-written, own topics."""
    shortform = _load(SHORTFORM, schema)
    assert len(shortform) >= 20
    starter_texts = {a.text for a in starter}
    for article in shortform:
        words = len(article.text.split())
        assert 200 <= words <= 380, f"{article.id}: {words} words"
        assert re.fullmatch(r"short-\d{3}-[a-z0-9-]+", article.id), article.id
        assert article.title and article.text.startswith(article.title + "\n\n"), article.id
        assert min(u.start for u in article.units) > len(article.title), article.id
        assert 8 <= len(article.units) <= 18, f"{article.id}: {len(article.units)} units"
        assert article.text not in starter_texts, article.id
        meta = {k: v for k, v in article.meta.items() if k != "studio"}
        for key, value in SHORTFORM_META.items():
            assert meta.get(key) == value, f"{article.id}: meta {key!r} is {meta.get(key)!r}"
        assert meta.get("words") == words, article.id
    topics = [a.meta["topic"] for a in shortform]
    assert len(set(topics)) == len(topics), f"topics repeat: {sorted(topics)}"


def test_annotations_longform_size_and_length(longform) -> None:
    """Ten or more long analysis pieces: several model windows each, many units per piece."""
    assert len(longform) >= 10
    for article in longform:
        words = len(article.text.split())
        assert 750 <= words <= 1100, f"{article.id}: {words} words"
        assert 7 <= len(_body_paragraphs(article)) <= 12, article.id
        assert re.fullmatch(r"longform-\d{3}-[a-z0-9-]+", article.id), article.id
        assert article.title and article.text.startswith(article.title + "\n\n"), article.id
        assert 25 <= len(article.units) <= 45, f"{article.id}: {len(article.units)} units"
        assert 20 <= len(article.relations) <= 40, f"{article.id}: {len(article.relations)}"


def test_annotations_longform_title_and_byline_unlabelled(longform) -> None:
    """The headline and the publication/byline line are left out (GUIDELINES.md section 1)."""
    for article in longform:
        title, byline = article.text.split("\n\n")[:2]
        first = min(u.start for u in article.units)
        assert first > len(title) + 2 + len(byline), article.id


def test_annotations_longform_marked_as_project_written(longform) -> None:
    for article in longform:
        meta = {k: v for k, v in article.meta.items() if k != "studio"}
        for key, value in LONGFORM_META.items():
            assert meta.get(key) == value, f"{article.id}: meta {key!r} is {meta.get(key)!r}"
        assert meta.get("words") == len(article.text.split()), article.id
        assert isinstance(meta.get("topic"), str) and meta["topic"], article.id
    topics = [a.meta["topic"] for a in longform]
    assert len(set(topics)) == len(topics), f"topics repeat: {sorted(topics)}"


def test_annotations_reference_matches_the_article_as_read(reference_path, schema) -> None:
    """The gold offsets refer to exactly the text the readers give for the reference article."""
    (gold,) = _load(REFERENCE_EXPORT, schema)
    (read,) = read_articles([reference_path])
    assert gold.id == read.id
    assert gold.text == read.text
    assert gold.meta.get("source")
    assert "project-written" not in str(gold.meta.get("source"))


def test_annotations_guidelines_match_label_schema(schema) -> None:
    """GUIDELINES.md quotes each label's description and hotkey from configs/labels.yaml."""
    guidelines = " ".join((ANNOTATIONS / "GUIDELINES.md").read_text(encoding="utf-8").split())
    for label in schema.span_labels:
        assert f"**{label.name}**" in guidelines
        assert " ".join(label.description.split()) in guidelines, label.name
        assert f"`{label.hotkey}`" in guidelines, label.name
    for relation in schema.relation_labels:
        assert f"**{relation.name}**" in guidelines


def test_annotations_validate_command_accepts_all_exports() -> None:
    result = CliRunner().invoke(app, ["validate", "--quiet", *map(str, EXPORTS)])
    assert result.exit_code == 0, result.output


def test_annotations_validate_command_rejects_a_corrupted_copy(tmp_path) -> None:
    export = json.loads(REFERENCE_EXPORT.read_text(encoding="utf-8"))
    results = export[0]["annotations"][0]["result"]
    span = next(r for r in results if r["type"] == "labels")
    span["value"]["labels"] = ["NotALabel"]
    relation = next(r for r in results if r["type"] == "relation")
    relation["to_id"] = "no-such-region"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(export), encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", "--quiet", str(broken)])
    assert result.exit_code == 1


@pytest.mark.parametrize("path", GOLD, ids=lambda p: p.name)
def test_annotations_guidelines_counts_are_current(path: Path, schema) -> None:
    """The unit and relation counts GUIDELINES.md gives for each gold file are the real ones."""
    guidelines = (ANNOTATIONS / "GUIDELINES.md").read_text(encoding="utf-8")
    row = next(line for line in guidelines.splitlines() if line.startswith(f"| `{path.name}`"))
    articles = _load(path, schema)
    units = Counter(u.label for a in articles for u in a.units)
    relations = Counter(r.label for a in articles for r in a.relations)
    spans = ", ".join(f"{units[name]} {name}" for name in schema.span_names)
    rels = ", ".join(f"{relations[name]} {name}" for name in schema.relation_names)
    assert f"{sum(units.values())} units ({spans})" in row
    assert f"{sum(relations.values())} relations ({rels})" in row
    if path == STARTER:
        assert f"{len(articles)} short commentary pieces" in row
        assert f"on {len({a.meta['topic'] for a in articles})} topics" in row
    if path in (*LONG_BATCHES, SHORTFORM):
        kind = "short commentary" if path == SHORTFORM else "long analysis"
        assert f"{len(articles)} {kind} pieces" in row
        assert f"{sum(len(a.text.split()) for a in articles):,} words" in row


def test_annotations_guidelines_worked_examples_are_gold_units(schema) -> None:
    """Every [bracketed] unit in the worked examples is a unit of the gold reference."""
    (gold,) = _load(REFERENCE_EXPORT, schema)
    units = {gold.unit_text(u) for u in gold.units}
    text = (ANNOTATIONS / "GUIDELINES.md").read_text(encoding="utf-8")
    section = text[text.index("## 4. Worked examples") : text.index("## 5. Hard cases")]
    quoted = [q for q in re.findall(r"\[([^\]]+)\]", " ".join(section.split())) if q != "..."]
    assert len(quoted) >= 10
    assert [q for q in quoted if q not in units] == []
