"""The governance index per district or street for one month, stored as history (database side).

Component values are gathered here from the domains that hold them (coverage from the cells and
units, participation from duty sessions, 1-3-5 compliance from dispatch, incident trend from
incidents, drill pass rate from drills, hazard resolution from the weak-signal reports);
``index.compose`` turns them into scores.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session

from jiefang.analytics.cells import CellCache, CityCells
from jiefang.analytics.coverage import shares_by_group
from jiefang.analytics.index import Component, compose, load_components, rate, trend_value
from jiefang.analytics.models import IndexScore
from jiefang.analytics.schemas import HistoryPoint, IndexHistory, IndexOut, IndexRow, PartOut
from jiefang.analytics.service import coverage_times, unit_sites
from jiefang.areas.models import Area
from jiefang.config import Settings
from jiefang.dispatch.compliance import compliance_summary
from jiefang.drills.models import Drill
from jiefang.duty.models import DutySession
from jiefang.errors import InvalidInput, NotFound
from jiefang.incidents.models import Incident
from jiefang.incidents.playbooks import Playbook
from jiefang.people.access import CITY_ADMIN, Principal
from jiefang.people.models import Member
from jiefang.reports.models import HazardReport
from jiefang.units.models import Unit

Level = Literal["district", "street"]
SCORED_DRILLS = ("passed", "failed")
SYSTEM = Principal(account_id=0, username="system", role=CITY_ADMIN)  # the index reads city-wide


@dataclass(frozen=True)
class Period:
    """A calendar month in local time, as a UTC window."""

    label: str
    since: datetime
    until: datetime

    def year_before(self, tz: ZoneInfo) -> Period:
        y, m = (int(x) for x in self.label.split("-"))
        return month(f"{y - 1:04d}-{m:02d}", tz)


def month(label: str, tz: ZoneInfo) -> Period:
    """Return the month ``YYYY-MM``. Raises InvalidInput for anything else."""
    try:
        first = datetime.strptime(label, "%Y-%m").date()
    except ValueError as exc:
        raise InvalidInput(f"month must be YYYY-MM, got {label!r}") from exc
    if not 1971 <= first.year <= 2999:  # a year before must exist, and time zones must not overflow
        raise InvalidInput(f"month must lie in 1971..2999, got {label!r}")
    nxt = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    start = datetime.combine(first, time(), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(nxt, time(), tzinfo=tz).astimezone(UTC)
    return Period(label, start, end)


def _column(level: Level) -> Any:
    return Unit.district_id if level == "district" else Unit.street_id


def _counts(session: Session, stmt: Select[Any, Any]) -> dict[int, int]:
    return {int(k): int(v) for k, v in session.execute(stmt).all() if k is not None}


def gather(
    session: Session,
    settings: Settings,
    cache: CellCache,
    level: Level,
    period: Period,
    playbooks: Mapping[str, Playbook],
) -> tuple[list[Area], dict[int, dict[str, tuple[float | None, str]]]]:
    """Return the areas of ``level`` and, per area id, each component's (value, detail)."""
    tz = ZoneInfo(settings.timezone)
    areas = list(session.scalars(select(Area).where(Area.level == level).order_by(Area.code)))
    city = cache.get(session)
    coverage = _coverage_values(settings, session, cache, city, level)
    unit_col = _column(level)
    members = _counts(
        session,
        select(unit_col, func.count(Member.id))
        .join(Unit, Unit.id == Member.unit_id)
        .where(Member.status == "active")
        .group_by(unit_col),
    )
    served = _counts(
        session,
        select(unit_col, func.count(func.distinct(DutySession.member_id)))
        .join(Unit, Unit.id == DutySession.unit_id)
        .where(DutySession.checked_in_at >= period.since, DutySession.checked_in_at < period.until)
        .group_by(unit_col),
    )
    summary = compliance_summary(session, SYSTEM, level, period.since, period.until, playbooks, now=period.until)
    compliance = {g.id: (g.all_passed, g.all_assessed) for g in summary.groups if g.id is not None}
    inc_col = Incident.district_id if level == "district" else Incident.street_id
    last = period.year_before(tz)
    this_n = _counts(
        session,
        select(inc_col, func.count(Incident.id))
        .where(Incident.reported_at >= period.since, Incident.reported_at < period.until, Incident.drill.is_(False))
        .group_by(inc_col),
    )
    last_n = _counts(
        session,
        select(inc_col, func.count(Incident.id))
        .where(Incident.reported_at >= last.since, Incident.reported_at < last.until, Incident.drill.is_(False))
        .group_by(inc_col),
    )
    drills_scored, drills_passed = _drill_counts(session, unit_col, period, tz)
    reports_taken, reports_resolved = _report_counts(session, level, period)
    values: dict[int, dict[str, tuple[float | None, str]]] = {}
    for a in areas:
        passed, assessed = compliance.get(a.id, (0, 0))
        now_n, before_n = this_n.get(a.id, 0), last_n.get(a.id, 0)
        values[a.id] = {
            "coverage": coverage.get(a.id, (None, "no cells")),
            "participation": (
                rate(served.get(a.id, 0), members.get(a.id, 0)),
                f"{served.get(a.id, 0)} / {members.get(a.id, 0)} members on duty in the month",
            ),
            "compliance": (rate(passed, assessed), f"{passed} / {assessed} incidents passed all three tiers"),
            "incident_trend": (trend_value(now_n, before_n), f"{now_n} incidents vs {before_n} a year before"),
            "drill_pass": (
                rate(drills_passed.get(a.id, 0), drills_scored.get(a.id, 0)),
                f"{drills_passed.get(a.id, 0)} / {drills_scored.get(a.id, 0)} drills passed in the month",
            ),
        }
        values[a.id]["hazard_resolution"] = (
            rate(reports_resolved.get(a.id, 0), reports_taken.get(a.id, 0)),
            f"{reports_resolved.get(a.id, 0)} / {reports_taken.get(a.id, 0)} hazard reports of the month resolved",
        )
    return areas, values


