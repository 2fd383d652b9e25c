"""HTTP routes for incidents: console reports, SOS, external intake, reading, notes, responders, closing, devices."""

from __future__ import annotations

from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Header, Query, Response, status
from fastapi.responses import JSONResponse

from jiefang.api.deps import (
    ADMIN_ONLY,
    MEMBERS_ONLY,
    STAFF_ONLY,
    BusDep,
    DispatcherDep,
    IdPath,
    PrincipalDep,
    SessionDep,
    SettingsDep,
    require_roles,
)
from jiefang.dispatch import manual
from jiefang.dispatch import service as dispatch_service
from jiefang.incidents import notes, service
from jiefang.incidents.interchange import CAP_MEDIA_TYPE, GEOJSON_MEDIA_TYPE, incident_to_cap, incident_to_geojson
from jiefang.incidents.schemas import (
    AssignmentOut,
    CloseIn,
    DeviceIn,
    DeviceOut,
    IncidentCreated,
    IncidentDetail,
    IncidentIn,
    IncidentOut,
    IncidentTypeOut,
    NoteIn,
    NoteOut,
    ResponderIn,
    SosIn,
)
from jiefang.people.access import CITY_ADMIN, DISTRICT_OPERATOR
from jiefang.schemas import SEARCH_PATTERN

router = APIRouter(prefix="/api", tags=["incidents"])
OPERATORS = require_roles(CITY_ADMIN, DISTRICT_OPERATOR)
KeyHeader = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=1, max_length=100,
           description="made by the client when the user acted; a repeat answers with the first incident"),
]


@router.post("/incidents", response_model=IncidentOut, status_code=status.HTTP_201_CREATED, dependencies=[OPERATORS])
def report(session: SessionDep, d: DispatcherDep, who: PrincipalDep, data: IncidentIn,
           idempotency_key: KeyHeader = None) -> IncidentOut:
    """Report an incident at the console; the 1-3-5 dispatch starts at once."""
    return IncidentOut.model_validate(service.report(session, d, who, data, key=idempotency_key))


@router.post("/incidents/sos", response_model=IncidentOut, status_code=status.HTTP_201_CREATED,
             dependencies=[MEMBERS_ONLY])
def sos(session: SessionDep, d: DispatcherDep, who: PrincipalDep, data: SosIn,
        idempotency_key: KeyHeader = None) -> IncidentOut:
    """One-tap SOS (or a hazard report with a type and description) from a member's phone at its position."""
    return IncidentOut.model_validate(service.sos(session, d, who, data, key=idempotency_key))


@router.post("/incidents/external", response_model=IncidentCreated, status_code=status.HTTP_201_CREATED,
             responses={200: {"model": IncidentCreated, "description": "the key was used before: that incident"}},
             dependencies=[ADMIN_ONLY])
def report_external(
    session: SessionDep, d: DispatcherDep, who: PrincipalDep, data: IncidentIn, response: Response,
    idempotency_key: Annotated[str, Header(min_length=1, max_length=100)],
) -> IncidentCreated:
    """Intake from an external system; the same Idempotency-Key never creates two incidents."""
    incident, created = service.report_external(session, d, who, data, idempotency_key)
    if not created:
        response.status_code = status.HTTP_200_OK
    return IncidentCreated(**IncidentOut.model_validate(incident).model_dump(), created=created)


@router.get("/incident-types", response_model=list[IncidentTypeOut])
def incident_types(d: DispatcherDep, who: PrincipalDep) -> list[IncidentTypeOut]:
    """The incident types and their 1-3-5 tiers, as the playbooks define them."""
    return [IncidentTypeOut(type=b.incident_type, name_zh=b.name_zh, name_en=b.name_en,
                            default_severity=b.default_severity, arrival_radius_m=b.arrival_radius_m,
                            tiers=[t.model_dump(include={"tier", "deadline_s", "responders"}) for t in b.tiers])
            for b in sorted(d.playbooks.values(), key=lambda b: b.incident_type)]


