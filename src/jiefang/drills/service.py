"""Planning drills against the database: the day's stratified plan and ad-hoc drills on a map selection.

``load_pool`` turns units, rostered shifts and past drills into the arrays of the pure planner
(``scheduler.plan_drills``); ``plan_day`` stores its plan. Ad-hoc drills are fired at once
(``execution.fire``). Reading drills is scoped like everything else: operators their district,
leaders their unit; members see drills only as the alerts they receive.
"""

from __future__ import annotations

import math
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import ColumnElement, and_, func, select, true
from sqlalchemy.orm import Session

from jiefang.commands.selection import operator_district, shape_of, units_inside
from jiefang.config import Settings
from jiefang.db import utcnow
from jiefang.dispatch.service import Dispatcher
from jiefang.drills.execution import fire
from jiefang.drills.models import Drill
from jiefang.drills.scheduler import (
    NEVER,
    SLOT_S,
    SLOTS_PER_DAY,
    DayPlan,
    DrillPolicy,
    UnitPool,
    drills_per_day,
    plan_drills,
)
from jiefang.drills.schemas import AdhocIn, DistrictQuota, DrillOut, PlanIn, PlanOut
from jiefang.duty.models import RosterAssignment, Shift
from jiefang.duty.windows import ShiftTimes, window_on
from jiefang.errors import Conflict, Forbidden, InvalidInput, NotFound
from jiefang.events import EventBus
from jiefang.people.access import CITY_ADMIN, DISTRICT_OPERATOR, UNIT_LEADER, Principal
from jiefang.units.models import Unit

RECENT_RESULTS = 3  # a unit's record for weighting: its last few scored drills


@dataclass(frozen=True)
class LoadedPool:
    """The planner's arrays and the district of each unit."""

    pool: UnitPool
    district_of: dict[int, int]


def policy_of(settings: Settings, units: int, count: int | None = None) -> DrillPolicy:
    """Return the planning policy of the settings (``count`` overrides the drills per day)."""
    per_day = drills_per_day(units, count if count is not None else settings.drills_per_day)
    return DrillPolicy(per_day=per_day, window_days=settings.drills_window_days, cycle_days=settings.drills_cycle_days)


def _local_day(at: datetime, tz: ZoneInfo) -> int:
    return at.astimezone(tz).date().toordinal()


def _day_start(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tz)


def _on_duty(session: Session, index: dict[int, int], day: date, tz: ZoneInfo) -> np.ndarray:
    """Mark the quarter-hours of ``day`` fully inside a rostered shift window (last night's included)."""
    on_duty = np.zeros((len(index), SLOTS_PER_DAY), dtype=np.bool_)
    start = _day_start(day, tz)
    rows = session.execute(
        select(
            Shift.id,
            Shift.unit_id,
            Shift.start_time,
            Shift.end_time,
            Shift.weekdays,
            RosterAssignment.valid_from,
            RosterAssignment.valid_to,
        )
        .join(RosterAssignment, RosterAssignment.shift_id == Shift.id)
        .where(Shift.min_on_duty > 0, RosterAssignment.valid_from <= day)
    ).all()
    slots: dict[tuple[time, time, int, date], tuple[int, int]] = {}  # shifts share a few patterns: compute each once
    seen: set[tuple[int, date]] = set()
    for shift_id, unit_id, start_time, end_time, weekdays, valid_from, valid_to in rows:
        row = index.get(unit_id)
        if row is None:
            continue
        for started in (day - timedelta(days=1), day):
            if (shift_id, started) in seen or started < valid_from or (valid_to is not None and started > valid_to):
                continue
            seen.add((shift_id, started))
            key = (start_time, end_time, weekdays, started)
            if key not in slots:
                window = window_on(ShiftTimes(start_time, end_time, weekdays), started, tz)
                slots[key] = (
                    (0, 0)
                    if window is None
                    else (
                        max(0, math.ceil((window[0] - start).total_seconds() / SLOT_S)),
                        min(SLOTS_PER_DAY, math.floor((window[1] - start).total_seconds() / SLOT_S)),
                    )
                )
            first, last = slots[key]
            if last > first:
                on_duty[row, first:last] = True
    return on_duty


