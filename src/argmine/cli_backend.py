"""``argmine serve`` and ``argmine models list|promote`` (registered on the main app)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

DEFAULT_MODEL = Path("models/default")
DEFAULT_HOME = Path(".argmine")

ModelOpt = Annotated[
    Path,
    typer.Option(
        "--model", "-m", help="Model directory (or its -versions directory).", show_default=True
    ),
]


def serve_cmd(
    model: ModelOpt = DEFAULT_MODEL,
    host: Annotated[str, typer.Option("--host", help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port.")] = 9090,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="Backend settings YAML (configs/backend.yaml)."),
    ] = None,
    studio_url: Annotated[
        str | None, typer.Option("--studio-url", help="Label Studio URL for retraining.")
    ] = None,
    studio_token: Annotated[
        str | None,
        typer.Option("--studio-token", help="Label Studio API token.", show_default=False),
    ] = None,
    studio_home: Annotated[
        Path, typer.Option("--studio-home", help="Where studio.env is.", show_default=True)
    ] = DEFAULT_HOME,
    project: Annotated[str, typer.Option("--project", help="Project title.")] = "argmine",
    schema: Annotated[Path, typer.Option("--schema", help="Label schema YAML.")] = Path(
        "configs/labels.yaml"
    ),
) -> None:
    """Serve a model: Label Studio ML backend, POST /tag, retraining (docs at /docs)."""
    from argmine.cli import err
    from argmine.errors import StudioError
    from argmine.serve.config import Secrets, load_backend_config
    from argmine.studio.client import resolve_connection

    settings = load_backend_config(config)
    secrets = Secrets.from_env()
    try:
        connection = resolve_connection(
            url=studio_url, token=studio_token, env_file=studio_home / "studio.env"
        )
    except StudioError:
        connection = None
    if host not in ("127.0.0.1", "localhost", "::1") and secrets.basic is None:
        err.print(
            f"warning: serving on {host} without HTTP Basic auth "
            "(set ARGMINE_BACKEND_USER and ARGMINE_BACKEND_PASSWORD)",
            markup=False,
            highlight=False,
        )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    from argmine.serve.server import run

    run(
        model,
        host=host,
        port=port,
        config=settings,
        secrets=secrets,
        connection=connection,
        project_title=project,
        schema_path=str(schema),
    )


models_app = typer.Typer(
    name="models",
    help="Model versions of a run: list them, promote one (rollback).",
    no_args_is_help=True,
)


@models_app.command("list")
def models_list_cmd(model: ModelOpt = DEFAULT_MODEL) -> None:
    """Every version with its frozen-dev score, and which one is promoted."""
    from argmine.serve.versions import VersionStore, versions_root

    store = VersionStore(versions_root(model))
    versions = store.versions()
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
