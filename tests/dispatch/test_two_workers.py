"""Two ``jiefang serve`` workers sharing one PostgreSQL database and one Redis: an incident created
through one reaches members connected to the other, with the same numbers everywhere; killing the
worker that runs the dispatch deadlines loses no timer and doubles none."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy import select
from websockets.sync.client import ClientConnection, connect

from jiefang.db import utcnow
from jiefang.dispatch.models import Assignment
from jiefang.incidents.models import IncidentEvent
from jiefang.units.models import Unit

from ..serving import free_port, quick_playbooks, serve  # type: ignore[import-not-found]
from .conftest import give_logins, put_crew_on_duty  # type: ignore[import-not-found]

LEASE_TTL_S = 2.0  # a killed worker's jobs move within this (plus a refresh period)
WAIT_S = 20.0


def _start_worker(database_url: str, password: str, playbooks: Path, log: Path,
                  **env: str) -> tuple[subprocess.Popen[bytes], str]:
    """Start one ``jiefang serve`` worker; return it and its address once it answers."""
    port = free_port()
    return serve(database_url, password, port, log, playbooks, **env), f"127.0.0.1:{port}"


def _socket(sockets: ExitStack, where: str, headers: dict[str, str],
            since: int | None = None) -> tuple[ClientConnection, int]:
    """Open the WebSocket of an account on a worker (closed with ``sockets``); return it and the
    hello's number."""
    ws = sockets.enter_context(connect(f"ws://{where}/api/ws", open_timeout=10))
    ws.send(json.dumps({"type": "auth", "token": headers["Authorization"].removeprefix("Bearer "), "since": since}))
    hello = json.loads(ws.recv(timeout=10))
    assert hello["type"] == "hello", hello
    return ws, hello["seq"]


def _alert_of(ws: ClientConnection, incident_id: int) -> dict[str, Any]:
    """Return the next dispatch.alert of the incident read from the socket."""
    deadline = time.monotonic() + WAIT_S
    while True:
        event = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        if event["type"] == "dispatch.alert" and event["incident_id"] == incident_id:
            return event


def test_incident_reaches_the_other_worker_and_a_killed_lease_holder_loses_no_timer(
        backend, database_url, sessions, settings, redis_url, redis_prefix, tmp_path):
    if backend == "sqlite":
        pytest.skip("several workers share a PostgreSQL database; SQLite is the one-process default")
    with sessions() as s:
        unit_id = s.scalars(select(Unit.id).where(Unit.leader_member_id.is_not(None)).order_by(Unit.id)).first()
    crew = put_crew_on_duty(sessions, unit_id)
    env = {"JIEFANG_REDIS_URL": redis_url, "JIEFANG_REDIS_PREFIX": redis_prefix,
           "JIEFANG_LEASE_TTL_S": str(LEASE_TTL_S)}
    playbooks = quick_playbooks(tmp_path)
    workers = [_start_worker(database_url, settings.demo_password, playbooks, tmp_path / "a.log", **env)]
    # first up: it takes every lease
    workers.append(_start_worker(database_url, settings.demo_password, playbooks, tmp_path / "b.log", **env))
    (server_a, a), (_, b) = workers
    sockets = ExitStack()
    try:
        with httpx.Client(base_url=f"http://{a}", timeout=10) as http:
            login = http.post("/api/auth/login", json={"username": "admin", "password": settings.demo_password})
            admin = {"Authorization": f"Bearer {login.json()['token']}"}
            give_logins(http, admin, crew, settings.demo_password)
            on_b = {m: _socket(sockets, b, crew.headers[m]) for m in crew.own + crew.others}
            city_on_a, _ = _socket(sockets, a, admin)
            r = http.post("/api/incidents", headers=admin, json={"type": "public_order", "lon": crew.lon,
                                                                  "lat": crew.lat})
            assert r.status_code == 201, r.text
            incident_id = r.json()["id"]
        with sessions() as s:
            first_wave = {a.member_id: a.id for a in s.scalars(
                select(Assignment).where(Assignment.incident_id == incident_id))}
        assert first_wave
        # every member alerted hears it on worker B, under the number worker A's operator saw
        seen_on_a = {e["member_id"]: e for e in (_alert_of(city_on_a, incident_id) for _ in first_wave)}
        for m, assignment_id in first_wave.items():
            event = _alert_of(on_b[m][0], incident_id)
            assert event["assignment_id"] == assignment_id and event == seen_on_a[m]
        # a member reconnecting to the other worker is replayed what it missed
        m = next(iter(first_wave))
        again, _ = _socket(sockets, a, crew.headers[m], since=on_b[m][1])
        assert _alert_of(again, incident_id) == seen_on_a[m]

        holder = redis.Redis.from_url(redis_url).get(f"{redis_prefix}:lease:dispatch")
        assert holder is not None
        pid = int(holder.decode().split(":")[1])
        assert pid == server_a.pid  # started first; now it dies holding the pending timers
        server_a.send_signal(signal.SIGKILL)
        server_a.wait(10)
        killed_at = utcnow()
        deadline = time.monotonic() + WAIT_S
        while True:  # until the survivor has dealt with every silent alert of the first wave
            with sessions() as s:
                waiting = s.scalars(select(Assignment.id).where(
                    Assignment.id.in_(first_wave.values()), Assignment.status == "alerted")).all()
            if not waiting or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        time.sleep(LEASE_TTL_S)  # let any doubled sweep show itself
    finally:
        sockets.close()
        for server, _ in workers:
            server.kill()
            server.wait(10)
    with sessions() as s:
        assignments = s.scalars(select(Assignment).where(Assignment.incident_id == incident_id)).all()
        events = s.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == incident_id)).all()
    kinds = Counter((e.kind, e.member_id) for e in events)
    by_member = {x.member_id: x for x in assignments}
    assert not waiting and all(by_member[m].status in ("timed_out", "arrived") for m in first_wave)
    timed_out = [m for m in first_wave if by_member[m].status == "timed_out"]
    assert timed_out and all(kinds["timed_out", m] == 1 for m in timed_out)  # each timer ran once ...
    assert all(e.at >= killed_at for e in events if e.kind == "timed_out")  # ... in the survivor
    replacements = set(by_member) - set(first_wave)
    assert replacements  # the next candidates were alerted ...
    assert all(kinds["alerted", m] == 1 for m in by_member)  # ... once each, as was everyone
