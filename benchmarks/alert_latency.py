"""Intake → first alert frame on a member's WebSocket, while the server ingests city-peak positions.

    python benchmarks/alert_latency.py [--database-url URL] [--on-duty 40000] [--incidents 100]
                                       [--fixes-per-s 4000]

Seeds the city-scale synthetic Guangzhou if the database is empty, puts ``--on-duty`` members on
duty near their units (as in ingest_api.py), starts ``jiefang serve`` (one uvicorn worker), and
opens a WebSocket per on-duty member of ``--incidents`` chosen units, each logged in with its own
member account. A separate process sends ``--fixes-per-s`` position fixes per second through
``POST /api/positions/batch`` the whole time. Then one incident every half second is reported at
each chosen unit's site (``POST /api/incidents``, public-order playbook), and the time from
sending the report to the first ``dispatch.alert`` frame for it on any member socket is taken.
Target: p99 ≤ 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import numpy as np
import websockets
from rich.console import Console
from rich.table import Table
from sqlalchemy import delete

from jiefang.db import make_engine
from jiefang.dispatch.models import Assignment, TierState
from jiefang.incidents.models import Incident, IncidentEvent

sys.path.insert(0, str(Path(__file__).parent))
from api_city import _peak_rss_mib, start_server
from ingest_api import put_on_duty

console = Console()
PASSWORD = "bench-password"


def clear_incidents(url: str) -> None:
    """Start from no incidents: those of an earlier run would still be open, their timers running."""
    engine = make_engine(url)
    with engine.begin() as conn:
        for table in (Assignment, TierState, IncidentEvent, Incident):
            conn.execute(delete(table))
    engine.dispose()


def feed_positions(base: str, token: str, ids: list[int], lons: list[float], lats: list[float], per_s: int,
                   stop: multiprocessing.synchronize.Event, sent: multiprocessing.sharedctypes.Synchronized) -> None:
    """Send ``per_s`` fixes per second in 10 batches a second until ``stop`` is set (own process)."""
    rng = np.random.default_rng(1)
    batch = max(1, per_s // 10)
    t_client = time.time() - 400.0  # client times advance 1 s per round, from the recent past
    with httpx.Client(base_url=base, timeout=30, headers={"Authorization": f"Bearer {token}"}) as http:
        i, tick = 0, time.perf_counter()
        while not stop.is_set():
            rows = []
            for _ in range(batch):
                j = i % len(ids)
                rows.append({"member_id": ids[j], "lon": lons[j] + float(rng.normal(0, 2e-5)),
                             "lat": lats[j] + float(rng.normal(0, 2e-5)), "t": t_client + i // len(ids) * 15,
                             "accuracy_m": 10})
                i += 1
            http.post("/api/positions/batch", json={"fixes": rows})
            with sent.get_lock():
                sent.value += batch
            tick += 0.1
            time.sleep(max(0.0, tick - time.perf_counter()))


async def listen(url: str, token: str, seen: dict[int, float]) -> None:
    async with websockets.connect(url, max_size=2**24) as ws:
        await ws.send(json.dumps({"type": "auth", "token": token}))
        async for raw in ws:
            frame = json.loads(raw)
            if frame.get("type") == "dispatch.alert":
                seen.setdefault(frame["incident_id"], time.perf_counter())


async def measure(base: str, admin: dict[str, str], sites: list[tuple[float, float]], tokens: list[str]) -> list[float]:
    seen: dict[int, float] = {}
    ws_url = base.replace("http://", "ws://") + "/api/ws"
    listeners = [asyncio.create_task(listen(ws_url, t, seen)) for t in tokens]
    await asyncio.sleep(2.0)  # every socket authenticated and subscribed
    latencies = []
    async with httpx.AsyncClient(base_url=base, headers=admin, timeout=30) as http:
        for lon, lat in sites:
            sent_at = time.perf_counter()
            r = await http.post("/api/incidents", json={"type": "public_order", "lon": lon, "lat": lat})
            r.raise_for_status()
            incident_id = r.json()["id"]
            deadline = time.perf_counter() + 5
            while incident_id not in seen and time.perf_counter() < deadline:
                await asyncio.sleep(0.001)
            if incident_id in seen:
                latencies.append((seen[incident_id] - sent_at) * 1000)
            await asyncio.sleep(0.5)
    for task in listeners:
        task.cancel()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="sqlite:////tmp/jiefang-bench-city.sqlite3")
    parser.add_argument("--on-duty", type=int, default=40_000)
    parser.add_argument("--incidents", type=int, default=100)
    parser.add_argument("--fixes-per-s", type=int, default=4_000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    env = {**os.environ, "JIEFANG_DATABASE_URL": args.database_url, "JIEFANG_DEMO_PASSWORD": PASSWORD}
    subprocess.run([sys.executable, "-m", "jiefang.cli", "demo", "--scale", "city", "--no-serve"],
                   env=env, check=True, capture_output=True)
    clear_incidents(args.database_url)
    ids, lons, lats = put_on_duty(args.database_url, args.on_duty, 0, rng)
    server, base = start_server(env)
    stop, sent = multiprocessing.Event(), multiprocessing.Value("q", 0)
    feeder = None
    try:
        token = httpx.post(f"{base}/api/auth/login", json={"username": "admin", "password": PASSWORD}).json()["token"]
        admin = {"Authorization": f"Bearer {token}"}
        chosen = rng.choice(len(ids), size=args.incidents, replace=False)
        sites = [(float(lons[i]), float(lats[i])) for i in chosen]
        tokens = []
        run = uuid.uuid4().hex[:6]
        with httpx.Client(base_url=base, timeout=30) as http:
            for i in chosen.tolist():  # the member standing at each site answers self-rescue
                name = f"bench-{run}-{int(ids[i])}"
                http.post("/api/accounts", headers=admin, json={"username": name, "password": PASSWORD,
                                                                "role": "member", "member_id": int(ids[i])})
                login = http.post("/api/auth/login", json={"username": name, "password": PASSWORD})
                tokens.append(login.json()["token"])
        feeder = multiprocessing.Process(target=feed_positions, args=(base, token, ids.tolist(), lons.tolist(),
                                                                      lats.tolist(), args.fixes_per_s, stop, sent))
        feeder.start()
        time.sleep(2.0)
        started, sent_before = time.perf_counter(), sent.value
        latencies = asyncio.run(measure(base, admin, sites, tokens))
        rate = (sent.value - sent_before) / (time.perf_counter() - started)
    finally:
        stop.set()
        if feeder is not None:
            feeder.join(30)
        rss = _peak_rss_mib(server.pid)
        server.terminate()
        server.wait(10)
    table = Table(title=f"Intake → first alert on a member's WebSocket, one worker, {args.on_duty:,} on duty, "
                        f"{len(tokens)} member sockets, positions at {rate:,.0f} fixes/s")
    for col in ("incidents", "alerted", "p50 ms", "p99 ms", "max ms"):
        table.add_column(col, justify="right")
    p50, p99 = np.percentile(latencies, [50, 99]) if latencies else (float("nan"), float("nan"))
    table.add_row(str(len(sites)), str(len(latencies)), f"{p50:.1f}", f"{p99:.1f}",
                  f"{max(latencies, default=float('nan')):.1f}")
    console.print(table)
    console.print("slowest, ms: " + ", ".join(f"{v:.0f}" for v in sorted(latencies)[-5:]))
    verdict = "met" if p99 <= 100 else "NOT met"
    console.print(f"server peak RSS {rss:.0f} MiB; p99 {p99:.1f} ms (target ≤ 100: {verdict})")


if __name__ == "__main__":
    main()
