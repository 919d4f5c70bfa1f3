"""Model versions: import, atomic commit, promote / rollback, stale runs, the models CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner


def _model_dir(path, f1=0.5):
    path.mkdir(parents=True)
    (path / "argmine.json").write_text("{}")
    (path / "model.safetensors").write_bytes(b"weights")
    (path / "checkpoints").mkdir()
    (path / "checkpoints" / "big.bin").write_bytes(b"x" * 100)
    (path / "metrics.json").write_text(json.dumps({"dev": {"overlap": {"micro": {"f1": f1}}}}))
    return path


def test_serve_versions_import_copies_without_checkpoints_and_promotes(tmp_path):
    from argmine.serve.versions import VersionStore, versions_root

    model = _model_dir(tmp_path / "models" / "default")
    store = VersionStore(versions_root(model))
    assert store.root == tmp_path / "models" / "default-versions"
    assert store.import_model(model) == "v1"
    assert store.promoted() == "v1"
    assert (store.root / "v1" / "model.safetensors").read_bytes() == b"weights"
    assert not (store.root / "v1" / "checkpoints").exists()
    info = store.info("v1")
    assert info.model_version == "default-v1"
    assert info.metrics == {"train": {"dev_overlap_micro_f1": 0.5}}
    assert versions_root(store.root) == store.root


def test_serve_versions_promote_and_rollback_by_either_name(tmp_path):
    from argmine.errors import ModelError
    from argmine.serve.versions import VersionStore

    store = VersionStore(tmp_path / "run-versions")
    for _ in range(3):
        store.import_model(_model_dir(tmp_path / f"m{_}"), promote=False)
    store.promote("v3")
    assert store.promoted() == "v3"
    store.promote("run-v1")
    assert store.promoted() == "v1"
    assert [v.promoted for v in store.versions()] == [True, False, False]
    log = [json.loads(line) for line in (store.root / "promotions.jsonl").read_text().splitlines()]
    assert [(e["version"], e["previous"]) for e in log] == [("v3", None), ("v1", "v3")]
    with pytest.raises(ModelError, match=r"no version 'v9'.*v1, v2, v3"):
        store.promote("v9")


def test_serve_versions_a_killed_run_leaves_no_version_and_is_cleaned(tmp_path):
    """A child process stages v2 and is SIGKILLed before committing: v2 never appears, the
    pointer is untouched, and clean_stale removes the leftovers."""
    from argmine.serve.versions import VersionStore

    store = VersionStore(tmp_path / "run-versions")
    store.import_model(_model_dir(tmp_path / "m"))
    script = (
        "import os, signal, sys; sys.path.insert(0, sys.argv[2])\n"
        "from argmine.serve.versions import VersionStore\n"
        "s = VersionStore(sys.argv[1]); p = s.staging(s.next_name())\n"
        "(p / 'model.safetensors').write_bytes(b'half')\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    src = os.path.join(os.path.dirname(__file__), "..", "src")
    code = subprocess.call([sys.executable, "-c", script, str(store.root), src])
    assert code == -9
    assert [p.name for p in store.root.glob(".tmp-v2-*")]
    assert [v.name for v in store.versions()] == ["v1"]
    assert store.promoted() == "v1"
    assert store.next_name() == "v3"  # the stale name is not reused while it is there
    assert len(store.clean_stale()) == 1
    assert store.next_name() == "v2"
    assert not list(store.root.glob(".tmp-*"))


def test_serve_models_cli_list_and_promote(tmp_path):
    from argmine.cli import app
    from argmine.serve.versions import VersionStore

    store = VersionStore(tmp_path / "default-versions")
    store.import_model(_model_dir(tmp_path / "a"))
    store.import_model(_model_dir(tmp_path / "b"))
    runner = CliRunner()
    listed = runner.invoke(app, ["models", "list", "--model", str(tmp_path / "default")])
    assert listed.exit_code == 0, listed.output
    lines = [line for line in listed.output.splitlines() if "imported" in line]
    assert [line.startswith("*") for line in lines] == [False, True]
    rolled = runner.invoke(app, ["models", "promote", "v1", "--model", str(store.root)])
    assert rolled.exit_code == 0, rolled.output
    assert "promoted default-v1 (was v2)" in rolled.output
    assert store.promoted() == "v1"
    bad = runner.invoke(app, ["models", "promote", "v7", "--model", str(store.root)])
    assert bad.exit_code == 1
    assert bad.exception is None or isinstance(bad.exception, SystemExit)
    assert "no version 'v7'" in bad.output
    missing = runner.invoke(app, ["models", "list", "--model", str(tmp_path / "nowhere")])
    assert missing.exit_code == 1
    assert missing.exception is None or isinstance(missing.exception, SystemExit)
    assert f"{tmp_path / 'nowhere'}: no such model directory" in missing.output
    empty = tmp_path / "fresh"  # a model dir not served yet: no versions, no error
    empty.mkdir()
    listed = runner.invoke(app, ["models", "list", "--model", str(empty)])
    assert listed.exit_code == 0 and "no versions in" in listed.output, listed.output
