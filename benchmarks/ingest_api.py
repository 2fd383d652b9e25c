"""Position ingest through the running server: HTTP batches and WebSocket frames, one worker.

    python benchmarks/ingest_api.py [--database-url URL] [--on-duty 40000] [--fences 2000]
                                    [--rounds 3] [--batch 500] [--clients 4]

Seeds the city-scale synthetic Guangzhou if the database is empty (SQLite file under /tmp by
default), puts ``--on-duty`` active members on duty near their units (open duty sessions written
directly, as after that many check-ins) with ``--fences`` sensitive areas among them, starts
``jiefang serve`` (one uvicorn worker) and, as a position gateway (city admin), sends every
member one fix per round:

(a) over HTTP: ``POST /api/positions/batch`` with ``--batch`` fixes per request from ``--clients``
    concurrent connections;
(b) over the WebSocket: ``fixes`` frames of ``--batch`` on ``--clients`` sockets, each keeping
    one frame in flight.

Each fix is validated, run through the fences, moved in the index and down-sampled into the
durable track in the same transaction that answers. Prints fixes per second and per-batch
latency; the city peak is ~4,000 fixes/s and the target ≥ 10,000/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import websockets
from rich.console import Console
from rich.table import Table
from sqlalchemy import delete, func, insert, select

from jiefang.db import make_engine
from jiefang.duty.models import DutySession
from jiefang.people.models import Member
from jiefang.tracking.models import Fence, FenceEvent, TrackPoint
from jiefang.units.models import Unit

sys.path.insert(0, str(Path(__file__).parent))
from api_city import _peak_rss_mib, start_server

console = Console()
M_PER_DEG = 111_195.0


def put_on_duty(url: str, n: int, fences: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Open duty sessions for ``n`` active members near their units and draw ``fences`` circles
    (100–400 m) around random members' positions; return (ids, lons, lats)."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(delete(DutySession))
        conn.execute(delete(TrackPoint))
        conn.execute(delete(FenceEvent))
        conn.execute(delete(Fence))
        rows = conn.execute(select(Member.id, Unit.lon, Unit.lat).join(Unit, Unit.id == Member.unit_id)
                            .where(Member.status == "active")).all()
        pick = np.sort(rng.choice(len(rows), size=n, replace=False))
        ids = np.array([rows[i][0] for i in pick])
        lat = np.array([rows[i][2] for i in pick]) + rng.normal(0, 100, n) / M_PER_DEG
        lon = np.array([rows[i][1] for i in pick]) + rng.normal(0, 100, n) / M_PER_DEG / np.cos(np.radians(lat))
        now = datetime.now(UTC)
        units = _units_of(conn, ids)
        conn.execute(insert(DutySession), [
            {"member_id": int(m), "unit_id": u, "checked_in_at": now, "check_in_lon": float(x),
             "check_in_lat": float(y), "check_in_distance_m": 10.0, "auto_checkout_at": now + timedelta(hours=8)}
            for m, u, x, y in zip(ids, units, lon, lat, strict=True)
        ])
        around = rng.choice(n, size=fences, replace=False)
        if fences:
            conn.execute(insert(Fence), [
                {"name": f"bench {i}", "kind": "sensitive_area", "center_lon": float(lon[j]),
                 "center_lat": float(lat[j]), "radius_m": float(rng.uniform(100, 400)), "leave_after_s": 300,
                 "active": True}
                for i, j in enumerate(around)
            ])
    engine.dispose()
    return ids, lon, lat


def _units_of(conn, ids: np.ndarray) -> list[int]:  # type: ignore[no-untyped-def]
    units = dict(conn.execute(select(Member.id, Member.unit_id)).all())
    return [units[int(m)] for m in ids]


def rounds_of_fixes(ids: np.ndarray, lon: np.ndarray, lat: np.ndarray, rounds: int, batch: int,
                    rng: np.random.Generator, t0: float) -> list[list[str]]:
    """Return, per round, the JSON bodies of the batches: every member walks ~15 m in 15 s from ``t0``."""
    out = []
    for r in range(rounds):
        step = rng.normal(0, 10, (2, ids.size)) / M_PER_DEG
        lat = lat + step[1]
        lon = lon + step[0] / np.cos(np.radians(lat))
        fixes = [{"member_id": int(m), "lon": round(float(x), 7), "lat": round(float(y), 7), "t": t0 + 15 * r,
                  "accuracy_m": 10} for m, x, y in zip(ids, lon, lat, strict=True)]
        out.append([json.dumps({"fixes": fixes[i:i + batch]}) for i in range(0, len(fixes), batch)])
    return out


def over_http(base: str, token: str, bodies: list[str], clients: int) -> tuple[float, list[float], int]:
    """Send the bodies from ``clients`` threads; return (seconds, batch latencies ms, accepted)."""
    latencies: list[float] = []
    accepted = [0]
    lock = threading.Lock()
    todo = iter(bodies)

    def work() -> None:
        with httpx.Client(base_url=base, timeout=60,
                          headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"}) as c:
            while True:
                with lock:
                    body = next(todo, None)
                if body is None:
                    return
                t = time.perf_counter()
                r = c.post("/api/positions/batch", content=body)
                r.raise_for_status()
                with lock:
                    latencies.append((time.perf_counter() - t) * 1000)
                    accepted[0] += r.json()["accepted"]

    threads = [threading.Thread(target=work) for _ in range(clients)]
    t0 = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return time.perf_counter() - t0, latencies, accepted[0]


async def _over_ws(url: str, token: str, bodies: list[str], clients: int) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    accepted = 0
    todo = iter(bodies)

    async def work() -> None:
        nonlocal accepted
        async with websockets.connect(url, max_size=2**24) as ws:
            await ws.send(json.dumps({"type": "auth", "token": token}))
            json.loads(await ws.recv())
            for body in todo:
                t = time.perf_counter()
                await ws.send(json.dumps({"type": "fixes", "ref": 1, **json.loads(body)}))
                while True:
                    answer = json.loads(await ws.recv())
                    if answer["type"] in ("ack", "error"):
                        break
                if answer["type"] == "error":
                    raise RuntimeError(answer["message"])
                latencies.append((time.perf_counter() - t) * 1000)
                accepted += answer["accepted"]

    t0 = time.perf_counter()
    await asyncio.gather(*(work() for _ in range(clients)))
    return time.perf_counter() - t0, latencies, accepted


def _row(table: Table, label: str, n: int, seconds: float, latencies: list[float], accepted: int) -> float:
    latencies.sort()
    rate = n / seconds
    table.add_row(label, f"{n:,}", f"{rate:,.0f}", f"{statistics.median(latencies):.0f}",
                  f"{latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]:.0f}", f"{accepted / n:.1%}")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default="sqlite:////tmp/jiefang-bench-city.sqlite3")
    parser.add_argument("--on-duty", type=int, default=40_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--fences", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    env = {**os.environ, "JIEFANG_DATABASE_URL": args.database_url, "JIEFANG_DEMO_PASSWORD": "bench-password"}
    rng = np.random.default_rng(args.seed)

    subprocess.run([sys.executable, "-m", "jiefang.cli", "demo", "--scale", "city", "--no-serve"],
                   env=env, check=True, capture_output=True)
    ids, lon, lat = put_on_duty(args.database_url, args.on_duty, args.fences, rng)
    t0 = time.time() - 30 * args.rounds - 30  # client times in the recent past, WebSocket rounds after HTTP's
    http_rounds = rounds_of_fixes(ids, lon, lat, args.rounds, args.batch, rng, t0)
    ws_rounds = rounds_of_fixes(ids, lon, lat, args.rounds, args.batch, rng, t0 + 15 * args.rounds)

    server, base = start_server(env)
    try:
        token = httpx.post(f"{base}/api/auth/login",
                           json={"username": "admin", "password": "bench-password"}).json()["token"]
        table = Table(title=f"Position ingest through one worker: {args.on_duty:,} on duty, {args.fences:,} "
                            f"fences, batches of {args.batch}, {args.clients} connections, {args.rounds} rounds")
        for col in ("path", "fixes", "fixes/s", "batch p50 ms", "batch p99 ms", "accepted"):
            table.add_column(col, justify="left" if col == "path" else "right")
        n = args.rounds * ids.size
        http = over_http(base, token, [b for r in http_rounds for b in r], args.clients)
        ws_url = base.replace("http://", "ws://") + "/api/ws"
        ws = asyncio.run(_over_ws(ws_url, token, [b for r in ws_rounds for b in r], args.clients))
        rates = [_row(table, "HTTP POST /api/positions/batch", n, *http),
                 _row(table, "WebSocket fixes frames", n, *ws)]
        console.print(table)
        with make_engine(args.database_url).connect() as conn:
            events = conn.scalar(select(func.count()).select_from(FenceEvent))
            kept = conn.scalar(select(func.count()).select_from(TrackPoint))
        console.print(f"stored: {kept:,} track points, {events:,} fence events")
        verdict = "met" if min(rates) >= 10_000 else "NOT met"
        console.print(f"server peak RSS: {_peak_rss_mib(server.pid):.0f} MiB; "
                      f"slowest path {min(rates):,.0f} fixes/s (target ≥ 10,000: {verdict})")
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
