"""The event bus in one process and shared through Redis, and how fast leases move.

    python benchmarks/event_bus.py [--redis-url redis://127.0.0.1:6379/0] [--events 20000] [--ttl-s 5]

1. Publish cost: ``--events`` dispatch-alert-sized events published one after another on the
   in-process bus and on the Redis bus (one Lua call each), with one local subscriber.
2. Cross-worker delivery: a second Redis bus in another process receives every event of the first
   (listener thread, XREAD BLOCK) and reports when each arrived; latency = arrival − publish, at
   a paced 1,000 events/s and flat out.
3. Lease takeover: worker A holds the leases of the eight shared jobs and stops renewing (as if
   SIGKILLed); worker B refreshes every ttl/3 as the server does. Time until B holds all of them.

Keys go under a random prefix and are deleted afterwards.
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
import uuid
from multiprocessing.connection import Connection

import numpy as np
import redis
from rich.console import Console
from rich.table import Table

from jiefang.api.background import SHARED_JOBS
from jiefang.api.leases import Leases
from jiefang.events import Event, EventBus
from jiefang.events_redis import make_bus, quick_client

console = Console()
PAYLOAD = {"member_id": 123456, "assignment_id": 987654, "incident_id": 4321, "tier": "mutual_aid",
           "unit_id": 17, "district_id": 3, "eta_s": 95, "distance_m": 240.5, "drill": False}


def _publish_cost(bus: EventBus, n: int) -> np.ndarray:
    got: list[Event] = []
    bus.subscribe(got.append)
    took = np.empty(n)
    for i in range(n):
        t0 = time.perf_counter()
        bus.publish("dispatch.alert", n=i, **PAYLOAD)
        took[i] = time.perf_counter() - t0
    assert len(got) == n
    return took


def _receiver(url: str, prefix: str, n: int, ready: Connection, done: Connection) -> None:
    """Another worker: note when each of ``n`` events arrives; send the arrival times back."""
    bus = make_bus(url, prefix)
    arrived: dict[int, float] = {}
    bus.subscribe(lambda e: arrived.setdefault(e["n"], time.time()), local=False, remote=True)
    bus.start()
    time.sleep(0.5)  # the listener has read the counter: it takes everything from now on
    ready.send(True)
    deadline = time.monotonic() + 120
    while len(arrived) < n and time.monotonic() < deadline:
        time.sleep(0.05)
    bus.close()
    done.send(arrived)


def _cross_worker(url: str, prefix: str, n: int, per_s: float | None) -> tuple[np.ndarray, float]:
    ready_r, ready_w = multiprocessing.Pipe(duplex=False)
    done_r, done_w = multiprocessing.Pipe(duplex=False)
    worker = multiprocessing.Process(target=_receiver, args=(url, prefix, n, ready_w, done_w))
    worker.start()
    ready_r.recv()
    bus = make_bus(url, prefix)
    sent = np.empty(n)
    t0 = time.perf_counter()
    for i in range(n):
        if per_s is not None:
            time.sleep(max(0.0, t0 + i / per_s - time.perf_counter()))
        sent[i] = time.time()
        bus.publish("dispatch.alert", n=i, **PAYLOAD)
    rate = n / (time.perf_counter() - t0)
    arrived = done_r.recv()
    worker.join()
    assert len(arrived) == n, f"{n - len(arrived)} events lost"
    return np.array([arrived[i] - sent[i] for i in range(n)]), rate


def _takeover(url: str, prefix: str, ttl_s: float) -> float:
    a = Leases(quick_client(url), prefix, SHARED_JOBS, ttl_s)
    b = Leases(quick_client(url), prefix, SHARED_JOBS, ttl_s)
    assert a.refresh() == set(SHARED_JOBS)
    killed = time.monotonic()  # a stops renewing now
    while b.refresh() != set(SHARED_JOBS):
        time.sleep(ttl_s / 3)
    return time.monotonic() - killed


def _ms(values: np.ndarray, q: float) -> str:
    return f"{np.percentile(values, q) * 1000:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--ttl-s", type=float, default=5.0)
    args = parser.parse_args()
    prefix = f"jfbench{uuid.uuid4().hex[:8]}"
    n = args.events
    try:
        table = Table(title=f"publish, {n:,} events, one local subscriber")
        for col in ("bus", "events/s", "p50 ms", "p99 ms"):
            table.add_column(col, justify="right" if col != "bus" else "left")
        for name, bus in (("in process", EventBus()), ("Redis", make_bus(args.redis_url, f"{prefix}:a"))):
            took = _publish_cost(bus, n)
            table.add_row(name, f"{n / took.sum():,.0f}", _ms(took, 50), _ms(took, 99))
        console.print(table)

        table = Table(title="publish on worker A → subscriber on worker B (separate processes)")
        for col in ("pace", "events", "sent/s", "p50 ms", "p99 ms", "max ms"):
            table.add_column(col, justify="right" if col != "pace" else "left")
        for pace, count, per_s in (("1,000/s", min(n, 10_000), 1000.0), ("flat out", n, None)):
            latency, rate = _cross_worker(args.redis_url, f"{prefix}:{pace}", count, per_s)
            table.add_row(pace, f"{count:,}", f"{rate:,.0f}", _ms(latency, 50), _ms(latency, 99),
                          f"{latency.max() * 1000:.3f}")
        console.print(table)

        took = [_takeover(args.redis_url, f"{prefix}:lease{i}", args.ttl_s) for i in range(3)]
        console.print(f"lease takeover after the holder stops renewing (ttl {args.ttl_s:g} s, "
                      f"{len(SHARED_JOBS)} jobs): " + ", ".join(f"{t:.2f} s" for t in took))
    finally:
        client = redis.Redis.from_url(args.redis_url)
        for key in client.scan_iter(match=f"{prefix}:*"):
            client.delete(key)


if __name__ == "__main__":
    main()
