"""arg-microtexts EDUs marked implicit="true": matched in the capitalised text, flagged in meta;
a text whose implicit EDU is missing is skipped with one warning, the rest still loads."""

from __future__ import annotations

import logging
from pathlib import Path

from argmine.corpora import load_corpus

FIXTURES = Path(__file__).parent / "fixtures" / "microtexts"


def test_corpora_microtexts_implicit_edu_is_imported_and_flagged(caplog):
    with caplog.at_level(logging.WARNING, logger="argmine.corpora.microtexts"):
        articles = {a.id: a for a in load_corpus("microtexts", FIXTURES)}
    assert sorted(articles) == ["micro_x001", "micro_x003"]  # x002 skipped, the rest kept
    implicit = articles["micro_x001"]
    units = {u.id: u for u in implicit.units}
    assert (
        implicit.text[units["a3"].start : units["a3"].end] == "SCHOOLS SHOULD\nINTRODUCE UNIFORMS."
    )
    assert units["a3"].label == "Conclusion"  # the central claim
    assert implicit.meta["implicit_edus"] == ["e3"]
    assert implicit.meta["implicit_units"] == ["a3"]
    assert {(r.head, r.tail) for r in implicit.relations} == {("a1", "a3"), ("a2", "a3")}
    plain = articles["micro_x003"]
    assert "implicit_edus" not in plain.meta
    assert [u.label for u in plain.sorted_units()] == ["Evidence", "Evidence", "Conclusion"]
    skipped = [r for r in caplog.records if "micro_x002" in r.getMessage()]
    assert len(skipped) == 1
    assert (
        "implicit EDU e3 'Homework should be banned.' is not in the text" in skipped[0].getMessage()
    )
