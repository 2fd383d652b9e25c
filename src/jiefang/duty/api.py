"""HTTP routes for shifts, rosters, posts and QR codes, check-in/out and the on-duty board."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, status
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict

from jiefang.api.deps import (
    MEMBERS_ONLY,
    BusDep,
    IdPath,
    IdQuery,
    PrincipalDep,
    SessionDep,
    SettingsDep,
    require_roles,
)
from jiefang.duty import board as board_service
from jiefang.duty import rosters, service
from jiefang.duty.qr import qr_png, qr_svg
from jiefang.duty.schemas import (
    BoardOut,
    CheckIn,
    CheckOut,
    DutySessionOut,
    EmptyPost,
    MyShiftOut,
    PostIn,
    PostOut,
    RosterIn,
    RosterOut,
    ShiftIn,
    ShiftOut,
)
from jiefang.duty.sheet import post_sheet_html
from jiefang.errors import Forbidden
from jiefang.people.access import CITY_ADMIN, DISTRICT_OPERATOR, Principal, can_manage_unit
from jiefang.schemas import DbId
from jiefang.units.models import Unit
from jiefang.units.service import get_unit

router = APIRouter(prefix="/api", tags=["duty"])
OPERATORS = require_roles(CITY_ADMIN, DISTRICT_OPERATOR)
MANAGERS = require_roles(CITY_ADMIN, DISTRICT_OPERATOR, "unit_leader")


class HelperIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member_id: DbId


def _may_read_unit(who: Principal, unit: Unit) -> None:
    if not (can_manage_unit(who, unit.id, unit.district_id) or who.unit_id == unit.id):
        raise Forbidden(f"unit {unit.code} is outside your scope")


@router.get("/units/{unit_id}/shifts", response_model=list[ShiftOut])
def list_shifts(session: SessionDep, who: PrincipalDep, unit_id: IdPath) -> list[ShiftOut]:
    """The shifts of a unit (its members and those who manage it)."""
    _may_read_unit(who, get_unit(session, unit_id))
    return rosters.list_shifts(session, unit_id)


@router.post("/units/{unit_id}/shifts", response_model=ShiftOut, status_code=status.HTTP_201_CREATED,
             dependencies=[MANAGERS])
def create_shift(session: SessionDep, who: PrincipalDep, unit_id: IdPath, data: ShiftIn) -> ShiftOut:
    return rosters.create_shift(session, who, unit_id, data)


@router.delete("/shifts/{shift_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_shift(session: SessionDep, who: PrincipalDep, shift_id: IdPath) -> None:
    rosters.delete_shift(session, who, shift_id)


@router.get("/shifts/{shift_id}/roster", response_model=list[RosterOut], dependencies=[MANAGERS])
def shift_roster(session: SessionDep, who: PrincipalDep, shift_id: IdPath) -> list[RosterOut]:
    """Who is on a shift's roster."""
    shift = rosters.get_shift(session, shift_id)
    _may_read_unit(who, get_unit(session, shift.unit_id))
    return rosters.roster_of_shift(session, shift_id)


@router.post("/shifts/{shift_id}/roster", response_model=RosterOut, status_code=status.HTTP_201_CREATED,
             dependencies=[MANAGERS])
def assign(session: SessionDep, who: PrincipalDep, shift_id: IdPath, data: RosterIn) -> RosterOut:
    """Put a member on a shift's roster (leaders and operators)."""
    return rosters.assign(session, who, shift_id, data)


@router.delete("/roster/{entry_id}", status_code=status.HTTP_204_NO_CONTENT)
def unassign(session: SessionDep, who: PrincipalDep, entry_id: IdPath) -> None:
    rosters.unassign(session, who, entry_id)


@router.get("/duty/my-shifts", response_model=list[MyShiftOut])
def my_shifts(session: SessionDep, settings: SettingsDep, who: PrincipalDep) -> list[MyShiftOut]:
    """Your rostered shifts from now to two days ahead."""
    if who.member_id is None:
        return []
    return rosters.member_shifts(session, who.member_id, datetime.now(UTC), ZoneInfo(settings.timezone))


@router.get("/units/{unit_id}/posts", response_model=list[PostOut])
def list_posts(session: SessionDep, who: PrincipalDep, unit_id: IdPath) -> list[PostOut]:
    """The duty posts of a unit."""
    _may_read_unit(who, get_unit(session, unit_id))
    return [PostOut.model_validate(p) for p in service.list_posts(session, unit_id)]


@router.post("/units/{unit_id}/posts", response_model=PostOut, status_code=status.HTTP_201_CREATED,
             dependencies=[MANAGERS])
def create_post(session: SessionDep, who: PrincipalDep, unit_id: IdPath, data: PostIn) -> PostOut:
    """Add a duty post (where a QR code hangs) to a unit."""
    return PostOut.model_validate(service.create_post(session, who, unit_id, data))


@router.post("/posts/{post_id}/rotate", response_model=PostOut)
def rotate_post(session: SessionDep, who: PrincipalDep, post_id: IdPath) -> PostOut:
    """Issue a new QR code for the post; earlier prints stop working."""
    return PostOut.model_validate(service.rotate_post(session, who, post_id))


