"""HTTP routes of analytics: coverage by hour or live, hex cells, placement, governance index."""

from __future__ import annotations

import threading
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from jiefang.analytics import governance, service, siting
from jiefang.analytics.cells import CellCache
from jiefang.analytics.governance import Level
from jiefang.analytics.schemas import (
    CellsOut,
    CoverageOut,
    IndexHistory,
    IndexOut,
    PlacementIn,
    PlacementOut,
    Weighting,
)
from jiefang.api.deps import DispatcherDep, IdPath, IdQuery, SessionDep, SettingsDep, TrackerDep, require_roles
from jiefang.people.access import CITY_ADMIN, DISTRICT_OPERATOR, Principal

router = APIRouter(prefix="/api/analytics", tags=["analytics"])
Analyst = Annotated[Principal, require_roles(CITY_ADMIN, DISTRICT_OPERATOR)]
_cache_lock = threading.Lock()


def get_cell_cache(request: Request) -> CellCache:
    """Return the process's cell cache, made on first use."""
    with _cache_lock:
        cache = getattr(request.app.state, "cell_cache", None)
        if cache is None:
            cache = request.app.state.cell_cache = CellCache()
        return cache


CacheDep = Annotated[CellCache, Depends(get_cell_cache)]
MONTH = Annotated[str, Query(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM", examples=["2026-10"])]


@router.get("/coverage", response_model=CoverageOut)
def coverage(
    session: SessionDep,
    settings: SettingsDep,
    cache: CacheDep,
    tracker: TrackerDep,
    who: Analyst,
    hour: Annotated[int | None, Query(ge=0, le=23, description="local hour from rosters; live if omitted")] = None,
    on: Annotated[date | None, Query(description="day of the rosters (today if omitted)")] = None,
    k: Annotated[int | None, Query(ge=1, le=20, description="count the k-th nearest responder")] = None,
    weighting: Weighting = "uniform",
    district_id: IdQuery = None,
) -> CoverageOut:
    """1-3-5 coverage of the city (per district) or of a district (per street, with its cells)."""
    return service.coverage(
        session, settings, cache, tracker, who, hour=hour, on=on, k=k, weighting=weighting, district_id=district_id
    )


@router.get("/cells", response_model=CellsOut)
def cells(session: SessionDep, cache: CacheDep, who: Analyst, district_id: IdQuery = None) -> CellsOut:
    """The H3 cells of a district with their boundaries (draw once, colour by coverage)."""
    return service.district_cells(session, cache, who, district_id)


@router.post("/placement", response_model=PlacementOut)
def placement(
    session: SessionDep, settings: SettingsDep, cache: CacheDep, who: Analyst, data: PlacementIn
) -> PlacementOut:
    """Where to build K new units (maximal covering), and the fewest sites for a target share (set covering)."""
    return siting.placement(session, settings, cache, who, data)


@router.get("/index", response_model=IndexOut)
def index(
    session: SessionDep,
    settings: SettingsDep,
    cache: CacheDep,
    d: DispatcherDep,
    who: Analyst,
    month: MONTH,
    level: Level = "district",
) -> IndexOut:
    """The governance index of every district or street for a month, with each score's parts.

    Computed from the data and recorded in the index history (the month's earlier record is replaced).
    District operators get their district and its streets.
    """
    scope = service.scoped_district(who, None)
    return governance.compute_index(session, settings, cache, level, month, d.playbooks, district_id=scope)


@router.get("/index/history/{area_id}", response_model=IndexHistory)
def index_history(session: SessionDep, who: Analyst, area_id: IdPath) -> IndexHistory:
    """The recorded monthly index scores of an area, oldest first."""
    return governance.index_history(session, area_id)
