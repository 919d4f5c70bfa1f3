"""What argmine's Label Studio JSON looks like: result names and offsets (shared by both sides).

A span is a ``labels`` result (``from_name`` :data:`FROM_NAME`, ``to_name`` :data:`TO_NAME`,
``value`` = ``start``, ``end``, ``text``, ``labels: [name]``; the result ``id`` is the unit id); a
relation is a ``relation`` result (``from_id`` = head, ``to_id`` = tail, ``direction`` "right",
``labels: [name]``; argmine also writes the relation ``id``). The label config
(:mod:`argmine.studio.labelconfig`) names its controls with the same two constants.

Offsets: argmine offsets are Python ``str`` indices (code points). Label Studio's ``start`` and
``end`` are converted at this edge only, by :func:`to_ls_offset` / :func:`from_ls_offset`.
"""

from __future__ import annotations

__all__ = [
    "FROM_NAME",
    "LS_OFFSET_UNIT",
    "TO_NAME",
    "from_ls_offset",
    "ls_text_matches",
    "to_ls_offset",
    "to_ls_text",
]

#: ``from_name`` of span results: the ``Labels`` control of the label config.
FROM_NAME = "label"
#: ``to_name`` of span results: the ``Text`` object the spans are drawn on.
TO_NAME = "text"

# Measured with the real UI (Label Studio 1.23.2, headless Chromium; docs/studio-offsets.md):
# a span selected with the mouse is saved with ``start``/``end`` in Unicode code points, the
# same unit as Python str indices (an emoji counts 1, a ZWJ family emoji 5, "e" + combining
# acute 2, CRLF 2), and predictions given in code points are highlighted on the right
# characters (UTF-16 offsets are shifted by one per earlier emoji). So "codepoint" is the
# identity; "utf16" is kept for servers that count JavaScript UTF-16 units.
LS_OFFSET_UNIT = "codepoint"
_UNITS = ("codepoint", "utf16")


def _bmp_only(text: str) -> bool:
    return text.isascii() or max(text) <= "\uffff"


def _unit(unit: str | None) -> str:
    unit = LS_OFFSET_UNIT if unit is None else unit
    if unit not in _UNITS:
        raise ValueError(f"offset unit must be one of {', '.join(_UNITS)}, got {unit!r}")
    return unit


def to_ls_offset(text: str, offset: int, *, unit: str | None = None) -> int:
    """A Python str index into ``text`` as a Label Studio offset.

    ``unit`` defaults to :data:`LS_OFFSET_UNIT`. Raises ``ValueError`` for an offset outside
    ``0..len(text)``.
    """
    unit = _unit(unit)
    if not 0 <= offset <= len(text):
        raise ValueError(f"offset {offset} is outside the text (length {len(text)})")
    if unit == "codepoint" or _bmp_only(text[:offset]):
        return offset
    return len(text[:offset].encode("utf-16-le")) // 2


def from_ls_offset(text: str, offset: int, *, unit: str | None = None) -> int:
    """A Label Studio offset into ``text`` as a Python str index.

    An offset beyond the end is returned beyond the end (the caller reports it). Raises
    ``ValueError`` if a UTF-16 offset falls inside a character (between two UTF-16 units).
    """
    unit = _unit(unit)
    if unit == "codepoint" or _bmp_only(text):
        return offset
    units = 0
    for index, char in enumerate(text):
        if units == offset:
            return index
        units += 2 if char > "\uffff" else 1
        if units > offset:
            raise ValueError(f"offset {offset} falls inside the character at {index}")
    if units == offset:
        return len(text)
    return len(text) + (offset - units)  # beyond the end: reported by the caller


def to_ls_text(span_text: str) -> str:
    """The region ``text`` Label Studio's UI saves for a selection of ``span_text``.

    Measured: each CR and each LF inside a selection is saved as the two characters
    backslash + "n" (so CRLF becomes two of them); everything else is kept as it is.
    """
    return span_text.replace("\r", "\\n").replace("\n", "\\n")


def ls_text_matches(span_text: str, ls_text: str) -> bool:
    """Whether a region's saved ``text`` is ``span_text`` (as written, or as the UI saves it)."""
    return ls_text == span_text or ls_text == to_ls_text(span_text)
