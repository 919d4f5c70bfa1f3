"""One-line, coded errors for argmine (standard library only).

Every error a user can cause by bad input is an :class:`ArgmineError` with a code. The CLI's
group handler is the one place that prints it: ``error[E002]: <file>: <problem>`` on one line
of plain text, exit code 1, so there is never a traceback for bad input. Library callers get an
ordinary exception they can catch. Each code has a line in docs/errors.md.
"""

from __future__ import annotations

from os import PathLike


def counted(n: int, noun: str) -> str:
    """``"1 problem"``, ``"3 problems"``: a count in a one-line message (regular plurals)."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


class ArgmineError(Exception):
    """Base class: ``str(err)`` is the one line shown to the user."""

    code = "E001"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def line(self) -> str:
        """The line the CLI prints: ``error[<code>]: <message>``."""
        return f"error[{self.code}]: {self.message}"


class UsageError(ArgmineError, ValueError):
    """Options that contradict each other or a value out of range (also a ``ValueError``)."""

    code = "E002"


class InputError(ArgmineError):
    """A file (or stdin) that cannot be read as what it should be."""

    code = "E010"

    def __init__(self, source: str | PathLike[str], problem: str) -> None:
        self.source = str(source)
        self.problem = problem
        super().__init__(f"{self.source}: {problem}")


class ConfigError(ArgmineError):
    """A configuration file or override that is invalid."""

    code = "E020"

    def __init__(self, source: str | PathLike[str], problem: str) -> None:
        self.source = str(source)
        self.problem = problem
        super().__init__(f"{self.source}: {problem}")


class OutputExistsError(ArgmineError):
    """An output would be overwritten without ``--force``."""

    code = "E030"

    def __init__(self, path: str | PathLike[str]) -> None:
        self.path = str(path)
        super().__init__(f"{self.path}: output exists; pass --force to overwrite it")


class OutputError(ArgmineError):
    """An output path that cannot be written: a directory, a file where a directory must be,
    no permission, a full disk."""

    code = "E031"

    def __init__(self, path: str | PathLike[str], problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class ModelError(ArgmineError):
    """A model directory that is missing or incomplete."""

    code = "E040"


class StudioError(ArgmineError):
    """Label Studio is unreachable, refused a request, or returned something unexpected."""

    code = "E050"


class CheckFailed(ArgmineError):
    """``argmine validate`` found problems (each listed above the summary)."""

    code = "E011"


#: Every error class, for the docs and the test that keeps docs/errors.md complete.
ERRORS: tuple[type[ArgmineError], ...] = (
    ArgmineError,
    UsageError,
    InputError,
    CheckFailed,
    ConfigError,
    OutputExistsError,
    OutputError,
    ModelError,
    StudioError,
)
