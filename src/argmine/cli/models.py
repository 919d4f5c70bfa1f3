"""``argmine models list|promote``: the versions of a run and which one is served."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from argmine.cli._util import app

DEFAULT_MODEL = Path("models/default")

ModelOpt = Annotated[
    Path,
    typer.Option(
        "--model", "-m", help="Model directory (or its -versions directory).", show_default=True
    ),
]

models_app = typer.Typer(
    name="models",
    help="Model versions of a run: list them, promote one (rollback).",
    no_args_is_help=True,
)
app.add_typer(models_app, name="models")


@models_app.command("list")
def models_list_cmd(model: ModelOpt = DEFAULT_MODEL) -> None:
    """Every version with its frozen-dev score, and which one is promoted."""
    from argmine.serve.versions import VersionStore, versions_root

    store = VersionStore(versions_root(model))
    versions = store.versions()
    if not versions and not Path(model).exists() and not store.root.exists():
        from argmine.errors import ModelError

        raise ModelError(f"{model}: no such model directory (and no {store.root})")
    if not versions:
        typer.echo(f"no versions in {store.root} (`argmine serve --model {model}` creates v1)")
        return
    typer.echo(
        f"{'':2}{'version':<8} {'model_version':<24} {'created':<21} {'dev F1':>7}  decision"
    )
    for v in versions:
        f1 = v.metrics.get("frozen_dev_overlap_micro_f1")
        shown = f"{f1:.3f}" if isinstance(f1, (int, float)) else "-"
        mark = "* " if v.promoted else "  "
        typer.echo(
            f"{mark}{v.name:<8} {v.model_version:<24} {v.created:<21} {shown:>7}  {v.decision}"
        )
    typer.echo(f"(* promoted; {store.root})")


@models_app.command("promote")
def models_promote_cmd(
    version: Annotated[str, typer.Argument(help="Version (v3) or model_version (run-v3).")],
    model: ModelOpt = DEFAULT_MODEL,
) -> None:
    """Serve VERSION from now on (a running backend switches within a second or so)."""
    from argmine.serve.versions import VersionStore, versions_root

    store = VersionStore(versions_root(model))
    name = store.resolve(version)
    previous = store.promoted()
    info = store.promote(name, reason=f"argmine models promote {version} (was {previous})")
    typer.echo(f"promoted {info.model_version} (was {previous or 'none'})")
