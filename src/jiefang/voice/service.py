"""Talk groups: which exist for whom, who may talk and listen, and what was said (recordings, text).

Membership follows the data. A unit's group holds its members, a team's its team, a grid's the
members of the units in the grid, an incident's the responders who accepted it (and stay until
stood down or the incident closes); ad-hoc groups list theirs. Operators may use any group of
their district (city admins every group); a unit leader their unit's and grid's groups.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jiefang.areas.models import Area
from jiefang.commands.schemas import SelectionIn
from jiefang.commands.selection import members_inside, operator_district, shape_of
from jiefang.db import utcnow
from jiefang.dispatch.models import Assignment
from jiefang.dispatch.service import OPEN, record
from jiefang.errors import Forbidden, InvalidInput, NotFound
from jiefang.incidents.models import Incident
from jiefang.people.access import CITY_ADMIN, DISTRICT_OPERATOR, UNIT_LEADER, Principal
from jiefang.people.models import Member
from jiefang.tracking.live import LiveTracker
from jiefang.units.models import Team, Unit
from jiefang.voice.models import TalkGroup, TalkGroupMember, TalkMessage, Transmission

KINDS = ("unit", "team", "grid", "incident", "adhoc")
RESPONDING = ("accepted", "arrived")
MIME_EXTENSIONS = {"audio/webm": "webm", "audio/ogg": "ogg"}


def _source(session: Session, kind: str, ref_id: int) -> tuple[str, int | None]:
    """Return the name and district of what a group is for. Raises NotFound, InvalidInput."""
    if kind == "unit":
        unit = session.get(Unit, ref_id)
        if unit is not None:
            return unit.name, unit.district_id
    elif kind == "team":
        row = session.execute(select(Team.name, Unit.name, Unit.district_id).join(Unit, Unit.id == Team.unit_id)
                              .where(Team.id == ref_id)).first()
        if row is not None:
            return f"{row[1]} · {row[0]}", row[2]
    elif kind == "grid":
        area = session.get(Area, ref_id)
        if area is not None and area.level == "grid":
            return area.name, area.district_id
    elif kind == "incident":
        incident = session.get(Incident, ref_id)
        if incident is not None:
            return f"事件 #{incident.id} {incident.address or ''}".strip(), incident.district_id
    else:
        raise InvalidInput(f"kind must be one of {', '.join(k for k in KINDS if k != 'adhoc')}")
    raise NotFound(f"{kind} {ref_id} not found")


def group_of(session: Session, kind: str, ref_id: int) -> TalkGroup:
    """Return the talk group of a unit, team, grid or incident, made on first use."""
    group = session.scalar(select(TalkGroup).where(TalkGroup.kind == kind, TalkGroup.ref_id == ref_id))
    if group is not None:
        return group
    name, district_id = _source(session, kind, ref_id)
    group = TalkGroup(kind=kind, ref_id=ref_id, name=name, district_id=district_id)
    session.add(group)
    try:
        session.commit()
    except IntegrityError:  # made at the same moment by another request
        session.rollback()
        return session.scalars(select(TalkGroup).where(TalkGroup.kind == kind, TalkGroup.ref_id == ref_id)).one()
    return group


def get_group(session: Session, group_id: int) -> TalkGroup:
    group = session.get(TalkGroup, group_id)
    if group is None:
        raise NotFound(f"talk group {group_id} not found")
    return group


def member_ids(session: Session, group: TalkGroup) -> set[int]:
    """Return the members who belong to the group now."""
    ref = group.ref_id
    if group.kind == "unit":
        stmt = select(Member.id).where(Member.unit_id == ref, Member.status == "active")
    elif group.kind == "team":
        stmt = select(Member.id).where(Member.team_id == ref, Member.status == "active")
    elif group.kind == "grid":
        stmt = (select(Member.id).join(Unit, Unit.id == Member.unit_id)
                .where(Unit.grid_id == ref, Member.status == "active"))
    elif group.kind == "incident":
        incident = session.get(Incident, ref)
        if incident is None or incident.status not in OPEN:
            return set()
        stmt = select(Assignment.member_id).where(Assignment.incident_id == ref, Assignment.status.in_(RESPONDING))
    else:
        stmt = select(TalkGroupMember.member_id).where(TalkGroupMember.group_id == group.id)
    return set(session.scalars(stmt))


def may_use(session: Session, who: Principal, group: TalkGroup) -> bool:
    """Return True if the account may talk and listen in the group."""
    if who.role == CITY_ADMIN:
        return True
    if who.role == DISTRICT_OPERATOR:
        return group.district_id is not None and group.district_id == who.district_id
    if who.role == UNIT_LEADER and who.unit_id is not None:
        if group.kind == "unit" and group.ref_id == who.unit_id:
            return True
        unit = session.get(Unit, who.unit_id)
        if unit is not None and group.kind == "grid" and group.ref_id == unit.grid_id:
            return True
    return who.member_id is not None and who.member_id in member_ids(session, group)


def check_use(session: Session, who: Principal, group_id: int) -> TalkGroup:
    """Return the group if the account may use it. Raises NotFound (also when it may not)."""
    group = get_group(session, group_id)
    if not may_use(session, who, group):
        raise NotFound(f"talk group {group_id} not found")
    return group


def my_groups(session: Session, who: Principal) -> list[TalkGroup]:
    """Return the groups the account belongs to or follows: its unit, team and grid, the open
    incidents it answers (operators: of their district) and ad-hoc groups."""
    refs: list[tuple[str, int]] = []
    member = session.get(Member, who.member_id) if who.member_id else None
    unit_id = member.unit_id if member else who.unit_id
    unit = session.get(Unit, unit_id) if unit_id else None
    if unit is not None:
        refs.append(("unit", unit.id))
        if unit.grid_id:
            refs.append(("grid", unit.grid_id))
    if member is not None and member.team_id:
        refs.append(("team", member.team_id))
    groups = [group_of(session, kind, ref) for kind, ref in refs]
    if who.role in (CITY_ADMIN, DISTRICT_OPERATOR):
        stmt = select(Incident.id).where(Incident.status.in_(OPEN))
        if who.role == DISTRICT_OPERATOR:
            stmt = stmt.where(Incident.district_id == who.district_id)
        incidents = list(session.scalars(stmt.order_by(Incident.id.desc()).limit(50)))
        adhoc = select(TalkGroup).where(TalkGroup.kind == "adhoc")
        if who.role == DISTRICT_OPERATOR:
            adhoc = adhoc.where(TalkGroup.district_id == who.district_id)
    else:
        incidents = list(session.scalars(
            select(Assignment.incident_id).join(Incident, Incident.id == Assignment.incident_id)
            .where(Assignment.member_id == who.member_id, Assignment.status.in_(RESPONDING),
                   Incident.status.in_(OPEN))))
        adhoc = (select(TalkGroup).join(TalkGroupMember, TalkGroupMember.group_id == TalkGroup.id)
                 .where(TalkGroupMember.member_id == who.member_id))
    groups += [group_of(session, "incident", i) for i in incidents]
    groups += list(session.scalars(adhoc.order_by(TalkGroup.id.desc()).limit(50)))
    return groups


def open_group(session: Session, who: Principal, kind: str, ref_id: int) -> TalkGroup:
    """Return the group of a unit, team, grid or incident the account may use. Raises NotFound, InvalidInput."""
    group = group_of(session, kind, ref_id)
    if not may_use(session, who, group):
        raise NotFound(f"{kind} {ref_id} has no talk group you may use")
    return group


def create_adhoc(session: Session, tracker: LiveTracker, who: Principal, name: str,
                 selection: SelectionIn) -> TalkGroup:
    """Make an ad-hoc group of the members on duty inside a map selection. Raises Forbidden, InvalidInput."""
    shape = shape_of(session, who, selection)
    members = members_inside(session, tracker, who, shape, selection.skills)
    if not members:
        raise InvalidInput("nobody is on duty inside the selection; no talk group was made")
    group = TalkGroup(kind="adhoc", ref_id=None, name=name, district_id=operator_district(who),
                      created_by=who.account_id or None)
    session.add(group)
    session.flush()
    session.add_all(TalkGroupMember(group_id=group.id, member_id=m.member_id) for m in members)
    session.commit()
    return group


def remove_member(session: Session, who: Principal, group_id: int, member_id: int) -> None:
    """Take a member out of an ad-hoc group. Raises NotFound, Forbidden, InvalidInput."""
    group = check_use(session, who, group_id)
    if who.role not in (CITY_ADMIN, DISTRICT_OPERATOR):
        raise Forbidden("operators change talk groups")
    if group.kind != "adhoc":
        raise InvalidInput(f"a {group.kind} group follows its {group.kind}; only ad-hoc groups list members")
    row = session.scalar(select(TalkGroupMember).where(TalkGroupMember.group_id == group.id,
                                                       TalkGroupMember.member_id == member_id))
    if row is None:
        raise NotFound(f"member {member_id} is not in talk group {group_id}")
    session.delete(row)
    session.commit()


def speaker_name(session: Session, who: Principal) -> str:
    if who.member_id is not None:
        member = session.get(Member, who.member_id)
        if member is not None:
            return member.name
    return who.username


def start_transmission(session: Session, who: Principal, group: TalkGroup, mime: str, voice_dir: Path,
                       now: datetime | None = None) -> Transmission:
    """Store the start of a transmission and make its file's place. Raises InvalidInput for an unknown mime."""
    base = mime.split(";")[0].strip().lower()
    if base not in MIME_EXTENSIONS:
        raise InvalidInput(f"audio must be one of {', '.join(MIME_EXTENSIONS)} (Opus), got {mime!r}")
    tx = Transmission(group_id=group.id, incident_id=group.ref_id if group.kind == "incident" else None,
                      account_id=who.account_id or None, member_id=who.member_id, speaker=speaker_name(session, who),
                      mime=mime[:60], path="", started_at=now or utcnow())
    session.add(tx)
    session.flush()
    tx.path = f"{group.id}/{tx.id}.{MIME_EXTENSIONS[base]}"
    (voice_dir / str(group.id)).mkdir(parents=True, exist_ok=True)
    session.commit()
    return tx


