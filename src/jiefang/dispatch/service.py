"""1-3-5 dispatch against the database: waves of alerts, answers, silence, escalation, arrival.

Every alert (assignment) and every deadline is committed before anyone is told, so a restart
resumes the timers from the database (``sweep``) and no answer is lost. Deadlines are claimed
with a conditional UPDATE, so two sweeps never time the same alert out twice.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import func, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from jiefang.db import utcnow
from jiefang.dispatch.models import Assignment, TierState
from jiefang.dispatch.notify import Alert, LoggingNotifier, Notifier
from jiefang.dispatch.selection import Candidate, TierNeed, select_tier
from jiefang.errors import Conflict, Forbidden, InvalidInput, NotFound
from jiefang.events import EventBus
from jiefang.geo.projection import haversine_m
from jiefang.incidents.models import Incident, IncidentEvent
from jiefang.incidents.playbooks import Playbook, TierSpec
from jiefang.people.access import Principal
from jiefang.tracking.live import LiveTracker

log = logging.getLogger(__name__)
OPEN = ("reported", "dispatching", "on_scene")
ACTIVE = ("alerted", "accepted", "arrived")
OUTCOMES = ("resolved", "false_alarm", "handed_to_police")
RADIUS_GROWTH = 2.0


@dataclass
class Dispatcher:
    """What dispatch works with: the live picture, the event bus, notifiers and playbooks."""

    tracker: LiveTracker
    bus: EventBus
    playbooks: dict[str, Playbook]
    notifiers: list[Notifier] = field(default_factory=lambda: [LoggingNotifier()])
    short_retry_s: float = 10.0  # a tier short of people searches again this often
    _retried: dict[int, datetime] = field(default_factory=dict)  # tier id -> last search

    def playbook(self, incident_type: str) -> Playbook:
        """Return the playbook of a type; raises InvalidInput naming the known types."""
        book = self.playbooks.get(incident_type)
        if book is None:
            raise InvalidInput(f"unknown incident type {incident_type!r}; known: {', '.join(sorted(self.playbooks))}")
        return book


def record(session: Session, incident_id: int, kind: str, at: datetime, *, account_id: int | None = None,
           member_id: int | None = None, **detail: Any) -> None:
    """Add a line to an incident's timeline (committed by the caller)."""
    session.add(IncidentEvent(incident_id=incident_id, kind=kind, at=at, account_id=account_id or None,
                              member_id=member_id, detail=json.dumps(detail, ensure_ascii=False, default=str)))


def tier_need(spec: TierSpec, radius_m: float | None = None, responders: int | None = None) -> TierNeed:
    """Return what a playbook tier asks of the selection (by default its first search radius and
    full count of responders)."""
    return TierNeed(spec.tier, spec.responders if responders is None else responders,
                    spec.search_radius_m if radius_m is None else radius_m, tuple(spec.skills_all),
                    tuple(spec.skills_any), tuple(spec.equipment), spec.own_unit)


def _assigned(session: Session, incident_id: int) -> list[Assignment]:
    return list(session.scalars(select(Assignment).where(Assignment.incident_id == incident_id)))


def _fill(session: Session, d: Dispatcher, incident: Incident, tier: TierState, spec: TierSpec, taken: set[int],
          now: datetime) -> list[Assignment]:
    """Alert members until the tier has what it needs, widening the search up to the playbook's limit."""
    have = session.scalar(select(func.count(Assignment.id)).where(
        Assignment.incident_id == incident.id, Assignment.tier == tier.tier, Assignment.status.in_(ACTIVE))) or 0
    missing = tier.needed - have
    made: list[Assignment] = []
    while missing > 0:
        picks = select_tier(d.tracker.store, incident.lon, incident.lat, tier_need(spec, tier.radius_m, missing), taken,
                            d.tracker.unit_of, incident.unit_id)
        made += [_alert(session, incident, c, spec, now) for c in picks]
        missing -= len(picks)
        if missing <= 0 or tier.radius_m >= spec.max_radius_m:
            break
        tier.radius_m = min(tier.radius_m * RADIUS_GROWTH, spec.max_radius_m)
        tier.escalations += 1
        record(session, incident.id, "escalated", now, tier=tier.tier, radius_m=tier.radius_m, missing=missing)
    new_status = "staffed" if missing <= 0 else "short"
    if new_status != tier.status:
        tier.status = new_status
        if new_status == "short":
            record(session, incident.id, "tier_short", now, tier=tier.tier, missing=missing, radius_m=tier.radius_m)
    return made


