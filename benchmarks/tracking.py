"""Live tracking at Guangzhou scale: ingest throughput, nearest-member latency, and Redis beside it.

    python benchmarks/tracking.py [--seed 0] [--on-duty 40000] [--fences 2000] [--rounds 5]
                                  [--batch 500] [--queries 2000] [--redis-url URL] [--no-redis]

Builds the city-scale synthetic Guangzhou (23,000 units, 227,000 members, 20,849 grids), puts
40,000 active members on duty within a few hundred metres of their units, and draws 2,000
fences (patrol zones of on-duty teams, sensitive areas, incident perimeters; half circles,
half polygons, 50 m – 800 m). Then, in one run:

(a) ingest: rounds in which every member sends one fix (a 15 s walk, 1 % late or resent, 1 % coarse,
    0.5 % garbage), in batches: validation + fence evaluation + patrol tick + grid assignment +
    index update, in process — fixes per second;
(b) nearest k=20 with a skill filter (and without, and with two skills) over 2,000 queries near
    random units — p50/p99 in µs;
(c) the same members in Redis: GEOADD pipelined (500 members per command), the store's Lua
    update of every geo key of each member, GEOSEARCH BYRADIUS 2 km ASC COUNT 20 on the
    all-members key and on a skill key, and the store's exact nearest() — with ratios.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from collections.abc import Callable

import numpy as np
import redis
import shapely
from rich.console import Console
from rich.table import Table

from jiefang.geo.projection import LocalProjection
from jiefang.simulation.city import CITY_PROJECTION, SyntheticCity, build_city
from jiefang.tracking.fences import Fence, FenceEngine, GridLocator
from jiefang.tracking.fixes import FixRules, FixStatus, FixValidator
from jiefang.tracking.index import SKILL_KEYS, OnDutyMember, PositionIndex
from jiefang.tracking.redis_store import RedisPositionStore

console = Console(width=None if sys.stdout.isatty() else 150)
M_PER_DEG = 111_195.0
T0 = 1_700_000_000.0


class OnDuty:
    """The members on duty, column by column, and what the benchmark needs of them."""

    def __init__(self, city: SyntheticCity, n: int, rng: np.random.Generator) -> None:
        active = np.flatnonzero(np.array(city.members.status) == "active")
        self.ids = np.sort(rng.choice(active, size=n, replace=False))
        self.unit = city.members.unit[self.ids]
        self.team = self.unit * 100 + city.members.team[self.ids]
        scatter = rng.normal(0, 150, (2, n)) / M_PER_DEG  # within a few hundred metres of the unit
        self.lat = city.units.lat[self.unit] + scatter[1]
        self.lon = city.units.lon[self.unit] + scatter[0] / np.cos(np.radians(self.lat))
        self.members = [
            OnDutyMember(
                member_id=int(m), unit_id=int(u), lon=float(x), lat=float(y), team_id=int(t),
                role=city.members.role[m], skills=frozenset(city.members.skill_names(m)),
                equipment=frozenset(k for k, c in city.units.equipment[u].items() if c > 0),
                mode=str(rng.choice(["walk", "e_bike", "car"], p=[0.6, 0.3, 0.1])),
            )
            for m, u, t, x, y in zip(self.ids.tolist(), self.unit.tolist(), self.team.tolist(),
                                     self.lon.tolist(), self.lat.tolist(), strict=True)
        ]


def draw_fences(on_duty: OnDuty, n: int, rng: np.random.Generator) -> list[Fence]:
    """Return ``n`` fences: 40 % patrol zones of on-duty teams, 30 % sensitive areas, 30 % perimeters."""
    fences = []
    for fid in range(n):
        who = int(rng.integers(len(on_duty.ids)))
        lon, lat = float(on_duty.lon[who]), float(on_duty.lat[who])
        roll = rng.random()
        kind, team = (("patrol_zone", int(on_duty.team[who])) if roll < 0.4 else
                      ("sensitive_area", None) if roll < 0.7 else ("incident_perimeter", None))
        size_m = float(rng.uniform(50, 800))
        if rng.random() < 0.5:
            fences.append(Fence(fid, kind, center=(lon, lat), radius_m=size_m, team_id=team))
            continue
        angles = (np.arange(7) + rng.uniform(0, 0.8, 7)) * 2 * np.pi / 7  # star-shaped, so simple
        radii = size_m * rng.uniform(0.6, 1.0, 7) / M_PER_DEG
        ring = np.column_stack((lon + radii * np.cos(angles) / np.cos(np.radians(lat)), lat + radii * np.sin(angles)))
        fences.append(Fence(fid, kind, polygon=shapely.Polygon(ring), team_id=team))
    return fences


def percentiles_us(samples: list[float]) -> tuple[float, float]:
    p50, p99 = np.percentile(np.array(samples) * 1e6, [50, 99])
    return float(p50), float(p99)


def time_queries(run: Callable[[float, float, int], object], points: np.ndarray) -> tuple[float, float]:
    samples = []
    for i, (lon, lat) in enumerate(points.tolist()):
        started = time.perf_counter()
        run(lon, lat, i)
        samples.append(time.perf_counter() - started)
    return percentiles_us(samples)


def ingest(on_duty: OnDuty, index: PositionIndex, fences: FenceEngine, grids: GridLocator,
           validator: FixValidator, rounds: int, batch: int, rng: np.random.Generator) -> dict[str, float]:
    """Feed every member one fix per round; return seconds per stage, fixes, accepted, events."""
    spent = dict.fromkeys(("validate", "fences", "grid", "index", "total"), 0.0)
    counts = {"fixes": 0.0, "accepted": 0.0, "events": 0.0}
    n = len(on_duty.ids)
    lon, lat = on_duty.lon.copy(), on_duty.lat.copy()
    for r in range(1, rounds + 1):
        lat += rng.normal(0, 15, n) / M_PER_DEG
        lon += rng.normal(0, 15, n) / M_PER_DEG / np.cos(np.radians(lat))
        order = rng.permutation(n)
        ids, f_lon, f_lat = on_duty.ids[order], lon[order], lat[order]
        t = T0 + r * 15 + rng.uniform(0, 15, n)
        acc = np.where(rng.random(n) < 0.01, 800.0, rng.uniform(5, 50, n))
        t[rng.random(n) < 0.01] = T0 + (r - 1) * 15  # resends and late fixes
        junk = rng.random(n) < 0.005
        f_lon[junk] = np.nan
        for start in range(0, n, batch):
            s = slice(start, start + batch)
            now = float(t[s].max()) + 1.0
            t0 = time.perf_counter()
            codes = validator.check_batch(ids[s], f_lon[s], f_lat[s], t[s], acc[s], now)
            t1 = time.perf_counter()
            ok = codes == FixStatus.ACCEPTED
            b_ids, b_lon, b_lat, b_t = ids[s][ok], f_lon[s][ok], f_lat[s][ok], t[s][ok]
            events = fences.evaluate(b_ids, b_lon, b_lat, b_t)
            events += fences.tick(now)
            t2 = time.perf_counter()
            grids.locate(b_lon, b_lat)
            t3 = time.perf_counter()
            index.update_positions(b_ids, b_lon, b_lat)
            t4 = time.perf_counter()
            for stage, a, b in (("validate", t0, t1), ("fences", t1, t2), ("grid", t2, t3), ("index", t3, t4),
                                ("total", t0, t4)):
                spent[stage] += b - a
            counts["fixes"] += codes.size
            counts["accepted"] += int(ok.sum())
            counts["events"] += len(events)
    return spent | counts


def redis_part(client: redis.Redis, on_duty: OnDuty, points: np.ndarray, skills: list[str],
               rows: list[tuple[str, str, str, str]], ours: dict[str, tuple[float, float]]) -> None:
    """Load the same members into Redis under a scratch prefix, time writes and searches, clean up."""
    prefix = f"jfbench:{uuid.uuid4().hex[:10]}:duty"
    store = RedisPositionStore(client, prefix)
    n = len(on_duty.ids)
    try:
        started = time.perf_counter()
        store.upsert_many(on_duty.members)
        upserts = n / (time.perf_counter() - started)
        rows.append(("Redis", "store.upsert_many (Lua, pipelined)", "", f"{upserts:,.0f} /s"))
        raw_key = f"{prefix}:raw"
        started = time.perf_counter()
        pipe = client.pipeline(transaction=False)
        for start in range(0, n, 500):
            values: list[float | int] = []
            for m, x, y in zip(on_duty.ids[start:start + 500].tolist(), on_duty.lon[start:start + 500].tolist(),
                               on_duty.lat[start:start + 500].tolist(), strict=True):
                values += (x, y, m)
            pipe.execute_command("GEOADD", raw_key, *values)
        pipe.execute()
        geoadd = n / (time.perf_counter() - started)
        started = time.perf_counter()
        for start in range(0, n, 500):
            store.update_positions(on_duty.ids[start:start + 500], on_duty.lon[start:start + 500],
                                   on_duty.lat[start:start + 500])
        lua = n / (time.perf_counter() - started)
        mine = ours["index.update_positions"][0]
        rows.append(("Redis", "GEOADD pipelined, one key, 500 per command", "",
                     f"{geoadd:,.0f} /s (in-process index {mine / geoadd:.1f}× faster)"))
        rows.append(("Redis", "store.update_positions (Lua: every key of each member)", "",
                     f"{lua:,.0f} /s (in-process index {mine / lua:.1f}× faster)"))

        def raw(key: Callable[[int], str]) -> Callable[[float, float, int], object]:
            return lambda lon, lat, i: client.geosearch(key(i), longitude=lon, latitude=lat, radius=2000, unit="m",
                                                        sort="ASC", count=20, withdist=True)

        mine50, mine99 = ours["nearest k=20, one skill"]
        for label, run in (
            ("GEOSEARCH FROMLONLAT BYRADIUS 2 km ASC COUNT 20 (all)", raw(lambda i: store.key("all"))),
            ("same on the skill's key", raw(lambda i: store.key("skill", skills[i]))),
            ("store.nearest k=20, one skill (exact, widening)",
             lambda lon, lat, i: store.nearest(lon, lat, 20, skills=[skills[i]])),
        ):
            p50, p99 = time_queries(run, points)
            rows.append(("Redis", label, f"{p50:,.0f} / {p99:,.0f}",
                         f"in-process nearest k=20 + skill: {p50 / mine50:.1f}× / {p99 / mine99:.1f}× faster"))
    finally:
        store.clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--on-duty", type=int, default=40_000)
    parser.add_argument("--fences", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--queries", type=int, default=2_000)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--no-redis", action="store_true")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)

    with console.status("building the city-scale synthetic Guangzhou"):
        city = build_city("city", seed=args.seed)
    with console.status("putting members on duty, drawing fences"):
        on_duty = OnDuty(city, args.on_duty, rng)
        projection: LocalProjection = CITY_PROJECTION
        index = PositionIndex(projection)
        for m in on_duty.members:
            index.upsert(m)
        fences = FenceEngine()
        for fence in draw_fences(on_duty, args.fences, rng):
            fences.add(fence)
        for m, team in zip(on_duty.ids.tolist(), on_duty.team.tolist(), strict=True):
            fences.track(m, team)
        fences.evaluate(on_duty.ids, on_duty.lon, on_duty.lat, np.full(len(on_duty.ids), T0))  # check-in places
        started = time.perf_counter()
        grids = GridLocator(city.grids.geometry)
        grid_build_s = time.perf_counter() - started
        city_area = shapely.union_all(city.districts.geometry)
        validator = FixValidator(FixRules(bbox=city_area.bounds, area=city_area))

    rows: list[tuple[str, str, str, str]] = []
    with console.status("ingesting fixes"):
        r = ingest(on_duty, index, fences, grids, validator, args.rounds, args.batch, rng)
    rate = r["fixes"] / r["total"]
    rows.append(("in-process", f"ingest, batches of {args.batch}: validate + fences + grid + index", "",
                 f"{rate:,.0f} fixes/s ({r['accepted'] / r['fixes']:.1%} accepted, {r['events']:,.0f} fence events)"))
    for stage in ("validate", "fences", "grid", "index"):
        rows.append(("in-process", f"  of which {stage}", "", f"{r[stage] / r['fixes'] * 1e6:.2f} µs/fix"))
    ours: dict[str, tuple[float, float]] = {"index.update_positions": (r["accepted"] / r["index"], 0.0)}
    rows.append(("in-process", "grid locator build (20,849 polygons)", "", f"{grid_build_s * 1e3:,.0f} ms"))

    units = rng.integers(0, len(city.units), args.queries)
    points = np.column_stack((city.units.lon[units] + rng.normal(0, 300, args.queries) / M_PER_DEG,
                              city.units.lat[units] + rng.normal(0, 300, args.queries) / M_PER_DEG))
    skills = [str(s) for s in rng.choice(SKILL_KEYS, args.queries)]
    pairs = [[str(a) for a in rng.choice(SKILL_KEYS, 2, replace=False)] for _ in range(args.queries)]
    for label, run in (
        ("nearest k=20, one skill", lambda lon, lat, i: index.nearest(lon, lat, 20, skills=[skills[i]])),
        ("nearest k=20, no filter", lambda lon, lat, i: index.nearest(lon, lat, 20)),
        ("nearest k=20, two skills", lambda lon, lat, i: index.nearest(lon, lat, 20, skills=pairs[i])),
        ("nearest k=20, own team", lambda lon, lat, i: index.nearest(lon, lat, 20, team_id=int(on_duty.team[i]))),
        ("within 1 km, one skill", lambda lon, lat, i: index.within_circle(lon, lat, 1000, skills=[skills[i]])),
    ):
        ours[label] = time_queries(run, points)
        rows.append(("in-process", label, f"{ours[label][0]:,.0f} / {ours[label][1]:,.0f}", ""))

    if args.no_redis:
        rows.append(("Redis", "skipped", "", "--no-redis"))
    else:
        client = redis.Redis.from_url(args.redis_url, socket_connect_timeout=3)
        try:
            client.ping()
        except redis.RedisError as exc:
            rows.append(("Redis", "skipped", "", f"{type(exc).__name__}: not reachable at {args.redis_url}"))
        else:
            with console.status("the same members in Redis"):
                redis_part(client, on_duty, points, skills, rows, ours)

    table = Table(title=f"Live tracking: {args.on_duty:,} on duty, {args.fences:,} fences, "
                        f"{len(city.grids):,} grids, seed {args.seed}")
    for column, justify in (("where", "left"), ("measure", "left"), ("p50 / p99 µs", "right"), ("result", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        table.add_row(*row)
    console.print(table)
    p99 = ours["nearest k=20, one skill"][1]
    console.print(f"ingest {rate:,.0f} fixes/s (target ≥ 40,000: {'met' if rate >= 40_000 else 'MISSED'}); "
                  f"nearest k=20 + skill p99 {p99:,.0f} µs (target ≤ 1,000: {'met' if p99 <= 1_000 else 'MISSED'}).")


if __name__ == "__main__":
    main()
