"""Time to lay out and render the argument map of the reference article (rule pre-labels:
43 units, 37 relations), per layout engine, mean of 10 runs after one warm-up.

    .venv/bin/python benchmarks/report_map.py
"""

import time

from argmine.config import load_label_schema
from argmine.prelabel import prelabel
from argmine.readers import read_articles
from argmine.report import render_html
from argmine.report.argmap import layout_map

ref = prelabel(read_articles(["examples/caravan-to-nowhere.txt"])[0])
schema = load_label_schema()
for what, fn in [
    ("layout networkx", lambda: layout_map(ref, engine="networkx")),
    ("layout dot", lambda: layout_map(ref, engine="dot")),
    ("layout auto", lambda: layout_map(ref, engine="auto")),
    ("render_html auto", lambda: render_html([ref], schema=schema)),
]:
    fn()
    t = time.perf_counter()
    for _ in range(10):
        out = fn()
    print(f"{what}: {(time.perf_counter() - t) / 10 * 1000:.0f} ms", getattr(out, "engine", ""))
