"""An incident's notes (现场沟通): lines written by responders and operators, kept on its timeline."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiefang.db import utcnow
from jiefang.dispatch.models import Assignment
from jiefang.dispatch.service import ACTIVE
from jiefang.events import EventBus
from jiefang.incidents.models import IncidentEvent
from jiefang.incidents.schemas import NoteOut
from jiefang.incidents.service import get_incident
from jiefang.people.access import Principal
from jiefang.people.models import Member

NOTE = "note"


def _note(event: IncidentEvent) -> NoteOut:
    detail = json.loads(event.detail or "{}")
    return NoteOut(id=event.id, incident_id=event.incident_id, author=detail.get("author", ""),
                   text=detail.get("text", ""), at=event.at)


def add_note(session: Session, bus: EventBus, who: Principal, incident_id: int, text: str,
             now: datetime | None = None) -> NoteOut:
    """Add a note to an incident the caller may see; the responders and operators are told.

    Raises NotFound (also for an incident outside the caller's scope).
    """
    now = now or utcnow()
    incident = get_incident(session, who, incident_id)
    author = session.get_one(Member, who.member_id).name if who.member_id else who.username
    event = IncidentEvent(incident_id=incident.id, kind=NOTE, at=now, account_id=who.account_id or None,
                          member_id=who.member_id, detail=json.dumps({"author": author, "text": text},
                                                                     ensure_ascii=False))
    session.add(event)
    session.commit()
    note = _note(event)
    responders = session.scalars(select(Assignment.member_id).where(Assignment.incident_id == incident.id,
                                                                    Assignment.status.in_(ACTIVE))).all()
    bus.publish("incident.note", **note.model_dump(mode="json"), district_id=incident.district_id,
                unit_id=incident.unit_id, member_ids=list(responders))
    return note


def list_notes(session: Session, who: Principal, incident_id: int) -> list[NoteOut]:
    """Return an incident's notes, oldest first. Raises NotFound."""
    incident = get_incident(session, who, incident_id)
    events = session.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == incident.id,
                                                         IncidentEvent.kind == NOTE)
                             .order_by(IncidentEvent.at, IncidentEvent.id))
    return [_note(e) for e in events]
