"""1-3-5 coverage: travel time from every demand point to its k-th nearest responder (pure).

Travel times come from a ``TravelTimes`` model: the default is straight-line metres × road
circuity ÷ speed (``jiefang.geo.travel.TravelModel``, the same assumption as live ETAs); a road
network (``jiefang.analytics.roads``) plugs in the same way. Shares are then counted within the
1, 3 and 5 minutes of the standard: of area, of demand weight, and of grids (by their centres).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from jiefang.errors import InvalidInput
from jiefang.geo.projection import LocalProjection
from jiefang.geo.travel import TravelModel

THRESHOLDS_S: tuple[float, ...] = (60.0, 180.0, 300.0)  # 1分钟自救、3分钟互救、5分钟增援
DEFAULT_MODE = "run"  # a neighbour running over to help; configurable (JIEFANG_COVERAGE_MODE)


class TravelTimes(Protocol):
    """Seconds from each demand point to its k-th nearest source (inf when there are fewer than k)."""

    def kth_nearest_s(
        self,
        demand_lon: NDArray[np.float64],
        demand_lat: NDArray[np.float64],
        source_lon: NDArray[np.float64],
        source_lat: NDArray[np.float64],
        k: int,
    ) -> NDArray[np.float64]: ...


@dataclass(frozen=True)
class StraightLineTimes:
    """Travel time = straight-line metres × circuity ÷ speed of one mode (the default model)."""

    model: TravelModel = field(default_factory=TravelModel)
    mode: str = DEFAULT_MODE

    @property
    def speed_mps(self) -> float:
        return self.model.speed_mps(self.mode)

    def reach_m(self, eta_s: float) -> float:
        """Return the straight-line metres reachable within ``eta_s`` seconds."""
        return self.model.reach_m(eta_s, self.mode)

    def kth_nearest_s(
        self,
        demand_lon: NDArray[np.float64],
        demand_lat: NDArray[np.float64],
        source_lon: NDArray[np.float64],
        source_lat: NDArray[np.float64],
        k: int,
    ) -> NDArray[np.float64]:
        """Return seconds to the k-th nearest source for each demand point; inf when fewer than k sources.

        Raises InvalidInput when k < 1.
        """
        if k < 1:
            raise InvalidInput(f"k must be at least 1, got {k}")
        demand_lon = np.asarray(demand_lon, dtype=np.float64)
        if demand_lon.size == 0:
            return np.zeros(0)
        if np.asarray(source_lon).size < k:
            return np.full(demand_lon.size, np.inf)
        proj = LocalProjection(float(np.mean(demand_lon)), float(np.mean(demand_lat)))
        dx, dy = proj.to_xy(demand_lon, demand_lat)
        sx, sy = proj.to_xy(source_lon, source_lat)
        distance_m = kth_nearest_m(np.column_stack((dx, dy)), np.column_stack((sx, sy)), k)
        return distance_m * self.model.circuity / self.speed_mps


def kth_nearest_m(demand_xy: NDArray[np.float64], sources_xy: NDArray[np.float64], k: int) -> NDArray[np.float64]:
    """Return the planar distance from each demand point to its k-th nearest source (inf if fewer)."""
    if len(sources_xy) < k:
        return np.full(len(demand_xy), np.inf)
    tree = cKDTree(sources_xy, balanced_tree=False, compact_nodes=False)
    distance, _ = tree.query(demand_xy, k=[k], workers=-1)
    return np.asarray(distance[:, 0], dtype=np.float64)


def shares_within(
    times_s: NDArray[np.float64], weights: NDArray[np.float64], thresholds_s: tuple[float, ...] = THRESHOLDS_S
) -> NDArray[np.float64]:
    """Return, per threshold, the share (0..1) of total weight whose time is within it; 0 if no weight."""
    w = np.asarray(weights, dtype=np.float64)
    total = float(w.sum())
    if total <= 0:
        return np.zeros(len(thresholds_s))
    return np.array([float(w[times_s <= t].sum()) / total for t in thresholds_s])


def shares_by_group(
    times_s: NDArray[np.float64],
    weights: NDArray[np.float64],
    group: NDArray[np.int64],
    n_groups: int,
    thresholds_s: tuple[float, ...] = THRESHOLDS_S,
) -> NDArray[np.float64]:
    """Return an (n_groups, thresholds) array of weight shares within each threshold per group.

    Points whose group is negative (outside every area) are left out; a group without weight gets 0.
    """
    inside = group >= 0
    g, t, w = group[inside], times_s[inside], np.asarray(weights, dtype=np.float64)[inside]
    totals = np.bincount(g, weights=w, minlength=n_groups)
    out = np.zeros((n_groups, len(thresholds_s)))
    for j, limit in enumerate(thresholds_s):
        covered = np.bincount(g, weights=np.where(t <= limit, w, 0.0), minlength=n_groups)
        np.divide(covered, totals, out=out[:, j], where=totals > 0)
    return out


@dataclass(frozen=True)
class Coverage:
    """Times and shares of one coverage run (see ``measure``)."""

    unit_s: NDArray[np.float64]  # to the nearest unit site, per cell
    responder_s: NDArray[np.float64]  # to the k-th nearest on-duty responder, per cell
    k: int
    area_share: NDArray[np.float64]  # per threshold, by responders
    weight_share: NDArray[np.float64]
    unit_area_share: NDArray[np.float64]  # per threshold, by unit sites
    grid_share: NDArray[np.float64]  # share of grids whose centre is reached by responders within each threshold
    thresholds_s: tuple[float, ...] = THRESHOLDS_S


def measure(
    times: TravelTimes,
    cell_lon: NDArray[np.float64],
    cell_lat: NDArray[np.float64],
    cell_area_km2: NDArray[np.float64],
    weights: NDArray[np.float64],
    unit_lon: NDArray[np.float64],
    unit_lat: NDArray[np.float64],
    responder_lon: NDArray[np.float64],
    responder_lat: NDArray[np.float64],
    k: int,
    grid_lon: NDArray[np.float64] | None = None,
    grid_lat: NDArray[np.float64] | None = None,
    thresholds_s: tuple[float, ...] = THRESHOLDS_S,
) -> Coverage:
    """Return travel times per cell to the nearest unit and k-th nearest responder, and the shares.

    Raises InvalidInput when k < 1.
    """
    unit_s = times.kth_nearest_s(cell_lon, cell_lat, unit_lon, unit_lat, 1)
    responder_s = times.kth_nearest_s(cell_lon, cell_lat, responder_lon, responder_lat, k)
    if grid_lon is not None and grid_lat is not None and np.asarray(grid_lon).size:
        grid_s = times.kth_nearest_s(grid_lon, grid_lat, responder_lon, responder_lat, k)
        grid_share = shares_within(grid_s, np.ones(grid_s.size), thresholds_s)
    else:
        grid_share = np.zeros(len(thresholds_s))
    return Coverage(
        unit_s=unit_s,
        responder_s=responder_s,
        k=k,
        area_share=shares_within(responder_s, cell_area_km2, thresholds_s),
        weight_share=shares_within(responder_s, weights, thresholds_s),
        unit_area_share=shares_within(unit_s, cell_area_km2, thresholds_s),
        grid_share=grid_share,
        thresholds_s=thresholds_s,
    )


def poisson_share_within(density_per_m2: float, radius_m: float, k: int = 1) -> float:
    """Return P(at least k points of a Poisson process of ``density_per_m2`` within ``radius_m``).

    For k = 1 this is the closed form 1 − exp(−λπr²); coverage of a uniform random layout must match it.
    """
    mu = density_per_m2 * np.pi * radius_m**2
    term, below = np.exp(-mu), 0.0
    for j in range(k):
        below += term
        term *= mu / (j + 1)
    return float(1.0 - below)
