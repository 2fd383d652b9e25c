"""Map selection and group commands: who is inside, who gets the command, receipts, scope, input."""

from __future__ import annotations

from sqlalchemy import func, select

from jiefang.commands.models import CommandReceipt, GroupCommand
from jiefang.units.models import Unit


def _send(client, headers, placed, **extra):  # type: ignore[no-untyped-def]
    body = {"selection": {"kind": "polygon", "polygon": placed.square()}, "text": "全员到正门集合", **extra}
    return client.post("/api/commands", headers=headers, json=body)


def test_polygon_selection_counts_the_units_and_members_on_duty_inside(client, tianhe_operator, placed, sessions):
    r = client.post("/api/selection", headers=tianhe_operator,
                    json={"kind": "polygon", "polygon": placed.square()})
    assert r.status_code == 200, r.text
    body = r.json()
    assert sorted(m["member_id"] for m in body["member_list"]) == sorted(placed.inside)
    assert body["members"] == len(placed.inside)
    ring = placed.square()["coordinates"][0]
    (w, s), (e, n) = ring[0], ring[2]
    with sessions() as db:
        expected = set(db.scalars(select(Unit.id).where(
            Unit.status == "active", Unit.lon.between(w, e), Unit.lat.between(s, n),
            Unit.district_id == placed.district_id)))
    assert set(body["unit_ids"]) == expected and body["units"] == len(expected) >= 1
    assert sum(body["units_by_category"].values()) == len(expected)
    assert 0.3 < body["area_km2"] < 0.42  # a 600 m square
    assert "phone" not in r.text


def test_circle_selection_holds_the_members_within_its_radius(client, tianhe_operator, placed):
    r = client.post("/api/selection", headers=tianhe_operator, json={
        "kind": "circle", "center_lon": placed.lon, "center_lat": placed.lat, "radius_m": 1000})
    assert r.status_code == 200, r.text
    assert {m["member_id"] for m in r.json()["member_list"]} == {*placed.inside, placed.outside[0]}


def test_group_command_reaches_exactly_the_members_inside(client, tianhe_operator, placed, sessions):
    r = _send(client, tianhe_operator, placed, priority="urgent", reply_required=True)
    assert r.status_code == 201, r.text
    sent = r.json()
    assert sent["recipients"] == len(placed.inside) and sent["priority"] == "urgent"
    for m in placed.inside:
        inbox = client.get("/api/commands/mine", headers=placed.headers[m]).json()
        assert [(c["id"], c["text"], c["reply_required"]) for c in inbox] == [(sent["id"], "全员到正门集合", True)]
        assert inbox[0]["delivered_at"] is not None  # reading the inbox is delivery
    for m in placed.outside:
        assert client.get("/api/commands/mine", headers=placed.headers[m]).json() == []
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(CommandReceipt)) == len(placed.inside)
        assert db.scalar(select(GroupCommand.district_id)) == placed.district_id


def test_receipts_move_from_delivered_to_read_to_replied(client, tianhe_operator, placed):
    command_id = _send(client, tianhe_operator, placed, reply_required=True).json()["id"]
    first, second, third = placed.inside
    client.post(f"/api/commands/{command_id}/delivered", headers=placed.headers[first])
    read = client.post(f"/api/commands/{command_id}/read", headers=placed.headers[second]).json()
    assert read["delivered_at"] is not None and read["read_at"] is not None
    r = client.post(f"/api/commands/{command_id}/reply", headers=placed.headers[third], json={"text": "收到，马上到"})
    assert r.status_code == 200 and r.json()["reply"] == "收到，马上到"

    detail = client.get(f"/api/commands/{command_id}", headers=tianhe_operator).json()
    assert (detail["delivered"], detail["read"], detail["replied"]) == (3, 2, 1)
    by_member = {x["member_id"]: x for x in detail["receipts"]}
    assert by_member[first]["read_at"] is None and by_member[third]["reply"] == "收到，马上到"
    assert detail["selection"]["kind"] == "polygon"
    listed = client.get("/api/commands", headers=tianhe_operator).json()
    assert [(c["id"], c["delivered"], c["read"], c["replied"]) for c in listed] == [(command_id, 3, 2, 1)]


def test_a_second_different_reply_is_refused_and_the_same_one_is_harmless(client, tianhe_operator, placed):
    command_id = _send(client, tianhe_operator, placed).json()["id"]
    who = placed.headers[placed.inside[0]]
    assert client.post(f"/api/commands/{command_id}/reply", headers=who, json={"text": "收到"}).status_code == 200
    assert client.post(f"/api/commands/{command_id}/reply", headers=who, json={"text": "收到"}).status_code == 200
    r = client.post(f"/api/commands/{command_id}/reply", headers=who, json={"text": "改主意了"})
    assert r.status_code == 409 and r.json()["message"]