@router.get(
    "/posts/{post_id}/qr.png",
    response_model=None,
    responses={
        200: {
            "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
            "description": "the post's QR code",
        }
    },
)
def post_qr_png(session: SessionDep, settings: SettingsDep, who: PrincipalDep, post_id: IdPath) -> Response:
    post = service.managed_post(session, who, post_id)
    return Response(qr_png(service.post_token(session, settings, post)), media_type="image/png")


class TokenOut(BaseModel):
    token: str
    version: int


@router.get("/posts/{post_id}/token", response_model=TokenOut)
def post_token(session: SessionDep, settings: SettingsDep, who: PrincipalDep, post_id: IdPath) -> TokenOut:
    """The text inside the post's QR code, for manual entry when a camera cannot scan."""
    post = service.managed_post(session, who, post_id)
    return TokenOut(token=service.post_token(session, settings, post), version=post.token_version)


@router.get(
    "/posts/{post_id}/sheet",
    response_model=None,
    responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}, "description": "printable A5 sheet"}},
)
def post_sheet(session: SessionDep, settings: SettingsDep, who: PrincipalDep, post_id: IdPath) -> HTMLResponse:
    """A printable A5 page with the post's QR code."""
    post = service.managed_post(session, who, post_id)
    unit = get_unit(session, post.unit_id)
    token = service.post_token(session, settings, post)
    return HTMLResponse(post_sheet_html(unit.name, unit.code, post.name, post.token_version, qr_svg(token), token))


@router.post("/units/{unit_id}/helpers", status_code=status.HTTP_204_NO_CONTENT, dependencies=[MANAGERS])
def register_helper(session: SessionDep, who: PrincipalDep, unit_id: IdPath, data: HelperIn) -> None:
    """Let a member of another unit check in at this unit."""
    service.register_helper(session, who, unit_id, data.member_id)


@router.post("/duty/check-in", response_model=DutySessionOut, dependencies=[MEMBERS_ONLY])
def check_in(
    session: SessionDep, settings: SettingsDep, bus: BusDep, who: PrincipalDep, data: CheckIn
) -> DutySessionOut:
    """Go on duty: the scanned post code and your GPS fix (立码报)."""
    return DutySessionOut.model_validate(service.check_in(session, settings, who, data, bus=bus))


@router.post("/duty/check-out", response_model=DutySessionOut, dependencies=[MEMBERS_ONLY])
def check_out(
    session: SessionDep, settings: SettingsDep, bus: BusDep, who: PrincipalDep, data: CheckOut
) -> DutySessionOut:
    """Go off duty, by scanning the post code again or with the button (no token)."""
    return DutySessionOut.model_validate(service.check_out(session, settings, who, data.token, bus=bus))


@router.get("/duty/me", response_model=DutySessionOut | None)
def my_duty(session: SessionDep, who: PrincipalDep) -> DutySessionOut | None:
    """Your open duty session, or null when off duty."""
    duty = service.open_session(session, who.member_id) if who.member_id else None
    return DutySessionOut.model_validate(duty) if duty else None


@router.post("/duty/sessions/{session_id}/check-out", response_model=DutySessionOut, dependencies=[MANAGERS])
def force_check_out(session: SessionDep, bus: BusDep, who: PrincipalDep, session_id: IdPath) -> DutySessionOut:
    """End a member's duty (leaders of the unit, operators)."""
    return DutySessionOut.model_validate(service.force_check_out(session, who, session_id, bus=bus))


def _district_scope(who: Principal, district_id: int | None) -> int | None:
    if who.role == DISTRICT_OPERATOR:
        if district_id not in (None, who.district_id):
            raise Forbidden("district operators see their own district's board")
        return who.district_id
    return district_id


@router.get("/duty/board", response_model=BoardOut, dependencies=[OPERATORS])
def duty_board(
    session: SessionDep,
    bus: BusDep,
    who: PrincipalDep,
    level: Literal["city", "district", "street", "grid", "unit"] = "district",
    district_id: IdQuery = None,
) -> BoardOut:
    """On-duty counts per district, street, grid or unit (or the city total)."""
    service.close_expired(session, bus=bus)
    return board_service.board(session, level, _district_scope(who, district_id))


@router.get("/duty/on-duty", response_model=list[DutySessionOut], dependencies=[MANAGERS])
def on_duty(
    session: SessionDep, who: PrincipalDep, unit_id: IdQuery = None, district_id: IdQuery = None
) -> list[DutySessionOut]:
    """Who is on duty (open sessions), newest first; unit leaders see their own unit."""
    if who.role == "unit_leader":
        if unit_id not in (None, who.unit_id):
            raise Forbidden("unit leaders see their own unit")
        unit_id = who.unit_id
    return board_service.on_duty(session, unit_id, _district_scope(who, district_id))


@router.get("/duty/empty-posts", response_model=list[EmptyPost], dependencies=[OPERATORS])
def empty_posts(
    session: SessionDep, settings: SettingsDep, bus: BusDep, who: PrincipalDep, district_id: IdQuery = None
) -> list[EmptyPost]:
    """Units whose rostered shift is running with too few members on duty (空岗)."""
    service.close_expired(session, bus=bus)
    return board_service.empty_posts(
        session, datetime.now(UTC), ZoneInfo(settings.timezone), _district_scope(who, district_id)
    )
