"""Members of 天河 on duty at chosen points, each with a login, for selection and command tests."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import select

from jiefang.areas.models import Area
from jiefang.db import utcnow
from jiefang.duty.models import DutySession
from jiefang.people.models import Member
from jiefang.tracking.service import sync_on_duty
from jiefang.units.models import Unit

INSIDE_M = (0.0, 120.0, 240.0)  # metres east of the centre: inside a 300 m half-width square
OUTSIDE_M = (900.0, 1500.0)


@dataclass
class Placed:
    lon: float
    lat: float
    district_id: int
    inside: list[int] = field(default_factory=list)
    outside: list[int] = field(default_factory=list)
    headers: dict[int, dict[str, str]] = field(default_factory=dict)

    def east(self, metres: float, north: float = 0.0) -> tuple[float, float]:
        return (self.lon + metres / (111_195.0 * math.cos(math.radians(self.lat))),
                self.lat + north / 111_195.0)

    def square(self, half_m: float = 300.0) -> dict:
        (w, s), (e, n) = self.east(-half_m, -half_m), self.east(half_m, half_m)
        return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


@pytest.fixture
def placed(client, admin, sessions, settings) -> Placed:
    """Five members of 天河 units on duty east of a 天河 unit's site: three inside a square, two outside."""
    with sessions() as s:
        tianhe = s.scalar(select(Area).where(Area.code == "440106"))
        assert tianhe is not None
        unit = s.scalars(select(Unit).where(Unit.district_id == tianhe.id).order_by(Unit.id)).first()
        assert unit is not None
        members = list(s.scalars(select(Member).join(Unit, Unit.id == Member.unit_id)
                                 .where(Unit.district_id == tianhe.id, Member.status == "active")
                                 .order_by(Member.id).limit(len(INSIDE_M) + len(OUTSIDE_M))))
        where = Placed(unit.lon, unit.lat, tianhe.id)
        now = utcnow()
        for m, metres in zip(members, INSIDE_M + OUTSIDE_M, strict=True):
            lon, lat = where.east(metres)
            s.add(DutySession(member_id=m.id, unit_id=m.unit_id, checked_in_at=now, check_in_lon=lon,
                              check_in_lat=lat, check_in_distance_m=5.0, auto_checkout_at=now + timedelta(hours=8)))
            (where.inside if metres in INSIDE_M else where.outside).append(m.id)
        s.commit()
        sync_on_duty(s, client.app.state.tracker)
    for m in where.inside + where.outside:
        r = client.post("/api/accounts", headers=admin, json={
            "username": f"m-{m}", "password": settings.demo_password, "role": "member", "member_id": m})
        assert r.status_code == 201, r.text
        token = client.post("/api/auth/login", json={"username": f"m-{m}", "password": settings.demo_password})
        where.headers[m] = {"Authorization": f"Bearer {token.json()['token']}"}
    return where
