"""Run the backend app on uvicorn (``argmine serve``)."""

from __future__ import annotations

import logging
import os
from typing import Any

from argmine.serve.config import BackendConfig, Secrets

__all__ = ["build", "run"]

log = logging.getLogger("argmine.serve")


def build(
    model: str | os.PathLike[str],
    *,
    config: BackendConfig | None = None,
    secrets: Secrets | None = None,
    connection: Any = None,
    project_title: str | None = "argmine",
    project_id: int | None = None,
    schema_path: str = "configs/labels.yaml",
) -> Any:
    """The FastAPI app for ``model`` (the backend starts with the app)."""
    from argmine.serve.app import Backend, create_app

    if connection is not None and project_id is None and project_title:
        from argmine.errors import StudioError
        from argmine.studio.client import StudioClient

        try:
            project_id = StudioClient(connection, timeout=10.0).find_project(project_title)
        except StudioError as exc:  # Label Studio may come up later; /setup names the project
            log.warning("project %r not looked up: %s", project_title, exc)
    backend = Backend.open(
        model,
        config=config or BackendConfig(),
        secrets=secrets or Secrets(),
        connection=connection,
        project_id=project_id,
        schema_path=schema_path,
    )
    return create_app(backend)


def run(
    model: str | os.PathLike[str], *, host: str = "127.0.0.1", port: int = 9090, **kwargs: Any
) -> None:
    import uvicorn

    app = build(model, **kwargs)
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=True)
