"""The configs ship inside the package: byte-identical to configs/, found outside a checkout,
and a built wheel installed into a fresh venv runs `segment` and `prelabel` from an empty folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from argmine import config
from argmine.config import PACKAGED_CONFIGS, find_config, packaged_config

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", PACKAGED_CONFIGS)
def test_config_packaged_copy_is_byte_identical_to_configs(name):
    packaged = packaged_config(name)
    assert packaged is not None, f"{name} is not shipped in argmine/resources/configs/"
    assert packaged.read_bytes() == (REPO / "configs" / name).read_bytes(), (
        f"configs/{name} changed: cp configs/{name} src/argmine/resources/configs/{name}"
    )


def test_config_packaged_copy_is_used_outside_a_checkout(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no configs/ here
    monkeypatch.setattr(config, "_CHECKOUT", tmp_path / "not-a-checkout")
    monkeypatch.setattr(config, "REPO_CONFIGS", tmp_path / "not-a-checkout" / "configs")
    found = find_config("configs/lexicon.yaml")
    assert found == packaged_config("lexicon.yaml")
    assert config.load_label_schema().span_names == ("Claim", "Evidence", "Conclusion")


def test_config_checkout_configs_win_over_the_packaged_copy(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert find_config("configs/labels.yaml") == REPO / "configs" / "labels.yaml"
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "labels.yaml").write_text("spans: {A: {}}\n", encoding="utf-8")
    assert find_config("configs/labels.yaml") == Path("configs/labels.yaml")  # cwd first


@pytest.mark.slow
def test_config_wheel_installs_into_a_fresh_venv_and_runs_outside_the_checkout(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    dist = tmp_path / "dist"
    source = tmp_path / "source"  # built from a copy: no build/ or egg-info in the checkout
    shutil.copytree(REPO / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(dist), str(source)],
        check=True, env=env, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    (wheel,) = dist.glob("argmine-*.whl")
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    python = venv / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True, env=env,
    ).stdout.strip()  # fmt: skip
    # Sees the project venv's packages (torch, ...) without installing them again; a line in
    # a .pth file adds the directory only (its own .pth files, e.g. the editable argmine, are
    # not run), and the new venv's own site-packages comes first.
    Path(site, "project-venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
         str(wheel)],
        check=True, env=env, timeout=300,
    )  # fmt: skip
    empty = tmp_path / "empty"
    empty.mkdir()
    where = subprocess.run(
        [python, "-c", "import argmine; print(argmine.__file__)"],
        check=True, capture_output=True, text=True, env=env, cwd=empty,
    ).stdout.strip()  # fmt: skip
    assert Path(where).is_relative_to(venv), where
    (empty / "a.txt").write_text(
        "Taxes must rise. The deficit hit 5% in 2023, the ministry said.\n", encoding="utf-8"
    )
    argmine = venv / "bin" / "argmine"
    for command in ("segment", "prelabel"):
        done = subprocess.run(
            [argmine, command, "a.txt"], capture_output=True, text=True, env=env, cwd=empty,
            timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert '"units": [{' in done.stdout
    assert sorted(p.name for p in empty.iterdir()) == ["a.txt"]
