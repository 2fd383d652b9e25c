"""Units through the API: listing with filters, detail, scoped changes, validation, import/export."""

from __future__ import annotations

import csv
import io
import json

from sqlalchemy import func, select

from jiefang.units.models import Unit


def _district(client, headers, code):
    items = client.get("/api/areas", headers=headers, params={"level": "district"}).json()["items"]
    return next(d for d in items if d["code"] == code)


def _unit_in(client, headers, district_id):
    return client.get("/api/units", headers=headers, params={"district_id": district_id}).json()["items"][0]


def test_units_list_is_paginated_and_filtered(client, admin):
    all_units = client.get("/api/units", headers=admin, params={"page_size": 10}).json()
    assert all_units["total"] >= 200 and len(all_units["items"]) == 10
    tianhe = _district(client, admin, "440106")
    page = client.get("/api/units", headers=admin, params={"district_id": tianhe["id"], "page_size": 500}).json()
    assert 0 < page["total"] < all_units["total"]
    assert all(u["district_id"] == tianhe["id"] for u in page["items"])
    shops = client.get("/api/units", headers=admin, params={"category": "shop", "page_size": 500}).json()
    assert all(u["category"] == "shop" for u in shops["items"])


def test_bbox_filter_returns_only_units_inside(client, admin):
    bbox = (113.30, 23.10, 113.36, 23.16)
    page = client.get("/api/units", headers=admin,
                      params={"bbox": ",".join(map(str, bbox)), "page_size": 500}).json()
    assert page["total"] > 0
    for u in page["items"]:
        assert bbox[0] <= u["lon"] <= bbox[2] and bbox[1] <= u["lat"] <= bbox[3]


def test_malformed_bbox_gets_422_with_message(client, admin):
    for bad in ("1,2,3", "a,b,c,d", "113,23,112,24", "200,23,201,24"):
        r = client.get("/api/units", headers=admin, params={"bbox": bad})
        assert r.status_code == 422, bad
        assert "bbox" in r.json()["message"]


def test_unit_detail_has_areas_teams_equipment_and_masked_leader_phone_for_members(client, admin, member):
    me = client.get("/api/auth/me", headers=member).json()
    full = client.get(f"/api/units/{me['unit_id']}", headers=admin).json()
    seen = client.get(f"/api/units/{me['unit_id']}", headers=member).json()
    assert full["district"]["name"].endswith("区") and full["grid"] is not None
    assert full["teams"] and full["member_count"] == sum(t["member_count"] for t in full["teams"])
    assert "*" not in full["leader"]["phone"] and "*" in seen["leader"]["phone"]


def test_district_operator_cannot_modify_another_districts_unit(client, admin, tianhe_operator):
    baiyun = _district(client, admin, "440111")
    unit = _unit_in(client, admin, baiyun["id"])
    r = client.patch(f"/api/units/{unit['id']}", headers=tianhe_operator, json={"name": "改名"})
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    assert client.get(f"/api/units/{unit['id']}", headers=admin).json()["name"] == unit["name"]


