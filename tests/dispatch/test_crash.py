"""SIGKILL the server in the middle of a dispatch: after a restart the escalation goes on and
every acknowledgement is still there."""

from __future__ import annotations

import time

import httpx
from sqlalchemy import select

from jiefang.units.models import Unit

from ..serving import free_port, power_cut, quick_playbooks, serve  # type: ignore[import-not-found]
from .conftest import give_logins, put_crew_on_duty  # type: ignore[import-not-found]


def test_sigkill_mid_dispatch_loses_no_answer_and_the_timers_resume(database_url, sessions, settings, tmp_path):
    with sessions() as s:
        unit_id = s.scalars(select(Unit.id).where(Unit.leader_member_id.is_not(None)).order_by(Unit.id)).first()
    crew = put_crew_on_duty(sessions, unit_id)
    playbooks, port, log = quick_playbooks(tmp_path), free_port(), tmp_path / "server.log"
    base = f"http://127.0.0.1:{port}"
    server = serve(database_url, settings.demo_password, port, log, playbooks)
    try:
        with httpx.Client(base_url=base, timeout=10) as http:
            login = http.post("/api/auth/login", json={"username": "admin", "password": settings.demo_password})
            admin = {"Authorization": f"Bearer {login.json()['token']}"}
            give_logins(http, admin, crew, settings.demo_password)
            r = http.post("/api/incidents", headers=admin,
                          json={"type": "public_order", "lon": crew.lon, "lat": crew.lat})
            assert r.status_code == 201, r.text
            incident_id = r.json()["id"]
            alerts = {a["member_id"]: a for a in http.get(f"/api/incidents/{incident_id}", headers=admin)
                      .json()["assignments"]}
            accepted = [m for m in (crew.own[0], crew.others[0]) if m in alerts]
            for m in accepted:
                answer = http.post(f"/api/alerts/{alerts[m]['id']}/accept", headers=crew.headers[m])
                assert answer.status_code == 200
        power_cut(server)
        time.sleep(6)  # every unanswered alert is now past its 5 s deadline, with no server running
        server = serve(database_url, settings.demo_password, port, log, playbooks)
        with httpx.Client(base_url=base, timeout=10) as http:
            first_wave = {a["id"] for a in alerts.values()}
            deadline = time.monotonic() + 20
            while True:  # until the resumed sweep has dealt with every silent alert of the first wave
                detail = http.get(f"/api/incidents/{incident_id}", headers=admin).json()
                kinds = [e["kind"] for e in detail["timeline"]]
                waiting = [a for a in detail["assignments"] if a["id"] in first_wave and a["status"] == "alerted"]
                if not waiting or time.monotonic() > deadline:
                    break
                time.sleep(0.3)
    finally:
        server.kill()
        server.wait(10)
    by_member = {a["member_id"]: a for a in detail["assignments"]}
    # kept: accepted, or arrived where a position has since put the member on scene (the answer stays)
    assert accepted and all(by_member[m]["status"] in ("accepted", "arrived") and by_member[m]["answered_at"]
                            for m in accepted)
    silent = [a for a in detail["assignments"] if a["member_id"] not in accepted and a["id"] in
              {x["id"] for x in alerts.values()}]
    assert silent and all(a["status"] in ("timed_out", "arrived") for a in silent)
    assert "timed_out" in kinds and len(detail["assignments"]) > len(alerts)  # the next candidates were alerted