def _alert(session: Session, incident: Incident, c: Candidate, spec: TierSpec, now: datetime) -> Assignment:
    a = Assignment(incident_id=incident.id, member_id=c.member_id, unit_id=c.unit_id, tier=c.tier, status="alerted",
                   distance_m=round(c.distance_m, 1), eta_s=round(c.eta_s, 1), alerted_at=now,
                   answer_by=now + timedelta(seconds=spec.ack_timeout_s), notified="")
    session.add(a)
    record(session, incident.id, "alerted", now, member_id=c.member_id, tier=c.tier, eta_s=round(c.eta_s),
           distance_m=round(c.distance_m))
    return a


def open_tiers(session: Session, d: Dispatcher, incident: Incident, now: datetime) -> list[Assignment]:
    """Open the three tiers of a new incident and alert the first wave of each, in the caller's
    transaction; return the alerts. The caller commits, then calls ``announce``."""
    book = d.playbook(incident.type)
    taken = {a.member_id for a in _assigned(session, incident.id)}
    made: list[Assignment] = []
    for spec in book.tiers:
        tier = TierState(incident_id=incident.id, tier=spec.tier, needed=spec.responders, radius_m=spec.search_radius_m,
                         deadline_at=incident.reported_at + timedelta(seconds=spec.deadline_s), status="open",
                         escalations=0)
        session.add(tier)
        made += _fill(session, d, incident, tier, spec, taken, now)
        if spec.police_handover and incident.severity <= 1:
            incident.police_handover = True
    incident.status = "dispatching"
    record(session, incident.id, "dispatched", now, alerted=len(made))
    return made


def announce(session: Session, d: Dispatcher, incident: Incident, made: list[Assignment]) -> None:
    """Tell each alerted member (app and notifiers) and the operators; store what notifiers said."""
    for a in made:
        alert = Alert(a.id, a.member_id, incident.id, incident.type, a.tier, incident.lon, incident.lat,
                      incident.address, a.eta_s, a.answer_by.isoformat() if a.answer_by else None, incident.drill)
        d.bus.publish("dispatch.alert", member_id=a.member_id, assignment_id=a.id, incident_id=incident.id,
                      incident_type=incident.type, severity=incident.severity, tier=a.tier, lon=incident.lon,
                      lat=incident.lat, address=incident.address, eta_s=a.eta_s, distance_m=a.distance_m,
                      answer_by=alert.answer_by_iso, district_id=incident.district_id, unit_id=a.unit_id,
                      drill=incident.drill)
        statuses = []
        for notifier in d.notifiers:
            try:
                statuses.append(f"{notifier.name}:{notifier.notify(alert)}")
            except Exception as exc:  # a gateway failing must not stop the other alerts
                log.exception("notifier %s failed for assignment %s", notifier.name, a.id)
                statuses.append(f"{notifier.name}:failed:{type(exc).__name__}")
        a.notified = " ".join(statuses)[:200]
    if made:
        session.commit()


def _own(session: Session, who: Principal, assignment_id: int) -> tuple[Assignment, Incident]:
    a = session.get(Assignment, assignment_id)
    if a is None:
        raise NotFound(f"alert {assignment_id} not found")
    if who.member_id != a.member_id:
        raise Forbidden("this alert was sent to another member")
    return a, session.get_one(Incident, a.incident_id)


