"""Readiness drills end to end through the API and a member's WebSocket: a planned day fires, one
unit answers and passes, the other stays silent and fails, results and rankings follow. Drills
never appear among incidents or in 1-3-5 compliance."""

from __future__ import annotations

import time
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from jiefang.db import utcnow
from jiefang.dispatch.service import sweep
from jiefang.drills.execution import advance
from jiefang.drills.models import Drill


def _around(lon: float, lat: float, radius_m: float) -> dict:
    """An ad-hoc drill's body: the units within radius_m of a point."""
    return {"selection": {"kind": "circle", "center_lon": lon, "center_lat": lat, "radius_m": radius_m}}


def _advance(client, seconds_later: float = 0.0):  # type: ignore[no-untyped-def]
    """Run the drills loop now, or as it would run ``seconds_later`` (the background runs it every 2 s)."""
    with client.app.state.sessions() as session:
        return advance(session, client.app.state.dispatcher, 2, utcnow() + timedelta(seconds=seconds_later))


def _sweep(client):  # type: ignore[no-untyped-def]
    """Run the dispatch sweep now (timeouts, arrivals seen by position), as the background does every second."""
    with client.app.state.sessions() as session:
        return sweep(session, client.app.state.dispatcher, utcnow())


def _tomorrow(settings) -> str:  # type: ignore[no-untyped-def]
    return (utcnow().astimezone(ZoneInfo(settings.timezone)).date() + timedelta(days=1)).isoformat()


def _plan(client, admin, settings, **extra):  # type: ignore[no-untyped-def]
    r = client.post("/api/drills/plan", headers=admin, json={"date": _tomorrow(settings), "seed": 7, **extra})
    assert r.status_code == 201, r.text
    return r.json()


def _make_due(sessions, drill_ids: list[int]) -> None:  # type: ignore[no-untyped-def]
    """The clock reaches the planned time: move the drills to a second ago."""
    with sessions() as s:
        s.execute(update(Drill).where(Drill.id.in_(drill_ids)).values(planned_at=utcnow() - timedelta(seconds=1)))
        s.commit()


def _next_of(ws, kind: str):  # type: ignore[no-untyped-def]
    while True:
        event = ws.receive_json()
        if event["type"] == kind:
            return event


