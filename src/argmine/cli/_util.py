"""What every command module shares: the app, the error printer, common options, output.

A command module (``argmine/cli/<group>.py``) imports :data:`app` (or adds its own sub-app
to it) and the options it needs from here, and is listed in
:data:`argmine.cli.COMMAND_MODULES`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from typer.core import TyperGroup

from argmine.errors import ArgmineError, UsageError

err = Console(stderr=True, highlight=False, soft_wrap=True)


def show_error(exc: ArgmineError) -> None:
    """Print ``error[<code>]: <message>`` on stderr as plain text (a path like ``nope[x]`` or
    ``[/x]`` is printed as it is). The group handler and :func:`argmine.cli.main` are its only
    callers."""
    typer.echo(exc.line(), err=True)


class _OneLineErrors(TyperGroup):
    """Turns an ArgmineError anywhere below into one line on stderr and exit code 1."""

    def invoke(self, ctx):  # type: ignore[no-untyped-def]
        try:
            return super().invoke(ctx)
        except ArgmineError as exc:
            show_error(exc)
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
EnsembleOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--ensemble",
        help="Another model directory to fuse with --model (repeatable): units by overlap "
        "voting, relations by averaged probabilities.",
        show_default=False,
    ),
]
MinShareOpt = Annotated[
    float,
    typer.Option(
        "--min-share",
        min=0.01,
        max=1.0,
        help="--ensemble: share of the models a fused unit needs (0.5: half, 1: all).",
    ),
]
SchemaOpt = Annotated[
    Path,
    typer.Option("--schema", help="Label schema YAML.", show_default=True),
]
DEFAULT_SCHEMA = Path("configs/labels.yaml")


def fail(message: str) -> UsageError:
    """The error to raise for a bad combination of options (printed by the group handler)."""
    return UsageError(message)


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


InputsArg = Annotated[
    list[str],
    typer.Argument(
        help="Files (.txt .md .html .jsonl), directories, globs, or - for stdin.",
        show_default=False,
    ),
]


def say(lines: Iterable[str]) -> None:
    """Print lines on stderr as they are (no markup)."""
    for line in lines:
        err.print(line, markup=False, highlight=False)


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
