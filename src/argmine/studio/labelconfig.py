"""The Label Studio labelling interface, generated from the label schema.

:func:`label_config` turns a :class:`~argmine.document.LabelSchema` (``configs/labels.yaml``)
into Label Studio's XML: the article's title and source above the text, one ``Label`` per span
label (colour and hotkey from the schema, description as hover hint), one ``Relation`` per
relation label, and the ``Text`` object the spans are drawn on. The XML is built with
:mod:`xml.etree.ElementTree`, so label names and descriptions are escaped correctly.

Names the rest of :mod:`argmine.studio` relies on (task data keys and result names):

- ``$text``, ``$title``, ``$meta.source``: task ``data`` fields written by
  :func:`argmine.corpora.labelstudio.article_to_task` (``$source`` cannot be shown: Label Studio's
  frontend reserves that name for the whole task);
- ``label`` (the ``Labels`` control, ``from_name`` of span results) and ``text`` (the ``Text``
  object, ``to_name``).

Granularity is ``symbol`` (Label Studio's default, set explicitly): a span is exactly the
characters the annotator selects. ``word`` granularity snaps a selection outwards to whole
words, which moves span ends across punctuation and quotes (a claim ending in ``."`` cannot
end after the quote), and changes what a pre-annotated span looks like once touched; argument
units are clause-sized, so annotators select them by dragging or double-click + shift-click and
precise ends matter more than saving a drag. See docs/studio-offsets.md for how offsets are
counted.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from argmine.corpora.labelstudio.spec import FROM_NAME, TO_NAME
from argmine.document import LabelSchema

__all__ = ["FROM_NAME", "SOURCE_VALUE", "TO_NAME", "label_config"]

SOURCE_VALUE = "$meta.source"

# Keep whitespace (CRLF, tabs, runs of spaces) as it is in the text, so what the annotator sees
# lines up with the offsets; wrap long lines.
_STYLE = ".htx-text, .lsf-htx-richtext { white-space: pre-wrap; }"


def label_config(schema: LabelSchema) -> str:
    """Label Studio XML for ``schema``: title, source, span labels, relations, text."""
    view = ET.Element("View")
    ET.SubElement(view, "Style").text = _STYLE
    ET.SubElement(view, "Header", {"value": "$title", "size": "3"})
    # Not "$source": Label Studio's frontend resolves that name to the whole task as JSON
    # (measured, 1.23.2), so the source is read from the task's meta.
    ET.SubElement(view, "Header", {"value": SOURCE_VALUE, "size": "6", "underline": "false"})
    labels = ET.SubElement(
        view, "Labels", {"name": FROM_NAME, "toName": TO_NAME, "showInline": "true"}
    )
    for span in schema.span_labels:
        attrs = {"value": span.name, "background": span.color}
        if span.hotkey:
            attrs["hotkey"] = span.hotkey
        if span.description:
            attrs["hint"] = " ".join(span.description.split())
        ET.SubElement(labels, "Label", attrs)
    if schema.relation_labels:
        relations = ET.SubElement(view, "Relations")
        for rel in schema.relation_labels:
            ET.SubElement(relations, "Relation", {"value": rel.name, "background": rel.color})
    ET.SubElement(
        view,
        "Text",
        {"name": TO_NAME, "value": "$text", "granularity": "symbol", "saveTextResult": "yes"},
    )
    ET.indent(view, space="  ")
    return ET.tostring(view, encoding="unicode") + "\n"
