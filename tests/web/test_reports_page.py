"""The operators' hazard reports page against the real server: a member files a report with a
photo, the operator sees it and a hotspot on the map, resolves it, and the member sees that."""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from jiefang.db import utcnow
from jiefang.reports.models import HazardReport

from .conftest import call, login_http  # type: ignore[import-not-found]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
LOADED_JS = "Number(document.body.dataset.reportsLoaded) > 0"


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (200, 80, 40)).save(out, "JPEG")
    return out.getvalue()


def _plant_hotspot(sessions: Any, lon: float, lat: float, district_id: int) -> None:
    """A month of scattered reports and, since this morning, five disputes at one corner 800 m east."""
    rng = np.random.default_rng(5)
    now = utcnow()
    east = lon + 800 / (111_195 * math.cos(math.radians(lat)))
    with sessions() as s:
        for i in range(45):
            near = i >= 40
            dx, dy = rng.normal(0, 60 if near else 3000, 2)
            s.add(
                HazardReport(
                    category="dispute" if near else "fire_hazard",
                    text="",
                    position_source="device",
                    lon=(east if near else lon) + dx / (111_195 * math.cos(math.radians(lat))),
                    lat=lat + dy / 111_195,
                    status="new" if near else "resolved",
                    district_id=district_id,
                    created_at=now - timedelta(days=float(rng.random() * (0.3 if near else 28))),
                    updated_at=now,
                )
            )
        s.commit()


@pytest.mark.browser
def test_operator_resolves_a_report_on_the_map_page_and_the_member_sees_it(
    page: Page,
    live_server: Any,
    sign_in: Callable[..., None],
    api: httpx.Client,
    js_errors: list[str],
    sessions: Any,
) -> None:
    member = login_http(api, "member-demo", live_server.password)
    unit = call(api, "GET", f"/api/units/{call(api, 'GET', '/api/auth/me', member)['unit_id']}", member)
    district_id = call(api, "GET", "/api/auth/me", member)["district_id"]
    _plant_hotspot(sessions, unit["lon"], unit["lat"], district_id)
    admin = login_http(api, "admin", live_server.password)
    assert len(call(api, "POST", "/api/hotspots/scan", admin)) == 1
    filed = api.post(
        "/api/reports",
        headers=member,
        files=[("photos", ("scene.jpg", _jpeg(), "image/jpeg"))],
        data={"category": "fire_hazard", "text": "消防通道堆放杂物", "lon": str(unit["lon"]), "lat": str(unit["lat"])},
    )
    assert filed.status_code == 201, filed.text
    rid = filed.json()["id"]

    sign_in("op-440106")
    page.click("[data-testid=reports-link]")
    page.wait_for_url("**/reports.html")  # the old page's body may be gone before the new one's is parsed
    page.wait_for_function(LOADED_JS)
    expect(page.locator("[data-testid=report-title]")).to_have_text("隐患上报处置")
    expect(page.locator(".hotspot-circle")).to_have_count(1)
    expect(page.locator("[data-testid=hotspot-count]")).to_have_text("预警热点 1 处")
    item = page.locator(f"[data-testid=report-item][data-report-id='{rid}']")
    expect(item).to_contain_text("消防隐患")
    expect(item.locator("[data-testid=report-status]")).to_have_text("新上报")
    expect(item.locator(".signal-photos img")).to_have_count(1)
    assert page.locator(".report-marker").count() >= 6
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "reports-page.png"))
    item.click()
    expect(item).to_have_class("signal-item selected")

    item.locator("[data-testid=action-in_progress]").click()
    expect(item.locator("[data-testid=report-status]")).to_have_text("处置中")
    item.locator("[data-testid=action-resolved]").click()
    expect(page.locator(f"[data-testid=report-item][data-report-id='{rid}']")).to_have_count(0)  # open list only
    page.select_option("[data-testid=status-filter]", "resolved")
    done = page.locator(f"[data-testid=report-item][data-report-id='{rid}']")
    expect(done.locator("[data-testid=report-status]")).to_have_text("已办结")

    mine = call(api, "GET", "/api/reports/mine", member)
    assert mine[0]["id"] == rid and [u["status"] for u in mine[0]["updates"]] == ["new", "in_progress", "resolved"]

    page.click("[data-testid=lang-switch]")
    expect(page.locator("[data-testid=report-title]")).to_have_text("Hazard reports")
    expect(done.locator("[data-testid=report-status]")).to_have_text("Resolved")
    assert js_errors == []