def test_a_planned_drill_fires_one_unit_passes_the_silent_one_fails(
    client, admin, tianhe_operator, leader, drill_units, sessions, settings
):
    answering, silent = drill_units
    plan = _plan(client, admin, settings, count=2)
    assert plan["planned"] == 2 and plan["seed"] == 7
    by_unit = {d["unit_id"]: d for d in plan["drills"]}
    assert set(by_unit) == {answering.unit_id, silent.unit_id}  # the only units with a rostered shift
    assert all(d["status"] == "planned" and d["drill"] for d in plan["drills"])

    token = answering.headers["Authorization"].split()[1]
    with client.websocket_connect("/api/ws") as ws:
        ws.send_json({"type": "auth", "token": token})
        assert ws.receive_json()["type"] == "hello"
        _make_due(sessions, [d["id"] for d in plan["drills"]])
        _advance(client)  # the background loop may fire them first: either way they fire once
        alert = _next_of(ws, "dispatch.alert")
        assert alert["drill"] is True and alert["member_id"] == answering.member_id
        assert client.post(f"/api/alerts/{alert['assignment_id']}/accept", headers=answering.headers).status_code == 200
        r = client.post(f"/api/alerts/{alert['assignment_id']}/arrived", headers=answering.headers)
        assert r.status_code == 200 and r.json()["drill"] is True
        _advance(client)
        closed = _next_of(ws, "incident.closed")
        assert closed["drill"] is True and closed["outcome"] == "drill_passed"

    passed = client.get(f"/api/drills/{by_unit[answering.unit_id]['id']}", headers=tianhe_operator).json()
    assert passed["status"] == "passed" and passed["passed"] is True
    assert passed["self_rescue_passed"] and passed["mutual_aid_passed"] and passed["reinforcement_passed"] is None
    assert 0 <= passed["first_ack_s"] < 60 and passed["mustered"] == 1 and passed["alerted"] == 1

    assert client.get(f"/api/drills/{by_unit[silent.unit_id]['id']}", headers=admin).json()["status"] == "running"
    _advance(client, 181)  # past the 3-minute muster: the silent unit has failed both tiers
    failed = client.get(f"/api/drills/{by_unit[silent.unit_id]['id']}", headers=admin).json()
    assert failed["status"] == "failed" and failed["first_ack_s"] is None and failed["mustered"] == 0
    assert failed["self_rescue_passed"] is False and failed["mutual_aid_passed"] is False
    mine = client.get("/api/alerts/mine?open_only=false", headers=silent.headers).json()
    assert [(a["drill"], a["status"]) for a in mine] == [(True, "cancelled")]

    ranking = client.get("/api/drills/summary?group_by=unit", headers=tianhe_operator).json()
    ranks = {g["id"]: (g["rank"], g["pass_rate"]) for g in ranking["groups"]}
    assert ranks == {answering.unit_id: (1, 1.0), silent.unit_id: (2, 0.0)}
    assert ranking["total"]["drills"] == 2 and sum(b["count"] for b in ranking["ack_histogram"]) == 1
    weak = client.get("/api/drills/weak-units", headers=tianhe_operator).json()
    assert [(w["unit_id"], w["flagged"]) for w in weak] == [(silent.unit_id, False)]
    history = client.get(f"/api/drills/units/{answering.unit_id}", headers=leader).json()
    assert [h["status"] for h in history] == ["passed"]
    csv = client.get("/api/drills/summary.csv?group_by=unit", headers=tianhe_operator)
    assert csv.status_code == 200 and csv.text.startswith("\ufeffrank,") and len(csv.text.splitlines()) == 4

    # never counted as incidents, never in 1-3-5 compliance
    assert not [
        i
        for i in client.get("/api/incidents", headers=admin).json()
        if i["id"] in (passed["incident_id"], failed["incident_id"])
    ]
    assert client.get("/api/compliance?group_by=city", headers=admin).json()["total"]["incidents"] == 0
    incident = client.get(f"/api/incidents/{passed['incident_id']}", headers=admin).json()
    assert incident["drill"] is True and incident["source"] == "drill"
    cap = client.get(f"/api/incidents/{passed['incident_id']}/cap.xml", headers=admin).text
    assert "<status>Exercise</status>" in cap
    feature = client.get(f"/api/incidents/{passed['incident_id']}/geojson", headers=admin).json()
    assert feature["properties"]["drill"] is True


def test_a_unit_failing_twice_in_a_row_is_flagged(client, admin, tianhe_operator, drill_units, sessions, settings):
    silent = drill_units[1]
    for seconds in (0, 400):
        r = client.post(
            "/api/drills/adhoc",
            headers=tianhe_operator,
            json=_around(silent.lon, silent.lat, 5),
        )
        assert r.status_code == 201, r.text
        assert [d["unit_id"] for d in r.json()] == [silent.unit_id] and r.json()[0]["status"] == "running"
        _advance(client, seconds + 181)
    weak = client.get("/api/drills/weak-units", headers=tianhe_operator).json()
    assert [(w["unit_id"], w["failed"], w["flagged"]) for w in weak] == [(silent.unit_id, 2, True)]
    summary = client.get("/api/drills/summary", headers=tianhe_operator).json()
    assert summary["total"]["flagged_units"] == 1 and summary["groups"][0]["pass_rate"] == 0.0


def test_video_check_in_confirmed_by_the_operator_decides_the_5_minute_tier(client, tianhe_operator, drill_units):
    unit = drill_units[0]
    r = client.post(
        "/api/drills/adhoc",
        headers=tianhe_operator,
        json={**_around(unit.lon, unit.lat, 5), "video": True},
    )
    drill = r.json()[0]
    alert = client.get("/api/alerts/mine", headers=unit.headers).json()[0]
    assert alert["drill"] is True
    client.post(f"/api/alerts/{alert['id']}/arrived", headers=unit.headers)
    _advance(client)
    assert client.get(f"/api/drills/{drill['id']}", headers=tianhe_operator).json()["status"] == "running"
    r = client.post(f"/api/drills/{drill['id']}/video", headers=tianhe_operator, json={"confirmed": True})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "passed" and r.json()["reinforcement_passed"] is True
    again = client.post(f"/api/drills/{drill['id']}/video", headers=tianhe_operator, json={})
    assert again.status_code == 409 and again.json()["error"] == "conflict"


