"""Load test of one server on loopback: positions, live-feed WebSockets and incidents together.

    python benchmarks/load.py [--database-url URL] [--seconds 60 | --minutes 30] [--quick]
                              [--on-duty 40000] [--fixes-per-s 4000] [--sockets 500]
                              [--incident-factor 10] [--positions phones|gateway|sockets]
                              [--phone-sockets N] [--feeders K]

Seeds the city-scale synthetic Guangzhou if the database is empty (SQLite file under /tmp by
default), puts ``--on-duty`` members on duty near their units (as ``ingest_api.py``), gives each
a member account and a token (written directly: 40,000 logins would only measure argon2), starts
``jiefang serve`` (one uvicorn worker, embedded defaults) and, for the length of the run:

* positions at ``--fixes-per-s``: ``phones`` (default) sends each fix as the member app does when
  its socket is down, ``POST /api/positions`` with the member's own token, one fix a request, over
  PHONE_CONNECTIONS kept-alive connections; ``gateway`` sends them as a position gateway does,
  batches of ``rate/10`` ten times a second; ``sockets`` sends them as the member app does, a
  ``fixes`` frame on each phone's own authenticated ``/api/ws`` (``--phone-sockets`` N of them,
  default 4,000, each one fix every ``N / rate`` s: 40,000 sockets would be 10 s each), spread
  over ``--feeders`` K processes and all open before the clock starts. Sent from separate
  processes, open loop (a fix is due at its time whether or not the server kept up; phones and
  gateway: at most ``MAX_IN_FLIGHT`` wait, the rest count as not sent; sockets: a fix never
  acknowledged counts as not sent);
* ``--sockets`` WebSocket clients on the live feed: the 11 district operators and the city admin,
  the rest members on duty, each member also answering its alerts (``accept``);
* incidents at ``--incident-factor`` × the city's peak rate, at the sites of members holding a
  socket. DESIGN.md gives "incident peaks of hundreds per hour"; we take the top of that,
  PEAK_PER_HOUR = 300/h, so 10× is 3,000/h (0.83/s).

Prints per stream the target and achieved rate, p50/p99 latency and errors, the delivery latency
of alerts (report sent → ``dispatch.alert`` frame on the member's socket), and the server's CPU
(one core = 100 %) and peak memory. ``--quick`` is a one-minute smoke run at a tenth of the scale;
``--minutes N`` is the soak.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import random
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import websockets
from rich.console import Console
from rich.table import Table
from sqlalchemy import delete, insert, select

from jiefang.db import make_engine, utcnow
from jiefang.people.models import Account, ApiToken
from jiefang.people.security import hash_password, new_token, token_digest

sys.path.insert(0, str(Path(__file__).parent))
from alert_latency import clear_incidents
from api_city import _peak_rss_mib, start_server
from ingest_api import put_on_duty

console = Console()
PASSWORD = "bench-password"
PEAK_PER_HOUR = 300  # "incident peaks of hundreds per hour" (DESIGN.md §4): the top of that
INCIDENT_TYPES = ("public_order", "dispute", "medical", "fire", "traffic_accident", "missing_person",
                  "violent_crime")
MAX_IN_FLIGHT = 256
SOCKET_OPENS_PER_S = 400  # phone sockets opened a second by each feeder before the run
PHONE_CONNECTIONS = 64
FIRST_WAVE_S = 5.0  # an alert raised this soon after the report is of its first wave, not an escalation
PREFIX = "load-"
FEED_EXTRA_S = 4.0  # positions start before the sockets open and end after the last incident


def give_tokens(url: str, ids: np.ndarray) -> list[str]:
    """A member account (one shared password hash) and a bearer token for each member; return the tokens."""
    engine = make_engine(url)
    digest_of_password = hash_password(PASSWORD)
    tokens = [new_token() for _ in ids]
    expires = utcnow() + timedelta(days=1)
    with engine.begin() as conn:
        conn.execute(delete(Account).where(Account.username.startswith(PREFIX)))
        conn.execute(insert(Account), [{"username": f"{PREFIX}{int(m)}", "password_hash": digest_of_password,
                                        "role": "member", "member_id": int(m), "active": True} for m in ids])
        account_of = dict(conn.execute(select(Account.member_id, Account.id)
                                       .where(Account.username.startswith(PREFIX))).all())
        conn.execute(insert(ApiToken), [{"token_sha256": token_digest(t), "account_id": account_of[int(m)],
                                         "expires_at": expires} for m, t in zip(ids, tokens, strict=True)])
    engine.dispose()
    return tokens


@dataclass
class Stream:
    """What one stream of requests achieved."""

    sent: int = 0
    errors: int = 0
    skipped: int = 0  # due but not sent: MAX_IN_FLIGHT requests were already waiting
    per_request: int = 1  # fixes in one request (gateway batches)
    latencies_ms: list[float] = field(default_factory=list)
    error_kinds: dict[str, int] = field(default_factory=dict)
    accepted: int = 0  # fixes the server reported applied (sockets: the acks' counts)

    def failed(self, kind: str) -> None:
        self.errors += 1
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1


async def _timed(stream: Stream, work: Any) -> Any:
    t = time.perf_counter()
    try:
        r = await work
    except httpx.HTTPError as exc:
        stream.failed(type(exc).__name__)
        return None
    if r.status_code >= 400:
        stream.failed(str(r.status_code))
        return None
    stream.latencies_ms.append((time.perf_counter() - t) * 1000)
    return r


async def _open_loop(per_s: float, seconds: float, stream: Stream, request: Any) -> None:
    """Call ``request(i)`` ``per_s`` times a second for ``seconds``, in 100 ms ticks, without waiting."""
    pending: set[asyncio.Task[Any]] = set()
    start, i = time.perf_counter(), 0
    while (now := time.perf_counter() - start) < seconds:
        due = int(now * per_s) + 1
        while i < due:
            if len(pending) >= MAX_IN_FLIGHT:
                stream.skipped += due - i
                i = due
                break
            task = asyncio.create_task(_timed(stream, request(i)))
            pending.add(task)
            task.add_done_callback(pending.discard)
            stream.sent += 1
            i += 1
        await asyncio.sleep(max(0.0, (i / per_s) - (time.perf_counter() - start)))
    await asyncio.gather(*pending)


async def _post(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str, token: str,
                body: bytes) -> int:
    """One HTTP/1.1 POST on a kept-alive connection; return the status. (httpx's async pool, not
    the server, was the bottleneck at a few hundred requests a second: this is the phones' side.)"""
    writer.write(b"POST %s HTTP/1.1\r\nHost: loopback\r\nAuthorization: Bearer %s\r\n"
                 b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                 % (path.encode(), token.encode(), len(body), body))
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    await reader.readexactly(length)
    return status


async def _phones(port: int, ids: list[int], tokens: list[str], fix: Any, per_s: float, seconds: float,
                  stream: Stream) -> None:
    """Each fix a ``POST /api/positions`` with the member's token, from PHONE_CONNECTIONS kept-alive
    connections fed by an open-loop clock."""
    due: asyncio.Queue[int | None] = asyncio.Queue()

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while (i := await due.get()) is not None:
            j = i % len(ids)
            t = time.perf_counter()
            try:
                status = await _post(reader, writer, "/api/positions", tokens[j], json.dumps(fix(j, i, True)).encode())
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
                stream.failed(type(exc).__name__)
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            if status >= 400:
                stream.failed(str(status))
            else:
                stream.latencies_ms.append((time.perf_counter() - t) * 1000)
        writer.close()

    workers = [asyncio.create_task(connection()) for _ in range(PHONE_CONNECTIONS)]
    start, i = time.perf_counter(), 0
    while (now := time.perf_counter() - start) < seconds:
        for _ in range(int(now * per_s) + 1 - i):
            if due.qsize() >= MAX_IN_FLIGHT:
                stream.skipped += 1
            else:
                due.put_nowait(i)
                stream.sent += 1
            i += 1
        await asyncio.sleep(0.01)
    for _ in workers:
        due.put_nowait(None)
    await asyncio.gather(*workers)


async def _phone_sockets(url: str, ids: list[int], tokens: list[str], fix: Any, per_s: float, seconds: float,
                         stream: Stream, ready: Any, go: Any) -> None:
    """One ``/api/ws`` per member, each sending its own fix in a ``fixes`` frame every
    ``len(ids) / per_s`` s (phases spread evenly); latency is send → ``ack`` (the ack comes after the
    fix is committed and published). Opens every socket, sets ``ready``, waits for ``go``."""
    period = len(ids) / per_s
    sent_at: dict[int, float] = {}
    opened: list[Any] = []

    async def open_one(j: int) -> None:
        try:
            ws = await websockets.connect(url, max_size=2**24, open_timeout=120)
            await ws.send(json.dumps({"type": "auth", "token": tokens[j]}))
            if json.loads(await ws.recv()).get("type") != "hello":
                raise ValueError("no hello")
            opened.append((j, ws))
        except (OSError, ValueError, TimeoutError, websockets.WebSocketException) as exc:
            stream.failed(f"open {type(exc).__name__}")

    pending = []
    for j in range(len(ids)):
        pending.append(asyncio.create_task(open_one(j)))
        await asyncio.sleep(1 / SOCKET_OPENS_PER_S)
    await asyncio.gather(*pending)
    ready.set()
    await asyncio.to_thread(go.wait)
    start = time.perf_counter()

    async def phone(j: int, ws: Any) -> None:
        async def read() -> None:
            async for raw in ws:
                frame = json.loads(raw)
                if frame.get("type") == "ack" and (t := sent_at.pop(frame.get("ref"), None)) is not None:
                    stream.latencies_ms.append((time.perf_counter() - t) * 1000)
                    stream.accepted += frame["accepted"]
                elif frame.get("type") in ("error", "resync"):
                    stream.failed(f"ws {frame.get('type')} {frame.get('error', '')}".strip())
        reader = asyncio.create_task(read())
        k = 0
        try:
            while (due := (j * (1 / per_s) % period) + k * period) < seconds:
                await asyncio.sleep(max(0.0, due - (time.perf_counter() - start)))
                ref = j * 1_000_000 + k
                sent_at[ref] = time.perf_counter()
                await ws.send(json.dumps({"type": "fixes", "ref": ref, "fixes": [fix(j, k, True)]}))
                stream.sent += 1
                k += 1
            await asyncio.sleep(2.0)  # the last acks
        except websockets.WebSocketException as exc:
            stream.failed(f"dropped {type(exc).__name__}")
        finally:
            await ws.close()
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, websockets.WebSocketException):
                await reader

    await asyncio.gather(*(phone(j, ws) for j, ws in opened))
    stream.skipped += len(sent_at)  # sent, never acknowledged


