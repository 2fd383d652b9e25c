"""Planning a day of readiness drills (拉动测试) at Guangzhou scale with the pure planner.

    python benchmarks/drills.py [--seed 0] [--warm-up-days 60] [--days 30] [--per-day 705] [--database]

Builds the city-scale synthetic Guangzhou (23,000 units in 11 districts) and gives each unit
rostered hours by its site category (hotels, urban villages, key targets and community areas
round the clock; shops, markets and business streets 08:00–22:00; enterprises and scenic spots
08:00–18:00; crowded places 10:00–22:00; 3 % of units with no rostered shift). It then plans
``--warm-up-days`` days in a row, as the server would, with results drawn for every drill (a
fifth of the units are weak: they fail 60 % of drills, the others 10 %), so the no-repeat
window, the cycle deadlines and the weights of poor records are all in play, and times
``plan_drills`` on the ``--days`` days that follow. Target: a day of 705 drills in < 1 s.

With ``--database`` it then seeds the same city into a SQLite file in a temporary directory with
one rostered shift per unit (its leader on it, the hours above) and the warm-up days' drills as
history, and times the service: ``compute_plan`` (reading units, shifts, rosters and past drills,
then planning) and ``plan_day`` (the same, plus storing the 705 drills).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table
from sqlalchemy import insert, select

from jiefang.config import Settings
from jiefang.db import make_engine, session_factory, upgrade
from jiefang.drills.models import Drill
from jiefang.drills.scheduler import NEVER, SLOT_S, SLOTS_PER_DAY, DrillPolicy, UnitPool, plan_drills
from jiefang.drills.schemas import PlanIn
from jiefang.drills.service import compute_plan, plan_day
from jiefang.duty.models import RosterAssignment, Shift
from jiefang.events import EventBus
from jiefang.people.access import Principal
from jiefang.simulation.city import SyntheticCity, build_city
from jiefang.simulation.seed import seed_database
from jiefang.units.models import Unit

console = Console(width=None if sys.stdout.isatty() else 150)
DAY0 = 739_600
HOURS = {  # category -> rostered local hours (start, end)
    "hotel": (0, 24),
    "urban_village": (0, 24),
    "key_target": (0, 24),
    "community_public": (0, 24),
    "shop": (8, 22),
    "market": (8, 22),
    "business_district": (8, 22),
    "enterprise": (8, 18),
    "scenic_spot": (8, 18),
    "crowded_place": (10, 22),
}


def city_pool(city: SyntheticCity, seed: int) -> tuple[UnitPool, np.ndarray]:
    """Return the city's units as a planner pool, and which units are weak."""
    units = city.units
    n = len(units)
    rng = np.random.default_rng(seed)
    codes = sorted(set(units.district_code))
    district = np.array([codes.index(c) for c in units.district_code], dtype=np.int64)
    on_duty = np.zeros((n, SLOTS_PER_DAY), dtype=np.bool_)
    per_hour = SLOTS_PER_DAY // 24
    for i, category in enumerate(units.category):
        start, end = HOURS[category]
        on_duty[i, start * per_hour : end * per_hour] = True
    on_duty[rng.random(n) < 0.03] = False
    pool = UnitPool(
        unit_ids=np.arange(1, n + 1, dtype=np.int64),
        district=district,
        on_duty=on_duty,
        last_day=np.full(n, NEVER, dtype=np.int64),
        registered_day=np.full(n, DAY0, dtype=np.int64),
        fail_share=np.zeros(n),
    )
    return pool, rng.random(n) < 0.2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--warm-up-days", type=int, default=60)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--per-day", type=int, default=705)

    parser.add_argument("--database", action="store_true", help="also time the service on a seeded SQLite file")
    args = parser.parse_args()

    started = time.perf_counter()
    city = build_city("city", seed=args.seed)
    pool, weak = city_pool(city, args.seed)
    console.print(
        f"city built: {len(pool):,} units in {np.unique(pool.district).size} districts "
        f"({time.perf_counter() - started:.1f} s)"
    )
    policy = DrillPolicy(per_day=args.per_day)
    rng = np.random.default_rng(args.seed + 1)
    last, history = pool.last_day.copy(), defaultdict(list)
    fail_share = np.zeros(len(pool))
    samples, deviation, repeats, hourly = [], 0.0, 0, np.zeros(24, dtype=np.int64)
    counts = np.bincount(pool.district)
    drilled_days: dict[int, list[int]] = defaultdict(list)
    past: list[tuple[int, int, int, bool]] = []  # (row, day, at_s, passed) of the warm-up days
    for day in range(DAY0, DAY0 + args.warm_up_days + args.days):
        current = UnitPool(pool.unit_ids, pool.district, pool.on_duty, last, pool.registered_day, fail_share)
        t0 = time.perf_counter()
        plan = plan_drills(current, day, policy, seed=args.seed)
        took = time.perf_counter() - t0
        rows = plan.unit_ids - 1
        if day >= DAY0 + args.warm_up_days:
            samples.append(took)
            got = np.bincount(pool.district[rows], minlength=counts.size)
            deviation = max(deviation, float(np.abs(got - plan.unit_ids.size * counts / counts.sum()).max()))
            hourly += np.bincount(plan.at_s // 3600, minlength=24)
        repeats += int(np.sum(day - last[rows] < policy.window_days))
        assert np.all(pool.on_duty[rows, plan.at_s // SLOT_S])
        failed = rng.random(rows.size) < np.where(weak[rows], 0.6, 0.1)
        if day < DAY0 + args.warm_up_days:
            past += zip(rows.tolist(), [day] * rows.size, plan.at_s.tolist(), (~failed).tolist(), strict=True)
        for r, f in zip(rows.tolist(), failed.tolist(), strict=True):
            history[r] = ([not f] + history[r])[:3]
            fail_share[r] = history[r].count(False) / len(history[r])
            drilled_days[r].append(day)
        last[rows] = day

    rostered = np.flatnonzero(pool.on_duty.any(axis=1))
    end = DAY0 + args.warm_up_days + args.days - 1
    gaps = [
        max(b - a for a, b in zip([DAY0 - 1, *drilled_days[r]], [*drilled_days[r], end + 1], strict=True))
        for r in rostered
    ]
    picks = np.array([len(drilled_days[r]) for r in rostered])
    ms = np.array(samples) * 1e3
    table = Table(
        title=f"plan_drills at city scale: {args.per_day} drills/day, {args.days} days timed "
        f"after {args.warm_up_days} days of history"
    )
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row(
        "plan one day p50 / p95 / max (ms)",
        f"[bold]{np.percentile(ms, 50):.1f}[/bold] / {np.percentile(ms, 95):.1f} / {ms.max():.1f}",
    )
    table.add_row("units / with a rostered shift", f"{len(pool):,} / {rostered.size:,}")
    table.add_row("largest quota deviation from the exact share", f"{deviation:.2f}")
    table.add_row("repeats inside the 14-day window", str(repeats))
    table.add_row("longest gap between drills of a unit (cycle 45 d)", f"{max(gaps)} days")
    table.add_row(
        "drills per unit, weak / others (mean)",
        f"{picks[weak[rostered]].mean():.2f} / {picks[~weak[rostered]].mean():.2f}",
    )
    table.add_row("drills per hour of day, min / max", f"{hourly.min() // args.days} / {hourly.max() // args.days}")
    console.print(table)
    if args.database:
        time_service(city, pool, past, args.warm_up_days, args.per_day)


def _seed(
    url: str, city: SyntheticCity, pool: UnitPool, past: list[tuple[int, int, int, bool]], warm_up_days: int
) -> date:
    """Seed the city, one rostered shift per unit and the drill history; return the day to plan."""
    upgrade(url)
    engine = make_engine(url)
    seed_database(engine, city)
    per_hour = SLOTS_PER_DAY // 24
    with session_factory(engine)() as s:
        units = s.execute(select(Unit.id, Unit.code, Unit.leader_member_id, Unit.district_id)).all()
        by_code = {u.code: u for u in units}
        shifts = []
        for i, code in enumerate(city.units.code):
            hours = np.flatnonzero(pool.on_duty[i, ::per_hour])
            if hours.size and by_code[code].leader_member_id is not None:
                shifts.append(
                    {
                        "unit_id": by_code[code].id,
                        "name": "值班",
                        "start_time": clock(int(hours[0])),
                        "end_time": clock((int(hours[-1]) + 1) % 24),
                        "weekdays": 0b1111111,
                        "min_on_duty": 1,
                    }
                )
        s.execute(insert(Shift), shifts)
        leader = {u.id: u.leader_member_id for u in units}
        s.execute(
            insert(RosterAssignment),
            [
                {"shift_id": sid, "member_id": leader[uid], "valid_from": date(2020, 1, 1)}
                for sid, uid in s.execute(select(Shift.id, Shift.unit_id))
            ],
        )
        today = datetime.now(UTC).date()
        first = today - timedelta(days=warm_up_days)
        unit_of = [by_code[code] for code in city.units.code]
        s.execute(
            insert(Drill),
            [
                {
                    "unit_id": unit_of[r].id,
                    "district_id": unit_of[r].district_id,
                    "kind": "scheduled",
                    "plan_date": first + timedelta(days=day - DAY0),
                    "status": "passed" if ok else "failed",
                    "planned_at": datetime.combine(first + timedelta(days=day - DAY0), clock(0), UTC)
                    + timedelta(seconds=at),
                    "scenario": "public_order",
                    "video_requested": False,
                    "alerted": 1,
                    "muster_needed": 1,
                    "mustered": int(ok),
                    "passed": ok,
                    "created_at": datetime.now(UTC),
                }
                for r, day, at, ok in past
            ],
        )
        s.commit()
    engine.dispose()
    return today + timedelta(days=1)


def time_service(
    city: SyntheticCity, pool: UnitPool, past: list[tuple[int, int, int, bool]], warm_up_days: int, per_day: int
) -> None:
    """Time compute_plan and plan_day on a seeded SQLite file."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'drills.sqlite3'}"
        t0 = time.perf_counter()
        day = _seed(url, city, pool, past, warm_up_days)
        console.print(f"seeded {url} with shifts and {len(past):,} past drills ({time.perf_counter() - t0:.1f} s)")
        settings = Settings(database_url=url, drills_per_day=per_day)
        engine = make_engine(url)
        sessions = session_factory(engine)
        table = Table(title="the drills service on SQLite, city scale")
        table.add_column("call")
        table.add_column("runs", justify="right")
        table.add_column("best / median (ms)", justify="right")
        samples = []
        for _ in range(5):
            with sessions() as s:
                t0 = time.perf_counter()
                computed = compute_plan(s, settings, PlanIn(date=day, seed=1))
                samples.append(time.perf_counter() - t0)
        ms = np.array(samples) * 1e3
        table.add_row(
            f"compute_plan (load + plan {computed.plan.unit_ids.size} drills)",
            "5",
            f"{ms.min():.0f} / [bold]{np.median(ms):.0f}[/bold]",
        )
        with sessions() as s:
            t0 = time.perf_counter()
            stored = plan_day(s, settings, EventBus(), Principal(0, "bench", "city_admin"), PlanIn(date=day, seed=1))
            took = (time.perf_counter() - t0) * 1e3
        table.add_row(f"plan_day (the same, then store {stored.planned} drills)", "1", f"{took:.0f} / {took:.0f}")
        console.print(table)
        engine.dispose()


if __name__ == "__main__":
    main()
