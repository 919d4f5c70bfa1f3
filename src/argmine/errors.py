"""One-line, coded errors for argmine (standard library only).

Every error a user can cause by bad input is an :class:`ArgmineError`. The CLI catches it,
prints ``str(error)`` on one line and exits with code 1, so there is never a traceback for
bad input. Library callers get an ordinary exception they can catch.
"""

from __future__ import annotations

from os import PathLike


class ArgmineError(Exception):
    """Base class: ``str(err)`` is the one line shown to the user."""

    code = "argmine"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InputError(ArgmineError):
    """A file (or stdin) that cannot be read as what it should be."""

    code = "input"

    def __init__(self, source: str | PathLike[str], problem: str) -> None:
        self.source = str(source)
        self.problem = problem
        super().__init__(f"{self.source}: {problem}")


class ConfigError(ArgmineError):
    """A configuration file or override that is invalid."""

    code = "config"

    def __init__(self, source: str | PathLike[str], problem: str) -> None:
        self.source = str(source)
        self.problem = problem
        super().__init__(f"{self.source}: {problem}")


class OutputExistsError(ArgmineError):
    """An output would be overwritten without ``--force``."""

    code = "output-exists"

    def __init__(self, path: str | PathLike[str]) -> None:
        self.path = str(path)
        super().__init__(f"{self.path}: output exists; pass --force to overwrite it")


class ModelError(ArgmineError):
    """A model directory that is missing or incomplete."""

    code = "model"


class StudioError(ArgmineError):
    """Label Studio is unreachable, refused a request, or returned something unexpected."""

    code = "studio"
