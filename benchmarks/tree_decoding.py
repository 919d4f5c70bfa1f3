"""Tree decoding (``relations.decoding: tree``): argmine's dense Chu-Liu/Edmonds beside
networkx's ``maximum_spanning_arborescence`` (what argmine used before), same graphs, same run.

Each row decodes one article of N units with every ordered pair a candidate (``scope: all``)
and random relation probabilities, through ``decode_relations(mode="tree")`` and through the
networkx graph the old code built, and checks that both trees weigh the same. The last line:
``speedup_at_<N>: <ratio> same_weight: <yes|no>``.

    .venv/bin/python benchmarks/tree_decoding.py                # 25, 50, 100, 150 units
    .venv/bin/python benchmarks/tree_decoding.py --sizes 50,400 --networkx-max 100
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import numpy as np

from argmine.document import ArgUnit
from argmine.relations import decode_relations

EPS, PENALTY = 1e-6, 1e3  # as in argmine.relations._arborescence


def _networkx_tree(n: int, pairs, p_rel) -> float:
    """The total weight of networkx's tree over the graph argmine's old decoder built."""
    import networkx as nx

    best = np.zeros(n)
    for row, (i, _) in enumerate(pairs):
        best[i] = max(best[i], p_rel[row])
    graph = nx.DiGraph()
    for i in range(n):
        graph.add_edge(-1, i, weight=math.log(max(1.0 - best[i], EPS)) - PENALTY)
    for row, (i, j) in enumerate(pairs):
        graph.add_edge(j, i, weight=math.log(max(p_rel[row], EPS)))
    tree = nx.maximum_spanning_arborescence(graph, attr="weight")
    return sum(d["weight"] for _, _, d in tree.edges(data=True))


def _weight(n: int, pairs, p_rel, relations, index) -> float:
    best = np.zeros(n)
    for row, (i, _) in enumerate(pairs):
        best[i] = max(best[i], p_rel[row])
    lookup = {pair: row for row, pair in enumerate(pairs)}
    attached = set()
    total = 0.0
    for r in relations:
        i, j = index[r.head], index[r.tail]
        attached.add(i)
        total += math.log(max(p_rel[lookup[(i, j)]], EPS))
    return total + sum(
        math.log(max(1.0 - best[i], EPS)) - PENALTY for i in range(n) if i not in attached
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="25,50,100,150", help="units per article")
    parser.add_argument("--networkx-max", type=int, default=150, help="largest N for networkx")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    print("| units | pairs | argmine s | networkx s | speedup | same weight |")
    print("|---:|---:|---:|---:|---:|---|")
    last = ""
    for n in (int(x) for x in args.sizes.split(",")):
        units = [ArgUnit(f"T{i + 1}", 2 * i, 2 * i + 1, "Claim") for i in range(n)]
        index = {u.id: k for k, u in enumerate(units)}
        pairs = [(i, j) for i in range(n) for j in range(n) if i != j]
        p_rel = rng.random(len(pairs))
        probs = np.stack([1.0 - p_rel, p_rel, np.zeros_like(p_rel)], axis=1)
        start = time.perf_counter()
        got = decode_relations(
            units, pairs, probs, labels=("supports", "attacks"), mode="tree", threshold=0.5
        )
        ours = time.perf_counter() - start
        if n <= args.networkx_max:
            start = time.perf_counter()
            expected = _networkx_tree(n, pairs, p_rel)
            theirs = time.perf_counter() - start
            same = abs(_weight(n, pairs, p_rel, got, index) - expected) < 1e-6
            ratio = theirs / ours
            print(
                f"| {n} | {len(pairs)} | {ours:.4f} | {theirs:.3f} | {ratio:.0f}x | "
                f"{'yes' if same else 'NO'} |"
            )
            last = f"speedup_at_{n}: {ratio:.1f} same_weight: {'yes' if same else 'no'}"
        else:
            print(f"| {n} | {len(pairs)} | {ours:.4f} | (skipped) | | |")
    if last:
        print(last)
    return 0


if __name__ == "__main__":
    sys.exit(main())
