"""Foundation commands: segment, prelabel, validate, convert."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from argmine.cli._util import (
    DEFAULT_SCHEMA,
    ForceOpt,
    InputsArg,
    OutputOpt,
    SchemaOpt,
    app,
    emit_lines,
    err,
    fail,
)
from argmine.errors import CheckFailed, counted

SegmenterOpt = Annotated[
    Path,
    typer.Option("--config", help="Segmenter settings YAML.", show_default=True),
]
DEFAULT_SEGMENTER = Path("configs/segmenter.yaml")


@app.command("segment")
def segment_cmd(
    inputs: InputsArg,
    output: OutputOpt = None,
    force: ForceOpt = False,
    config: SegmenterOpt = DEFAULT_SEGMENTER,
    clauses: Annotated[
        bool | None,
        typer.Option("--clauses/--no-clauses", help="Split sentences at discourse markers."),
    ] = None,
) -> None:
    """Cut articles into paragraphs, sentences and clauses; JSONL with one unit per segment."""
    import dataclasses

    from argmine.document import dumps_article
    from argmine.readers import iter_articles
    from argmine.segment import load_segmenter_config, segment_article

    settings = load_segmenter_config(config)
    if clauses is not None:
        settings = dataclasses.replace(settings, clauses=clauses)
    if output is not None:
        from argmine.fileio import check_output

        check_output(output, force=force)
    emit_lines(
        (dumps_article(segment_article(a, config=settings)) for a in iter_articles(inputs)),
        output=output,
        force=force,
    )


@app.command("prelabel")
def prelabel_cmd(
    inputs: InputsArg,
    output: OutputOpt = None,
    force: ForceOpt = False,
    lexicon: Annotated[
        Path, typer.Option("--lexicon", help="Cue lexicon YAML.", show_default=True)
    ] = Path("configs/lexicon.yaml"),
    schema: SchemaOpt = DEFAULT_SCHEMA,
    config: SegmenterOpt = DEFAULT_SEGMENTER,
) -> None:
    """Rule-based cold-start labels: Claim / Evidence / Conclusion units and supports relations."""
    from argmine.config import load_label_schema
    from argmine.document import dumps_article
    from argmine.prelabel import load_lexicon, prelabel
    from argmine.readers import iter_articles
    from argmine.segment import load_segmenter_config

    rules = load_lexicon(lexicon, schema=load_label_schema(schema))
    settings = load_segmenter_config(config)
    if output is not None:
        from argmine.fileio import check_output

        check_output(output, force=force)
    emit_lines(
        (
            dumps_article(prelabel(a, lexicon=rules, segmenter=settings))
            for a in iter_articles(inputs)
        ),
        output=output,
        force=force,
    )


@app.command("validate")
def validate_cmd(
    files: Annotated[
        list[str],
        typer.Argument(
            help="argmine JSONL files or Label Studio JSON exports.", show_default=False
        ),
    ],
    output: OutputOpt = None,
    force: ForceOpt = False,
    schema: SchemaOpt = DEFAULT_SCHEMA,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Only check; print no articles.")
    ] = False,
) -> None:
    """Check JSONL or Label Studio exports: list every problem (exit 1), else emit the JSONL."""
    from argmine.config import load_label_schema
    from argmine.document import dumps_article
    from argmine.readers import check_files

    label_schema = load_label_schema(schema)
    if output is not None:
        from argmine.fileio import check_output

        check_output(output, force=force)
    report = check_files(files, schema=label_schema)
    for note in report.notes:
        err.print(f"note: {note}", markup=False, highlight=False)
    if not report.ok:
        for problem in report.problems:
            err.print(problem, markup=False, highlight=False)
        raise CheckFailed(
            f"{counted(len(report.problems), 'problem')} in {counted(report.files, 'file')} "
            f"({counted(len(report.articles), 'article')} read)"
        )
    if not quiet:
        emit_lines((dumps_article(a) for a in report.articles), output=output, force=force)
    units = sum(len(a.units) for a in report.articles)
    relations = sum(len(a.relations) for a in report.articles)
    err.print(
        f"ok: {report.files} files, {len(report.articles)} articles, {units} units, "
        f"{relations} relations",
        markup=False,
        highlight=False,
    )


CORPUS_FORMATS = ("jsonl", "labelstudio", "brat", "microtexts", "webis")


@app.command("convert")
def convert_cmd(
    fmt: Annotated[str, typer.Argument(help=f"Corpus format: {', '.join(CORPUS_FORMATS)}.")],
    path: Annotated[Path, typer.Argument(help="Corpus file or folder.")],
    output: OutputOpt = None,
    force: ForceOpt = False,
    labels: Annotated[
        Path | None,
        typer.Option("--labels", help="YAML map source label -> schema label (null drops)."),
    ] = None,
    split: Annotated[
        str | None, typer.Option("--split", help="Webis official split: train, dev or test.")
    ] = None,
    stance_relations: Annotated[
        str | None,
        typer.Option(
            "--stance-relations",
            help="brat: 'first' (default) links each claim's Stance to the first MajorClaim "
            "(For: supports, Against: attacks); 'none' keeps the R lines only.",
        ),
    ] = None,
) -> None:
    """Convert a corpus (brat, microtexts, Webis, Label Studio export) to argmine JSONL."""
    if fmt not in CORPUS_FORMATS:
        raise fail(f"unknown format {fmt!r} (expected {', '.join(CORPUS_FORMATS)})")
    if split is not None and (fmt != "webis" or split not in ("train", "dev", "test")):
        raise fail(f"--split {split!r}: only train, dev or test, and only for webis")
    from argmine.corpora import corpus_lines, load_label_map
    from argmine.corpora.brat import STANCE_POLICIES

    if stance_relations is not None and (fmt != "brat" or stance_relations not in STANCE_POLICIES):
        raise fail(
            f"--stance-relations {stance_relations!r}: only {' or '.join(STANCE_POLICIES)}, "
            "and only for brat"
        )

    mapping = load_label_map(labels) if labels is not None else None
    count = emit_lines(
        corpus_lines(fmt, path, labels=mapping, split=split, stance_relations=stance_relations),
        output=output,
        force=force,
    )
    err.print(f"ok: {count} articles", markup=False, highlight=False)
