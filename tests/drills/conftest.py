"""Two units of the demo leader's district with a rostered all-day shift and one member on duty each,
each member with a login, for drill scenarios."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, time, timedelta

import pytest
from sqlalchemy import select

from jiefang.db import utcnow
from jiefang.duty.models import DutySession, RosterAssignment, Shift
from jiefang.people.models import Member
from jiefang.tracking.service import sync_on_duty
from jiefang.units.models import Unit

AWAY_M = 300.0  # members on duty this far east of their site: outside the arrival radius of 100 m


@dataclass
class DrillUnit:
    unit_id: int
    member_id: int
    headers: dict[str, str]
    lon: float
    lat: float


def east(lon: float, lat: float, metres: float) -> tuple[float, float]:
    return lon + metres / (111_195.0 * math.cos(math.radians(lat))), lat


def roster_all_day(sessions, unit_id: int, member_id: int) -> None:  # type: ignore[no-untyped-def]
    """A shift of the unit from midnight to midnight every day, with the member on it."""
    with sessions() as s:
        shift = Shift(
            unit_id=unit_id, name="全天", start_time=time(0), end_time=time(0), weekdays=0b1111111, min_on_duty=1
        )
        s.add(shift)
        s.flush()
        s.add(RosterAssignment(shift_id=shift.id, member_id=member_id, valid_from=date(2020, 1, 1)))
        s.commit()


def on_duty(sessions, unit_id: int, member_id: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Open a duty session for the member AWAY_M east of the unit's site; return the site."""
    with sessions() as s:
        unit = s.get_one(Unit, unit_id)
        lon, lat = east(unit.lon, unit.lat, AWAY_M)
        now = utcnow()
        s.add(
            DutySession(
                member_id=member_id,
                unit_id=unit_id,
                checked_in_at=now,
                check_in_lon=lon,
                check_in_lat=lat,
                check_in_distance_m=5.0,
                auto_checkout_at=now + timedelta(hours=8),
            )
        )
        s.commit()
        return unit.lon, unit.lat


@pytest.fixture
def drill_units(client, admin, leader, member, sessions, settings) -> list[DrillUnit]:  # type: ignore[no-untyped-def]
    """[the demo unit with the demo member, another unit of its district with a new member login]."""
    me = client.get("/api/auth/me", headers=member).json()
    unit_a, member_a = me["unit_id"], me["member_id"]
    with sessions() as s:
        district = s.get_one(Unit, unit_a).district_id
        unit_b = s.scalars(
            select(Unit.id)
            .where(Unit.district_id == district, Unit.id != unit_a, Unit.status == "active")
            .order_by(Unit.id)
        ).first()
        member_b = s.scalars(
            select(Member.id).where(Member.unit_id == unit_b, Member.status == "active").order_by(Member.id)
        ).first()
    assert unit_b is not None and member_b is not None
    r = client.post(
        "/api/accounts",
        headers=admin,
        json={
            "username": f"drill-{member_b}",
            "password": settings.demo_password,
            "role": "member",
            "member_id": member_b,
        },
    )
    assert r.status_code == 201, r.text
    token = client.post("/api/auth/login", json={"username": f"drill-{member_b}", "password": settings.demo_password})
    out = []
    for unit_id, member_id, headers in (
        (unit_a, member_a, member),
        (unit_b, member_b, {"Authorization": f"Bearer {token.json()['token']}"}),
    ):
        roster_all_day(sessions, unit_id, member_id)
        lon, lat = on_duty(sessions, unit_id, member_id)
        out.append(DrillUnit(unit_id, member_id, headers, lon, lat))
    with sessions() as s:
        sync_on_duty(s, client.app.state.tracker)  # as the housekeeping loop would within 30 s
    return out
