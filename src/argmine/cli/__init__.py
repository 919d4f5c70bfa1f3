"""The ``argmine`` command: a thin typer layer over the library, one module per command group.

Each command parses and checks its options, calls one library function with keyword
arguments, and prints. Heavy modules (torch, transformers, label_studio_sdk) are imported
inside the command that needs them, so ``argmine --help`` stays fast.

Every :class:`~argmine.errors.ArgmineError` becomes one plain-text line on stderr,
``error[<code>]: <message>``, and exit code 1, printed by the group handler in
:mod:`argmine.cli._util` only (commands raise, they never print errors): no tracebacks for bad
input. The library's loaders turn bad data into ``ArgmineError``; codes: docs/errors.md.

To add a command group, write ``argmine/cli/<group>.py`` that registers its commands on
:data:`argmine.cli._util.app` (or adds a sub-app to it) and add ``"<group>"`` to
:data:`COMMAND_MODULES`; the order of the list is the order of ``argmine --help``.
"""

from __future__ import annotations

from importlib import import_module

from argmine.cli._util import app, err, show_error
from argmine.errors import ArgmineError

__all__ = ["COMMAND_MODULES", "app", "main"]

#: The command modules, each registering its commands on ``app`` when imported.
COMMAND_MODULES = ("foundation", "train", "tag", "studio", "agreement", "serve", "models")

for _name in COMMAND_MODULES:
    import_module(f"{__name__}.{_name}")


def main() -> None:
    """Entry point: run the app, turning argmine errors into one line and exit code 1."""
    try:
        app()
    except ArgmineError as exc:  # raised outside a command (e.g. while parsing)
        show_error(exc)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        err.print("interrupted")
        raise SystemExit(130) from None


if __name__ == "__main__":  # pragma: no cover
    main()
