"""Awarding points from events into the ledger, balances, leaderboards, and honours."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiefang.db import utcnow
from jiefang.errors import Forbidden, InvalidInput, NotFound
from jiefang.events import EventBus
from jiefang.incidents.models import Incident
from jiefang.people.access import CITY_ADMIN, DISTRICT_OPERATOR, UNIT_LEADER, Principal, can_manage_unit
from jiefang.people.models import Member
from jiefang.rewards.ledger import Earned, Key, new_entries
from jiefang.rewards.models import Honour, PointEntry
from jiefang.rewards.rules import Rules
from jiefang.rewards.schemas import DecisionIn, EntryOut, HonourIn, PointsOut, RankOut
from jiefang.rewards.sources import SOURCES
from jiefang.units.models import Unit


def collect(session: Session, since: datetime | None = None) -> list[Earned]:
    """Return every earned event of every registered source (since ``since`` if given)."""
    return [e for fn in SOURCES.values() for e in fn(session, since)]


def award(session: Session, rules: Rules, since: datetime | None = None, bus: EventBus | None = None) -> int:
    """Add ledger entries for the events not yet awarded; return how many were added.

    Idempotent: an event already in the ledger (same rule, source and member) is skipped.
    """
    earned = collect(session, since)
    if not earned:
        return 0
    key_stmt = select(PointEntry.rule, PointEntry.source_type, PointEntry.source_id, PointEntry.member_id)
    if since is not None:
        key_stmt = key_stmt.where(PointEntry.earned_at >= since)
    existing: set[Key] = {(r, t, i, m) for r, t, i, m in session.execute(key_stmt)}
    entries = new_entries(rules, earned, existing)
    if not entries:
        return 0
    rows = session.execute(
        select(Member.id, Unit.id, Unit.district_id)
        .join(Unit, Unit.id == Member.unit_id)
        .where(Member.id.in_({e.member_id for e in entries}))
    )
    where = {m: (u, d) for m, u, d in rows}
    for e in entries:
        unit_id, district_id = where[e.member_id]
        rule, source_type, source_id, member_id = e.key
        session.add(
            PointEntry(
                member_id=member_id,
                unit_id=unit_id,
                district_id=district_id,
                rule=rule,
                source_type=source_type,
                source_id=source_id,
                points=e.points,
                earned_at=e.at,
            )
        )
    session.commit()
    if bus is not None:
        bus.publish("rewards.awarded", keep=False, entries=len(entries))
    return len(entries)


def _member_scope(session: Session, who: Principal, member_id: int) -> tuple[Member, Unit]:
    row = session.execute(
        select(Member, Unit).join(Unit, Unit.id == Member.unit_id).where(Member.id == member_id)
    ).first()
    if row is None:
        raise NotFound(f"member {member_id} not found")
    member, unit = row
    if member_id != who.member_id and not can_manage_unit(who, unit.id, unit.district_id):
        raise NotFound(f"member {member_id} not found")
    return member, unit


def member_points(session: Session, who: Principal, member_id: int, limit: int = 200) -> PointsOut:
    """Return a member's balance and latest entries, each naming its source event.

    Raises NotFound for a member outside ``who``'s scope (their own, their unit, their district).
    """
    _member_scope(session, who, member_id)
    balance = session.scalar(
        select(func.coalesce(func.sum(PointEntry.points), 0)).where(PointEntry.member_id == member_id)
    )
    rows = session.scalars(
        select(PointEntry)
        .where(PointEntry.member_id == member_id)
        .order_by(PointEntry.earned_at.desc(), PointEntry.id.desc())
        .limit(limit)
    )
    entries = [
        EntryOut(rule=e.rule, source_type=e.source_type, source_id=e.source_id, points=e.points, earned_at=e.earned_at)
        for e in rows
    ]
    return PointsOut(member_id=member_id, balance=int(balance or 0), entries=entries)


def balances_of(session: Session) -> dict[int, int]:
    """Return every member's stored balance (members without entries are absent)."""
    rows = session.execute(select(PointEntry.member_id, func.sum(PointEntry.points)).group_by(PointEntry.member_id))
    return {m: int(p) for m, p in rows}


