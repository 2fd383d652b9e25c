"""Incident intake (console, phone SOS, external systems, IoT alarms), reading and closing.

An accepted report is committed, with its first timeline line, before dispatch starts and
before the reporter is answered. External systems and phones send an idempotency key: the same
key never makes two incidents, also when two requests race (the unique index decides). A phone's
key is kept per account (``account_key``) in the incident's own transaction.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jiefang.areas.service import locate
from jiefang.db import utcnow
from jiefang.dispatch.compliance import tier_compliance
from jiefang.dispatch.models import Assignment, TierState
from jiefang.dispatch.service import Dispatcher, announce, open_tiers, record
from jiefang.errors import Conflict, Forbidden, InvalidInput, NotFound
from jiefang.geo.projection import haversine_m
from jiefang.incidents.models import AlarmDevice, Incident, IncidentEvent
from jiefang.incidents.schemas import (
    AssignmentOut,
    DeviceIn,
    IncidentDetail,
    IncidentIn,
    IncidentOut,
    SosIn,
    TierOut,
    TimelineOut,
)
from jiefang.people.access import CITY_ADMIN, DISTRICT_OPERATOR, UNIT_LEADER, Principal, can_manage_unit
from jiefang.people.models import Member
from jiefang.units.models import Unit

SITE_RADIUS_M = 150.0  # an incident this close to a unit's site is at that unit


def site_unit(session: Session, lon: float, lat: float, radius_m: float = SITE_RADIUS_M) -> Unit | None:
    """Return the nearest active unit whose site is within ``radius_m`` of the point, or None."""
    dlat = radius_m / 111_195.0
    dlon = dlat / max(math.cos(math.radians(lat)), 0.01)
    near = session.scalars(select(Unit).where(
        Unit.status == "active", Unit.lon.between(lon - dlon, lon + dlon), Unit.lat.between(lat - dlat, lat + dlat)
    )).all()
    scored = [(float(haversine_m(u.lon, u.lat, lon, lat)), u.id, u) for u in near]
    scored = [s for s in scored if s[0] <= radius_m]
    return min(scored)[2] if scored else None


def _new(session: Session, d: Dispatcher, *, type_: str, severity: int | None, lon: float, lat: float,
         source: str, now: datetime, unit: Unit | None = None, **fields: object) -> Incident:
    book = d.playbook(type_)
    unit = unit or site_unit(session, lon, lat)
    where = locate(session, lon, lat)
    district_id = where.get("district") or (unit.district_id if unit else None)
    return Incident(type=type_, severity=severity or book.default_severity, status="reported", source=source,
                    lon=lon, lat=lat, unit_id=unit.id if unit else None, district_id=district_id,
                    street_id=where.get("street"), grid_id=where.get("grid"), reported_at=now, **fields)


def _open(session: Session, d: Dispatcher, incident: Incident, who: Principal | None, now: datetime) -> Incident:
    """Commit a new incident, its first timeline lines and its first alerts in one transaction
    (one wait for the write lock on the way to the first alert), then tell everyone."""
    session.add(incident)
    session.flush()
    record(session, incident.id, "reported", now, account_id=who.account_id if who else None,
           member_id=incident.reporter_member_id, source=incident.source)
    made = open_tiers(session, d, incident, now)
    session.commit()
    d.bus.publish("incident.reported", incident_id=incident.id, incident_type=incident.type,
                  severity=incident.severity, lon=incident.lon, lat=incident.lat, address=incident.address,
                  district_id=incident.district_id, unit_id=incident.unit_id, source=incident.source)
    announce(session, d, incident, made)
    return incident


def _named_unit(session: Session, unit_id: int | None) -> Unit | None:
    if unit_id is None:
        return None
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise NotFound(f"unit {unit_id} not found")
    return unit


def _check_reporter(who: Principal, district_id: int | None) -> None:
    if who.role == CITY_ADMIN:
        return
    if who.role == DISTRICT_OPERATOR and district_id == who.district_id:
        return
    raise Forbidden("operators report incidents in their own district (members use SOS)")


def account_key(account_id: int, key: str) -> str:
    """An account's Idempotency-Key as kept on the incident it made: bounded, and never another account's."""
    return f"acct:{account_id}:{hashlib.sha256(key.encode()).hexdigest()[:40]}"


def _open_once(session: Session, d: Dispatcher, incident: Incident, who: Principal | None,
               now: datetime) -> tuple[Incident, bool]:
    """Open ``incident`` unless one with its ``external_key`` exists; return (incident, created).

    The key is committed with the incident, so a repeat finds it even if the first answer was lost;
    of two racing requests the unique index lets one in and the other returns its incident.
    """
    key = incident.external_key
    if key is not None:
        existing = session.scalar(select(Incident).where(Incident.external_key == key))
        if existing is not None:
            return existing, False
    try:
        return _open(session, d, incident, who, now), True
    except IntegrityError:
        session.rollback()
        if key is None:
            raise
        return session.scalars(select(Incident).where(Incident.external_key == key)).one(), False


def report(session: Session, d: Dispatcher, who: Principal, data: IncidentIn, now: datetime | None = None,
           key: str | None = None) -> Incident:
    """An operator reports an incident at the console; it is dispatched at once.

    ``key`` (the request's Idempotency-Key) makes a repeat return the first incident.
    Raises Forbidden (outside the operator's district), InvalidInput (unknown type), NotFound.
    """
    now = now or utcnow()
    incident = _new(session, d, type_=data.type, severity=data.severity, lon=data.lon, lat=data.lat,
                    source="console", now=now, unit=_named_unit(session, data.unit_id), address=data.address,
                    description=data.description, reporter_account_id=who.account_id or None,
                    external_key=account_key(who.account_id, key) if key else None)
    _check_reporter(who, incident.district_id)
    return _open_once(session, d, incident, who, now)[0]


def sos(session: Session, d: Dispatcher, who: Principal, data: SosIn, now: datetime | None = None,
        key: str | None = None) -> Incident:
    """A member's one-tap SOS (or hazard report) at their phone's position.

    ``key`` (the request's Idempotency-Key) makes a repeat return the first incident.
    Raises Forbidden without a member record, InvalidInput for an unknown type.
    """
    now = now or utcnow()
    if who.member_id is None:
        raise Forbidden("SOS is sent by members; this account has no member record")
    member = session.get_one(Member, who.member_id)
    incident = _new(session, d, type_=data.type, severity=None, lon=data.lon, lat=data.lat, source="sos", now=now,
                    description=data.description, reporter_account_id=who.account_id or None,
                    reporter_member_id=member.id, external_key=account_key(who.account_id, key) if key else None)
    return _open_once(session, d, incident, who, now)[0]


def report_external(session: Session, d: Dispatcher, who: Principal, data: IncidentIn, key: str,
                    now: datetime | None = None) -> tuple[Incident, bool]:
    """An external system (110 police dispatch, a city platform) reports with an idempotency key.

    Returns (incident, created): the same key returns the first incident unchanged.
    Raises Forbidden for roles other than city admin, InvalidInput for a bad key or type.
    """
    if who.role != CITY_ADMIN:
        raise Forbidden("external systems report with a city-level integration account")
    if not 1 <= len(key) <= 100 or not key.isprintable():
        raise InvalidInput("Idempotency-Key must be 1 to 100 printable characters")
    now = now or utcnow()
    incident = _new(session, d, type_=data.type, severity=data.severity, lon=data.lon, lat=data.lat,
                    source="external", now=now, unit=_named_unit(session, data.unit_id),
                    address=data.address, description=data.description, reporter_account_id=who.account_id or None,
                    external_key=key)
    return _open_once(session, d, incident, who, now)


def report_alarm(session: Session, d: Dispatcher, device_key: str, alarm_type: str, lon: float | None,
                 lat: float | None, message_key: str | None = None, now: datetime | None = None) -> Incident:
    """An IoT alarm from a registered device becomes an incident at the device's unit.

    ``message_key`` (device id + the device's message id) de-duplicates redelivered alarms.
    Raises NotFound for an unknown or retired device.
    """
    device = session.scalar(select(AlarmDevice).where(AlarmDevice.device_key == device_key,
                                                      AlarmDevice.active.is_(True)))
    if device is None:
        raise NotFound(f"alarm device {device_key!r} is not registered")
    key = f"iot:{message_key}" if message_key else None
    if key and (existing := session.scalar(select(Incident).where(Incident.external_key == key))) is not None:
        return existing
    now = now or utcnow()
    type_ = alarm_type if alarm_type in d.playbooks else device.incident_type
    incident = _new(session, d, type_=type_, severity=None, lon=device.lon if lon is None else lon,
                    lat=device.lat if lat is None else lat, source="iot", now=now,
                    unit=session.get(Unit, device.unit_id), device_id=device.id, external_key=key,
                    description=f"{device.kind} {device.device_key}: {alarm_type}")
    return _open_once(session, d, incident, None, now)[0]


def register_device(session: Session, who: Principal, data: DeviceIn) -> AlarmDevice:
    """Register an alarm device to a unit (operators of its district, its leader). Raises Forbidden, Conflict."""
    unit = _named_unit(session, data.unit_id)
    assert unit is not None
    if not can_manage_unit(who, unit.id, unit.district_id):
        raise Forbidden(f"unit {unit.code} is outside your scope")
    device = AlarmDevice(**data.model_dump(), active=True)
    session.add(device)
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(f"device {data.device_key!r} is already registered") from exc
    return device


def visible_incidents(who: Principal) -> object:
    """The incidents a role may read."""
    if who.role == CITY_ADMIN:
        return True
    if who.role == DISTRICT_OPERATOR:
        return Incident.district_id == who.district_id
    mine = select(Assignment.incident_id).where(Assignment.member_id == who.member_id)
    if who.role == UNIT_LEADER:
        return or_(Incident.unit_id == who.unit_id, Incident.id.in_(mine),
                   Incident.id.in_(select(Assignment.incident_id).where(Assignment.unit_id == who.unit_id)))
    return or_(Incident.id.in_(mine), Incident.reporter_member_id == who.member_id)


def get_incident(session: Session, who: Principal, incident_id: int) -> Incident:
    """Return an incident the caller may see; raises NotFound (also for one outside their scope)."""
    incident = session.scalar(select(Incident).where(Incident.id == incident_id, visible_incidents(who)))  # type: ignore[arg-type]
    if incident is None:
        raise NotFound(f"incident {incident_id} not found")
    return incident


def list_incidents(session: Session, who: Principal, status: str | None, type_: str | None, open_only: bool,
                   limit: int, offset: int) -> list[Incident]:
    """Return visible incidents, newest first, filtered."""
    stmt = (select(Incident).where(visible_incidents(who), Incident.drill.is_(False))  # type: ignore[arg-type]
            .order_by(Incident.reported_at.desc(), Incident.id.desc()))  # drills are listed under /api/drills
    if status:
        stmt = stmt.where(Incident.status == status)
    if type_:
        stmt = stmt.where(Incident.type == type_)
    if open_only:
        stmt = stmt.where(Incident.status.in_(("reported", "dispatching", "on_scene")))
    return list(session.scalars(stmt.limit(limit).offset(offset)))


def detail(session: Session, who: Principal, incident_id: int) -> IncidentDetail:
    """Return an incident with its tiers, alerts, timeline and 1-3-5 compliance."""
    incident = get_incident(session, who, incident_id)
    tiers = list(session.scalars(select(TierState).where(TierState.incident_id == incident.id).order_by(TierState.id)))
    assignments = list(session.scalars(select(Assignment).where(Assignment.incident_id == incident.id)
                                       .order_by(Assignment.id)))
    if who.role == "member":  # a member sees their own alert, not who else was called
        assignments = [a for a in assignments if a.member_id == who.member_id]
    names = _names(session, assignments)
    events = session.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == incident.id)
                             .order_by(IncidentEvent.at, IncidentEvent.id))
    return IncidentDetail(
        **IncidentOut.model_validate(incident).model_dump(),
        tiers=[TierOut.model_validate(t) for t in tiers],
        assignments=[AssignmentOut.model_validate(a).model_copy(update=names.get(a.id, {})) for a in assignments],
        timeline=[TimelineOut(at=e.at, kind=e.kind, account_id=e.account_id, member_id=e.member_id,
                              detail=json.loads(e.detail or "{}")) for e in events],
        compliance=tier_compliance(incident.reported_at, tiers, assignments) if who.role != "member" else [],
    )


def _names(session: Session, assignments: list[Assignment]) -> dict[int, dict[str, str]]:
    """Return each assignment's member and unit names (no personal data) by assignment id."""
    if not assignments:
        return {}
    rows = session.execute(select(Member.id, Member.name, Unit.name).join(Unit, Unit.id == Member.unit_id)
                           .where(Member.id.in_({a.member_id for a in assignments}))).all()
    by_member = {m: {"member_name": name, "unit_name": unit} for m, name, unit in rows}
    return {a.id: by_member.get(a.member_id, {}) for a in assignments}


def my_alerts(session: Session, who: Principal, open_only: bool = True) -> list[Assignment]:
    """Return the caller's alerts, newest first (open incidents only by default)."""
    if who.member_id is None:
        return []
    stmt = (select(Assignment).join(Incident, Incident.id == Assignment.incident_id)
            .where(Assignment.member_id == who.member_id).order_by(Assignment.alerted_at.desc()))
    if open_only:
        stmt = stmt.where(Incident.status.in_(("reported", "dispatching", "on_scene")))
    return list(session.scalars(stmt.limit(100)))
