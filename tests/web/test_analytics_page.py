"""The coverage analytics page against the real server: hex map by hour, gap list, placement on the
map and the governance index, Chinese first, then English."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

SignIn = Callable[..., None]
COVERAGE_LOADED = "document.body.dataset.coverageLoaded === '{hour}' && Number(document.body.dataset.hexCells) > 100"


@pytest.mark.browser
def test_hex_map_follows_the_hour_slider_and_placement_marks_sites(
    page: Page, live_server: Any, sign_in: SignIn, js_errors: list[str], tmp_path: Path
) -> None:
    sign_in()
    page.click("[data-testid=analytics-link]")
    page.wait_for_function(COVERAGE_LOADED.format(hour=10), timeout=60_000)
    expect(page.locator("[data-testid=report-title]")).to_have_text("覆盖分析")
    expect(page.locator("[data-testid=hour-label]")).to_contain_text("10:00")
    expect(page.locator("#kpis")).to_contain_text("在岗队员")
    expect(page.locator("[data-testid=gap-table] tbody tr").first).to_be_visible()
    expect(page.locator("#coverage-map canvas").first).to_be_visible()

    page.locator("[data-testid=hour]").fill("3")
    page.wait_for_function(COVERAGE_LOADED.format(hour=3), timeout=60_000)
    expect(page.locator("[data-testid=hour-label]")).to_contain_text("3:00")

    # nobody is rostered at 3 a.m. in the demo city: grey hexes; by unit sites some are reached
    assert page.evaluate("document.body.dataset.hexReached") == "0"
    page.select_option("[data-testid=colour-by]", "unit")
    page.wait_for_function("Number(document.body.dataset.hexReached) > 0")

    page.fill("[data-testid=placement-k]", "4")
    page.click("[data-testid=placement-run]")
    page.wait_for_function("document.body.dataset.placementSites === '4'", timeout=60_000)
    expect(page.locator("[data-testid=placement-result]")).to_contain_text("3分钟覆盖")
    # candidate sites from a CSV file: the one given point is the only site that can be chosen
    lon, lat = 113.323, 23.137  # 天河体育中心, inside 天河区
    csv = tmp_path / "candidates.csv"
    csv.write_text(f"name,lon,lat\n体育中心,{lon},{lat}\n", encoding="utf-8")
    page.set_input_files("[data-testid=placement-file]", str(csv))
    page.click("[data-testid=placement-run]")
    page.wait_for_function("document.body.dataset.placementSites === '1'", timeout=60_000)

    page.wait_for_function("Number(document.body.dataset.indexLoaded) === 11", timeout=60_000)
    expect(page.locator("[data-testid=index-table] tbody tr")).to_have_count(11)
    expect(page.locator("[data-testid=index-table] tbody")).to_contain_text("无数据")  # hazard resolution
    expect(page.locator("#index-trend polyline")).to_have_count(1)
    page.screenshot(path=tmp_path / "analytics-zh.png", full_page=True)

    page.click("[data-testid=lang-switch]")
    expect(page.locator("[data-testid=report-title]")).to_have_text("Coverage analytics")
    expect(page.locator("[data-testid=index-table] tbody")).to_contain_text("no data")
    expect(page.locator("[data-testid=placement-result]")).to_contain_text("3-min coverage")
    expect(page.locator("#index-trend")).to_contain_text("index by month")
    page.screenshot(path=tmp_path / "analytics-en.png", full_page=True)
    assert js_errors == []


@pytest.mark.browser
def test_analytics_without_a_session_asks_to_sign_in(page: Page, live_server: Any, js_errors: list[str]) -> None:
    page.goto(f"{live_server.url}/analytics.html")
    expect(page.locator("#report-status")).to_contain_text("请先登录指挥平台")
    assert js_errors == []
