"""Placement over the database: where to build new units in the city or a district (see ``placement``)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sqlalchemy.orm import Session

from jiefang.analytics.cells import CellCache
from jiefang.analytics.placement import EXACT_MAX_VARIABLES, mclp, reach_matrix, set_cover
from jiefang.analytics.schemas import PlacementIn, PlacementOut, SetCoverOut, SiteOut
from jiefang.analytics.service import demand_weights, scoped_district, travel_times, unit_sites
from jiefang.config import Settings
from jiefang.errors import InvalidInput
from jiefang.geo.projection import LocalProjection
from jiefang.people.access import Principal

API_TIME_LIMIT_S = 20.0  # a request never waits longer on the MILP solver; its best answer and bound are kept


def placement(
    session: Session, settings: Settings, cache: CellCache, who: Principal, data: PlacementIn
) -> PlacementOut:
    """Return K new sites maximising newly covered demand (and the set cover, if a target is given).

    Raises Forbidden outside the caller's scope, NotFound for an unknown district, InvalidInput without candidates.
    """
    district_id = scoped_district(who, data.district_id)
    city = cache.get(session)
    cells = city.cells
    keep = (
        np.ones(len(cells), dtype=bool) if district_id is None else city.district_of == city.district_index(district_id)
    )
    weights = demand_weights(session, settings, cells, data.weighting)[keep]
    sub = cells.subset(keep)
    times = travel_times(settings)
    u_lon, u_lat = unit_sites(session)
    covered = times.kth_nearest_s(sub.lon, sub.lat, u_lon, u_lat, 1) <= data.threshold_s
    if data.candidates:
        c_lon = np.array([p.lon for p in data.candidates])
        c_lat = np.array([p.lat for p in data.candidates])
    else:
        g_keep = (
            np.ones(city.grid_lon.size, dtype=bool)
            if district_id is None
            else (city.grid_district == city.district_index(district_id))
        )
        c_lon, c_lat = city.grid_lon[g_keep], city.grid_lat[g_keep]
    if c_lon.size == 0:
        raise InvalidInput("no candidate sites")
    proj = LocalProjection(float(sub.lon.mean()), float(sub.lat.mean()))
    demand_xy = np.column_stack(proj.to_xy(sub.lon, sub.lat))
    cand_xy = np.column_stack(proj.to_xy(c_lon, c_lat))
    reach = reach_matrix(cand_xy, demand_xy, times.reach_m(data.threshold_s))
    if data.method == "milp" and sum(reach.shape) > EXACT_MAX_VARIABLES:
        raise InvalidInput(
            f"{sum(reach.shape):,} variables is too large for the exact solver; use greedy or leave the method out"
        )
    result = mclp(reach, weights, data.k, covered, method=data.method, time_limit_s=API_TIME_LIMIT_S)
    total = float(weights.sum()) or 1.0
    before = float(weights[covered].sum()) / total
    out = PlacementOut(
        method=result.method,
        optimal=result.optimal,
        gap=result.gap,
        covered_weight=result.covered_weight,
        upper_bound=result.upper_bound,
        seconds=round(result.seconds, 3),
        candidates=int(c_lon.size),
        demand_cells=int(keep.sum()),
        before_share=before,
        after_share=before + result.covered_weight / total,
        sites=_sites(reach, weights, covered, result.chosen, c_lon, c_lat),
    )
    if data.target_share is not None:
        sc = set_cover(reach, weights, data.target_share, covered, method=data.method, time_limit_s=API_TIME_LIMIT_S)
        out.set_cover = SetCoverOut(
            sites=int(sc.chosen.size),
            lower_bound=sc.lower_bound,
            share=sc.share,
            target_share=sc.target_share,
            reached=sc.reached,
            method=sc.method,
        )
    return out


def _sites(
    reach: sp.csr_matrix,
    weights: NDArray[np.float64],
    covered: NDArray[np.bool_],
    chosen: NDArray[np.int64],
    c_lon: NDArray[np.float64],
    c_lat: NDArray[np.float64],
) -> list[SiteOut]:
    """Return the chosen sites, best first, each with the weight it adds after the ones before it."""
    done = covered.copy()
    order = [int(j) for j in chosen]
    sites: list[SiteOut] = []
    while order:
        best_j, best_gain, best_rows = order[0], -1.0, np.zeros(0, dtype=np.int64)
        for j in order:
            rows = reach.indices[reach.indptr[j] : reach.indptr[j + 1]]
            gain = float(weights[rows[~done[rows]]].sum())
            if gain > best_gain:
                best_j, best_gain, best_rows = j, gain, rows
        order.remove(best_j)
        done[best_rows] = True
        sites.append(SiteOut(lon=float(c_lon[best_j]), lat=float(c_lat[best_j]), gain=best_gain))
    return sites
