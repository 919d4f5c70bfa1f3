"""The cli/ package: one module per command group, all registered through one list."""

from __future__ import annotations

import subprocess
import sys

from typer.main import get_command

from argmine.cli import COMMAND_MODULES, app


def test_cli_package_every_listed_module_registers_its_commands():
    import importlib

    names = set(get_command(app).commands)
    # the first groups (others add theirs: agreement, serve, models, ...)
    core = {"segment", "prelabel", "validate", "convert", "train", "evaluate", "tag", "studio"}
    assert core <= names
    assert len(COMMAND_MODULES) == len(set(COMMAND_MODULES))
    for module in COMMAND_MODULES:
        assert importlib.import_module(f"argmine.cli.{module}").__doc__


def test_cli_package_entry_point_module_runs():
    done = subprocess.run(
        [sys.executable, "-m", "argmine", "--version"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("argmine ")
