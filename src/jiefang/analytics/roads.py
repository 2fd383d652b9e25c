"""Travel time over a real road network built from an OpenStreetMap extract (pure, but for reading the file).

The network is a sparse matrix of edge lengths (walkable ways, both directions). Demand points and
responders are snapped to their nearest node; the few metres off the network are walked straight.
For the nearest responder (k = 1) one Dijkstra run from a virtual super-source linked to every
responder's node — weighted by that responder's snapping time — gives every node its time to the
nearest responder at once (``scipy.sparse.csgraph``). For the k-th nearest, each responder's search
is bounded by the largest threshold of interest and the k smallest arrivals per node are kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from jiefang.errors import InvalidInput
from jiefang.geo.projection import LocalProjection

SOURCE_CHUNK = 256  # responders searched per batch for k > 1 (bounds memory: chunk × nodes floats)


@dataclass(frozen=True)
class RoadGraph:
    """Nodes (WGS84) and undirected edges with their length in metres."""

    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    tail: NDArray[np.int64]
    head: NDArray[np.int64]
    length_m: NDArray[np.float64]

    @property
    def nodes(self) -> int:
        return int(self.lon.size)

    def matrix_s(self, speed_mps: float) -> sp.csr_matrix:
        """Return the symmetric node × node matrix of edge travel seconds at ``speed_mps``."""
        n = self.nodes
        seconds = np.maximum(self.length_m / speed_mps, 1e-6)  # an explicit 0 would read as no edge
        rows = np.concatenate((self.tail, self.head))
        cols = np.concatenate((self.head, self.tail))
        # parallel edges must not add up as a sparse constructor would: keep the shortest
        return _min_duplicates(rows, cols, np.concatenate((seconds, seconds)), n)

    def save(self, path: Path) -> None:
        """Write the graph as a compressed .npz file."""
        np.savez_compressed(path, lon=self.lon, lat=self.lat, tail=self.tail, head=self.head, length_m=self.length_m)

    @classmethod
    def load(cls, path: Path) -> RoadGraph:
        """Read a graph written by ``save``. Raises InvalidInput when the file is not one."""
        try:
            with np.load(path) as f:
                return cls(f["lon"], f["lat"], f["tail"], f["head"], f["length_m"])
        except (OSError, KeyError, ValueError) as exc:
            raise InvalidInput(f"not a road graph file: {path} ({exc})") from exc


def _min_duplicates(
    rows: NDArray[np.int64], cols: NDArray[np.int64], values: NDArray[np.float64], n: int
) -> sp.csr_matrix:
    order = np.lexsort((values, cols, rows))
    r, c, v = rows[order], cols[order], values[order]
    first = np.ones(r.size, dtype=bool)
    first[1:] = (r[1:] != r[:-1]) | (c[1:] != c[:-1])
    return sp.csr_matrix((v[first], (r[first], c[first])), shape=(n, n))


def graph_from_edges(
    node_id: NDArray[np.int64],
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    u: NDArray[np.int64],
    v: NDArray[np.int64],
    length_m: NDArray[np.float64],
) -> RoadGraph:
    """Return the graph of edges (u, v) given by node ids; edges naming unknown nodes are dropped."""
    node_id = np.asarray(node_id, dtype=np.int64)
    order = np.argsort(node_id)
    sorted_ids = node_id[order]

    def index(ids: NDArray[np.int64]) -> NDArray[np.int64]:
        pos = np.clip(np.searchsorted(sorted_ids, ids), 0, max(sorted_ids.size - 1, 0))
        return np.where(sorted_ids[pos] == ids, order[pos], -1)

    tail, head = index(np.asarray(u, dtype=np.int64)), index(np.asarray(v, dtype=np.int64))
    length = np.asarray(length_m, dtype=np.float64)
    keep = (tail >= 0) & (head >= 0) & (tail != head) & np.isfinite(length)
    return RoadGraph(
        np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64), tail[keep], head[keep], length[keep]
    )


def read_osm_pbf(path: Path, network_type: str = "walking") -> RoadGraph:
    """Return the ``network_type`` road graph of an OSM .pbf extract (needs the ``roads`` extra: pyrosm).

    Raises InvalidInput when pyrosm is missing or the file holds no network.
    """
    try:
        from pyrosm import OSM
    except ImportError as exc:
        raise InvalidInput("reading OSM extracts needs pyrosm: pip install -e '.[roads]'") from exc
    got = OSM(str(path)).get_network(network_type=network_type, nodes=True)
    if got is None:
        raise InvalidInput(f"no {network_type} network in {path}")
    nodes, edges = got
    return graph_from_edges(
        nodes["id"].to_numpy(),
        nodes["lon"].to_numpy(),
        nodes["lat"].to_numpy(),
        edges["u"].to_numpy(),
        edges["v"].to_numpy(),
        edges["length"].to_numpy(),
    )


@dataclass
class RoadTimes:
    """Travel seconds along the road graph at one speed; a ``TravelTimes`` model for coverage."""

    graph: RoadGraph
    speed_mps: float
    limit_s: float = 900.0  # searches for k > 1 stop here; later arrivals read as inf
    _matrix: sp.csr_matrix | None = field(default=None, init=False, repr=False)

    @property
    def matrix(self) -> sp.csr_matrix:
        if self._matrix is None:
            self._matrix = self.graph.matrix_s(self.speed_mps)
        return self._matrix

    def _snap(
        self, lon: NDArray[np.float64], lat: NDArray[np.float64], proj: LocalProjection, tree: cKDTree
    ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        x, y = proj.to_xy(lon, lat)
        distance, node = tree.query(np.column_stack((x, y)))
        return np.asarray(node, dtype=np.int64), np.asarray(distance, dtype=np.float64) / self.speed_mps

    def node_times_s(self, source_node: NDArray[np.int64], source_offset_s: NDArray[np.float64]) -> NDArray[np.float64]:
        """Return each node's seconds to the nearest source (one Dijkstra from a super-source)."""
        n = self.graph.nodes
        m = self.matrix
        extra = sp.csr_matrix(
            (np.maximum(source_offset_s, 1e-6), (np.zeros(source_node.size, dtype=np.int64), source_node)),
            shape=(1, n + 1),
        )
        augmented = sp.vstack((sp.hstack((m, sp.csr_matrix((n, 1)))), extra)).tocsr()
        times = dijkstra(augmented, directed=True, indices=n)
        return np.asarray(times[:n], dtype=np.float64)

    def kth_node_times_s(
        self, source_node: NDArray[np.int64], source_offset_s: NDArray[np.float64], k: int
    ) -> NDArray[np.float64]:
        """Return each node's seconds to its k-th nearest source (inf beyond ``limit_s``)."""
        best = np.full((k, self.graph.nodes), np.inf)
        for start in range(0, source_node.size, SOURCE_CHUNK):
            nodes = source_node[start : start + SOURCE_CHUNK]
            times = dijkstra(self.matrix, directed=False, indices=nodes, limit=self.limit_s)
            times = times + source_offset_s[start : start + SOURCE_CHUNK, None]
            best = np.partition(np.vstack((best, times)), k - 1, axis=0)[:k]
        return np.asarray(np.max(best, axis=0), dtype=np.float64)

    def kth_nearest_s(
        self,
        demand_lon: NDArray[np.float64],
        demand_lat: NDArray[np.float64],
        source_lon: NDArray[np.float64],
        source_lat: NDArray[np.float64],
        k: int,
    ) -> NDArray[np.float64]:
        """Return seconds to the k-th nearest source for each demand point; inf when unreachable or fewer than k.

        Raises InvalidInput when k < 1 or the graph is empty.
        """
        if k < 1:
            raise InvalidInput(f"k must be at least 1, got {k}")
        if self.graph.nodes == 0:
            raise InvalidInput("the road graph has no nodes")
        demand_lon = np.asarray(demand_lon, dtype=np.float64)
        if np.asarray(source_lon).size < k:
            return np.full(demand_lon.size, np.inf)
        proj = LocalProjection(float(np.mean(self.graph.lon)), float(np.mean(self.graph.lat)))
        tree = cKDTree(np.column_stack(proj.to_xy(self.graph.lon, self.graph.lat)))
        d_node, d_off = self._snap(demand_lon, np.asarray(demand_lat, dtype=np.float64), proj, tree)
        s_node, s_off = self._snap(
            np.asarray(source_lon, dtype=np.float64), np.asarray(source_lat, dtype=np.float64), proj, tree
        )
        node_s = self.node_times_s(s_node, s_off) if k == 1 else self.kth_node_times_s(s_node, s_off, k)
        return node_s[d_node] + d_off
