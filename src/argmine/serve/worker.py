"""The retraining job, run in its own process: ``python -m argmine.serve.worker JOB.json``.

::

    Label Studio project --export snapshot (SDK)--> every submitted annotation
        --one annotation per task (the selection training uses)--> one gold Article per task
        --frozen dev set: dev_tasks tasks chosen once per project (stored, never trained on)-->
    the other tasks --argmine.train (the project's run config, into .tmp-vN-<pid>/)--> candidate
    candidate and promoted model --evaluate on the frozen dev tasks, same run-->
        overlap micro F1 new > old (strictly) ? commit vN + promote : commit vN, keep the old

The version directory is renamed into place only when it is complete and the pointer is written
atomically afterwards (:mod:`argmine.serve.versions`), so a SIGKILL at any point promotes
nothing and leaves only a stale ``.tmp-*`` that the next job removes. The Label Studio URL and
token come from the environment (``LABEL_STUDIO_URL``, ``LABEL_STUDIO_API_KEY``), never from
the command line. The outcome goes to the job's ``result`` file as JSON.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from argmine.document import Article, dumps_article
from argmine.errors import ArgmineError
from argmine.fileio import atomic_write_text
from argmine.serve.config import RetrainConfig
from argmine.serve.versions import VersionStore

__all__ = ["choose_frozen_dev", "main", "retrain", "select_per_task"]

log = logging.getLogger("argmine.serve.worker")


def select_per_task(articles: Sequence[Article]) -> dict[int, Article]:
    """Task id -> the one annotation of that task used for training and evaluation, chosen by
    :func:`argmine.corpora.select_annotation` (the selection ``argmine train`` uses)."""
    from argmine.corpora import select_annotation

    versions: dict[int, list[Article]] = {}
    for article in articles:
        task = (article.meta.get("studio") or {}).get("task_id")
        if isinstance(task, int) and not isinstance(task, bool):
            versions.setdefault(task, []).append(article)
    return {task: select_annotation(group) for task, group in versions.items()}


def frozen_dev_path(store: VersionStore, project_id: int) -> Path:
    return store.root / "projects" / str(project_id) / "frozen-dev.json"


def choose_frozen_dev(
    store: VersionStore, project_id: int, tasks: Sequence[int], config: RetrainConfig
) -> list[int] | None:
    """The project's frozen dev task ids: read if chosen before, else chosen now (seeded) once
    ``dev_tasks`` tasks are annotated, and stored. None while there are too few."""
    path = frozen_dev_path(store, project_id)
    if path.is_file():
        return [int(t) for t in json.loads(path.read_text(encoding="utf-8"))["task_ids"]]
    if len(tasks) < config.dev_tasks:
        return None
    chosen = sorted(random.Random(config.seed).sample(sorted(tasks), config.dev_tasks))
    record = {
        "project": project_id,
        "task_ids": chosen,
        "chosen": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "from_tasks": len(tasks),
        "seed": config.seed,
    }
    atomic_write_text(path, json.dumps(record, indent=2) + "\n", force=True)
    log.info("frozen dev set chosen: %d of %d annotated tasks", len(chosen), len(tasks))
    return chosen


def split_for_training(
    train_articles: Sequence[Article],
    dev_articles: Sequence[Article],
    *,
    dev_fraction: float,
    seed: int,
) -> list[Article]:
    """Articles tagged with ``meta.split`` for an ``official`` split: the frozen dev tasks are
    ``test`` (scored at the end of training, never trained on or used for model selection);
    of the rest a seeded ``dev_fraction`` (at least one) selects checkpoints and thresholds."""
    order = sorted(train_articles, key=lambda a: a.id)
    random.Random(seed).shuffle(order)
    n_dev = max(1, round(dev_fraction * len(order)))
    out = []
    for i, article in enumerate(order):
        split = "dev" if i < n_dev else "train"
        out.append(replace(article, meta={**article.meta, "split": split}))
    for article in dev_articles:
        out.append(replace(article, meta={**article.meta, "split": "test"}))
    return out


def _run_config(
    store: VersionStore,
    *,
    base_config: Path,
    data_path: Path,
    output: Path,
    config: RetrainConfig,
) -> Any:
    """The run config for a new version: the project's config, trained on ``data_path``."""
    import yaml

    from argmine.config import load_run_config, load_yaml

    data = load_yaml(base_config)
    if not isinstance(data, dict) or not isinstance(data.get("data"), dict):
        raise ArgmineError(f"{base_config}: not a run config with a data section")
    source = {"format": "jsonl", "path": str(data_path.resolve())}
    data["data"] = {**data["data"], "sources": [source], "splits": {"mode": "official"}}
    data["output_dir"] = str(output)
    data["run"] = store.run
    resolved = data_path.with_suffix(".config.yaml")
    atomic_write_text(resolved, yaml.safe_dump(data, sort_keys=False), force=True)
    return load_run_config(resolved, overrides=config.overrides)


