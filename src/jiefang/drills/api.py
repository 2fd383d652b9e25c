"""HTTP routes of readiness drills: plan a day, launch on a map selection, confirm video, read results."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from jiefang.api.deps import (
    BusDep,
    DispatcherDep,
    IdPath,
    IdQuery,
    PrincipalDep,
    SessionDep,
    SettingsDep,
    require_roles,
)
from jiefang.drills import results, service
from jiefang.drills.execution import confirm_video
from jiefang.drills.schemas import AdhocIn, DrillGroupBy, DrillOut, DrillSummary, PlanIn, PlanOut, VideoIn, WeakUnit
from jiefang.people.access import CITY_ADMIN, DISTRICT_OPERATOR, UNIT_LEADER

router = APIRouter(prefix="/api/drills", tags=["drills"])
OPERATORS = require_roles(CITY_ADMIN, DISTRICT_OPERATOR)
READERS = require_roles(CITY_ADMIN, DISTRICT_OPERATOR, UNIT_LEADER)
DEFAULT_WINDOW = timedelta(days=28)
Status = Literal["planned", "running", "passed", "failed", "cancelled"]
WindowQuery = Annotated[datetime | None, Query(description="ISO 8601; without a zone it is UTC")]
GroupByQuery = Annotated[DrillGroupBy, Query(description="district, street, grid or unit")]


def _window(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    def aware(t: datetime) -> datetime:
        return t if t.tzinfo else t.replace(tzinfo=UTC)

    end = aware(until) if until else datetime.now(UTC)
    return (aware(since) if since else end - DEFAULT_WINDOW), end


@router.post("/plan", response_model=PlanOut, status_code=201, dependencies=[require_roles(CITY_ADMIN)])
def plan(session: SessionDep, settings: SettingsDep, bus: BusDep, who: PrincipalDep, data: PlanIn) -> PlanOut:
    """Plan the day's scheduled drills city-wide (stratified by district; reproducible from the seed)."""
    return service.plan_day(session, settings, bus, who, data)


@router.post("/adhoc", response_model=list[DrillOut], status_code=201, dependencies=[OPERATORS])
def adhoc(
    session: SessionDep, d: DispatcherDep, settings: SettingsDep, who: PrincipalDep, data: AdhocIn
) -> list[DrillOut]:
    """Drill now every active unit inside a polygon or circle drawn on the map (your district's)."""
    return [DrillOut.model_validate(x) for x in service.launch_adhoc(session, d, settings, who, data)]


@router.get("", response_model=list[DrillOut], dependencies=[READERS])
def list_drills(
    session: SessionDep,
    who: PrincipalDep,
    day: Annotated[date | None, Query(alias="date")] = None,
    unit_id: IdQuery = None,
    status: Status | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[DrillOut]:
    """Drills you may see (operators: district; leaders: unit), newest first."""
    return [DrillOut.model_validate(x) for x in service.list_drills(session, who, day, unit_id, status, limit, offset)]


@router.get("/summary", response_model=DrillSummary, dependencies=[READERS])
def summary(
    session: SessionDep,
    who: PrincipalDep,
    group_by: GroupByQuery = "district",
    since: WindowQuery = None,
    until: WindowQuery = None,
) -> DrillSummary:
    """Pass rates ranked by group, weekly trends, acknowledgement times (default: the last 28 days)."""
    return results.drill_summary(session, who, group_by, *_window(since, until))


@router.get(
    "/summary.csv",
    dependencies=[READERS],
    responses={200: {"content": {"text/csv": {}}, "description": "one row per group, then the total"}},
)
def summary_csv(
    session: SessionDep,
    who: PrincipalDep,
    group_by: GroupByQuery = "district",
    since: WindowQuery = None,
    until: WindowQuery = None,
) -> Response:
    """The same ranking as CSV (UTF-8 with BOM), for spreadsheets."""
    s = results.drill_summary(session, who, group_by, *_window(since, until))
    filename = f"drills-{group_by}-{s.since:%Y%m%d}-{s.until:%Y%m%d}.csv"
    return Response(
        results.summary_csv(s),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/weak-units", response_model=list[WeakUnit], dependencies=[READERS])
def weak_units(
    session: SessionDep, who: PrincipalDep, since: WindowQuery = None, until: WindowQuery = None
) -> list[WeakUnit]:
    """Units that failed a drill in the window or failed their last two (flagged), worst first."""
    return results.weak_units(session, who, *_window(since, until))


@router.get("/units/{unit_id}", response_model=list[DrillOut], dependencies=[READERS])
def unit_history(session: SessionDep, who: PrincipalDep, unit_id: IdPath) -> list[DrillOut]:
    """A unit's drills, newest first."""
    return [DrillOut.model_validate(x) for x in results.unit_history(session, who, unit_id)]


@router.get("/{drill_id}", response_model=DrillOut, dependencies=[READERS])
def get_drill(session: SessionDep, who: PrincipalDep, drill_id: IdPath) -> DrillOut:
    """One drill and its score."""
    return DrillOut.model_validate(service.get_drill(session, who, drill_id))


@router.post("/{drill_id}/video", response_model=DrillOut, dependencies=[OPERATORS])
def video(session: SessionDep, d: DispatcherDep, who: PrincipalDep, drill_id: IdPath, data: VideoIn) -> DrillOut:
    """Record the video check-in of a running drill (the 5-minute tier when video was asked)."""
    drill = service.get_drill(session, who, drill_id)
    return DrillOut.model_validate(confirm_video(session, d, who, drill, data.confirmed))


@router.post("/{drill_id}/cancel", response_model=DrillOut, dependencies=[OPERATORS])
def cancel(session: SessionDep, who: PrincipalDep, drill_id: IdPath) -> DrillOut:
    """Cancel a drill that has not fired yet."""
    return DrillOut.model_validate(service.cancel_drill(session, who, drill_id))
