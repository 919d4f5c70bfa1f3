"""The layout of an article's argument map: one box per unit, one arrow per relation.

Data flow::

    Article -> layers by label -> rows (a layer wider than the map wraps into rows)
            -> order within rows (barycentric sweeps, fewer crossings)
            -> coordinates (networkx multipartite_layout, or Graphviz dot when installed)
            -> ArgumentMap (boxes with wrapped snippets, arrow paths)

Layers go top to bottom by :data:`LAYER_RANKS` (conclusions, then claims, then evidence);
labels it does not name get a layer each below those, in the label schema's order. A layer
holds at most as many boxes side by side as fit in ``max_width``; more wrap into further rows
(node ``j`` of a layer in row ``j mod r``, column ``j div r``, so left-to-right order
survives the wrap). Each box shows its unit's id, score and a snippet of its text wrapped to
:data:`CHARS_PER_LINE` characters and at most :data:`MAX_LINES` lines; the full text is the
box's hover title. Arrows go from the head unit (the one that supports or attacks) to the
tail unit, leaving and entering boxes at points spread along their top or bottom edge.

``engine="networkx"`` places rows with :func:`networkx.multipartite_layout` (a row is a
subset, its order the barycentric order) and stacks the rows by their tallest box;
``engine="dot"`` hands the rows to Graphviz ``dot -Tplain`` as ``rank=same`` groups and
takes its node positions and edge splines (dot reorders rows itself and routes arrows
around boxes); ``engine="auto"`` (the default) uses dot when it is on ``PATH``. No engine lets
boxes overlap; the tests check that on the reference article.
"""

from __future__ import annotations

import itertools
import logging
import math
import shlex
import shutil
import subprocess
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from argmine.document import ArgRelation, ArgUnit, Article

__all__ = [
    "CHARS_PER_LINE",
    "ENGINES",
    "LAYER_RANKS",
    "MAX_LINES",
    "ArgumentMap",
    "MapEdge",
    "MapLayer",
    "MapNode",
    "dot_available",
    "layout_map",
]

log = logging.getLogger(__name__)

ENGINES = ("auto", "networkx", "dot")
#: Layer rank of a unit label (0 is the top); labels not named here go below, in schema order.
LAYER_RANKS: Mapping[str, int] = {
    "Conclusion": 0,
    "MajorClaim": 0,
    "Claim": 1,
    "Evidence": 2,
    "Premise": 2,
}
NODE_WIDTH = 142
CHARS_PER_LINE = 21
MAX_LINES = 4
FONT_SIZE = 11
LINE_HEIGHT = 14
HEADER_HEIGHT = 15
PAD = 6
H_GAP = 20
ROW_GAP = 30
LAYER_GAP = 48
MARGIN = 12
GUTTER = 76  # left column with the layer captions
MAX_WIDTH = 912
_DOT_TIMEOUT_S = 30


@dataclass(frozen=True)
class MapNode:
    """A unit's box; ``x``, ``y`` is the top-left corner, in SVG pixels."""

    unit: ArgUnit
    text: str
    lines: tuple[str, ...]
    layer: int
    row: int
    x: float
    y: float
    width: float
    height: float

    @property
    def box(self) -> tuple[float, float, float, float]:
        return (self.x, self.y, self.x + self.width, self.y + self.height)

    @property
    def center_x(self) -> float:
        return self.x + self.width / 2


@dataclass(frozen=True)
class MapEdge:
    """A relation's arrow: SVG path ``d`` from the head box to the tail box."""

    relation: ArgRelation
    path: str
    start: tuple[float, float]
    end: tuple[float, float]


@dataclass(frozen=True)
class MapLayer:
    label: str
    count: int
    y: float  # top of the layer's first row


@dataclass(frozen=True)
class ArgumentMap:
    width: float
    height: float
    nodes: tuple[MapNode, ...]
    edges: tuple[MapEdge, ...]
    layers: tuple[MapLayer, ...]
    engine: str

    def node(self, unit_id: str) -> MapNode:
        for node in self.nodes:
            if node.unit.id == unit_id:
                return node
        raise KeyError(unit_id)


def dot_available() -> bool:
    return shutil.which("dot") is not None


