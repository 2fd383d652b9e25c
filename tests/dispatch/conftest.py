"""A crew on duty around the demo unit's site, each with a login, for dispatch scenarios."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select

from jiefang.db import utcnow
from jiefang.duty.models import DutySession
from jiefang.people.models import Member, MemberSkill
from jiefang.tracking.service import sync_on_duty
from jiefang.units.models import Unit

# metres east of the site: the site unit's two members on duty (near enough to answer first, outside
# the 100 m arrival radius, so the background sweep does not mark them on scene on its own) ...
OWN_M = 150.0
# ... and the members of other units on duty
OTHERS_M = (200, 300, 400, 500, 600, 700, 900, 1100, 1400, 2000)
RANKED_SKILLS = ("ex_military", "mediation")  # the public-order playbook ranks these first: keep order plain


@dataclass
class Crew:
    unit_id: int
    lon: float
    lat: float
    own: list[int]  # member ids of the site's unit on duty
    others: list[int]  # member ids by OTHERS_M
    headers: dict[int, dict[str, str]]  # member id -> Authorization header

    def east(self, metres: float) -> tuple[float, float]:
        return self.lon + metres / (111_195.0 * math.cos(math.radians(self.lat))), self.lat


def put_crew_on_duty(sessions, unit_id: int) -> Crew:  # type: ignore[no-untyped-def]
    """Open duty sessions: two plain members of the unit near its site, others of other units east of it."""
    with sessions() as s:
        unit = s.get_one(Unit, unit_id)
        ranked = select(MemberSkill.member_id).where(MemberSkill.skill.in_(RANKED_SKILLS))
        plain = select(Member.id).where(Member.status == "active", Member.id.not_in(ranked)).order_by(Member.id)
        own = list(s.scalars(plain.where(Member.unit_id == unit_id).limit(2)))
        others = list(s.scalars(plain.where(Member.unit_id != unit_id).limit(len(OTHERS_M))))
        crew = Crew(unit_id, unit.lon, unit.lat, own, others, {})
        now = utcnow()
        for m, metres in [(m, OWN_M) for m in own] + list(zip(others, OTHERS_M, strict=True)):
            lon, lat = crew.east(metres)
            s.add(DutySession(member_id=m, unit_id=s.get_one(Member, m).unit_id, checked_in_at=now,
                              check_in_lon=lon, check_in_lat=lat, check_in_distance_m=5.0,
                              auto_checkout_at=now + timedelta(hours=8)))
        s.commit()
    return crew


def give_logins(http, admin: dict[str, str], crew: Crew, password: str) -> None:  # type: ignore[no-untyped-def]
    """Create a member account for each of the crew and log it in (``http``: a TestClient or httpx client)."""
    for m in crew.own + crew.others:
        username = f"crew-{m}"
        r = http.post("/api/accounts", headers=admin, json={
            "username": username, "password": password, "role": "member", "member_id": m})
        assert r.status_code == 201, r.text
        token = http.post("/api/auth/login", json={"username": username, "password": password})
        crew.headers[m] = {"Authorization": f"Bearer {token.json()['token']}"}


@pytest.fixture
def crew(client, admin, leader, sessions, settings) -> Crew:
    crew = put_crew_on_duty(sessions, client.get("/api/auth/me", headers=leader).json()["unit_id"])
    with sessions() as s:
        sync_on_duty(s, client.app.state.tracker)  # as the housekeeping loop would within 30 s
    give_logins(client, admin, crew, settings.demo_password)
    return crew