def finish_transmission(session: Session, tx_id: int, size: int, duration_ms: int, reason: str,
                        now: datetime | None = None) -> Transmission:
    """Store how a transmission ended; an incident's transmissions go on its timeline."""
    tx = session.get_one(Transmission, tx_id)
    tx.ended_at, tx.bytes, tx.duration_ms, tx.ended_reason = now or utcnow(), size, duration_ms, reason
    if tx.incident_id is not None:
        record(session, tx.incident_id, "voice", tx.ended_at, account_id=tx.account_id, member_id=tx.member_id,
               transmission_id=tx.id, duration_ms=duration_ms)
    session.commit()
    return tx


def add_message(session: Session, who: Principal, group: TalkGroup, text: str) -> TalkMessage:
    message = TalkMessage(group_id=group.id, account_id=who.account_id or None, author=speaker_name(session, who),
                          text=text, at=utcnow())
    session.add(message)
    session.commit()
    return message


def transmissions(session: Session, who: Principal, group_id: int, limit: int = 100) -> list[Transmission]:
    """Return a group's finished transmissions, newest first. Raises NotFound."""
    check_use(session, who, group_id)
    return list(session.scalars(select(Transmission).where(Transmission.group_id == group_id,
                                                           Transmission.ended_at.is_not(None))
                                .order_by(Transmission.started_at.desc()).limit(limit)))


