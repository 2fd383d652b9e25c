"""Early warning (发现在早): scan recent reports for hotspots, keep them, tell the operators."""

from __future__ import annotations

from datetime import datetime, timedelta

import h3
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiefang.areas.service import locate
from jiefang.config import Settings
from jiefang.db import utcnow
from jiefang.events import EventBus
from jiefang.people.access import CITY_ADMIN, Principal
from jiefang.reports.clustering import Cluster, ScanParams, Signal, detect
from jiefang.reports.models import HazardReport, Hotspot
from jiefang.reports.schemas import CATEGORY_GROUPS, HotspotOut


def params_from(settings: Settings, history_s: float) -> ScanParams | None:
    """Return the scan parameters, the baseline cut to the history there is; None without history."""
    window_s = settings.hotspot_window_h * 3600
    baseline_s = min(settings.hotspot_baseline_days * 86400, history_s - window_s)
    if baseline_s < window_s:  # too little history to tell busier from busy
        return None
    return ScanParams(
        window_s,
        baseline_s,
        settings.hotspot_h3_resolution,
        settings.hotspot_min_reports,
        settings.hotspot_false_alarm_rate,
    )


def _signals(session: Session, since: datetime) -> list[Signal]:
    rows = session.execute(
        select(
            HazardReport.id, HazardReport.lon, HazardReport.lat, HazardReport.created_at, HazardReport.category
        ).where(HazardReport.created_at >= since, HazardReport.status != "rejected")
    )
    return [Signal(i, lon, lat, at.timestamp(), CATEGORY_GROUPS.get(cat, "other")) for i, lon, lat, at, cat in rows]


def _match(open_spots: list[Hotspot], c: Cluster) -> Hotspot | None:
    return next((h for h in open_spots if h.category_group == c.group and h3.grid_distance(h.cell, c.cell) <= 2), None)


def scan(session: Session, bus: EventBus | None, settings: Settings, now: datetime | None = None) -> list[Hotspot]:
    """Look for hotspots now; store new ones, grow known ones, close quiet ones.

    Publishes ``hotspot.alert`` for each new or grown hotspot; returns those.
    """
    now = now or utcnow()
    first = session.scalar(select(func.min(HazardReport.created_at)))
    if first is None:
        return []
    params = params_from(settings, (now - first).total_seconds())
    if params is None:
        return []
    since = now - timedelta(seconds=params.window_s + params.baseline_s)
    clusters = detect(_signals(session, since), now.timestamp(), params)
    open_spots = list(session.scalars(select(Hotspot).where(Hotspot.status == "open")))
    raised: list[Hotspot] = []
    for c in clusters:
        spot = _match(open_spots, c)
        if spot is not None and spot.reports >= c.count:
            spot.updated_at = now
            continue
        if spot is None:
            spot = Hotspot(
                category_group=c.group,
                cell=c.cell,
                detected_at=now,
                district_id=locate(session, c.lon, c.lat)["district"],
            )
            session.add(spot)
            open_spots.append(spot)
        spot.lon, spot.lat, spot.radius_m = c.lon, c.lat, c.radius_m
        spot.reports, spot.expected, spot.p_value = c.count, c.expected, c.p_value
        spot.report_ids = ",".join(map(str, c.ids))
        spot.updated_at = now
        raised.append(spot)
    quiet_since = now - timedelta(seconds=params.window_s)
    for spot in open_spots:
        if spot.updated_at < quiet_since:
            spot.status = "closed"
    session.commit()
    if bus is not None:
        for spot in raised:
            bus.publish(
                "hotspot.alert",
                hotspot_id=spot.id,
                district_id=spot.district_id,
                group=spot.category_group,
                lon=spot.lon,
                lat=spot.lat,
                radius_m=spot.radius_m,
                reports=spot.reports,
                report_ids=[int(i) for i in spot.report_ids.split(",")],
            )
    return raised


def list_hotspots(session: Session, who: Principal, open_only: bool, limit: int) -> list[Hotspot]:
    """Return hotspots in ``who``'s district (all for a city admin), newest first."""
    stmt = select(Hotspot)
    if who.role != CITY_ADMIN:
        stmt = stmt.where(Hotspot.district_id == who.district_id)
    if open_only:
        stmt = stmt.where(Hotspot.status == "open")
    return list(session.scalars(stmt.order_by(Hotspot.detected_at.desc(), Hotspot.id.desc()).limit(limit)))


def hotspot_out(h: Hotspot) -> HotspotOut:
    """Return the API shape of a hotspot."""
    return HotspotOut(
        id=h.id,
        category_group=h.category_group,
        cell=h.cell,
        lon=h.lon,
        lat=h.lat,
        radius_m=h.radius_m,
        district_id=h.district_id,
        reports=h.reports,
        expected=h.expected,
        p_value=h.p_value,
        report_ids=[int(i) for i in h.report_ids.split(",") if i],
        detected_at=h.detected_at,
        updated_at=h.updated_at,
        status=h.status,
    )
