"""``argmine tag --engine ray``: the same tagging as :func:`argmine.tag.tag_files`, on Ray Data.

::

    inputs ──read on the driver (argmine.readers: the local engine's checks, failures and
             duplicate-id rule)──> articles not yet done (--resume: ids in OUTPUT and its shards)
      ──cut into shards of chunk_size articles, in input order──> ray.data.from_items
             (one row per shard: its index and its articles as argmine JSONL)
      ──map_batches(_ShardTagger, concurrency=workers, num_cpus / num_gpus per actor)──>
             each actor loads the model once (shipped through the object store, so no shared
             disk is needed) and tags a shard with the local engine's per-batch function
      ──driver: each finished shard written atomically──> OUTPUT.shards/shard-00000.jsonl ...
      ──merge in shard order after the output kept by --resume──> OUTPUT (argmine JSONL), or
             OUTPUT.jsonl + argmine.report.write_report for csv, html and labelstudio

A shard is tagged by one call with the same articles, in the same order, as one chunk of the
local engine, so on the same model, threads and dtype the spans are the same. A killed run
leaves its finished shards; ``resume`` skips their articles and tags the rest into new shards.
An article that makes the model fail is reported with its id and source (the rest of its
shard is tagged one article at a time) instead of losing the worker.

The local default (``address=None``) starts a private Ray instance bound to 127.0.0.1: on
Linux Ray advertises the machine's outbound interface address even when asked for 127.0.0.1
unless ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` is set before ``ray`` is imported (it is read
into ``ray._private.ray_constants.ENABLE_RAY_CLUSTER`` at import and used by
``ray._private.services.get_node_ip_address``); usage stats are off and there is no
dashboard (if Ray was imported before, ``ENABLE_RAY_CLUSTER`` is switched off the same way).
Before any work is sent, ``ray.nodes()`` must show only 127.0.0.1, else the run
stops with one line. ``address="auto"`` or ``"HOST:PORT"`` joins an existing cluster
(``ray start --head`` on the head node; see README) and leaves it running.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from argmine.document import Article, dumps_article, loads_article
from argmine.errors import ArgmineError, InputError
from argmine.tag import tag_batch  # the one per-batch function, shared with argmine tag

__all__ = ["LOOPBACK", "connect", "local_cluster_env", "tag_files_ray"]

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
SHARD_NAME = "shard-{:05d}.jsonl"


class RayError(ArgmineError):
    """Ray is missing, or the cluster is not what the run needs."""

    code = "ray"


def local_cluster_env() -> dict[str, str]:
    """The environment a loopback-only local Ray instance needs (set before ``import ray``)."""
    return {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}


def _import_ray(*, local: bool) -> Any:
    if local:
        os.environ.update(local_cluster_env())
    else:
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray
    except ImportError:
        raise RayError(
            "--engine ray needs Ray: pip install 'argmine[ray]' (or 'ray[data]')"
        ) from None
    if local:  # the switch the variable sets, in case Ray was imported before it was set
        from ray._private import ray_constants

        ray_constants.ENABLE_RAY_CLUSTER = False
    return ray


def _check_loopback(ray: Any) -> None:
    addresses = sorted({str(n.get("NodeManagerAddress")) for n in ray.nodes() if n.get("Alive")})
    if addresses != [LOOPBACK]:
        raise RayError(
            f"the local Ray instance is not bound to {LOOPBACK} only (nodes at "
            f"{', '.join(addresses) or 'none'}); Ray was imported before "
            "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 was set, or joined another cluster"
        )


def connect(address: str | None = None, *, num_cpus: int | None = None) -> bool:
    """Connect to Ray; ``True`` if this call started the instance (the caller shuts it down).

    ``address=None``: reuse an instance this process already started (it must be loopback
    only) or start a private one on 127.0.0.1 with ``num_cpus`` CPUs. Otherwise join the
    cluster at ``address`` (``auto`` or ``HOST:PORT``).
    """
    local = address is None
    ray = _import_ray(local=local)
    started = False
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {
            "include_dashboard": False,
            "logging_level": logging.WARNING,
            "log_to_driver": False,
        }
        if local:
            kwargs.update(num_cpus=num_cpus, _node_ip_address=LOOPBACK)
        else:
            kwargs["address"] = address
        try:
            ray.init(**kwargs)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = address or "a local instance"
            raise RayError(f"cannot connect to Ray at {where}: {exc}") from None
        started = True
    if local:
        try:
            _check_loopback(ray)
        except RayError:
            if started:
                ray.shutdown()
            raise
    return started


def _pack_model(model_dir: Path) -> dict[str, bytes]:
    """The model directory's files (weights, tokenizer, argmine.json; not checkpoints/)."""
    return {p.name: p.read_bytes() for p in sorted(model_dir.iterdir()) if p.is_file()}


