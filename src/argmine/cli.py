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
