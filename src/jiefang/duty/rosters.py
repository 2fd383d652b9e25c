"""Shifts of units and teams, and the roster of who serves them; leaders edit, members read theirs."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jiefang.duty.models import RosterAssignment, Shift
from jiefang.duty.schemas import MyShiftOut, RosterIn, RosterOut, ShiftIn, ShiftOut
from jiefang.duty.windows import ShiftTimes, running_window, weekdays_list, weekdays_mask, window_on
from jiefang.errors import Conflict, Forbidden, InvalidInput, NotFound
from jiefang.people.access import Principal, can_manage_unit
from jiefang.people.models import Member
from jiefang.units.models import Team, Unit


def shift_times(shift: Shift) -> ShiftTimes:
    """Return the pure timing of a stored shift."""
    return ShiftTimes(shift.start_time, shift.end_time, shift.weekdays)


def shift_out(shift: Shift) -> ShiftOut:
    """Return the response shape of a shift."""
    return ShiftOut(
        id=shift.id,
        unit_id=shift.unit_id,
        team_id=shift.team_id,
        name=shift.name,
        start_time=shift.start_time,
        end_time=shift.end_time,
        weekdays=weekdays_list(shift.weekdays),
        min_on_duty=shift.min_on_duty,
    )


def _managed_unit(session: Session, who: Principal, unit_id: int) -> Unit:
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise NotFound(f"unit {unit_id} not found")
    if not can_manage_unit(who, unit.id, unit.district_id):
        raise Forbidden(f"your role ({who.role}) may not change the rosters of unit {unit.code}")
    return unit


def create_shift(session: Session, who: Principal, unit_id: int, data: ShiftIn) -> ShiftOut:
    """Add a shift to a unit (optionally for one team); raises NotFound, Forbidden, InvalidInput."""
    unit = _managed_unit(session, who, unit_id)
    if data.team_id is not None:
        team = session.get(Team, data.team_id)
        if team is None or team.unit_id != unit.id:
            raise InvalidInput(f"team {data.team_id} is not a team of unit {unit.id}")
    shift = Shift(
        unit_id=unit.id,
        team_id=data.team_id,
        name=data.name,
        start_time=data.start_time,
        end_time=data.end_time,
        weekdays=weekdays_mask(data.weekdays),
        min_on_duty=data.min_on_duty,
    )
    session.add(shift)
    session.commit()
    return shift_out(shift)


def list_shifts(session: Session, unit_id: int) -> list[ShiftOut]:
    """Return the shifts of a unit."""
    rows = session.scalars(select(Shift).where(Shift.unit_id == unit_id).order_by(Shift.start_time, Shift.id))
    return [shift_out(s) for s in rows]


def get_shift(session: Session, shift_id: int) -> Shift:
    """Return a shift; raises NotFound."""
    shift = session.get(Shift, shift_id)
    if shift is None:
        raise NotFound(f"shift {shift_id} not found")
    return shift


def delete_shift(session: Session, who: Principal, shift_id: int) -> None:
    """Delete a shift and its roster; raises NotFound, Forbidden."""
    shift = get_shift(session, shift_id)
    _managed_unit(session, who, shift.unit_id)
    session.delete(shift)
    session.commit()


def assign(session: Session, who: Principal, shift_id: int, data: RosterIn) -> RosterOut:
    """Put a member of the shift's unit on its roster; raises NotFound, Forbidden, InvalidInput, Conflict."""
    shift = get_shift(session, shift_id)
    _managed_unit(session, who, shift.unit_id)
    member = session.get(Member, data.member_id)
    if member is None or member.unit_id != shift.unit_id:
        raise InvalidInput(f"member {data.member_id} is not a member of unit {shift.unit_id}")
    entry = RosterAssignment(shift_id=shift.id, member_id=member.id, valid_from=data.valid_from, valid_to=data.valid_to)
    session.add(entry)
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(f"member {member.id} is already on this shift from {data.valid_from}") from exc
    return RosterOut.model_validate(entry)


def roster_of_shift(session: Session, shift_id: int) -> list[RosterOut]:
    """Return every roster entry of a shift."""
    rows = session.scalars(
        select(RosterAssignment).where(RosterAssignment.shift_id == shift_id).order_by(RosterAssignment.member_id)
    )
    return [RosterOut.model_validate(r) for r in rows]


def unassign(session: Session, who: Principal, entry_id: int) -> None:
    """Remove a roster entry; raises NotFound, Forbidden."""
    entry = session.get(RosterAssignment, entry_id)
    if entry is None:
        raise NotFound(f"roster entry {entry_id} not found")
    _managed_unit(session, who, session.get_one(Shift, entry.shift_id).unit_id)
    session.delete(entry)
    session.commit()


def member_shifts(session: Session, member_id: int, now: datetime, tz: ZoneInfo, days: int = 2) -> list[MyShiftOut]:
    """Return the member's rostered shift windows from yesterday to ``days`` ahead, by start."""
    today = now.astimezone(tz).date()
    rows = session.execute(
        select(Shift, RosterAssignment)
        .join(RosterAssignment, RosterAssignment.shift_id == Shift.id)
        .where(RosterAssignment.member_id == member_id)
    ).all()
    out = []
    for shift, entry in rows:
        for offset in range(-1, days + 1):
            day = today + timedelta(days=offset)
            if day < entry.valid_from or (entry.valid_to is not None and day > entry.valid_to):
                continue
            window = window_on(shift_times(shift), day, tz)
            if window and window[1] > now:
                out.append(
                    MyShiftOut(
                        shift_id=shift.id,
                        unit_id=shift.unit_id,
                        name=shift.name,
                        starts_at=window[0],
                        ends_at=window[1],
                    )
                )
    return sorted(out, key=lambda s: s.starts_at)


def running_rostered_shifts(
    session: Session, unit_ids: list[int] | None, now: datetime, tz: ZoneInfo
) -> list[tuple[Shift, datetime, datetime, list[int]]]:
    """Return the shifts running at ``now`` with their window and rostered member ids.

    A roster entry counts if it is valid on the day the running window started (so an
    overnight shift keeps its roster past midnight).
    """
    stmt = select(Shift, RosterAssignment).join(RosterAssignment, RosterAssignment.shift_id == Shift.id)
    if unit_ids is not None:
        stmt = stmt.where(Shift.unit_id.in_(unit_ids))
    running: dict[int, tuple[Shift, datetime, datetime, list[int]]] = {}
    for shift, entry in session.execute(stmt).all():
        window = running_window(shift_times(shift), now, tz)
        if window is None:
            continue
        day = window[0].date()
        if day < entry.valid_from or (entry.valid_to is not None and day > entry.valid_to):
            continue
        running.setdefault(shift.id, (shift, window[0], window[1], []))[3].append(entry.member_id)
    return list(running.values())
