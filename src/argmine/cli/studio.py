"""Label Studio commands: argmine studio install, up, status, down, push, pull, import."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from argmine.cli._util import (
    DEFAULT_SCHEMA,
    ForceOpt,
    OutputOpt,
    SchemaOpt,
    app,
    emit_lines,
    say,
)

studio_app = typer.Typer(
    name="studio",
    help="Label Studio for annotators: install, up, status, down, push, pull, import.",
    no_args_is_help=True,
)
app.add_typer(studio_app, name="studio")
HomeOpt = Annotated[
    Path,
    typer.Option("--home", help="Where the local Label Studio lives.", show_default=True),
]
DEFAULT_STUDIO_HOME = Path(".argmine")
UrlOpt = Annotated[
    str | None,
    typer.Option("--url", help="Label Studio URL (else $LABEL_STUDIO_URL, .argmine/studio.env)."),
]
TokenOpt = Annotated[
    str | None,
    typer.Option(
        "--token",
        help="API token (else $LABEL_STUDIO_API_KEY, .argmine/studio.env).",
        show_default=False,
    ),
]
ProjectOpt = Annotated[str, typer.Option("--project", help="Project title.", show_default=True)]
StrictOpt = Annotated[
    bool, typer.Option("--strict", help="Refuse the export if anything needed a warning.")
]


def _connection(url: str | None, token: str | None, home: Path):  # -> Connection
    from argmine.studio.client import resolve_connection

    return resolve_connection(url=url, token=token, env_file=home / "studio.env")


@studio_app.command("install")
def studio_install_cmd(home: HomeOpt = DEFAULT_STUDIO_HOME) -> None:
    """Install Label Studio into its own venv (.argmine/studio-venv) if it is missing."""
    from argmine.studio.server import LABEL_STUDIO_VERSION, StudioHome, install, is_installed

    studio_home = StudioHome(home)
    if not is_installed(studio_home):
        say(
            [
                f"installing Label Studio {LABEL_STUDIO_VERSION} into {studio_home.venv} "
                f"(about 1 GB, a few minutes; log: {studio_home.root / 'studio-install.log'})"
            ]
        )
    done = install(studio_home)
    state = "installed" if done else "already installed"
    say([f"Label Studio {LABEL_STUDIO_VERSION} {state} in {studio_home.venv}"])


@studio_app.command("up")
def studio_up_cmd(
    port: Annotated[int, typer.Option("--port", help="Port on 127.0.0.1.")] = 8080,
    home: HomeOpt = DEFAULT_STUDIO_HOME,
    project: ProjectOpt = "argmine",
    schema: SchemaOpt = DEFAULT_SCHEMA,
    with_backend: Annotated[
        bool,
        typer.Option(
            "--with-backend", help="Also start `argmine serve --model MODEL` and connect it."
        ),
    ] = False,
    model: Annotated[
        Path, typer.Option("--model", help="Model for --with-backend.", show_default=True)
    ] = Path("models/default"),
    backend_port: Annotated[int, typer.Option("--backend-port", help="Backend port.")] = 9090,
    backend_config: Annotated[
        Path | None, typer.Option("--backend-config", help="Backend settings YAML.")
    ] = None,
) -> None:
    """Start Label Studio locally (installing it if needed) with the argmine project."""
    from argmine.config import load_label_schema
    from argmine.studio.labelconfig import label_config
    from argmine.studio.server import LABEL_STUDIO_VERSION, StudioHome, is_installed, start

    config = label_config(load_label_schema(schema))
    studio_home = StudioHome(home)
    if not is_installed(studio_home):
        say([f"installing Label Studio {LABEL_STUDIO_VERSION} into {studio_home.venv} (once)"])
    log = studio_home.log_file
    say([f"starting Label Studio (a minute or more on a fresh data dir; log {log})"])
    info = start(studio_home, port=port, label_config=config, project_title=project)
    for line in info.lines():
        typer.echo(line)
    if with_backend:
        from argmine.cli.serve import up_backend

        up_backend(
            home=home,
            model=model,
            port=backend_port,
            config=backend_config,
            project=project,
            connection=info.connection,
        )


@studio_app.command("status")
def studio_status_cmd(
    url: UrlOpt = None, token: TokenOpt = None, home: HomeOpt = DEFAULT_STUDIO_HOME
) -> None:
    """Is Label Studio installed, running, reachable; how many tasks and annotations."""
    from argmine.errors import StudioError
    from argmine.studio.server import StudioHome, status

    try:
        connection = _connection(url, token, home)
    except StudioError:
        connection = None  # status still says whether it is installed and running
    state = status(StudioHome(home), connection=connection)
    typer.echo(f"installed: {'yes' if state['installed'] else 'no'}")
    typer.echo(f"local server pid: {state['pid'] or 'not running'}")
    typer.echo(f"url: {state['url'] or '-'} ({'up' if state['healthy'] else 'not answering'})")
    project = state["project"]
    if project:
        typer.echo(
            f"project {project['title']!r} (id {project['id']}): {project['task_number']} tasks, "
            f"{project['num_tasks_with_annotations']} annotated, "
            f"{project['total_annotations_number']} annotations"
        )
    if not state["healthy"]:
        raise StudioError("Label Studio is not answering: run `argmine studio up`")


@studio_app.command("down")
def studio_down_cmd(home: HomeOpt = DEFAULT_STUDIO_HOME) -> None:
    """Stop the local Label Studio and its backend (SIGTERM, waits for them to exit)."""
    from argmine.serve.connect import stop_backend
    from argmine.studio.server import StudioHome, stop

    backend = stop_backend(home)
    if backend:
        typer.echo(f"stopped the argmine backend (pid {backend})")
    pid = stop(StudioHome(home))
    typer.echo(f"stopped Label Studio (pid {pid})" if pid else "Label Studio was not running")


@studio_app.command("push")
def studio_push_cmd(
    inputs: Annotated[
        list[str] | None,
        typer.Argument(
            help="Articles (.txt .md .html .jsonl, directories, globs, - for stdin).",
            show_default=False,
        ),
    ] = None,
    predictions: Annotated[
        Path | None,
        typer.Option(
            "--predictions",
            help="Predicted units and relations: JSONL from `argmine tag`, or the Label Studio "
            "tasks of `argmine tag --format labelstudio` (.json). They replace the rules'.",
        ),
    ] = None,
    model_version: Annotated[
        str | None, typer.Option("--model-version", help="Name shown for the predictions.")
    ] = None,
    order: Annotated[
        str, typer.Option("--order", help="input, or uncertainty (least confident first).")
    ] = "input",
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 50,
    url: UrlOpt = None,
    token: TokenOpt = None,
    home: HomeOpt = DEFAULT_STUDIO_HOME,
    project: ProjectOpt = "argmine",
    schema: SchemaOpt = DEFAULT_SCHEMA,
) -> None:
    """Import articles as tasks pre-annotated by rules (or --predictions); skips known ids."""
    from argmine.config import load_label_schema
    from argmine.errors import InputError
    from argmine.readers import read_articles
    from argmine.studio.push import ORDERS, push_articles

    if order not in ORDERS:
        raise InputError("--order", f"must be one of {', '.join(ORDERS)}, got {order!r}")
    if not inputs and predictions is None:
        raise InputError("push", "give articles to push, or --predictions FILE")
    label_schema = load_label_schema(schema)
    connection = _connection(url, token, home)
    articles = read_articles(inputs) if inputs else []
    predicted = None
    if predictions is not None and predictions.suffix.lower() == ".json":
        from argmine.corpora.labelstudio import load_predictions

        predicted = load_predictions(predictions, schema=label_schema)
    elif predictions is not None:
        predicted = read_articles([str(predictions)])
    report = push_articles(
        articles,
        connection=connection,
        predictions=predicted,
        model_version=model_version,
        order=order,
        project_title=project,
        schema=label_schema,
        batch_size=batch_size,
    )
    say(report.lines())


@studio_app.command("pull")
def studio_pull_cmd(
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Label Studio JSON to write (JSONL beside it). "
            "Default: annotations/pulled/studio-<project>-<UTC time>.json",
        ),
    ] = None,
    force: ForceOpt = False,
    strict: StrictOpt = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
    home: HomeOpt = DEFAULT_STUDIO_HOME,
    project: ProjectOpt = "argmine",
    schema: SchemaOpt = DEFAULT_SCHEMA,
) -> None:
    """Export every annotator's work (snapshot with full predictions) to JSON + argmine JSONL."""
    from argmine.config import load_label_schema
    from argmine.studio.pull import pull_project

    result = pull_project(
        connection=_connection(url, token, home),
        project_title=project,
        output=output,
        schema=load_label_schema(schema),
        strict=strict,
        force=force,
    )
    say(result.lines())


@studio_app.command("import")
def studio_import_cmd(
    file: Annotated[Path, typer.Argument(help="A Label Studio JSON export.", show_default=False)],
    output: OutputOpt = None,
    force: ForceOpt = False,
    strict: StrictOpt = False,
    schema: SchemaOpt = DEFAULT_SCHEMA,
) -> None:
    """Convert a Label Studio JSON export (no server needed) to argmine JSONL, with checks."""
    from argmine.config import load_label_schema
    from argmine.document import dumps_article
    from argmine.studio.pull import import_export

    label_schema = load_label_schema(schema)
    if output is None:
        result = import_export(file, schema=label_schema, strict=strict)
        emit_lines((dumps_article(a) for a in result.articles), output=None, force=force)
    else:
        result = import_export(file, output=output, schema=label_schema, strict=strict, force=force)
    say(result.lines())