def _config_sources(base_config: Path, *, exclude: Any) -> list[Article]:
    """The articles of the run config's own sources (``keep_sources``), minus project tasks."""
    from argmine.config import load_label_schema, load_run_config
    from argmine.data import load_sources

    run = load_run_config(base_config)
    labels = list(load_label_schema(run.schema_path).span_names)
    taken = {a.id for a in exclude} | {a.text for a in exclude}
    return [
        a for a in load_sources(run, labels=labels) if a.id not in taken and a.text not in taken
    ]


def _project_config(store: VersionStore, name: str) -> Path:
    """The run config of the version the chain of parents starts from (the imported model):
    retrained versions' own config.yaml names only their project data."""
    seen = set()
    while name not in seen:
        seen.add(name)
        parent = store.info(name).parent
        if not parent or not (store.path(parent) / "version.json").is_file():
            break
        name = parent
    return store.path(name) / "config.yaml"


def _dev_fraction(base_config: Path) -> float:
    from argmine.config import load_yaml

    data = load_yaml(base_config)
    with contextlib.suppress(AttributeError, TypeError, KeyError):
        value = data["data"]["splits"].get("dev")
        if isinstance(value, (int, float)) and 0 < value < 1:
            return float(value)
    return 0.2


def _f1(scores: Mapping[str, Any]) -> float:
    return float(scores["overlap"]["micro"]["f1"])


def retrain(
    *,
    store: VersionStore,
    connection: Any,
    project_id: int,
    config: RetrainConfig,
    schema_path: str = "configs/labels.yaml",
) -> dict[str, Any]:
    """One retraining round (see the module docstring); the outcome as a dict."""
    from argmine.config import load_label_schema
    from argmine.corpora.labelstudio import ImportReport, export_to_articles
    from argmine.studio.client import StudioClient

    started = time.monotonic()
    stale = store.clean_stale()
    if stale:
        log.info("removed unfinished versions of killed runs: %s", ", ".join(stale))
    parent = store.promoted()
    if parent is None:
        return {"status": "skipped", "reason": f"{store.root}: no promoted version to compare"}
    schema = load_label_schema(schema_path)
    client = StudioClient(connection)
    export = client.export_snapshot(project_id)
    report = ImportReport()
    by_task = select_per_task(export_to_articles(export, schema=schema, report=report))
    outcome = train_round(store=store, project_id=project_id, by_task=by_task, config=config)
    outcome["import_issues"] = len(report.issues)
    outcome["seconds"] = round(time.monotonic() - started, 1)
    return outcome


