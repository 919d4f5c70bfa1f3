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
ThreadsOpt = Annotated[int | None, typer.Option("--threads", min=1, help="torch CPU threads.")]
WindowBatchOpt = Annotated[
    int, typer.Option("--batch-size", min=1, help="Windows per forward pass.")
]
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
    for note in report.notes:
        err.print(f"note: {note}", markup=False, highlight=False)
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
) -> None:
    """Convert a corpus (brat, microtexts, Webis, Label Studio export) to argmine JSONL."""
    if fmt not in CORPUS_FORMATS:
        raise fail(f"unknown format {fmt!r} (expected {', '.join(CORPUS_FORMATS)})")
    if split is not None and (fmt != "webis" or split not in ("train", "dev", "test")):
        raise fail(f"--split {split!r}: only train, dev or test, and only for webis")
    from argmine.corpora import corpus_lines, load_label_map

    mapping = load_label_map(labels) if labels is not None else None
    try:
        count = emit_lines(
            corpus_lines(fmt, path, labels=mapping, split=split), output=output, force=force
        )
    except ValueError as exc:
        raise fail(str(exc)) from None
    err.print(f"ok: {count} articles", markup=False, highlight=False)


@app.command("train")
def train_cmd(
    config: Annotated[Path, typer.Argument(help="Run config YAML (configs/*.yaml).")],
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a config value: key.path=value (repeatable)."),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue from the last checkpoint after a kill.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an existing output directory.")
    ] = False,
) -> None:
    """Fine-tune a token tagger from a run config into its output directory."""
    if resume and force:
        raise fail("--resume and --force exclude each other")
    from argmine.config import load_run_config

    cfg = load_run_config(config, overrides=overrides or [])
    from argmine.train import train_cv

    try:
        result = train_cv(cfg, resume=resume, force=force)
    except ValueError as exc:
        raise fail(str(exc)) from None
    metrics = result.metrics
    if "folds" in metrics:
        summary = (
            f"{metrics['folds']} folds, mean test overlap F1 {metrics['overlap_micro_f1']:.3f} "
            f"(macro {metrics['overlap_macro_f1']:.3f})"
        )
    else:
        split = "test" if "test" in metrics else "dev"
        summary = f"{split} overlap F1 {metrics[split]['overlap']['micro']['f1']:.3f}"
    err.print(
        f"ok: {result.output_dir} in {result.seconds:.0f} s; {summary}",
        markup=False,
        highlight=False,
    )


# --- tagging commands (tag) -----------------------------------------------------------------
TAG_FORMATS = ("jsonl", "csv", "html", "labelstudio")


