"""HTTP routes of rewards: points with their sources, leaderboards, honours."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, status

from jiefang.api.deps import IdPath, IdQuery, PrincipalDep, SessionDep, require_roles
from jiefang.errors import Forbidden
from jiefang.people.access import CITY_ADMIN, DISTRICT_OPERATOR, UNIT_LEADER
from jiefang.rewards import service
from jiefang.rewards.models import Honour
from jiefang.rewards.schemas import DecisionIn, HonourIn, HonourOut, PointsOut, RankOut
from jiefang.schemas import UtcDatetime

router = APIRouter(prefix="/api", tags=["rewards"])


def honour_out(h: Honour) -> HonourOut:
    return HonourOut(
        id=h.id,
        member_id=h.member_id,
        kind=h.kind,
        citation=h.citation,
        incident_id=h.incident_id,
        status=h.status,
        proposed_at=h.proposed_at,
        decided_at=h.decided_at,
        note=h.note,
    )


@router.get("/rewards/mine", response_model=PointsOut)
def my_points(session: SessionDep, who: PrincipalDep) -> PointsOut:
    """Your points balance and the events each point came from."""
    if who.member_id is None:
        raise Forbidden("this account has no member record")
    return service.member_points(session, who, who.member_id)


@router.get("/rewards/members/{member_id}", response_model=PointsOut)
def member_points(session: SessionDep, who: PrincipalDep, member_id: IdPath) -> PointsOut:
    """A member's balance and entries (their unit's leader, their district's operators)."""
    return service.member_points(session, who, member_id)


@router.get("/rewards/leaderboard", response_model=list[RankOut])
def leaderboard(
    session: SessionDep,
    who: PrincipalDep,
    unit_id: IdQuery = None,
    district_id: IdQuery = None,
    since: UtcDatetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
) -> list[RankOut]:
    """The members with the most points in a unit or a district."""
    return service.leaderboard(session, who, unit_id, district_id, since, limit)


@router.post("/rewards/award", dependencies=[require_roles(CITY_ADMIN)])
def award_now(request: Request, session: SessionDep) -> dict[str, int]:
    """Award the points of all events not yet in the ledger now (it also runs every few minutes)."""
    return {"added": service.award(session, request.app.state.rewards_rules)}


@router.post(
    "/honours",
    response_model=HonourOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[require_roles(UNIT_LEADER, DISTRICT_OPERATOR, CITY_ADMIN)],
)
def propose_honour(session: SessionDep, who: PrincipalDep, data: HonourIn) -> HonourOut:
    """Propose a member for an honour such as bravery (见义勇为)."""
    return honour_out(service.propose_honour(session, who, data))


@router.post(
    "/honours/{honour_id}/decision",
    response_model=HonourOut,
    dependencies=[require_roles(DISTRICT_OPERATOR, CITY_ADMIN)],
)
def decide_honour(session: SessionDep, who: PrincipalDep, honour_id: IdPath, data: DecisionIn) -> HonourOut:
    """Approve or reject a proposed honour; approved honours earn their points at the next award."""
    return honour_out(service.decide_honour(session, who, honour_id, data))


@router.get("/honours", response_model=list[HonourOut])
def list_honours(
    session: SessionDep,
    who: PrincipalDep,
    status_: Annotated[Literal["proposed", "approved", "rejected"] | None, Query(alias="status")] = None,
) -> list[HonourOut]:
    """Honours in your scope, newest first."""
    return [honour_out(h) for h in service.list_honours(session, who, status_)]
