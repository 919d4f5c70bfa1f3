"""The generated Label Studio config: well-formed XML with every label, colour and hotkey."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from argmine.config import load_label_schema
from argmine.document import LabelSchema, RelationLabel, SpanLabel
from argmine.studio.labelconfig import FROM_NAME, TO_NAME, label_config

ODD = LabelSchema(
    span_labels=(
        SpanLabel(name='Claim <"main">', description="a & b\n  c", color="#000000", hotkey="x"),
        SpanLabel(name="Fact's & figures", color="#ffffff"),
    ),
    relation_labels=(RelationLabel(name="<undercuts>", color="#123456"),),
)


@pytest.fixture(params=["repo", "odd"])
def schema(request) -> LabelSchema:
    return load_label_schema() if request.param == "repo" else ODD


def test_studio_labelconfig_has_every_span_label(schema):
    root = ET.fromstring(label_config(schema))
    labels = root.find("Labels")
    assert labels is not None
    assert (labels.get("name"), labels.get("toName")) == (FROM_NAME, TO_NAME)
    found = {el.get("value"): el for el in labels.findall("Label")}
    assert list(found) == list(schema.span_names)
    for span in schema.span_labels:
        el = found[span.name]
        assert el.get("background") == span.color
        assert el.get("hotkey") == (span.hotkey or None)
        assert el.get("hint") == (" ".join(span.description.split()) or None)


def test_studio_labelconfig_has_every_relation_label(schema):
    root = ET.fromstring(label_config(schema))
    relations = root.findall("Relations/Relation")
    assert [r.get("value") for r in relations] == list(schema.relation_names)
    assert [r.get("background") for r in relations] == [r.color for r in schema.relation_labels]


def test_studio_labelconfig_shows_title_and_source_above_the_text(schema):
    root = ET.fromstring(label_config(schema))
    tags = [el.tag for el in root]
    headers = [el.get("value") for el in root.findall("Header")]
    assert headers == ["$title", "$meta.source"]
    text = root.find("Text")
    assert text is not None
    assert (text.get("name"), text.get("value")) == (TO_NAME, "$text")
    assert text.get("granularity") == "symbol"
    assert tags.index("Header") < tags.index("Text")


def test_studio_labelconfig_without_relations_has_no_relations_tag():
    schema = LabelSchema(span_labels=(SpanLabel(name="Claim"),), relation_labels=())
    root = ET.fromstring(label_config(schema))
    assert root.find("Relations") is None
    assert [el.get("value") for el in root.findall("Labels/Label")] == ["Claim"]


@pytest.mark.slow
@pytest.mark.studio
def test_studio_labelconfig_real_server_accepts_it(studio_server, schema, request):
    from argmine.errors import StudioError
    from argmine.studio.client import StudioClient

    client = StudioClient(studio_server.connection)
    config = label_config(schema)
    title = f"labelconfig-{request.node.callspec.id}"
    project_id, _ = client.ensure_project(title, config)
    client.validate_label_config(project_id, config)
    assert client.label_config(project_id).strip() == config.strip()
    # The server does check: a Labels control pointing at no object is refused.
    broken = config.replace(f'toName="{TO_NAME}"', 'toName="nowhere"')
    with pytest.raises(StudioError):
        client.validate_label_config(project_id, broken)