@app.command("tag")
def tag_cmd(
    inputs: Annotated[
        list[str],
        typer.Argument(
            help="Files (.txt .md .html .jsonl), directories, globs, or - for stdin.",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Output file.", show_default=False)
    ],
    model: Annotated[
        Path | None,
        typer.Option("--model", "-m", help="Model directory (default: models/default/)."),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="jsonl, csv, html or labelstudio.")
    ] = "jsonl",
    resume: Annotated[
        bool, typer.Option("--resume", help="Skip articles already in the output; append.")
    ] = False,
    keep_going: Annotated[
        bool,
        typer.Option("--keep-going", help="Go on after unreadable inputs; exit 0 anyway."),
    ] = False,
    threads: ThreadsOpt = None,
    batch_size: WindowBatchOpt = 16,
    dtype: Annotated[
        str,
        typer.Option(
            "--dtype",
            help="float32, or bfloat16 on CPUs with AMX / AVX512-BF16 (faster there, slower "
            "elsewhere; agreement with float32 in docs/benchmarks.md).",
        ),
    ] = "float32",
    chunk_size: Annotated[
        int,
        typer.Option("--chunk-size", min=1, help="Articles tagged between two atomic writes."),
    ] = 64,
    schema: SchemaOpt = DEFAULT_SCHEMA,
    no_progress: Annotated[
        bool, typer.Option("--no-progress", help="No progress bar on stderr.")
    ] = False,
    force: ForceOpt = False,
) -> None:
    """Tag articles with a trained model: JSONL with scores, CSV, HTML report or Label Studio."""
    if fmt not in TAG_FORMATS:
        raise fail(f"--format {fmt!r}: expected one of {', '.join(TAG_FORMATS)}")
    if resume and force:
        raise fail("--resume and --force contradict each other; pass one of them")
    if dtype not in ("float32", "bfloat16"):
        raise fail(f"--dtype {dtype!r}: expected float32 or bfloat16")
    from argmine.tag import tag_files

    try:
        summary = tag_files(
            inputs,
            model_dir=model,
            output=output,
            fmt=fmt,
            resume=resume,
            force=force,
            keep_going=keep_going,
            threads=threads,
            batch_size=batch_size,
            chunk_size=chunk_size,
            dtype=dtype,
            schema_path=schema,
            progress=not no_progress,
        )
    except ValueError as exc:
        raise fail(str(exc)) from None
    err.print(
        f"tagged {summary.tagged}, skipped {summary.skipped}, failed {len(summary.failed)} "
        f"in {summary.seconds:.1f}s -> {summary.output}",
        markup=False,
        highlight=False,
    )
    for source, reason in summary.failed:
        err.print(f"  failed: {source}: {reason}", markup=False, highlight=False)
    if summary.failed and not keep_going:
        raise typer.Exit(code=1)