def feed_positions(base: str, mode: str, admin: str, ids: list[int], tokens: list[str], lons: list[float],
                   lats: list[float], per_s: float, seconds: float, out: Any, ready: Any = None,
                   go: Any = None) -> None:
    """Send positions for ``seconds`` (own process); put the Stream's figures on ``out``."""
    rng = np.random.default_rng(1)
    t_client = time.time() - 30.0
    stream = Stream()
    batch = max(1, int(per_s // 10))

    def fix(j: int, i: int, own: bool) -> dict[str, Any]:
        body = {"lon": lons[j] + float(rng.normal(0, 2e-5)), "lat": lats[j] + float(rng.normal(0, 2e-5)),
                "t": t_client + i / per_s, "accuracy_m": 10}
        return body if own else {**body, "member_id": ids[j]}

    async def gateway() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            def many(k: int) -> Any:
                rows = [fix((k * batch + n) % len(ids), k * batch + n, own=False) for n in range(batch)]
                return http.post("/api/positions/batch", json={"fixes": rows},
                                 headers={"Authorization": f"Bearer {admin}"})
            stream.per_request = batch
            await _open_loop(per_s / batch, seconds, stream, many)

    if mode == "sockets":
        asyncio.run(_phone_sockets(base.replace("http://", "ws://") + "/api/ws", ids, tokens,
                                   lambda j, k, own: fix(j, k * len(ids) + j, own), per_s, seconds, stream,
                                   ready, go))
    elif mode == "phones":
        asyncio.run(_phones(int(base.rsplit(":", 1)[1]), ids, tokens, fix, per_s, seconds, stream))
    else:
        asyncio.run(gateway())
    out.put((stream.sent, stream.errors, stream.skipped, stream.per_request, stream.latencies_ms,
             stream.error_kinds, stream.accepted))


@dataclass
class Feed:
    """The WebSocket side: frames seen, alerts delivered, answers given."""

    connected: int = 0
    frames: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    alerts: dict[int, list[tuple[float, float]]] = field(default_factory=dict)  # incident -> (event, arrival)
    accepts: Stream = field(default_factory=Stream)


async def listen(url: str, base: str, token: str, feed: Feed, stop: asyncio.Event, answer: bool) -> None:
    """One live-feed client until ``stop``; members accept their alerts through the API."""
    try:
        async with websockets.connect(url, max_size=2**24, open_timeout=60) as ws, \
                httpx.AsyncClient(base_url=base, timeout=30) as http:
            await ws.send(json.dumps({"type": "auth", "token": token}))
            feed.connected += 1
            while not stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), 0.5)
                except TimeoutError:
                    continue
                feed.frames += 1
                frame = json.loads(raw)
                if frame.get("type") == "resync":
                    feed.failures["resync"] = feed.failures.get("resync", 0) + 1
                if answer and frame.get("type") == "dispatch.alert":
                    feed.alerts.setdefault(frame["incident_id"], []).append(
                        (datetime.fromisoformat(frame["at"]).timestamp(), time.time()))
                    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())}
                    feed.accepts.sent += 1
                    await _timed(feed.accepts, http.post(f"/api/alerts/{frame['assignment_id']}/accept",
                                                         headers=headers))
    except (OSError, websockets.WebSocketException) as exc:
        feed.failures[type(exc).__name__] = feed.failures.get(type(exc).__name__, 0) + 1


