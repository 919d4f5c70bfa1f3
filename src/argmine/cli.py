"""The ``argmine`` command: a thin typer layer over the library.

Each command parses and checks its options, calls one library function with keyword
arguments, and prints. Heavy modules (torch, transformers, label_studio_sdk) are imported
inside the command that needs them, so ``argmine --help`` stays fast.

Every :class:`~argmine.errors.ArgmineError` (and ``ValueError`` from bad data) becomes one
line on stderr and exit code 1: no tracebacks for bad input.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from typer.core import TyperGroup

from argmine.errors import ArgmineError

err = Console(stderr=True, highlight=False, soft_wrap=True)


def print_error(message: object) -> None:
    err.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)


class _OneLineErrors(TyperGroup):
    """Turns an ArgmineError anywhere below into one line on stderr and exit code 1."""

    def invoke(self, ctx):  # type: ignore[no-untyped-def]
        try:
            return super().invoke(ctx)
        except ArgmineError as exc:
            print_error(exc)
            raise typer.Exit(code=1) from None


app = typer.Typer(
    cls=_OneLineErrors,
    name="argmine",
    help="Argument mining for commentary: segment, pre-label, annotate, train, tag.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
OutputOpt = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Write here instead of stdout (JSONL)."),
]
ForceOpt = Annotated[bool, typer.Option("--force", help="Overwrite an existing output.")]
SchemaOpt = Annotated[
    Path,
    typer.Option("--schema", help="Label schema YAML.", show_default=True),
]
DEFAULT_SCHEMA = Path("configs/labels.yaml")


def fail(message: str) -> typer.Exit:
    """Print one error line and return the exit to raise."""
    print_error(message)
    return typer.Exit(code=1)


def emit_lines(lines: Iterable[str], *, output: Path | None, force: bool) -> int:
    """Write lines to ``output`` atomically (refusing to overwrite without ``force``) or stdout."""
    from argmine.fileio import atomic_writer, check_output

    if output is None:
        count = 0
        for line in lines:
            sys.stdout.write(line + "\n")
            count += 1
        sys.stdout.flush()
        return count
    check_output(output, force=force)
    count = 0
    with atomic_writer(output, force=force) as handle:
        for line in lines:
            handle.write(line + "\n")
            count += 1
    return count


def _print_version(value: bool) -> None:
    if value:
        from argmine import __version__

        typer.echo(f"argmine {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", is_eager=True, callback=_print_version
        ),
    ] = False,
) -> None:
    """Argument mining for commentary: segment, pre-label, annotate, train, tag."""


# --- foundation commands (segment, prelabel, validate) -------------------------------------
InputsArg = Annotated[
    list[str],
    typer.Argument(
        help="Files (.txt .md .html .jsonl), directories, globs, or - for stdin.",
        show_default=False,
    ),
]
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
    if not report.ok:
        for problem in report.problems:
            err.print(problem, markup=False, highlight=False)
        print_error(
            f"{len(report.problems)} problems in {report.files} files "
            f"({len(report.articles)} articles read)"
        )
        raise typer.Exit(code=1)
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


# --- training commands (convert, train, evaluate) ------------------------------------------


# --- tagging commands (tag) -----------------------------------------------------------------


# --- studio commands (argmine studio ...) ---------------------------------------------------


def main() -> None:
    """Entry point: run the app, turning argmine errors into one line and exit code 1."""
    try:
        app()
    except ArgmineError as exc:  # raised outside a command (e.g. while parsing)
        print_error(exc)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        err.print("interrupted")
        raise SystemExit(130) from None


if __name__ == "__main__":  # pragma: no cover
    main()