def test_a_unit_with_nobody_on_duty_fails_its_drill(client, admin, sessions):
    with sessions() as s:
        unit = s.scalars(select(Drill.unit_id)).first()  # none yet
        assert unit is None
    r = client.get("/api/units?page_size=1", headers=admin).json()
    site = r["items"][0]
    r = client.post("/api/drills/adhoc", headers=admin, json=_around(site["lon"], site["lat"], 1))
    assert r.status_code == 201, r.text
    _advance(client)
    drill = client.get(f"/api/drills/{r.json()[0]['id']}", headers=admin).json()
    assert drill["status"] == "failed" and drill["alerted"] == 0 and "nobody" in drill["note"]


def test_roles_scopes_and_input_errors(client, admin, tianhe_operator, leader, member, login, drill_units, settings):
    assert client.get("/api/drills", headers=member).status_code == 403
    assert (
        client.post("/api/drills/plan", headers=tianhe_operator, json={"date": _tomorrow(settings)}).status_code == 403
    )
    assert client.post("/api/drills/adhoc", headers=leader, json=_around(113.3, 23.1, 100)).status_code == 403
    bad = client.post(
        "/api/drills/adhoc",
        headers=tianhe_operator,
        json={"selection": {"kind": "circle", "center_lon": 113.3, "center_lat": 23.1}},
    )
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_input"
    far = client.post(
        "/api/drills/adhoc",
        headers=tianhe_operator,
        json={
            "selection": {
                "kind": "polygon",
                "polygon": {"type": "Polygon", "coordinates": [[[0, 0], [0.001, 0], [0.001, 0.001], [0, 0]]]},
            }
        },
    )
    assert far.status_code == 422 and "no active unit" in far.json()["message"]
    past = client.post("/api/drills/plan", headers=admin, json={"date": "2020-01-01"})
    assert past.status_code == 422
    _plan(client, admin, settings)
    again = client.post("/api/drills/plan", headers=admin, json={"date": _tomorrow(settings)})
    assert again.status_code == 409
    assert client.get(f"/api/drills?date={_tomorrow(settings)}", headers=leader).json() == []  # no warning
    drills = client.get(f"/api/drills?date={_tomorrow(settings)}", headers=tianhe_operator).json()
    assert drills and {d["district_id"] for d in drills} == {drills[0]["district_id"]}  # their district's only
    other = login("op-440103")
    assert client.get(f"/api/drills/{drills[0]['id']}", headers=other).status_code == 404
    assert client.post(f"/api/drills/{drills[0]['id']}/cancel", headers=other).status_code == 404
    cancelled = client.post(f"/api/drills/{drills[0]['id']}/cancel", headers=tianhe_operator)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"


def test_a_member_at_the_post_musters_only_once_they_answered(client, tianhe_operator, drill_units):
    unit = drill_units[0]
    fix = {"lon": unit.lon, "lat": unit.lat, "t": time.time(), "accuracy_m": 5}
    assert client.post("/api/positions", headers=unit.headers, json=fix).json()["status"] == ["accepted"]
    r = client.post("/api/drills/adhoc", headers=tianhe_operator, json=_around(unit.lon, unit.lat, 5))
    drill = r.json()[0]
    _sweep(client)
    [alert] = client.get("/api/alerts/mine", headers=unit.headers).json()
    assert alert["status"] == "alerted"  # standing there is not an answer
    client.post(f"/api/alerts/{alert['id']}/accept", headers=unit.headers)
    _sweep(client)  # now seen at the post by position (or already by the background sweep)
    _advance(client)
    after = client.get(f"/api/drills/{drill['id']}", headers=tianhe_operator).json()
    assert after["status"] == "passed" and after["mustered"] == 1 and after["first_ack_s"] < 60


def test_a_drill_not_fired_within_15_minutes_of_its_time_is_cancelled_not_fired_late(
    client, admin, drill_units, sessions, settings
):
    plan = _plan(client, admin, settings, count=2)
    ids = [d["id"] for d in plan["drills"]]
    with sessions() as s:  # the server was down when they were due
        s.execute(update(Drill).where(Drill.id.in_(ids)).values(planned_at=utcnow() - timedelta(minutes=20)))
        s.commit()
    assert _advance(client)["fired"] == 0
    for drill_id in ids:
        drill = client.get(f"/api/drills/{drill_id}", headers=admin).json()
        assert drill["status"] == "cancelled" and drill["incident_id"] is None and "not fired in time" in drill["note"]
