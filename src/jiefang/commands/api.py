"""HTTP routes for map selection and group commands: preview, send, follow, and a member's inbox."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from jiefang.api.deps import MEMBERS_ONLY, BusDep, IdPath, PrincipalDep, SessionDep, TrackerDep, require_roles
from jiefang.commands import selection, service
from jiefang.commands.schemas import CommandDetail, CommandIn, CommandOut, InboxItem, ReplyIn, SelectionIn, SelectionOut
from jiefang.people.access import CITY_ADMIN, DISTRICT_OPERATOR

router = APIRouter(prefix="/api", tags=["commands"])
OPERATORS = require_roles(CITY_ADMIN, DISTRICT_OPERATOR)


@router.post("/selection", response_model=SelectionOut, dependencies=[OPERATORS])
def preview(session: SessionDep, tracker: TrackerDep, who: PrincipalDep, data: SelectionIn) -> SelectionOut:
    """What a map selection (地图圈选) holds: units by category, members on duty by skill."""
    return selection.preview(session, tracker, who, data)


@router.post("/commands", response_model=CommandOut, status_code=status.HTTP_201_CREATED, dependencies=[OPERATORS])
def send(session: SessionDep, bus: BusDep, tracker: TrackerDep, who: PrincipalDep, data: CommandIn) -> CommandOut:
    """Send a group command (群指令) to every member on duty inside the selection."""
    command = service.send(session, bus, tracker, who, data)
    return CommandOut(id=command.id, text=command.text, priority=command.priority,
                      reply_required=command.reply_required, sender=command.sender, sent_at=command.sent_at,
                      recipients=command.recipients, delivered=0, read=0, replied=0)


@router.get("/commands", response_model=list[CommandOut], dependencies=[OPERATORS])
def list_commands(
    session: SessionDep, who: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50, offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[CommandOut]:
    """Commands sent in your scope, newest first, with delivered/read/replied counts."""
    return service.list_commands(session, who, limit, offset)


@router.get("/commands/mine", response_model=list[InboxItem])
def inbox(session: SessionDep, bus: BusDep, who: PrincipalDep) -> list[InboxItem]:
    """Your command inbox, newest first; reading it marks new commands delivered."""
    return service.inbox(session, bus, who)


@router.get("/commands/{command_id}", response_model=CommandDetail, dependencies=[OPERATORS])
def command_detail(session: SessionDep, who: PrincipalDep, command_id: IdPath) -> CommandDetail:
    """A command with each recipient's delivery, read and reply receipt."""
    return service.command_detail(session, who, command_id)


@router.post("/commands/{command_id}/delivered", response_model=InboxItem, dependencies=[MEMBERS_ONLY])
def delivered(session: SessionDep, bus: BusDep, who: PrincipalDep, command_id: IdPath) -> InboxItem:
    """Your app received the command."""
    return service.mark(session, bus, who, command_id, "delivered")


@router.post("/commands/{command_id}/read", response_model=InboxItem, dependencies=[MEMBERS_ONLY])
def read(session: SessionDep, bus: BusDep, who: PrincipalDep, command_id: IdPath) -> InboxItem:
    """You read the command."""
    return service.mark(session, bus, who, command_id, "read")


@router.post("/commands/{command_id}/reply", response_model=InboxItem, dependencies=[MEMBERS_ONLY])
def reply(session: SessionDep, bus: BusDep, who: PrincipalDep, command_id: IdPath, data: ReplyIn) -> InboxItem:
    """Reply to the command (once)."""
    return service.reply(session, bus, who, command_id, data.text)
