"""HTTP routes for a member's alerts (list, accept, decline, arrived) and the 1-3-5 compliance roll-ups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from jiefang.api.deps import DispatcherDep, IdPath, PrincipalDep, SessionDep, require_roles
from jiefang.dispatch import compliance, service
from jiefang.dispatch.schemas import ComplianceSummary, GroupBy
from jiefang.incidents import service as incidents
from jiefang.incidents.schemas import AssignmentOut
from jiefang.people.access import CITY_ADMIN, DISTRICT_OPERATOR, UNIT_LEADER

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


ROLLUP_READERS = require_roles(CITY_ADMIN, DISTRICT_OPERATOR, UNIT_LEADER)
DEFAULT_WINDOW = timedelta(days=30)
GroupByQuery = Annotated[GroupBy, Query(description="city, district, street, grid, unit or type")]
WindowQuery = Annotated[datetime | None, Query(description="ISO 8601; without a zone it is UTC")]


def _summary(session: SessionDep, d: DispatcherDep, who: PrincipalDep, group_by: GroupBy,
             since: datetime | None, until: datetime | None) -> ComplianceSummary:
    until = _aware(until) if until else datetime.now(UTC)
    since = _aware(since) if since else until - DEFAULT_WINDOW
    return compliance.compliance_summary(session, who, group_by, since, until, d.playbooks)


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)


@router.get("/compliance", response_model=ComplianceSummary, dependencies=[ROLLUP_READERS])
def compliance_rollup(session: SessionDep, d: DispatcherDep, who: PrincipalDep, group_by: GroupByQuery = "district",
                      since: WindowQuery = None, until: WindowQuery = None) -> ComplianceSummary:
    """1-3-5 pass rates and response times of the incidents you may see (default: the last 30 days)."""
    return _summary(session, d, who, group_by, since, until)


@router.get("/compliance.csv", dependencies=[ROLLUP_READERS],
            responses={200: {"content": {"text/csv": {}}, "description": "one row per group, then the total"}})
def compliance_export(session: SessionDep, d: DispatcherDep, who: PrincipalDep, group_by: GroupByQuery = "district",
                      since: WindowQuery = None, until: WindowQuery = None) -> Response:
    """The same roll-up as CSV (UTF-8 with BOM), for spreadsheets."""
    summary = _summary(session, d, who, group_by, since, until)
    filename = f"compliance-{group_by}-{summary.since:%Y%m%d}-{summary.until:%Y%m%d}.csv"
    return Response(compliance.summary_csv(summary), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
