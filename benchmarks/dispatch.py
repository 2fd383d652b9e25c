"""The 1-3-5 dispatch decision at Guangzhou scale, beside the same selection in PostgreSQL and Redis.

    python benchmarks/dispatch.py [--seed 0] [--on-duty 40000] [--decisions 2000]
                                  [--pg-url URL] [--redis-url URL]

Builds the city-scale synthetic Guangzhou, puts 40,000 active members on duty near their units,
and times one dispatch decision — all three tiers of a shipped playbook (candidate search,
skill/equipment filters, ranking by ETA, no member twice) — for incidents at random units' sites
with a random incident type. The same decisions are then taken, in the same run, with the
position store in Redis (GEOSEARCH per tier through ``RedisPositionStore``) and as queries in
PostgreSQL (a GiST index on a point column, ``ORDER BY pos <-> point`` with the filters, one
query per tier), and reported as ratios. Target: in-process p99 ≤ 2 ms.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import psycopg
import redis
from rich.console import Console
from rich.table import Table

from jiefang.dispatch.selection import TierNeed, select_responders
from jiefang.dispatch.service import tier_need
from jiefang.incidents.playbooks import shipped_playbooks
from jiefang.simulation.city import CITY_PROJECTION, build_city
from jiefang.tracking.index import EQUIPMENT_KEYS, SKILL_KEYS, PositionIndex, PositionStore, names_mask
from jiefang.tracking.redis_store import RedisPositionStore

sys.path.insert(0, str(Path(__file__).parent))
from tracking import M_PER_DEG, OnDuty, percentiles_us

console = Console(width=None if sys.stdout.isatty() else 150)


def time_decisions(store: PositionStore, cases: list[tuple[float, float, int, list[TierNeed]]],
                   unit_of: Callable[[int], int | None]) -> tuple[float, float, float]:
    samples, picked = [], 0
    for lon, lat, unit, needs in cases:
        started = time.perf_counter()
        decision = select_responders(store, lon, lat, needs, unit_of, site_unit_id=unit)
        samples.append(time.perf_counter() - started)
        picked += len(decision.all())
    p50, p99 = percentiles_us(samples)
    return p50, p99, picked / len(cases)


PG_TIER = """
SELECT member_id, unit_id FROM {table}
WHERE pos <@ box(point(%(x0)s, %(y0)s), point(%(x1)s, %(y1)s))
  AND skills & %(skills)s = %(skills)s AND equipment & %(equipment)s = %(equipment)s
  AND (%(unit)s::int IS NULL OR unit_id = %(unit)s) AND (%(not_unit)s::int IS NULL OR unit_id <> %(not_unit)s)
  AND NOT (member_id = ANY(%(taken)s))
