"""A Label Studio connection (the only module that imports ``label_studio_sdk``).

Where the URL and API token come from, first found wins: ``--url``/``--token`` options, the
environment (``LABEL_STUDIO_URL``, ``LABEL_STUDIO_API_KEY``), then ``.argmine/studio.env``
(written by ``argmine studio up``, mode 0600). The token is never printed whole
(:meth:`Connection.masked_token`).

Every failed request becomes one :class:`~argmine.errors.StudioError` line naming the server,
the request and Label Studio's answer.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from argmine.errors import StudioError
from argmine.fileio import atomic_write_text

__all__ = [
    "DEFAULT_ENV_FILE",
    "Connection",
    "StudioClient",
    "read_env_file",
    "resolve_connection",
    "write_env_file",
]

DEFAULT_ENV_FILE = Path(".argmine") / "studio.env"
URL_VAR = "LABEL_STUDIO_URL"
TOKEN_VAR = "LABEL_STUDIO_API_KEY"

T = TypeVar("T")


def read_env_file(path: str | os.PathLike[str]) -> dict[str, str]:
    """``KEY=value`` lines (``#`` comments and blanks skipped; quotes around values dropped)."""
    values: dict[str, str] = {}
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return values
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip().removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def write_env_file(path: str | os.PathLike[str], values: Mapping[str, str]) -> Path:
    """Write ``KEY=value`` lines atomically with mode 0600 (the file holds a secret)."""
    lines = ["# Label Studio connection written by `argmine studio up` (keep private)."]
    lines += [f"{key}={value}" for key, value in values.items()]
    return atomic_write_text(path, "\n".join(lines) + "\n", force=True, file_mode=0o600)


def mask(token: str) -> str:
    return f"{token[:4]}…({len(token)} chars)" if len(token) > 8 else "…"


@dataclass(frozen=True)
class Connection:
    """Where Label Studio is and how to log in to its API."""

    url: str
    token: str

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"Label Studio URL must start with http:// or https://: {self.url!r}")
        if not self.token:
            raise ValueError("Label Studio API token is empty")

    @property
    def masked_token(self) -> str:
        return mask(self.token)

    def __repr__(self) -> str:  # never show the token whole
        return f"Connection(url={self.url!r}, token={self.masked_token!r})"


def resolve_connection(
    *,
    url: str | None = None,
    token: str | None = None,
    env_file: str | os.PathLike[str] | None = DEFAULT_ENV_FILE,
    environ: Mapping[str, str] | None = None,
) -> Connection:
    """The connection from options, else environment variables, else the env file."""
    environ = os.environ if environ is None else environ
    saved = read_env_file(env_file) if env_file is not None else {}
    url = url or environ.get(URL_VAR) or saved.get(URL_VAR)
    token = token or environ.get(TOKEN_VAR) or saved.get(TOKEN_VAR)
    if not url or not token:
        missing = " and ".join(
            name for name, value in ((URL_VAR, url), (TOKEN_VAR, token)) if not value
        )
        raise StudioError(
            f"no Label Studio {missing}: run `argmine studio up`, or pass --url/--token, "
            f"or set {URL_VAR} and {TOKEN_VAR}"
        )
    try:
        return Connection(url=url.rstrip("/"), token=token)
    except ValueError as exc:
        raise StudioError(str(exc)) from None


def _as_dict(obj: Any) -> dict[str, Any]:
    if isinstance(obj, Mapping):
        return dict(obj)
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json", exclude_unset=False)
    if hasattr(obj, "dict"):
        return obj.dict()
    raise TypeError(f"unexpected Label Studio object {type(obj).__name__}")


