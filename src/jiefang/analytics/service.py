"""Coverage and placement over the database: areas, units, rosters and the live board in, schemas out.

The city's H3 cells and which district and street each falls in are computed once per process
(``CellCache``) and again only when the areas change. Everything else is read per request; the
numeric work is done by the pure cores (``coverage``, ``placement``).
"""

from __future__ import annotations

import csv
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np
import scipy.sparse as sp
import shapely
from numpy.typing import NDArray
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiefang.analytics.coverage import (
    THRESHOLDS_S,
    Coverage,
    StraightLineTimes,
    TravelTimes,
    measure,
    shares_by_group,
    shares_within,
)
from jiefang.analytics.hexgrid import (
    DEFAULT_RESOLUTION,
    HexCells,
    aggregate_points,
    cell_boundaries,
    cells_covering,
    locate_points,
)
from jiefang.analytics.placement import EXACT_MAX_VARIABLES, mclp, reach_matrix, set_cover
from jiefang.analytics.roads import RoadGraph, RoadTimes
from jiefang.analytics.schemas import (
    AreaCoverage,
    CellsOut,
    CoverageOut,
    PlacementIn,
    PlacementOut,
    SetCoverOut,
    Shares,
    SiteOut,
    Weighting,
)
from jiefang.areas.models import Area
from jiefang.config import Settings
from jiefang.db import utcnow
from jiefang.duty.rosters import running_rostered_shifts
from jiefang.errors import Forbidden, InvalidInput, NotFound
from jiefang.geo.projection import LocalProjection
from jiefang.geo.travel import TravelModel
from jiefang.incidents.models import Incident
from jiefang.people.access import CITY_ADMIN, DISTRICT_OPERATOR, Principal
from jiefang.tracking.live import LiveTracker
from jiefang.units.models import Unit

API_TIME_LIMIT_S = 20.0  # a request never waits longer on the MILP solver; its best answer and bound are kept


@dataclass(frozen=True)
class AreaRef:
    id: int
    code: str
    name: str
    name_en: str | None
    area_km2: float


@dataclass(frozen=True)
class CityCells:
    """The city's cells and the district and street (indexes into the lists) each lies in."""

    cells: HexCells
    districts: list[AreaRef]
    streets: list[AreaRef]
    district_of: NDArray[np.int64]
    street_of: NDArray[np.int64]
    street_district: NDArray[np.int64]  # district index of each street
    grid_lon: NDArray[np.float64]
    grid_lat: NDArray[np.float64]
    grid_district: NDArray[np.int64]

    def district_index(self, district_id: int) -> int:
        """Return the index of district ``district_id``. Raises NotFound if it is not a district."""
        for i, d in enumerate(self.districts):
            if d.id == district_id:
                return i
        raise NotFound(f"no district with id {district_id}")


def _refs_and_geoms(session: Session, level: str) -> tuple[list[AreaRef], list[shapely.Geometry], list[int | None]]:
    rows = session.execute(
        select(Area.id, Area.code, Area.name, Area.name_en, Area.area_km2, Area.geometry, Area.district_id)
        .where(Area.level == level)
        .order_by(Area.code)
    ).all()
    refs = [AreaRef(r.id, r.code, r.name, r.name_en, r.area_km2) for r in rows]
    geoms = list(shapely.from_geojson([r.geometry for r in rows])) if rows else []
    return refs, geoms, [r.district_id for r in rows]


def build_city_cells(session: Session, resolution: int = DEFAULT_RESOLUTION) -> CityCells:
    """Return the cells of every district in the database and where each lies. Raises NotFound without districts."""
    districts, d_geoms, _ = _refs_and_geoms(session, "district")
    if not districts:
        raise NotFound("no districts loaded: import areas first")
    streets, s_geoms, s_district = _refs_and_geoms(session, "street")
    cells = cells_covering(d_geoms, resolution)
    index_of = {d.id: i for i, d in enumerate(districts)}
    grids = session.execute(
        select(Area.centroid_lon, Area.centroid_lat, Area.district_id).where(Area.level == "grid")
    ).all()
    return CityCells(
        cells=cells,
        districts=districts,
        streets=streets,
        district_of=locate_points(cells.lon, cells.lat, d_geoms),
        street_of=locate_points(cells.lon, cells.lat, s_geoms),
        street_district=np.array([index_of.get(d, -1) if d else -1 for d in s_district], dtype=np.int64),
        grid_lon=np.array([g[0] for g in grids], dtype=np.float64),
        grid_lat=np.array([g[1] for g in grids], dtype=np.float64),
        grid_district=np.array([index_of.get(g[2], -1) if g[2] else -1 for g in grids], dtype=np.int64),
    )


