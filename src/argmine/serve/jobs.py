"""Retraining triggers and the one-at-a-time worker process (inside the backend).

The webhook counts new or updated annotations; every ``retrain.every`` of them, or on
START_TRAINING, :meth:`Retrainer.request` starts ``python -m argmine.serve.worker`` (niced, its
own session) unless one is running, in which case one more run is queued (the next run pulls
everything, so one queued run covers any number of triggers). The process never shares the
backend's model or threads: /predict keeps answering with the promoted version while it trains.
:meth:`Retrainer.poll` (called by the backend's monitor thread) reaps a finished or killed
worker and starts the queued run.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from argmine.serve.config import RetrainConfig
from argmine.serve.versions import VersionStore

__all__ = ["Retrainer"]

log = logging.getLogger("argmine.serve")


class Retrainer:
    """Counts annotation events and runs retraining jobs one at a time."""

    def __init__(
        self,
        *,
        store: VersionStore,
        config: RetrainConfig,
        target: Callable[[], tuple[Any, int | None]],
        schema_path: str = "configs/labels.yaml",
        python: str | None = None,
        nice: int = 10,
    ) -> None:
        self.store = store
        self.config = config
        self.target = target  # -> (Connection | None, project id | None), read at start time
        self.schema_path = schema_path
        self.python = python or sys.executable
        self.nice = nice
        self.counter = 0
        self.pending = False
        self.runs = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at: float | None = None
        self.last: dict[str, Any] | None = None
        self._job: Path | None = None
        self._lock = threading.Lock()

    @property
    def jobs_dir(self) -> Path:
        return self.store.root / "jobs"

    @property
    def log_file(self) -> Path:
        return self.store.root / "retrain.log"

    # -- triggers -----------------------------------------------------------------------------
    def note_annotations(self, count: int = 1) -> str | None:
        """Count ``count`` new/updated annotations; start (or queue) a run every ``every``."""
        with self._lock:
            self.counter += count
            due = self.config.every > 0 and self.counter >= self.config.every
        if due:
            return self.request(f"{self.config.every} new or updated annotations")
        return None

    def request(self, reason: str) -> str:
        """Start a run now, or queue one if a run is going: "started", "queued" or why not."""
        with self._lock:
            if self.proc is not None:
                self.pending = True
                log.info("retraining queued (%s): a run is going", reason)
                return "queued"
            return self._start(reason)

    def _start(self, reason: str) -> str:
        connection, project_id = self.target()
        if connection is None or project_id is None:
            why = "no Label Studio connection" if connection is None else "no project id yet"
            self.last = {"status": "skipped", "reason": f"cannot retrain: {why}"}
            log.warning("retraining not started (%s): %s", reason, self.last["reason"])
            return f"not started: {why}"
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        self.runs += 1
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        job = self.jobs_dir / f"{stamp}-{self.runs}.json"
        spec = {
            "versions": str(self.store.root.resolve()),
            "project_id": project_id,
            "config": self.config.model_dump(mode="json"),
            "schema": self.schema_path,
            "result": str(job.with_suffix(".result.json").resolve()),
            "nice": self.nice,  # /predict goes first on a shared CPU
        }
        job.write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")
        env = dict(os.environ)
        env["LABEL_STUDIO_URL"] = connection.url
        env["LABEL_STUDIO_API_KEY"] = connection.token  # the environment, never argv
        env.setdefault("PYTHONUNBUFFERED", "1")
        with self.log_file.open("ab") as out:
            out.write(f"--- run {self.runs}: {reason} ({stamp})\n".encode())
            out.flush()
            self.proc = subprocess.Popen(
                [self.python, "-m", "argmine.serve.worker", str(job)],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        self._job = job
        self.counter = 0
        self.pending = False
        self.started_at = time.time()
        log.info("retraining started (%s): worker pid %d", reason, self.proc.pid)
        return "started"

    # -- monitoring ---------------------------------------------------------------------------
    def poll(self) -> dict[str, Any] | None:
        """Reap a finished worker (its result, or why it died) and start a queued run."""
        with self._lock:
            if self.proc is None or self.proc.poll() is None:
                return None
            code = self.proc.returncode
            result_file = self._job.with_suffix(".result.json") if self._job else None
            result: dict[str, Any]
            try:
                result = json.loads(result_file.read_text(encoding="utf-8")) if result_file else {}
            except (FileNotFoundError, json.JSONDecodeError):
                result = {}
            if not result:
                how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
                result = {"status": "failed", "reason": f"worker {how}; nothing promoted"}
            result["exit_code"] = code
            result["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            self.last = result
            self.proc = None
            log.info("retraining finished: %s", result.get("reason", result["status"]))
            if self.pending:
                self._start("queued trigger")
            return result

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {
                "running": self.proc is not None,
                "pid": self.proc.pid if self.proc is not None else None,
                "started": self.started_at if self.proc is not None else None,
                "queued": self.pending,
                "counter": self.counter,
                "every": self.config.every,
                "runs": self.runs,
                "last": self.last,
            }

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate a running worker (backend shutdown)."""
        with self._lock:
            proc = self.proc
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