def answer(session: Session, d: Dispatcher, who: Principal, assignment_id: int, accept: bool,
           now: datetime | None = None) -> Assignment:
    """A member accepts or declines an alert; a decline alerts the next best at once.

    Answering again the same way returns the alert unchanged. A late acceptance (after the
    alert timed out) still counts while the incident is open. Raises NotFound, Forbidden, Conflict.
    """
    now = now or utcnow()
    a, incident = _own(session, who, assignment_id)
    wanted = "accepted" if accept else "declined"
    if a.status == wanted or (accept and a.status == "arrived"):
        return a
    if incident.status not in OPEN:
        raise Conflict(f"incident {incident.id} is already closed ({incident.status})")
    if a.status not in (("alerted", "timed_out") if accept else ("alerted",)):
        raise Conflict(f"this alert is {a.status}; it can no longer be {wanted}")
    a.status, a.answered_at = wanted, now
    record(session, incident.id, wanted, now, account_id=who.account_id, member_id=a.member_id, tier=a.tier)
    made: list[Assignment] = []
    if not accept:
        made = _refill(session, d, incident, a.tier, now)
    session.commit()
    d.bus.publish(f"dispatch.{wanted}", incident_id=incident.id, assignment_id=a.id, member_id=a.member_id,
                  tier=a.tier, district_id=incident.district_id, unit_id=a.unit_id, drill=incident.drill)
    announce(session, d, incident, made)
    return a


def _refill(session: Session, d: Dispatcher, incident: Incident, tier_name: str, now: datetime) -> list[Assignment]:
    if incident.drill:  # a drill tests the unit it alerted: nobody stands in for a silent member
        return []
    tier = session.scalar(select(TierState).where(TierState.incident_id == incident.id, TierState.tier == tier_name))
    if tier is None or tier.status == "closed":
        return []
    taken = {a.member_id for a in _assigned(session, incident.id)}
    return _fill(session, d, incident, tier, d.playbook(incident.type).tier(tier_name), taken, now)


def arrive(session: Session, d: Dispatcher, a: Assignment, incident: Incident, now: datetime, how: str,
           account_id: int | None = None) -> None:
    """Mark a responder on scene (``how``: ``member`` confirmed, or ``position``); commit and publish."""
    a.status, a.arrived_at = "arrived", now
    a.answered_at = a.answered_at or now
    if incident.on_scene_at is None:
        incident.on_scene_at = now
    if incident.status in ("reported", "dispatching"):
        incident.status = "on_scene"
    record(session, incident.id, "arrived", now, account_id=account_id, member_id=a.member_id, tier=a.tier, how=how)
    session.commit()
    d.bus.publish("dispatch.arrived", incident_id=incident.id, assignment_id=a.id, member_id=a.member_id,
                  tier=a.tier, how=how, district_id=incident.district_id, unit_id=a.unit_id, drill=incident.drill)


def confirm_arrival(session: Session, d: Dispatcher, who: Principal, assignment_id: int,
                    now: datetime | None = None) -> Assignment:
    """The member says they are on scene. Raises NotFound, Forbidden, Conflict."""
    a, incident = _own(session, who, assignment_id)
    if a.status == "arrived":
        return a
    if incident.status not in OPEN or a.status not in ("alerted", "accepted", "timed_out"):
        raise Conflict(f"this alert is {a.status} and the incident {incident.status}")
    arrive(session, d, a, incident, now or utcnow(), "member", who.account_id)
    return a


def _claim_timeout(session: Session, assignment_id: int) -> bool:
    """Time an alert out unless someone (an answer, another sweep) got there first."""
    result = cast(CursorResult[Any], session.execute(
        update(Assignment).where(Assignment.id == assignment_id, Assignment.status == "alerted")
        .values(status="timed_out")))
    return bool(result.rowcount)


