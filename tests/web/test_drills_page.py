"""The readiness drills page against the real server: drills launched and answered through the API
(the demo unit answers and passes; a unit with nobody on duty fails twice and is flagged), then
the bars, histogram, map of weak units and tables, Chinese first, then English."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from .conftest import call, login_http  # type: ignore[import-not-found]

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "screenshots" / "drills.png"
LOADED_JS = "document.body.dataset.drillsLoaded > 0"
SignIn = Callable[..., None]


def _circle(unit: dict[str, Any]) -> dict[str, Any]:
    return {"selection": {"kind": "circle", "center_lon": unit["lon"], "center_lat": unit["lat"], "radius_m": 1}}


def _scored(api: httpx.Client, headers: dict[str, str], drill_id: int) -> dict[str, Any]:
    """Wait for the server's drills loop (every 2 s) to score the drill."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        drill = call(api, "GET", f"/api/drills/{drill_id}", headers)
        if drill["status"] in ("passed", "failed"):
            return drill
        time.sleep(0.3)
    raise AssertionError(f"drill {drill_id} not scored: {drill}")


def _drills(api: httpx.Client, password: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The demo unit passes an ad-hoc drill; another district's unit, with nobody on duty, fails two."""
    leader = login_http(api, "leader-demo", password)
    unit = call(api, "GET", f"/api/units/{call(api, 'GET', '/api/auth/me', leader)['unit_id']}", leader)
    post = call(
        api,
        "POST",
        f"/api/units/{unit['id']}/posts",
        leader,
        {"name": "正门岗", "lon": unit["lon"], "lat": unit["lat"]},
    )
    token = call(api, "GET", f"/api/posts/{post['id']}/token", leader)["token"]
    member = login_http(api, "member-demo", password)
    call(api, "POST", "/api/duty/check-in", member, {"token": token, "lon": unit["lon"], "lat": unit["lat"]})
    admin = login_http(api, "admin", password)
    [drill] = call(api, "POST", "/api/drills/adhoc", admin, _circle(unit))
    [alert] = call(api, "GET", "/api/alerts/mine", member)
    assert alert["drill"] is True
    call(api, "POST", f"/api/alerts/{alert['id']}/accept", member)  # at the post already: muster by position
    passed = _scored(api, admin, drill["id"])
    assert passed["status"] == "passed", passed
    other = next(
        u
        for u in call(api, "GET", "/api/units?page_size=50", admin)["items"]
        if u["district_id"] != unit["district"]["id"]
    )
    for _ in range(2):
        [silent] = call(api, "POST", "/api/drills/adhoc", admin, _circle(other))
        assert _scored(api, admin, silent["id"])["status"] == "failed"
    return unit, other


@pytest.mark.browser
def test_drills_page_draws_charts_map_and_tables_and_switches_to_english(
    page: Page, live_server: Any, sign_in: SignIn, api: httpx.Client, js_errors: list[str], tmp_path: Path
) -> None:
    unit, other = _drills(api, live_server.password)
    sign_in()
    page.click("[data-testid=drills-link]")
    page.wait_for_function(LOADED_JS)
    expect(page.locator("[data-testid=report-title]")).to_contain_text("拉动测试")
    expect(page.locator("[data-testid=report-title]")).to_contain_text("演练")

    bars = page.locator("#district-bars .pass-bar")
    expect(bars).to_have_count(2)  # two districts drilled: one all passed, one all failed
    rates = sorted(float(r) for r in bars.evaluate_all("bars => bars.map((b) => b.dataset.rate)"))
    assert rates == [0.0, 1.0]
    histogram = page.locator("#ack-histogram .ack-bar")
    expect(histogram).to_have_count(13)  # 10-second bins to 2 minutes, then the overflow
    assert sum(histogram.evaluate_all("bars => bars.map((b) => Number(b.dataset.count))")) == 1
    expect(page.locator("#ack-histogram .mark-text")).to_have_text("1分钟")
    expect(page.locator("#weak-map path.weak-flagged")).to_have_count(1)
    weak = page.locator("[data-testid=weak-table] tbody tr")
    expect(weak).to_have_count(1)
    expect(weak.first).to_have_attribute("data-unit-id", str(other["id"]))
    expect(weak.first).to_have_attribute("data-flagged", "true")
    ranking = page.locator("[data-testid=ranking-table] tbody tr")
    expect(ranking).to_have_count(2)
    expect(ranking.first).to_have_attribute("data-id", str(unit["district"]["id"]))  # the passing district first
    expect(page.locator("#kpis")).to_contain_text("33.3%")
    page.mouse.move(10, 10)
    page.screenshot(path=tmp_path / "drills-zh.png", full_page=True)

    page.select_option("[data-testid=group-by]", "unit")
    page.wait_for_function(LOADED_JS)
    expect(ranking.first).to_have_attribute("data-id", str(unit["id"]))

    page.click("[data-testid=lang-switch]")
    expect(page.locator("[data-testid=report-title]")).to_contain_text("Readiness drills")
    expect(page.locator("[data-testid=report-title]")).to_contain_text("DRILL")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("[data-testid=ranking-table] thead")).to_contain_text("Pass rate")
    expect(page.locator("#ack-histogram .mark-text")).to_have_text("1 min")
    page.screenshot(path=tmp_path / "drills-en.png", full_page=True)
    assert js_errors == []
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(tmp_path / "drills-zh.png", SCREENSHOT)


@pytest.mark.browser
def test_drills_page_without_a_session_asks_to_sign_in(page: Page, live_server: Any, js_errors: list[str]) -> None:
    page.goto(f"{live_server.url}/drills.html")
    expect(page.locator("#report-status")).to_contain_text("请先登录指挥平台")
    assert js_errors == []