class _ShardTagger:
    """A Ray Data actor: the model is unpacked and loaded once, then tags one shard per row."""

    def __init__(
        self,
        model_ref: Any,
        name: str,
        *,
        threads: int | None,
        dtype: str,
        quantize: str | None,
        batch_size: int,
    ) -> None:
        import tempfile

        import ray

        from argmine.tag import Tagger

        files = ray.get(model_ref) if isinstance(model_ref, ray.ObjectRef) else model_ref
        self._tmp = tempfile.TemporaryDirectory(prefix="argmine-model-")
        path = Path(self._tmp.name) / name  # same directory name: same run name in meta
        path.mkdir()
        for filename, data in files.items():
            (path / filename).write_bytes(data)
        self.tagger = Tagger.load(path, threads=threads, dtype=dtype, quantize=quantize)
        self.batch_size = batch_size

    def _tag_one_by_one(self, articles: list[Article]) -> tuple[list[Article], list[list[str]]]:
        tagged, failed = [], []
        for article in articles:
            try:
                tagged += tag_batch(self.tagger, [article], batch_size=self.batch_size)
            except Exception as exc:  # a worker boundary: report the article, keep the worker
                failed.append([article.id, f"tagging failed: {type(exc).__name__}: {exc}"])
        return tagged, failed

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {"shard": [], "jsonl": [], "failed": []}
        for shard, text in zip(batch["shard"], batch["jsonl"], strict=True):
            articles = [loads_article(line) for line in str(text).splitlines()]
            try:
                tagged = tag_batch(self.tagger, articles, batch_size=self.batch_size)
                failed: list[list[str]] = []
            except Exception:  # find the article that fails; the others are still tagged
                tagged, failed = self._tag_one_by_one(articles)
            out["shard"].append(int(shard))
            out["jsonl"].append("".join(dumps_article(a) + "\n" for a in tagged))
            out["failed"].append(json.dumps(failed))
        return out


def _shard_dir(jsonl: Path) -> Path:
    return jsonl.with_name(jsonl.name + ".shards")


def _shard_files(shards: Path) -> list[Path]:
    return sorted(shards.glob("shard-*.jsonl")) if shards.is_dir() else []


