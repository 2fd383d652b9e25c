"""Running drills: fire them through the alert path as DRILL incidents, score them, close them.

A drill is an incident with ``drill=True`` at the unit's post (its first active duty post, or its
site), alerting every member of the unit on duty. The alerts, answers and arrivals are those of
real incidents (``dispatch.service``: the member app, notifiers, the sweep that sees arrivals by
position), every event carrying ``drill: true``; nobody stands in for a silent member, and a
member standing at the post counts as mustered only once they answered. The
incident is kept out of incident lists and 1-3-5 compliance. ``advance`` runs on the server's
clock (``api/background.py``): it fires due drills and scores running ones.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from jiefang.db import utcnow
from jiefang.dispatch.models import Assignment
from jiefang.dispatch.service import Dispatcher, announce, record
from jiefang.drills.models import Drill
from jiefang.drills.scoring import ACK_DEADLINE_S, DrillFacts, DrillScore, score_drill
from jiefang.duty.models import DutyPost, DutySession
from jiefang.errors import Conflict, DomainError, Forbidden
from jiefang.geo.projection import haversine_m
from jiefang.incidents.models import Incident, IncidentEvent
from jiefang.people.access import CITY_ADMIN, DISTRICT_OPERATOR, Principal, can_manage_unit
from jiefang.units.models import Unit

log = logging.getLogger(__name__)
MISSED_AFTER = timedelta(minutes=15)  # a drill not fired by then (server down) is cancelled, not fired late
WALK_MPS = 1.4
VERDICT = {"passed": True, "failed": False}


def _post_of(session: Session, unit: Unit) -> tuple[float, float]:
    post = session.scalar(
        select(DutyPost).where(DutyPost.unit_id == unit.id, DutyPost.active.is_(True)).order_by(DutyPost.id).limit(1)
    )
    return (post.lon, post.lat) if post else (unit.lon, unit.lat)


def fire(session: Session, d: Dispatcher, drill: Drill, now: datetime, muster_min: int) -> Incident:
    """Open the drill's DRILL incident and alert the unit's members on duty; commit, then tell them.

    Raises InvalidInput if the drill's scenario has no playbook.
    """
    book = d.playbook(drill.scenario)
    unit = session.get_one(Unit, drill.unit_id)
    lon, lat = _post_of(session, unit)
    incident = Incident(
        type=drill.scenario,
        severity=book.default_severity,
        status="dispatching",
        source="drill",
        lon=lon,
        lat=lat,
        address=unit.address,
        description=f"演练 DRILL #{drill.id}: {unit.name}",
        unit_id=unit.id,
        district_id=unit.district_id,
        street_id=unit.street_id,
        grid_id=unit.grid_id,
        reported_at=now,
        drill=True,
    )
    session.add(incident)
    session.flush()
    record(session, incident.id, "reported", now, source="drill", drill_id=drill.id)
    on_duty = session.scalars(
        select(DutySession.member_id)
        .where(DutySession.unit_id == unit.id, DutySession.checked_out_at.is_(None))
        .order_by(DutySession.member_id)
    ).all()
    made = []
    for member_id in on_duty:
        placed = d.tracker.placed(member_id)
        distance_m = float(haversine_m(placed.lon, placed.lat, lon, lat)) if placed else 0.0
        a = Assignment(
            incident_id=incident.id,
            member_id=member_id,
            unit_id=unit.id,
            tier="self_rescue",
            status="alerted",
            distance_m=round(distance_m, 1),
            eta_s=round(distance_m / WALK_MPS, 1),
            alerted_at=now,
            answer_by=now + timedelta(seconds=ACK_DEADLINE_S),
            notified="",
            drill=True,
        )
        session.add(a)
        record(session, incident.id, "alerted", now, member_id=member_id, tier="self_rescue", drill=True)
        made.append(a)
    record(session, incident.id, "dispatched", now, alerted=len(made), drill=True)
    drill.status, drill.started_at, drill.incident_id = "running", now, incident.id
    drill.alerted, drill.muster_needed = len(made), min(muster_min, len(made)) if made else muster_min
    session.commit()
    d.bus.publish(
        "drill.started",
        drill_id=drill.id,
        incident_id=incident.id,
        unit_id=unit.id,
        district_id=unit.district_id,
        alerted=len(made),
        planned_at=drill.planned_at.isoformat(),
        drill=True,
    )
    announce(session, d, incident, made)
    return incident


def _facts(session: Session, drill: Drill) -> DrillFacts:
    assert drill.started_at is not None
    assignments = session.scalars(select(Assignment).where(Assignment.incident_id == drill.incident_id)).all()
    acks = []
    for kind, at, detail in session.execute(
        select(IncidentEvent.kind, IncidentEvent.at, IncidentEvent.detail).where(
            IncidentEvent.incident_id == drill.incident_id, IncidentEvent.kind.in_(("accepted", "arrived"))
        )
    ):
        # an arrival seen by position is muster, not an answer: a silent member at the post did not answer
        if kind == "accepted" or json.loads(detail or "{}").get("how") == "member":
            acks.append(at)
    return DrillFacts(
        started_at=drill.started_at,
        alerted=drill.alerted,
        muster_needed=drill.muster_needed,
        acks=acks,
        arrivals=[a.arrived_at for a in assignments if a.arrived_at is not None],
        video_requested=drill.video_requested,
        video_confirmed_at=drill.video_confirmed_at,
    )


def evaluate(session: Session, d: Dispatcher, drill: Drill, now: datetime) -> DrillScore:
    """Score a running drill at ``now``; when it is over, store the result and close its incident."""
    score = score_drill(_facts(session, drill), now)
    drill.first_ack_s = None if score.first_ack_s is None else round(score.first_ack_s, 1)
    drill.mustered = score.mustered
    if score.done:
        _finish(session, d, drill, score, now)
    else:
        session.commit()
    return score


def _finish(session: Session, d: Dispatcher, drill: Drill, score: DrillScore, now: datetime) -> None:
    drill.self_rescue_passed = VERDICT.get(score.tiers["self_rescue"])
    drill.mutual_aid_passed = VERDICT.get(score.tiers["mutual_aid"])
    drill.reinforcement_passed = VERDICT.get(score.tiers["reinforcement"])
    drill.passed = score.passed
    drill.status, drill.ended_at = ("passed" if score.passed else "failed"), now
    if drill.alerted == 0:
        drill.note = "nobody of the unit on duty to alert"
    incident = session.get_one(Incident, drill.incident_id)
    session.execute(
        update(Assignment)
        .where(Assignment.incident_id == incident.id, Assignment.status == "alerted")
        .values(status="cancelled")
    )
    alerted = list(session.scalars(select(Assignment.member_id).where(Assignment.incident_id == incident.id)))
    outcome = "drill_passed" if score.passed else "drill_failed"
    incident.status, incident.closed_at, incident.outcome_notes = "resolved", now, outcome
    record(session, incident.id, "closed", now, outcome=outcome, tiers=score.tiers, drill=True)
    session.commit()
    d.bus.publish(
        "incident.closed",
        incident_id=incident.id,
        outcome=outcome,
        district_id=incident.district_id,
        member_ids=alerted,
        drill=True,
    )
    d.bus.publish(
        "drill.scored",
        drill_id=drill.id,
        incident_id=incident.id,
        unit_id=drill.unit_id,
        district_id=drill.district_id,
        passed=drill.passed,
        tiers=score.tiers,
        first_ack_s=drill.first_ack_s,
        mustered=drill.mustered,
        drill=True,
    )


def _claim(session: Session, drill_id: int) -> bool:
    """Take a planned drill for firing unless another worker got there first. Not committed: firing
    commits it with the drill's incident, and a crash before that leaves the drill planned."""
    done = session.execute(
        update(Drill).where(Drill.id == drill_id, Drill.status == "planned").values(status="running")
    )
    return bool(getattr(done, "rowcount", 0))


