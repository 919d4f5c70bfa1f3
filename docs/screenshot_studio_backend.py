"""docs/studio-backend.png: a task in the real Label Studio UI with the backend's predictions.

Runs what the README tells a newcomer to run, in a fresh temporary home (the repository's
Label Studio venv linked in): ``argmine studio up --with-backend --model MODEL``, ``argmine
studio push ARTICLE``, then opens the task in headless Chromium (logged in as the admin user)
and saves the screenshot; ``argmine studio down`` at the end.

Run::

    flock /tmp/argmine-cpu.lock nice -n 5 .venv/bin/python docs/screenshot_studio_backend.py \\
        --model ../models/webis --article examples/caravan-to-nowhere.txt
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def argmine(*args: str) -> str:
    run = subprocess.run(
        [sys.executable, "-m", "argmine", *args], cwd=REPO, capture_output=True, text=True
    )
    if run.returncode != 0:
        raise SystemExit(f"argmine {' '.join(args)} failed: {run.stderr[-2000:]}")
    print(run.stdout + run.stderr, end="")
    return run.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--article", type=Path, default=REPO / "examples/caravan-to-nowhere.txt")
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "studio-backend.png")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from argmine.studio.client import StudioClient, read_env_file, resolve_connection
    from argmine.studio.server import free_port

    with tempfile.TemporaryDirectory(prefix="argmine-shot-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        (home / "studio-venv").symlink_to((REPO / ".argmine" / "studio-venv").resolve())
        model = Path(tmp) / "models" / args.model.name  # versions are written beside it
        shutil.copytree(args.model, model, ignore=shutil.ignore_patterns("checkpoints"))
        port, backend_port = free_port(), free_port()
        try:
            argmine(
                "studio", "up", "--home", str(home), "--port", str(port), "--with-backend",
                "--model", str(model), "--backend-port", str(backend_port),
            )  # fmt: skip
            argmine("studio", "push", str(args.article), "--home", str(home))
            env = read_env_file(home / "studio.env")
            client = StudioClient(resolve_connection(env_file=home / "studio.env"))
            project = client.find_project("argmine")
            task = max(t["id"] for t in client.iter_tasks(project, fields="task_only"))
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=args.chromium, args=["--headless", "--no-sandbox"]
                )
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.set_default_timeout(60_000)
                page.goto(f"{env['LABEL_STUDIO_URL']}/user/login/")
                page.fill("input[name=email]", env["LABEL_STUDIO_USERNAME"])
                page.fill("input[name=password]", env["LABEL_STUDIO_PASSWORD"])
                page.click("button[type=submit], input[type=submit]")
                page.wait_for_load_state("networkidle")
                page.goto(f"{env['LABEL_STUDIO_URL']}/projects/{project}/data?task={task}")
                page.wait_for_selector(".htx-highlight")
                page.wait_for_timeout(1500)
                args.output.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.output))
                browser.close()
            print(f"wrote {args.output}")
        finally:
            argmine("studio", "down", "--home", str(home))


if __name__ == "__main__":
    main()
