"""Open311 GeoReport v2 (https://wiki.open311.org/GeoReport_v2) over the hazard reports.

Existing civic apps submit and follow reports here; they land in the same workflow as the
member app's. Authentication: the ``api_key`` parameter of GeoReport, which is an API token of a
jiefang account (an integrator's), or the usual ``Authorization: Bearer`` header. Only the JSON
format is served; ``media_url`` is kept out (remote images are not fetched: photos come through
POST /api/reports).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Header, Query, Request
from pydantic import BaseModel
from sqlalchemy.orm import Session

from jiefang.api.deps import INTAKE_LIMIT, BusDep, IdPath, PhotoStoreDep, SessionDep, SettingsDep
from jiefang.errors import InvalidInput, Unauthorized
from jiefang.people.access import Principal
from jiefang.people.accounts import authenticate
from jiefang.reports import service
from jiefang.reports.models import HazardReport
from jiefang.reports.schemas import CATEGORIES, CATEGORY_GROUPS, OPEN_STATUSES, Category, ReportIn
from jiefang.schemas import RATE_LIMITED, UtcDatetime

router = APIRouter(prefix="/open311/v2", tags=["open311"])
ApiKey = Annotated[str | None, Query(max_length=200, description="API token of your jiefang account")]


class ServiceOut(BaseModel):
    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: str
    keywords: str
    group: str


class RequestCreated(BaseModel):
    service_request_id: str
    service_notice: str
    account_id: str | None


class RequestOut(BaseModel):
    service_request_id: str
    status: str
    status_notes: str
    service_name: str
    service_code: str
    description: str
    agency_responsible: str
    requested_datetime: datetime
    updated_datetime: datetime
    lat: float
    long: float
    media_url: str | None


def _principal(request: Request, session: Session, api_key: str | None, authorization: str | None) -> Principal:
    token = api_key
    if not token and authorization and authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
    if not token:
        raise Unauthorized("send api_key (an API token) or Authorization: Bearer <token>")
    who = authenticate(session, token)
    request.state.principal = who  # for the audit log, as get_principal does
    return who


def query_principal(request: Request, session: SessionDep, api_key: ApiKey = None,
                    authorization: Annotated[str | None, Header()] = None) -> Principal:
    """The caller of a GeoReport read: ``api_key`` in the query or a bearer token; raises Unauthorized."""
    return _principal(request, session, api_key, authorization)


def form_principal(request: Request, session: SessionDep,
                   api_key: Annotated[str | None, Form(max_length=200)] = None,
                   authorization: Annotated[str | None, Header()] = None) -> Principal:
    """The caller of a GeoReport submission: ``api_key`` in the form or a bearer token; raises
    Unauthorized (before the rest of the form is validated)."""
    return _principal(request, session, api_key, authorization)


QueryCaller = Annotated[Principal, Depends(query_principal)]
FormCaller = Annotated[Principal, Depends(form_principal)]


def request_out(r: HazardReport) -> RequestOut:
    """Return a report in GeoReport v2 shape (status open or closed, with the last note)."""
    last = r.updates[-1] if r.updates else None
    return RequestOut(
        service_request_id=str(r.id),
        status="open" if r.status in OPEN_STATUSES else "closed",
        status_notes=f"{r.status}: {last.note}" if last and last.note else r.status,
        service_name=CATEGORIES[r.category][1],
        service_code=r.category,
        description=r.text,
        agency_responsible=f"district:{r.district_id}",
        requested_datetime=r.created_at,
        updated_datetime=r.updated_at,
        lat=r.lat,
        long=r.lon,
        media_url=f"/api/reports/{r.id}/photos/{r.photos[0].id}" if r.photos else None,
    )


@router.get("/services.json", response_model=list[ServiceOut])
def services() -> list[ServiceOut]:
    """The hazard categories as GeoReport services (public, as the standard has it)."""
    return [
        ServiceOut(
            service_code=c,
            service_name=en,
            description=f"{zh} / {en}",
            metadata=False,
            type="realtime",
            keywords=c.replace("_", ","),
            group=CATEGORY_GROUPS[c],
        )
        for c, (zh, en) in CATEGORIES.items()
    ]


@router.post("/requests.json", response_model=list[RequestCreated], status_code=201, dependencies=[INTAKE_LIMIT],
             responses=RATE_LIMITED)
def create_request(
    session: SessionDep,
    bus: BusDep,
    store: PhotoStoreDep,
    settings: SettingsDep,
    who: FormCaller,
    service_code: Annotated[Category, Form()],
    lat: Annotated[float, Form(ge=-90, le=90)],
    long: Annotated[float, Form(ge=-180, le=180)],
    description: Annotated[str, Form(max_length=2000)] = "",
    address_string: Annotated[str, Form(max_length=300)] = "",
) -> list[RequestCreated]:
    """Submit a service request (form-encoded, as GeoReport v2); it becomes a hazard report.

    429 when your address sent too many requests in the intake window.
    """
    text = f"{description}\n{address_string}".strip() if address_string else description
    try:
        data = ReportIn(category=service_code, text=text, lon=long, lat=lat)
    except ValueError as exc:
        raise InvalidInput(f"description: {exc}") from exc
    report = service.file_report(session, bus, store, settings, who, data, [], channel="open311")
    return [RequestCreated(service_request_id=str(report.id), service_notice="", account_id=None)]


@router.get("/requests.json", response_model=list[RequestOut])
def list_requests(
    session: SessionDep,
    who: QueryCaller,
    service_request_id: Annotated[str | None, Query(max_length=2000, pattern=r"^\d+(,\d+)*$")] = None,
    service_code: Category | None = None,
    status: Annotated[str | None, Query(pattern="^(open|closed)$")] = None,
    start_date: UtcDatetime | None = None,
    end_date: UtcDatetime | None = None,
) -> list[RequestOut]:
    """Service requests you may see (your own; operators their district's), newest first, at most 1000."""
    found = service.list_reports(session, who, category=service_code, limit=1000)
    wanted: Any = set(map(int, service_request_id.split(","))) if service_request_id else None
    out = []
    for r in found:
        if wanted is not None and r.id not in wanted:
            continue
        if status is not None and (r.status in OPEN_STATUSES) != (status == "open"):
            continue
        if (start_date and r.created_at < start_date) or (end_date and r.created_at > end_date):
            continue
        out.append(request_out(r))
    return out


@router.get("/requests/{request_id}.json", response_model=list[RequestOut])
def get_request(session: SessionDep, who: QueryCaller, request_id: IdPath) -> list[RequestOut]:
    """One service request, as a one-element list (GeoReport v2)."""
    return [request_out(service.get_report(session, who, request_id))]
