"""1-3-5 dispatch through the API: waves by tier and ETA, answers, silence, escalation, arrival,
closure and compliance, on the shipped public-order playbook (2 / 4 / 4 responders within
250 / 800 / 1,300 m, widening to 400 / 1,500 / 2,500 m; answers due in 15 / 20 / 30 s)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from fastapi.testclient import TestClient

from jiefang.api.app import create_app
from jiefang.db import utcnow
from jiefang.dispatch.service import sweep


def _report(client, admin, crew, **extra):
    body = {"type": "public_order", "lon": crew.lon, "lat": crew.lat, "address": "正门", **extra}
    r = client.post("/api/incidents", headers=admin, json=body)
    assert r.status_code == 201, r.text
    return client.get(f"/api/incidents/{r.json()['id']}", headers=admin).json()


def _by_tier(incident):
    out: dict[str, list[int]] = {}
    for a in incident["assignments"]:
        out.setdefault(a["tier"], []).append(a["member_id"])
    return out


def _alert_of(incident, member_id):
    return next(a for a in incident["assignments"] if a["member_id"] == member_id)


def _sweep(client, seconds_later):
    with client.app.state.sessions() as session:
        return sweep(session, client.app.state.dispatcher, utcnow() + timedelta(seconds=seconds_later))


def test_report_alerts_each_tier_nearest_first(client, admin, crew):
    incident = _report(client, admin, crew)
    assert incident["status"] == "dispatching" and incident["unit_id"] == crew.unit_id
    tiers = _by_tier(incident)
    assert sorted(tiers["self_rescue"]) == sorted(crew.own)
    assert tiers["mutual_aid"] == crew.others[:4]  # 200–500 m
    assert tiers["reinforcement"] == crew.others[4:8]  # 600–1,100 m
    etas = [_alert_of(incident, m)["eta_s"] for m in crew.others[:8]]
    assert etas == sorted(etas)
    assert all(a["notified"] == "log:logged" for a in incident["assignments"])
    assert [t["status"] for t in incident["tiers"]] == ["staffed", "staffed", "staffed"]
    assert incident["police_handover"] is False  # severity 2: police only when the playbook's tier says and severe


def test_member_gets_the_alert_over_the_websocket_and_accepts(client, admin, crew):
    member = crew.others[0]
    token = crew.headers[member]["Authorization"].split()[1]
    with client.websocket_connect("/api/ws") as ws:
        ws.send_json({"type": "auth", "token": token})
        assert ws.receive_json()["type"] == "hello"
        incident = _report(client, admin, crew)
        alert = ws.receive_json()
        assert alert["type"] == "dispatch.alert" and alert["incident_id"] == incident["id"]
        assert alert["tier"] == "mutual_aid" and alert["member_id"] == member
    r = client.post(f"/api/alerts/{alert['assignment_id']}/accept", headers=crew.headers[member])
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    again = client.post(f"/api/alerts/{alert['assignment_id']}/accept", headers=crew.headers[member])
    assert again.status_code == 200  # answering twice changes nothing
    mine = client.get("/api/alerts/mine", headers=crew.headers[member]).json()
    assert [a["id"] for a in mine] == [alert["assignment_id"]]


def test_a_member_cannot_answer_someone_elses_alert(client, admin, crew):
    incident = _report(client, admin, crew)
    alert = _alert_of(incident, crew.others[0])
    r = client.post(f"/api/alerts/{alert['id']}/accept", headers=crew.headers[crew.others[1]])
    assert r.status_code == 403


def test_decline_alerts_the_next_best_widening_the_search(client, admin, crew):
    incident = _report(client, admin, crew)
    declined = _alert_of(incident, crew.others[0])
    r = client.post(f"/api/alerts/{declined['id']}/decline", headers=crew.headers[crew.others[0]])
    assert r.status_code == 200 and r.json()["status"] == "declined"
    after = client.get(f"/api/incidents/{incident['id']}", headers=admin).json()
    # nobody free within 800 m: the search widens to 1,500 m and finds the member 1,400 m away
    replacement = _alert_of(after, crew.others[8])
    assert replacement["tier"] == "mutual_aid" and replacement["status"] == "alerted"
    mutual = next(t for t in after["tiers"] if t["tier"] == "mutual_aid")
    assert mutual["escalations"] == 1 and mutual["radius_m"] == 1500 and mutual["status"] == "staffed"
    kinds = [e["kind"] for e in after["timeline"]]
    assert kinds.count("declined") == 1 and "escalated" in kinds


def test_silence_past_the_deadline_times_out_and_the_tier_goes_short(client, admin, crew):
    incident = _report(client, admin, crew)
    for m in crew.own + crew.others[:3]:
        client.post(f"/api/alerts/{_alert_of(incident, m)['id']}/accept", headers=crew.headers[m])
    counts = _sweep(client, 21)  # mutual-aid answers were due in 20 s; reinforcement's in 30 s
    assert counts["timed_out"] == 1
    after = client.get(f"/api/incidents/{incident['id']}", headers=admin).json()
    assert _alert_of(after, crew.others[3])["status"] == "timed_out"
    replacement = _alert_of(after, crew.others[8])  # 1,400 m: the only one left within 1,500 m
    assert replacement["tier"] == "mutual_aid"
    counts = _sweep(client, 31)
    assert counts["timed_out"] == 4  # the silent reinforcement wave; the replacement has till +41 s
    after = client.get(f"/api/incidents/{incident['id']}", headers=admin).json()
    reinforcement = next(t for t in after["tiers"] if t["tier"] == "reinforcement")
    assert reinforcement["status"] == "short"
    assert _alert_of(after, crew.others[9])["tier"] == "reinforcement"  # 2,000 m, after widening to 2,500 m


def test_arrival_from_position_and_1_3_5_compliance(client, admin, crew):
    incident = _report(client, admin, crew)
    a0 = _alert_of(incident, crew.own[0])
    client.post(f"/api/alerts/{a0['id']}/accept", headers=crew.headers[crew.own[0]])
    near_lon, near_lat = crew.east(40)  # inside the 100 m arrival radius
    for m in crew.others[:4]:
        client.post(f"/api/alerts/{_alert_of(incident, m)['id']}/accept", headers=crew.headers[m])
        fix = {"lon": near_lon, "lat": near_lat, "t": time.time(), "accuracy_m": 5}
        assert client.post("/api/positions", headers=crew.headers[m], json=fix).json()["status"] == ["accepted"]
    _sweep(client, 0)  # the background sweep may have got there first: either way they are on scene
    after = client.get(f"/api/incidents/{incident['id']}", headers=admin).json()
    assert all(_alert_of(after, m)["status"] == "arrived" for m in crew.others[:4])
    assert after["status"] == "on_scene" and after["on_scene_at"] is not None
    compliance = {c["tier"]: c for c in after["compliance"]}
    assert compliance["self_rescue"]["passed"] and compliance["self_rescue"]["first_action_s"] < 60
    assert compliance["mutual_aid"]["on_scene_in_time"] >= 4 and compliance["mutual_aid"]["passed"]
    assert not compliance["reinforcement"]["passed"]  # nobody of that wave on scene


def test_member_confirms_arrival(client, admin, crew):
    incident = _report(client, admin, crew)
    alert = _alert_of(incident, crew.others[5])
    r = client.post(f"/api/alerts/{alert['id']}/arrived", headers=crew.headers[crew.others[5]])
    assert r.status_code == 200 and r.json()["status"] == "arrived"


def test_closing_withdraws_unanswered_alerts(client, admin, crew):
    incident = _report(client, admin, crew)
    r = client.post(f"/api/incidents/{incident['id']}/close", headers=admin,
                    json={"outcome": "false_alarm", "notes": "误报"})
    assert r.status_code == 200 and r.json()["status"] == "false_alarm"
    after = client.get(f"/api/incidents/{incident['id']}", headers=admin).json()
    assert {a["status"] for a in after["assignments"]} == {"cancelled"}
    late = client.post(f"/api/alerts/{after['assignments'][0]['id']}/accept",
                       headers=crew.headers[after["assignments"][0]["member_id"]])
    assert late.status_code == 409


def test_sos_from_a_member_creates_and_dispatches_an_incident(client, member, crew):
    r = client.post("/api/incidents/sos", headers=member, json={"lon": crew.lon, "lat": crew.lat})
    assert r.status_code == 201, r.text
    assert r.json()["source"] == "sos" and r.json()["unit_id"] == crew.unit_id
    mine = client.get(f"/api/incidents/{r.json()['id']}", headers=member).json()
    assert mine["assignments"] == [] and mine["compliance"] == []  # the reporter sees no one else's alerts


def test_same_idempotency_key_never_makes_two_incidents(client, admin, crew):
    body = {"type": "fire", "lon": crew.lon, "lat": crew.lat}
    first = client.post("/api/incidents/external", headers={**admin, "Idempotency-Key": "110-20261124-0001"},
                        json=body)
    again = client.post("/api/incidents/external", headers={**admin, "Idempotency-Key": "110-20261124-0001"},
                        json=body)
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"] and again.json()["created"] is False


def test_same_idempotency_key_under_concurrent_requests(client, admin, crew):
    body = {"type": "medical", "lon": crew.lon, "lat": crew.lat}
    headers = {**admin, "Idempotency-Key": "city-platform-42"}
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: client.post("/api/incidents/external", headers=headers, json=body),
                                range(6)))
    assert all(r.status_code in (200, 201) for r in answers), [r.text for r in answers]
    assert len({r.json()["id"] for r in answers}) == 1
    assert sum(r.json()["created"] for r in answers) == 1


def test_bad_incident_input_gets_a_clear_422(client, admin, crew):
    r = client.post("/api/incidents", headers=admin, json={"type": "alien_invasion", "lon": crew.lon, "lat": crew.lat})
    assert r.status_code == 422 and "alien_invasion" in r.json()["message"]
    r = client.post("/api/incidents", headers=admin, json={"type": "fire", "lon": 200, "lat": crew.lat})
    assert r.status_code == 422


def test_members_and_other_districts_cannot_report_at_the_console(client, member, login, crew):
    body = {"type": "fire", "lon": crew.lon, "lat": crew.lat}
    assert client.post("/api/incidents", headers=member, json=body).status_code == 403
    assert client.post("/api/incidents", headers=login("op-440111"), json=body).status_code == 403


def test_restart_resumes_the_deadlines_and_keeps_the_answers(client, settings, admin, crew):
    incident = _report(client, admin, crew)
    accepted = _alert_of(incident, crew.others[0])
    client.post(f"/api/alerts/{accepted['id']}/accept", headers=crew.headers[crew.others[0]])
    with TestClient(create_app(settings)) as again:  # a new server process on the same database
        counts = _sweep(again, 21)
        assert counts["timed_out"] >= 3  # the rest of the mutual-aid wave stayed silent
        token = again.post("/api/auth/login", json={"username": "admin", "password": settings.demo_password})
        after = again.get(f"/api/incidents/{incident['id']}",
                          headers={"Authorization": f"Bearer {token.json()['token']}"}).json()
    assert _alert_of(after, crew.others[0])["status"] == "accepted"
