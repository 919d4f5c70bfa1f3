"""Training commands: train, evaluate."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from argmine.cli._util import (
    EnsembleOpt,
    ForceOpt,
    MinShareOpt,
    ThreadsOpt,
    WindowBatchOpt,
    app,
    err,
    fail,
)


@app.command("train")
def train_cmd(
    config: Annotated[Path, typer.Argument(help="Run config YAML (configs/*.yaml).")],
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a config value: key.path=value (repeatable)."),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue from the last checkpoint after a kill.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an existing output directory.")
    ] = False,
) -> None:
    """Fine-tune a token tagger from a run config into its output directory."""
    if resume and force:
        raise fail("--resume and --force exclude each other")
    from argmine.config import load_run_config

    cfg = load_run_config(config, overrides=overrides or [])
    from argmine.train import train_cv

    result = train_cv(cfg, resume=resume, force=force)
    metrics = result.metrics
    if "folds" in metrics:
        summary = (
            f"{metrics['folds']} folds, mean test overlap F1 {metrics['overlap_micro_f1']:.3f} "
            f"(macro {metrics['overlap_macro_f1']:.3f})"
        )
    else:
        split = "test" if "test" in metrics else "dev"
        summary = f"{split} overlap F1 {metrics[split]['overlap']['micro']['f1']:.3f}"
    err.print(
        f"ok: {result.output_dir} in {result.seconds:.0f} s; {summary}",
        markup=False,
        highlight=False,
    )


@app.command("evaluate")
def evaluate_cmd(
    model: Annotated[Path, typer.Argument(help="Model directory.", show_default=False)],
    data: Annotated[
        Path,
        typer.Argument(
            help="Gold data: argmine JSONL, a Label Studio export (.json), or a corpus path "
            "with --format.",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the scores as JSON here.")
    ] = None,
    fmt: Annotated[
        str,
        typer.Option("--format", "-f", help="auto, jsonl, labelstudio, brat, microtexts or webis."),
    ] = "auto",
    split: Annotated[
        str | None, typer.Option("--split", help="Corpus split (webis: train, dev, test).")
    ] = None,
    threads: ThreadsOpt = None,
    batch_size: WindowBatchOpt = 16,
    force: ForceOpt = False,
    ensemble: EnsembleOpt = None,
    min_share: MinShareOpt = 0.5,
    unannotated: Annotated[
        list[str] | None,
        typer.Option(
            "--unannotated",
            help="LABEL=UNDER[,UNDER]: the gold does not annotate LABEL; predictions of it "
            "count as the first UNDER that is not O (else are dropped), e.g. "
            "Conclusion=O,Claim (repeatable; the --format webis default; 'none': no "
            "such label).",
        ),
    ] = None,
) -> None:
    """Span P/R/F1 (exact and >= 0.5 overlap), per label, micro and macro, a confusion, and
    relation F1 (end to end and with gold units) beside the rule baseline on the same data."""
    import json

    from rich.console import Console

    from argmine.evaluate import format_comparison, format_confusion, format_table
    from argmine.fileio import atomic_write_text, check_output
    from argmine.tag import evaluate_model, load_gold

    if min_share != 0.5 and not ensemble:
        raise fail("--min-share needs --ensemble")
    if output is not None:
        check_output(output, force=force)
    gold = load_gold(data, fmt=fmt, split=split, unannotated=_unannotated(unannotated))
    scores = evaluate_model(
        model,
        gold,
        batch_size=batch_size,
        threads=threads,
        ensemble=ensemble or (),
        min_share=min_share,
    )
    out = Console(highlight=False, width=None if sys.stdout.isatty() else 120)
    out.print(format_table(scores, title=f"Span scores: {model} on {data}"))
    out.print(format_confusion(scores))
    out.print(format_comparison(scores, title=f"{model} vs the rules on the same articles"))
    if output is not None:
        atomic_write_text(output, json.dumps(scores, indent=2) + "\n", force=force)
        err.print(f"scores written to {output}", markup=False, highlight=False)


def _unannotated(specs: list[str] | None) -> dict[str, list[str]] | None:
    """``--unannotated`` values as ``{label: [hides under]}``; None when not given."""
    if not specs:
        return None
    if [x.strip().lower() for x in specs] == ["none"]:
        return {}
    if "none" in (x.strip().lower() for x in specs):
        raise fail("--unannotated none cannot be combined with LABEL=UNDER values")
    hidden: dict[str, list[str]] = {}
    for spec in specs:
        label, sep, rest = spec.partition("=")
        under = [x.strip() for x in rest.split(",") if x.strip()]
        if not sep or not label.strip() or not under:
            raise fail(
                f"--unannotated {spec!r}: expected LABEL=UNDER[,UNDER], e.g. Conclusion=O,Claim"
            )
        if label.strip() in under:
            raise fail(f"--unannotated {spec!r}: {label.strip()} cannot hide under itself")
        if label.strip() in hidden:
            raise fail(f"--unannotated {label.strip()} is given twice; give each label once")
        hidden[label.strip()] = under
    return hidden