def train_round(
    *,
    store: VersionStore,
    project_id: int,
    by_task: Mapping[int, Article],
    config: RetrainConfig,
) -> dict[str, Any]:
    """Train, score and maybe promote a new version from one gold article per task."""
    from argmine.tag import evaluate_model
    from argmine.train import train

    parent = store.promoted()
    if parent is None:
        return {"status": "skipped", "reason": f"{store.root}: no promoted version to compare"}
    frozen = choose_frozen_dev(store, project_id, sorted(by_task), config)
    if frozen is None:
        return {
            "status": "skipped",
            "reason": f"{len(by_task)} annotated tasks; the frozen dev set needs "
            f"{config.dev_tasks} before anything is trained",
        }
    frozen_set = set(frozen)
    dev = [by_task[t] for t in frozen if t in by_task]
    train_articles = [a for t, a in sorted(by_task.items()) if t not in frozen_set]
    if len(dev) < config.dev_tasks:
        log.warning(
            "only %d of the %d frozen dev tasks still have an annotation", len(dev), len(frozen)
        )
    if len(train_articles) < config.min_train_tasks:
        return {
            "status": "skipped",
            "reason": f"{len(train_articles)} annotated tasks outside the frozen dev set; "
            f"training needs {config.min_train_tasks}",
        }
    name = store.next_name()
    staging = store.staging(name)
    data_path = store.root / "data" / f"{name}.jsonl"
    parent_path = store.path(parent)
    base_config = (
        Path(config.train_config) if config.train_config else _project_config(store, parent)
    )
    if config.keep_sources:
        train_articles = train_articles + _config_sources(base_config, exclude=by_task.values())
    rows = split_for_training(
        train_articles, dev, dev_fraction=_dev_fraction(base_config), seed=config.seed
    )
    atomic_write_text(data_path, "".join(dumps_article(a) + "\n" for a in rows), force=True)
    run_config = _run_config(
        store, base_config=base_config, data_path=data_path, output=staging, config=config
    )
    log.info(
        "training %s on %d tasks (frozen dev: %d tasks) from %s",
        name,
        len(train_articles),
        len(dev),
        base_config,
    )
    result = train(run_config, force=True)
    new_scores = evaluate_model(staging, dev)
    old_scores = evaluate_model(parent_path, dev)
    new_f1, old_f1 = _f1(new_scores), _f1(old_scores)
    better = new_f1 > old_f1
    reason = (
        f"frozen dev overlap micro F1 {new_f1:.4f} ({name}) vs {old_f1:.4f} ({parent}) on "
        f"{len(dev)} tasks: " + ("higher, promoted" if better else f"not higher, {parent} stays")
    )
    store.commit(
        staging,
        name,
        {
            "parent": parent,
            "source": f"retrained from Label Studio project {project_id}",
            "project": project_id,
            "train_tasks": len(train_articles),
            "dev_tasks": len(dev),
            "data": str(data_path),
            "metrics": {
                "frozen_dev_overlap_micro_f1": new_f1,
                "parent_frozen_dev_overlap_micro_f1": old_f1,
                "frozen_dev": new_scores,
                "train_dev_overlap_micro_f1": result.metrics["dev"]["overlap"]["micro"]["f1"],
            },
            "decision": "promoted" if better else "kept parent",
            "reason": reason,
        },
    )
    if better:
        store.promote(name, reason=reason)
    log.info("%s", reason)
    return {
        "status": "promoted" if better else "kept",
        "version": name,
        "parent": parent,
        "new_f1": new_f1,
        "old_f1": old_f1,
        "reason": reason,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the job described by the JSON file ``argv[0]``; write its result file."""
    from argmine.studio.client import resolve_connection

    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m argmine.serve.worker JOB.json", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    job = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    if job.get("nice"):
        with contextlib.suppress(OSError):
            os.nice(int(job["nice"]))
    result_path = Path(job["result"])
    try:
        outcome = retrain(
            store=VersionStore(job["versions"]),
            connection=resolve_connection(env_file=None),
            project_id=int(job["project_id"]),
            config=RetrainConfig.model_validate(job["config"]),
            schema_path=job.get("schema", "configs/labels.yaml"),
        )
    except (ArgmineError, ValueError, OSError) as exc:
        outcome = {"status": "failed", "reason": str(exc)}
        log.error("retraining failed: %s", exc)
    outcome["pid"] = os.getpid()
    atomic_write_text(result_path, json.dumps(outcome, indent=2) + "\n", force=True)
    return 0 if outcome["status"] != "failed" else 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
