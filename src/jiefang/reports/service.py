"""Filing hazard reports with photos, routing them to the grid's operator, and their workflow."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import Session

from jiefang.areas.service import locate
from jiefang.config import Settings
from jiefang.db import utcnow
from jiefang.errors import Forbidden, InvalidInput, NotFound
from jiefang.events import EventBus
from jiefang.people.access import CITY_ADMIN, DISTRICT_OPERATOR, UNIT_LEADER, Principal
from jiefang.people.models import Member
from jiefang.reports.models import HazardReport, ReportPhoto, ReportUpdate
from jiefang.reports.photos import Photo, process_photo
from jiefang.reports.schemas import (
    CATEGORIES,
    OPEN_STATUSES,
    TRANSITIONS,
    PhotoOut,
    ReportIn,
    ReportOut,
    StatusIn,
    UpdateOut,
)
from jiefang.reports.storage import PhotoStore
from jiefang.units.models import Unit


@dataclass(frozen=True)
class Upload:
    """An uploaded file as read from the request (already bounded in size)."""

    name: str
    data: bytes


def _due(settings: Settings, status: str, now: datetime) -> datetime | None:
    hours = settings.report_sla_hours.get(status)
    return now + timedelta(hours=hours) if hours is not None and status in OPEN_STATUSES else None


def _publish(bus: EventBus | None, type_: str, report: HazardReport, **extra: Any) -> None:
    if bus is None:
        return
    bus.publish(
        type_,
        report_id=report.id,
        district_id=report.district_id,
        unit_id=report.reporter_unit_id,
        member_ids=[m for m in (report.reporter_member_id, report.assignee_member_id) if m is not None],
        category=report.category,
        status=report.status,
        overdue=report.overdue,
        lon=report.lon,
        lat=report.lat,
        **extra,
    )


def _process(settings: Settings, uploads: list[Upload], already: int = 0) -> list[Photo]:
    if already + len(uploads) > settings.report_max_photos:
        raise InvalidInput(f"a report holds at most {settings.report_max_photos} photos")
    return [process_photo(u.data, u.name, settings.photo_max_pixels, settings.photo_max_side_px) for u in uploads]


def _store(session: Session, store: PhotoStore, report: HazardReport, photos: list[Photo]) -> list[str]:
    keys = []
    for p in photos:
        key = f"reports/{report.id}/{uuid.uuid4().hex}.{'png' if p.content_type == 'image/png' else 'jpg'}"
        store.put(key, p.data)
        keys.append(key)
        lon, lat = p.gps if p.gps else (None, None)
        report.photos.append(
            ReportPhoto(
                storage_key=key,
                content_type=p.content_type,
                size_bytes=len(p.data),
                width=p.width,
                height=p.height,
                sha256=p.sha256,
                exif_lon=lon,
                exif_lat=lat,
            )
        )
    return keys


def _commit_or_forget(session: Session, store: PhotoStore, keys: list[str]) -> None:
    """Commit; if that fails, remove the files just written so no orphan photo stays on disk."""
    try:
        session.commit()
    except BaseException:
        session.rollback()
        for key in keys:
            store.delete(key)
        raise


def file_report(
    session: Session,
    bus: EventBus | None,
    store: PhotoStore,
    settings: Settings,
    who: Principal,
    data: ReportIn,
    uploads: list[Upload],
    channel: str = "app",
    now: datetime | None = None,
) -> HazardReport:
    """File a report, route it to the district, street and grid at its position; return it.

    Raises InvalidInput for a bad photo, too many photos, no position (none given and no GPS in
    the photos) or a position outside the city's districts.
    """
    now = now or utcnow()
    photos = _process(settings, uploads)
    source = "device"
    lon, lat = data.lon, data.lat
    if lon is None or lat is None:
        gps = next((p.gps for p in photos if p.gps), None)
        if gps is None:
            raise InvalidInput("give lon and lat, or a photo with a GPS position")
        (lon, lat), source = gps, "exif"
    where = locate(session, lon, lat)
    if where["district"] is None:
        raise InvalidInput(f"({lon:.5f}, {lat:.5f}) is outside the city's districts")
    unit_id = session.scalar(select(Member.unit_id).where(Member.id == who.member_id)) if who.member_id else None
    report = HazardReport(
        category=data.category,
        text=data.text,
        lon=lon,
        lat=lat,
        position_source=source,
        reporter_account_id=who.account_id,
        reporter_member_id=who.member_id,
        reporter_unit_id=unit_id,
        channel=channel,
        district_id=where["district"],
        street_id=where["street"],
        grid_id=where["grid"],
        status="new",
        due_at=_due(settings, "new", now),
        created_at=now,
        updated_at=now,
    )
    report.updates.append(ReportUpdate(at=now, account_id=who.account_id, status="new", note=""))
    session.add(report)
    session.flush()
    keys = _store(session, store, report, photos)
    _commit_or_forget(session, store, keys)
    _publish(bus, "report.created", report)
    return report


def visible_reports(who: Principal) -> ColumnElement[bool]:
    """Return the condition on reports ``who`` may see: operators their district's, leaders their
    unit's members', members their own and those they handle."""
    if who.role == CITY_ADMIN:
        return true()
    if who.role == DISTRICT_OPERATOR:
        return HazardReport.district_id == who.district_id
    mine = [HazardReport.reporter_account_id == who.account_id]
    if who.member_id is not None:
        mine += [HazardReport.reporter_member_id == who.member_id, HazardReport.assignee_member_id == who.member_id]
    if who.role == UNIT_LEADER and who.unit_id is not None:
        mine.append(HazardReport.reporter_unit_id == who.unit_id)
    return or_(*mine) if mine else false()


def get_report(session: Session, who: Principal, report_id: int) -> HazardReport:
    """Return the report; raises NotFound if absent or outside what ``who`` may see."""
    report = session.scalar(select(HazardReport).where(HazardReport.id == report_id, visible_reports(who)))
    if report is None:
        raise NotFound(f"report {report_id} not found")
    return report


def _may_handle(who: Principal, report: HazardReport) -> bool:
    if who.role == CITY_ADMIN:
        return True
    if who.role == DISTRICT_OPERATOR:
        return who.district_id == report.district_id
    return who.member_id is not None and who.member_id == report.assignee_member_id


def change_status(
    session: Session,
    bus: EventBus | None,
    settings: Settings,
    who: Principal,
    report_id: int,
    data: StatusIn,
    now: datetime | None = None,
) -> HazardReport:
    """Move the report to ``data.status``; return it.

    Operators of its district (and city admins) may make any allowed move; the member it is
    assigned to may start and resolve it. Raises Forbidden, NotFound, InvalidInput (a move the
    workflow does not allow, or an assignee who is not an active member of the district).
    """
    now = now or utcnow()
    report = get_report(session, who, report_id)
    if not _may_handle(who, report):
        raise Forbidden("only the district's operators or the assigned member may move this report on")
    if data.status not in TRANSITIONS[report.status]:
        raise InvalidInput(f"a {report.status} report cannot become {data.status}")
    operator = who.role in (CITY_ADMIN, DISTRICT_OPERATOR)
    if not operator and data.status not in ("in_progress", "resolved"):
        raise Forbidden("the assigned member may only start or resolve the report")
    if data.status == "assigned":
        if data.assignee_member_id is None:
            raise InvalidInput("assigned needs assignee_member_id")
        district = session.scalar(
            select(Unit.district_id)
            .join(Member, Member.unit_id == Unit.id)
            .where(Member.id == data.assignee_member_id, Member.status == "active")
        )
        if district is None or district != report.district_id:
            raise InvalidInput(f"member {data.assignee_member_id} is not an active member of the report's district")
        report.assignee_member_id = data.assignee_member_id
    report.status = data.status
    report.handler_account_id = who.account_id if operator else report.handler_account_id
    report.due_at = _due(settings, data.status, now)
    report.overdue = False
    report.updated_at = now
    if data.status not in OPEN_STATUSES:
        report.closed_at = now
    report.updates.append(ReportUpdate(at=now, account_id=who.account_id, status=data.status, note=data.note))
    session.commit()
    _publish(bus, "report.status", report, note=data.note)
    return report


def add_photos(
    session: Session,
    bus: EventBus | None,
    store: PhotoStore,
    settings: Settings,
    who: Principal,
    report_id: int,
    uploads: list[Upload],
) -> HazardReport:
    """Add photos to one's own open report; return it. Raises Forbidden, NotFound, InvalidInput."""
    report = get_report(session, who, report_id)
    if report.reporter_account_id != who.account_id:
        raise Forbidden("only the reporter may add photos")
    if report.status not in OPEN_STATUSES:
        raise InvalidInput(f"the report is {report.status}: no more photos")
    photos = _process(settings, uploads, already=len(report.photos))
    keys = _store(session, store, report, photos)
    report.updated_at = utcnow()
    _commit_or_forget(session, store, keys)
    _publish(bus, "report.photos", report, photos=len(report.photos))
    return report