class CellCache:
    """The city's cells, built once per process and rebuilt when the areas table changes."""

    def __init__(self, resolution: int = DEFAULT_RESOLUTION) -> None:
        self.resolution = resolution
        self._lock = threading.Lock()
        self._key: tuple[object, ...] | None = None
        self._value: CityCells | None = None
        self._roads: tuple[tuple[str, int | None], RoadGraph] | None = None

    def road_graph(self, path: Path) -> RoadGraph:
        """Return the road graph stored at ``path``, read again only when the file changes."""
        key = (str(path), Path(path).stat().st_mtime_ns if Path(path).exists() else None)
        with self._lock:
            if self._roads is None or self._roads[0] != key:
                self._roads = (key, RoadGraph.load(path))
            return self._roads[1]

    def get(self, session: Session) -> CityCells:
        """Return the city's cells for the areas now in the database."""
        key = tuple(session.execute(select(func.count(Area.id), func.max(Area.updated_at))).one())
        with self._lock:
            if self._value is None or key != self._key:
                self._value = build_city_cells(session, self.resolution)
                self._key = key
            return self._value


def travel_times(settings: Settings) -> StraightLineTimes:
    """Return the default travel model of coverage: straight line × circuity ÷ speed of the configured mode."""
    return StraightLineTimes(TravelModel(), mode=settings.coverage_mode)


def coverage_times(settings: Settings, cache: CellCache) -> TravelTimes:
    """Return the road-network model when a road graph is configured (``jiefang import roads``), else the default."""
    if settings.road_graph is None:
        return travel_times(settings)
    return RoadTimes(cache.road_graph(settings.road_graph), TravelModel().speed_mps(settings.coverage_mode))


def _units(session: Session) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    rows = session.execute(select(Unit.lon, Unit.lat).where(Unit.status == "active")).all()
    return np.array([r[0] for r in rows], dtype=np.float64), np.array([r[1] for r in rows], dtype=np.float64)


def _unit_count(session: Session, district_id: int | None) -> int:
    stmt = select(func.count(Unit.id)).where(Unit.status == "active")
    if district_id is not None:
        stmt = stmt.where(Unit.district_id == district_id)
    return int(session.scalar(stmt) or 0)


