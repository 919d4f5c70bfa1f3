"""``torchrun --nproc_per_node 2`` and ``accelerate launch`` (configs/accelerate/cpu-2proc.yaml)
``-m argmine train`` on CPU (gloo, 127.0.0.1): two processes
train the tiny config data-parallel and rank 0 alone writes the one model directory."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from argmine.document import Article
from argmine.tag import Tagger

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launcher(name: str) -> list[str]:
    port = str(_free_port())
    if name == "torchrun":
        return [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node",
            "2",
            "--master_addr",
            "127.0.0.1",
            "--master_port",
            port,
        ]
    return [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--config_file",
        str(REPO / "configs" / "accelerate" / "cpu-2proc.yaml"),
        "--main_process_port",
        port,
    ]


@pytest.mark.parametrize("launcher", ["torchrun", "accelerate"])
def test_train_distributed_two_cpu_processes_one_model_dir(tmp_path, launcher):
    out = tmp_path / "model"
    starter = REPO / "annotations" / "starter.json"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node",
            "2",
            "--master_addr",
            "127.0.0.1",
            "--master_port",
            str(_free_port()),
            "-m",
            "argmine",
            "train",
            str(REPO / "configs" / "tiny.yaml"),
            "--set",
            f"output_dir={out}",
            "--set",
            f"data.sources=[{{format: labelstudio, path: {starter}}}]",
            "--set",
            "train.max_steps=6",
            "--set",
            "train.eval_steps=3",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (proc.stdout + proc.stderr).count(f"ok: {out}") == 2, (
        proc.stdout
    )  # both ranks ran to the end
    assert {p.name for p in tmp_path.iterdir()} - {".cache"} == {"model"}  # no second model dir
    assert (out / "model.safetensors").is_file() and (out / "argmine.json").is_file()
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == [
        "checkpoint-3",
        "checkpoint-6",
    ]
    state = json.loads((out / "checkpoints" / "checkpoint-6" / "trainer_state.json").read_text())
    assert state["global_step"] == 6
    # one rng state per rank: the checkpoint was written by a 2-process run
    assert sorted(p.name for p in (out / "checkpoints" / "checkpoint-6").glob("rng_state*")) == [
        "rng_state_0.pth",
        "rng_state_1.pth",
    ]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["global_step"] == 6
    tagged = Tagger.load(out, threads=1).predict([Article(id="a", text="Critics say it fails.")])
    assert tagged[0].meta["model"] == "tiny"
