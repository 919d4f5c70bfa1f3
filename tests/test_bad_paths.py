"""Bad paths: an output that cannot be written or a YAML option that is a directory fails in one
coded line naming the path, exit code 1, no traceback, and nothing already there is lost."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from argmine.cli import app

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()

ARTICLE = '{"id": "a", "text": "We should act. Because it works."}\n'
#: A directory no process (not even root) may create entries in.
UNWRITABLE = Path("/sys")
needs_unwritable = pytest.mark.skipif(
    not UNWRITABLE.is_dir(), reason="needs /sys (a directory where nothing can be created)"
)
#: An existing file in it whose content does not change.
OLD_OUTPUT = UNWRITABLE / "kernel" / "address_bits"


def _fail(*args: str) -> str:
    """Run the CLI, expect a clean exit 1, return the last line of stderr."""
    result = runner.invoke(app, list(args))
    # a crash is kept in result.exception (never printed): only a clean exit is allowed
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code == 1, (result.exit_code, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert lines, "no error line"
    return lines[-1]


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, Path]:
    jsonl = tmp_path / "good.jsonl"
    jsonl.write_text(ARTICLE, encoding="utf-8")
    text = tmp_path / "ok.txt"
    text.write_text("We should act. Because it works.\n", encoding="utf-8")
    return {"jsonl": jsonl, "txt": text, "export": REPO / "annotations" / "starter.json"}


def _command(name: str, inputs: dict[str, Path], output: Path) -> list[str]:
    return {
        "validate": ["validate", str(inputs["jsonl"])],
        "prelabel": ["prelabel", str(inputs["txt"])],
        "segment": ["segment", str(inputs["txt"])],
        "convert": ["convert", "labelstudio", str(inputs["export"])],
    }[name] + ["-o", str(output)]


COMMANDS = ["validate", "prelabel", "segment", "convert"]


@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize("command", COMMANDS)
def test_bad_paths_output_is_a_directory(tmp_path, inputs, command, force):
    out = tmp_path / "adir"
    (out / "inside").mkdir(parents=True)
    args = _command(command, inputs, out) + (["--force"] if force else [])
    assert _fail(*args) == f"error[E031]: {out}: is a directory"
    assert (out / "inside").is_dir()


@pytest.mark.parametrize("command", COMMANDS)
def test_bad_paths_output_parent_is_a_file(tmp_path, inputs, command):
    parent = tmp_path / "somefile.txt"
    parent.write_text("keep\n", encoding="utf-8")
    out = parent / "deeper" / "x.jsonl"
    line = _fail(*_command(command, inputs, out))
    assert line == f"error[E031]: {out}: cannot write: {parent} is not a directory"
    assert parent.read_text(encoding="utf-8") == "keep\n"


@needs_unwritable
@pytest.mark.parametrize("command", COMMANDS)
def test_bad_paths_output_in_an_unwritable_directory(inputs, command):
    out = UNWRITABLE / "argmine-test.jsonl"
    line = _fail(*_command(command, inputs, out))
    assert line.startswith(f"error[E031]: {out}: cannot write: "), line
    assert not out.exists()


def test_bad_paths_force_to_an_unwritable_place_keeps_the_old_file(tmp_path, inputs, monkeypatch):
    # The rename is what fails (as on a full or read-only disk): the old output stays whole and
    # no temporary file is left beside it.
    import argmine.fileio

    out = tmp_path / "out.jsonl"
    out.write_text("old\n", encoding="utf-8")

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied", str(dst))

    monkeypatch.setattr(argmine.fileio.os, "replace", refuse)
    line = _fail(*_command("validate", inputs, out), "--force")
    assert line == f"error[E031]: {out}: cannot write: Permission denied"
    assert out.read_text(encoding="utf-8") == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.jsonl", "ok.txt", "out.jsonl"]


@pytest.mark.skipif(not OLD_OUTPUT.is_file(), reason=f"needs {OLD_OUTPUT}")
def test_bad_paths_force_over_an_existing_output_in_an_unwritable_directory(inputs):
    old = OLD_OUTPUT.read_bytes()
    before = sorted(p.name for p in OLD_OUTPUT.parent.iterdir())
    line = _fail(*_command("validate", inputs, OLD_OUTPUT), "--force")
    assert line.startswith(f"error[E031]: {OLD_OUTPUT}: cannot write: "), line
    assert OLD_OUTPUT.read_bytes() == old
    assert sorted(p.name for p in OLD_OUTPUT.parent.iterdir()) == before


@pytest.mark.parametrize(
    "args",
    [
        ["prelabel", "{txt}", "--lexicon", "{dir}"],
        ["prelabel", "{txt}", "--schema", "{dir}"],
        ["segment", "{txt}", "--config", "{dir}"],
        ["convert", "labelstudio", "{export}", "--labels", "{dir}"],
        ["serve", "--config", "{dir}"],
    ],
    ids=["prelabel-lexicon", "prelabel-schema", "segment-config", "convert-labels", "serve"],
)
def test_bad_paths_yaml_option_is_a_directory(tmp_path, inputs, args):
    adir = tmp_path / "adir"
    adir.mkdir()
    names = {"dir": str(adir), **{k: str(v) for k, v in inputs.items()}}
    line = _fail(*(a.format(**names) for a in args))
    assert line == f"error[E020]: {adir}: is a directory, not a YAML file"


def _train(output_dir: Path, *extra: str) -> str:
    return _fail(
        "train",
        str(REPO / "configs" / "tiny.yaml"),
        "--set",
        f"output_dir={output_dir}",
        "--set",
        "train.max_steps=2",
        *extra,
    )


@pytest.mark.parametrize("force", [False, True])
def test_bad_paths_train_output_dir_is_a_file(tmp_path, monkeypatch, force):
    import argmine.data

    def no_data(*args, **kwargs):
        raise AssertionError("data loaded before the output_dir check")

    monkeypatch.setattr(argmine.data, "load_sources", no_data)
    out = tmp_path / "model"
    out.write_text("not a model\n", encoding="utf-8")
    line = _train(out, *(["--force"] if force else []))
    assert line == f"error[E031]: {out}: is a file, not a directory"
    assert out.read_text(encoding="utf-8") == "not a model\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_bad_paths_train_output_dir_under_a_file(tmp_path, monkeypatch):
    import argmine.data

    monkeypatch.setattr(argmine.data, "load_sources", None)  # a call would crash
    parent = tmp_path / "somefile.txt"
    parent.write_text("keep\n", encoding="utf-8")
    out = parent / "model"
    assert _train(out) == f"error[E031]: {out}: cannot write: {parent} is not a directory"


@needs_unwritable
def test_bad_paths_train_output_dir_cannot_be_created(monkeypatch):
    import argmine.data

    monkeypatch.setattr(argmine.data, "load_sources", None)  # a call would crash
    out = UNWRITABLE / "argmine-test-model"
    line = _train(out)
    assert line.startswith(f"error[E031]: {out}: cannot create: "), line
    assert not out.exists()