def snippet_lines(text: str) -> tuple[str, ...]:
    """``text`` with whitespace collapsed, wrapped to the box, cut with an ellipsis."""
    return tuple(
        textwrap.wrap(
            " ".join(text.split()),
            width=CHARS_PER_LINE,
            max_lines=MAX_LINES,
            placeholder=" …",
        )
        or [""]
    )


def _layer_labels(units: Sequence[ArgUnit], label_order: Sequence[str]) -> list[str]:
    present = list(dict.fromkeys(u.label for u in units))
    order = {label: i for i, label in enumerate(label_order)}
    return sorted(
        present,
        key=lambda lab: (LAYER_RANKS.get(lab, len(LAYER_RANKS) + 1), order.get(lab, 1 << 30), lab),
    )


def _barycentric_order(
    layers: list[list[str]], neighbours: Mapping[str, set[str]], sweeps: int = 4
) -> list[list[str]]:
    """Reorder each layer by the mean position of its nodes' neighbours in other layers.

    Positions are normalised to [0, 1] per layer so layers of different sizes compare; a node
    without neighbours keeps its place. Alternating downward and upward sweeps, stable sorts.
    """
    layers = [list(layer) for layer in layers]
    layer_of = {n: i for i, layer in enumerate(layers) for n in layer}

    def positions() -> dict[str, float]:
        return {n: (j + 0.5) / len(layer) for layer in layers for j, n in enumerate(layer)}

    for sweep in range(sweeps):
        indices = range(len(layers)) if sweep % 2 == 0 else reversed(range(len(layers)))
        for i in indices:
            pos = positions()

            def bary(node: str, pos: dict[str, float] = pos, i: int = i) -> float:
                others = [pos[m] for m in neighbours.get(node, ()) if layer_of[m] != i]
                return sum(others) / len(others) if others else pos[node]

            layers[i].sort(key=bary)
    return layers


@dataclass
class _Box:
    unit: ArgUnit
    text: str
    lines: tuple[str, ...]
    layer: int
    row: int
    height: float
    cx: float = 0.0
    y: float = 0.0


