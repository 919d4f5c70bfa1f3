"""Headless Chromium on the real Label Studio, for the browser tests (imported by them).

``chromium`` launches the system Chromium (``/usr/bin/chromium``, or ``$ARGMINE_CHROMIUM``)
through playwright once per session, never downloading a browser; ``ls_page`` is a fresh
browser context logged in to the session's ``studio_server``. The helpers act as an annotator
does: :func:`drag_select` presses the mouse on the first rendered glyph and releases it on the
last one (positions come from the rendered text, not from Label Studio's offsets).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
TEST_OUTPUT = REPO / "test-output"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TEXT_SELECTOR = ".lsf-htx-richtext"

# The rendered text node holding `needle`, and the point (x, y) on its first or last glyph.
_GLYPH_POINT = """([needle, last]) => {
  const root = document.querySelector('.lsf-htx-richtext');
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  let node;
  while ((node = walker.nextNode())) {
    const i = node.textContent.indexOf(needle);
    if (i < 0) continue;
    const range = document.createRange();
    range.setStart(node, i);
    range.setEnd(node, i + needle.length);
    const rects = Array.from(range.getClientRects());
    const r = last ? rects[rects.length - 1] : rects[0];
    return {x: last ? r.right - 1 : r.left + 1, y: (r.top + r.bottom) / 2};
  }
  return null;
}"""

# Every highlighted region in the text: its parts' text joined, and its start/end attributes.
_REGIONS = """() => {
  const regions = new Map();
  for (const el of document.querySelectorAll('.lsf-htx-richtext .htx-highlight')) {
    const key = Array.from(el.classList).find(c => /^htx-highlight-./.test(c));
    const region = regions.get(key) || {text: '', start: null, end: null, index: null, label: ''};
    region.text += el.textContent;  // nested regions' text belongs to this one too
    if (el.dataset.start !== undefined) region.start = Number(el.dataset.start);
    if (el.dataset.end !== undefined) region.end = Number(el.dataset.end);
    if (el.dataset.index !== undefined) region.index = Number(el.dataset.index);
    if (el.dataset.label) region.label = el.dataset.label;
    regions.set(key, region);
  }
  return Array.from(regions.values());
}"""


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    wanted = os.environ.get("ARGMINE_CHROMIUM", "/usr/bin/chromium")
    path = shutil.which(wanted) or shutil.which("chromium")
    if path is None:
        pytest.skip(f"no Chromium at {wanted} (apt-get install chromium, or set ARGMINE_CHROMIUM)")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def ls_page(chromium, studio_server) -> Iterator[Any]:
    """A page logged in to the session's Label Studio (as its admin user)."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(60_000)
    page = context.new_page()
    page.goto(f"{studio_server.url}/user/login/")
    page.fill("input[name=email]", studio_server.username)
    page.fill("input[name=password]", studio_server.password)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "/user/login" not in page.url, f"login as {studio_server.username} failed"
    try:
        yield page
    finally:
        context.close()


def open_task(page: Any, url: str, project_id: int, task_id: int) -> None:
    """Open a task in the labelling view and wait until its text is rendered."""
    page.goto(f"{url}/projects/{project_id}/data?task={task_id}")
    page.wait_for_selector(TEXT_SELECTOR)
    page.wait_for_timeout(1000)  # regions and relation arcs are drawn after the text


def rendered_text(page: Any) -> str:
    return page.evaluate(f"() => document.querySelector('{TEXT_SELECTOR}').textContent")


def drag_select(page: Any, first: str, last: str) -> None:
    """Press the mouse on the first glyph of ``first`` and release it after ``last``."""
    start = page.evaluate(_GLYPH_POINT, [first, False])
    end = page.evaluate(_GLYPH_POINT, [last, True])
    assert start is not None, f"{first!r} is not in the rendered text"
    assert end is not None, f"{last!r} is not in the rendered text"
    page.mouse.move(start["x"], start["y"])
    page.mouse.down()
    page.mouse.move((start["x"] + end["x"]) / 2, (start["y"] + end["y"]) / 2, steps=3)
    page.mouse.move(end["x"], end["y"], steps=3)
    page.mouse.up()
    page.wait_for_timeout(300)


def label_selection(page: Any, hotkey: str, first: str, last: str) -> None:
    """Choose a label by its hotkey, select from ``first`` to ``last``, deselect the region."""
    page.keyboard.press(hotkey)
    drag_select(page, first, last)
    page.keyboard.press("Escape")


def regions(page: Any) -> list[dict[str, Any]]:
    """The highlighted regions: ``text`` (line breaks are <br>, so absent), start, end, index."""
    return page.evaluate(_REGIONS)


def submit(page: Any) -> None:
    page.get_by_role("button", name="Submit").click()
    page.wait_for_timeout(1500)


def screenshot(page: Any, name: str) -> Path:
    TEST_OUTPUT.mkdir(exist_ok=True)
    path = TEST_OUTPUT / name
    page.screenshot(path=str(path), full_page=True)
    return path
