"""Hazard reports (弱信号): filing with photos, routing, workflow with SLA, who sees what."""

from __future__ import annotations

import io
from datetime import timedelta

import httpx
from PIL import Image
from sqlalchemy import select

from jiefang.db import utcnow
from jiefang.reports.models import HazardReport, ReportPhoto
from jiefang.reports.service import flag_overdue

from .conftest import file_report, jpeg_with_gps, png_plain  # type: ignore[import-not-found]


def test_photo_is_stored_without_gps_exif_and_its_position_is_read(
    client, member, tianhe_operator, site, settings, sessions
):
    lon, lat = site
    r = file_report(client, member, None, None, [("scene.jpg", jpeg_with_gps(lon, lat), "image/jpeg")])
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["position_source"] == "exif"
    assert abs(body["lon"] - lon) < 1e-5 and abs(body["lat"] - lat) < 1e-5
    assert body["status"] == "new" and body["district_id"] is not None and body["grid_id"] is not None
    photo = body["photos"][0]
    served = client.get(photo["url"], headers=tianhe_operator)
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    stored = Image.open(io.BytesIO(served.content))
    assert stored.format == "JPEG" and (stored.width, stored.height) == (640, 480)
    assert dict(stored.getexif()) == {}  # no GPS, no camera maker
    with sessions() as s:
        row = s.scalar(select(ReportPhoto))
        assert row is not None and abs(row.exif_lon - lon) < 1e-5
        on_disk = (settings.upload_dir / row.storage_key).read_bytes()
    assert b"TestCam" not in on_disk and on_disk == served.content


def test_device_position_wins_over_photo_gps(client, member, site):
    lon, lat = site
    r = file_report(client, member, lon, lat, [("a.jpg", jpeg_with_gps(lon + 0.01, lat), "image/jpeg")])
    assert r.status_code == 201, r.text
    assert r.json()["position_source"] == "device" and r.json()["lon"] == lon


def test_renamed_non_image_is_refused_with_a_clear_error(client, member, site):
    r = file_report(client, member, *site, [("photo.jpg", b"%PDF-1.4 not a picture at all" * 10, "image/jpeg")])
    assert r.status_code == 422
    assert r.json()["error"] == "invalid_input" and "'photo.jpg' is not an image" in r.json()["message"]


def test_oversized_photo_is_refused_with_the_limit(client, member, site, settings):
    big = b"\xff\xd8\xff" + b"0" * (settings.photo_max_bytes + 10)
    r = file_report(client, member, *site, [("big.jpg", big, "image/jpeg")])
    assert r.status_code == 422
    assert f"larger than the limit of {settings.photo_max_bytes} bytes" in r.json()["message"]


def test_too_many_photos_are_refused(client, member, site, settings):
    photos = [(f"p{i}.png", png_plain(), "image/png") for i in range(settings.report_max_photos + 1)]
    r = file_report(client, member, *site, photos)
    assert r.status_code == 422 and f"at most {settings.report_max_photos} photos" in r.json()["message"]


def test_report_without_position_or_gps_is_refused(client, member):
    r = file_report(client, member, None, None, [("p.png", png_plain(), "image/png")])
    assert r.status_code == 422 and "GPS" in r.json()["message"]


def test_operator_moves_report_through_workflow_and_reporter_follows(client, member, tianhe_operator, site, login):
    rid = file_report(client, member, *site).json()["id"]
    assert [r["id"] for r in client.get("/api/reports", headers=tianhe_operator).json()] == [rid]
    assert client.get("/api/reports", headers=login("op-440104")).json() == []  # another district
    me = client.get("/api/auth/me", headers=member).json()
    steps = [
        {"status": "assigned", "assignee_member_id": me["member_id"], "note": "请核实"},
        {"status": "in_progress"},
        {"status": "resolved", "note": "已清理"},
    ]
    for step in steps:
        r = client.post(f"/api/reports/{rid}/status", headers=tianhe_operator, json=step)
        assert r.status_code == 200, r.text
    mine = client.get("/api/reports/mine", headers=member).json()
    assert mine[0]["status"] == "resolved" and mine[0]["closed_at"] is not None and mine[0]["due_at"] is None
    assert [u["status"] for u in mine[0]["updates"]] == ["new", "assigned", "in_progress", "resolved"]
    again = client.post(f"/api/reports/{rid}/status", headers=tianhe_operator, json={"status": "in_progress"})
    assert again.status_code == 422 and "resolved report cannot become in_progress" in again.json()["message"]


def test_member_cannot_move_a_report_not_assigned_to_them(client, member, site):
    rid = file_report(client, member, *site).json()["id"]
    r = client.post(f"/api/reports/{rid}/status", headers=member, json={"status": "resolved"})
    assert r.status_code == 403


def test_photos_are_shown_only_to_reporter_and_district_operators(client, member, leader, site, login):
    body = file_report(client, member, *site, [("p.png", png_plain(), "image/png")]).json()
    url = body["photos"][0]["url"]
    assert client.get(url, headers=member).status_code == 200
    assert client.get(url, headers=leader).status_code == 403  # sees the report, not the picture
    assert client.get(url, headers=login("op-440104")).status_code == 404
    assert client.get(url).status_code == 401


def test_report_past_its_sla_is_flagged_overdue_and_announced(client, member, site, sessions):
    rid = file_report(client, member, *site).json()["id"]
    seen: list[dict] = []
    client.app.state.bus.subscribe(seen.append)
    with sessions() as s:
        assert flag_overdue(s, client.app.state.bus, now=utcnow() + timedelta(hours=3)) == 1
        assert s.get(HazardReport, rid).overdue
    assert [e["type"] for e in seen] == ["report.overdue"] and seen[0]["report_id"] == rid
    assert client.get("/api/reports/mine?", headers=member).json()[0]["overdue"] is True


def test_reporter_is_told_of_status_changes_over_the_bus(client, member, tianhe_operator, site):
    rid = file_report(client, member, *site).json()["id"]
    seen: list[dict] = []
    client.app.state.bus.subscribe(seen.append)
    client.post(f"/api/reports/{rid}/status", headers=tianhe_operator, json={"status": "rejected", "note": "重复"})
    me = client.get("/api/auth/me", headers=member).json()
    event = next(e for e in seen if e["type"] == "report.status")
    assert event["status"] == "rejected" and me["member_id"] in event["member_ids"] and event["district_id"]


def test_report_resent_with_the_same_idempotency_key_is_filed_once(client, member, site):
    lon, lat = site
    request = httpx.Request(
        "POST",
        "http://x/api/reports",
        data={"category": "traffic", "lon": str(lon), "lat": str(lat)},
        files=[("photos", ("p.png", png_plain(), "image/png"))],
    )
    body, content_type = request.read(), request.headers["content-type"]
    headers = {**member, "Idempotency-Key": "report-1", "Content-Type": content_type}
    first = client.post("/api/reports", headers=headers, content=body)
    again = client.post("/api/reports", headers=headers, content=body)
    assert first.status_code == 201 and again.status_code == 201 and again.json()["id"] == first.json()["id"]
    assert len(client.get("/api/reports/mine", headers=member).json()) == 1
