"""Electronic fences (电子围栏) in the database: draw, list, retire, and their event history.

Operators draw fences (district operators inside their own district); unit leaders may draw
patrol zones for their own unit's teams. Every change is pushed to the live tracker at once.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

import shapely
from shapely.geometry import mapping
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jiefang.areas.models import Area
from jiefang.areas.service import locate_level
from jiefang.errors import Forbidden, InvalidInput, NotFound
from jiefang.events import Event, EventBus
from jiefang.geo.validation import parse_polygon
from jiefang.people.access import CITY_ADMIN, DISTRICT_OPERATOR, UNIT_LEADER, Principal
from jiefang.tracking.fences import Fence as FenceShape
from jiefang.tracking.live import LiveTracker
from jiefang.tracking.models import Fence, FenceEvent
from jiefang.tracking.schemas import MAX_FENCE_VERTICES, FenceEventOut, FenceIn, FenceOut, kind_label
from jiefang.units.models import Team, Unit

log = logging.getLogger(__name__)


def fence_shape(row: Fence) -> FenceShape:
    """Return the engine's fence for a stored fence row. Raises InvalidInput if it is broken."""
    if row.geometry is not None:
        return FenceShape(row.id, row.kind, polygon=parse_polygon(json.loads(row.geometry)), team_id=row.team_id,
                          leave_after_s=row.leave_after_s)
    assert row.center_lon is not None and row.center_lat is not None
    return FenceShape(row.id, row.kind, center=(row.center_lon, row.center_lat), radius_m=row.radius_m,
                      team_id=row.team_id, leave_after_s=row.leave_after_s)


def _unit_of(session: Session, row: Fence) -> int | None:
    """Return the unit whose team patrols a patrol zone (None for other fences)."""
    return None if row.team_id is None else session.scalar(select(Team.unit_id).where(Team.id == row.team_id))


def active_fences(session: Session) -> list[tuple[FenceShape, int | None, int | None]]:
    """Return (engine fence, district, unit) of every active stored fence; a broken one is logged
    and skipped."""
    out = []
    for row in session.scalars(select(Fence).where(Fence.active.is_(True)).order_by(Fence.id)):
        try:
            out.append((fence_shape(row), row.district_id, _unit_of(session, row)))
        except InvalidInput:
            log.exception("stored fence %s is not valid; skipped", row.id)
    return out


def follow_fences(bus: EventBus, tracker: LiveTracker, sessions: sessionmaker[Session]) -> None:
    """Keep this worker's fences in step with fences drawn or retired through other workers (this
    worker's own changes reach its tracker in ``create_fence`` and ``retire_fence``)."""

    def on_event(event: Event) -> None:
        if event["type"] == "fence.created":
            with sessions() as session:
                row = session.get(Fence, event["fence"]["id"])
                if row is not None and row.active:
                    tracker.set_fence(fence_shape(row), row.district_id, _unit_of(session, row))
        elif event["type"] == "fence.retired":
            tracker.drop_fence(event["fence_id"])

    bus.subscribe(on_event, local=False, remote=True)


def fence_out(row: Fence) -> FenceOut:
    return FenceOut(
        id=row.id, name=row.name, kind=row.kind, kind_label=kind_label(row.kind),
        polygon=json.loads(row.geometry) if row.geometry else None, center_lon=row.center_lon,
        center_lat=row.center_lat, radius_m=row.radius_m, team_id=row.team_id, district_id=row.district_id,
        leave_after_s=row.leave_after_s, active=row.active, created_at=row.created_at,
    )


def _check_scope(session: Session, who: Principal, data: FenceIn) -> int | None:
    """Return the fence's district after checking the caller may draw it there. Raises Forbidden, NotFound."""
    district_id = data.district_id
    if data.team_id is not None:
        team = session.get(Team, data.team_id)
        if team is None:
            raise NotFound(f"team {data.team_id} not found")
        unit = session.get_one(Unit, team.unit_id)
        if district_id not in (None, unit.district_id):
            raise InvalidInput("a patrol zone lies in its team's district")
        district_id = unit.district_id
        if who.role == UNIT_LEADER and who.unit_id == unit.id:
            return district_id
    if who.role == CITY_ADMIN:
        if district_id is not None:
            district = session.get(Area, district_id)
            if district is None or district.level != "district":
                raise NotFound(f"district {district_id} not found")
        return district_id
    if who.role == DISTRICT_OPERATOR:
        if district_id not in (None, who.district_id):
            raise Forbidden("district operators draw fences in their own district")
        return who.district_id
    raise Forbidden("fences are drawn by operators, and patrol zones of a unit's teams by its leader")