def sweep(session: Session, d: Dispatcher, now: datetime | None = None) -> dict[str, int]:
    """Run what is due: silent alerts time out and are replaced, responders whose position is
    on scene arrive, short tiers search again. Returns counts of what happened."""
    now = now or utcnow()
    counts = {"timed_out": 0, "arrived": 0, "alerted": 0}
    due = session.execute(
        select(Assignment.id, Assignment.incident_id, Assignment.tier, Assignment.member_id)
        .join(Incident, Incident.id == Assignment.incident_id)
        .where(Assignment.status == "alerted", Assignment.answer_by <= now, Incident.status.in_(OPEN))
        .order_by(Assignment.answer_by)
    ).all()
    for assignment_id, incident_id, tier, member_id in due:
        if not _claim_timeout(session, assignment_id):
            continue
        incident = session.get_one(Incident, incident_id)
        record(session, incident_id, "timed_out", now, member_id=member_id, tier=tier)
        made = _refill(session, d, incident, tier, now)
        session.commit()
        counts["timed_out"] += 1
        counts["alerted"] += len(made)
        d.bus.publish("dispatch.timed_out", incident_id=incident_id, assignment_id=assignment_id,
                      member_id=member_id, tier=tier, district_id=incident.district_id, drill=incident.drill)
        announce(session, d, incident, made)
    counts["arrived"] = _arrivals(session, d, now)
    counts["alerted"] += _retry_short(session, d, now)
    return counts


def _arrivals(session: Session, d: Dispatcher, now: datetime) -> int:
    rows = session.execute(
        select(Assignment, Incident).join(Incident, Incident.id == Assignment.incident_id)
        .where(Assignment.status.in_(("alerted", "accepted")), Incident.status.in_(OPEN),
               # a drill tests the answer too: standing at the post is muster only once the member answered
               or_(Incident.drill.is_(False), Assignment.status == "accepted"))
    ).all()
    n = 0
    for a, incident in rows:
        placed = d.tracker.placed(a.member_id)
        if placed is None:
            continue
        radius = d.playbook(incident.type).arrival_radius_m
        if float(haversine_m(placed.lon, placed.lat, incident.lon, incident.lat)) <= radius:
            arrive(session, d, a, incident, now, "position")
            n += 1
    return n


def _retry_short(session: Session, d: Dispatcher, now: datetime) -> int:
    short = session.execute(
        select(TierState, Incident).join(Incident, Incident.id == TierState.incident_id)
        .where(TierState.status == "short", Incident.status.in_(OPEN))
    ).all()
    still_short = {tier.id for tier, _ in short}
    for gone in set(d._retried) - still_short:  # staffed or closed since: forget them
        del d._retried[gone]
    n = 0
    for tier, incident in short:
        last = d._retried.get(tier.id)
        if last is not None and (now - last).total_seconds() < d.short_retry_s:
            continue
        d._retried[tier.id] = now
        taken = {a.member_id for a in _assigned(session, incident.id)}
        made = _fill(session, d, incident, tier, d.playbook(incident.type).tier(tier.tier), taken, now)
        session.commit()
        announce(session, d, incident, made)
        n += len(made)
    return n


def close(session: Session, d: Dispatcher, who: Principal, incident: Incident, outcome: str, notes: str | None,
          now: datetime | None = None) -> Incident:
    """Close an incident with an outcome; outstanding alerts are withdrawn. Raises InvalidInput, Conflict."""
    now = now or utcnow()
    if outcome not in OUTCOMES:
        raise InvalidInput(f"outcome must be one of {', '.join(OUTCOMES)}")
    if incident.status not in OPEN:
        raise Conflict(f"incident {incident.id} is already closed ({incident.status})")
    withdrawn = session.scalars(select(Assignment).where(Assignment.incident_id == incident.id,
                                                         Assignment.status == "alerted")).all()
    for a in withdrawn:
        a.status = "cancelled"
    for tier in session.scalars(select(TierState).where(TierState.incident_id == incident.id)):
        tier.status = "closed"
    incident.status, incident.closed_at, incident.outcome_notes = outcome, now, notes
    if outcome == "handed_to_police":
        incident.police_handover = True
    record(session, incident.id, "closed", now, account_id=who.account_id, outcome=outcome, notes=notes)
    session.commit()
    d.bus.publish("incident.closed", incident_id=incident.id, outcome=outcome, district_id=incident.district_id,
                  member_ids=[a.member_id for a in withdrawn])
    return incident
