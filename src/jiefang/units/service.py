"""Units: listing and map points, detail, create/update with area assignment, teams."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from jiefang.areas.models import Area
from jiefang.areas.schemas import AreaRef
from jiefang.areas.service import locate
from jiefang.errors import Conflict, Forbidden, InvalidInput, NotFound
from jiefang.pagination import paginate
from jiefang.people.access import Principal, can_manage_unit, can_see_member_pii, mask_phone
from jiefang.people.models import Member
from jiefang.schemas import BBox, Page, PageParams
from jiefang.units.models import Team, Unit, UnitEquipment
from jiefang.units.schemas import (
    EquipmentOut,
    LeaderOut,
    TeamIn,
    TeamOut,
    UnitCreate,
    UnitDetail,
    UnitOut,
    UnitUpdate,
)

POINT_FIELDS = ("id", "lon", "lat", "category", "status", "name")


def filtered_units(
    district_id: int | None = None,
    street_id: int | None = None,
    grid_id: int | None = None,
    category: str | None = None,
    status: str | None = None,
    bbox: BBox | None = None,
    q: str | None = None,
) -> Select[Unit]:
    """Return a SELECT of units matching every given filter."""
    stmt = select(Unit)
    for column, value in (
        (Unit.district_id, district_id),
        (Unit.street_id, street_id),
        (Unit.grid_id, grid_id),
        (Unit.category, category),
        (Unit.status, status),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if bbox is not None:
        stmt = stmt.where(
            Unit.lon.between(bbox.min_lon, bbox.max_lon), Unit.lat.between(bbox.min_lat, bbox.max_lat)
        )
    if q:
        stmt = stmt.where(Unit.name.contains(q) | Unit.code.startswith(q))
    return stmt


def list_units(session: Session, page: PageParams, **filters: Any) -> Page[UnitOut]:
    """Return one page of units matching ``filters`` (see filtered_units), ordered by code."""
    return paginate(session, filtered_units(**filters), page, [Unit.code], UnitOut.model_validate)


def unit_points(session: Session, district_id: int | None = None) -> dict[str, Any]:
    """Return every unit as a compact row for the map: fields and rows of values."""
    stmt = select(Unit.id, Unit.lon, Unit.lat, Unit.category, Unit.status, Unit.name)
    if district_id is not None:
        stmt = stmt.where(Unit.district_id == district_id)
    rows = [list(r) for r in session.execute(stmt.order_by(Unit.id))]
    return {"fields": list(POINT_FIELDS), "rows": rows}


def get_unit(session: Session, unit_id: int) -> Unit:
    """Return the unit with ``unit_id``; raises NotFound."""
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise NotFound(f"unit {unit_id} not found")
    return unit


def unit_detail(session: Session, who: Principal, unit_id: int) -> UnitDetail:
    """Return a unit with areas, leader (phone masked unless ``who`` may call), teams, equipment."""
    unit = session.scalar(
        select(Unit)
        .where(Unit.id == unit_id)
        .options(selectinload(Unit.teams), selectinload(Unit.equipment))
    )
    if unit is None:
        raise NotFound(f"unit {unit_id} not found")
    area_ids = [i for i in (unit.district_id, unit.street_id, unit.grid_id, unit.police_grid_id) if i]
    areas = {a.id: AreaRef.model_validate(a) for a in session.scalars(select(Area).where(Area.id.in_(area_ids)))}
    team_counts = dict(
        session.execute(
            select(Member.team_id, func.count()).where(Member.unit_id == unit.id).group_by(Member.team_id)
        ).all()
    )
    leader = session.get(Member, unit.leader_member_id) if unit.leader_member_id else None
    leader_out = None
    if leader is not None:
        full = can_see_member_pii(who, leader.id, unit.id, unit.district_id)
        leader_out = LeaderOut(id=leader.id, name=leader.name, phone=leader.phone if full else mask_phone(leader.phone))
    return UnitDetail(
        id=unit.id,
        code=unit.code,
        name=unit.name,
        category=unit.category,
        status=unit.status,
        lon=unit.lon,
        lat=unit.lat,
        address=unit.address,
        district=areas[unit.district_id],
        street=areas.get(unit.street_id) if unit.street_id else None,
        grid=areas.get(unit.grid_id) if unit.grid_id else None,
        police_grid=areas.get(unit.police_grid_id) if unit.police_grid_id else None,
        leader=leader_out,
        teams=[TeamOut(id=t.id, name=t.name, member_count=team_counts.get(t.id, 0)) for t in unit.teams],
        equipment=[EquipmentOut(kind=e.kind, quantity=e.quantity) for e in unit.equipment],
        member_count=sum(team_counts.values()),
    )


Locator = Callable[[float, float], dict[str, int | None]]


def _place(session: Session, unit: Unit, lon: float, lat: float, locator: Locator | None) -> None:
    found = locator(lon, lat) if locator else locate(session, lon, lat)
    if found["district"] is None:
        raise InvalidInput(f"location ({lon}, {lat}) is outside every registered district")
    unit.lon, unit.lat = lon, lat
    unit.district_id = found["district"]
    unit.street_id = found["street"]
    unit.grid_id = found["grid"]
    unit.police_grid_id = found["police_grid"]


def _require_manage(who: Principal, unit: Unit) -> None:
    if not can_manage_unit(who, unit.id, unit.district_id):
        raise Forbidden(f"your role ({who.role}) may not change unit {unit.code}")


def _set_equipment(unit: Unit, equipment: dict[str, int]) -> None:
    unit.equipment = [UnitEquipment(kind=k, quantity=q) for k, q in sorted(equipment.items()) if q > 0]


def create_unit(
    session: Session, who: Principal, data: UnitCreate, commit: bool = True, locator: Locator | None = None
) -> Unit:
    """Create a unit placed in the district/street/grids containing its location.

    Raises Forbidden outside the caller's district, InvalidInput outside every district,
    Conflict if the code exists.
    """
    if who.role not in ("city_admin", "district_operator"):
        raise Forbidden("only city administrators and district operators create units")
    unit = Unit(code=data.code, name=data.name, category=data.category, status=data.status,
                address=data.address)
    _place(session, unit, data.lon, data.lat, locator)
    _require_manage(who, unit)
    unit.teams = [Team(name=n) for n in data.teams]
    _set_equipment(unit, data.equipment)
    session.add(unit)
    _save(session, f"unit code {data.code} already exists", commit)
    return unit


def update_unit(
    session: Session,
    who: Principal,
    unit_id: int,
    data: UnitUpdate,
    commit: bool = True,
    locator: Locator | None = None,
) -> Unit:
    """Apply the given fields to a unit; moving it re-assigns its areas.

    ``locator`` places many units quickly (an AreaLocator) during imports.
    Raises NotFound, Forbidden (also when a move would leave the caller's district),
    InvalidInput for a leader who is not a member of the unit.
    """
    unit = get_unit(session, unit_id)
    _require_manage(who, unit)
    fields = data.model_dump(exclude_unset=True)
    if ("lon" in fields) != ("lat" in fields):
        raise InvalidInput("lon and lat must be changed together")
    if "lon" in fields:
        _place(session, unit, fields["lon"], fields["lat"], locator)
        _require_manage(who, unit)
    if "leader_member_id" in fields and fields["leader_member_id"] is not None:
        leader = session.get(Member, fields["leader_member_id"])
        if leader is None or leader.unit_id != unit.id:
            raise InvalidInput(f"member {fields['leader_member_id']} is not a member of this unit")
    for key in ("name", "category", "status", "address", "leader_member_id"):
        if key in fields:
            setattr(unit, key, fields[key])
    if data.equipment is not None:
        _set_equipment(unit, data.equipment)
    _save(session, "conflicting change", commit)
    return unit


def add_team(session: Session, who: Principal, unit_id: int, data: TeamIn) -> Team:
    """Add a team to a unit; raises NotFound, Forbidden."""
    unit = get_unit(session, unit_id)
    _require_manage(who, unit)
    team = Team(unit_id=unit.id, name=data.name)
    session.add(team)
    _save(session, "conflicting change")
    return team


def get_team(session: Session, who: Principal, team_id: int) -> Team:
    """Return a team the caller may manage; raises NotFound, Forbidden."""
    team = session.get(Team, team_id)
    if team is None:
        raise NotFound(f"team {team_id} not found")
    _require_manage(who, get_unit(session, team.unit_id))
    return team


def rename_team(session: Session, who: Principal, team_id: int, data: TeamIn) -> Team:
    """Rename a team; raises NotFound, Forbidden."""
    team = get_team(session, who, team_id)
    team.name = data.name
    _save(session, "conflicting change")
    return team


def delete_team(session: Session, who: Principal, team_id: int) -> None:
    """Delete a team; its members stay in the unit without a team. Raises NotFound, Forbidden."""
    session.delete(get_team(session, who, team_id))
    _save(session, "conflicting change")


def _save(session: Session, conflict_message: str, commit: bool = True) -> None:
    """Commit (or only flush, inside a larger transaction); an integrity error becomes Conflict."""
    try:
        if commit:
            session.commit()
        else:
            session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(conflict_message) from exc