async def drive(base: str, admin: str, operators: list[str], members: list[tuple[str, float, float]],
                per_s: float, seconds: float) -> tuple[Feed, Stream, dict[int, float]]:
    """Open the sockets, report incidents at the members' sites for ``seconds``; return what was seen."""
    feed, incidents, sent_at = Feed(), Stream(), {}
    stop = asyncio.Event()
    url = base.replace("http://", "ws://") + "/api/ws"
    clients = [asyncio.create_task(listen(url, base, t, feed, stop, answer=False)) for t in operators]
    for token, _, _ in members:
        clients.append(asyncio.create_task(listen(url, base, token, feed, stop, answer=True)))
        await asyncio.sleep(0.005)  # 200 a second: a city's phones do not all connect at once
    await asyncio.sleep(2.0)
    rng = random.Random(2)
    async with httpx.AsyncClient(base_url=base, timeout=30, headers={"Authorization": f"Bearer {admin}"}) as http:
        async def report(i: int) -> None:
            _, lon, lat = members[rng.randrange(len(members))]
            t = time.time()  # wall clock: compared with the alert events' times
            r = await http.post("/api/incidents", json={"type": rng.choice(INCIDENT_TYPES), "lon": lon, "lat": lat})
            if r.status_code == 201:
                sent_at[r.json()["id"]] = t
            return r

        await _open_loop(per_s, seconds, incidents, report)
    await asyncio.sleep(3.0)  # the last alerts arrive
    stop.set()
    await asyncio.gather(*clients)
    return feed, incidents, sent_at


