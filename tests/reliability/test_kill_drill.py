"""SIGKILL the server while a drill is running, fired by the background loop: after a restart the
drill is scored exactly once, and not lost."""

from __future__ import annotations

import time
from datetime import timedelta

import httpx
from sqlalchemy import func, select

from jiefang.db import utcnow
from jiefang.drills.models import Drill
from jiefang.incidents.models import Incident, IncidentEvent
from jiefang.people.accounts import ensure_account
from jiefang.people.models import Member
from jiefang.units.models import Unit

from ..drills.conftest import on_duty  # type: ignore[import-not-found]
from ..serving import free_port, power_cut, serve  # type: ignore[import-not-found]
from .conftest import log_in  # type: ignore[import-not-found]

WAIT_S = 30.0


def _until(what: str, probe, timeout_s: float = WAIT_S):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"no {what} within {timeout_s:.0f} s")


def test_sigkill_during_a_running_drill_scores_it_exactly_once(database_url, sessions, settings, tmp_path):
    with sessions() as s:
        unit = s.scalars(select(Unit).where(Unit.status == "active").order_by(Unit.id)).first()
        member_id = s.scalars(select(Member.id).where(Member.unit_id == unit.id, Member.status == "active")
                              .order_by(Member.id)).first()
        ensure_account(s, "drilled", settings.demo_password, "member", member_id=member_id)
        drill = Drill(unit_id=unit.id, district_id=unit.district_id, kind="scheduled", plan_date=utcnow().date(),
                      planned_at=utcnow() + timedelta(seconds=2), status="planned", scenario="public_order")
        s.add(drill)
        s.commit()
        drill_id, post = drill.id, (unit.lon, unit.lat)
    on_duty(sessions, unit.id, member_id)  # 300 m from the post: not mustered until they walk there
    password, port, log = settings.demo_password, free_port(), tmp_path / "server.log"
    env = {"JIEFANG_DRILLS_MUSTER_MIN": "1"}
    server = serve(database_url, password, port, log, **env)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            phone = log_in(http, "drilled", password)
            alert = _until("drill alert", lambda: http.get("/api/alerts/mine", headers=phone).json())[0]
            assert alert["drill"] is True
            assert http.post(f"/api/alerts/{alert['id']}/accept", headers=phone).status_code == 200
            r = http.post("/api/positions", headers=phone,
                          json={"lon": post[0], "lat": post[1], "t": time.time(), "accuracy_m": 5})
            assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
        power_cut(server)  # at the post and answered, before or while the loop scores it
        server = serve(database_url, password, port, log, **env)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            admin = log_in(http, "admin", password)
            done = _until("score", lambda: (d := http.get(f"/api/drills/{drill_id}", headers=admin).json())
                          ["status"] in ("passed", "failed") and d)
            time.sleep(3)  # a second scoring would come with the next rounds of the loop
    finally:
        server.kill()
        server.wait(10)
    assert done["status"] == "passed" and done["mustered"] == 1 and done["first_ack_s"] is not None
    with sessions() as s:
        fired = s.scalars(select(Incident.id).where(Incident.source == "drill")).all()
        closed = s.scalar(select(func.count()).select_from(IncidentEvent)
                          .where(IncidentEvent.incident_id == done["incident_id"], IncidentEvent.kind == "closed"))
        assert s.get_one(Drill, drill_id).ended_at is not None
    assert fired == [done["incident_id"]] and closed == 1  # fired once, closed once