def tag_files_ray(
    inputs: Sequence[str],
    *,
    model_dir: str | os.PathLike[str] | None = None,
    output: str | os.PathLike[str],
    fmt: str = "jsonl",
    resume: bool = False,
    force: bool = False,
    keep_going: bool = False,
    address: str | None = None,
    workers: int = 2,
    worker_cpus: float = 1,
    worker_gpus: float = 0,
    threads: int | None = None,
    batch_size: int = 16,
    chunk_size: int = 64,
    dtype: str = "auto",
    quantize: str | None = None,
    schema_path: str | os.PathLike[str] = "configs/labels.yaml",
    progress: bool = True,
    stdin: IO[bytes] | IO[str] | None = None,
) -> Any:
    """:func:`argmine.tag.tag_files` on Ray Data (see the module docstring): ``workers``
    actors with ``worker_cpus`` CPUs and ``worker_gpus`` GPUs each, ``threads`` torch threads
    per actor (default: ``worker_cpus`` rounded down, at least 1), shards of ``chunk_size``
    articles. Returns the same :class:`argmine.tag.TagSummary`."""
    from argmine.encoding import ModelSpec
    from argmine.report import FORMATS, write_report
    from argmine.tag import (
        TagSummary,
        _existing_ids,
        _Progress,
        _read_inputs,
        append_atomic,
        check_tag_outputs,
        resolve_model_dir,
        tag_jsonl_path,
    )

    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    if chunk_size < 1 or batch_size < 1:
        raise ValueError("chunk_size and batch_size must be >= 1")
    if workers < 1 or worker_cpus <= 0 or worker_gpus < 0:
        raise ValueError("workers must be >= 1, worker CPUs > 0 and worker GPUs >= 0")
    shards = _shard_dir(tag_jsonl_path(output, fmt))
    target, jsonl = check_tag_outputs(output, fmt, resume=resume, force=force, more=[shards])
    if force and shards.exists():
        shutil.rmtree(shards)
    done = _existing_ids(jsonl) if resume and jsonl.exists() else set()
    finished = _shard_files(shards) if resume else []
    for shard_file in finished:
        done |= _existing_ids(shard_file)
    schema = None
    if fmt == "html":
        from argmine.config import load_label_schema

        schema = load_label_schema(schema_path)
    path = resolve_model_dir(model_dir)
    spec = ModelSpec.load(path)
    if not (path / "model.safetensors").is_file():
        from argmine.errors import ModelError

        raise ModelError(f"{path}: no model.safetensors (incomplete model directory)")
    model_name = spec.run or path.name

    started = time.perf_counter()
    summary = TagSummary(output=target, jsonl=jsonl)
    todo: list[tuple[str, Article]] = []
    for source, article in _read_inputs(
        inputs, stdin=stdin, keep_going=keep_going, failed=summary.failed
    ):
        if article.id in done:
            summary.skipped += 1
        else:
            todo.append((source, article))
    sources = {article.id: source for source, article in todo}
    first = 1 + max((int(f.stem.split("-")[1]) for f in finished), default=-1)
    rows = [
        {
            "shard": first + k,
            "jsonl": "\n".join(dumps_article(a) for _, a in todo[s : s + chunk_size]),
        }
        for k, s in enumerate(range(0, len(todo), chunk_size))
    ]
    sizes = {
        row["shard"]: min(chunk_size, len(todo) - (row["shard"] - first) * chunk_size)
        for row in rows
    }
    if rows:
        shards.mkdir(parents=True, exist_ok=True)
        _run(
            rows,
            sizes,
            path=path,
            name=path.name,
            shards=shards,
            summary=summary,
            sources=sources,
            address=address,
            workers=min(workers, len(rows)),
            worker_cpus=worker_cpus,
            worker_gpus=worker_gpus,
            threads=threads if threads is not None else max(1, int(worker_cpus)),
            dtype=dtype,
            quantize=quantize,
            batch_size=batch_size,
            progress=progress and len(todo) > 0,
            progress_cls=_Progress,
            total=len(todo),
        )

    # Merge: the kept output, then every shard in order (an id already kept is not repeated:
    # a run killed between the merge and the removal of the shards leaves both).
    kept = _existing_ids(jsonl) if resume and jsonl.exists() else set()
    lines: list[str] = []
    for shard_file in _shard_files(shards):
        with shard_file.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip() and json.loads(line)["id"] not in kept:
                    lines.append(line.rstrip("\n"))
    append_atomic(jsonl, lines, keep_existing=resume and jsonl.exists())
    if shards.exists():  # the merged output now holds every shard
        shutil.rmtree(shards)
    if fmt != "jsonl":
        from argmine.document import iter_jsonl_articles

        with jsonl.open(encoding="utf-8") as handle:
            try:
                articles = list(iter_jsonl_articles(handle))
            except ValueError as exc:
                raise InputError(jsonl, str(exc)) from None
        write_report(articles, target, fmt=fmt, schema=schema, force=True, model_version=model_name)
    summary.seconds = time.perf_counter() - started
    return summary


def _run(
    rows: list[dict[str, Any]],
    sizes: dict[int, int],
    *,
    path: Path,
    name: str,
    shards: Path,
    summary: Any,
    sources: dict[str, str],
    address: str | None,
    workers: int,
    worker_cpus: float,
    worker_gpus: float,
    threads: int,
    dtype: str,
    quantize: str | None,
    batch_size: int,
    progress: bool,
    progress_cls: Any,
    total: int,
) -> None:
    """Tag ``rows`` (one per shard) on Ray and write each finished shard into ``shards``."""
    from argmine.tag import append_atomic

    local_cpus = max(1, int(workers * worker_cpus + 0.999))
    started_here = connect(address, num_cpus=local_cpus if address is None else None)
    import ray
    import ray.data

    logging.getLogger("ray.data").setLevel(logging.WARNING)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    bar = progress_cls(total, enabled=progress)
    try:
        model_ref = ray.put(_pack_model(path))
        dataset = ray.data.from_items(rows, override_num_blocks=len(rows))
        tagged = dataset.map_batches(
            _ShardTagger,
            fn_constructor_args=(model_ref, name),
            fn_constructor_kwargs={
                "threads": threads,
                "dtype": dtype,
                "quantize": quantize,
                "batch_size": batch_size,
            },
            batch_size=1,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=workers),
            num_cpus=worker_cpus,
            num_gpus=worker_gpus,
        )
        for row in tagged.iter_rows():
            shard = int(row["shard"])
            text = str(row["jsonl"])
            lines = text.splitlines()
            append_atomic(shards / SHARD_NAME.format(shard), lines, keep_existing=False)
            summary.tagged += len(lines)
            for article_id, reason in json.loads(str(row["failed"])):
                summary.failed.append(
                    (sources.get(article_id, article_id), f"article {article_id!r}: {reason}")
                )
            bar.advance(sizes[shard])
    except ray.exceptions.RayError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RayError(f"the Ray run failed: {first_line}") from None
    finally:
        bar.close()
        if started_here:
            ray.shutdown()
