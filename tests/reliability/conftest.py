"""Helpers of the fault tests: members with logins on a running server, and a client that sends a
write the way the member app does (one Idempotency-Key per action, repeated until answered)."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import func, select

from jiefang.people.accounts import ensure_account
from jiefang.people.models import Member
from jiefang.units.models import Unit

RETRY_S = 0.2
GIVE_UP_S = 60.0


@dataclass
class Phone:
    member_id: int
    unit_id: int
    headers: dict[str, str]


def member_accounts(sessions, units: int, per_unit: int, password: str) -> list[tuple[int, int, str]]:  # type: ignore[no-untyped-def]
    """Member accounts for ``per_unit`` active members of each of ``units`` units with that many;
    return (member id, unit id, username) of each."""
    with sessions() as s:
        big = (select(Member.unit_id).where(Member.status == "active").group_by(Member.unit_id)
               .having(func.count() >= per_unit).order_by(Member.unit_id).limit(units))
        made = []
        for unit_id in s.scalars(big).all():
            members = s.scalars(select(Member.id).where(Member.unit_id == unit_id, Member.status == "active")
                                .order_by(Member.id).limit(per_unit)).all()
            for m in members:
                ensure_account(s, f"phone-{m}", password, "member", member_id=m)
                made.append((m, unit_id, f"phone-{m}"))
    assert len(made) == units * per_unit, "the small city has too few units that big"
    return made


def log_in(http: httpx.Client, username: str, password: str) -> dict[str, str]:
    r = http.post("/api/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def site_of(sessions, unit_id: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    with sessions() as s:
        unit = s.get_one(Unit, unit_id)
        return unit.lon, unit.lat


@dataclass
class Answer:
    status: int
    body: Any
    tries: int
    errors: list[str]  # what the tries before the answer met: connection errors, 5xx (status + body)


async def send_until_answered(http: httpx.AsyncClient, path: str, headers: dict[str, str], body: Any) -> Answer:
    """POST ``body`` with one Idempotency-Key until the server answers it (anything but a
    connection error, a 5xx or 409 ``idempotency_in_flight``), as the member app's queue does."""
    key, errors, tries = str(uuid.uuid4()), [], 0
    deadline = time.monotonic() + GIVE_UP_S
    while time.monotonic() < deadline:
        tries += 1
        try:
            r = await http.post(path, headers={**headers, "Idempotency-Key": key}, json=body)
        except httpx.TransportError as exc:
            errors.append(type(exc).__name__)
        else:
            in_flight = r.status_code == 409 and r.json().get("error") == "idempotency_in_flight"
            if r.status_code < 500 and not in_flight:
                return Answer(r.status_code, r.json(), tries, errors)
            errors.append(f"{r.status_code} {r.text[:200]}")
        await asyncio.sleep(RETRY_S)
    raise AssertionError(f"{path} never answered in {GIVE_UP_S:.0f} s: {errors[-5:]}")