def layout_map(
    article: Article,
    *,
    label_order: Sequence[str] = (),
    engine: str = "auto",
    max_width: float = MAX_WIDTH,
) -> ArgumentMap:
    """Lay out ``article``'s units and relations (see the module docstring).

    ``label_order`` (the schema's span labels) orders labels :data:`LAYER_RANKS` does not
    rank. Relations whose head or tail is not a unit are not drawn.
    """
    if engine not in ENGINES:
        raise ValueError(f"map engine {engine!r}: expected one of {', '.join(ENGINES)}")
    if engine == "dot" and not dot_available():
        raise ValueError("map engine 'dot': Graphviz dot is not on PATH")
    use = "dot" if engine == "dot" or (engine == "auto" and dot_available()) else "networkx"

    units = article.sorted_units()
    ids = {u.id for u in units}
    relations = [r for r in article.relations if r.head in ids and r.tail in ids]
    labels = _layer_labels(units, label_order)
    neighbours: dict[str, set[str]] = {u.id: set() for u in units}
    for rel in relations:
        neighbours[rel.head].add(rel.tail)
        neighbours[rel.tail].add(rel.head)
    layers = [[u.id for u in units if u.label == label] for label in labels]
    layers = _barycentric_order(layers, neighbours)
    layer_index_of = {uid: i for i, layer in enumerate(layers) for uid in layer}
    # > 0: more neighbours in layers below than above.
    pull = {
        uid: sum(
            (layer_index_of[m] > layer_index_of[uid]) - (layer_index_of[m] < layer_index_of[uid])
            for m in neighbours[uid]
        )
        for uid in layer_index_of
    }

    per_row = max(1, int((max_width - 2 * MARGIN - GUTTER + H_GAP) // (NODE_WIDTH + H_GAP)))
    by_id = {u.id: u for u in units}
    boxes: dict[str, _Box] = {}
    rows: list[list[str]] = []  # global rows, top to bottom
    first_row_of_layer: list[int] = []
    for layer_index, layer in enumerate(layers):
        n_rows = max(1, math.ceil(len(layer) / per_row))
        first_row_of_layer.append(len(rows))
        layer_rows: list[list[str]] = [[] for _ in range(n_rows)]
        for start in range(0, len(layer), n_rows):
            # One column: its boxes top to bottom by where their neighbours are, so arrows
            # to the layers above leave from the upper rows and those below from the lower.
            column = sorted(layer[start : start + n_rows], key=lambda u: pull[u])
            for local, uid in enumerate(column):
                layer_rows[local].append(uid)
        for members in layer_rows:
            row = len(rows)
            rows.append(members)
            for uid in members:
                unit = by_id[uid]
                text = article.unit_text(unit)
                lines = snippet_lines(text)
                boxes[uid] = _Box(
                    unit=unit,
                    text=text,
                    lines=lines,
                    layer=layer_index,
                    row=row,
                    height=2 * PAD + HEADER_HEIGHT + len(lines) * LINE_HEIGHT,
                )

    paths = None
    if use == "dot":
        width, height, paths = _place_dot(rows, boxes, relations)
        if engine == "auto" and width > max_width * 1.1:
            log.debug("article %s: dot map %.0f px wide; networkx instead", article.id, width)
            use, paths = "networkx", None
    if use == "networkx":
        width, height = _place_networkx(rows, boxes, first_row_of_layer)

    nodes = tuple(
        MapNode(
            unit=b.unit,
            text=b.text,
            lines=b.lines,
            layer=b.layer,
            row=b.row,
            x=b.cx - NODE_WIDTH / 2,
            y=b.y,
            width=NODE_WIDTH,
            height=b.height,
        )
        for b in sorted(boxes.values(), key=lambda b: (b.row, b.cx))
    )
    node_of = {n.unit.id: n for n in nodes}
    edges = _edges(relations, node_of, paths)
    map_layers = tuple(
        MapLayer(label=label, count=len(layers[i]), y=min(node_of[u].y for u in layers[i]))
        for i, label in enumerate(labels)
    )
    return ArgumentMap(
        width=width,
        height=height,
        nodes=nodes,
        edges=edges,
        layers=map_layers,
        engine=use,
    )


# -- networkx ----------------------------------------------------------------------------------
def _place_networkx(
    rows: list[list[str]], boxes: dict[str, _Box], first_row_of_layer: list[int]
) -> tuple[float, float]:
    import networkx as nx

    graph = nx.Graph()
    for members in rows:
        graph.add_nodes_from(members)
    subsets = {i: members for i, members in enumerate(rows) if members}
    width = 2 * MARGIN + GUTTER + NODE_WIDTH
    if not subsets:
        return width, 2 * MARGIN
    pos = nx.multipartite_layout(graph, subset_key=subsets, align="horizontal")
    # multipartite_layout spaces the nodes of every row evenly by one common step, centred
    # on 0; that step becomes one box width plus the gap.
    step = min(
        (abs(pos[m[1]][0] - pos[m[0]][0]) for m in rows if len(m) > 1),
        default=1.0,
    )
    widest = max(len(m) for m in rows)
    width = 2 * MARGIN + GUTTER + widest * (NODE_WIDTH + H_GAP) - H_GAP
    middle = MARGIN + GUTTER + (width - 2 * MARGIN - GUTTER) / 2
    layer_starts = set(first_row_of_layer)
    y = MARGIN
    for i, members in enumerate(rows):
        if i and members:
            y += LAYER_GAP if i in layer_starts else ROW_GAP
        for uid in members:
            boxes[uid].cx = middle + float(pos[uid][0]) / step * (NODE_WIDTH + H_GAP)
            boxes[uid].y = y
        y += max((boxes[u].height for u in members), default=0)
    return width, y + MARGIN


# -- Graphviz dot --------------------------------------------------------------------------------
def _place_dot(
    rows: list[list[str]], boxes: dict[str, _Box], relations: Sequence[ArgRelation]
) -> tuple[float, float, dict[int, list[tuple[float, float]]]]:
    name = {uid: f"n{i}" for i, uid in enumerate(boxes)}
    back = {v: k for k, v in name.items()}
    lines = [
        "digraph map {",
        f"graph [nodesep={H_GAP / 72:.3f}, ranksep={ROW_GAP / 72:.3f}, splines=true, "
        "newrank=true, outputorder=edgesfirst];",
        'node [shape=box, fixedsize=true, label=""];',
        "edge [arrowhead=none];",
    ]
    for uid, box in boxes.items():
        lines.append(f"{name[uid]} [width={NODE_WIDTH / 72:.4f}, height={box.height / 72:.4f}];")
    for members in rows:
        if members:
            lines.append("{rank=same; " + "; ".join(name[u] for u in members) + ";}")
    filled = [m for m in rows if m]
    for upper, lower in itertools.pairwise(filled):
        lines.append(f"{name[upper[0]]} -> {name[lower[0]]} [style=invis];")
    for rel in relations:
        h, t = boxes[rel.head], boxes[rel.tail]
        first, second = (rel.tail, rel.head) if t.row <= h.row else (rel.head, rel.tail)
        lines.append(f"{name[first]} -> {name[second]};")
    lines.append("}")
    try:
        done = subprocess.run(
            ["dot", "-Tplain"],
            input="\n".join(lines),
            capture_output=True,
            text=True,
            timeout=_DOT_TIMEOUT_S,
            check=True,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise ValueError(f"Graphviz dot failed on the argument map: {exc}") from None
    scale, width, graph_h = 72.0, 0.0, 0.0
    drawn: list[tuple[str, str, list[tuple[float, float]]]] = []
    for line in done.stdout.splitlines():
        parts = shlex.split(line)
        if not parts:
            continue
        if parts[0] == "graph":
            width, graph_h = float(parts[2]) * scale, float(parts[3]) * scale
        elif parts[0] == "node":
            box = boxes[back[parts[1]]]
            box.cx = MARGIN + GUTTER + float(parts[2]) * scale
            box.y = MARGIN + graph_h - float(parts[3]) * scale - box.height / 2
        elif parts[0] == "edge" and "invis" not in parts:
            n = int(parts[3])
            coords = [float(v) * scale for v in parts[4 : 4 + 2 * n]]
            points = [
                (MARGIN + GUTTER + coords[k], MARGIN + graph_h - coords[k + 1])
                for k in range(0, len(coords), 2)
            ]
            drawn.append((back[parts[1]], back[parts[2]], points))
    # Each drawn edge goes to the first relation between its two units not yet matched,
    # its points reversed when dot drew it from the tail to the head.
    paths: dict[int, list[tuple[float, float]]] = {}
    for first, second, points in drawn:
        for k, rel in enumerate(relations):
            if k in paths:
                continue
            if (rel.head, rel.tail) == (first, second):
                paths[k] = points
                break
            if (rel.tail, rel.head) == (first, second):
                paths[k] = list(reversed(points))
                break
    return 2 * MARGIN + GUTTER + width, 2 * MARGIN + graph_h, paths


# -- arrows ----------------------------------------------------------------------------------------
def _edges(
    relations: Sequence[ArgRelation],
    node_of: Mapping[str, MapNode],
    dot_paths: Mapping[int, list[tuple[float, float]]] | None,
) -> tuple[MapEdge, ...]:
    # Which side of each box an arrow leaves or enters, and where along it.
    plans = []
    ports: dict[tuple[str, str], list[tuple[float, int, int]]] = {}
    for k, rel in enumerate(relations):
        h, t = node_of[rel.head], node_of[rel.tail]
        if h.row > t.row:
            sides = ("top", "bottom")
        elif h.row < t.row:
            sides = ("bottom", "top")
        else:
            sides = ("top", "top")
        plans.append((rel, h, t, sides))
        ports.setdefault((h.unit.id, sides[0]), []).append((t.center_x, k, 0))
        ports.setdefault((t.unit.id, sides[1]), []).append((h.center_x, k, 1))
    where: dict[tuple[int, int], tuple[float, float]] = {}
    for (uid, side), users in ports.items():
        node = node_of[uid]
        users.sort()
        for i, (_, k, end) in enumerate(users):
            x = node.x + node.width * (i + 1) / (len(users) + 1)
            y = node.y if side == "top" else node.y + node.height
            where[(k, end)] = (x, y)
    bands = _row_bands(node_of.values())
    used: dict[tuple[int, float], int] = {}
    edges = []
    for k, (rel, h, t, sides) in enumerate(plans):
        if dot_paths is not None and len(dot_paths.get(k, ())) >= 4:
            points = dot_paths[k]
            d = f"M{points[0][0]:.1f},{points[0][1]:.1f}C" + " ".join(
                f"{x:.1f},{y:.1f}" for x, y in points[1:]
            )
            edges.append(MapEdge(relation=rel, path=d, start=points[0], end=points[-1]))
            continue
        (sx, sy), (ex, ey) = where[(k, 0)], where[(k, 1)]
        if sides == ("top", "top"):
            lift = min(ROW_GAP - 6, 10 + abs(ex - sx) / 8)
            d = (
                f"M{sx:.1f},{sy:.1f}C{sx:.1f},{sy - lift:.1f} {ex:.1f},{ey - lift:.1f} "
                f"{ex:.1f},{ey:.1f}"
            )
        else:
            points = [(sx, sy), *_through_gaps(h.row, t.row, sx, sy, ex, ey, bands, used), (ex, ey)]
            d = f"M{sx:.1f},{sy:.1f}" + "".join(
                _vertical_curve(a, b) for a, b in itertools.pairwise(points)
            )
        edges.append(MapEdge(relation=rel, path=d, start=(sx, sy), end=(ex, ey)))
    return tuple(edges)


def _row_bands(
    nodes: Iterable[MapNode],
) -> dict[int, tuple[float, float, list[tuple[float, float]]]]:
    """Row -> (top, bottom, sorted box x-intervals)."""
    bands: dict[int, tuple[float, float, list[tuple[float, float]]]] = {}
    for node in nodes:
        top, bottom, spans = bands.get(node.row, (node.y, node.y + node.height, []))
        spans.append((node.x, node.x + node.width))
        bands[node.row] = (min(top, node.y), max(bottom, node.y + node.height), spans)
    for _, _, spans in bands.values():
        spans.sort()
    return bands


def _through_gaps(
    row_from: int,
    row_to: int,
    sx: float,
    sy: float,
    ex: float,
    ey: float,
    bands: Mapping[int, tuple[float, float, list[tuple[float, float]]]],
    used: dict[tuple[int, float], int],
) -> list[tuple[float, float]]:
    """Waypoints that take an arrow across the rows between two boxes through the gaps
    between boxes (nearest to the straight line), so it never runs behind a box."""
    step = 1 if row_to > row_from else -1
    points: list[tuple[float, float]] = []
    for row in range(row_from + step, row_to, step):
        if row not in bands:
            continue
        top, bottom, spans = bands[row]
        middle = (top + bottom) / 2
        frac = (middle - sy) / (ey - sy) if ey != sy else 0.5
        want = sx + (ex - sx) * frac
        gaps = [(spans[0][0] - 2 * H_GAP, spans[0][0])]
        gaps += [(a[1], b[0]) for a, b in itertools.pairwise(spans)]
        gaps.append((spans[-1][1], spans[-1][1] + 2 * H_GAP))
        best = min(
            gaps,
            key=lambda g: 0 if g[0] <= want <= g[1] else min(abs(want - g[0]), abs(want - g[1])),
        )
        centre = (best[0] + best[1]) / 2
        if best is gaps[0]:
            centre = best[1] - H_GAP / 2
        elif best is gaps[-1]:
            centre = best[0] + H_GAP / 2
        # Arrows sharing a gap sit side by side, 3 px apart.
        n = used.get((row, round(centre)), 0)
        used[(row, round(centre))] = n + 1
        x = centre + (((n + 1) // 2) * (1 if n % 2 else -1)) * 3
        entry, leave = (top - 4, bottom + 4) if step > 0 else (bottom + 4, top - 4)
        points += [(x, entry), (x, leave)]
    return points


def _vertical_curve(a: tuple[float, float], b: tuple[float, float]) -> str:
    """An SVG cubic from ``a`` to ``b`` leaving and arriving vertically."""
    if abs(a[0] - b[0]) < 0.05:
        return f"L{b[0]:.1f},{b[1]:.1f}"
    mid = (a[1] + b[1]) / 2
    return f"C{a[0]:.1f},{mid:.1f} {b[0]:.1f},{mid:.1f} {b[0]:.1f},{b[1]:.1f}"
