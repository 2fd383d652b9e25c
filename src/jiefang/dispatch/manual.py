"""The operator's hand on dispatch: alert a chosen member, or stand a responder down (改派).

Both are committed before anyone is told, like every automatic alert, and leave a line on the
incident's timeline saying who did it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiefang.db import utcnow
from jiefang.dispatch.models import Assignment
from jiefang.dispatch.selection import Candidate
from jiefang.dispatch.service import ACTIVE, OPEN, Dispatcher, _alert, _refill, announce, record
from jiefang.errors import Conflict, Forbidden, InvalidInput, NotFound
from jiefang.geo.projection import haversine_m
from jiefang.incidents.models import Incident
from jiefang.people.access import CITY_ADMIN, Principal


def _check_open(incident: Incident) -> None:
    if incident.status not in OPEN:
        raise Conflict(f"incident {incident.id} is closed ({incident.status})")


def add_responder(session: Session, d: Dispatcher, who: Principal, incident: Incident, member_id: int,
                  tier: str, now: datetime | None = None) -> Assignment:
    """Alert a member on duty for a tier of the incident and return the alert.

    A member who declined or stayed silent earlier is alerted again. Raises Conflict (incident
    closed, member not on duty or already responding), Forbidden (member outside the operator's
    district), InvalidInput (unknown tier).
    """
    now = now or utcnow()
    _check_open(incident)
    try:
        spec = d.playbook(incident.type).tier(tier)
    except KeyError as exc:
        raise InvalidInput(f"unknown tier {tier!r}") from exc
    placed = d.tracker.placed(member_id)
    if placed is None:
        raise Conflict(f"member {member_id} is not on duty")
    if who.role != CITY_ADMIN and placed.district_id != who.district_id:
        raise Forbidden("you can add members on duty in your own district")
    distance_m = float(haversine_m(placed.lon, placed.lat, incident.lon, incident.lat))
    hits = d.tracker.store.within_circle(incident.lon, incident.lat, distance_m + 1.0, unit_id=placed.unit_id)
    eta_s = next((h.eta_s for h in hits if h.member_id == member_id), None)
    if eta_s is None:
        raise Conflict(f"member {member_id} is not on duty")
    a = session.scalar(select(Assignment).where(Assignment.incident_id == incident.id,
                                                Assignment.member_id == member_id))
    if a is not None and a.status in ACTIVE:
        raise Conflict(f"member {member_id} is already responding ({a.status})")
    if a is None:
        a = _alert(session, incident, Candidate(member_id, placed.unit_id, tier, distance_m, eta_s), spec, now)
    else:
        a.tier, a.status, a.wave = tier, "alerted", a.wave + 1
        a.distance_m, a.eta_s, a.alerted_at = round(distance_m, 1), round(eta_s, 1), now
        a.answer_by, a.answered_at, a.arrived_at = now + timedelta(seconds=spec.ack_timeout_s), None, None
        record(session, incident.id, "alerted", now, member_id=member_id, tier=tier, eta_s=round(eta_s),
               distance_m=round(distance_m))
    record(session, incident.id, "added", now, account_id=who.account_id, member_id=member_id, tier=tier)
    session.commit()
    announce(session, d, incident, [a])
    return a


def stand_down(session: Session, d: Dispatcher, who: Principal, incident: Incident, assignment_id: int,
               now: datetime | None = None) -> Assignment:
    """Withdraw a responder (alerted or accepted); the tier is refilled by the next best.

    Raises NotFound, Conflict (incident closed, responder already arrived or not responding).
    """
    now = now or utcnow()
    _check_open(incident)
    a = session.get(Assignment, assignment_id)
    if a is None or a.incident_id != incident.id:
        raise NotFound(f"alert {assignment_id} not found on incident {incident.id}")
    if a.status not in ("alerted", "accepted"):
        raise Conflict(f"this responder is {a.status}; only alerted or accepted responders can be stood down")
    a.status = "cancelled"
    record(session, incident.id, "stood_down", now, account_id=who.account_id, member_id=a.member_id, tier=a.tier)
    made = _refill(session, d, incident, a.tier, now)
    session.commit()
    d.bus.publish("dispatch.cancelled", incident_id=incident.id, assignment_id=a.id, member_id=a.member_id,
                  tier=a.tier, district_id=incident.district_id, unit_id=a.unit_id)
    announce(session, d, incident, made)
    return a