def advance(session: Session, d: Dispatcher, muster_min: int, now: datetime | None = None) -> dict[str, int]:
    """Fire the planned drills now due, score the running ones; return counts of what happened."""
    now = now or utcnow()
    counts = {"fired": 0, "missed": 0, "scored": 0}
    due = session.scalars(
        select(Drill).where(Drill.status == "planned", Drill.planned_at <= now).order_by(Drill.planned_at).limit(500)
    ).all()
    for drill in due:
        if not _claim(session, drill.id):
            session.rollback()
            continue
        if now - drill.planned_at > MISSED_AFTER:
            drill.status, drill.note = "cancelled", "not fired in time (was the server down?)"
            session.commit()
            counts["missed"] += 1
            continue
        try:
            fire(session, d, drill, now, muster_min)
            counts["fired"] += 1
        except DomainError as exc:
            session.rollback()
            log.error("drill %s could not fire: %s", drill.id, exc.message)
            session.execute(
                update(Drill)
                .where(Drill.id == drill.id, Drill.status == "planned")
                .values(status="cancelled", note=exc.message[:200])
            )
            session.commit()
    for drill in session.scalars(select(Drill).where(Drill.status == "running").order_by(Drill.id)).all():
        if evaluate(session, d, drill, now).done:
            counts["scored"] += 1
    return counts


def confirm_video(
    session: Session, d: Dispatcher, who: Principal, drill: Drill, confirmed: bool, now: datetime | None = None
) -> Drill:
    """The operator saw (or did not see) the unit on the video check-in; the drill is scored again.

    Raises Forbidden outside the operator's scope, Conflict unless the drill is running with video asked.
    """
    now = now or utcnow()
    if who.role not in (CITY_ADMIN, DISTRICT_OPERATOR) or not can_manage_unit(
        who, drill.unit_id, drill.district_id or -1
    ):
        raise Forbidden("video check-ins are confirmed by the operators of the unit's district")
    if drill.status != "running" or not drill.video_requested:
        raise Conflict(f"drill {drill.id} is {drill.status}{'' if drill.video_requested else ' without video'}")
    if confirmed:
        drill.video_confirmed_at, drill.video_confirmed_by = now, who.account_id or None
    assert drill.incident_id is not None  # set when the drill fired
    record(session, drill.incident_id, "video_checked", now, account_id=who.account_id, confirmed=confirmed)
    evaluate(session, d, drill, now)
    return drill