def load_pool(session: Session, day: date, tz: ZoneInfo, cycle_days: int) -> LoadedPool:
    """Return the planner's view of the active units for ``day``: districts, on-duty quarter-hours,
    last drill day (ad-hoc drills of the day included), and share of recent failures."""
    units = session.execute(
        select(Unit.id, Unit.district_id, Unit.created_at).where(Unit.status == "active").order_by(Unit.id)
    ).all()
    index = {u.id: i for i, u in enumerate(units)}
    last_day = np.full(len(units), NEVER, dtype=np.int64)
    for unit_id, last in session.execute(
        select(Drill.unit_id, func.max(Drill.plan_date))
        .where(Drill.status != "cancelled", Drill.plan_date <= day)
        .group_by(Drill.unit_id)
    ):
        if unit_id in index:
            last_day[index[unit_id]] = last.toordinal()
    recent: dict[int, list[bool]] = defaultdict(list)
    since = day - timedelta(days=3 * cycle_days)
    for unit_id, passed in session.execute(
        select(Drill.unit_id, Drill.passed)
        .where(Drill.passed.is_not(None), Drill.plan_date >= since, Drill.plan_date <= day)
        .order_by(Drill.unit_id, Drill.planned_at.desc())
    ):
        if len(recent[unit_id]) < RECENT_RESULTS:
            recent[unit_id].append(bool(passed))
    fail_share = np.zeros(len(units), dtype=np.float64)
    for unit_id, results in recent.items():
        if unit_id in index:
            fail_share[index[unit_id]] = results.count(False) / len(results)
    pool = UnitPool(
        unit_ids=np.array([u.id for u in units], dtype=np.int64),
        district=np.array([u.district_id for u in units], dtype=np.int64),
        on_duty=_on_duty(session, index, day, tz),
        last_day=last_day,
        registered_day=np.array([_local_day(u.created_at, tz) for u in units], dtype=np.int64),
        fail_share=fail_share,
    )
    return LoadedPool(pool, {u.id: u.district_id for u in units})


@dataclass(frozen=True)
class ComputedPlan:
    """A day's plan before it is stored: the planner's inputs and output."""

    day: date
    seed: int
    from_slot: int
    start: datetime  # local midnight of the day
    loaded: LoadedPool
    plan: DayPlan

    @property
    def eligible_units(self) -> int:
        """Units with a rostered shift in a quarter-hour still ahead (before the no-repeat window)."""
        return int(self.loaded.pool.on_duty[:, self.from_slot :].any(axis=1).sum())


def compute_plan(session: Session, settings: Settings, data: PlanIn, now: datetime | None = None) -> ComputedPlan:
    """Return the plan of a local day without storing it. Raises InvalidInput for a day already past."""
    now = now or utcnow()
    tz = ZoneInfo(settings.timezone)
    today = now.astimezone(tz).date()
    if data.date < today:
        raise InvalidInput(f"{data.date} is past; plan today or a later day")
    start = _day_start(data.date, tz)
    from_slot = 0
    if data.date == today:  # only quarter-hours that start at least a minute from now
        from_slot = min(SLOTS_PER_DAY, math.ceil(((now - start).total_seconds() + 60) / SLOT_S))
    loaded = load_pool(session, data.date, tz, settings.drills_cycle_days)
    seed = data.seed if data.seed is not None else secrets.randbelow(2**31)
    policy = policy_of(settings, len(loaded.pool), data.count)
    plan = plan_drills(loaded.pool, data.date.toordinal(), policy, seed, from_slot)
    return ComputedPlan(data.date, seed, from_slot, start, loaded, plan)


def scheduled_count(session: Session, day: date) -> int:
    """Return how many scheduled drills (not cancelled) the day has."""
    return (
        session.scalar(
            select(func.count(Drill.id)).where(
                Drill.kind == "scheduled", Drill.plan_date == day, Drill.status != "cancelled"
            )
        )
        or 0
    )


