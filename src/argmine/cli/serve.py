"""``argmine serve``: the Label Studio ML backend and the HTTP tagging API."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from argmine.cli._util import app, err
from argmine.cli.studio import (
    DEFAULT_STUDIO_HOME,
    HomeOpt,
    ProjectOpt,
    TokenOpt,
    UrlOpt,
    _connection,
    studio_app,
)

DEFAULT_MODEL = Path("models/default")
DEFAULT_HOME = Path(".argmine")

ModelOpt = Annotated[
    Path,
    typer.Option(
        "--model", "-m", help="Model directory (or its -versions directory).", show_default=True
    ),
]


@app.command("serve")
def serve_cmd(
    model: ModelOpt = DEFAULT_MODEL,
    host: Annotated[str, typer.Option("--host", help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port.", min=1, max=65535)] = 9090,
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


def up_backend(
    *,
    home: Path,
    model: Path,
    port: int,
    config: Path | None,
    project: str,
    connection: object,
) -> None:
    """Start the backend in the background (``studio up --with-backend``) and connect it."""
    from argmine.cli._util import say
    from argmine.serve.config import Secrets
    from argmine.serve.connect import connect_backend, start_backend

    say([f"starting the argmine backend for {model} (log {home / 'backend.log'})"])
    url, pid, started = start_backend(
        home, model=model, port=port, config=config, project_title=project
    )
    typer.echo(f"argmine backend {'started' if started else 'running'} at {url} (pid {pid})")
    secrets = Secrets.from_env()
    report = connect_backend(
        connection,
        backend_url=url,
        project_title=project,
        basic_auth=secrets.basic,
        webhook_secret=secrets.webhook_secret,
    )
    for line in report.lines():
        typer.echo(line)


@studio_app.command("connect")
def studio_connect_cmd(
    backend: Annotated[str, typer.Option("--backend", help="The running backend's URL.")],
    url: UrlOpt = None,
    token: TokenOpt = None,
    home: HomeOpt = DEFAULT_STUDIO_HOME,
    project: ProjectOpt = "argmine",
) -> None:
    """Connect a running `argmine serve` to the project (predictions, model_version, queue).

    Turns predictions on in the editor, sets the project's model_version to the served one and
    adds the Data Manager tab "Review queue (least certain first)"."""
    from argmine.serve.config import Secrets
    from argmine.serve.connect import connect_backend

    secrets = Secrets.from_env()
    report = connect_backend(
        _connection(url, token, home),
        backend_url=backend,
        project_title=project,
        basic_auth=secrets.basic,
        webhook_secret=secrets.webhook_secret,
    )
    for line in report.lines():
        typer.echo(line)