def _report_counts(session: Session, level: str, period: Period) -> tuple[dict[int, int], dict[int, int]]:
    """Return per area the hazard reports filed in the month and taken up (not rejected), and those resolved."""
    col = HazardReport.district_id if level == "district" else HazardReport.street_id
    base = (
        select(col, func.count(HazardReport.id))
        .where(HazardReport.created_at >= period.since, HazardReport.created_at < period.until,
               HazardReport.status != "rejected")
        .group_by(col)
    )
    return _counts(session, base), _counts(session, base.where(HazardReport.status == "resolved"))


def _drill_counts(
    session: Session, unit_col: Any, period: Period, tz: ZoneInfo
) -> tuple[dict[int, int], dict[int, int]]:
    """Return per area the drills scored (passed or failed) in the month's local days, and those passed."""
    first, last = period.since.astimezone(tz).date(), (period.until.astimezone(tz) - timedelta(days=1)).date()
    base = (
        select(unit_col, func.count(Drill.id))
        .join(Unit, Unit.id == Drill.unit_id)
        .where(Drill.plan_date >= first, Drill.plan_date <= last, Drill.status.in_(SCORED_DRILLS))
        .group_by(unit_col)
    )
    return _counts(session, base), _counts(session, base.where(Drill.status == "passed"))


def _coverage_values(
    settings: Settings, session: Session, cache: CellCache, city: CityCells, level: Level
) -> dict[int, tuple[float | None, str]]:
    u_lon, u_lat = unit_sites(session)
    cells = city.cells
    unit_s = coverage_times(settings, cache).kth_nearest_s(cells.lon, cells.lat, u_lon, u_lat, 1)
    refs, group_of = (city.districts, city.district_of) if level == "district" else (city.streets, city.street_of)
    shares = shares_by_group(unit_s, cells.area_km2, group_of, len(refs), (180.0,))[:, 0]
    inside = group_of >= 0
    totals = np.bincount(group_of[inside], weights=cells.area_km2[inside], minlength=len(refs))
    near = np.bincount(
        group_of[inside], weights=np.where(unit_s[inside] <= 180.0, cells.area_km2[inside], 0.0), minlength=len(refs)
    )
    return {
        r.id: (float(shares[i]), f"{near[i]:.2f} / {totals[i]:.2f} km² within 3 min of a unit")
        for i, r in enumerate(refs)
        if totals[i] > 0
    }


def _parts(
    components: tuple[Component, ...], values: dict[str, tuple[float | None, str]]
) -> tuple[float | None, list[PartOut]]:
    score = compose({k: v for k, (v, _) in values.items()}, components)
    parts = [
        PartOut(
            key=p.key,
            name=c.name,
            name_en=c.name_en,
            value=p.value,
            weight=p.weight,
            effective_weight=round(p.effective_weight, 6),
            points=round(p.points, 4),
            detail=values.get(p.key, (None, "no data"))[1],
        )
        for p, c in zip(score.parts, components, strict=True)
    ]
    return (None if score.score is None else round(score.score, 4)), parts


def compute_index(
    session: Session,
    settings: Settings,
    cache: CellCache,
    level: Level,
    label: str,
    playbooks: Mapping[str, Playbook],
    district_id: int | None = None,
) -> IndexOut:
    """Compute, store (replacing the month's earlier run) and return the index of every area of ``level``.

    ``district_id`` limits the rows returned (not the computation). Raises InvalidInput for a bad
    month or level or a malformed weights file.
    """
    if level not in ("district", "street"):
        raise InvalidInput("level must be district or street")
    period = month(label, ZoneInfo(settings.timezone))
    components = load_components(settings.index_weights_file)
    areas, values = gather(session, settings, cache, level, period, playbooks)
    rows: list[IndexRow] = []
    session.execute(delete(IndexScore).where(IndexScore.period == label, IndexScore.level == level))
    for a in areas:
        score, parts = _parts(components, values[a.id])
        session.add(
            IndexScore(
                period=label,
                area_id=a.id,
                level=level,
                score=score,
                parts=json.dumps([p.model_dump() for p in parts], ensure_ascii=False),
            )
        )
        rows.append(
            IndexRow(
                area_id=a.id,
                code=a.code,
                name=a.name,
                name_en=a.name_en,
                level=level,
                period=label,
                score=score,
                rank=None,
                parts=parts,
            )
        )
    session.commit()
    ranked = sorted((r for r in rows if r.score is not None), key=lambda r: -(r.score or 0.0))
    for i, r in enumerate(ranked, start=1):
        r.rank = i
    if district_id is not None:
        keep = {a.id for a in areas if a.id == district_id or a.district_id == district_id}
        rows = [r for r in rows if r.area_id in keep]
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0))
    return IndexOut(period=label, level=level, rows=rows)


def index_history(session: Session, area_id: int) -> IndexHistory:
    """Return the stored monthly scores of an area, oldest first. Raises NotFound for an unknown area."""
    area = session.get(Area, area_id)
    if area is None:
        raise NotFound(f"no area with id {area_id}")
    rows = session.scalars(select(IndexScore).where(IndexScore.area_id == area_id).order_by(IndexScore.period))
    return IndexHistory(
        area_id=area_id, name=area.name, points=[HistoryPoint(period=r.period, score=r.score) for r in rows]
    )
