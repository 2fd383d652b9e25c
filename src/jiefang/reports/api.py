"""HTTP routes of hazard reports: file with photos, follow, move on in the workflow, hotspots."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Response, UploadFile, status
from starlette.concurrency import run_in_threadpool

from jiefang.api.deps import (
    INTAKE_LIMIT,
    STAFF_ONLY,
    BusDep,
    IdPath,
    PhotoStoreDep,
    PrincipalDep,
    SessionDep,
    SettingsDep,
    require_roles,
)
from jiefang.api.uploads import read_bytes_upload
from jiefang.config import Settings
from jiefang.people.access import CITY_ADMIN, DISTRICT_OPERATOR
from jiefang.reports import hotspots, service
from jiefang.reports.schemas import (
    CATEGORIES,
    CATEGORY_GROUPS,
    Category,
    CategoryOut,
    HotspotOut,
    ReportIn,
    ReportOut,
    Status,
    StatusIn,
)
from jiefang.reports.service import Upload
from jiefang.schemas import RATE_LIMITED

router = APIRouter(prefix="/api", tags=["reports"])
OPERATORS = require_roles(CITY_ADMIN, DISTRICT_OPERATOR)
Photos = Annotated[list[UploadFile], File(description="JPEG, PNG or WebP photos; GPS read from EXIF, then stripped")]


async def read_photos(files: list[UploadFile], settings: Settings) -> list[Upload]:
    """Read the uploaded photos, each bounded by the photo size limit (InvalidInput beyond it)."""
    return [Upload(f.filename or "photo", await read_bytes_upload(f, settings.photo_max_bytes)) for f in files]


@router.get("/reports/categories", response_model=list[CategoryOut])
def categories() -> list[CategoryOut]:
    """The hazard categories a report may have, with their names and hotspot group."""
    return [CategoryOut(code=c, name_zh=zh, name_en=en, group=CATEGORY_GROUPS[c]) for c, (zh, en) in CATEGORIES.items()]


@router.post("/reports", response_model=ReportOut, status_code=status.HTTP_201_CREATED, dependencies=[INTAKE_LIMIT],
             responses=RATE_LIMITED)
async def file_report(
    session: SessionDep,
    bus: BusDep,
    store: PhotoStoreDep,
    settings: SettingsDep,
    who: PrincipalDep,
    data: Annotated[ReportIn, Form()],
    photos: Photos = [],  # noqa: B006 (FastAPI copies defaults)
) -> ReportOut:
    """File a hazard report (弱信号) as multipart/form-data: category, text, lon, lat, photos.

    Without lon/lat the position is the first photo's EXIF GPS. The report is routed to the
    district, street and grid at its position; the district's operators see it at once.
    429 when your address sent too many reports in the intake window.
    """
    uploads = await read_photos(photos, settings)
    report = await run_in_threadpool(service.file_report, session, bus, store, settings, who, data, uploads)
    return service.report_out(report)


@router.get("/reports", response_model=list[ReportOut])
def list_reports(
    session: SessionDep,
    who: PrincipalDep,
    status_: Annotated[Status | None, Query(alias="status")] = None,
    category: Category | None = None,
    overdue: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[ReportOut]:
    """Reports you may see (operators: their district's), newest first."""
    found = service.list_reports(
        session, who, status=status_, category=category, overdue=overdue, limit=limit, offset=offset
    )
    return [service.report_out(r) for r in found]


@router.get("/reports/mine", response_model=list[ReportOut])
def my_reports(
    session: SessionDep,
    who: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[ReportOut]:
    """Your own reports with their status history, newest first."""
    return [service.report_out(r) for r in service.list_reports(session, who, mine=True, limit=limit, offset=offset)]


@router.get("/reports/{report_id}", response_model=ReportOut)
def get_report(session: SessionDep, who: PrincipalDep, report_id: IdPath) -> ReportOut:
    """One report with its photos and history."""
    return service.report_out(service.get_report(session, who, report_id))


@router.post("/reports/{report_id}/status", response_model=ReportOut, dependencies=[STAFF_ONLY])
def change_status(
    session: SessionDep, bus: BusDep, settings: SettingsDep, who: PrincipalDep, report_id: IdPath, data: StatusIn
) -> ReportOut:
    """Assign, start, resolve or reject a report (operators; the assignee may start and resolve)."""
    return service.report_out(service.change_status(session, bus, settings, who, report_id, data))


@router.post("/reports/{report_id}/photos", response_model=ReportOut)
async def add_photos(
    session: SessionDep,
    bus: BusDep,
    store: PhotoStoreDep,
    settings: SettingsDep,
    who: PrincipalDep,
    report_id: IdPath,
    photos: Photos,
) -> ReportOut:
    """Add photos to your own open report."""
    uploads = await read_photos(photos, settings)
    report = await run_in_threadpool(service.add_photos, session, bus, store, settings, who, report_id, uploads)
    return service.report_out(report)


@router.get(
    "/reports/{report_id}/photos/{photo_id}",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}}}},
)
def get_photo(
    session: SessionDep, store: PhotoStoreDep, who: PrincipalDep, report_id: IdPath, photo_id: IdPath
) -> Response:
    """A report's photo (no metadata): for the reporter, the assignee and the district's operators."""
    data, content_type = service.photo(session, store, who, report_id, photo_id)
    return Response(data, media_type=content_type, headers={"Cache-Control": "private, max-age=3600"})


@router.get("/hotspots", response_model=list[HotspotOut], dependencies=[OPERATORS])
def list_hotspots(
    session: SessionDep, who: PrincipalDep, open_only: bool = True, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[HotspotOut]:
    """Early-warning hotspots in your scope, newest first."""
    return [hotspots.hotspot_out(h) for h in hotspots.list_hotspots(session, who, open_only, limit)]


@router.post("/hotspots/scan", response_model=list[HotspotOut], dependencies=[require_roles(CITY_ADMIN)])
def scan_hotspots(session: SessionDep, bus: BusDep, settings: SettingsDep) -> list[HotspotOut]:
    """Run the hotspot scan now (it also runs every few minutes); return the hotspots raised or grown."""
    return [hotspots.hotspot_out(h) for h in hotspots.scan(session, bus, settings)]
