"""``argmine tag --engine ray`` on a real local Ray cluster bound to 127.0.0.1 (tiny model).

The cluster is started once for the module with the loopback settings the engine uses
(``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` before ``import ray``, no dashboard, no usage stats)
and checked with ``ray.nodes()`` before any work; the engine reuses it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from argmine.cli import app
from argmine.document import Article, dumps_article
from argmine.engines.ray import LOOPBACK, _ShardTagger, local_cluster_env, tag_files_ray
from argmine.tag import tag_files

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> list[str]:
    """examples/ and the starter articles (text only) as JSONL: 40+ articles, several shards."""
    from argmine.corpora import load_corpus

    starter = load_corpus("labelstudio", REPO / "annotations" / "starter.json")
    path = tmp_path_factory.mktemp("inputs") / "starter.jsonl"
    path.write_text(
        "".join(dumps_article(a.with_annotations([])) + "\n" for a in starter), encoding="utf-8"
    )
    return [str(REPO / "examples"), str(path)]


@pytest.fixture(scope="module")
def ray_local():
    os.environ.update(local_cluster_env())  # before ray is imported, or Ray binds elsewhere
    ray = pytest.importorskip("ray")
    if ray.is_initialized():
        ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address=LOOPBACK, log_to_driver=False)
    try:
        nodes = {n["NodeManagerAddress"] for n in ray.nodes() if n["Alive"]}
        assert nodes == {LOOPBACK}, f"Ray is not on loopback only: {nodes}"
        yield ray
    finally:
        ray.shutdown()


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def local_output(tiny_model, inputs, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("local") / "local.jsonl"
    summary = tag_files(
        inputs, model_dir=tiny_model, output=out, chunk_size=8, threads=1, progress=False
    )
    assert summary.ok and summary.tagged > 16  # several shards of 8
    return out


def test_engines_ray_cli_output_identical_to_local_engine(
    ray_local, tiny_model, inputs, local_output, tmp_path
):
    out = tmp_path / "ray.jsonl"
    result = CliRunner().invoke(
        app,
        [
            "tag",
            *inputs,
            "--model",
            str(tiny_model),
            "-o",
            str(out),
            "--engine",
            "ray",
            "--workers",
            "2",
            "--chunk-size",
            "8",
            "--threads",
            "1",
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, (result.stderr, result.exception)
    n = len(_lines(local_output))
    assert f"tagged {n}, skipped 0, failed 0" in result.stderr
    assert out.read_bytes() == local_output.read_bytes()  # spans, scores, order: identical
    assert any(json.loads(line)["units"] for line in _lines(out))
    assert not (tmp_path / "ray.jsonl.shards").exists()  # merged, then removed


def test_engines_ray_resume_skips_finished_shards(
    ray_local, tiny_model, inputs, local_output, tmp_path
):
    # What a killed run leaves: one finished shard, no merged output yet. Its lines carry a
    # marker, so a re-tagged article would show (the marker would be gone).
    expected = _lines(local_output)
    out = tmp_path / "ray.jsonl"
    shards = tmp_path / "ray.jsonl.shards"
    shards.mkdir()
    finished = []
    for line in expected[:8]:
        data = json.loads(line)
        data["meta"]["shard"] = "from the killed run"
        finished.append(json.dumps(data, ensure_ascii=False))
    (shards / "shard-00000.jsonl").write_text("\n".join(finished) + "\n", encoding="utf-8")

    summary = tag_files_ray(
        inputs,
        model_dir=tiny_model,
        output=out,
        resume=True,
        chunk_size=8,
        workers=2,
        threads=1,
        progress=False,
    )
    assert (summary.skipped, summary.tagged, summary.failed) == (8, len(expected) - 8, [])
    got = _lines(out)
    assert got[:8] == finished
    # The rest is tagged in shards cut after the skipped articles; per article identical.
    assert sorted(got[8:]) == sorted(expected[8:])
    assert not shards.exists()

    again = tag_files_ray(
        inputs, model_dir=tiny_model, output=out, resume=True, chunk_size=8, progress=False
    )
    assert (again.skipped, again.tagged) == (len(expected), 0)
    assert _lines(out) == got


def test_engines_ray_refuses_leftover_shards_without_resume_or_force(tiny_model, tmp_path):
    (tmp_path / "out.jsonl.shards").mkdir()
    result = CliRunner().invoke(
        app,
        [
            "tag",
            str(REPO / "examples"),
            "--model",
            str(tiny_model),
            "-o",
            str(tmp_path / "out.jsonl"),
            "--engine",
            "ray",
            "--no-progress",
        ],
    )
    assert result.exit_code == 1
    assert "out.jsonl.shards: output exists; pass --force" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_engines_ray_bad_inputs_reported_like_local_engine(ray_local, tiny_model, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    good = [
        Article(id=f"good-{i}", text=f"Critics argue plan {i} will fail. " * 4) for i in range(3)
    ]
    (folder / "a.jsonl").write_text(
        "".join(dumps_article(a) + "\n" for a in good), encoding="utf-8"
    )
    (folder / "c.jsonl").write_text(
        json.dumps({"id": "good-1", "text": "Another text under the same id."}) + "\n",
        encoding="utf-8",
    )
    (folder / "b.jsonl").write_text('{"id": "broken", "text": \n', encoding="utf-8")
    results = {}
    for engine in ("local", "ray"):
        out = tmp_path / f"{engine}.jsonl"
        result = CliRunner().invoke(
            app,
            [
                "tag",
                str(folder),
                "--model",
                str(tiny_model),
                "-o",
                str(out),
                "--threads",
                "1",
                "--engine",
                engine,
                "--keep-going",
                "--no-progress",
                "--chunk-size",
                "2",
            ],
        )
        assert result.exit_code == 0, (result.stderr, result.exception)
        failures = sorted(line for line in result.stderr.splitlines() if "failed: " in line)
        results[engine] = (failures, out.read_bytes())
    failures, body = results["ray"]
    assert results["ray"] == results["local"]
    assert len(failures) == 2, failures
    assert any("c.jsonl" in f and "'good-1'" in f for f in failures)  # the id is named
    assert any("b.jsonl" in f and "line 1" in f for f in failures)
    assert [json.loads(line)["id"] for line in body.decode().splitlines()] == [
        "good-0",
        "good-1",
        "good-2",
    ]


def test_engines_ray_actor_reports_a_failing_article_by_id(tiny_model):
    # In-process (no cluster): the actor's isolation of one article the model fails on.
    files = {p.name: p.read_bytes() for p in tiny_model.iterdir() if p.is_file()}
    actor = _ShardTagger(
        files, tiny_model.name, threads=1, dtype="auto", quantize=None, batch_size=4
    )
    predict = actor.tagger.predict

    def predict_failing_on_b(articles, **kwargs):
        if any(a.id == "b" for a in articles):
            raise RuntimeError("out of memory")
        return predict(articles, **kwargs)

    actor.tagger.predict = predict_failing_on_b
    articles = [Article(id=i, text=f"Critics argue {i} will fail.") for i in "abc"]
    out = actor({"shard": [3], "jsonl": ["\n".join(dumps_article(a) for a in articles)]})
    assert out["shard"] == [3]
    assert [json.loads(line)["id"] for line in out["jsonl"][0].splitlines()] == ["a", "c"]
    assert json.loads(out["failed"][0]) == [["b", "tagging failed: RuntimeError: out of memory"]]


def test_engines_ray_connect_refuses_a_node_off_loopback():
    from types import SimpleNamespace

    from argmine.engines.ray import RayError, _check_loopback

    nodes = [{"NodeManagerAddress": "127.0.0.1", "Alive": True}]
    _check_loopback(SimpleNamespace(nodes=lambda: nodes))
    nodes.append({"NodeManagerAddress": "10.1.2.3", "Alive": True})
    with pytest.raises(RayError, match=r"not bound to 127\.0\.0\.1 only \(nodes at 10\.1\.2\.3"):
        _check_loopback(SimpleNamespace(nodes=lambda: nodes))


def test_engines_ray_local_instance_on_loopback_even_if_ray_was_imported_first(tmp_path):
    # A fresh process that imports Ray before argmine sets RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER:
    # on Linux Ray would then advertise the outbound interface; the engine must not.
    import subprocess
    import sys

    script = (
        "import ray\n"
        "from argmine.engines.ray import connect\n"
        "connect(None, num_cpus=1)\n"
        "print(sorted({n['NodeManagerAddress'] for n in ray.nodes()}))\n"
        "ray.shutdown()\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"}
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "['127.0.0.1']"
