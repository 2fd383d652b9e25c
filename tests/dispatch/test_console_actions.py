"""What the operator does by hand in the incident console: add a responder, stand one down
(改派), and the incident's notes (现场沟通) shared by responders and operators."""

from __future__ import annotations


def _report(client, admin, crew):  # type: ignore[no-untyped-def]
    body = {"type": "public_order", "lon": crew.lon, "lat": crew.lat, "address": "正门"}
    r = client.post("/api/incidents", headers=admin, json=body)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _assignment(client, admin, incident_id, member_id):  # type: ignore[no-untyped-def]
    detail = client.get(f"/api/incidents/{incident_id}", headers=admin).json()
    return next((a for a in detail["assignments"] if a["member_id"] == member_id), None)


def test_operator_adds_a_member_the_waves_did_not_pick(client, admin, crew):
    incident_id = _report(client, admin, crew)
    extra = crew.others[8]  # 1,400 m east: beyond every first wave
    assert _assignment(client, admin, incident_id, extra) is None
    r = client.post(f"/api/incidents/{incident_id}/responders", headers=admin,
                    json={"member_id": extra, "tier": "reinforcement"})
    assert r.status_code == 201, r.text
    added = r.json()
    assert (added["status"], added["tier"], added["member_id"]) == ("alerted", "reinforcement", extra)
    assert 1300 < added["distance_m"] < 1500 and added["eta_s"] > 0
    inbox = client.get("/api/alerts/mine", headers=crew.headers[extra]).json()
    assert [a["id"] for a in inbox] == [added["id"]]
    timeline = client.get(f"/api/incidents/{incident_id}", headers=admin).json()["timeline"]
    assert any(e["kind"] == "added" and e["member_id"] == extra for e in timeline)

    again = client.post(f"/api/incidents/{incident_id}/responders", headers=admin, json={"member_id": extra})
    assert again.status_code == 409 and "already responding" in again.json()["message"]


def test_adding_someone_off_duty_or_to_an_unknown_tier_is_refused(client, admin, crew, sessions):
    incident_id = _report(client, admin, crew)
    off_duty = max(crew.own + crew.others) + 1
    r = client.post(f"/api/incidents/{incident_id}/responders", headers=admin, json={"member_id": off_duty})
    assert r.status_code == 409 and "not on duty" in r.json()["message"]
    r = client.post(f"/api/incidents/{incident_id}/responders", headers=admin,
                    json={"member_id": crew.others[9], "tier": "heroics"})
    assert r.status_code == 422
    member = crew.headers[crew.others[0]]
    r = client.post(f"/api/incidents/{incident_id}/responders", headers=member, json={"member_id": crew.others[9]})
    assert r.status_code == 403


def test_standing_a_responder_down_alerts_the_next_best_for_the_tier(client, admin, crew):
    incident_id = _report(client, admin, crew)
    first = _assignment(client, admin, incident_id, crew.others[0])
    assert first["tier"] == "mutual_aid" and first["status"] == "alerted"
    r = client.post(f"/api/incidents/{incident_id}/responders/{first['id']}/stand-down", headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled"
    refill = _assignment(client, admin, incident_id, crew.others[8])  # the nearest member not yet called
    assert refill is not None and (refill["tier"], refill["status"]) == ("mutual_aid", "alerted")
    r = client.post(f"/api/incidents/{incident_id}/responders/{first['id']}/stand-down", headers=admin)
    assert r.status_code == 409


def test_notes_reach_the_responders_and_stay_on_the_incident(client, admin, crew):
    incident_id = _report(client, admin, crew)
    responder, outsider = crew.others[1], crew.others[9]
    token = crew.headers[responder]["Authorization"].split()[1]
    with client.websocket_connect("/api/ws") as ws:
        ws.send_json({"type": "auth", "token": token})
        assert ws.receive_json()["type"] == "hello"
        r = client.post(f"/api/incidents/{incident_id}/notes", headers=admin, json={"text": "嫌疑人往北门方向跑了"})
        assert r.status_code == 201, r.text
        while (event := ws.receive_json())["type"] != "incident.note":
            pass
        assert (event["incident_id"], event["text"], event["author"]) == (incident_id, "嫌疑人往北门方向跑了", "admin")
    note = {"text": "收到，已到北门"}
    r = client.post(f"/api/incidents/{incident_id}/notes", headers=crew.headers[responder], json=note)
    assert r.status_code == 201
    notes = client.get(f"/api/incidents/{incident_id}/notes", headers=admin).json()
    assert [n["text"] for n in notes] == ["嫌疑人往北门方向跑了", "收到，已到北门"]
    assert notes[1]["author"] not in ("", "admin")  # the member's name

    assert client.get(f"/api/incidents/{incident_id}/notes", headers=crew.headers[outsider]).status_code == 404
    r = client.post(f"/api/incidents/{incident_id}/notes", headers=crew.headers[outsider], json={"text": "x"})
    assert r.status_code == 404
    r = client.post(f"/api/incidents/{incident_id}/notes", headers=admin, json={"text": "   "})
    assert r.status_code == 422
