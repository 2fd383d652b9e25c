"""Members with logins in two units, for push-to-talk over the voice socket."""

from __future__ import annotations

import struct
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from jiefang.people.models import Member

FRAME = struct.Struct(">I")


@dataclass
class Talkers:
    unit_id: int  # a, b and the demo leader are in this unit
    other_unit_id: int  # c is in this one
    a: str
    b: str
    c: str
    ids: dict[str, int]


@pytest.fixture
def talkers(client, admin, leader, sessions, settings) -> Talkers:  # type: ignore[no-untyped-def]
    unit_id = client.get("/api/auth/me", headers=leader).json()["unit_id"]
    with sessions() as s:
        same = list(s.scalars(select(Member.id).where(Member.unit_id == unit_id).order_by(Member.id).limit(2)))
        other = s.scalar(select(Member).where(Member.unit_id != unit_id).order_by(Member.id))
        assert other is not None
        other_unit = other.unit_id
        ids = {"a": same[0], "b": same[1], "c": other.id}
    tokens = {}
    for name, member_id in ids.items():
        username = f"talker-{member_id}"
        r = client.post("/api/accounts", headers=admin, json={
            "username": username, "password": settings.demo_password, "role": "member", "member_id": member_id})
        assert r.status_code == 201, r.text
        tokens[name] = client.post("/api/auth/login", json={
            "username": username, "password": settings.demo_password}).json()["token"]
    return Talkers(unit_id, other_unit, tokens["a"], tokens["b"], tokens["c"], ids)


def connect(client, token):  # type: ignore[no-untyped-def]
    """Open the voice socket and authenticate; return it (a context manager)."""
    ws = client.websocket_connect("/api/voice/ws")
    socket = ws.__enter__()
    socket.send_json({"type": "auth", "token": token})
    assert socket.receive_json()["type"] == "hello"
    socket._exit = ws.__exit__  # type: ignore[attr-defined]
    return socket


def close(socket) -> None:  # type: ignore[no-untyped-def]
    socket._exit(None, None, None)


def group_of(client, token, kind, ref_id) -> int:  # type: ignore[no-untyped-def]
    r = client.post("/api/voice/groups/open", headers={"Authorization": f"Bearer {token}"},
                    json={"kind": kind, "ref_id": ref_id})
    assert r.status_code == 200, r.text
    return r.json()["id"]


def join(socket, group_id: int) -> dict:  # type: ignore[no-untyped-def]
    socket.send_json({"type": "join", "group_id": group_id})
    answer = socket.receive_json()
    assert answer["type"] == "joined", answer
    return answer


def next_json(socket, kind: str) -> dict:  # type: ignore[no-untyped-def]
    """The next JSON frame of a type, skipping others (text frames only)."""
    while True:
        message = socket.receive_json()
        if message["type"] == kind:
            return message
