"""Opening mediation cases, recording sessions and outcomes, who sees parties' data, statistics."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, false, func, or_, select, true
from sqlalchemy.orm import Session

from jiefang.db import utcnow
from jiefang.errors import Forbidden, InvalidInput, NotFound
from jiefang.mediation.models import CaseParty, MediationCase, MediationSession
from jiefang.mediation.schemas import CaseIn, CaseOut, OutcomeIn, PartyOut, SessionIn, SessionOut, StatsRow
from jiefang.people.access import (
    CITY_ADMIN,
    DISTRICT_OPERATOR,
    UNIT_LEADER,
    Principal,
    can_manage_unit,
    mask_id_number,
    mask_phone,
)
from jiefang.people.models import Member
from jiefang.reports.models import HazardReport
from jiefang.units.models import Unit


def visible_cases(who: Principal) -> ColumnElement[bool]:
    """Operators see their district's cases, leaders their unit's, mediators their own."""
    if who.role == CITY_ADMIN:
        return true()
    if who.role == DISTRICT_OPERATOR:
        return MediationCase.district_id == who.district_id
    conds = []
    if who.role == UNIT_LEADER and who.unit_id is not None:
        conds.append(MediationCase.unit_id == who.unit_id)
    if who.member_id is not None:
        conds.append(MediationCase.mediator_member_id == who.member_id)
    return or_(*conds) if conds else false()


def _sees_party_data(who: Principal, case: MediationCase) -> bool:
    """The mediator (to call the parties) and the district's operators see parties' phones and
    ID numbers in full; a unit leader following the unit's work does not need them."""
    if who.role == CITY_ADMIN or (who.role == DISTRICT_OPERATOR and who.district_id == case.district_id):
        return True
    return who.member_id is not None and who.member_id == case.mediator_member_id


def case_out(who: Principal, case: MediationCase) -> CaseOut:
    """Return the API shape of a case, parties' personal data masked unless ``who`` needs it."""
    full = _sees_party_data(who, case)
    parties = [
        PartyOut(
            name=p.name,
            phone=p.phone if full else mask_phone(p.phone),
            id_number=p.id_number if full else mask_id_number(p.id_number),
            side=p.side,
        )
        for p in case.parties
    ]
    return CaseOut(
        id=case.id,
        dispute_type=case.dispute_type,
        summary=case.summary,
        district_id=case.district_id,
        unit_id=case.unit_id,
        mediator_member_id=case.mediator_member_id,
        report_id=case.report_id,
        status=case.status,
        outcome_note=case.outcome_note,
        opened_at=case.opened_at,
        closed_at=case.closed_at,
        parties=parties,
        sessions=[SessionOut(held_at=s.held_at, note=s.note) for s in case.sessions],
    )


def open_case(session: Session, who: Principal, data: CaseIn) -> MediationCase:
    """Open a case with its parties and mediator; return it.

    The mediator's unit leader or the district's operators open cases. Raises NotFound (no such
    mediator), Forbidden (the mediator's unit is outside ``who``'s scope), InvalidInput (no such report).
    """
    row = session.execute(
        select(Member, Unit)
        .join(Unit, Unit.id == Member.unit_id)
        .where(Member.id == data.mediator_member_id, Member.status == "active")
    ).first()
    if row is None:
        raise NotFound(f"active member {data.mediator_member_id} not found")
    mediator, unit = row
    if not can_manage_unit(who, unit.id, unit.district_id):
        raise Forbidden("cases are opened by the mediator's unit leader or the district's operators")
    if data.report_id is not None and session.get(HazardReport, data.report_id) is None:
        raise InvalidInput(f"hazard report {data.report_id} does not exist")
    case = MediationCase(
        dispute_type=data.dispute_type,
        summary=data.summary,
        district_id=unit.district_id,
        unit_id=unit.id,
        mediator_member_id=mediator.id,
        report_id=data.report_id,
        opened_by=who.account_id,
        opened_at=utcnow(),
    )
    case.parties = [CaseParty(**p.model_dump()) for p in data.parties]
    session.add(case)
    session.commit()
    return case


def get_case(session: Session, who: Principal, case_id: int) -> MediationCase:
    """Return the case; raises NotFound if absent or outside ``who``'s scope."""
    case = session.scalar(select(MediationCase).where(MediationCase.id == case_id, visible_cases(who)))
    if case is None:
        raise NotFound(f"mediation case {case_id} not found")
    return case


def _handle(session: Session, who: Principal, case_id: int) -> MediationCase:
    case = get_case(session, who, case_id)
    if not _sees_party_data(who, case) and not can_manage_unit(who, case.unit_id, case.district_id):
        raise Forbidden("only the mediator, the unit's leader or the district's operators record on a case")
    if case.status != "open":
        raise InvalidInput(f"case {case_id} is closed ({case.status})")
    return case


def add_session(session: Session, who: Principal, case_id: int, data: SessionIn) -> MediationCase:
    """Record a mediation meeting; return the case. Raises NotFound, Forbidden, InvalidInput."""
    case = _handle(session, who, case_id)
    case.sessions.append(MediationSession(held_at=data.held_at, note=data.note, recorded_by=who.account_id))
    session.commit()
    return case


def close_case(session: Session, who: Principal, case_id: int, data: OutcomeIn) -> MediationCase:
    """Close the case with an agreement (调解成功) or escalate it; return it."""
    case = _handle(session, who, case_id)
    case.status, case.outcome_note, case.closed_at = data.outcome, data.note, utcnow()
    session.commit()
    return case


def list_cases(session: Session, who: Principal, status: str | None, limit: int, offset: int) -> list[MediationCase]:
    """Return the cases ``who`` may see, newest first."""
    stmt = select(MediationCase).where(visible_cases(who))
    if status is not None:
        stmt = stmt.where(MediationCase.status == status)
    stmt = stmt.order_by(MediationCase.opened_at.desc(), MediationCase.id.desc()).limit(limit).offset(offset)
    return list(session.scalars(stmt))


def stats(session: Session, who: Principal, since: datetime | None) -> list[StatsRow]:
    """Return cases per dispute type and outcome in ``who``'s scope, with the agreement rate."""
    stmt = select(MediationCase.dispute_type, MediationCase.status, func.count()).where(visible_cases(who))
    if since is not None:
        stmt = stmt.where(MediationCase.opened_at >= since)
    counts: dict[str, dict[str, int]] = {}
    for kind, status, n in session.execute(stmt.group_by(MediationCase.dispute_type, MediationCase.status)):
        counts.setdefault(kind, {})[status] = n
    rows = []
    for kind, c in sorted(counts.items()):
        closed = c.get("agreement", 0) + c.get("escalated", 0)
        rows.append(
            StatsRow(
                dispute_type=kind,
                open=c.get("open", 0),
                agreement=c.get("agreement", 0),
                escalated=c.get("escalated", 0),
                agreement_rate=round(c.get("agreement", 0) / closed, 4) if closed else None,
            )
        )
    return rows
