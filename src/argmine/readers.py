"""Read articles from files, directories, globs and stdin.

Formats, chosen by file extension:

- ``.txt`` / ``.md``: the file's text, exactly as stored (CRLF and all), so offsets refer to
  the file. The title is the first line when it stands alone as a short header (a Markdown
  ``#`` heading loses its ``#``); it stays part of the text.
- ``.html`` / ``.htm``: main text and title extracted with trafilatura; paragraphs joined by a
  blank line. Offsets refer to this extracted text.
- ``.jsonl``: one object per line with ``text`` and optional ``id``, ``title``, ``meta`` (and
  ``units``/``relations`` in argmine's JSONL format, checked: a unit past the end of the text,
  a relation to no unit or a repeated id is an error naming the line).
- ``.json`` named explicitly is refused (it is not prose: a Label Studio export is converted
  first with ``argmine convert labelstudio``); other suffixes are read as text.

Ids are the file stem (``.txt``/``.md``/``.html``), the given ``id``, or ``<stem>-<line>`` for a
JSONL object without one. ``-`` reads stdin (JSONL when it starts with ``{``, text otherwise).
Bad input raises :class:`~argmine.errors.InputError` naming the file and the problem: no such
file, empty file, binary file, undecodable bytes (with the byte offset), a JSONL line that is
not an object or has no ``text`` (with the line number), duplicate ids.
"""

from __future__ import annotations

import glob
import io
import json
import logging
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from argmine.document import Article, LabelSchema, line_problem
from argmine.errors import InputError

__all__ = [
    "SUPPORTED_SUFFIXES",
    "CheckReport",
    "article_from_text",
    "check_files",
    "decode_bytes",
    "expand_inputs",
    "iter_articles",
    "read_articles",
]

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".jsonl")
STDIN = "-"
_GLOB_CHARS = re.compile(r"[*?\[]")
# Magic numbers of common binary formats, so a PNG is called binary rather than "not UTF-8".
_MAGIC = (
    b"\x89PNG",
    b"GIF8",
    b"\xff\xd8\xff",
    b"%PDF",
    b"PK\x03\x04",
    b"\x1f\x8b",
    b"\x7fELF",
    b"BZh",
    b"\xfd7zXZ",
)
_TITLE_MAX_CHARS = 200


def decode_bytes(data: bytes, source: str) -> str:
    """UTF-8 text of ``data`` (a leading BOM dropped), or an :class:`InputError` saying why not."""
    if not data.strip():
        raise InputError(source, "file is empty" if not data else "file has only whitespace")
    if data.startswith(_MAGIC) or b"\x00" in data[:8192]:
        raise InputError(source, "binary file, not text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = data[exc.start]
        raise InputError(
            source,
            f"not UTF-8 text: undecodable byte 0x{bad:02x} at byte offset {exc.start} "
            "(re-save the file as UTF-8)",
        ) from None
    return text.removeprefix("\ufeff")


def _title_of(text: str) -> str:
    """The first line when it is a stand-alone short header, else ''."""
    match = re.match(r"\s*([^\r\n]*)(\r\n|\n|\r)\s*(\r\n|\n|\r)", text)
    if not match:
        return ""
    line = match.group(1).strip()
    if line.startswith("#"):
        return line.lstrip("#").strip()
    if len(line) > _TITLE_MAX_CHARS or line.endswith((".", ",", ";", ":")):
        return ""
    return line


def article_from_text(text: str, *, id: str, source: str = "", title: str | None = None) -> Article:
    """An article of plain text (title guessed from a stand-alone first line)."""
    meta = {"source": source} if source else {}
    return Article(id=id, text=text, title=_title_of(text) if title is None else title, meta=meta)


def _read_html(data: bytes, source: str, stem: str) -> Article:
    import trafilatura

    html = decode_bytes(data, source)
    doc = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False)
    body = getattr(doc, "text", None) or ""
    paragraphs = [line.strip() for line in body.splitlines() if line.strip()]
    if not paragraphs:
        raise InputError(source, "no main text found in the HTML")
    title = (getattr(doc, "title", None) or "").strip()
    return Article(
        id=stem,
        text="\n\n".join(paragraphs),
        title=title,
        meta={"source": source, "format": "html"},
    )


def _read_jsonl(text: str, source: str, stem: str) -> Iterator[Article]:
    for number, line in enumerate(text.split("\n"), start=1):
        yield from _jsonl_line(line, number, source, stem)


