"""Open311 GeoReport v2: civic apps submit and follow requests that are hazard reports."""

from __future__ import annotations


def _token(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def test_services_list_the_hazard_categories(client):
    services = client.get("/open311/v2/services.json").json()
    assert {s["service_code"] for s in services} >= {"fire_hazard", "fraud", "facility_damage", "other"}


def test_request_posted_with_api_key_becomes_a_report_the_operator_handles(client, member, tianhe_operator, site):
    lon, lat = site
    r = client.post(
        "/open311/v2/requests.json",
        data={
            "api_key": _token(member),
            "service_code": "facility_damage",
            "lat": str(lat),
            "long": str(lon),
            "description": "井盖缺失",
            "address_string": "天河路 1 号",
        },
    )
    assert r.status_code == 201, r.text
    rid = r.json()[0]["service_request_id"]
    report = client.get(f"/api/reports/{rid}", headers=tianhe_operator).json()
    assert report["channel"] == "open311" and report["category"] == "facility_damage"
    for step in ({"status": "in_progress"}, {"status": "resolved", "note": "已修复"}):
        assert client.post(f"/api/reports/{rid}/status", headers=tianhe_operator, json=step).status_code == 200
    got = client.get(f"/open311/v2/requests/{rid}.json", params={"api_key": _token(member)}).json()
    assert got[0]["status"] == "closed" and got[0]["status_notes"] == "resolved: 已修复"
    assert got[0]["lat"] == lat and got[0]["long"] == lon
    listed = client.get("/open311/v2/requests.json", params={"status": "closed"}, headers=member).json()
    assert [x["service_request_id"] for x in listed] == [rid]
    assert client.get("/open311/v2/requests.json", params={"status": "open"}, headers=member).json() == []


def test_request_without_key_is_refused(client, site):
    lon, lat = site
    r = client.post("/open311/v2/requests.json", data={"service_code": "other", "lat": str(lat), "long": str(lon)})
    assert r.status_code == 401
    r = client.post(
        "/open311/v2/requests.json",
        data={"service_code": "other", "lat": str(lat), "long": str(lon), "api_key": "forged"},
    )
    assert r.status_code == 401
