"""Run configs: strict validation, one-line errors naming the dotted key, dotted overrides."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from argmine.config import load_run_config, parse_override, run_config_from_dict
from argmine.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
SHIPPED = [
    "default.yaml",
    "webis.yaml",
    "webis-mpnet.yaml",
    "microtexts.yaml",
    "tiny.yaml",
    "combined.yaml",
    "essays.yaml",
]

MINIMAL = {
    "seed": 1,
    "output_dir": "models/x",
    "data": {"sources": [{"format": "jsonl", "path": "data.jsonl"}]},
}


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("name", SHIPPED)
def test_config_shipped_files_validate_and_start_with_a_comment(name):
    path = REPO / "configs" / name
    text = path.read_text()
    assert text.startswith("# ")
    assert "argmine train configs/" + name in text
    config = load_run_config(path)
    assert isinstance(config.seed, int)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"train": {"epoch": 3}}, "train.epoch: unknown key"),
        ({"train": {"epochs": "many"}}, "train.epochs:"),
        ({"data": {"sources": [{"format": "xml", "path": "a"}]}}, "data.sources.0.format:"),
        ({"data": {"sources": [{"format": "brat", "path": "a", "bogus": 1}]}}, "bogus"),
        ({"data": {"sources": []}}, "data.sources:"),
        ({"train": {"lr": -1}}, "train.lr:"),
        ({"decode": {"min_words": -2}}, "decode.min_words:"),
        (
            {"data": {"splits": {"dev": 0.6, "test": 0.5}, "sources": MINIMAL["data"]["sources"]}},
            "data.splits:",
        ),
        ({"colour": "red"}, "colour: unknown key"),
    ],
)
def test_config_bad_key_or_type_is_one_line_naming_it(tmp_path, change, expected):
    data = {**MINIMAL, **change}
    if "data" in change and "sources" not in change["data"]:
        data["data"] = {**MINIMAL["data"], **change["data"]}
    path = write(tmp_path, data)
    with pytest.raises(ConfigError) as info:
        load_run_config(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    assert expected in message


def test_config_seed_is_required(tmp_path):
    data = {k: v for k, v in MINIMAL.items() if k != "seed"}
    with pytest.raises(ConfigError, match="seed: required"):
        load_run_config(write(tmp_path, data))


@pytest.mark.parametrize(
    ("override", "path", "value"),
    [
        ("train.epochs=3", ("train", "epochs"), 3),
        ("train.lr=2e-5", ("train", "lr"), 2e-5),
        ("decode.viterbi=false", ("decode", "viterbi"), False),
        ("data.sources.0.path=other.jsonl", ("data", "sources", 0, "path"), "other.jsonl"),
        ("decode.min_words={Claim: 4}", ("decode", "min_words"), {"Claim": 4}),
        ("seed=7", ("seed",), 7),
    ],
)
def test_config_dotted_overrides(tmp_path, override, path, value):
    config = load_run_config(write(tmp_path, MINIMAL), overrides=[override])
    node = config.to_dict()
    for key in path:
        node = node[key]
    assert node == value


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("train.epochs", "key.path=value"),
        ("train.bogus=1", "train.bogus: unknown key"),
        ("data.sources.5.path=x", "list index"),
        ("seed=true", "seed: expected a number, not a boolean (got True)"),
        ("train.epochs=false", "train.epochs: expected a number, not a boolean"),
        ("train.lr=yes", "train.lr: expected a number, not a boolean"),
    ],
)
def test_config_bad_override(tmp_path, override, expected):
    with pytest.raises(ConfigError, match=re.escape(expected)):
        load_run_config(write(tmp_path, MINIMAL), overrides=[override])


def test_config_parse_override_yaml_values():
    assert parse_override("a.b=[1, 2]") == ("a.b", [1, 2])
    assert parse_override("a=null") == ("a", None)


def test_config_round_trips_through_dict():
    config = run_config_from_dict(MINIMAL)
    assert run_config_from_dict(config.to_dict()) == config


@pytest.mark.parametrize("name", ["default", "tiny"])
def test_config_studio_pull_output_is_not_training_data(name):
    # A pull writes where no training config reads: the configs list their files.
    from argmine.config import resolve_path
    from argmine.studio.pull import default_output

    config = load_run_config(f"configs/{name}.yaml")
    pulled = resolve_path(default_output("argmine")).resolve()
    for source in config.data.sources:
        path = resolve_path(source.path).resolve()
        assert path.is_file(), f"{source.path}: list files, not a folder a pull writes into"
        assert path != pulled and path not in pulled.parents
