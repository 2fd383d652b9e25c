"""Areas through the API: the 11 real districts, GeoJSON by level and bbox, import with validation."""

from __future__ import annotations

import json

from shapely.geometry import shape


def test_eleven_real_districts_with_chinese_names(client, member):
    page = client.get("/api/areas", headers=member, params={"level": "district"}).json()
    assert page["total"] == 11
    names = {d["name"] for d in page["items"]}
    assert {"越秀区", "天河区", "从化区", "增城区"} <= names
    total_km2 = sum(d["area_km2"] for d in page["items"])
    assert 7_200 < total_km2 < 7_600  # published 7,434 km²


def test_district_geojson_is_valid_wgs84(client, member):
    fc = client.get("/api/areas/geojson", headers=member, params={"level": "district"}).json()
    assert len(fc["features"]) == 11
    for f in fc["features"]:
        geom = shape(f["geometry"])
        assert geom.is_valid
        minx, miny, maxx, maxy = geom.bounds
        assert 112.9 < minx < maxx < 114.1 and 22.5 < miny < maxy < 23.95


def test_grids_by_bbox_and_too_many_is_422(client, member):
    fc = client.get("/api/areas/geojson", headers=member,
                    params={"level": "grid", "bbox": "113.25,23.08,113.40,23.20"}).json()
    assert fc["features"] and all(f["properties"]["level"] == "grid" for f in fc["features"])


def test_import_areas_creates_and_updates_by_code(client, admin):
    square = {"type": "Polygon", "coordinates": [[[113.30, 23.10], [113.31, 23.10], [113.31, 23.11],
                                                   [113.30, 23.11], [113.30, 23.10]]]}
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": square,
         "properties": {"code": "PG-TEST-1", "name": "测试警务网格", "level": "police_grid",
                        "parent_code": "440106"}}]}
    r = client.post("/api/areas/import", headers=admin,
                    files={"file": ("a.geojson", json.dumps(fc), "application/geo+json")})
    assert r.status_code == 200 and r.json() == {"created": 1, "updated": 0}
    r = client.post("/api/areas/import", headers=admin,
                    files={"file": ("a.geojson", json.dumps(fc), "application/geo+json")})
    assert r.json() == {"created": 0, "updated": 1}
    item = client.get("/api/areas", headers=admin, params={"q": "PG-TEST-1"}).json()["items"][0]
    assert item["level"] == "police_grid" and 1.0 < item["area_km2"] < 1.3


def test_self_intersecting_polygon_is_rejected_with_reason(client, admin):
    bowtie = {"type": "Polygon", "coordinates": [[[113.30, 23.10], [113.31, 23.11], [113.31, 23.10],
                                                   [113.30, 23.11], [113.30, 23.10]]]}
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": bowtie, "properties": {"code": "BAD-1", "name": "坏", "level": "grid"}}]}
    r = client.post("/api/areas/import", headers=admin,
                    files={"file": ("a.geojson", json.dumps(fc), "application/geo+json")})
    assert r.status_code == 422 and "Self-intersection" in r.json()["message"]


def test_only_city_admin_imports_areas(client, tianhe_operator):
    r = client.post("/api/areas/import", headers=tianhe_operator,
                    files={"file": ("a.geojson", "{}", "application/geo+json")})
    assert r.status_code == 403


def test_stats_count_the_city(client, member):
    stats = client.get("/api/stats", headers=member).json()
    assert stats["districts"] == 11 and stats["units"] >= 200 and stats["members"] >= 2000
    assert stats["grids"] > stats["police_grids"] > 0
