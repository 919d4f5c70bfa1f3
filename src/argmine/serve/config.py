"""Backend settings (``configs/backend.yaml``): batching, limits and retraining. Strict YAML.

Secrets are not in this file: HTTP Basic credentials and the webhook secret come from the
environment (``ARGMINE_BACKEND_USER``, ``ARGMINE_BACKEND_PASSWORD``,
``ARGMINE_WEBHOOK_SECRET``), read when the server starts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from argmine.errors import ConfigError

__all__ = ["BackendConfig", "RetrainConfig", "Secrets", "load_backend_config"]

USER_VAR = "ARGMINE_BACKEND_USER"
PASSWORD_VAR = "ARGMINE_BACKEND_PASSWORD"
SECRET_VAR = "ARGMINE_WEBHOOK_SECRET"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RetrainConfig(_Strict):
    """When and how the backend retrains from the project's annotations."""

    every: int = Field(10, ge=0, description="new or updated annotations per retrain; 0: never")
    train_config: str | None = Field(
        None, description="run config to train from (default: the promoted model's config.yaml)"
    )
    keep_sources: bool = Field(
        False, description="train on the run config's own data sources too, not only the project"
    )
    dev_tasks: int = Field(10, ge=10, description="size of the frozen dev set (>= 10 tasks)")
    min_train_tasks: int = Field(3, ge=1, description="annotated tasks needed besides dev")
    seed: int = 13
    overrides: list[str] = Field(default_factory=list, description="key.path=value for training")


class BackendConfig(_Strict):
    """``argmine serve`` settings."""

    max_batch_articles: int = Field(16, ge=1, description="articles per forward-pass batch")
    batch_window: int = Field(16, ge=1, description="windows per forward pass")
    max_request_bytes: int = Field(16 * 1024 * 1024, ge=1024)
    threads: int | None = Field(None, ge=1, description="torch threads for tagging")
    poll_seconds: float = Field(1.0, gt=0, description="how often the promoted pointer is read")
    retrain: RetrainConfig = RetrainConfig()


def load_backend_config(
    path: str | os.PathLike[str] | None, *, overrides: Mapping[str, object] | None = None
) -> BackendConfig:
    """Read ``path`` (None: the defaults); every problem is one ConfigError line."""
    from argmine.config import load_yaml

    data: object = {}
    source = str(path) if path is not None else "<defaults>"
    if path is not None:
        data = load_yaml(Path(path)) or {}
        if not isinstance(data, dict):
            raise ConfigError(source, "a backend config must be a mapping")
    merged = dict(data)  # type: ignore[arg-type]
    for key, value in (overrides or {}).items():
        section, _, leaf = key.partition(".")
        if leaf:
            merged[section] = {**dict(merged.get(section) or {}), leaf: value}
        else:
            merged[key] = value
    try:
        return BackendConfig.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "(top level)"
        msg = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
        raise ConfigError(source, f"{loc}: {msg}") from None


class Secrets(BaseModel):
    """HTTP Basic credentials and the webhook secret (never logged, never in reprs)."""

    model_config = ConfigDict(frozen=True)

    user: str | None = None
    password: str | None = Field(None, repr=False)
    webhook_secret: str | None = Field(None, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Secrets:
        env = os.environ if environ is None else environ
        user, password = env.get(USER_VAR) or None, env.get(PASSWORD_VAR) or None
        if bool(user) != bool(password):
            raise ConfigError(
                "environment", f"set both {USER_VAR} and {PASSWORD_VAR} for HTTP Basic auth"
            )
        return cls(user=user, password=password, webhook_secret=env.get(SECRET_VAR) or None)

    @property
    def basic(self) -> tuple[str, str] | None:
        return (self.user, self.password) if self.user and self.password else None