def _pcts(values: list[float]) -> tuple[str, str]:
    if not values:
        return "–", "–"
    p50, p99 = np.percentile(values, [50, 99])
    return f"{p50:.0f}", f"{p99:.0f}"


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="sqlite:////tmp/jiefang-load-city.sqlite3")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--minutes", type=float, help="soak: run this long instead of --seconds")
    parser.add_argument("--quick", action="store_true", help="a tenth of the scale for 20 s")
    parser.add_argument("--on-duty", type=int, default=40_000)
    parser.add_argument("--fixes-per-s", type=float, default=4_000)
    parser.add_argument("--sockets", type=int, default=500)
    parser.add_argument("--incident-factor", type=float, default=10.0)
    parser.add_argument("--positions", choices=("phones", "gateway", "sockets"), default="phones")
    parser.add_argument("--phone-sockets", type=int, default=4_000,
                        help="sockets mode: phones holding a socket, each a fix every N/rate s")
    parser.add_argument("--feeders", type=int, default=1, help="processes sending the positions")
    parser.add_argument("--server-log", default="/tmp/jiefang-load-server.log")
    args = parser.parse_args()
    if args.quick:
        args.on_duty, args.fixes_per_s, args.sockets, args.seconds = 4_000, 400, 50, 20.0
    seconds = args.minutes * 60 if args.minutes else args.seconds
    incidents_per_s = PEAK_PER_HOUR * args.incident_factor / 3600
    env = {**os.environ, "JIEFANG_DATABASE_URL": args.database_url, "JIEFANG_DEMO_PASSWORD": PASSWORD,
           "PYTHONFAULTHANDLER": "1"}  # SIGABRT prints every thread's stack to the server log
    subprocess.run([sys.executable, "-m", "jiefang.cli", "demo", "--scale", "city", "--no-serve"],
                   env=env, check=True, capture_output=True)
    clear_incidents(args.database_url)
    ids, lons, lats = put_on_duty(args.database_url, args.on_duty, 0, np.random.default_rng(0))
    tokens = give_tokens(args.database_url, ids)
    server, base = start_server(env, log=Path(args.server_log))
    out: Any = multiprocessing.Queue()
    try:
        admin = httpx.post(f"{base}/api/auth/login", json={"username": "admin", "password": PASSWORD}).json()["token"]
        operators = [admin] + [httpx.post(f"{base}/api/auth/login", json={"username": f"op-4401{d:02d}",
                                                                          "password": PASSWORD}).json()["token"]
                               for d in (3, 4, 5, 6, 11, 12, 13, 14, 15, 17, 18)]
        operators = operators[:max(1, args.sockets // 10)]
        chosen = np.random.default_rng(3).choice(len(ids), size=args.sockets - len(operators), replace=False)
        members = [(tokens[i], float(lons[i]), float(lats[i])) for i in chosen.tolist()]
        phones = args.phone_sockets if args.positions == "sockets" else len(ids)
        k = args.feeders
        go = multiprocessing.Event()
        feeders = [(multiprocessing.Process(target=feed_positions, args=(
            base, args.positions, admin, ids[f:phones:k].tolist(), tokens[f:phones:k], lons[f:phones:k].tolist(),
            lats[f:phones:k].tolist(), args.fixes_per_s / k, seconds + FEED_EXTRA_S, out, ready, go)), ready)
            for f in range(k) for ready in [multiprocessing.Event()]]
        for feeder, _ in feeders:
            feeder.start()
        if args.positions == "sockets":
            for _, ready in feeders:
                ready.wait()  # every phone socket open: the clock starts now
        cpu0, t0 = _cpu_s(server.pid), time.perf_counter()
        go.set()
        feed, incidents, sent_at = asyncio.run(drive(base, admin, operators, members, incidents_per_s, seconds))
        parts = [Stream(*out.get(timeout=180)) for _ in feeders]
        positions = Stream(sent=sum(p.sent for p in parts), errors=sum(p.errors for p in parts),
                           skipped=sum(p.skipped for p in parts), per_request=parts[0].per_request,
                           latencies_ms=[v for p in parts for v in p.latencies_ms],
                           accepted=sum(p.accepted for p in parts))
        for p in parts:
            for kind, count in p.error_kinds.items():
                positions.error_kinds[kind] = positions.error_kinds.get(kind, 0) + count
        for feeder, _ in feeders:
            feeder.join(30)
        cpu = (_cpu_s(server.pid) - cpu0) / (time.perf_counter() - t0)
        rss = _peak_rss_mib(server.pid)
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:  # still closing sockets: the figures are taken
            server.kill()
            server.wait(10)
    first_wave = {i: [arrived for at, arrived in feed.alerts.get(i, []) if at - t < FIRST_WAVE_S]
                  for i, t in sent_at.items()}
    delivery = [(min(arrived) - sent_at[i]) * 1000 for i, arrived in first_wave.items() if arrived]
    hub = [(arrived - at) * 1000 for frames in feed.alerts.values() for at, arrived in frames]
    table = Table(title=f"Load on one worker (SQLite), {args.on_duty:,} on duty, {seconds:,.0f} s, "
                        f"positions as {args.positions}")
    for col in ("stream", "target /s", "achieved /s", "p50 ms", "p99 ms", "errors", "not sent"):
        table.add_column(col, justify="left" if col == "stream" else "right")
    n = positions.per_request
    label = {"phones": "POST /api/positions", "gateway": f"batches of {n}",
             "sockets": f"fixes frames on {args.phone_sockets:,} phone sockets, send → ack"}[args.positions]
    table.add_row(f"positions ({label})",
                  f"{args.fixes_per_s:,.0f}", f"{len(positions.latencies_ms) * n / (seconds + FEED_EXTRA_S):,.0f}",
                  *_pcts(positions.latencies_ms), f"{positions.errors * n:,}", f"{positions.skipped * n:,}")
    if args.positions == "sockets":
        table.add_row("positions applied by the server (acks' accepted)", "",
                      f"{positions.accepted / (seconds + FEED_EXTRA_S):,.0f}", "", "", "", "")
    table.add_row("incidents (POST /api/incidents)", f"{incidents_per_s:.2f}",
                  f"{len(incidents.latencies_ms) / seconds:.2f}", *_pcts(incidents.latencies_ms),
                  f"{incidents.errors:,}", f"{incidents.skipped:,}")
    table.add_row("alert delivery (report → first-wave WS frame)", "",
                  f"{len(delivery)}/{len(sent_at)} alerted", *_pcts(delivery), "", "")
    table.add_row("alert frames (event → WS frame, all waves)", "", f"{len(hub):,} frames", *_pcts(hub), "", "")
    table.add_row("accepts (POST /api/alerts/{id}/accept)", "", f"{len(feed.accepts.latencies_ms) / seconds:.2f}",
                  *_pcts(feed.accepts.latencies_ms), f"{feed.accepts.errors:,}", "")
    table.add_row(f"WebSocket clients ({len(operators)} operators)", f"{args.sockets}",
                  f"{feed.connected} connected, {feed.frames / seconds:,.0f} frames/s", "", "",
                  f"{sum(feed.failures.values()):,}", "")
    console.print(table)
    errors = {**positions.error_kinds, **{f"incident {k}": v for k, v in incidents.error_kinds.items()},
              **{f"ws {k}": v for k, v in feed.failures.items()}}
    if errors:
        console.print(f"errors by kind: {errors}")
    console.print(f"server CPU {cpu:.0%} of one core, peak RSS {rss:.0f} MiB")


if __name__ == "__main__":
    main()
