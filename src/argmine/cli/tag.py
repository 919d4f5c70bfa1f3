"""Tagging command: tag."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from argmine.cli._util import (
    DEFAULT_SCHEMA,
    EnsembleOpt,
    ForceOpt,
    MinShareOpt,
    SchemaOpt,
    ThreadsOpt,
    WindowBatchOpt,
    app,
    err,
    fail,
)

TAG_FORMATS = ("jsonl", "csv", "html", "labelstudio", "aif")  # = argmine.report.FORMATS


@app.command("tag")
def tag_cmd(
    inputs: Annotated[
        list[str],
        typer.Argument(
            help="Files (.txt .md .html .jsonl), directories, globs, or - for stdin.",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Output file.", show_default=False)
    ],
    model: Annotated[
        Path | None,
        typer.Option("--model", "-m", help="Model directory (default: models/default/)."),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="jsonl, csv, html, labelstudio or aif.")
    ] = "jsonl",
    resume: Annotated[
        bool, typer.Option("--resume", help="Skip articles already in the output; append.")
    ] = False,
    keep_going: Annotated[
        bool,
        typer.Option("--keep-going", help="Go on after unreadable inputs; exit 0 anyway."),
    ] = False,
    threads: ThreadsOpt = None,
    batch_size: WindowBatchOpt = 16,
    dtype: Annotated[
        str,
        typer.Option(
            "--dtype",
            help="float32, or bfloat16 on CPUs with AMX / AVX512-BF16 (faster there, slower "
            "elsewhere; agreement with float32 in docs/benchmarks.md).",
        ),
    ] = "float32",
    chunk_size: Annotated[
        int,
        typer.Option(
            "--chunk-size",
            min=1,
            help="Articles tagged between two atomic writes (--engine ray: per shard).",
        ),
    ] = 64,
    schema: SchemaOpt = DEFAULT_SCHEMA,
    no_progress: Annotated[
        bool, typer.Option("--no-progress", help="No progress bar on stderr.")
    ] = False,
    force: ForceOpt = False,
    engine: Annotated[
        str, typer.Option("--engine", help="local (this process) or ray (Ray Data).")
    ] = "local",
    address: Annotated[
        str | None,
        typer.Option(
            "--address",
            help="Ray cluster to join: auto or HOST:PORT (default: a private local instance "
            "on 127.0.0.1).",
        ),
    ] = None,
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="Ray: model actors (one model each).")
    ] = 2,
    worker_cpus: Annotated[
        float, typer.Option("--worker-cpus", min=0.01, help="Ray: CPUs per actor.")
    ] = 1.0,
    worker_gpus: Annotated[
        float, typer.Option("--worker-gpus", min=0.0, help="Ray: GPUs per actor.")
    ] = 0.0,
    ensemble: EnsembleOpt = None,
    min_share: MinShareOpt = 0.5,
) -> None:
    """Tag articles with a trained model: JSONL with scores, CSV, HTML report, Label Studio, AIF."""
    if fmt not in TAG_FORMATS:
        raise fail(f"--format {fmt!r}: expected one of {', '.join(TAG_FORMATS)}")
    if resume and force:
        raise fail("--resume and --force contradict each other; pass one of them")
    if dtype not in ("float32", "bfloat16"):
        raise fail(f"--dtype {dtype!r}: expected float32 or bfloat16")
    if engine not in ("local", "ray"):
        raise fail(f"--engine {engine!r}: expected local or ray")
    if engine == "local" and (
        address is not None or workers != 2 or worker_cpus != 1.0 or worker_gpus != 0.0
    ):
        raise fail("--address, --workers, --worker-cpus and --worker-gpus need --engine ray")
    if min_share != 0.5 and not ensemble:
        raise fail("--min-share needs --ensemble")
    if fmt != "html" and schema != DEFAULT_SCHEMA:
        raise fail("--schema is read by --format html only (the labels come from the model)")
    if ensemble and engine == "ray":
        raise fail("--ensemble runs on --engine local only (one model per Ray actor)")
    from argmine.tag import tag_files

    run = tag_files
    if engine == "ray":
        from functools import partial

        from argmine.engines.ray import tag_files_ray

        run = partial(
            tag_files_ray,
            address=address,
            workers=workers,
            worker_cpus=worker_cpus,
            worker_gpus=worker_gpus,
        )
    summary = run(
        inputs,
        model_dir=model,
        output=output,
        fmt=fmt,
        resume=resume,
        force=force,
        keep_going=keep_going,
        threads=threads,
        batch_size=batch_size,
        chunk_size=chunk_size,
        dtype=dtype,
        schema_path=schema,
        progress=not no_progress,
        **({"ensemble": ensemble, "min_share": min_share} if ensemble else {}),
    )
    where = summary.partial if summary.partial is not None else summary.output
    err.print(
        f"tagged {summary.tagged}, skipped {summary.skipped}, failed {len(summary.failed)} "
        f"in {summary.seconds:.1f}s -> {where}",
        markup=False,
        highlight=False,
    )
    for source, reason in summary.failed:
        err.print(f"  failed: {source}: {reason}", markup=False, highlight=False)
    if summary.failed and not keep_going:
        err.print(
            f"stopped at the first input that could not be read, so {summary.output} was not "
            "written"
            + (
                f", the {summary.tagged} articles tagged are kept in {summary.partial}: fix or "
                "leave out the input and run again with --resume"
                if summary.partial is not None
                else ""
            )
            + " (--keep-going skips such inputs)",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(code=1)
