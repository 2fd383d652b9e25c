"""Registering policies, checking cover, flagging uncovered members on duty, reminders, export."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jiefang.duty.models import DutySession
from jiefang.errors import Conflict, Forbidden, NotFound
from jiefang.events import EventBus
from jiefang.insurance.models import InsurancePolicy
from jiefang.insurance.schemas import PolicyIn, UncoveredOut
from jiefang.people.access import CITY_ADMIN, DISTRICT_OPERATOR, Principal, can_see_id_number, mask_id_number
from jiefang.people.models import Member
from jiefang.units.models import Unit


def _operator_of(session: Session, who: Principal, member_id: int) -> tuple[Member, Unit]:
    row = session.execute(
        select(Member, Unit).join(Unit, Unit.id == Member.unit_id).where(Member.id == member_id)
    ).first()
    if row is None:
        raise NotFound(f"member {member_id} not found")
    member, unit = row
    if not (who.role == CITY_ADMIN or (who.role == DISTRICT_OPERATOR and who.district_id == unit.district_id)):
        raise Forbidden("insurance is registered by the operators of the member's district")
    return member, unit


def add_policy(session: Session, who: Principal, data: PolicyIn) -> InsurancePolicy:
    """Register a policy and make the member record show the cover that ends last; return it.

    Raises NotFound, Forbidden (not an operator of the member's district), Conflict (registered).
    """
    member, _ = _operator_of(session, who, data.member_id)
    policy = InsurancePolicy(**data.model_dump())
    session.add(policy)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(f"policy {data.policy_no} of {data.insurer} is already registered for this member") from exc
    latest = session.scalars(
        select(InsurancePolicy)
        .where(InsurancePolicy.member_id == member.id)
        .order_by(InsurancePolicy.ends_on.desc())
        .limit(1)
    ).one()
    member.insurer, member.insurance_policy_no, member.insurance_expires_on = (
        latest.insurer,
        latest.policy_no,
        latest.ends_on,
    )
    session.commit()
    return policy


def covered(day: date) -> ColumnElement[bool]:
    """Return the SQL condition "the member has cover on ``day``": a policy covering the day, or
    the cover recorded on the member (registered before policies were kept one by one)."""
    policy = (
        select(InsurancePolicy.id)
        .where(InsurancePolicy.member_id == Member.id, InsurancePolicy.starts_on <= day, InsurancePolicy.ends_on >= day)
        .exists()
    )
    return or_(policy, and_(Member.insurer.is_not(None), Member.insurance_expires_on >= day))


def has_cover(session: Session, member_id: int, day: date) -> bool:
    """Return True if the member is insured on ``day``."""
    return bool(session.scalar(select(func.count()).select_from(Member).where(Member.id == member_id, covered(day))))


def uncovered_on_duty(session: Session, who: Principal, day: date) -> list[UncoveredOut]:
    """Return the members on duty now without valid cover on ``day``, in ``who``'s district."""
    stmt = (
        select(DutySession, Member, Unit)
        .join(Member, Member.id == DutySession.member_id)
        .join(Unit, Unit.id == DutySession.unit_id)
        .where(DutySession.checked_out_at.is_(None), ~covered(day))
    )
    if who.role != CITY_ADMIN:
        stmt = stmt.where(Unit.district_id == who.district_id)
    return [
        UncoveredOut(
            member_id=m.id,
            name=m.name,
            unit_id=u.id,
            duty_session_id=d.id,
            checked_in_at=d.checked_in_at,
            cover_ended_on=m.insurance_expires_on,
        )
        for d, m, u in session.execute(stmt.order_by(DutySession.checked_in_at))
    ]


def remind_expiring(session: Session, bus: EventBus | None, today: date, within_days: int) -> int:
    """Publish ``insurance.expiring`` once per policy ending within ``within_days`` (to the member,
    their unit's leader and district's operators); return how many reminders went out."""
    rows = session.execute(
        select(InsurancePolicy, Unit)
        .join(Member, Member.id == InsurancePolicy.member_id)
        .join(Unit, Unit.id == Member.unit_id)
        .where(
            InsurancePolicy.ends_on >= today,
            InsurancePolicy.ends_on <= today + timedelta(days=within_days),
            InsurancePolicy.reminded_on.is_(None),
        )
    ).all()
    for policy, _ in rows:
        policy.reminded_on = today
    session.commit()
    if bus is not None:
        for policy, unit in rows:
            bus.publish(
                "insurance.expiring",
                member_id=policy.member_id,
                unit_id=unit.id,
                district_id=unit.district_id,
                policy_id=policy.id,
                insurer=policy.insurer,
                ends_on=policy.ends_on.isoformat(),
            )
    return len(rows)


def export_csv(session: Session, who: Principal, insurer: str, day: date) -> str:
    """Return a CSV, for ``insurer``, of the members its policies cover on ``day`` in ``who``'s scope.

    Resident ID numbers are in full only where the role may see them (the district's operators).
    """
    stmt = (
        select(InsurancePolicy, Member, Unit)
        .join(Member, Member.id == InsurancePolicy.member_id)
        .join(Unit, Unit.id == Member.unit_id)
        .where(InsurancePolicy.insurer == insurer, InsurancePolicy.starts_on <= day, InsurancePolicy.ends_on >= day)
    )
    if who.role != CITY_ADMIN:
        stmt = stmt.where(Unit.district_id == who.district_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["policy_no", "member_id", "name", "id_number", "unit", "cover", "cover_amount_yuan", "starts_on", "ends_on"]
    )
    for p, m, u in session.execute(stmt.order_by(InsurancePolicy.policy_no, Member.id)):
        id_no = m.id_number if can_see_id_number(who, m.id, u.district_id) else mask_id_number(m.id_number)
        writer.writerow(
            [
                p.policy_no,
                m.id,
                m.name,
                id_no or "",
                u.name,
                p.cover,
                p.cover_amount_yuan,
                p.starts_on.isoformat(),
                p.ends_on.isoformat(),
            ]
        )
    return out.getvalue()
