"""Map selection (地图圈选): turn a circle, a drawn polygon or chosen areas into a shape, and
count the units and on-duty members inside it within the operator's scope."""

from __future__ import annotations

import json
from collections import Counter

import shapely
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiefang.areas.models import Area
from jiefang.commands.schemas import MAX_LISTED, SelectedMember, SelectionIn, SelectionOut
from jiefang.errors import Forbidden, InvalidInput, NotFound
from jiefang.geo.projection import LocalProjection
from jiefang.geo.validation import parse_polygon
from jiefang.people.access import CITY_ADMIN, DISTRICT_OPERATOR, Principal
from jiefang.tracking.live import LiveTracker
from jiefang.tracking.schemas import NearbyOut
from jiefang.tracking.service import nearby
from jiefang.units.models import Unit

MAX_DRAWN_VERTICES = 5000
CIRCLE_SEGMENTS = 32  # per quarter circle


def operator_district(who: Principal) -> int | None:
    """Return the district an operator selects in (None: the whole city). Raises Forbidden."""
    if who.role == CITY_ADMIN:
        return None
    if who.role == DISTRICT_OPERATOR:
        return who.district_id
    raise Forbidden("map selection and group commands are for city and district operators")


def shape_of(session: Session, who: Principal, sel: SelectionIn) -> BaseGeometry:
    """Return the selection as a WGS84 shape. Raises InvalidInput, NotFound, Forbidden."""
    district = operator_district(who)
    if sel.kind == "circle":
        assert sel.center_lon is not None and sel.center_lat is not None and sel.radius_m is not None
        proj = LocalProjection(sel.center_lon, sel.center_lat)
        disc = shapely.Point(0.0, 0.0).buffer(sel.radius_m, quad_segs=CIRCLE_SEGMENTS)
        return proj.geometry_to_lonlat(disc)
    if sel.kind == "polygon":
        assert sel.polygon is not None
        shape = parse_polygon(sel.polygon, "polygon")
        n = shapely.get_num_coordinates(shape)
        if n > MAX_DRAWN_VERTICES:
            raise InvalidInput(f"polygon: {n} vertices, more than the limit of {MAX_DRAWN_VERTICES}")
        return shape
    areas = session.scalars(select(Area).where(Area.id.in_(sel.area_ids))).all()
    missing = sorted(set(sel.area_ids) - {a.id for a in areas})
    if missing:
        raise NotFound(f"areas not found: {', '.join(map(str, missing))}")
    for area in areas:
        if district is not None and district not in (area.id, area.district_id):
            raise Forbidden(f"area {area.id} ({area.name}) is outside your district")
    return shapely.union_all([parse_polygon(json.loads(a.geometry), f"area {a.id}") for a in areas])


def units_inside(session: Session, shape: BaseGeometry, district: int | None) -> list[Unit]:
    """Return the active units whose site lies inside the shape (and the district, if given)."""
    min_lon, min_lat, max_lon, max_lat = shape.bounds
    stmt = select(Unit).where(Unit.status == "active", Unit.lon.between(min_lon, max_lon),
                              Unit.lat.between(min_lat, max_lat)).order_by(Unit.id)
    if district is not None:
        stmt = stmt.where(Unit.district_id == district)
    near = session.scalars(stmt).all()
    inside = shapely.intersects_xy(shape, [u.lon for u in near], [u.lat for u in near])
    return [u for u, ok in zip(near, inside.tolist(), strict=True) if ok]


def members_inside(session: Session, tracker: LiveTracker, who: Principal, shape: BaseGeometry,
                   skills: list[str]) -> list[NearbyOut]:
    """Return the members on duty inside the shape now, in the operator's scope, nearest its centre first."""
    return nearby(session, tracker, who, 0.0, 0.0, polygon=mapping(shape), skills=skills)


def preview(session: Session, tracker: LiveTracker, who: Principal, sel: SelectionIn) -> SelectionOut:
    """Return what the selection holds. Raises InvalidInput, NotFound, Forbidden."""
    shape = shape_of(session, who, sel)
    units = units_inside(session, shape, operator_district(who))
    members = members_inside(session, tracker, who, shape, sel.skills)
    skills = Counter(s for m in members for s in m.skills)
    c_lon, c_lat = shapely.get_coordinates(shape.centroid)[0].tolist()
    return SelectionOut(
        area_km2=round(LocalProjection(c_lon, c_lat).area_km2(shape), 4),
        units=len(units),
        units_by_category=dict(Counter(u.category for u in units).most_common()),
        unit_ids=[u.id for u in units[:MAX_LISTED]],
        members=len(members),
        members_by_skill=dict(skills.most_common()),
        member_list=[SelectedMember(member_id=m.member_id, name=m.name, unit_id=m.unit_id, unit_name=m.unit_name,
                                    skills=m.skills, lon=m.lon, lat=m.lat) for m in members[:MAX_LISTED]],
    )
