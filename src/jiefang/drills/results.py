"""Drill results: per-unit history, rankings and weekly trends by area, units to follow up, CSV.

A unit whose last two scored drills both failed is *flagged* for follow-up. Rankings order the
groups by pass rate (best first, groups without a scored drill last).
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiefang.areas.models import Area
from jiefang.dispatch.compliance import _cell, check_window
from jiefang.drills.models import Drill
from jiefang.drills.schemas import AckBin, DrillGroup, DrillGroupBy, DrillSummary, WeakUnit
from jiefang.drills.service import visible_drills
from jiefang.errors import NotFound
from jiefang.people.access import Principal
from jiefang.units.models import Unit

ACK_BIN_S = 10
ACK_MAX_S = 120
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Scored:
    unit_id: int
    key: int | None
    passed: bool
    first_ack_s: float | None
    planned_at: datetime


def unit_history(session: Session, who: Principal, unit_id: int, limit: int = 100) -> list[Drill]:
    """Return a unit's drills, newest first. Raises NotFound for a unit outside the caller's scope."""
    drills = list(
        session.scalars(
            select(Drill)
            .where(Drill.unit_id == unit_id, visible_drills(who))
            .order_by(Drill.planned_at.desc(), Drill.id.desc())
            .limit(limit)
        )
    )
    if not drills and session.get(Unit, unit_id) is None:
        raise NotFound(f"unit {unit_id} not found")
    return drills


def flagged_units(session: Session, who: Principal) -> set[int]:
    """Return the visible units whose last two scored drills both failed."""
    last: dict[int, list[bool]] = defaultdict(list)
    rows = session.execute(
        select(Drill.unit_id, Drill.passed)
        .where(visible_drills(who), Drill.passed.is_not(None))
        .order_by(Drill.unit_id, Drill.planned_at.desc(), Drill.id.desc())
    )
    for unit_id, passed in rows:
        if len(last[unit_id]) < 2:
            last[unit_id].append(bool(passed))
    return {u for u, results in last.items() if results == [False, False]}


def _scored(session: Session, who: Principal, group_by: DrillGroupBy, since: datetime, until: datetime) -> list[Scored]:
    key = {"district": Drill.district_id, "street": Unit.street_id, "grid": Unit.grid_id, "unit": Drill.unit_id}
    rows = session.execute(
        select(Drill.unit_id, key[group_by], Drill.passed, Drill.first_ack_s, Drill.planned_at)
        .join(Unit, Unit.id == Drill.unit_id)
        .where(visible_drills(who), Drill.passed.is_not(None), Drill.planned_at >= since, Drill.planned_at < until)
    )
    return [Scored(u, k, bool(p), a, t) for u, k, p, a, t in rows]


def _labels(session: Session, group_by: DrillGroupBy, keys: set[int]) -> dict[int, tuple[str, str, str | None]]:
    if not keys:
        return {}
    if group_by == "unit":
        return {
            i: (c, n, None)
            for i, c, n in session.execute(select(Unit.id, Unit.code, Unit.name).where(Unit.id.in_(keys)))
        }
    return {
        i: (c, n, e)
        for i, c, n, e in session.execute(select(Area.id, Area.code, Area.name, Area.name_en).where(Area.id.in_(keys)))
    }


def _group(
    rows: list[Scored],
    weeks: list[datetime],
    flagged: int,
    key: int | None,
    label: tuple[str | None, str | None, str | None],
) -> DrillGroup:
    passed = sum(r.passed for r in rows)
    acks = [r.first_ack_s for r in rows if r.first_ack_s is not None]
    trend: list[float | None] = []
    for start in weeks:
        week = [r.passed for r in rows if start <= r.planned_at < start + WEEK]
        trend.append(round(sum(week) / len(week), 4) if week else None)
    return DrillGroup(
        id=key,
        code=label[0],
        name=label[1],
        name_en=label[2],
        drills=len(rows),
        passed=passed,
        failed=len(rows) - passed,
        pass_rate=round(passed / len(rows), 4) if rows else None,
        median_ack_s=round(statistics.median(acks), 1) if acks else None,
        flagged_units=flagged,
        trend=trend,
    )


def _histogram(rows: list[Scored]) -> list[AckBin]:
    counts = [0] * (ACK_MAX_S // ACK_BIN_S + 1)
    for r in rows:
        if r.first_ack_s is not None:
            counts[min(int(r.first_ack_s // ACK_BIN_S), len(counts) - 1)] += 1
    return [
        AckBin(from_s=i * ACK_BIN_S, to_s=(i + 1) * ACK_BIN_S if i < len(counts) - 1 else None, count=n)
        for i, n in enumerate(counts)
    ]


def drill_summary(
    session: Session, who: Principal, group_by: DrillGroupBy, since: datetime, until: datetime
) -> DrillSummary:
    """Return the scored drills planned in [since, until) that ``who`` may see, ranked by group.

    Raises Forbidden for members, InvalidInput for a bad window.
    """
    check_window(since, until)
    rows = _scored(session, who, group_by, since, until)
    weeks = [since + i * WEEK for i in range(max(1, -(-(until - since) // WEEK)))]
    flagged = flagged_units(session, who)
    by_key: dict[int | None, list[Scored]] = defaultdict(list)
    for r in rows:
        by_key[r.key].append(r)
    unit_key = {r.unit_id: r.key for r in rows}
    flagged_by: dict[int | None, int] = defaultdict(int)
    for u in flagged:
        if u in unit_key:
            flagged_by[unit_key[u]] += 1
    labels = _labels(session, group_by, {k for k in by_key if k is not None})
    groups = [
        _group(
            g,
            weeks,
            flagged_by[k],
            k,
            labels.get(k, (None, None, None)) if k is not None else (None, "未归属", "Unassigned"),
        )
        for k, g in by_key.items()
    ]
    groups.sort(key=lambda g: (g.pass_rate is None, -(g.pass_rate or 0.0), -g.drills, g.code or ""))
    for rank, g in enumerate(groups, start=1):
        g.rank = rank
    total = _group(rows, weeks, sum(flagged_by.values()), None, (None, "全部", "All"))
    return DrillSummary(
        group_by=group_by,
        since=since,
        until=until,
        weeks=[w.date() for w in weeks],
        total=total,
        groups=groups,
        ack_histogram=_histogram(rows),
    )


def weak_units(session: Session, who: Principal, since: datetime, until: datetime) -> list[WeakUnit]:
    """Return the visible units that failed a drill in [since, until) or are flagged, worst first."""
    check_window(since, until)
    rows = _scored(session, who, "unit", since, until)
    flagged = flagged_units(session, who)
    by_unit: dict[int, list[Scored]] = defaultdict(list)
    for r in rows:
        by_unit[r.unit_id].append(r)
    weak = {u for u, g in by_unit.items() if any(not r.passed for r in g)} | flagged
    out = []
    for unit in session.scalars(select(Unit).where(Unit.id.in_(weak))) if weak else []:
        mine = by_unit.get(unit.id, [])
        passed = sum(r.passed for r in mine)
        out.append(
            WeakUnit(
                unit_id=unit.id,
                code=unit.code,
                name=unit.name,
                lon=unit.lon,
                lat=unit.lat,
                district_id=unit.district_id,
                drills=len(mine),
                failed=len(mine) - passed,
                pass_rate=round(passed / len(mine), 4) if mine else None,
                flagged=unit.id in flagged,
                last_drill_at=max((r.planned_at for r in mine), default=None),
            )
        )
    out.sort(key=lambda w: (not w.flagged, w.pass_rate if w.pass_rate is not None else 0.0, -w.failed, w.code))
    return out


def summary_csv(summary: DrillSummary) -> str:
    """Return the ranking as CSV (UTF-8 with BOM for spreadsheets): one row per group, then the total."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    weeks = [f"week_{w.isoformat()}" for w in summary.weeks]
    writer.writerow(
        [
            "rank",
            "group_by",
            "id",
            "code",
            "name",
            "name_en",
            "drills",
            "passed",
            "failed",
            "pass_rate",
            "median_ack_s",
            "flagged_units",
            *weeks,
        ]
    )
    for g in [*summary.groups, summary.total]:
        is_total = g is summary.total
        writer.writerow(
            [
                "" if is_total else g.rank,
                "total" if is_total else summary.group_by,
                g.id or "",
                _cell(g.code),
                _cell(g.name),
                _cell(g.name_en),
                g.drills,
                g.passed,
                g.failed,
                "" if g.pass_rate is None else f"{g.pass_rate:.4f}",
                "" if g.median_ack_s is None else f"{g.median_ack_s:.1f}",
                g.flagged_units,
                *("" if t is None else f"{t:.4f}" for t in g.trend),
            ]
        )
    return "\ufeff" + out.getvalue()