@app.command("evaluate")
def evaluate_cmd(
    model: Annotated[Path, typer.Argument(help="Model directory.", show_default=False)],
    data: Annotated[
        Path,
        typer.Argument(
            help="Gold data: argmine JSONL, a Label Studio export (.json), or a corpus path "
            "with --format.",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the scores as JSON here.")
    ] = None,
    fmt: Annotated[
        str,
        typer.Option("--format", "-f", help="auto, jsonl, labelstudio, brat, microtexts or webis."),
    ] = "auto",
    split: Annotated[
        str | None, typer.Option("--split", help="Corpus split (webis: train, dev, test).")
    ] = None,
    threads: ThreadsOpt = None,
    batch_size: WindowBatchOpt = 16,
    force: ForceOpt = False,
) -> None:
    """Span P/R/F1 (exact and >= 0.5 overlap), per label, micro and macro, and a confusion."""
    import json

    from rich.console import Console

    from argmine.evaluate import format_confusion, format_table
    from argmine.fileio import atomic_write_text, check_output
    from argmine.tag import evaluate_model, load_gold

    if output is not None:
        check_output(output, force=force)
    try:
        gold = load_gold(data, fmt=fmt, split=split)
        scores = evaluate_model(model, gold, batch_size=batch_size, threads=threads)
    except ValueError as exc:
        raise fail(str(exc)) from None
    out = Console(highlight=False, width=None if sys.stdout.isatty() else 120)
    out.print(format_table(scores, title=f"Span scores: {model} on {data}"))
    out.print(format_confusion(scores))
    if output is not None:
        atomic_write_text(output, json.dumps(scores, indent=2) + "\n", force=force)
        err.print(f"scores written to {output}", markup=False, highlight=False)


# --- studio commands (argmine studio ...) ---------------------------------------------------
studio_app = typer.Typer(
    name="studio",
    help="Label Studio for annotators: install, up, status, down, push, pull, import.",
    no_args_is_help=True,
)
app.add_typer(studio_app, name="studio")
HomeOpt = Annotated[
    Path,
    typer.Option("--home", help="Where the local Label Studio lives.", show_default=True),
]
DEFAULT_STUDIO_HOME = Path(".argmine")
UrlOpt = Annotated[
    str | None,
    typer.Option("--url", help="Label Studio URL (else $LABEL_STUDIO_URL, .argmine/studio.env)."),
]
TokenOpt = Annotated[
    str | None,
    typer.Option(
        "--token",
        help="API token (else $LABEL_STUDIO_API_KEY, .argmine/studio.env).",
        show_default=False,
    ),
]
ProjectOpt = Annotated[str, typer.Option("--project", help="Project title.", show_default=True)]
StrictOpt = Annotated[
    bool, typer.Option("--strict", help="Refuse the export if anything needed a warning.")
]


def _say(lines: Iterable[str]) -> None:
    for line in lines:
        err.print(line, markup=False, highlight=False)


def _connection(url: str | None, token: str | None, home: Path):  # -> Connection
    from argmine.studio.client import resolve_connection

    return resolve_connection(url=url, token=token, env_file=home / "studio.env")


@studio_app.command("install")
def studio_install_cmd(home: HomeOpt = DEFAULT_STUDIO_HOME) -> None:
    """Install Label Studio into its own venv (.argmine/studio-venv) if it is missing."""
    from argmine.studio.server import LABEL_STUDIO_VERSION, StudioHome, install, is_installed

    studio_home = StudioHome(home)
    if not is_installed(studio_home):
        _say(
            [
                f"installing Label Studio {LABEL_STUDIO_VERSION} into {studio_home.venv} "
                f"(about 1 GB, a few minutes; log: {studio_home.root / 'studio-install.log'})"
            ]
        )
    done = install(studio_home)
    state = "installed" if done else "already installed"
    _say([f"Label Studio {LABEL_STUDIO_VERSION} {state} in {studio_home.venv}"])


@studio_app.command("up")
def studio_up_cmd(
    port: Annotated[int, typer.Option("--port", help="Port on 127.0.0.1.")] = 8080,
    home: HomeOpt = DEFAULT_STUDIO_HOME,
    project: ProjectOpt = "argmine",
    schema: SchemaOpt = DEFAULT_SCHEMA,
) -> None:
    """Start Label Studio locally (installing it if needed) with the argmine project."""
    from argmine.config import load_label_schema
    from argmine.studio.labelconfig import label_config
    from argmine.studio.server import LABEL_STUDIO_VERSION, StudioHome, is_installed, start

    config = label_config(load_label_schema(schema))
    studio_home = StudioHome(home)
    if not is_installed(studio_home):
        _say([f"installing Label Studio {LABEL_STUDIO_VERSION} into {studio_home.venv} (once)"])
    log = studio_home.log_file
    _say([f"starting Label Studio (a minute or more on a fresh data dir; log {log})"])
    info = start(studio_home, port=port, label_config=config, project_title=project)
    for line in info.lines():
        typer.echo(line)


@studio_app.command("status")
def studio_status_cmd(
    url: UrlOpt = None, token: TokenOpt = None, home: HomeOpt = DEFAULT_STUDIO_HOME
) -> None:
    """Is Label Studio installed, running, reachable; how many tasks and annotations."""
    from argmine.errors import StudioError
    from argmine.studio.server import StudioHome, status

    try:
        connection = _connection(url, token, home)
    except StudioError:
        connection = None  # status still says whether it is installed and running
    state = status(StudioHome(home), connection=connection)
    typer.echo(f"installed: {'yes' if state['installed'] else 'no'}")
    typer.echo(f"local server pid: {state['pid'] or 'not running'}")
    typer.echo(f"url: {state['url'] or '-'} ({'up' if state['healthy'] else 'not answering'})")
    project = state["project"]
    if project:
        typer.echo(
            f"project {project['title']!r} (id {project['id']}): {project['task_number']} tasks, "
            f"{project['num_tasks_with_annotations']} annotated, "
            f"{project['total_annotations_number']} annotations"
        )
    if not state["healthy"]:
        raise StudioError("Label Studio is not answering: run `argmine studio up`")


@studio_app.command("down")
def studio_down_cmd(home: HomeOpt = DEFAULT_STUDIO_HOME) -> None:
    """Stop the local Label Studio (SIGTERM, waits for it to exit)."""
    from argmine.studio.server import StudioHome, stop

    pid = stop(StudioHome(home))
    typer.echo(f"stopped Label Studio (pid {pid})" if pid else "Label Studio was not running")


@studio_app.command("push")
def studio_push_cmd(
    inputs: Annotated[
        list[str] | None,
        typer.Argument(
            help="Articles (.txt .md .html .jsonl, directories, globs, - for stdin).",
            show_default=False,
        ),
    ] = None,
    predictions: Annotated[
        Path | None,
        typer.Option("--predictions", help="JSONL with predicted units (e.g. from `argmine tag`)."),
    ] = None,
    model_version: Annotated[
        str | None, typer.Option("--model-version", help="Name shown for the predictions.")
    ] = None,
    order: Annotated[
        str, typer.Option("--order", help="input, or uncertainty (least confident first).")
    ] = "input",
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 50,
    url: UrlOpt = None,
    token: TokenOpt = None,
    home: HomeOpt = DEFAULT_STUDIO_HOME,
    project: ProjectOpt = "argmine",
    schema: SchemaOpt = DEFAULT_SCHEMA,
) -> None:
    """Import articles as tasks pre-annotated by rules (or --predictions); skips known ids."""
    from argmine.config import load_label_schema
    from argmine.errors import InputError
    from argmine.readers import read_articles
    from argmine.studio.push import ORDERS, push_articles

    if order not in ORDERS:
        raise InputError("--order", f"must be one of {', '.join(ORDERS)}, got {order!r}")
    if not inputs and predictions is None:
        raise InputError("push", "give articles to push, or --predictions FILE")
    label_schema = load_label_schema(schema)
    connection = _connection(url, token, home)
    articles = read_articles(inputs) if inputs else []
    predicted = read_articles([str(predictions)]) if predictions is not None else None
    report = push_articles(
        articles,
        connection=connection,
        predictions=predicted,
        model_version=model_version,
        order=order,
        project_title=project,
        schema=label_schema,
        batch_size=batch_size,
    )
    _say(report.lines())


@studio_app.command("pull")
def studio_pull_cmd(
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Label Studio JSON to write (JSONL beside it). "
            "Default: annotations/studio-<project>-<UTC time>.json",
        ),
    ] = None,
    force: ForceOpt = False,
    strict: StrictOpt = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
    home: HomeOpt = DEFAULT_STUDIO_HOME,
    project: ProjectOpt = "argmine",
    schema: SchemaOpt = DEFAULT_SCHEMA,
) -> None:
    """Export every annotator's work (snapshot with full predictions) to JSON + argmine JSONL."""
    from argmine.config import load_label_schema
    from argmine.studio.pull import pull_project

    result = pull_project(
        connection=_connection(url, token, home),
        project_title=project,
        output=output,
        schema=load_label_schema(schema),
        strict=strict,
        force=force,
    )
    _say(result.lines())


@studio_app.command("import")
def studio_import_cmd(
    file: Annotated[Path, typer.Argument(help="A Label Studio JSON export.", show_default=False)],
    output: OutputOpt = None,
    force: ForceOpt = False,
    strict: StrictOpt = False,
    schema: SchemaOpt = DEFAULT_SCHEMA,
) -> None:
    """Convert a Label Studio JSON export (no server needed) to argmine JSONL, with checks."""
    from argmine.config import load_label_schema
    from argmine.document import dumps_article
    from argmine.studio.pull import import_export

    label_schema = load_label_schema(schema)
    if output is None:
        result = import_export(file, schema=label_schema, strict=strict)
        emit_lines((dumps_article(a) for a in result.articles), output=None, force=force)
    else:
        result = import_export(file, output=output, schema=label_schema, strict=strict, force=force)
    _say(result.lines())


# --- backend commands (argmine serve, argmine models ...) -----------------------------------
from argmine.cli_backend import models_app, serve_cmd  # noqa: E402

app.command("serve")(serve_cmd)
app.add_typer(models_app, name="models")


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
