"""The on-duty board: who is on duty where, counts per unit/grid/street/district/city, empty posts."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiefang.areas.models import Area
from jiefang.duty.models import DutySession
from jiefang.duty.rosters import running_rostered_shifts
from jiefang.duty.schemas import BoardCount, BoardOut, DutySessionOut, EmptyPost
from jiefang.errors import InvalidInput
from jiefang.units.models import Unit

AREA_COLUMN = {"district": Unit.district_id, "street": Unit.street_id, "grid": Unit.grid_id}


def board(session: Session, level: str, district_id: int | None = None) -> BoardOut:
    """Return on-duty counts grouped by ``level`` (city, district, street, grid or unit).

    ``district_id`` narrows the board to one district. Raises InvalidInput for an unknown level.
    """
    open_ = DutySession.checked_out_at.is_(None)
    base = select(func.count(DutySession.id)).join(Unit, Unit.id == DutySession.unit_id).where(open_)
    if district_id is not None:
        base = base.where(Unit.district_id == district_id)
    total = session.scalar(base) or 0
    if level == "city":
        return BoardOut(level="city", total_on_duty=total, counts=[])
    if level == "unit":
        rows = session.execute(
            base.with_only_columns(Unit.id, Unit.code, Unit.name, func.count(DutySession.id))
            .group_by(Unit.id, Unit.code, Unit.name)
            .order_by(func.count(DutySession.id).desc(), Unit.id)
        ).all()
    elif level in AREA_COLUMN:
        column = AREA_COLUMN[level]
        rows = session.execute(
            base.with_only_columns(Area.id, Area.code, Area.name, func.count(DutySession.id))
            .join(Area, Area.id == column)
            .group_by(Area.id, Area.code, Area.name)
            .order_by(Area.code)
        ).all()
    else:
        raise InvalidInput(f"unknown board level {level!r}")
    counts = [BoardCount(id=i, code=c, name=n, on_duty=k) for i, c, n, k in rows]
    return BoardOut(level=level, total_on_duty=total, counts=counts)  # type: ignore[arg-type]


def on_duty(
    session: Session, unit_id: int | None = None, district_id: int | None = None, limit: int = 500
) -> list[DutySessionOut]:
    """Return open duty sessions, newest first, optionally for one unit or district."""
    stmt = select(DutySession).join(Unit, Unit.id == DutySession.unit_id).where(DutySession.checked_out_at.is_(None))
    if unit_id is not None:
        stmt = stmt.where(DutySession.unit_id == unit_id)
    if district_id is not None:
        stmt = stmt.where(Unit.district_id == district_id)
    rows = session.scalars(stmt.order_by(DutySession.checked_in_at.desc()).limit(limit))
    return [DutySessionOut.model_validate(d) for d in rows]


def empty_posts(session: Session, now: datetime, tz: ZoneInfo, district_id: int | None = None) -> list[EmptyPost]:
    """Return units whose rostered shift is running with fewer members on duty than it needs."""
    unit_ids = None
    if district_id is not None:
        unit_ids = list(session.scalars(select(Unit.id).where(Unit.district_id == district_id)))
    running = running_rostered_shifts(session, unit_ids, now, tz)
    if not running:
        return []
    on_duty_by_unit = dict(
        session.execute(
            select(DutySession.unit_id, func.count(DutySession.id))
            .where(DutySession.checked_out_at.is_(None), DutySession.unit_id.in_({s.unit_id for s, *_ in running}))
            .group_by(DutySession.unit_id)
        ).all()
    )
    units = {u.id: u for u in session.scalars(select(Unit).where(Unit.id.in_({s.unit_id for s, *_ in running})))}
    out = []
    for shift, _start, _end, members in running:
        here = on_duty_by_unit.get(shift.unit_id, 0)
        if here < shift.min_on_duty:
            unit = units[shift.unit_id]
            out.append(
                EmptyPost(
                    unit_id=unit.id,
                    unit_name=unit.name,
                    district_id=unit.district_id,
                    shift_id=shift.id,
                    shift_name=shift.name,
                    rostered=len(members),
                    on_duty=here,
                    min_on_duty=shift.min_on_duty,
                )
            )
    return sorted(out, key=lambda e: (e.district_id, e.unit_id))