def test_a_member_outside_the_selection_cannot_read_or_answer_the_command(client, tianhe_operator, placed):
    command_id = _send(client, tianhe_operator, placed).json()["id"]
    outsider = placed.headers[placed.outside[0]]
    assert client.post(f"/api/commands/{command_id}/read", headers=outsider).status_code == 404
    assert client.post(f"/api/commands/{command_id}/reply", headers=outsider, json={"text": "x"}).status_code == 404


def test_members_and_leaders_cannot_select_send_or_follow_commands(client, tianhe_operator, placed, member, leader):
    command_id = _send(client, tianhe_operator, placed).json()["id"]
    for headers in (member, leader, placed.headers[placed.inside[0]]):
        assert client.post("/api/selection", headers=headers,
                           json={"kind": "polygon", "polygon": placed.square()}).status_code == 403
        assert _send(client, headers, placed).status_code == 403
        assert client.get(f"/api/commands/{command_id}", headers=headers).status_code == 403
        assert client.get("/api/commands", headers=headers).status_code == 403
    assert client.get("/api/commands").status_code == 401


def test_another_districts_operator_neither_reaches_these_members_nor_sees_the_command(
        client, login, tianhe_operator, placed):
    other = login("op-440111")
    r = _send(client, other, placed)
    assert r.status_code == 422 and "nobody" in r.json()["message"]
    command_id = _send(client, tianhe_operator, placed).json()["id"]
    assert client.get(f"/api/commands/{command_id}", headers=other).status_code == 404
    assert client.get("/api/commands", headers=other).json() == []


def test_area_selection_takes_whole_grids_in_the_operators_district_only(client, tianhe_operator, placed, admin):
    grids = client.get("/api/areas", headers=admin, params={"level": "grid", "page_size": 500}).json()["items"]
    mine = next(g for g in grids if g["district_id"] == placed.district_id)
    other = next(g for g in grids if g["district_id"] != placed.district_id)
    r = client.post("/api/selection", headers=tianhe_operator, json={"kind": "areas", "area_ids": [mine["id"]]})
    assert r.status_code == 200, r.text
    r = client.post("/api/selection", headers=tianhe_operator, json={"kind": "areas", "area_ids": [other["id"]]})
    assert r.status_code == 403 and "outside your district" in r.json()["message"]
    r = client.post("/api/selection", headers=tianhe_operator, json={"kind": "areas", "area_ids": [2_000_000]})
    assert r.status_code == 404


def test_bad_selections_and_texts_get_clear_errors(client, tianhe_operator, placed):
    bowtie = {"type": "Polygon", "coordinates": [[[113.3, 23.1], [113.31, 23.11], [113.31, 23.1], [113.3, 23.11],
                                                  [113.3, 23.1]]]}
    cases = [
        {"kind": "circle", "center_lon": placed.lon, "center_lat": placed.lat},
        {"kind": "circle", "center_lon": placed.lon, "center_lat": 95, "radius_m": 100},
        {"kind": "circle", "center_lon": placed.lon, "center_lat": placed.lat, "radius_m": 1e7},
        {"kind": "circle", "center_lon": placed.lon, "center_lat": placed.lat, "radius_m": 5e-324},  # not a place
        {"kind": "polygon", "polygon": bowtie},
        {"kind": "polygon", "polygon": {"type": "Point", "coordinates": [113.3, 23.1]}},
        {"kind": "areas", "area_ids": []},
        {"kind": "polygon", "polygon": placed.square(), "radius_m": 5},
    ]
    for selection in cases:
        r = client.post("/api/selection", headers=tianhe_operator, json=selection)
        assert r.status_code == 422, (selection, r.text)
        assert r.json()["message"]
    for text in ("", " ", "x" * 1001, "a\x00b"):
        assert _send(client, tianhe_operator, placed, text=text).status_code == 422
    assert _send(client, tianhe_operator, placed, priority="whenever").status_code == 422


def test_the_area_at_a_point_is_found_by_level(client, tianhe_operator, placed):
    r = client.get("/api/areas/at", headers=tianhe_operator,
                   params={"lon": placed.lon, "lat": placed.lat, "level": "district"})
    assert r.status_code == 200, r.text
    assert r.json()["id"] == placed.district_id and r.json()["geometry"]["type"] in ("Polygon", "MultiPolygon")
    grid = client.get("/api/areas/at", headers=tianhe_operator, params={"lon": placed.lon, "lat": placed.lat})
    assert grid.json()["properties"]["level"] == "grid"
    assert client.get("/api/areas/at", headers=tianhe_operator, params={"lon": 0, "lat": 0}).status_code == 404
    assert client.get("/api/areas/at", headers=tianhe_operator, params={"lon": 200, "lat": 0}).status_code == 422