def photo(session: Session, store: PhotoStore, who: Principal, report_id: int, photo_id: int) -> tuple[bytes, str]:
    """Return a photo's bytes and type. Photos show people and places: only the reporter, the
    assigned member and the district's operators see them. Raises NotFound or Forbidden."""
    report = get_report(session, who, report_id)
    if report.reporter_account_id != who.account_id and not _may_handle(who, report):
        raise Forbidden("photos are shown only to the reporter, the handler and the district's operators")
    found = next((p for p in report.photos if p.id == photo_id), None)
    if found is None:
        raise NotFound(f"photo {photo_id} of report {report_id} not found")
    return store.get(found.storage_key), found.content_type


def list_reports(
    session: Session,
    who: Principal,
    *,
    status: str | None = None,
    category: str | None = None,
    overdue: bool | None = None,
    mine: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> list[HazardReport]:
    """Return the reports ``who`` may see (only their own if ``mine``), newest first."""
    stmt = select(HazardReport).where(visible_reports(who))
    if mine:
        stmt = stmt.where(HazardReport.reporter_account_id == who.account_id)
    if status is not None:
        stmt = stmt.where(HazardReport.status == status)
    if category is not None:
        stmt = stmt.where(HazardReport.category == category)
    if overdue is not None:
        stmt = stmt.where(HazardReport.overdue.is_(overdue))
    stmt = stmt.order_by(HazardReport.created_at.desc(), HazardReport.id.desc()).limit(limit).offset(offset)
    return list(session.scalars(stmt))


def flag_overdue(session: Session, bus: EventBus | None, now: datetime | None = None) -> int:
    """Flag the open reports past their SLA deadline and publish ``report.overdue``; return how many."""
    now = now or utcnow()
    late = list(
        session.scalars(
            select(HazardReport).where(
                HazardReport.status.in_(OPEN_STATUSES), HazardReport.due_at < now, HazardReport.overdue.is_(False)
            )
        )
    )
    for report in late:
        report.overdue = True
    session.commit()
    for report in late:
        _publish(bus, "report.overdue", report, due_at=report.due_at.isoformat() if report.due_at else None)
    return len(late)


def report_out(report: HazardReport) -> ReportOut:
    """Return the API shape of a report, with its photos' URLs and its history."""
    return ReportOut(
        id=report.id,
        category=report.category,
        category_name=CATEGORIES[report.category][0],
        text=report.text,
        lon=report.lon,
        lat=report.lat,
        position_source=report.position_source,
        channel=report.channel,
        status=report.status,
        district_id=report.district_id,
        street_id=report.street_id,
        grid_id=report.grid_id,
        reporter_member_id=report.reporter_member_id,
        assignee_member_id=report.assignee_member_id,
        due_at=report.due_at,
        overdue=report.overdue,
        created_at=report.created_at,
        updated_at=report.updated_at,
        closed_at=report.closed_at,
        photos=[
            PhotoOut(
                id=p.id,
                url=f"/api/reports/{report.id}/photos/{p.id}",
                content_type=p.content_type,
                width=p.width,
                height=p.height,
                size_bytes=p.size_bytes,
            )
            for p in report.photos
        ],
        updates=[UpdateOut(at=u.at, status=u.status, note=u.note) for u in report.updates],
    )
