"""Group commands (群指令): send to the members on duty inside a selection, follow each receipt.

The command and every recipient's receipt are committed before anyone is told. A member's
receipt moves forward only (delivered → read → replied) and each step is published to the
operators of the sender's district, so the console follows delivery live.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiefang.commands.models import CommandReceipt, GroupCommand
from jiefang.commands.schemas import CommandDetail, CommandIn, CommandOut, InboxItem, ReceiptOut
from jiefang.commands.selection import members_inside, operator_district, shape_of
from jiefang.db import utcnow
from jiefang.errors import Conflict, Forbidden, InvalidInput, NotFound
from jiefang.events import EventBus
from jiefang.people.access import Principal
from jiefang.people.models import Member
from jiefang.tracking.live import LiveTracker
from jiefang.units.models import Unit

MARKS = ("delivered", "read")


def send(session: Session, bus: EventBus, tracker: LiveTracker, who: Principal, data: CommandIn,
         now: datetime | None = None) -> GroupCommand:
    """Send a command to everyone on duty inside the selection now; return it.

    Raises Forbidden (not an operator, area outside the district), NotFound, InvalidInput
    (bad selection, or nobody on duty inside it).
    """
    now = now or utcnow()
    shape = shape_of(session, who, data.selection)
    members = members_inside(session, tracker, who, shape, data.selection.skills)
    if not members:
        raise InvalidInput("nobody is on duty inside the selection; the command was not sent")
    command = GroupCommand(text=data.text, priority=data.priority, reply_required=data.reply_required,
                           selection=data.selection.model_dump_json(exclude_defaults=True),
                           district_id=operator_district(who), sent_by=who.account_id or None,
                           sender=who.username, sent_at=now, recipients=len(members))
    session.add(command)
    session.flush()
    session.add_all(CommandReceipt(command_id=command.id, member_id=m.member_id, unit_id=m.unit_id) for m in members)
    session.commit()
    bus.publish("command.sent", command_id=command.id, text=command.text, priority=command.priority,
                reply_required=command.reply_required, sent_at=now.isoformat(), sender=command.sender,
                recipients=command.recipients, district_id=command.district_id,
                member_ids=[m.member_id for m in members])
    return command


def _visible(who: Principal) -> object:
    district = operator_district(who)
    return True if district is None else GroupCommand.district_id == district


def _counts(session: Session, ids: list[int]) -> dict[int, tuple[int, int, int]]:
    rows = session.execute(
        select(CommandReceipt.command_id, func.count(CommandReceipt.delivered_at), func.count(CommandReceipt.read_at),
               func.count(CommandReceipt.replied_at))
        .where(CommandReceipt.command_id.in_(ids)).group_by(CommandReceipt.command_id))
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def _out(command: GroupCommand, counts: tuple[int, int, int]) -> CommandOut:
    delivered, read, replied = counts
    return CommandOut(id=command.id, text=command.text, priority=command.priority,
                      reply_required=command.reply_required, sender=command.sender, sent_at=command.sent_at,
                      recipients=command.recipients, delivered=delivered, read=read, replied=replied)


def list_commands(session: Session, who: Principal, limit: int, offset: int) -> list[CommandOut]:
    """Return the commands the operator may follow, newest first, with receipt counts. Raises Forbidden."""
    commands = list(session.scalars(select(GroupCommand).where(_visible(who))  # type: ignore[arg-type]
                                    .order_by(GroupCommand.sent_at.desc(), GroupCommand.id.desc())
                                    .limit(limit).offset(offset)))
    counts = _counts(session, [c.id for c in commands])
    return [_out(c, counts.get(c.id, (0, 0, 0))) for c in commands]


def command_detail(session: Session, who: Principal, command_id: int) -> CommandDetail:
    """Return a command with every recipient's receipt (names and units, no personal data).

    Raises NotFound (also outside the operator's scope), Forbidden.
    """
    command = session.scalar(select(GroupCommand).where(GroupCommand.id == command_id, _visible(who)))  # type: ignore[arg-type]
    if command is None:
        raise NotFound(f"command {command_id} not found")
    rows = session.execute(
        select(CommandReceipt, Member.name, Unit.name).join(Member, Member.id == CommandReceipt.member_id)
        .join(Unit, Unit.id == CommandReceipt.unit_id).where(CommandReceipt.command_id == command.id)
        .order_by(Unit.name, Member.name)).all()
    receipts = [ReceiptOut(member_id=r.member_id, name=name, unit_id=r.unit_id, unit_name=unit_name,
                           delivered_at=r.delivered_at, read_at=r.read_at, reply=r.reply, replied_at=r.replied_at)
                for r, name, unit_name in rows]
    counts = (sum(r.delivered_at is not None for r in receipts), sum(r.read_at is not None for r in receipts),
              sum(r.replied_at is not None for r in receipts))
    return CommandDetail(**_out(command, counts).model_dump(), selection=json.loads(command.selection),
                         receipts=receipts)


def _item(command: GroupCommand, r: CommandReceipt) -> InboxItem:
    return InboxItem(id=command.id, text=command.text, priority=command.priority,
                     reply_required=command.reply_required, sender=command.sender, sent_at=command.sent_at,
                     delivered_at=r.delivered_at, read_at=r.read_at, reply=r.reply, replied_at=r.replied_at)


def _publish(bus: EventBus, command: GroupCommand, r: CommandReceipt) -> None:
    bus.publish("command.receipt", command_id=command.id, member_id=r.member_id, unit_id=r.unit_id,
                district_id=command.district_id,
                delivered_at=r.delivered_at.isoformat() if r.delivered_at else None,
                read_at=r.read_at.isoformat() if r.read_at else None, reply=r.reply,
                replied_at=r.replied_at.isoformat() if r.replied_at else None)


def inbox(session: Session, bus: EventBus, who: Principal, limit: int = 100,
          now: datetime | None = None) -> list[InboxItem]:
    """Return the caller's commands, newest first; those not yet delivered are marked delivered now."""
    if who.member_id is None:
        return []
    now = now or utcnow()
    rows = session.execute(
        select(GroupCommand, CommandReceipt).join(CommandReceipt, CommandReceipt.command_id == GroupCommand.id)
        .where(CommandReceipt.member_id == who.member_id)
        .order_by(GroupCommand.sent_at.desc(), GroupCommand.id.desc()).limit(limit)).all()
    fresh = [(c, r) for c, r in rows if r.delivered_at is None]
    for _, r in fresh:
        r.delivered_at = now
    if fresh:
        session.commit()
        for c, r in fresh:
            _publish(bus, c, r)
    return [_item(c, r) for c, r in rows]


def _receipt(session: Session, who: Principal, command_id: int) -> tuple[GroupCommand, CommandReceipt]:
    if who.member_id is None:
        raise Forbidden("only members receive commands; this account has no member record")
    row = session.execute(
        select(GroupCommand, CommandReceipt).join(CommandReceipt, CommandReceipt.command_id == GroupCommand.id)
        .where(GroupCommand.id == command_id, CommandReceipt.member_id == who.member_id)).first()
    if row is None:
        raise NotFound(f"command {command_id} not found in your inbox")
    return row[0], row[1]


def mark(session: Session, bus: EventBus, who: Principal, command_id: int, what: str,
         now: datetime | None = None) -> InboxItem:
    """Mark a command delivered or read for the caller (read implies delivered); repeating is harmless.

    Raises NotFound, Forbidden, InvalidInput.
    """
    if what not in MARKS:
        raise InvalidInput(f"mark must be one of {', '.join(MARKS)}")
    now = now or utcnow()
    command, r = _receipt(session, who, command_id)
    changed = r.delivered_at is None or (what == "read" and r.read_at is None)
    r.delivered_at = r.delivered_at or now
    if what == "read":
        r.read_at = r.read_at or now
    if changed:
        session.commit()
        _publish(bus, command, r)
    return _item(command, r)


def reply(session: Session, bus: EventBus, who: Principal, command_id: int, text: str,
          now: datetime | None = None) -> InboxItem:
    """Reply to a command once (the same reply again is harmless). Raises NotFound, Forbidden, Conflict."""
    now = now or utcnow()
    command, r = _receipt(session, who, command_id)
    if r.reply is not None:
        if r.reply == text:
            return _item(command, r)
        raise Conflict(f"you already replied to command {command_id}")
    r.delivered_at = r.delivered_at or now
    r.read_at = r.read_at or now
    r.reply, r.replied_at = text, now
    session.commit()
    _publish(bus, command, r)
    return _item(command, r)