def leaderboard(
    session: Session, who: Principal, unit_id: int | None, district_id: int | None, since: datetime | None, limit: int
) -> list[RankOut]:
    """Return the members with the most points in a unit or a district (since ``since``).

    Members and leaders see their own unit's board; operators their district's and its units'.
    Raises InvalidInput without exactly one of unit_id, district_id; Forbidden outside the scope.
    """
    if (unit_id is None) == (district_id is None):
        raise InvalidInput("give unit_id or district_id")
    if unit_id is not None:
        unit = session.get(Unit, unit_id)
        if unit is None:
            raise NotFound(f"unit {unit_id} not found")
        allowed = who.unit_id == unit_id or can_manage_unit(who, unit_id, unit.district_id)
    else:
        allowed = who.role == CITY_ADMIN or (who.role == DISTRICT_OPERATOR and who.district_id == district_id)
    if not allowed:
        raise Forbidden("this leaderboard is outside your unit or district")
    total = func.sum(PointEntry.points).label("total")
    stmt = select(PointEntry.member_id, total).group_by(PointEntry.member_id)
    stmt = stmt.where(PointEntry.unit_id == unit_id) if unit_id else stmt.where(PointEntry.district_id == district_id)
    if since is not None:
        stmt = stmt.where(PointEntry.earned_at >= since)
    rows = session.execute(stmt.order_by(total.desc(), PointEntry.member_id).limit(limit)).all()
    names = dict(session.execute(select(Member.id, Member.name).where(Member.id.in_([m for m, _ in rows]))).all())
    units = dict(session.execute(select(Member.id, Member.unit_id).where(Member.id.in_([m for m, _ in rows]))).all())
    return [
        RankOut(rank=i + 1, member_id=m, name=names.get(m, ""), unit_id=units.get(m, 0), points=int(p))
        for i, (m, p) in enumerate(rows)
    ]


def propose_honour(session: Session, who: Principal, data: HonourIn) -> Honour:
    """A unit leader (or an operator) proposes a member for an honour; return it.

    Raises Forbidden unless ``who`` manages the member's unit; NotFound for an unknown member;
    InvalidInput for an unknown incident.
    """
    _, unit = _member_scope(session, who, data.member_id)
    if who.role not in (UNIT_LEADER, DISTRICT_OPERATOR, CITY_ADMIN) or not can_manage_unit(
        who, unit.id, unit.district_id
    ):
        raise Forbidden("only the member's unit leader or an operator may propose an honour")
    if data.incident_id is not None and session.get(Incident, data.incident_id) is None:
        raise InvalidInput(f"incident {data.incident_id} does not exist")
    honour = Honour(
        member_id=data.member_id,
        kind=data.kind,
        citation=data.citation,
        incident_id=data.incident_id,
        proposed_by=who.account_id,
        proposed_at=utcnow(),
    )
    session.add(honour)
    session.commit()
    return honour


def decide_honour(session: Session, who: Principal, honour_id: int, data: DecisionIn) -> Honour:
    """An operator of the member's district approves or rejects a proposed honour; return it.

    Raises NotFound, Forbidden (not an operator of that district), InvalidInput (already decided).
    """
    honour = session.get(Honour, honour_id)
    if honour is None:
        raise NotFound(f"honour {honour_id} not found")
    district_id = session.scalar(
        select(Unit.district_id).join(Member, Member.unit_id == Unit.id).where(Member.id == honour.member_id)
    )
    if not (who.role == CITY_ADMIN or (who.role == DISTRICT_OPERATOR and who.district_id == district_id)):
        raise Forbidden("only an operator of the member's district decides an honour")
    if honour.status != "proposed":
        raise InvalidInput(f"honour {honour_id} is already {honour.status}")
    honour.status = "approved" if data.approve else "rejected"
    honour.decided_by, honour.decided_at, honour.note = who.account_id, utcnow(), data.note
    session.commit()
    return honour


def list_honours(session: Session, who: Principal, status: str | None) -> list[Honour]:
    """Return the honours in ``who``'s scope, newest first."""
    stmt = select(Honour).join(Member, Member.id == Honour.member_id).join(Unit, Unit.id == Member.unit_id)
    if who.role == DISTRICT_OPERATOR:
        stmt = stmt.where(Unit.district_id == who.district_id)
    elif who.role == UNIT_LEADER:
        stmt = stmt.where(Unit.id == who.unit_id)
    elif who.role != CITY_ADMIN:
        stmt = stmt.where(Honour.member_id == who.member_id)
    if status is not None:
        stmt = stmt.where(Honour.status == status)
    return list(session.scalars(stmt.order_by(Honour.proposed_at.desc(), Honour.id.desc()).limit(500)))
