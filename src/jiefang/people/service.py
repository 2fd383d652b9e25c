"""Members: scoped listing and reading with masking of personal data, create and update."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from jiefang.errors import Forbidden, InvalidInput, NotFound
from jiefang.pagination import paginate
from jiefang.people.access import (
    CITY_ADMIN,
    DISTRICT_OPERATOR,
    Principal,
    can_manage_unit,
    can_see_id_number,
    can_see_member_pii,
    mask_id_number,
    mask_phone,
)
from jiefang.people.models import Member, MemberSkill
from jiefang.people.schemas import MemberCreate, MemberOut, MemberUpdate
from jiefang.schemas import BBox, Page, PageParams
from jiefang.units.models import Team, Unit


def member_out(who: Principal, member: Member, district_id: int, today: date | None = None) -> MemberOut:
    """Return ``member`` as ``who`` may see them (phone, ID and policy masked unless allowed)."""
    today = today or date.today()
    full = can_see_member_pii(who, member.id, member.unit_id, district_id)
    full_id = can_see_id_number(who, member.id, district_id)
    return MemberOut(
        id=member.id,
        unit_id=member.unit_id,
        team_id=member.team_id,
        name=member.name,
        phone=member.phone if full else mask_phone(member.phone),
        id_number=member.id_number if full_id else mask_id_number(member.id_number),
        role=member.role,
        status=member.status,
        skills=[s.skill for s in member.skills],
        insurer=member.insurer,
        insurance_policy_no=member.insurance_policy_no if full else None,
        insurance_expires_on=member.insurance_expires_on,
        insured=bool(member.insurance_expires_on and member.insurance_expires_on >= today),
        pii_masked=not (full and full_id),
    )


def _scope(stmt: Select[Member, int], who: Principal) -> Select[Member, int]:
    if who.role == CITY_ADMIN:
        return stmt
    if who.role == DISTRICT_OPERATOR:
        return stmt.where(Unit.district_id == who.district_id)
    # unit leaders and members see their own unit's roster
    return stmt.where(Member.unit_id == who.unit_id)


def list_members(
    session: Session,
    who: Principal,
    page: PageParams,
    unit_id: int | None = None,
    district_id: int | None = None,
    team_id: int | None = None,
    skill: str | None = None,
    role: str | None = None,
    bbox: BBox | None = None,
    q: str | None = None,
) -> Page[MemberOut]:
    """Return one page of the members ``who`` may see, matching the filters, ordered by id.

    A filter reaching outside the caller's scope raises Forbidden rather than returning nothing.
    """
    if who.role == DISTRICT_OPERATOR and district_id not in (None, who.district_id):
        raise Forbidden("district operators see only their own district's members")
    if who.role not in (CITY_ADMIN, DISTRICT_OPERATOR) and unit_id not in (None, who.unit_id):
        raise Forbidden("you see only your own unit's members")
    stmt = _scope(select(Member, Unit.district_id).join(Unit, Unit.id == Member.unit_id), who)
    for column, value in ((Member.unit_id, unit_id), (Unit.district_id, district_id),
                          (Member.team_id, team_id), (Member.role, role)):
        if value is not None:
            stmt = stmt.where(column == value)
    if skill is not None:
        stmt = stmt.where(Member.id.in_(select(MemberSkill.member_id).where(MemberSkill.skill == skill)))
    if bbox is not None:
        stmt = stmt.where(Unit.lon.between(bbox.min_lon, bbox.max_lon),
                          Unit.lat.between(bbox.min_lat, bbox.max_lat))
    if q:
        stmt = stmt.where(Member.name.contains(q))
    today = date.today()
    return paginate(session, stmt.options(selectinload(Member.skills)), page, [Member.id],
                    lambda row: member_out(who, row[0], row[1], today), whole_rows=True)


def _load(session: Session, member_id: int) -> tuple[Member, Unit]:
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound(f"member {member_id} not found")
    return member, session.get_one(Unit, member.unit_id)


def get_member(session: Session, who: Principal, member_id: int) -> MemberOut:
    """Return one member as ``who`` may see them; raises NotFound, Forbidden outside scope."""
    member, unit = _load(session, member_id)
    in_scope = (
        who.role == CITY_ADMIN
        or (who.role == DISTRICT_OPERATOR and who.district_id == unit.district_id)
        or who.unit_id == unit.id
        or who.member_id == member.id
    )
    if not in_scope:
        raise Forbidden(f"member {member_id} is outside your scope")
    return member_out(who, member, unit.district_id)


def _check_team(session: Session, team_id: int | None, unit_id: int) -> None:
    if team_id is not None:
        team = session.get(Team, team_id)
        if team is None or team.unit_id != unit_id:
            raise InvalidInput(f"team {team_id} is not a team of unit {unit_id}")


def create_member(session: Session, who: Principal, data: MemberCreate) -> MemberOut:
    """Register a member in a unit the caller manages; raises NotFound, Forbidden, InvalidInput."""
    unit = session.get(Unit, data.unit_id)
    if unit is None:
        raise NotFound(f"unit {data.unit_id} not found")
    if not can_manage_unit(who, unit.id, unit.district_id):
        raise Forbidden(f"your role ({who.role}) may not add members to unit {unit.code}")
    _check_team(session, data.team_id, unit.id)
    fields = data.model_dump(exclude={"skills"})
    member = Member(**fields, skills=[MemberSkill(skill=s) for s in sorted(set(data.skills))])
    session.add(member)
    session.commit()
    return member_out(who, member, unit.district_id)


def update_member(session: Session, who: Principal, member_id: int, data: MemberUpdate) -> MemberOut:
    """Change a member of a unit the caller manages; raises NotFound, Forbidden, InvalidInput."""
    member, unit = _load(session, member_id)
    if not can_manage_unit(who, unit.id, unit.district_id):
        raise Forbidden(f"your role ({who.role}) may not change members of unit {unit.code}")
    fields = data.model_dump(exclude_unset=True, exclude={"skills"})
    if "team_id" in fields:
        _check_team(session, fields["team_id"], unit.id)
    for key, value in fields.items():
        setattr(member, key, value)
    if data.skills is not None:
        member.skills = [MemberSkill(skill=s) for s in sorted(set(data.skills))]
    session.commit()
    return member_out(who, member, unit.district_id)