@router.get("/incidents", response_model=list[IncidentOut])
def list_incidents(
    session: SessionDep, who: PrincipalDep,
    status_: Annotated[str | None, Query(alias="status", max_length=20, pattern=SEARCH_PATTERN)] = None,
    type_: Annotated[str | None, Query(alias="type", max_length=40, pattern=SEARCH_PATTERN)] = None,
    open_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50, offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[IncidentOut]:
    """Incidents you may see, newest first."""
    rows = service.list_incidents(session, who, status_, type_, open_only, limit, offset)
    return [IncidentOut.model_validate(i) for i in rows]


@router.get("/incidents/{incident_id}", response_model=IncidentDetail)
def get_incident(session: SessionDep, who: PrincipalDep, incident_id: IdPath) -> IncidentDetail:
    """An incident with its tiers, alerts, timeline and 1-3-5 compliance."""
    return service.detail(session, who, incident_id)


@router.get(
    "/incidents/{incident_id}/cap.xml",
    response_model=None,
    responses={
        200: {
            "content": {CAP_MEDIA_TYPE: {"schema": {"type": "string"}}},
            "description": "the incident as an OASIS Common Alerting Protocol 1.2 message for its current status",
        }
    },
)
def get_incident_cap(
    session: SessionDep, settings: SettingsDep, d: DispatcherDep, who: PrincipalDep, incident_id: IdPath,
    lang: Annotated[Literal["zh-CN", "en-US"], Query(description="language of the message text")] = "zh-CN",
) -> Response:
    """The incident as a CAP 1.2 alert (Alert, then Update or Cancel as it progresses), times in local time."""
    incident = service.get_incident(session, who, incident_id)
    body = incident_to_cap(incident, d.playbooks.get(incident.type), sender=settings.cap_sender, lang=lang,
                           tz=ZoneInfo(settings.timezone))
    return Response(body, media_type=CAP_MEDIA_TYPE)


@router.get(
    "/incidents/{incident_id}/geojson",
    response_model=None,
    responses={
        200: {
            "content": {GEOJSON_MEDIA_TYPE: {"schema": {"type": "object"}}},
            "description": "the incident as a GeoJSON Feature (RFC 7946): a WGS84 Point and its properties",
        }
    },
)
def get_incident_geojson(session: SessionDep, d: DispatcherDep, who: PrincipalDep, incident_id: IdPath) -> Response:
    """The incident as a GeoJSON Feature, for maps and GIS tools."""
    incident = service.get_incident(session, who, incident_id)
    return JSONResponse(incident_to_geojson(incident, d.playbooks.get(incident.type)), media_type=GEOJSON_MEDIA_TYPE)


@router.post("/incidents/{incident_id}/close", response_model=IncidentOut, dependencies=[OPERATORS])
def close(session: SessionDep, d: DispatcherDep, who: PrincipalDep, incident_id: IdPath, data: CloseIn) -> IncidentOut:
    """Close with an outcome and notes; alerts still unanswered are withdrawn."""
    incident = service.get_incident(session, who, incident_id)
    return IncidentOut.model_validate(dispatch_service.close(session, d, who, incident, data.outcome, data.notes))


@router.get("/incidents/{incident_id}/notes", response_model=list[NoteOut])
def list_notes(session: SessionDep, who: PrincipalDep, incident_id: IdPath) -> list[NoteOut]:
    """The incident's notes (现场沟通), oldest first."""
    return notes.list_notes(session, who, incident_id)


@router.post("/incidents/{incident_id}/notes", response_model=NoteOut, status_code=status.HTTP_201_CREATED)
def add_note(session: SessionDep, bus: BusDep, who: PrincipalDep, incident_id: IdPath, data: NoteIn) -> NoteOut:
    """Write a note to the responders and operators of an incident you take part in."""
    return notes.add_note(session, bus, who, incident_id, data.text)


@router.post("/incidents/{incident_id}/responders", response_model=AssignmentOut,
             status_code=status.HTTP_201_CREATED, dependencies=[OPERATORS])
def add_responder(session: SessionDep, d: DispatcherDep, who: PrincipalDep, incident_id: IdPath,
                  data: ResponderIn) -> AssignmentOut:
    """Alert a chosen member on duty for a tier (someone the automatic waves did not pick)."""
    incident = service.get_incident(session, who, incident_id)
    return AssignmentOut.model_validate(manual.add_responder(session, d, who, incident, data.member_id, data.tier))


@router.post("/incidents/{incident_id}/responders/{assignment_id}/stand-down", response_model=AssignmentOut,
             dependencies=[OPERATORS])
def stand_down(session: SessionDep, d: DispatcherDep, who: PrincipalDep, incident_id: IdPath,
               assignment_id: IdPath) -> AssignmentOut:
    """Withdraw a responder (改派); the next best member is alerted for the tier."""
    incident = service.get_incident(session, who, incident_id)
    return AssignmentOut.model_validate(manual.stand_down(session, d, who, incident, assignment_id))


@router.post("/alarm-devices", response_model=DeviceOut, status_code=status.HTTP_201_CREATED,
             dependencies=[STAFF_ONLY])
def register_device(session: SessionDep, who: PrincipalDep, data: DeviceIn) -> DeviceOut:
    """Register an IoT alarm button or sensor to a unit."""
    return DeviceOut.model_validate(service.register_device(session, who, data))