def create_fence(session: Session, tracker: LiveTracker, bus: EventBus, who: Principal, data: FenceIn) -> FenceOut:
    """Draw a fence and start evaluating it. Raises Forbidden, NotFound, InvalidInput."""
    district_id = _check_scope(session, who, data)
    geometry = None
    if data.polygon is not None:
        shape = parse_polygon(data.polygon, "polygon")
        if shapely.get_num_coordinates(shape) > MAX_FENCE_VERTICES:
            raise InvalidInput(f"polygon: more than {MAX_FENCE_VERTICES} vertices")
        geometry = json.dumps(mapping(shape))
        centre = shape.representative_point()
        lon, lat = centre.x, centre.y
    else:
        lon, lat = float(data.center_lon or 0), float(data.center_lat or 0)
    if district_id is None:  # a city-wide operator's fence belongs to the district it lies in
        district = locate_level(session, "district", lon, lat)
        district_id = district.id if district else None
    row = Fence(name=data.name, kind=data.kind, geometry=geometry, center_lon=data.center_lon,
                center_lat=data.center_lat, radius_m=data.radius_m, team_id=data.team_id, district_id=district_id,
                leave_after_s=data.leave_after_s, active=True, created_by=who.account_id or None)
    session.add(row)
    session.flush()
    shape_ = fence_shape(row)  # the engine's own checks, before anything is committed
    session.commit()
    unit_id = _unit_of(session, row)
    tracker.set_fence(shape_, district_id, unit_id)
    out = fence_out(row)
    bus.publish("fence.created", fence=out.model_dump(mode="json"), district_id=district_id, unit_id=unit_id)
    return out


def _visible(who: Principal) -> object:
    if who.role == CITY_ADMIN:
        return True
    if who.role == DISTRICT_OPERATOR:
        return Fence.district_id == who.district_id
    if who.role == UNIT_LEADER:
        return Fence.team_id.in_(select(Team.id).where(Team.unit_id == who.unit_id))
    raise Forbidden("fences are for operators and unit leaders")


def list_fences(session: Session, who: Principal, include_retired: bool = False) -> list[FenceOut]:
    """Return the fences the caller may see. Raises Forbidden for members."""
    stmt = select(Fence).where(_visible(who)).order_by(Fence.id)  # type: ignore[arg-type]
    if not include_retired:
        stmt = stmt.where(Fence.active.is_(True))
    return [fence_out(r) for r in session.scalars(stmt)]


def retire_fence(session: Session, tracker: LiveTracker, bus: EventBus, who: Principal, fence_id: int) -> FenceOut:
    """Stop evaluating a fence; its history stays. Raises NotFound, Forbidden."""
    row = session.scalar(select(Fence).where(Fence.id == fence_id, _visible(who)))  # type: ignore[arg-type]
    if row is None:
        raise NotFound(f"fence {fence_id} not found")
    if who.role == UNIT_LEADER and row.kind != "patrol_zone":
        raise Forbidden("unit leaders change their teams' patrol zones only")
    row.active = False
    session.commit()
    tracker.drop_fence(row.id)
    bus.publish("fence.retired", fence_id=row.id, district_id=row.district_id, unit_id=_unit_of(session, row))
    return fence_out(row)


def fence_events(session: Session, who: Principal, fence_id: int | None, since: datetime | None,
                 limit: int) -> list[FenceEventOut]:
    """Return enter/leave/absence events of visible fences, newest first. Raises Forbidden."""
    stmt = (select(FenceEvent).join(Fence, Fence.id == FenceEvent.fence_id)
            .where(_visible(who)).order_by(FenceEvent.at.desc(), FenceEvent.id.desc()).limit(limit))  # type: ignore[arg-type]
    if fence_id is not None:
        stmt = stmt.where(FenceEvent.fence_id == fence_id)
    if since is not None:
        stmt = stmt.where(FenceEvent.at >= since)
    return [FenceEventOut.model_validate(e) for e in session.scalars(stmt)]
