"""The 1-3-5 compliance report page against the real server: bars, histogram and table drawn from
an incident reported and answered through the API, Chinese first, then English."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from .conftest import call, login_http  # type: ignore[import-not-found]

SignIn = Callable[..., None]
LOADED_JS = "document.body.dataset.complianceLoaded > 0"


def _answered_incident(api: httpx.Client, password: str) -> dict[str, Any]:
    """An incident at the demo unit's site: the demo member, on duty there, is alerted and on scene
    at once (self-rescue passes); nobody else is on duty, and the incident is closed (the other
    two tiers fail)."""
    leader = login_http(api, "leader-demo", password)
    unit = call(api, "GET", f"/api/units/{call(api, 'GET', '/api/auth/me', leader)['unit_id']}", leader)
    post = call(api, "POST", f"/api/units/{unit['id']}/posts", leader,
                 {"name": "正门岗", "lon": unit["lon"], "lat": unit["lat"]})
    token = call(api, "GET", f"/api/posts/{post['id']}/token", leader)["token"]
    member = login_http(api, "member-demo", password)
    call(api, "POST", "/api/duty/check-in", member, {"token": token, "lon": unit["lon"], "lat": unit["lat"]})
    admin = login_http(api, "admin", password)
    incident = call(api, "POST", "/api/incidents", admin,
                     {"type": "public_order", "lon": unit["lon"], "lat": unit["lat"]})
    [alert] = call(api, "GET", "/api/alerts/mine", member)
    answer = api.post(f"/api/alerts/{alert['id']}/arrived", headers=member)
    assert answer.status_code in (200, 409), answer.text  # 409: already seen on scene by position
    detail = call(api, "GET", f"/api/incidents/{incident['id']}", admin)
    assert [a["status"] for a in detail["assignments"]] == ["arrived"]
    call(api, "POST", f"/api/incidents/{incident['id']}/close", admin, {"outcome": "resolved"})
    return incident


@pytest.mark.browser
def test_report_draws_bars_histogram_and_table_and_switches_to_english(
    page: Page, live_server: Any, sign_in: SignIn, api: httpx.Client, js_errors: list[str], tmp_path: Path
) -> None:
    incident = _answered_incident(api, live_server.password)
    sign_in()
    page.click("[data-testid=compliance-link]")
    page.wait_for_function(LOADED_JS)
    expect(page.locator("[data-testid=report-title]")).to_have_text("1-3-5 达标统计")

    # One district with the incident: three tier bars (self-rescue passed, the others failed),
    # the histogram's 21 bins with the arrival in the first, and the 1/3/5 minute marks.
    bars = page.locator("#district-bars .rate-bar")
    expect(bars).to_have_count(3)
    widths = [float(w) for w in bars.evaluate_all("bars => bars.map((b) => b.getAttribute('width'))")]
    assert widths[0] > 100 * widths[1] and widths[1] == widths[2]
    expect(page.locator("#kpis")).to_contain_text("100%")
    histogram = page.locator("#arrival-histogram .hist-bar")
    expect(histogram).to_have_count(21)
    counts = histogram.evaluate_all("bars => bars.map((b) => Number(b.dataset.count))")
    assert counts == [1] + [0] * 20
    expect(page.locator("#arrival-histogram .mark-line")).to_have_count(3)
    expect(page.locator("#arrival-histogram .mark-text")).to_have_text(["1分钟", "3分钟", "5分钟"])
    rows = page.locator("[data-testid=group-table] tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("区")
    expect(page.locator("[data-testid=group-table] tfoot")).to_contain_text("合计")
    page.screenshot(path=tmp_path / "compliance-zh.png", full_page=True)

    # By incident type: the playbook's name.
    page.select_option("[data-testid=group-by]", "type")
    page.wait_for_function(LOADED_JS)
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-code", incident["type"])
    expect(rows.first).to_contain_text("一般刑事治安案件")

    page.click("[data-testid=lang-switch]")
    expect(page.locator("[data-testid=report-title]")).to_have_text("1-3-5 compliance")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#arrival-histogram .mark-text")).to_have_text(["1 min", "3 min", "5 min"])
    expect(page.locator("[data-testid=group-table] thead")).to_contain_text("Incidents")
    expect(rows.first).to_contain_text("Ordinary criminal or public-order case")
    expect(page.locator("#district-bars .rate-bar")).to_have_count(3)
    page.screenshot(path=tmp_path / "compliance-en.png", full_page=True)
    assert js_errors == []


@pytest.mark.browser
def test_report_without_a_session_asks_to_sign_in(page: Page, live_server: Any, js_errors: list[str]) -> None:
    page.goto(f"{live_server.url}/compliance.html")
    expect(page.locator("#report-status")).to_contain_text("请先登录指挥平台")
    expect(page.locator("#report-status a")).to_have_attribute("href", "/")
    assert js_errors == []