ORDER BY pos <-> point(%(x)s, %(y)s) LIMIT %(k)s
"""


def pg_decisions(url: str, on_duty: OnDuty, cases: list[tuple[float, float, int, list[TierNeed]]],
                 skills_of: dict[int, int], equipment_of: dict[int, int]) -> tuple[float, float, float]:
    """The same decisions as SQL (one query per tier, own unit first), timed end to end."""
    table = f"bench_on_duty_{uuid.uuid4().hex[:8]}"
    x, y = CITY_PROJECTION.to_xy(on_duty.lon, on_duty.lat)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (member_id int PRIMARY KEY, unit_id int, skills int, "
                     "equipment int, pos point)")
        try:
            with conn.cursor().copy(f"COPY {table} (member_id, unit_id, skills, equipment, pos) FROM STDIN") as copy:
                for m, u, xi, yi in zip(on_duty.ids.tolist(), on_duty.unit.tolist(), x.tolist(), y.tolist(),
                                        strict=True):
                    copy.write_row((m, u, skills_of[m], equipment_of[u], f"({xi},{yi})"))
            conn.execute(f"CREATE INDEX ON {table} USING gist (pos)")
            conn.execute(f"CREATE INDEX ON {table} (unit_id)")
            conn.execute(f"ANALYZE {table}")
            query = PG_TIER.format(table=table)
            samples, picked = [], 0
            for lon, lat, unit, needs in cases:
                qx, qy = (float(v) for v in CITY_PROJECTION.to_xy(lon, lat))
                started = time.perf_counter()
                taken: list[int] = []
                for need in needs:
                    if need.responders <= 0:
                        continue
                    r = need.radius_m
                    params = {"x0": qx - r, "y0": qy - r, "x1": qx + r, "y1": qy + r, "x": qx, "y": qy,
                              "skills": names_mask(need.skills_all, SKILL_KEYS, "skill"),
                              "equipment": names_mask(need.equipment, EQUIPMENT_KEYS, "equipment"),
                              "unit": unit if need.own_unit else None, "not_unit": None if need.own_unit else unit,
                              "taken": taken, "k": need.responders}
                    rows = conn.execute(query, params).fetchall()
                    taken += [row[0] for row in rows]
                samples.append(time.perf_counter() - started)
                picked += len(taken)
        finally:
            conn.execute(f"DROP TABLE IF EXISTS {table}")
    p50, p99 = percentiles_us(samples)
    return p50, p99, picked / len(cases)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--on-duty", type=int, default=40_000)
    parser.add_argument("--decisions", type=int, default=2_000)
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    books = list(shipped_playbooks().values())
    with console.status("building the city and putting members on duty"):
        city = build_city("city", seed=args.seed)
        on_duty = OnDuty(city, args.on_duty, rng)
        index = PositionIndex(CITY_PROJECTION)
        for m in on_duty.members:
            index.upsert(m)
        units = dict(zip(on_duty.ids.tolist(), on_duty.unit.tolist(), strict=True))
    picks = rng.integers(0, len(on_duty.ids), args.decisions)  # incidents where members are: at their units
    cases = []
    for i in picks.tolist():
        u = int(on_duty.unit[i])
        lon = float(city.units.lon[u] + rng.normal(0, 30) / M_PER_DEG)
        lat = float(city.units.lat[u] + rng.normal(0, 30) / M_PER_DEG)
        cases.append((lon, lat, u, [tier_need(t) for t in books[int(rng.integers(len(books)))].tiers]))

    rows = []
    ours = time_decisions(index, cases, units.get)
    rows.append(("in-process index", *ours))
    client = redis.Redis.from_url(args.redis_url)
    store = RedisPositionStore(client, f"jfbench:{uuid.uuid4().hex[:8]}")
    try:
        with console.status("loading Redis"):
            store.upsert_many(on_duty.members)
        rows.append(("Redis GEOSEARCH (RedisPositionStore)", *time_decisions(store, cases, units.get)))
    finally:
        store.clear()
        client.close()
    skills_of = {m.member_id: names_mask(m.skills, SKILL_KEYS, "skill") for m in on_duty.members}
    equipment_of = {m.unit_id: names_mask(m.equipment, EQUIPMENT_KEYS, "equipment") for m in on_duty.members}
    with console.status("PostgreSQL"):
        rows.append(("PostgreSQL GiST point, KNN per tier", *pg_decisions(args.pg_url, on_duty, cases, skills_of,
                                                                          equipment_of)))
    table = Table(title=f"Dispatch decision, all three tiers: {args.on_duty:,} on duty, {args.decisions:,} "
                        f"incidents over {len(books)} playbooks")
    for col in ("where", "p50 µs", "p99 µs", "responders picked / incident", "in-process faster (p50 / p99)"):
        table.add_column(col, justify="left" if col == "where" else "right")
    for name, p50, p99, picked in rows:
        ratio = "" if name.startswith("in-process") else f"{p50 / ours[0]:.1f}× / {p99 / ours[1]:.1f}×"
        table.add_row(name, f"{p50:,.0f}", f"{p99:,.0f}", f"{picked:.1f}", ratio)
    console.print(table)
    console.print(f"in-process p99 {ours[1]:,.0f} µs (target ≤ 2,000: {'met' if ours[1] <= 2000 else 'NOT met'})")


if __name__ == "__main__":
    main()
