"""A broken model directory (corrupt weights, wrong types in argmine.json) fails in one line.

Every test copies the session's tiny model into ``tmp_path`` and breaks the copy; the CLI must
exit 1 with ``error[E040]: <file>: <problem>`` and no exception (CliRunner keeps a crash in
``result.exception``). ``argmine serve`` must refuse before it registers a version or starts.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from argmine.cli import app

pytestmark = pytest.mark.slow

runner = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    # a crash is kept in result.exception (never printed): only a clean exit is allowed
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result.exit_code, result.stderr


def _copy(tiny_model: Path, tmp_path: Path, name: str = "model") -> Path:
    model = tmp_path / name
    shutil.copytree(tiny_model, model, ignore=shutil.ignore_patterns("checkpoints"))
    return model


def _set_spec(model: Path, key: str, value: Any) -> None:
    path = model / "argmine.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    if "." in key:
        outer, inner = key.split(".")
        data[outer] = {**(data[outer] or {}), inner: value}
    else:
        data[key] = value
    path.write_text(json.dumps(data), encoding="utf-8")


def _text(tmp_path: Path) -> Path:
    path = tmp_path / "ok.txt"
    path.write_text("Schools should ban phones. Students focus better without them.\n")
    return path


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("max_length", "x", "max_length: expected an integer >= 1, got 'x'"),
        ("stride", 1.5, "stride: expected an integer >= 0, got 1.5"),
        ("thresholds", "a", "thresholds: expected a mapping of label to number, got 'a'"),
        ("thresholds", {"Claim": "x"}, "thresholds.Claim: expected a number, got 'x'"),
        ("min_words", [1], "min_words: expected a mapping of label to integer, got [1]"),
        ("labels", 5, "labels: expected a non-empty list of label names, got 5"),
        ("labels", "abc", "labels: expected a non-empty list of label names, got 'abc'"),
        ("relations", 7, "relations: expected a mapping or null, got 7"),
        ("relations.labels", 5, "relations.labels: expected a list of relation label names"),
        ("relations.max_distance", "x", "relations.max_distance: expected an integer >= 1"),
        ("relations.threshold", "x", "relations.threshold: expected a number or a mapping"),
        ("heads", 7, "heads: expected a mapping or null, got 7"),
        ("heads.bogus", 1, "heads: unknown key 'bogus'"),
        ("heads.hidden", "x", "heads.hidden: expected an integer >= 1, got 'x'"),
        ("run", 5, "run: expected a string, got 5"),
    ],
)
def test_bad_models_spec_types_named_in_one_line(tiny_model, tmp_path, key, value, message):
    model = _copy(tiny_model, tmp_path)
    _set_spec(model, key, value)
    out = tmp_path / "out.jsonl"
    code, stderr = _run("tag", str(_text(tmp_path)), "-m", str(model), "-o", str(out))
    assert code == 1
    assert f"error[E040]: {model / 'argmine.json'}: {message}" in stderr
    assert not out.exists()


def test_bad_models_spec_head_keys_match_headspec():
    from argmine.encoding import HEAD_KEYS
    from argmine.modeling import HeadSpec

    assert set(HEAD_KEYS) == {f.name for f in dataclasses.fields(HeadSpec)}


@pytest.mark.parametrize("filename", ["model.safetensors", "heads.safetensors"])
@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_bad_models_corrupt_weights_tag(tiny_model, tmp_path, filename, damage):
    model = _copy(tiny_model, tmp_path)
    weights = model / filename
    data = weights.read_bytes()
    weights.write_bytes(b"\xff" * 64 if damage == "garbage" else data[: len(data) // 2])
    out = tmp_path / "out.jsonl"
    code, stderr = _run("tag", str(_text(tmp_path)), "-m", str(model), "-o", str(out))
    assert code == 1
    assert f"error[E040]: {weights}: cannot load (" in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert not list(tmp_path.glob("out.jsonl*")), "a bad model leaves no output or .partial"


def test_bad_models_corrupt_weights_evaluate_ensemble(tiny_model, tmp_path, reference_path):
    bad = _copy(tiny_model, tmp_path, "bad")
    (bad / "model.safetensors").write_bytes(b"\xff" * 64)
    gold = tmp_path / "gold.jsonl"
    from argmine.document import Article, dumps_article

    article = Article(id="a", text=reference_path.read_text(encoding="utf-8"))
    gold.write_text(dumps_article(article) + "\n", encoding="utf-8")
    code, stderr = _run("evaluate", str(tiny_model), str(gold), "--ensemble", str(bad))
    assert code == 1
    assert f"error[E040]: {bad / 'model.safetensors'}: cannot load (" in stderr


@pytest.fixture()
def no_server(monkeypatch):
    """``argmine serve`` must fail before uvicorn starts; if it gets there, the test fails."""
    import uvicorn

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("the server was started")

    monkeypatch.setattr(uvicorn, "run", refuse)


def _serve(model: Path, tmp_path: Path) -> tuple[int, str]:
    home = tmp_path / "home"  # no studio.env: no Label Studio connection
    return _run("serve", "-m", str(model), "--port", "19091", "--studio-home", str(home))


@pytest.mark.parametrize("damage", ["argmine.json", "model.safetensors", "spec type"])
def test_bad_models_serve_refuses_before_registering(tiny_model, tmp_path, no_server, damage):
    model = _copy(tiny_model, tmp_path)
    if damage == "argmine.json":
        (model / "argmine.json").write_text("{\n broken", encoding="utf-8")
        expected = f"error[E040]: {model / 'argmine.json'}: cannot read ("
    elif damage == "model.safetensors":
        (model / "model.safetensors").write_bytes(b"\xff" * 64)
        expected = f"error[E040]: {model / 'model.safetensors'}: cannot load ("
    else:
        _set_spec(model, "relations", 7)
        expected = f"error[E040]: {model / 'argmine.json'}: relations: expected a mapping"
    code, stderr = _serve(model, tmp_path)
    assert code == 1
    assert expected in stderr
    assert not (tmp_path / "model-versions").exists()


def test_bad_models_serve_refuses_corrupt_promoted_version(tiny_model, tmp_path, no_server):
    from argmine.serve.versions import VersionStore

    model = _copy(tiny_model, tmp_path)
    store = VersionStore(tmp_path / "model-versions")
    name = store.import_model(model)
    (store.path(name) / "heads.safetensors").write_bytes(b"\xff" * 64)
    code, stderr = _serve(store.root, tmp_path)
    assert code == 1
    assert f"error[E040]: {store.path(name) / 'heads.safetensors'}: cannot load (" in stderr


@pytest.mark.parametrize("port", ["0", "65536", "99999"])
def test_bad_models_serve_port_out_of_range(tmp_path, no_server, port):
    code, stderr = _run("serve", "-m", str(tmp_path / "none"), "--port", port)
    assert code == 2  # a usage error, before anything is opened
    assert "Invalid value for '--port'" in stderr
