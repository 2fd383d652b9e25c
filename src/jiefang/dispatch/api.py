"""HTTP routes for a member's alerts: list, accept, decline, arrived."""

from __future__ import annotations

from fastapi import APIRouter

from jiefang.api.deps import DispatcherDep, IdPath, PrincipalDep, SessionDep
from jiefang.dispatch import service
from jiefang.incidents import service as incidents
from jiefang.incidents.schemas import AssignmentOut

router = APIRouter(prefix="/api", tags=["dispatch"])


@router.get("/alerts/mine", response_model=list[AssignmentOut])
def my_alerts(session: SessionDep, who: PrincipalDep, open_only: bool = True) -> list[AssignmentOut]:
    """Your alerts, newest first (of open incidents unless open_only=false)."""
    return [AssignmentOut.model_validate(a) for a in incidents.my_alerts(session, who, open_only)]


@router.post("/alerts/{assignment_id}/accept", response_model=AssignmentOut)
def accept(session: SessionDep, d: DispatcherDep, who: PrincipalDep, assignment_id: IdPath) -> AssignmentOut:
    """Accept an alert: you are on your way."""
    return AssignmentOut.model_validate(service.answer(session, d, who, assignment_id, True))


@router.post("/alerts/{assignment_id}/decline", response_model=AssignmentOut)
def decline(session: SessionDep, d: DispatcherDep, who: PrincipalDep, assignment_id: IdPath) -> AssignmentOut:
    """Decline an alert: the next best member is alerted at once."""
    return AssignmentOut.model_validate(service.answer(session, d, who, assignment_id, False))


@router.post("/alerts/{assignment_id}/arrived", response_model=AssignmentOut)
def arrived(session: SessionDep, d: DispatcherDep, who: PrincipalDep, assignment_id: IdPath) -> AssignmentOut:
    """Confirm you are on scene (arrival is also detected from your position)."""
    return AssignmentOut.model_validate(service.confirm_arrival(session, d, who, assignment_id))