def roster_responders(
    session: Session, when: datetime, tz: ZoneInfo
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return the positions (their unit's site) of members rostered on a shift running at ``when``."""
    running = running_rostered_shifts(session, None, when, tz)
    seen: dict[int, int] = {}
    for shift, _start, _end, members in running:
        for m in members:
            seen.setdefault(m, shift.unit_id)
    if not seen:
        return np.zeros(0), np.zeros(0)
    where = {
        r.id: (r.lon, r.lat)
        for r in session.execute(select(Unit.id, Unit.lon, Unit.lat).where(Unit.id.in_(set(seen.values()))))
    }
    sites = np.array([where[u] for u in seen.values()], dtype=np.float64).reshape(-1, 2)
    return sites[:, 0].copy(), sites[:, 1].copy()


def live_responders(tracker: LiveTracker) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return the live positions of every member on duty now."""
    placed = list(tracker.snapshot().values())
    return (np.array([p.lon for p in placed], dtype=np.float64), np.array([p.lat for p in placed], dtype=np.float64))


def demand_weights(
    session: Session, settings: Settings, cells: HexCells, weighting: Weighting, now: datetime | None = None
) -> NDArray[np.float64]:
    """Return the demand weight of each cell: its area, last year's incidents, or population from a CSV file.

    Raises InvalidInput when the chosen source has no data (no incidents, no population file).
    """
    if weighting == "uniform":
        return cells.area_km2
    if weighting == "incidents":
        since = (now or utcnow()) - timedelta(days=365)
        rows = session.execute(select(Incident.lon, Incident.lat).where(Incident.reported_at >= since)).all()
        w = aggregate_points(cells, np.array([r[0] for r in rows]), np.array([r[1] for r in rows]))
        if w.sum() <= 0:
            raise InvalidInput("no incidents in the last 365 days to weight demand by")
        return w
    return population_weights(settings.population_csv, cells)


def population_weights(path: Path | None, cells: HexCells) -> NDArray[np.float64]:
    """Return population per cell summed from a CSV of lon,lat,population rows (header required).

    Raises InvalidInput when no file is configured or it cannot be read.
    """
    if path is None:
        raise InvalidInput("no population file configured (JIEFANG_POPULATION_CSV)")
    try:
        with Path(path).open(encoding="utf-8", newline="") as fh:
            rows = [(float(r["lon"]), float(r["lat"]), float(r["population"])) for r in csv.DictReader(fh)]
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise InvalidInput(f"population file {path}: expected columns lon,lat,population ({exc})") from exc
    arr = np.array(rows, dtype=np.float64).reshape(-1, 3)
    return aggregate_points(cells, arr[:, 0], arr[:, 1], np.clip(arr[:, 2], 0, None))


def scoped_district(who: Principal, district_id: int | None) -> int | None:
    """Return the district ``who`` may look at: their own for operators. Raises Forbidden otherwise."""
    if who.role == CITY_ADMIN:
        return district_id
    if who.role == DISTRICT_OPERATOR:
        if district_id is not None and district_id != who.district_id:
            raise Forbidden("district operators see the analytics of their own district only")
        return who.district_id
    raise Forbidden("analytics are for city admins and district operators")


def moment(settings: Settings, hour: int, on: date | None = None) -> datetime:
    """Return the half hour past ``hour`` (local time) on ``on`` (today), in UTC."""
    tz = ZoneInfo(settings.timezone)
    day = on or datetime.now(tz).date()
    if not 1970 <= day.year <= 2999:
        raise InvalidInput(f"day must lie in 1970..2999, got {day}")
    return datetime.combine(day, time(hour, 30), tzinfo=tz).astimezone(UTC)


def _finite(values: NDArray[np.float64]) -> list[float | None]:
    return [round(float(v), 1) if np.isfinite(v) else None for v in values]


def coverage(
    session: Session,
    settings: Settings,
    cache: CellCache,
    tracker: LiveTracker | None,
    who: Principal,
    *,
    hour: int | None = None,
    on: date | None = None,
    k: int | None = None,
    weighting: Weighting = "uniform",
    district_id: int | None = None,
) -> CoverageOut:
    """Return coverage at ``hour`` from rosters, or live from the on-duty board when ``hour`` is None.

    Raises Forbidden outside the caller's scope, NotFound for an unknown district, InvalidInput for bad input.
    """
    district_id = scoped_district(who, district_id)
    city = cache.get(session)
    k = k or settings.coverage_k
    source: Literal["roster", "live"]
    if hour is None:
        if tracker is None:
            raise InvalidInput("no live picture in this process")
        at, source = utcnow(), "live"
        r_lon, r_lat = live_responders(tracker)
    else:
        at, source = moment(settings, hour, on), "roster"
        r_lon, r_lat = roster_responders(session, at, ZoneInfo(settings.timezone))
    u_lon, u_lat = _units(session)
    cells = city.cells
    weights = demand_weights(session, settings, cells, weighting)
    times = coverage_times(settings, cache)
    result = measure(times, cells.lon, cells.lat, cells.area_km2, weights, u_lon, u_lat, r_lon, r_lat, k)
    if district_id is None:
        keep = np.ones(len(cells), dtype=bool)
        groups, group_of, grid_keep = city.districts, city.district_of, np.ones(city.grid_lon.size, dtype=bool)
    else:
        d = city.district_index(district_id)
        keep = city.district_of == d
        groups, group_of = city.streets, city.street_of
        grid_keep = city.grid_district == d
    scoped = _scoped(
        times, result, cells, weights, keep, r_lon, r_lat, k, city.grid_lon[grid_keep], city.grid_lat[grid_keep]
    )
    areas = _area_rows(result, cells, weights, groups, np.where(keep, group_of, -1))
    out = CoverageOut(
        source=source,
        at=at,
        hour=hour,
        k=k,
        mode=settings.coverage_mode,
        weighting=weighting,
        thresholds_s=list(THRESHOLDS_S),
        district_id=district_id,
        responders=int(r_lon.size),
        units=_unit_count(session, district_id),
        cells=int(keep.sum()),
        shares=Shares(
            area=scoped.area_share.tolist(),
            weight=scoped.weight_share.tolist(),
            unit_area=scoped.unit_area_share.tolist(),
        ),
        grid_share=scoped.grid_share.tolist(),
        areas=areas,
    )
    if district_id is not None:
        out.cell_ids = cells.cell[keep].tolist()
        out.unit_s = _finite(result.unit_s[keep])
        out.responder_s = _finite(result.responder_s[keep])
    return out


def _scoped(
    times: TravelTimes,
    whole: Coverage,
    cells: HexCells,
    weights: NDArray[np.float64],
    keep: NDArray[np.bool_],
    r_lon: NDArray[np.float64],
    r_lat: NDArray[np.float64],
    k: int,
    g_lon: NDArray[np.float64],
    g_lat: NDArray[np.float64],
) -> Coverage:
    """Return the shares of the kept cells; their times come from the city-wide run (responders cross borders)."""
    grid_s = times.kth_nearest_s(g_lon, g_lat, r_lon, r_lat, k) if g_lon.size else np.zeros(0)
    return Coverage(
        unit_s=whole.unit_s[keep],
        responder_s=whole.responder_s[keep],
        k=k,
        area_share=shares_within(whole.responder_s[keep], cells.area_km2[keep]),
        weight_share=shares_within(whole.responder_s[keep], weights[keep]),
        unit_area_share=shares_within(whole.unit_s[keep], cells.area_km2[keep]),
        grid_share=shares_within(grid_s, np.ones(grid_s.size)),
    )


def _area_rows(
    result: Coverage, cells: HexCells, weights: NDArray[np.float64], groups: list[AreaRef], group_of: NDArray[np.int64]
) -> list[AreaCoverage]:
    n = len(groups)
    by_weight = shares_by_group(result.responder_s, weights, group_of, n)
    by_unit = shares_by_group(result.unit_s, cells.area_km2, group_of, n)
    inside = group_of >= 0
    uncovered = np.bincount(
        group_of[inside], weights=np.where(result.responder_s[inside] > 180.0, cells.area_km2[inside], 0.0), minlength=n
    )
    present = np.bincount(group_of[inside], minlength=n) > 0
    rows = [
        AreaCoverage(
            id=g.id,
            code=g.code,
            name=g.name,
            name_en=g.name_en,
            area_km2=round(g.area_km2, 2),
            weight_share=by_weight[i].round(4).tolist(),
            unit_area_share=by_unit[i].round(4).tolist(),
            uncovered_km2_3min=round(float(uncovered[i]), 2),
        )
        for i, g in enumerate(groups)
        if present[i]
    ]
    rows.sort(key=lambda r: (r.weight_share[1], -r.uncovered_km2_3min))
    return rows


def district_cells(session: Session, cache: CellCache, who: Principal, district_id: int | None) -> CellsOut:
    """Return the cells of a district with their boundaries. Raises Forbidden/NotFound/InvalidInput."""
    district_id = scoped_district(who, district_id)
    if district_id is None:
        raise InvalidInput("choose a district: the whole city is too many cells to draw")
    city = cache.get(session)
    keep = city.district_of == city.district_index(district_id)
    ids = city.cells.cell[keep].tolist()
    return CellsOut(district_id=district_id, resolution=cache.resolution, cell_ids=ids, boundaries=cell_boundaries(ids))


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
    u_lon, u_lat = _units(session)
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
