"""Where points come from: each source reads one kind of event and says who earned what.

Sources are pluggable: a domain adds its own with ``@source("name")`` (the drills domain's drill
answers come from drill alerts here; another drill answer feed registers beside it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiefang.dispatch.models import Assignment
from jiefang.duty.models import DutySession
from jiefang.reports.models import HazardReport
from jiefang.rewards.ledger import Earned
from jiefang.rewards.models import Honour

Source = Callable[[Session, datetime | None], Iterable[Earned]]
SOURCES: dict[str, Source] = {}
ANSWERED = ("accepted", "arrived")


def source(name: str) -> Callable[[Source], Source]:
    """Register a source of earned events under ``name``."""

    def register(fn: Source) -> Source:
        SOURCES[name] = fn
        return fn

    return register


@source("duty")
def duty_hours(session: Session, since: datetime | None) -> Iterable[Earned]:
    """Closed duty sessions: one quantity per full hour on duty."""
    stmt = select(DutySession.id, DutySession.member_id, DutySession.checked_in_at, DutySession.checked_out_at).where(
        DutySession.checked_out_at.is_not(None)
    )
    if since is not None:
        stmt = stmt.where(DutySession.checked_out_at >= since)
    for sid, member_id, start, end in session.execute(stmt):
        assert end is not None  # selected on checked_out_at
        yield Earned(member_id, "duty_hour", "duty_session", sid, end, int((end - start).total_seconds() // 3600))


def _answered(session: Session, since: datetime | None, drill: bool) -> Iterable[Assignment]:
    stmt = select(Assignment).where(
        Assignment.drill.is_(drill), Assignment.status.in_(ANSWERED), Assignment.answered_at.is_not(None)
    )
    if since is not None:
        stmt = stmt.where(Assignment.answered_at >= since)
    return session.scalars(stmt)


@source("incidents")
def incident_responses(session: Session, since: datetime | None) -> Iterable[Earned]:
    """Incident alerts accepted, and those where the member reached the scene."""
    for a in _answered(session, since, drill=False):
        assert a.answered_at is not None
        yield Earned(a.member_id, "incident_accepted", "assignment", a.id, a.answered_at)
        if a.arrived_at is not None:
            yield Earned(a.member_id, "incident_arrived", "assignment", a.id, a.arrived_at)


@source("drills")
def drill_answers(session: Session, since: datetime | None) -> Iterable[Earned]:
    """Readiness drill alerts answered with accept."""
    for a in _answered(session, since, drill=True):
        assert a.answered_at is not None
        yield Earned(a.member_id, "drill_answer", "assignment", a.id, a.answered_at)


@source("reports")
def verified_reports(session: Session, since: datetime | None) -> Iterable[Earned]:
    """Hazard reports the operator resolved (a report rejected as unfounded earns nothing)."""
    stmt = select(HazardReport.id, HazardReport.reporter_member_id, HazardReport.closed_at).where(
        HazardReport.status == "resolved", HazardReport.reporter_member_id.is_not(None)
    )
    if since is not None:
        stmt = stmt.where(HazardReport.closed_at >= since)
    for rid, member_id, at in session.execute(stmt):
        assert member_id is not None and at is not None  # resolved reports of members are closed
        yield Earned(member_id, "report_verified", "hazard_report", rid, at)


@source("honours")
def approved_honours(session: Session, since: datetime | None) -> Iterable[Earned]:
    """Honours approved by an operator."""
    stmt = select(Honour).where(Honour.status == "approved")
    if since is not None:
        stmt = stmt.where(Honour.decided_at >= since)
    for h in session.scalars(stmt):
        assert h.decided_at is not None
        yield Earned(h.member_id, f"honour_{h.kind}", "honour", h.id, h.decided_at)