class StudioClient:
    """The few Label Studio operations argmine needs, over ``label_studio_sdk``."""

    def __init__(self, connection: Connection, *, timeout: float = 120.0) -> None:
        from label_studio_sdk import LabelStudio

        self.connection = connection
        self.sdk = LabelStudio(base_url=connection.url, api_key=connection.token, timeout=timeout)

    # -- plumbing -----------------------------------------------------------------------------
    def _call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        import httpx
        from label_studio_sdk.core.api_error import ApiError

        try:
            return fn(*args, **kwargs)
        except ApiError as exc:
            body = exc.body if isinstance(exc.body, str) else json.dumps(exc.body, default=str)
            if exc.status_code == 401:
                hint = f" (token {self.connection.masked_token} refused)"
            else:
                hint = ""
            raise StudioError(
                f"Label Studio at {self.connection.url}: {what} failed with HTTP "
                f"{exc.status_code}{hint}: {body[:300]}"
            ) from None
        except httpx.HTTPError as exc:
            raise StudioError(
                f"Label Studio at {self.connection.url}: {what} failed: {exc or type(exc).__name__}"
            ) from None

    def request(self, method: str, path: str, *, what: str, **kwargs: Any) -> Any:
        """A raw API request (for endpoints the SDK does not cover); the JSON answer."""
        import httpx

        headers = {"Authorization": f"Token {self.connection.token}"}
        try:
            response = httpx.request(
                method, f"{self.connection.url}{path}", headers=headers, timeout=120.0, **kwargs
            )
        except httpx.HTTPError as exc:
            raise StudioError(
                f"Label Studio at {self.connection.url}: {what} failed: {exc or type(exc).__name__}"
            ) from None
        if response.status_code >= 400:
            raise StudioError(
                f"Label Studio at {self.connection.url}: {what} failed with HTTP "
                f"{response.status_code}: {response.text[:300]}"
            )
        return response.json() if response.content else None

    # -- users and projects -------------------------------------------------------------------
    def whoami(self) -> dict[str, Any]:
        return _as_dict(self._call("checking the API token", self.sdk.users.whoami))

    def find_project(self, title: str) -> int | None:
        projects = self._call("listing projects", lambda: list(self.sdk.projects.list()))
        ids = sorted(p.id for p in projects if p.title == title)
        return ids[0] if ids else None

    def ensure_project(self, title: str, label_config: str) -> tuple[int, bool]:
        """The project called ``title`` (created if missing, label config brought up to date)."""
        project_id = self.find_project(title)
        if project_id is None:
            project = self._call(
                f"creating project {title!r}",
                self.sdk.projects.create,
                title=title,
                label_config=label_config,
                show_collab_predictions=True,
                description="argmine: Claim, Evidence, Conclusion spans and their relations",
            )
            return project.id, True
        current = self._call(f"reading project {title!r}", self.sdk.projects.get, id=project_id)
        if (getattr(current, "label_config", None) or "").strip() != label_config.strip():
            self._call(
                f"updating the label config of project {title!r}",
                self.sdk.projects.update,
                id=project_id,
                label_config=label_config,
            )
        return project_id, False

    def project_counts(self, project_id: int) -> dict[str, Any]:
        project = _as_dict(
            self._call(f"reading project {project_id}", self.sdk.projects.get, id=project_id)
        )
        keys = (
            "id",
            "title",
            "task_number",
            "total_annotations_number",
            "num_tasks_with_annotations",
        )
        return {k: project.get(k) for k in keys}

    def create_user(self, *, username: str, email: str, password: str | None = None) -> int:
        kwargs: dict[str, Any] = {"username": username, "email": email}
        if password:
            kwargs["password"] = password
        user = self._call(f"creating user {email}", self.sdk.users.create, **kwargs)
        return user.id

    def annotators(self) -> dict[int, str]:
        """User id -> email of the organisation's users (empty if the token may not list them)."""
        try:
            users = self.request("GET", "/api/users/", what="listing users")
        except StudioError:
            return {}
        if isinstance(users, Mapping):
            users = users.get("results", [])
        return {
            u["id"]: u.get("email") or u.get("username") or str(u["id"])
            for u in users or []
            if isinstance(u, Mapping) and "id" in u
        }

    # -- tasks --------------------------------------------------------------------------------
    def iter_tasks(self, project_id: int, *, fields: str = "all") -> Iterator[dict[str, Any]]:
        """Every task of the project (raw JSON, with ``data``), page by page."""
        page = 1
        while True:
            answer = self.request(
                "GET",
                "/api/tasks",
                what=f"listing tasks of project {project_id}",
                params={"project": project_id, "page": page, "page_size": 100, "fields": fields},
            )
            tasks = answer.get("tasks", []) if isinstance(answer, Mapping) else answer or []
            yield from tasks
            total = answer.get("total") if isinstance(answer, Mapping) else None
            if not tasks or total is None or page * 100 >= total:
                return
            page += 1

    def data_ids(self, project_id: int) -> dict[str, int]:
        """``data.id`` -> task id for the project's tasks (first task wins)."""
        found: dict[str, int] = {}
        for task in self.iter_tasks(project_id, fields="task_only"):
            data = task.get("data") or {}
            if data.get("id") not in (None, ""):
                found.setdefault(str(data["id"]), task["id"])
        return found

    def import_tasks(
        self, project_id: int, tasks: Sequence[Mapping[str, Any]], *, batch_size: int = 50
    ) -> list[int]:
        """Import tasks (with their predictions) in batches; the new task ids in order."""
        ids: list[int] = []
        for start in range(0, len(tasks), batch_size):
            batch = [dict(t) for t in tasks[start : start + batch_size]]
            answer = self._call(
                f"importing tasks {start + 1}-{start + len(batch)}",
                self.sdk.projects.import_tasks,
                id=project_id,
                request=batch,
                return_task_ids=True,
                commit_to_project=True,
            )
            got = list(getattr(answer, "task_ids", None) or [])
            if len(got) != len(batch):
                raise StudioError(
                    f"Label Studio at {self.connection.url}: imported {len(got)} of "
                    f"{len(batch)} tasks"
                )
            ids.extend(got)
        return ids

    def create_annotation(
        self,
        task_id: int,
        result: Iterable[Mapping[str, Any]],
        *,
        completed_by: int | None = None,
        lead_time: float | None = None,
        ground_truth: bool = False,
        was_cancelled: bool = False,
    ) -> int:
        """Submit an annotation to a task (as the given user if the token may do that)."""
        payload: dict[str, Any] = {
            "result": [dict(r) for r in result],
            "ground_truth": ground_truth,
            "was_cancelled": was_cancelled,
        }
        if completed_by is not None:
            payload["completed_by"] = completed_by
        if lead_time is not None:
            payload["lead_time"] = lead_time
        answer = self.request(
            "POST",
            f"/api/tasks/{task_id}/annotations/",
            what="creating an annotation",
            json=payload,
        )
        return answer["id"]

    def create_draft(self, task_id: int, result: Iterable[Mapping[str, Any]]) -> int:
        """Save an unsubmitted draft on a task (as the token's user)."""
        answer = self.request(
            "POST",
            f"/api/tasks/{task_id}/drafts",
            what="saving a draft",
            json={"result": [dict(r) for r in result], "lead_time": 1.0},
        )
        return answer["id"]

    def validate_label_config(self, project_id: int, label_config: str) -> None:
        """Ask the server to check a label config (StudioError with its answer if refused)."""
        self.request(
            "POST",
            f"/api/projects/{project_id}/validate/",
            what="validating the label config",
            json={"label_config": label_config},
        )

    def label_config(self, project_id: int) -> str:
        project = self._call(f"reading project {project_id}", self.sdk.projects.get, id=project_id)
        return getattr(project, "label_config", None) or ""

    # -- export -------------------------------------------------------------------------------
    def export_snapshot(self, project_id: int, *, timeout: float = 300.0) -> list[dict[str, Any]]:
        """The project as a Label Studio JSON export with full predictions and annotations.

        Uses an export snapshot: the plain export endpoint gives predictions as bare ids.
        """
        created = self.request(
            "POST",
            f"/api/projects/{project_id}/exports",
            what="creating an export snapshot",
            json={
                "title": f"argmine pull {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}",
                "serialization_options": {
                    "drafts": {"only_id": False},
                    "predictions": {"only_id": False},
                    "annotations__completed_by": {"only_id": True},
                    "interpolate_key_frames": False,
                },
                # "usual" alone means not cancelled *and not ground truth*: name all three.
                "annotation_filter_options": {"usual": True, "ground_truth": True, "skipped": True},
            },
        )
        export_id = created["id"]
        deadline = time.monotonic() + timeout
        status = created.get("status")
        while status not in ("completed", "failed"):
            if time.monotonic() > deadline:
                raise StudioError(
                    f"Label Studio at {self.connection.url}: export {export_id} not ready "
                    f"after {timeout:.0f} s (status {status})"
                )
            time.sleep(0.5)
            status = self.request(
                "GET",
                f"/api/projects/{project_id}/exports/{export_id}",
                what=f"checking export {export_id}",
            ).get("status")
        if status == "failed":
            raise StudioError(f"Label Studio at {self.connection.url}: export {export_id} failed")
        data = self.request(
            "GET",
            f"/api/projects/{project_id}/exports/{export_id}/download",
            what=f"downloading export {export_id}",
            params={"exportType": "JSON"},
        )
        if not isinstance(data, list):
            raise StudioError(
                f"Label Studio at {self.connection.url}: export {export_id} is not a list of tasks"
            )
        return data

    # -- ML backend ---------------------------------------------------------------------------
    def ml_backends(self, project_id: int) -> list[dict[str, Any]]:
        backends = self._call(
            f"listing the ML backends of project {project_id}",
            self.sdk.ml.list,
            project=project_id,
        )
        return [_as_dict(b) for b in backends or []]

    def connect_ml_backend(
        self,
        project_id: int,
        url: str,
        *,
        title: str = "argmine",
        basic_auth: tuple[str, str] | None = None,
        is_interactive: bool = False,
    ) -> int:
        """Add the backend at ``url`` to the project (Label Studio calls its /health and /setup
        at once, so it must be up); an existing one with that URL is kept. Its id."""
        for backend in self.ml_backends(project_id):
            if str(backend.get("url", "")).rstrip("/") == url.rstrip("/"):
                return int(backend["id"])
        kwargs: dict[str, Any] = {
            "project": project_id,
            "url": url,
            "title": title,
            "is_interactive": is_interactive,
            "auto_update": True,
        }
        if basic_auth is not None:
            kwargs.update(
                auth_method="BASIC_AUTH",
                basic_auth_user=basic_auth[0],
                basic_auth_pass=basic_auth[1],
            )
        backend = self._call(f"adding the ML backend {url}", self.sdk.ml.create, **kwargs)
        return int(backend.id)

    def set_webhook_headers(self, project_id: int, url: str, headers: dict[str, str]) -> bool:
        """Give the project's webhook to ``url`` extra headers (e.g. a shared secret)."""
        hooks = self.request(
            "GET", "/api/webhooks/", what="listing webhooks", params={"project": project_id}
        )
        for hook in hooks or []:
            if isinstance(hook, Mapping) and str(hook.get("url", "")).rstrip("/") == url:
                self.request(
                    "PATCH",
                    f"/api/webhooks/{hook['id']}/",
                    what="setting the webhook headers",
                    json={"headers": headers},
                )
                return True
        return False

    def set_model_version(self, project_id: int, model_version: str) -> None:
        """The project's model_version: the editor shows only predictions of this version."""
        self._call(
            f"setting the model version of project {project_id}",
            self.sdk.projects.update,
            id=project_id,
            model_version=model_version,
        )

    def enable_predictions(self, project_id: int) -> None:
        """Show predictions in the editor and fetch them for tasks that have none."""
        self._call(
            f"turning on predictions in project {project_id}",
            self.sdk.projects.update,
            id=project_id,
            show_collab_predictions=True,
            evaluate_predictions_automatically=True,
        )

    def project_settings(self, project_id: int) -> dict[str, Any]:
        return _as_dict(
            self._call(f"reading project {project_id}", self.sdk.projects.get, id=project_id)
        )

    def retrieve_predictions(
        self, project_id: int, *, task_ids: Sequence[int] | None = None, chunk: int = 50
    ) -> int:
        """Ask Label Studio to get predictions from the backend for ``task_ids`` (default:
        every task without a submitted annotation; it skips tasks that already have the current
        version's), in chunks of ``chunk`` tasks. The number of tasks asked for."""
        ids = (
            list(task_ids)
            if task_ids is not None
            else [
                t["id"]
                for t in self.iter_tasks(project_id, fields="all")
                if not t.get("total_annotations") and not t.get("is_labeled")
            ]
        )
        for start in range(0, len(ids), chunk):
            self.request(
                "POST",
                "/api/dm/actions",
                what="retrieving predictions",
                params={"id": "retrieve_tasks_predictions", "project": project_id},
                json={"selectedItems": {"all": False, "included": ids[start : start + chunk]}},
            )
        return len(ids)

    def ensure_view(self, project_id: int, title: str, *, ordering: Sequence[str]) -> int:
        """A Data Manager tab called ``title`` ordered by ``ordering`` (kept if it exists)."""
        views = self.request(
            "GET", "/api/dm/views/", what="listing views", params={"project": project_id}
        )
        for view in views or []:
            if isinstance(view, Mapping) and (view.get("data") or {}).get("title") == title:
                return int(view["id"])
        created = self.request(
            "POST",
            "/api/dm/views/",
            what=f"creating the view {title!r}",
            json={"project": project_id, "data": {"title": title, "ordering": list(ordering)}},
        )
        return int(created["id"])
