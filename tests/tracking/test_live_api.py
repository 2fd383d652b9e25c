"""Live positions through the API: ingest, rejection of absurd fixes, nearby queries, the kept
track, fences and their events, and a restart that rebuilds the live picture from the database."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from jiefang.api.app import create_app
from jiefang.errors import Forbidden, InvalidInput
from jiefang.people.accounts import authenticate
from jiefang.tracking.models import FenceEvent, TrackPoint
from jiefang.tracking.schemas import FixIn, IngestOut
from jiefang.tracking.service import ingest_rounds


@pytest.fixture
def on_duty(client, member, post):
    """The demo member checked in at the post; returns (member_id, post)."""
    r = client.post("/api/duty/check-in", headers=member, json={"token": post.token, "lon": post.lon, "lat": post.lat})
    assert r.status_code == 200, r.text
    return r.json()["member_id"], post


def _receive(ws):
    """The next event that is not the periodic positions feed."""
    while True:
        event = ws.receive_json()
        if event["type"] != "positions":
            return event


def _fix(lon, lat, t=None, **extra):
    return {"lon": lon, "lat": lat, "t": time.time() if t is None else t, "accuracy_m": 10, **extra}


def test_member_on_duty_is_found_nearby_with_an_eta(client, admin, member, on_duty):
    member_id, post = on_duty
    r = client.post("/api/positions", headers=member, json=_fix(post.lon + 0.001, post.lat))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == ["accepted"]
    hits = client.get("/api/positions/nearby", headers=admin, params={"lon": post.lon, "lat": post.lat, "k": 5}).json()
    me = next(h for h in hits if h["member_id"] == member_id)
    assert 90 < me["distance_m"] < 115 and me["eta_s"] > me["distance_m"] / 2
    assert "phone" not in me and "id_number" not in me
    live = client.get("/api/positions/live", headers=admin).json()
    assert member_id in live["member_ids"]


def test_fixes_of_a_member_off_duty_are_not_applied(client, member, post):
    r = client.post("/api/positions", headers=member, json=_fix(post.lon, post.lat))
    assert r.status_code == 200 and r.json()["status"] == ["not_on_duty"] and r.json()["accepted"] == 0


def test_absurd_fixes_are_flagged_not_applied(client, admin, member, on_duty):
    member_id, post = on_duty
    now = time.time()
    batch = [
        _fix(post.lon, post.lat, now - 20),
        _fix(post.lon, post.lat, now - 20),  # the same fix again
        _fix(post.lon, post.lat, now - 30),  # older than the last one
        _fix(post.lon + 0.2, post.lat, now - 10),  # 20 km in 10 s
        _fix(10.0, 50.0, now - 5),  # Europe
        _fix(post.lon, post.lat, now + 3600),  # an hour in the future
        _fix(500.0, post.lat, now - 4),  # not a longitude
    ]
    r = client.post("/api/positions/batch", headers=member, json={"fixes": batch})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == [
        "accepted", "duplicate", "out_of_order", "too_fast", "out_of_bounds", "future", "invalid"]
    hits = client.get("/api/positions/nearby", headers=admin, params={"lon": post.lon, "lat": post.lat, "k": 1})
    assert hits.json()[0]["member_id"] == member_id and hits.json()[0]["distance_m"] < 1


def test_member_cannot_send_another_members_position(client, member, on_duty):
    member_id, post = on_duty
    r = client.post("/api/positions", headers=member, json=_fix(post.lon, post.lat, member_id=member_id + 1))
    assert r.status_code == 403 and "own positions" in r.json()["message"]


def test_oversized_or_malformed_batches_get_422(client, member, on_duty):
    _, post = on_duty
    r = client.post("/api/positions/batch", headers=member, json={"fixes": [_fix(post.lon, post.lat)] * 1001})
    assert r.status_code == 422 and "message" in r.json()
    r = client.post("/api/positions", headers=member, json={"lon": "east", "lat": 23.1, "t": 1})
    assert r.status_code == 422


def test_unauthenticated_position_is_401(client, on_duty):
    assert client.post("/api/positions", json=_fix(113.3, 23.1)).status_code == 401


def test_nearby_filters_by_skill_and_refuses_unknown_skills(client, admin, on_duty):
    _, post = on_duty
    r = client.get("/api/positions/nearby", headers=admin,
                   params={"lon": post.lon, "lat": post.lat, "skill": "telepathy"})
    assert r.status_code == 422 and "telepathy" in r.json()["message"]
    hits = client.get("/api/positions/nearby", headers=admin,
                      params={"lon": post.lon, "lat": post.lat, "skill": "first_aid", "k": 50}).json()
    assert all("first_aid" in h["skills"] for h in hits)


def test_members_and_leaders_cannot_query_positions(client, member, leader, on_duty):
    _, post = on_duty
    for who in (member, leader):
        r = client.get("/api/positions/nearby", headers=who, params={"lon": post.lon, "lat": post.lat})
        assert r.status_code == 403


def test_check_out_takes_the_member_off_the_map(client, admin, member, on_duty):
    member_id, post = on_duty
    client.post("/api/duty/check-out", headers=member, json={})
    hits = client.get("/api/positions/nearby", headers=admin, params={"lon": post.lon, "lat": post.lat, "k": 50})
    assert member_id not in [h["member_id"] for h in hits.json()]


def test_track_is_kept_down_sampled_and_scoped(client, admin, member, leader, login, on_duty, sessions):
    member_id, post = on_duty
    now = time.time() - 300
    fixes = [_fix(post.lon + i * 0.00005, post.lat, now + i * 5) for i in range(60)]  # 5 m every 5 s
    r = client.post("/api/positions/batch", headers=member, json={"fixes": fixes})
    assert r.json()["accepted"] == 60
    with sessions() as s:
        kept = s.scalar(select(func.count()).select_from(TrackPoint).where(TrackPoint.member_id == member_id))
    assert 3 <= kept <= 8  # one a minute or per 100 m, not all 60
    for who in (admin, leader, member):
        track = client.get(f"/api/members/{member_id}/track", headers=who)
        assert track.status_code == 200 and len(track.json()) == kept
    other_district = login("op-440111")
    assert client.get(f"/api/members/{member_id}/track", headers=other_district).status_code == 403
    r = client.get(f"/api/members/{member_id}/track", headers=admin, params={"until": "0001-01-01T00:00:00Z"})
    assert r.status_code == 422 and r.json()["message"]  # not a 500 from date arithmetic


def test_entering_a_sensitive_area_raises_one_stored_event(client, admin, member, on_duty, sessions):
    _, post = on_duty
    r = client.post("/api/fences", headers=admin, json={
        "name": "变电站", "kind": "sensitive_area", "center_lon": post.lon + 0.01, "center_lat": post.lat,
        "radius_m": 200})
    assert r.status_code == 201, r.text
    fence_id = r.json()["id"]
    now = time.time() - 120
    path = [_fix(post.lon + 0.002 * i, post.lat, now + 15 * i) for i in range(7)]  # walks ~1.4 km east, through it
    r = client.post("/api/positions/batch", headers=member, json={"fixes": path})
    assert r.json()["accepted"] == 7 and r.json()["fence_events"] == 2
    events = client.get("/api/fence-events", headers=admin, params={"fence_id": fence_id}).json()
    assert [e["kind"] for e in events] == ["leave", "enter"]  # newest first
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(FenceEvent)) == 2


def test_district_operator_draws_fences_only_in_their_district(client, tianhe_operator, login, on_duty):
    _, post = on_duty
    circle = {"name": "广场", "kind": "incident_perimeter", "center_lon": post.lon, "center_lat": post.lat,
              "radius_m": 100}
    assert client.post("/api/fences", headers=tianhe_operator, json=circle).status_code == 201
    districts = client.get("/api/areas", headers=tianhe_operator, params={"level": "district"}).json()["items"]
    other = next(d["id"] for d in districts if d["code"] != "440106")
    r = client.post("/api/fences", headers=tianhe_operator, json={**circle, "district_id": other})
    assert r.status_code == 403
    assert len(client.get("/api/fences", headers=login("op-440111")).json()) == 0


def test_bad_fences_are_refused_with_a_message(client, admin):
    bowtie = {"type": "Polygon", "coordinates": [[[113.3, 23.1], [113.31, 23.11], [113.31, 23.1],
                                                  [113.3, 23.11], [113.3, 23.1]]]}
    r = client.post("/api/fences", headers=admin, json={"name": "x", "kind": "sensitive_area", "polygon": bowtie})
    assert r.status_code == 422 and "invalid polygon" in r.json()["message"]
    r = client.post("/api/fences", headers=admin, json={"name": "x", "kind": "patrol_zone", "center_lon": 113.3,
                                                       "center_lat": 23.1, "radius_m": 100})
    assert r.status_code == 422 and "team_id" in r.json()["message"]
    r = client.post("/api/fences", headers=admin, json={"name": "x", "kind": "sensitive_area", "center_lon": 113.3,
                                                       "center_lat": 23.1, "radius_m": 1e9})
    assert r.status_code == 422
    r = client.post("/api/fences", headers=admin, json={"name": "x", "kind": "sensitive_area", "center_lon": 113.3,
                                                       "center_lat": 23.1, "radius_m": 100, "district_id": 2_000_000})
    assert r.status_code == 404 and "district" in r.json()["message"]


def test_member_cannot_list_fences(client, member):
    assert client.get("/api/fences", headers=member).status_code == 403


def test_restart_rebuilds_who_is_on_duty_and_where(client, settings, member, on_duty):
    member_id, post = on_duty
    client.post("/api/positions", headers=member, json=_fix(post.lon + 0.002, post.lat))
    with TestClient(create_app(settings)) as again:
        token = again.post("/api/auth/login", json={"username": "admin", "password": settings.demo_password})
        admin = {"Authorization": f"Bearer {token.json()['token']}"}
        hits = again.get("/api/positions/nearby", headers=admin,
                         params={"lon": post.lon + 0.002, "lat": post.lat, "k": 1}).json()
    assert hits[0]["member_id"] == member_id and hits[0]["distance_m"] < 1


def test_fixes_over_the_websocket_are_acknowledged(client, member, on_duty):
    _, post = on_duty
    token = member["Authorization"].split()[1]
    with client.websocket_connect("/api/ws") as ws:
        ws.send_json({"type": "auth", "token": token})
        assert ws.receive_json()["type"] == "hello"
        ws.send_json({"type": "fixes", "ref": 7, "fixes": [_fix(post.lon, post.lat)]})
        ack = ws.receive_json()
        assert ack["type"] == "ack" and ack["ref"] == 7 and ack["status"] == ["accepted"]
        ws.send_json({"type": "fixes", "ref": 8, "fixes": [{"lon": 1}]})
        error = ws.receive_json()
        assert error["type"] == "error" and error["ref"] == 8 and "lat" in error["message"]


def test_frames_applied_together_each_get_their_own_answer_and_a_refusal_spoils_none(
        client, admin, member, on_duty, sessions):
    member_id, post = on_duty
    state = client.app.state
    now = time.time()
    with sessions() as s:
        as_member = authenticate(s, member["Authorization"].split()[1])
        as_gateway = authenticate(s, admin["Authorization"].split()[1])
        answers = ingest_rounds(s, state.tracker, state.bus, [
            (as_member, [FixIn(**_fix(post.lon, post.lat, now - 2))]),
            (as_member, [FixIn(**_fix(post.lon, post.lat, now - 1, member_id=member_id + 1))]),  # not theirs
            (as_gateway, [FixIn(**_fix(post.lon, post.lat, now))]),  # a gateway must name the member
            (as_gateway, [FixIn(**_fix(post.lon + 0.0001, post.lat, now, member_id=member_id))]),
        ])
    first, foreign, nameless, relayed = answers
    assert isinstance(first, IngestOut) and first.status == ["accepted"]
    assert isinstance(foreign, Forbidden) and isinstance(nameless, InvalidInput)
    assert isinstance(relayed, IngestOut) and relayed.status == ["accepted"]
    with sessions() as s:  # both accepted fixes' track points were committed in the one round
        assert s.scalar(select(func.count()).select_from(TrackPoint).where(TrackPoint.member_id == member_id)) >= 1
    hits = client.get("/api/positions/nearby", headers=admin, params={"lon": post.lon + 0.0001, "lat": post.lat,
                                                                         "k": 1}).json()
    assert hits[0]["member_id"] == member_id and hits[0]["distance_m"] < 1


def test_websocket_refuses_a_bad_token(client):
    with client.websocket_connect("/api/ws") as ws:
        ws.send_json({"type": "auth", "token": "not-a-token"})
        answer = ws.receive_json()
        assert answer["type"] == "error" and answer["error"] == "unauthorized"


def test_operator_is_told_of_check_ins_and_fence_crossings_live(client, admin, tianhe_operator, login, member,
                                                               post):
    token = tianhe_operator["Authorization"].split()[1]
    far_token = login("op-440111")["Authorization"].split()[1]
    with client.websocket_connect("/api/ws") as ws, client.websocket_connect("/api/ws") as far:
        ws.send_json({"type": "auth", "token": token})
        far.send_json({"type": "auth", "token": far_token})
        assert _receive(ws)["type"] == "hello" and _receive(far)["type"] == "hello"
        client.post("/api/duty/check-in", headers=member, json={"token": post.token, "lon": post.lon,
                                                                "lat": post.lat})
        event = _receive(ws)
        assert event["type"] == "duty.check_in" and event["unit_id"] == post.unit_id
        client.post("/api/fences", headers=admin, json={
            "name": "仓库", "kind": "sensitive_area", "center_lon": post.lon + 0.003, "center_lat": post.lat,
            "radius_m": 100})
        assert _receive(ws)["type"] == "fence.created"
        client.post("/api/positions/batch", headers=member, json={"fixes": [
            _fix(post.lon + 0.0015, post.lat, time.time() - 20), _fix(post.lon + 0.003, post.lat, time.time() - 5)]})
        crossing = _receive(ws)
        assert crossing["type"] == "fence.enter" and crossing["member_id"] == event["member_id"]
        far.send_json({"type": "ping"})
        assert _receive(far)["type"] == "pong"  # the other district's operator saw none of it
        # a reconnecting client asks for what it missed
    with client.websocket_connect("/api/ws") as again:
        again.send_json({"type": "auth", "token": token, "since": event["seq"]})
        assert _receive(again)["type"] == "hello"
        assert _receive(again)["type"] == "fence.created"
