"""HTTP routes for live positions, nearby queries, tracks and electronic fences."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field

from jiefang.api.deps import (
    OPERATORS_ONLY,
    STAFF_ONLY,
    BusDep,
    IdPath,
    IdQuery,
    PrincipalDep,
    SessionDep,
    TrackerDep,
    require_roles,
)
from jiefang.duty.schemas import Lat, Lon
from jiefang.errors import InvalidInput
from jiefang.people.access import CITY_ADMIN, MEMBER, UNIT_LEADER
from jiefang.schemas import DbId
from jiefang.tracking import fencing, service
from jiefang.tracking.schemas import (
    FenceEventOut,
    FenceIn,
    FenceOut,
    FixBatchIn,
    FixIn,
    IngestOut,
    LivePositionsOut,
    NearbyOut,
    TrackPointOut,
)

router = APIRouter(prefix="/api", tags=["tracking"])
NameList = Annotated[list[str] | None, Query(max_length=20)]
# members and leaders send their own positions; a city admin account is a radio/position gateway
SENDERS = require_roles(MEMBER, UNIT_LEADER, CITY_ADMIN)


@router.post("/positions", response_model=IngestOut, dependencies=[SENDERS])
def post_position(session: SessionDep, tracker: TrackerDep, bus: BusDep, who: PrincipalDep, fix: FixIn) -> IngestOut:
    """Send one position fix while on duty."""
    return service.ingest_fixes(session, tracker, bus, who, [fix])


@router.post("/positions/batch", response_model=IngestOut, dependencies=[SENDERS])
def post_positions(
    session: SessionDep, tracker: TrackerDep, bus: BusDep, who: PrincipalDep, batch: FixBatchIn
) -> IngestOut:
    """Send buffered fixes (a member's own), or many members' fixes (a position gateway, city admin)."""
    return service.ingest_fixes(session, tracker, bus, who, batch.fixes)


@router.get("/positions/live", response_model=LivePositionsOut)
def live_positions(tracker: TrackerDep, who: PrincipalDep) -> dict[str, list[Any]]:
    """Members on duty and where they are now (operators; district operators see their district)."""
    return service.live_positions(tracker, who)


@router.get("/positions/nearby", response_model=list[NearbyOut])
def nearby(
    session: SessionDep, tracker: TrackerDep, who: PrincipalDep, lon: Lon, lat: Lat,
    k: Annotated[int, Query(ge=1, le=500)] = 20,
    radius_m: Annotated[float | None, Query(gt=0, le=50_000)] = None,
    skill: NameList = None, equipment: NameList = None, role: NameList = None,
    team_id: IdQuery = None, unit_id: IdQuery = None,
) -> list[NearbyOut]:
    """The k members on duty nearest a point (or all within radius_m), with ETA; filters combine."""
    return service.nearby(session, tracker, who, lon, lat, k=k, radius_m=radius_m, skills=skill,
                          equipment=equipment, roles=role, team_id=team_id, unit_id=unit_id)


class AreaQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    polygon: dict[str, Any] = Field(description="GeoJSON Polygon or MultiPolygon, WGS84")
    skills: list[str] = Field(default_factory=list, max_length=20)
    equipment: list[str] = Field(default_factory=list, max_length=20)
    roles: list[str] = Field(default_factory=list, max_length=20)
    team_id: DbId | None = None
    unit_id: DbId | None = None


@router.post("/positions/within", response_model=list[NearbyOut], dependencies=[OPERATORS_ONLY])
def within(session: SessionDep, tracker: TrackerDep, who: PrincipalDep, query: AreaQuery) -> list[NearbyOut]:
    """Everyone on duty inside a drawn polygon (地图圈选), nearest its centre first."""
    return service.nearby(session, tracker, who, 0.0, 0.0, polygon=query.polygon, skills=query.skills,
                          equipment=query.equipment, roles=query.roles, team_id=query.team_id,
                          unit_id=query.unit_id)


@router.get("/members/{member_id}/track", response_model=list[TrackPointOut])
def member_track(
    session: SessionDep, who: PrincipalDep, member_id: IdPath,
    since: datetime | None = None, until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=20_000)] = 5000,
) -> list[TrackPointOut]:
    """A member's kept track for after-action review (default: the last 24 hours)."""
    until = until or datetime.now(UTC)
    if since is None:
        if until.year < 2:
            raise InvalidInput("until: no track ends before the year 1")
        since = until - timedelta(days=1)
    points = service.member_track(session, who, member_id, _aware(since), _aware(until), limit)
    return [TrackPointOut.model_validate(p) for p in points]


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)


@router.get("/fences", response_model=list[FenceOut])
def list_fences(session: SessionDep, who: PrincipalDep, include_retired: bool = False) -> list[FenceOut]:
    """The fences you may see (operators: their area; unit leaders: their teams' patrol zones)."""
    return fencing.list_fences(session, who, include_retired)


@router.post("/fences", response_model=FenceOut, status_code=status.HTTP_201_CREATED, dependencies=[STAFF_ONLY])
def create_fence(session: SessionDep, tracker: TrackerDep, bus: BusDep, who: PrincipalDep, data: FenceIn) -> FenceOut:
    """Draw a fence: a patrol zone for a team, a sensitive area, or an incident perimeter."""
    return fencing.create_fence(session, tracker, bus, who, data)


@router.delete("/fences/{fence_id}", response_model=FenceOut)
def retire_fence(
    session: SessionDep, tracker: TrackerDep, bus: BusDep, who: PrincipalDep, fence_id: IdPath
) -> FenceOut:
    """Retire a fence: it stops raising events; its history stays."""
    return fencing.retire_fence(session, tracker, bus, who, fence_id)


@router.get("/fence-events", response_model=list[FenceEventOut])
def fence_events(
    session: SessionDep, who: PrincipalDep, fence_id: IdQuery = None, since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[FenceEventOut]:
    """Enter, leave and patrol-absence events of the fences you may see, newest first."""
    return fencing.fence_events(session, who, fence_id, _aware(since) if since else None, limit)
