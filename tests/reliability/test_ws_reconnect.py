"""Drop a client's WebSocket in the middle of the feed and reconnect it with ``since``: it gets
exactly the events it missed, no gap and no duplicate, then the live feed."""

from __future__ import annotations

import json
import socket
from typing import Any

import httpx
from websockets.sync.client import ClientConnection, connect

from ..serving import free_port, serve  # type: ignore[import-not-found]

SNAPSHOTS = {"positions"}  # sent live, never kept for replay


def _open(port: int) -> ClientConnection:
    return connect(f"ws://127.0.0.1:{port}/api/ws", open_timeout=10)


def _auth(ws: ClientConnection, token: str, since: int | None = None) -> None:
    ws.send(json.dumps({"type": "auth", "token": token, "since": since}))
    hello = json.loads(ws.recv(10))
    assert hello["type"] == "hello", hello


def _until_created(ws: ClientConnection, incident_id: int) -> list[dict[str, Any]]:
    """The kept events received up to and including the report of ``incident_id``."""
    got = []
    while True:
        event = json.loads(ws.recv(10))
        assert event["type"] != "resync", "the server no longer held what the client missed"
        if event["type"] in SNAPSHOTS:
            continue
        got.append(event)
        if event["type"] == "incident.reported" and event["incident_id"] == incident_id:
            return got


def test_a_dropped_socket_reconnecting_with_since_gets_exactly_what_it_missed(database_url, settings, tmp_path):
    port, log = free_port(), tmp_path / "server.log"
    server = serve(database_url, settings.demo_password, port, log)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            token = http.post("/api/auth/login", json={"username": "admin", "password": settings.demo_password}
                              ).json()["token"]
            admin = {"Authorization": f"Bearer {token}"}
            sites = list(http.get("/api/units", headers=admin, params={"limit": 6}).json()["items"])

            def report(i: int) -> int:
                r = http.post("/api/incidents", headers=admin,
                              json={"type": "dispute", "lon": sites[i]["lon"], "lat": sites[i]["lat"]})
                assert r.status_code == 201, r.text
                return int(r.json()["id"])

            with _open(port) as witness:  # stays connected: what the server sent, in order
                _auth(witness, token)
                with _open(port) as phone:
                    _auth(phone, token)
                    last = _until_created(phone, report(0))[-1]["seq"]
                    phone.socket.shutdown(socket.SHUT_RDWR)  # the network goes: no close frame
                missed = [report(i) for i in (1, 2, 3)]
                with _open(port) as phone:
                    _auth(phone, token, since=last)
                    after = report(4)  # live, while the replay may still be going out
                    again = _until_created(phone, after)
                truth = _until_created(witness, after)
    finally:
        server.kill()
        server.wait(10)
    seqs = [e["seq"] for e in again]
    assert seqs == sorted(set(seqs)) and seqs[0] > last  # in order, no duplicate, nothing seen before
    assert seqs == [e["seq"] for e in truth if e["seq"] > last]  # no gap: every kept event since
    reported = [e["incident_id"] for e in again if e["type"] == "incident.reported"]
    assert reported == [*missed, after]