def messages(session: Session, who: Principal, group_id: int, limit: int = 200) -> list[TalkMessage]:
    """Return a group's text messages, oldest first (the latest ``limit``). Raises NotFound."""
    check_use(session, who, group_id)
    rows = session.scalars(select(TalkMessage).where(TalkMessage.group_id == group_id)
                           .order_by(TalkMessage.at.desc(), TalkMessage.id.desc()).limit(limit))
    return list(reversed(list(rows)))


def recording(session: Session, who: Principal, tx_id: int, voice_dir: Path) -> tuple[Path, Transmission]:
    """Return the file of a finished transmission the account may hear. Raises NotFound."""
    tx = session.get(Transmission, tx_id)
    if tx is None or tx.ended_at is None:
        raise NotFound(f"transmission {tx_id} not found")
    check_use_or_incident(session, who, tx)
    path = voice_dir / tx.path
    if not path.is_file():
        raise NotFound(f"the recording of transmission {tx_id} is missing")
    return path, tx


def check_use_or_incident(session: Session, who: Principal, tx: Transmission) -> None:
    """Operators of the incident's district may replay its recordings after it closed (review)."""
    group = get_group(session, tx.group_id)
    if may_use(session, who, group):
        return
    if tx.incident_id is not None and who.role in (CITY_ADMIN, DISTRICT_OPERATOR):
        incident = session.get(Incident, tx.incident_id)
        if incident is not None and (who.role == CITY_ADMIN or incident.district_id == who.district_id):
            return
    raise NotFound(f"transmission {tx.id} not found")


def incident_recordings(session: Session, who: Principal, incident_id: int) -> list[Transmission]:
    """Return an incident's finished transmissions, oldest first. Raises NotFound."""
    if who.role not in (CITY_ADMIN, DISTRICT_OPERATOR):
        raise NotFound(f"incident {incident_id} not found")
    incident = session.get(Incident, incident_id)
    if incident is None or (who.role == DISTRICT_OPERATOR and incident.district_id != who.district_id):
        raise NotFound(f"incident {incident_id} not found")
    return list(session.scalars(select(Transmission).where(Transmission.incident_id == incident_id,
                                                           Transmission.ended_at.is_not(None))
                                .order_by(Transmission.started_at)))


def describe(group: TalkGroup) -> dict[str, object]:
    return {"id": group.id, "kind": group.kind, "ref_id": group.ref_id, "name": group.name,
            "district_id": group.district_id}