def _stream_jsonl(path: Path, source: str) -> Iterator[Article]:
    """A JSONL file read line by line (memory does not grow with the file), with the checks
    of :func:`decode_bytes`: empty, binary, not UTF-8 (with the byte offset)."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(source, f"cannot read ({exc.strerror or exc})") from None
    with handle:
        head = handle.peek(8192)[:8192]  # no seek: a pipe (FIFO) streams too
        if head.startswith(_MAGIC) or b"\x00" in head:
            raise InputError(source, "binary file, not text")
        offset = 0
        blank = True
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(
                    source,
                    f"not UTF-8 text: undecodable byte 0x{raw[exc.start]:02x} at byte offset "
                    f"{offset + exc.start} (re-save the file as UTF-8)",
                ) from None
            offset += len(raw)
            if number == 1:
                line = line.removeprefix("\ufeff")
            if line.strip():
                blank = False
                yield from _jsonl_line(line.removesuffix("\n"), number, source, path.stem)
        if blank:
            raise InputError(source, "file is empty" if offset == 0 else "file has only whitespace")


def _jsonl_line(line: str, number: int, source: str, stem: str) -> Iterator[Article]:
    """The article of one JSONL line (nothing for a blank line)."""
    if line.strip():
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(source, f"line {number}: not valid JSON ({exc.msg})") from None
        if not isinstance(data, dict):
            raise InputError(
                source, f"line {number}: expected a JSON object, got {type(data).__name__}"
            )
        if "text" not in data:
            raise InputError(source, f"line {number}: the object has no 'text'")
        if data.get("id") is None:
            data = {**data, "id": f"{stem}-{number}"}
        elif not isinstance(data["id"], (str, int)) or isinstance(data["id"], bool):
            raise InputError(source, f"line {number}: 'id' must be a string, got {data['id']!r}")
        else:
            data = {**data, "id": str(data["id"])}
        if not isinstance(data["text"], str) or not data["text"].strip():
            raise InputError(source, f"line {number}: 'text' must be a non-empty string")
        try:
            article = Article.from_dict(data)
        except (TypeError, ValueError) as exc:
            raise InputError(source, f"line {number}: {exc}") from None
        problem = line_problem(number, article, more="; argmine validate lists them")
        if problem:
            raise InputError(source, problem)
        article.meta.setdefault("source", source)
        yield article


def _read_path(path: Path) -> Iterator[Article]:
    source = str(path)
    if path.suffix.lower() == ".jsonl" and not path.is_dir():
        yield from _stream_jsonl(path, source)
        return
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise InputError(source, "is a directory") from None
    except OSError as exc:
        raise InputError(source, f"cannot read ({exc.strerror or exc})") from None
    suffix = path.suffix.lower()
    if suffix == ".json":  # named explicitly (directories skip it): never read JSON as prose
        raise InputError(
            source,
            "a .json file is not an article: for a Label Studio export run "
            "'argmine convert labelstudio FILE -o FILE.jsonl' first; argmine JSONL ends in .jsonl",
        )
    if suffix in (".html", ".htm"):
        yield _read_html(data, source, path.stem)
    elif suffix == ".jsonl":
        yield from _read_jsonl(decode_bytes(data, source), source, path.stem)
    else:
        text = decode_bytes(data, source)
        yield article_from_text(text, id=path.stem, source=source)


def _read_stdin(stream: IO[bytes] | IO[str]) -> Iterator[Article]:
    raw = stream.read()
    data = raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogateescape")
    text = decode_bytes(data, "<stdin>")
    if text.lstrip().startswith("{"):
        yield from _read_jsonl(text, "<stdin>", "stdin")
    else:
        yield article_from_text(text, id="stdin", source="<stdin>")


def expand_inputs(
    inputs: Sequence[str | Path], *, suffixes: Sequence[str] = SUPPORTED_SUFFIXES
) -> list[str | Path]:
    """Files in reading order: directories recursively (supported suffixes, sorted), globs
    sorted, ``-`` kept; a missing path or an empty glob is an :class:`InputError`. A file
    named twice (``a.txt`` and a directory holding it) is read once."""
    out: list[str | Path] = []
    for item in inputs:
        name = str(item)
        if name == STDIN:
            out.append(STDIN)
            continue
        path = Path(name)
        if path.is_dir() and (path / "argmine.json").is_file():
            # its test.jsonl and README.md would be read as articles without a word
            raise InputError(
                name,
                "a model directory (it has argmine.json), not articles"
                " (argmine tag takes it as --model)",
            )
        if path.is_dir():
            files = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in suffixes
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            if not files:
                raise InputError(name, f"directory has no {', '.join(suffixes)} files")
            out.extend(files)
        elif path.exists():
            out.append(path)
        elif _GLOB_CHARS.search(name):
            matches = sorted(Path(m) for m in glob.glob(name, recursive=True))
            files = [m for m in matches if m.is_file()]
            if not files:
                raise InputError(name, "no files match this pattern")
            out.extend(files)
        else:
            raise InputError(name, "no such file or directory")
    seen: set[Path] = set()
    unique: list[str | Path] = []
    for item in out:
        if item != STDIN:
            key = Path(item).resolve()
            if key in seen:
                continue
            seen.add(key)
        unique.append(item)
    return unique


def iter_articles(
    inputs: Sequence[str | Path], *, stdin: IO[bytes] | IO[str] | None = None
) -> Iterator[Article]:
    """Articles from ``inputs`` (files, directories, globs, ``-`` for ``stdin``) in order.

    Ids are checked for uniqueness across all inputs as the articles stream by.
    """
    seen: dict[str, str] = {}
    for item in expand_inputs(inputs):
        if item == STDIN:
            stream = stdin if stdin is not None else getattr(sys.stdin, "buffer", sys.stdin)
            articles = _read_stdin(stream)
        else:
            articles = _read_path(Path(item))
        for article in articles:
            source = str(article.meta.get("source", item))
            if article.id in seen:
                raise InputError(
                    source,
                    f"duplicate article id {article.id!r} (first seen in {seen[article.id]})",
                )
            seen[article.id] = source
            yield article


def read_articles(
    inputs: Sequence[str | Path], *, stdin: IO[bytes] | IO[str] | None = None
) -> list[Article]:
    """All articles of :func:`iter_articles` as a list."""
    return list(iter_articles(inputs, stdin=stdin))


def text_stream(data: str | bytes) -> IO[bytes]:
    """A binary stream for ``stdin=`` (handy in tests and notebooks)."""
    return io.BytesIO(data.encode("utf-8") if isinstance(data, str) else data)


# --- checking files (argmine validate) -------------------------------------------------------
@dataclass
class CheckReport:
    """What :func:`check_files` found: the articles read, every problem, one line each, and
    notes that are no problem with the data (tasks nobody has annotated yet)."""

    articles: list[Article] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def _sniff_format(path: Path, text: str) -> str:
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return "jsonl"
    if suffix == ".json" or text.lstrip().startswith("["):
        return "labelstudio"
    return "jsonl"


def _check_jsonl(text: str, source: str, schema: LabelSchema | None, report: CheckReport) -> None:
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{source}: line {number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            report.problems.append(f"{where}: not valid JSON ({exc.msg})")
            continue
        if not isinstance(data, dict):
            report.problems.append(f"{where}: expected a JSON object, got {type(data).__name__}")
            continue
        where = f"{where} (article {data.get('id')!r})"
        errors: list[str] = []
        try:
            article = Article.from_dict(data, errors=errors)
        except (TypeError, ValueError) as exc:
            report.problems.append(f"{where}: {exc}")
            continue
        report.problems.extend(f"{where}: {p}" for p in [*errors, *article.problems(schema)])
        report.articles.append(article)


def _check_export(text: str, source: str, schema: LabelSchema | None, report: CheckReport) -> None:
    from argmine.corpora.labelstudio import ImportReport, export_to_articles

    try:
        export = json.loads(text)
    except json.JSONDecodeError as exc:
        report.problems.append(f"{source}: not valid JSON ({exc.msg} at line {exc.lineno})")
        return
    found = ImportReport()
    convert_log = logging.getLogger("argmine.corpora.labelstudio.decode")
    previous = convert_log.level
    convert_log.setLevel(logging.ERROR)  # the issues are listed below, not logged twice
    try:
        articles = export_to_articles(export, schema=schema, report=found)
    except (TypeError, ValueError) as exc:
        report.problems.append(f"{source}: {exc}")
        return
    finally:
        convert_log.setLevel(previous)
    report.problems.extend(f"{source}: {issue}" for issue in found.issues)
    # Unfinished work, not bad data: a pulled export holds every task of the project.
    report.notes.extend(
        f"{source}: task {task}: no submitted annotation yet" for task in found.unannotated
    )
    for article in articles:
        studio = article.meta.get("studio") or {}
        where = f"{source}: task {studio.get('task_id', '?')} (article {article.id!r})"
        report.problems.extend(f"{where}: {p}" for p in article.problems(schema))
        report.articles.append(article)


def check_files(paths: Sequence[str | Path], *, schema: LabelSchema | None = None) -> CheckReport:
    """Read argmine JSONL files or Label Studio JSON exports (format sniffed per file) and
    list every problem with its file, line or task, and article id; duplicate article ids
    across all files are problems too. Unreadable files are problems, not exceptions."""
    report = CheckReport()
    for item in expand_inputs(paths, suffixes=(".jsonl", ".json")):
        if item == STDIN:
            report.problems.append("-: validate reads files, not stdin")
            continue
        path = Path(item)
        source = str(path)
        report.files += 1
        try:
            text = decode_bytes(path.read_bytes(), source)
        except InputError as exc:
            report.problems.append(str(exc))
            continue
        except OSError as exc:
            report.problems.append(f"{source}: cannot read ({exc.strerror or exc})")
            continue
        if _sniff_format(path, text) == "labelstudio":
            _check_export(text, source, schema, report)
        else:
            _check_jsonl(text, source, schema, report)
    seen: set[str] = set()
    for article in report.articles:
        if article.id in seen:
            report.problems.append(f"duplicate article id {article.id!r}")
        seen.add(article.id)
    return report
