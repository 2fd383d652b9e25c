"""City-wide counts and the map's configuration."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import func, select

from jiefang.api.deps import PrincipalDep, SessionDep, SettingsDep
from jiefang.areas.service import stats as area_stats
from jiefang.geo.travel import TravelModel
from jiefang.people.models import Member
from jiefang.units.models import Unit

router = APIRouter(prefix="/api", tags=["overview"])


@router.get("/stats")
def stats(session: SessionDep, _who: PrincipalDep) -> dict[str, int]:
    """Counts of districts, streets, grids, police grids, units and members."""
    areas = area_stats(session)
    return {
        "districts": areas["district"],
        "streets": areas["street"],
        "grids": areas["grid"],
        "police_grids": areas["police_grid"],
        "units": session.scalar(select(func.count()).select_from(Unit)) or 0,
        "members": session.scalar(select(func.count()).select_from(Member)) or 0,
    }


RING_SECONDS = (60, 180, 300)
RING_MODE = "e_bike"


@router.get("/map/config")
def map_config(settings: SettingsDep, _who: PrincipalDep) -> dict[str, Any]:
    """Base map settings: tiles only if an operator configured a tile server; how far a responder
    on an e-bike gets along streets in 1, 3 and 5 minutes (the rings around an incident)."""
    travel = TravelModel()
    reach = {str(s): round(travel.reach_m(s, RING_MODE)) for s in RING_SECONDS}
    return {"tile_url": settings.tile_url, "attribution": settings.tile_attribution, "reach_m": reach,
            "reach_mode": RING_MODE}