def plan_day(
    session: Session, settings: Settings, bus: EventBus, who: Principal, data: PlanIn, now: datetime | None = None
) -> PlanOut:
    """Plan and store the scheduled drills of a local day; return the plan.

    Raises InvalidInput for a day already past, Conflict when the day is already planned.
    """
    now = now or utcnow()
    planned = scheduled_count(session, data.date)
    if planned:
        raise Conflict(f"{data.date} already has {planned} scheduled drills")
    computed = compute_plan(session, settings, data, now)
    plan, loaded, start, seed = computed.plan, computed.loaded, computed.start, computed.seed
    drills = [
        Drill(
            unit_id=int(u),
            district_id=loaded.district_of[int(u)],
            kind="scheduled",
            plan_date=data.date,
            planned_at=(start + timedelta(seconds=int(s))).astimezone(UTC),
            status="planned",
            scenario=settings.drills_scenario,
            video_requested=False,
            seed=seed,
            created_by=who.account_id or None,
            created_at=now,
        )
        for u, s in zip(plan.unit_ids, plan.at_s, strict=True)
    ]
    session.add_all(drills)
    session.commit()
    bus.publish("drills.planned", keep=False, date=data.date.isoformat(), planned=len(drills))
    return PlanOut(
        date=data.date,
        seed=seed,
        planned=len(drills),
        eligible_units=computed.eligible_units,
        quotas=[DistrictQuota(district_id=k, planned=v) for k, v in sorted(plan.quotas.items())],
        drills=[DrillOut.model_validate(x) for x in drills],
    )


def launch_adhoc(
    session: Session, d: Dispatcher, settings: Settings, who: Principal, data: AdhocIn, now: datetime | None = None
) -> list[Drill]:
    """Drill every active unit inside the selection now (an operator's own district only); return the drills.

    Raises Forbidden for other roles, InvalidInput for an empty or too large selection or an
    unknown scenario.
    """
    if who.role not in (CITY_ADMIN, DISTRICT_OPERATOR):
        raise Forbidden("ad-hoc drills are launched by operators")
    now = now or utcnow()
    scenario = data.scenario or settings.drills_scenario
    d.playbook(scenario)
    units = units_inside(session, shape_of(session, who, data.selection), operator_district(who))
    if not units:
        raise InvalidInput("no active unit of yours inside the selection")
    if len(units) > data.max_units:
        raise InvalidInput(f"the selection holds {len(units)} units, more than max_units={data.max_units}")
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    drills = [
        Drill(
            unit_id=u.id,
            district_id=u.district_id,
            kind="adhoc",
            plan_date=today,
            planned_at=now,
            status="running",
            scenario=scenario,
            video_requested=data.video,
            created_by=who.account_id or None,
            created_at=now,
        )
        for u in units
    ]
    session.add_all(drills)
    session.commit()
    for drill in drills:
        fire(session, d, drill, now, settings.drills_muster_min)
    return drills


def visible_drills(who: Principal) -> ColumnElement[bool]:
    """The drills a role may read: operators their district's, leaders their unit's once fired;
    members none (they get their alerts). Raises Forbidden for members."""
    if who.role == CITY_ADMIN:
        return true()
    if who.role == DISTRICT_OPERATOR:
        return Drill.district_id == who.district_id
    if who.role == UNIT_LEADER:  # a unit is not told when it will be drilled
        return and_(Drill.unit_id == who.unit_id, Drill.status != "planned")
    raise Forbidden("members see drills as the alerts they receive (GET /api/alerts/mine)")


def get_drill(session: Session, who: Principal, drill_id: int) -> Drill:
    """Return a drill the caller may read. Raises NotFound (also outside their scope), Forbidden."""
    drill = session.scalar(select(Drill).where(Drill.id == drill_id, visible_drills(who)))
    if drill is None:
        raise NotFound(f"drill {drill_id} not found")
    return drill


def list_drills(
    session: Session, who: Principal, day: date | None, unit_id: int | None, status: str | None, limit: int, offset: int
) -> list[Drill]:
    """Return visible drills by planned time (newest first), filtered."""
    stmt = select(Drill).where(visible_drills(who)).order_by(Drill.planned_at.desc(), Drill.id.desc())
    if day is not None:
        stmt = stmt.where(Drill.plan_date == day)
    if unit_id is not None:
        stmt = stmt.where(Drill.unit_id == unit_id)
    if status is not None:
        stmt = stmt.where(Drill.status == status)
    return list(session.scalars(stmt.limit(limit).offset(offset)))


def cancel_drill(session: Session, who: Principal, drill_id: int) -> Drill:
    """Cancel a drill not yet fired. Raises NotFound, Forbidden, Conflict."""
    drill = get_drill(session, who, drill_id)
    if who.role not in (CITY_ADMIN, DISTRICT_OPERATOR):
        raise Forbidden("drills are cancelled by operators")
    if drill.status != "planned":
        raise Conflict(f"drill {drill.id} is {drill.status}; only planned drills can be cancelled")
    drill.status, drill.note = "cancelled", f"cancelled by {who.username}"
    session.commit()
    return drill
