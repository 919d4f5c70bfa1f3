"""``argmine agreement`` and ``argmine adjudicate``: inter-annotator agreement over Label Studio
exports, and adjudication of each task's versions into one gold (ground-truth) annotation."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from argmine.cli._util import DEFAULT_SCHEMA, ForceOpt, SchemaOpt, app, say
from argmine.cli.studio import DEFAULT_STUDIO_HOME, HomeOpt, TokenOpt, UrlOpt, _connection

ExportsArg = Annotated[
    list[Path],
    typer.Argument(
        help="Label Studio JSON exports (one per annotator, or several annotators in one).",
        show_default=False,
    ),
]
AGREEMENT_FORMATS = {".html": "html", ".htm": "html", ".json": "json"}


@app.command("agreement")
def agreement_cmd(
    exports: ExportsArg,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Report: .html (readable page) or .json (for CI)."),
    ] = None,
    force: ForceOpt = False,
    top: Annotated[
        int, typer.Option("--top", min=0, help="Articles shown side by side in the HTML page.")
    ] = 20,
    schema: SchemaOpt = DEFAULT_SCHEMA,
) -> None:
    """Inter-annotator agreement: span F1, Krippendorff's alpha, relations, label confusion."""
    import json

    from argmine.agreement import agreement, load_tasks
    from argmine.config import load_label_schema
    from argmine.errors import InputError
    from argmine.fileio import atomic_write_text, check_output
    from argmine.report.agreement import format_tables, render_html

    fmt = None
    if output is not None:
        fmt = AGREEMENT_FORMATS.get(output.suffix.lower())
        if fmt is None:
            raise InputError(output, "the report must end in .html or .json")
        check_output(output, force=force)
    label_schema = load_label_schema(schema)
    tasks, stats = load_tasks(exports, schema=label_schema)
    report = agreement(
        tasks,
        labels=label_schema.span_names,
        relation_labels=label_schema.relation_names,
        stats=stats,
    )
    info = report["tasks"]
    say(
        [
            f"{stats.tasks} tasks, {stats.annotations} annotations by "
            f"{len({a for t in tasks for a in t.versions})} annotators; "
            f"{info['compared']} tasks with two or more annotators compared, "
            f"{len(info['single_annotator'])} with one left out, "
            f"{stats.cancelled} cancelled annotations left out"
        ]
    )
    if not report["pairs"]:
        raise InputError(
            ", ".join(str(e) for e in exports), "no task has two annotators: nothing to compare"
        )
    out = Console(highlight=False, width=None if sys.stdout.isatty() else 120)
    for table in format_tables(report):
        out.print(table)
    out.print(f"Krippendorff's alpha (nominal, characters), all annotators: {report['alpha']}")
    if output is not None:
        if fmt == "html":
            text = render_html(report, tasks, schema=label_schema, top=top)
        else:
            text = json.dumps(report, indent=1, ensure_ascii=False) + "\n"
        atomic_write_text(output, text, force=force)
        say([f"wrote {output}"])


@app.command("adjudicate")
def adjudicate_cmd(
    exports: ExportsArg,
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="The gold Label Studio export to write."),
    ],
    policy: Annotated[
        str,
        typer.Option(
            "--policy", help="majority, union or annotator=NAME (how conflicts are resolved)."
        ),
    ] = "majority",
    review: Annotated[
        bool,
        typer.Option(
            "--review",
            help="Push tasks with conflicts to Label Studio as review tasks instead "
            "(the rest go to --output).",
        ),
    ] = False,
    force: ForceOpt = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
    home: HomeOpt = DEFAULT_STUDIO_HOME,
    project: Annotated[
        str, typer.Option("--project", help="Review project title.", show_default=True)
    ] = "argmine review",
    schema: SchemaOpt = DEFAULT_SCHEMA,
) -> None:
    """Merge each task's annotations into one gold annotation (ground truth) by a policy."""
    import json

    from argmine.agreement import adjudicate_tasks, gold_export, load_tasks, parse_policy
    from argmine.config import load_label_schema
    from argmine.errors import InputError
    from argmine.fileio import atomic_write_text, check_output

    _, name = parse_policy(policy)
    check_output(output, force=force)
    label_schema = load_label_schema(schema)
    tasks, stats = load_tasks(exports, schema=label_schema)
    if not tasks:
        raise InputError(", ".join(str(e) for e in exports), "no annotated tasks")
    if name is not None and not any(name in t.versions for t in tasks):
        known = sorted({a for t in tasks for a in t.versions})
        raise InputError("--policy", f"no annotation by {name!r} (annotators: {', '.join(known)})")
    results = adjudicate_tasks(tasks, policy=policy)
    conflicted = [r for r in results if r.has_conflicts]
    final = [r for r in results if not (review and r.has_conflicts)]
    lines = [
        f"{len(results)} tasks adjudicated ({policy}): {len(conflicted)} with conflicts, "
        f"{sum(1 for r in results if len(r.annotators) == 1)} with one annotator; "
        f"{stats.cancelled} cancelled annotations left out"
    ]
    if review and conflicted:
        from argmine.studio.review import push_review

        connection = _connection(url, token, home)
        pushed = push_review(
            conflicted, connection=connection, project_title=project, schema=label_schema
        )
        lines.extend(pushed.lines())
    atomic_write_text(
        output,
        json.dumps(gold_export(final), indent=1, ensure_ascii=False) + "\n",
        force=force,
    )
    lines.append(f"wrote {len(final)} gold tasks (ground truth) to {output}")
    say(lines)