def test_district_operator_modifies_own_districts_unit(client, admin, tianhe_operator):
    tianhe = _district(client, admin, "440106")
    unit = _unit_in(client, admin, tianhe["id"])
    r = client.patch(f"/api/units/{unit['id']}", headers=tianhe_operator,
                     json={"name": "天河测试单元", "equipment": {"aed": 2, "fire_extinguisher": 6}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["name"] == "天河测试单元"
    assert {e["kind"]: e["quantity"] for e in body["equipment"]} == {"aed": 2, "fire_extinguisher": 6}


def test_operator_cannot_move_a_unit_out_of_their_district(client, admin, tianhe_operator, sessions):
    tianhe = _district(client, admin, "440106")
    unit = _unit_in(client, admin, tianhe["id"])
    baiyun = _district(client, admin, "440111")
    r = client.patch(f"/api/units/{unit['id']}", headers=tianhe_operator,
                     json={"lon": baiyun["centroid_lon"], "lat": baiyun["centroid_lat"]})
    assert r.status_code == 403
    with sessions() as s:
        assert s.get(Unit, unit["id"]).district_id == tianhe["id"]


def test_create_unit_assigns_district_grid_and_street_from_location(client, admin):
    tianhe = _district(client, admin, "440106")
    r = client.post("/api/units", headers=admin, json={
        "code": "GZ-TEST-0001", "name": "测试商圈应急单元", "category": "business_district",
        "lon": tianhe["centroid_lon"], "lat": tianhe["centroid_lat"], "teams": ["第1小队", "第2小队"],
        "equipment": {"first_aid_kit": 1}})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["district"]["code"] == "440106" and body["street"] and body["grid"]
    assert [t["name"] for t in body["teams"]] == ["第1小队", "第2小队"]


def test_malformed_unit_gets_422_and_nothing_is_written(client, admin, sessions):
    with sessions() as s:
        before = s.scalar(select(func.count()).select_from(Unit))
    bad = [
        {"code": "X1", "name": "n", "category": "spaceport", "lon": 113.3, "lat": 23.1},
        {"code": "X2", "name": "n", "category": "shop", "lon": 213.3, "lat": 23.1},
        {"code": "X3", "name": "n", "category": "shop", "lon": 113.3, "lat": 23.1, "equipment": {"tank": 1}},
        {"code": "X4", "name": "", "category": "shop", "lon": 113.3, "lat": 23.1},
        {"code": "X5", "name": "n", "category": "shop", "lon": 0.0, "lat": 0.0},
    ]
    for body in bad:
        r = client.post("/api/units", headers=admin, json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"] == "invalid_input" and r.json()["message"]
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Unit)) == before


def test_duplicate_unit_code_is_a_conflict(client, admin):
    existing = client.get("/api/units", headers=admin).json()["items"][0]
    r = client.post("/api/units", headers=admin, json={
        "code": existing["code"], "name": "重复", "category": "shop", "lon": existing["lon"], "lat": existing["lat"]})
    assert r.status_code == 409 and r.json()["error"] == "conflict"


def test_members_cannot_change_units(client, member):
    me = client.get("/api/auth/me", headers=member).json()
    r = client.patch(f"/api/units/{me['unit_id']}", headers=member, json={"name": "x"})
    assert r.status_code == 403


def test_leader_manages_teams_of_own_unit(client, leader):
    me = client.get("/api/auth/me", headers=leader).json()
    r = client.post(f"/api/units/{me['unit_id']}/teams", headers=leader, json={"name": "夜班小队"})
    assert r.status_code == 201
    team_id = r.json()["id"]
    assert client.patch(f"/api/teams/{team_id}", headers=leader, json={"name": "夜巡小队"}).json()["name"] == "夜巡小队"
    assert client.delete(f"/api/teams/{team_id}", headers=leader).status_code == 204


def test_csv_export_round_trips_through_import(client, admin):
    text = client.get("/api/units/export.csv", headers=admin).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == client.get("/api/units", headers=admin).json()["total"]
    rows[0]["name"] = "导入改名单元"
    new = dict(rows[1], code="GZ-IMPORT-1", name="导入新单元")
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows([rows[0], new])
    r = client.post("/api/units/import", headers=admin, files={"file": ("u.csv", buf.getvalue(), "text/csv")})
    assert r.status_code == 200, r.text
    assert r.json() == {"created": 1, "updated": 1}
    found = client.get("/api/units", headers=admin, params={"q": "GZ-IMPORT-1"}).json()["items"]
    assert found and found[0]["name"] == "导入新单元"


def test_bad_import_row_rejects_the_whole_file(client, admin, sessions):
    with sessions() as s:
        before = s.scalar(select(func.count()).select_from(Unit))
    content = ("code,name,category,lon,lat\n"
               "GZ-OK-1,好单元,shop,113.33,23.12\n"
               "GZ-BAD-2,坏单元,shop,113.33,999\n")
    r = client.post("/api/units/import", headers=admin, files={"file": ("u.csv", content, "text/csv")})
    assert r.status_code == 422 and "row 2" in r.json()["message"]
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Unit)) == before


def test_binary_upload_is_refused(client, admin):
    r = client.post("/api/units/import", headers=admin,
                    files={"file": ("u.csv", b"\x89PNG\r\n\x1a\n\x00\x00", "text/csv")})
    assert r.status_code == 422 and "binary" in r.json()["message"]


def test_geojson_export_has_a_point_per_unit(client, admin):
    fc = client.get("/api/units/export.geojson", headers=admin).json()
    total = client.get("/api/units", headers=admin).json()["total"]
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == total
    assert all(f["geometry"]["type"] == "Point" for f in fc["features"])
    r = client.post("/api/units/import", headers=admin, params={"format": "geojson"},
                    files={"file": ("u.geojson", json.dumps(fc), "application/geo+json")})
    assert r.status_code == 200 and r.json() == {"created": 0, "updated": total}


def test_map_points_cover_every_unit(client, member):
    pts = client.get("/api/units/points", headers=member).json()
    assert pts["fields"][:3] == ["id", "lon", "lat"] and len(pts["rows"]) >= 200
