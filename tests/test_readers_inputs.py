"""Readers: formats, directories, globs, stdin, stable ids, and one-line errors for bad input."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from argmine.errors import InputError
from argmine.readers import check_files, iter_articles, read_articles

HTML = (
    "<html><head><title>Rates and Rents</title></head><body><nav>Home | About</nav>"
    "<article><h1>Rates and Rents</h1>"
    "<p>Central banks raised rates eleven times last year, and rents followed within months. "
    "Tenants now pay more than a third of their income on housing in most large cities.</p>"
    "<p>This is a policy failure that should be fixed before the next election, whatever the "
    "cost to the budget, because “housing is a right” as the minister said.</p>"
    "</article><footer>© 2026 Example News</footer></body></html>"
)


def write(path: Path, data: str | bytes) -> Path:
    if isinstance(data, str):
        path.write_bytes(data.encode("utf-8"))
    else:
        path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("name", "content", "text", "title"),
    [
        (
            "crlf.txt",
            "Headline Here\r\n\r\nBody one. Body two.\r\n",
            "Headline Here\r\n\r\nBody one. Body two.\r\n",
            "Headline Here",
        ),
        ("plain.txt", "Just a sentence. And another.", "Just a sentence. And another.", ""),
        (
            "bom.txt",
            "\ufeffTitle\n\nText “quoted” 👍🏽 e\u0301.\n",
            "Title\n\nText “quoted” 👍🏽 e\u0301.\n",
            "Title",
        ),
        (
            "note.md",
            "# A Heading\n\nSome *markdown* text.\n",
            "# A Heading\n\nSome *markdown* text.\n",
            "A Heading",
        ),
    ],
)
def test_readers_text_files_keep_text_exactly(tmp_path, name, content, text, title) -> None:
    path = write(tmp_path / name, content)
    (article,) = read_articles([path])
    assert article.id == Path(name).stem
    assert article.text == text
    assert article.title == title
    assert article.meta["source"] == str(path)


def test_readers_html_extracts_main_text_and_title(tmp_path) -> None:
    (article,) = read_articles([write(tmp_path / "rates.html", HTML)])
    assert article.id == "rates"
    assert article.title == "Rates and Rents"
    assert "Central banks raised rates" in article.text
    assert "“housing is a right”" in article.text
    assert "Home | About" not in article.text and "Example News" not in article.text
    assert "\n\n" in article.text  # paragraphs separated by a blank line


def test_readers_jsonl_ids_titles_meta_and_units(tmp_path) -> None:
    lines = [
        {"id": "x1", "text": "First text.", "title": "T", "meta": {"k": 1}},
        {"text": "Second text."},
        {
            "id": 7,
            "text": "Third one.",
            "units": [{"id": "T1", "start": 0, "end": 5, "label": "Claim"}],
        },
    ]
    path = write(tmp_path / "batch.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n\n")
    articles = read_articles([path])
    assert [a.id for a in articles] == ["x1", "batch-2", "7"]
    assert articles[0].title == "T" and articles[0].meta["k"] == 1
    assert articles[2].units[0].span == (0, 5)


def test_readers_directories_recursive_sorted_and_globs(tmp_path) -> None:
    (tmp_path / "sub").mkdir()
    write(tmp_path / "b.txt", "Bee text here.")
    write(tmp_path / "a.md", "Ay text here.")
    write(tmp_path / "sub" / "c.txt", "Sea text here.")
    write(tmp_path / "ignored.png", b"\x89PNG\r\n\x1a\n")
    assert [a.id for a in read_articles([tmp_path])] == ["a", "b", "c"]
    assert [a.id for a in read_articles([str(tmp_path / "*.txt")])] == ["b"]
    assert [a.id for a in read_articles([str(tmp_path / "**" / "*.txt")])] == ["b", "c"]


@pytest.mark.parametrize(
    ("data", "ids"),
    [
        (b"Text from a pipe. Second sentence.", ["stdin"]),
        (b'{"id": "p1", "text": "piped"}\n{"id": "p2", "text": "jsonl"}\n', ["p1", "p2"]),
    ],
)
def test_readers_stdin_text_or_jsonl(data, ids) -> None:
    assert [a.id for a in iter_articles(["-"], stdin=io.BytesIO(data))] == ids


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("empty.txt", b"", "file is empty"),
        ("blank.txt", b"  \n\n", "only whitespace"),
        ("image.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
        ("nul.txt", b"abc\x00def", "binary file"),
        ("latin1.txt", "Café au lait".encode("latin-1"), "undecodable byte 0xe9 at byte offset 3"),
        ("bad.jsonl", b'{"text": "ok"}\n[1, 2]\n', "line 2: expected a JSON object, got list"),
        ("notext.jsonl", b'{"id": "a"}\n', "line 1: the object has no 'text'"),
        ("broken.jsonl", b'{"text": "ok"}\n\n{"text": \n', "line 3: not valid JSON"),
    ],
)
def test_readers_bad_input_raises_one_line_naming_file(tmp_path, name, content, problem) -> None:
    path = write(tmp_path / name, content)
    with pytest.raises(InputError) as info:
        read_articles([path])
    message = str(info.value)
    assert message.startswith(str(path)) and problem in message and "\n" not in message


@pytest.mark.parametrize(
    ("inputs", "problem"),
    [
        (["missing.txt"], "no such file or directory"),
        (["*.nothing"], "no files match this pattern"),
    ],
)
def test_readers_missing_inputs(tmp_path, monkeypatch, inputs, problem) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match=problem):
        read_articles(inputs)


def test_readers_duplicate_ids_across_files(tmp_path) -> None:
    (tmp_path / "x").mkdir()
    write(tmp_path / "same.txt", "One text.")
    write(tmp_path / "x" / "same.md", "Another text.")
    with pytest.raises(InputError, match="duplicate article id 'same'"):
        read_articles([tmp_path / "same.txt", tmp_path / "x" / "same.md"])


def test_readers_check_files_lists_every_problem(tmp_path) -> None:
    good = {
        "id": "g",
        "text": "Fine text.",
        "units": [{"id": "T1", "start": 0, "end": 4, "label": "Claim"}],
    }
    bad = {
        "id": "b",
        "text": "Short.",
        "units": [{"id": "T1", "start": 0, "end": 60, "label": "Opinion"}],
        "relations": [{"id": "R1", "head": "T1", "tail": "T7", "label": "supports"}],
    }
    path = write(
        tmp_path / "mixed.jsonl", "\n".join(json.dumps(x) for x in (good, bad, [1])) + "\n"
    )
    report = check_files([path])
    assert not report.ok
    joined = "\n".join(report.problems)
    assert "line 2 (article 'b'): unit T1: end 60 is beyond the text length 6" in joined
    assert "label 'Opinion' is not in the schema" not in joined  # no schema given
    assert "tail 'T7' is not a unit" in joined
    assert "line 3: expected a JSON object" in joined
    assert [a.id for a in report.articles] == ["g", "b"]


def test_readers_html_without_main_text(tmp_path) -> None:
    path = write(tmp_path / "blank.htm", "<html><head><title>x</title></head><body></body></html>")
    with pytest.raises(InputError, match="no main text found"):
        read_articles([path])


def test_jsonl_readers_report_a_bad_article_alike(tmp_path) -> None:
    """argmine's own JSONL (tagging input and gold) and Webis' units JSONL name the line, the
    article, its first problem and how many more, in the same words."""
    from argmine.corpora import load_corpus

    units = [  # both past the text
        {"id": "T1", "start": 0, "end": 99, "label": "Claim"},
        {"id": "T2", "start": 5, "end": 50, "label": "Claim"},
    ]
    ok = {"id": "fine", "text": "All good here.", "units": []}
    bad = {"id": "e7", "text": "Short text.", "units": units}
    webis = {"split": "train", "portal": "p", "url": "u", "authors": "a", "lastUpdate": "d"}
    lines = [json.dumps({**ok, **webis}), json.dumps({**bad, **webis})]
    own = write(tmp_path / "gold.jsonl", "\n".join(lines).encode())
    webis_file = write(tmp_path / "webis_editorials16_units.jsonl", "\n".join(lines).encode())
    want = "line 2 (article 'e7'): unit T1: end 99 is beyond the text length 11"
    with pytest.raises(InputError) as info:
        read_articles([own])
    message = str(info.value)
    assert want in message and "(and 1 more; argmine validate lists them)" in message
    with pytest.raises(InputError) as info:
        load_corpus("webis", webis_file)
    assert want in str(info.value) and "(and 1 more)" in str(info.value)
    with pytest.raises(InputError) as info:
        load_corpus("jsonl", own)
    assert want in str(info.value) and "(and 1 more)" in str(info.value)
