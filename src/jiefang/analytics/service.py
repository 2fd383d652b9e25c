"""Coverage over the database: units, rosters, the live board and demand weights in, schemas out.

The numeric work is done by the pure cores (``coverage``, ``roads``); the cells come from ``cells``.
"""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiefang.analytics.cells import AreaRef, CellCache
from jiefang.analytics.coverage import (
    THRESHOLDS_S,
    Coverage,
    StraightLineTimes,
    TravelTimes,
    measure,
    shares_by_group,
    shares_within,
)
from jiefang.analytics.hexgrid import HexCells, aggregate_points, cell_boundaries
from jiefang.analytics.roads import RoadTimes
from jiefang.analytics.schemas import AreaCoverage, CellsOut, CoverageOut, Shares, Weighting
from jiefang.config import Settings
from jiefang.db import utcnow
from jiefang.duty.rosters import running_rostered_shifts
from jiefang.errors import Forbidden, InvalidInput
from jiefang.geo.travel import TravelModel
from jiefang.incidents.models import Incident
from jiefang.people.access import CITY_ADMIN, DISTRICT_OPERATOR, Principal
from jiefang.tracking.live import LiveTracker
from jiefang.units.models import Unit


def travel_times(settings: Settings) -> StraightLineTimes:
    """Return the default travel model of coverage: straight line × circuity ÷ speed of the configured mode."""
    return StraightLineTimes(TravelModel(), mode=settings.coverage_mode)


def coverage_times(settings: Settings, cache: CellCache) -> TravelTimes:
    """Return the road-network model when a road graph is configured (``jiefang import roads``), else the default."""
    if settings.road_graph is None:
        return travel_times(settings)
    return RoadTimes(cache.road_graph(settings.road_graph), TravelModel().speed_mps(settings.coverage_mode))


def unit_sites(session: Session) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
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
        rows = session.execute(
            select(Incident.lon, Incident.lat).where(Incident.reported_at >= since, Incident.drill.is_(False))
        ).all()
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
    u_lon, u_lat = unit_sites(session)
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
