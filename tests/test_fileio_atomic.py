"""Outputs: no overwrite without --force, atomic replacement, no temp files left behind."""

from __future__ import annotations

import pytest

from argmine.errors import OutputExistsError
from argmine.fileio import atomic_write_text, atomic_writer


def test_fileio_refuses_existing_output_without_force(tmp_path):
    target = tmp_path / "out.jsonl"
    target.write_text("old\n")
    with pytest.raises(OutputExistsError, match="--force"):
        atomic_write_text(target, "new\n")
    assert target.read_text() == "old\n"


def test_fileio_force_replaces_and_leaves_no_temp_files(tmp_path):
    target = tmp_path / "out.jsonl"
    target.write_text("old\n")
    atomic_write_text(target, "new\n", force=True)
    assert target.read_text() == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_fileio_failure_mid_write_keeps_old_file(tmp_path):
    target = tmp_path / "out.jsonl"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_writer(target, force=True) as handle:
        handle.write("half a li")
        raise RuntimeError("killed")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_fileio_creates_parent_dirs_and_sets_mode(tmp_path):
    target = tmp_path / "a" / "b" / "secret.env"
    atomic_write_text(target, "X=1\n", file_mode=0o600)
    assert target.read_text() == "X=1\n"
    assert target.stat().st_mode & 0o777 == 0o600


def test_fileio_publish_dir_replaces_the_whole_directory(tmp_path):
    from argmine.fileio import publish_dir, staging_dir

    target = tmp_path / "model"
    target.mkdir()
    (target / "old.txt").write_text("old")
    stage = staging_dir(target)
    assert stage == tmp_path / "model.partial"
    stage.mkdir()
    (stage / "new.txt").write_text("new")
    assert publish_dir(stage, target) == target
    assert sorted(p.name for p in target.iterdir()) == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_fileio_publish_dir_into_a_new_place(tmp_path):
    from argmine.fileio import publish_dir, staging_dir

    stage = staging_dir(tmp_path / "fresh")
    stage.mkdir()
    (stage / "a").write_text("a")
    publish_dir(stage, tmp_path / "fresh")
    assert (tmp_path / "fresh" / "a").read_text() == "a" and not stage.exists()
