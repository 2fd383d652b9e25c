"""HTTP routes of mediation cases (矛盾纠纷调解)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, status

from jiefang.api.deps import STAFF_ONLY, IdPath, PrincipalDep, SessionDep
from jiefang.mediation import service
from jiefang.mediation.schemas import CaseIn, CaseOut, OutcomeIn, SessionIn, StatsRow
from jiefang.schemas import UtcDatetime

router = APIRouter(prefix="/api/mediation", tags=["mediation"])


@router.post("/cases", response_model=CaseOut, status_code=status.HTTP_201_CREATED, dependencies=[STAFF_ONLY])
def open_case(session: SessionDep, who: PrincipalDep, data: CaseIn) -> CaseOut:
    """Open a dispute case with its parties and mediator (the unit's leader or the district's operators)."""
    return service.case_out(who, service.open_case(session, who, data))


@router.get("/cases", response_model=list[CaseOut])
def list_cases(
    session: SessionDep,
    who: PrincipalDep,
    status_: Annotated[Literal["open", "agreement", "escalated"] | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[CaseOut]:
    """Cases you may see, newest first; parties' phones and ID numbers masked unless you need them."""
    return [service.case_out(who, c) for c in service.list_cases(session, who, status_, limit, offset)]


@router.get("/stats", response_model=list[StatsRow])
def stats(session: SessionDep, who: PrincipalDep, since: UtcDatetime | None = None) -> list[StatsRow]:
    """Cases per dispute type: open, agreements, escalations and the agreement rate."""
    return service.stats(session, who, since)


@router.get("/cases/{case_id}", response_model=CaseOut)
def get_case(session: SessionDep, who: PrincipalDep, case_id: IdPath) -> CaseOut:
    """One case with its parties and sessions."""
    return service.case_out(who, service.get_case(session, who, case_id))


@router.post("/cases/{case_id}/sessions", response_model=CaseOut)
def add_session(session: SessionDep, who: PrincipalDep, case_id: IdPath, data: SessionIn) -> CaseOut:
    """Record a mediation meeting."""
    return service.case_out(who, service.add_session(session, who, case_id, data))


@router.post("/cases/{case_id}/outcome", response_model=CaseOut)
def close_case(session: SessionDep, who: PrincipalDep, case_id: IdPath, data: OutcomeIn) -> CaseOut:
    """Close the case: agreement reached, or escalated."""
    return service.case_out(who, service.close_case(session, who, case_id, data))
