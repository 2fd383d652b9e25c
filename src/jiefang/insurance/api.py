"""HTTP routes of insurance: register policies, members on duty without cover, insurer export."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Response, status

from jiefang.api.deps import PrincipalDep, SessionDep, SettingsDep, require_roles
from jiefang.db import utcnow
from jiefang.insurance import service
from jiefang.insurance.schemas import PolicyIn, PolicyOut, UncoveredOut
from jiefang.people.access import CITY_ADMIN, DISTRICT_OPERATOR
from jiefang.schemas import SEARCH_PATTERN

router = APIRouter(prefix="/api/insurance", tags=["insurance"])
OPERATORS = require_roles(CITY_ADMIN, DISTRICT_OPERATOR)


@router.post("/policies", response_model=PolicyOut, status_code=status.HTTP_201_CREATED, dependencies=[OPERATORS])
def add_policy(session: SessionDep, who: PrincipalDep, data: PolicyIn) -> PolicyOut:
    """Register a member's policy (insurer, number, cover, start and end dates)."""
    p = service.add_policy(session, who, data)
    return PolicyOut(
        id=p.id,
        member_id=p.member_id,
        insurer=p.insurer,
        policy_no=p.policy_no,
        cover=p.cover,
        cover_amount_yuan=p.cover_amount_yuan,
        starts_on=p.starts_on,
        ends_on=p.ends_on,
    )


@router.get("/uncovered-on-duty", response_model=list[UncoveredOut], dependencies=[OPERATORS])
def uncovered_on_duty(session: SessionDep, settings: SettingsDep, who: PrincipalDep) -> list[UncoveredOut]:
    """Members on duty now without valid insurance cover today (flagged at check-in, not refused)."""
    today = utcnow().astimezone(ZoneInfo(settings.timezone)).date()
    return service.uncovered_on_duty(session, who, today)


@router.get(
    "/export.csv", response_class=Response, dependencies=[OPERATORS], responses={200: {"content": {"text/csv": {}}}}
)
def export(
    session: SessionDep,
    settings: SettingsDep,
    who: PrincipalDep,
    insurer: Annotated[str, Query(min_length=2, max_length=80, pattern=SEARCH_PATTERN)],
    on: date | None = None,
) -> Response:
    """CSV for an insurer of the members its policies cover on a day (today by default)."""
    day = on or utcnow().astimezone(ZoneInfo(settings.timezone)).date()
    body = service.export_csv(session, who, insurer, day)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="insurance-{day.isoformat()}.csv"'},
    )
