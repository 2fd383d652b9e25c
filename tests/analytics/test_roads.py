"""Road-network travel times on the small real OSM extract pyrosm ships, checked against networkx."""

from __future__ import annotations

import numpy as np
import pytest

from jiefang.analytics.roads import RoadGraph, RoadTimes, graph_from_edges, read_osm_pbf
from jiefang.geo.projection import haversine_m

pyrosm = pytest.importorskip("pyrosm", reason="the roads extra (pyrosm) is not installed")
nx = pytest.importorskip("networkx")
SPEED = 1.4


@pytest.fixture(scope="module")
def graph() -> RoadGraph:
    return read_osm_pbf(pyrosm.get_data("test_pbf"))


def _nx_graph(g: RoadGraph):  # type: ignore[no-untyped-def]
    out = nx.Graph()
    for a, b, length in zip(g.tail.tolist(), g.head.tolist(), g.length_m.tolist(), strict=True):
        if not out.has_edge(a, b) or out[a][b]["weight"] > length / SPEED:
            out.add_edge(a, b, weight=max(length / SPEED, 1e-6))
    return out


def test_nearest_responder_times_equal_networkx_multi_source_dijkstra(graph: RoadGraph) -> None:
    rng = np.random.default_rng(1)
    sources = rng.choice(graph.nodes, 8, replace=False)
    times = RoadTimes(graph, SPEED).kth_nearest_s(graph.lon, graph.lat, graph.lon[sources], graph.lat[sources], 1)
    expected = nx.multi_source_dijkstra_path_length(_nx_graph(graph), set(sources.tolist()), weight="weight")
    for node in range(graph.nodes):
        assert times[node] == pytest.approx(expected.get(node, np.inf), abs=1e-3)


def test_kth_nearest_matches_one_search_per_responder(graph: RoadGraph) -> None:
    rng = np.random.default_rng(2)
    sources = rng.choice(graph.nodes, 6, replace=False)
    roads = RoadTimes(graph, SPEED, limit_s=10_000)
    third = roads.kth_nearest_s(graph.lon, graph.lat, graph.lon[sources], graph.lat[sources], 3)
    g = _nx_graph(graph)
    per_source = [nx.single_source_dijkstra_path_length(g, int(s), weight="weight") for s in sources]
    for node in rng.choice(graph.nodes, 100, replace=False):
        arrivals = sorted(d.get(int(node), np.inf) for d in per_source)
        assert third[node] == pytest.approx(arrivals[2], abs=1e-3)


def test_road_time_is_never_faster_than_the_straight_line(graph: RoadGraph) -> None:
    rng = np.random.default_rng(3)
    source = rng.choice(graph.nodes, 1)
    times = RoadTimes(graph, SPEED).kth_nearest_s(graph.lon, graph.lat, graph.lon[source], graph.lat[source], 1)
    straight = haversine_m(graph.lon, graph.lat, graph.lon[source], graph.lat[source]) / SPEED
    reached = np.isfinite(times)
    assert reached.sum() >= 50  # the extract has several components; this source reaches one
    assert np.all(times[reached] >= straight[reached] * 0.99 - 1e-6)


def test_graph_keeps_the_shortest_parallel_edge_and_drops_unknown_nodes() -> None:
    g = graph_from_edges(
        np.array([10, 20, 30]),
        np.zeros(3),
        np.zeros(3),
        np.array([10, 10, 20, 99]),
        np.array([20, 20, 30, 10]),
        np.array([50.0, 30.0, 10.0, 5.0]),
    )
    assert g.tail.size == 3  # the edge naming node 99 is gone
    m = g.matrix_s(1.0)
    assert m[0, 1] == 30.0 and m[1, 0] == 30.0 and m[1, 2] == 10.0


def test_graph_round_trips_through_a_file(graph: RoadGraph, tmp_path) -> None:  # type: ignore[no-untyped-def]
    graph.save(tmp_path / "roads.npz")
    again = RoadGraph.load(tmp_path / "roads.npz")
    assert again.nodes == graph.nodes and np.array_equal(again.length_m, graph.length_m)
