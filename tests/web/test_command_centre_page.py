"""The command-centre page in a real browser, against the real server and the small city."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from jiefang.people.vocab import ACCOUNT_ROLES, SKILLS
from jiefang.tracking.fences import FENCE_KINDS
from jiefang.units.vocab import CATEGORIES, EQUIPMENT

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "src" / "jiefang" / "web" / "static"
README_SCREENSHOT = ROOT / "docs" / "screenshots" / "command-centre.png"
TITLE_ZH = "广州市最小应急单元指挥平台"
TITLE_EN = "Jiefang command centre"

SignIn = Callable[..., None]
TOKEN_JS = "sessionStorage.getItem('jiefang.token')"
CALL_API_JS = """async ([method, path]) => {
  const token = sessionStorage.getItem('jiefang.token');
  const r = await fetch(path, {method, headers: {Authorization: 'Bearer ' + token}});
  const text = await r.text();
  return {status: r.status, body: text ? JSON.parse(text) : null};
}"""
UNITS_LOADED_JS = "Number(document.body.dataset.unitsLoaded) > 0"
SEARCH_JS = """(name) => {
  const box = document.querySelector('#unit-search');
  box.value = name;
  box.dispatchEvent(new Event('input'));
  box.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true}));
}"""
MAP_AT_REST_JS = "!document.querySelector('.leaflet-zoom-anim, .leaflet-cluster-anim, .leaflet-pan-anim')"


def _api(page: Page, path: str, method: str = "GET") -> Any:
    """Call the API from inside the page with the page's own token; return the JSON body."""
    answer = page.evaluate(CALL_API_JS, [method, path])
    assert answer["status"] < 300, answer
    return answer["body"]


def _fits_viewport(page: Page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth <= innerWidth && document.documentElement.scrollHeight <= innerHeight"
    )


def _distinct_unit(page: Page) -> dict[str, Any]:
    """A unit whose name is in no other unit's name, so searching for it lists it first."""
    points = _api(page, "/api/units/points")
    units = [dict(zip(points["fields"], row, strict=True)) for row in points["rows"]]
    names = [u["name"] for u in units]
    for unit in units:
        if sum(unit["name"] in other for other in names) == 1:
            return unit
    raise AssertionError("every unit name is part of another one")


def _find_unit(page: Page, name: str) -> None:
    """Search a unit by name and pick it: the map zooms to it and its panel opens."""
    page.fill("#unit-search", name)
    expect(page.locator("#unit-search-results [role=option]").first).to_contain_text(name)
    page.press("#unit-search", "Enter")
    expect(page.locator("#unit-panel")).to_be_visible()
    expect(page.locator("[data-testid=unit-category]")).to_be_visible()  # details loaded
    page.wait_for_function(MAP_AT_REST_JS)


def _zoom_out_until_scale_reads(page: Page, scale: str) -> None:
    for _ in range(6):
        page.wait_for_function(MAP_AT_REST_JS)
        if page.inner_text(".leaflet-control-scale-line") == scale:
            return
        page.click(".leaflet-control-zoom-out")
    raise AssertionError(f"the scale bar never read {scale}")


def _district_names(page: Page, key: str) -> list[str]:
    features = _api(page, "/api/areas/geojson?level=district")["features"]
    return sorted(f["properties"][key] or f["properties"]["name"] for f in features)


def test_i18n_labels_match_the_python_vocabularies() -> None:
    text = (STATIC / "i18n.js").read_text(encoding="utf-8")
    for vocabulary in (CATEGORIES, EQUIPMENT, ACCOUNT_ROLES, FENCE_KINDS, SKILLS):
        for key, (zh, en) in vocabulary.items():
            assert f'{key}: {{ zh: "{zh}", en: "{en}" }}' in text, key


@pytest.mark.browser
def test_wrong_password_shows_the_servers_message_and_keeps_the_form(
    page: Page, live_server: Any, js_errors: list[str]
) -> None:
    page.goto(live_server.url)
    expect(page.locator("#app-title")).to_have_text(TITLE_ZH)
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("#login-username")).to_be_focused()
    page.fill("#login-username", live_server.username)
    page.fill("#login-password", "not-the-password")
    with page.expect_response("**/api/auth/login") as refused:
        page.press("#login-password", "Enter")
    assert refused.value.status == 401
    expect(page.locator("#login-error")).to_have_text(refused.value.json()["message"])
    expect(page.locator("#workspace")).to_be_hidden()
    assert page.evaluate(TOKEN_JS) is None
    assert js_errors == []


@pytest.mark.browser
def test_operator_sees_the_districts_the_units_and_the_city_figures(
    page: Page, live_server: Any, sign_in: SignIn, js_errors: list[str], tmp_path: Path
) -> None:
    sign_in()
    expect(page.locator("#login-view")).to_be_hidden()
    expect(page.locator("#current-user")).to_contain_text(live_server.username)
    expect(page.locator("#current-user")).to_contain_text(ACCOUNT_ROLES["city_admin"][0])
    stats = _api(page, "/api/stats")
    for key in ("districts", "units", "grids", "police_grids"):
        expect(page.locator(f"#stat-{key}")).to_have_text(f"{stats[key]:,}")
    assert stats["districts"] >= 11

    page.wait_for_function("document.querySelectorAll('path.district').length >= 11")
    assert sorted(page.locator(".district-label").all_inner_texts()) == _district_names(page, "name")
    assert page.locator(".unit-cluster, .unit-marker").count() > 0
    legend = page.locator("#legend")
    for zh, _en in CATEGORIES.values():
        expect(legend).to_contain_text(zh)
    assert page.locator("path.grid").count() == 0  # grids only from zoom 13 on
    assert _fits_viewport(page)
    page.screenshot(path=tmp_path / "city-zh.png", full_page=True)
    assert js_errors == []


@pytest.mark.browser
def test_operator_finds_a_unit_clicks_it_and_reads_its_details(
    page: Page, sign_in: SignIn, js_errors: list[str], tmp_path: Path
) -> None:
    sign_in()
    unit = _distinct_unit(page)
    detail = _api(page, f"/api/units/{unit['id']}")
    _find_unit(page, unit["name"])
    expect(page.locator("[data-testid=unit-name]")).to_have_text(unit["name"])

    # Close the panel, then open it again from the unit's own marker.
    page.click("#unit-panel-close")
    panel = page.locator("#unit-panel")
    expect(panel).to_be_hidden()
    marker = page.locator(f'.unit-marker[data-unit-id="{unit["id"]}"]')
    marker.click()
    expect(panel).to_be_visible()
    expect(panel.locator("[data-testid=unit-name]")).to_have_text(detail["name"])
    expect(panel.locator("[data-testid=unit-category]")).to_have_text(CATEGORIES[detail["category"]][0])
    expect(panel).to_contain_text(detail["code"])
    expect(panel).to_contain_text(detail["district"]["name"])
    if detail["leader"]:
        expect(panel.locator("[data-testid=unit-leader]")).to_have_text(detail["leader"]["name"])
    for item in detail["equipment"]:
        expect(panel.locator("[data-testid=unit-equipment]")).to_contain_text(EQUIPMENT[item["kind"]][0])
    expect(marker).to_have_class(re.compile(r"\bis-selected\b"))

    # Keyboard: Escape closes the panel and gives focus back to the marker; Enter reopens it.
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(marker).to_be_focused()
    page.keyboard.press("Enter")
    expect(panel.locator("[data-testid=unit-category]")).to_be_visible()

    # Back out to zoom 13: the comprehensive grids of the view are drawn.
    _zoom_out_until_scale_reads(page, "1 km")
    page.wait_for_function("document.querySelectorAll('path.grid').length > 0")
    expect(page.locator("#map-status")).to_be_hidden()
    page.mouse.move(700, 80)  # park the pointer on the stats strip, away from grid tooltips
    page.screenshot(path=tmp_path / "unit-zh.png", full_page=True)
    assert js_errors == []
    README_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(tmp_path / "unit-zh.png", README_SCREENSHOT)


@pytest.mark.browser
def test_english_relabels_the_page_and_is_remembered(
    page: Page, sign_in: SignIn, js_errors: list[str], tmp_path: Path
) -> None:
    sign_in()
    unit = _distinct_unit(page)
    _find_unit(page, unit["name"])
    page.click("#lang-switch")
    expect(page.locator("#app-title")).to_have_text(TITLE_EN)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#lang-switch")).to_have_text("中文")
    expect(page.locator("#current-user")).to_contain_text(ACCOUNT_ROLES["city_admin"][1])
    expect(page.locator("#legend")).to_contain_text(CATEGORIES["urban_village"][1])
    expect(page.locator("[data-testid=unit-category]")).to_have_text(CATEGORIES[unit["category"]][1])
    assert sorted(page.locator(".district-label").all_inner_texts()) == _district_names(page, "name_en")
    page.mouse.move(700, 80)
    page.screenshot(path=tmp_path / "unit-en.png", full_page=True)

    page.reload()
    page.wait_for_function(UNITS_LOADED_JS)
    expect(page.locator("#login-view")).to_be_hidden()  # the token lives on in sessionStorage
    expect(page.locator("#app-title")).to_have_text(TITLE_EN)
    page.click("#lang-switch")
    expect(page.locator("#app-title")).to_have_text(TITLE_ZH)
    assert js_errors == []


@pytest.mark.browser
def test_page_fits_a_1920_by_1080_screen(page: Page, sign_in: SignIn, tmp_path: Path) -> None:
    page.set_viewport_size({"width": 1920, "height": 1080})
    sign_in()
    _find_unit(page, _distinct_unit(page)["name"])
    assert _fits_viewport(page)
    page.screenshot(path=tmp_path / "unit-zh-1920.png", full_page=True)


@pytest.mark.browser
def test_expired_session_returns_to_the_login_form(
    page: Page, live_server: Any, sign_in: SignIn, js_errors: list[str]
) -> None:
    sign_in()
    unit = _distinct_unit(page)
    _api(page, "/api/auth/logout", method="POST")  # the server forgets the token, as on expiry
    # Any background refresh may meet the 401 first and end the session on its own; the search
    # is driven through DOM events so it neither waits for a hidden box nor races that refresh.
    page.evaluate(SEARCH_JS, unit["name"])
    expect(page.locator("#login-form")).to_be_visible()
    expect(page.locator("#login-notice")).to_have_text("登录已过期，请重新登录。")
    assert page.evaluate(TOKEN_JS) is None

    page.fill("#login-username", live_server.username)
    page.fill("#login-password", live_server.password)
    page.click("#login-submit")
    page.wait_for_function(UNITS_LOADED_JS)
    expect(page.locator("#workspace")).to_be_visible()
    assert js_errors == []


@pytest.mark.browser
def test_logout_returns_to_the_login_form_and_forgets_the_token(page: Page, sign_in: SignIn) -> None:
    sign_in()
    token = page.evaluate(TOKEN_JS)
    page.click("#logout-button")
    expect(page.locator("#login-form")).to_be_visible()
    assert page.evaluate(TOKEN_JS) is None
    answer = page.evaluate(
        "async (token) => (await fetch('/api/auth/me', {headers: {Authorization: 'Bearer ' + token}})).status",
        token,
    )
    assert answer == 401


@pytest.mark.browser
def test_grid_refusal_shows_the_servers_message_and_keeps_the_map(
    page: Page, sign_in: SignIn, js_errors: list[str]
) -> None:
    sign_in()
    refusal = "范围内网格过多（测试）"
    # Only the refusal is staged: the small city never has too many grids in one view.
    page.route(
        re.compile(r".*/api/areas/geojson\?level=grid.*"),
        lambda route: route.fulfill(status=422, json={"error": "invalid_input", "message": refusal}),
    )
    _find_unit(page, _distinct_unit(page)["name"])  # zooms in past 13, so grids are asked for
    expect(page.locator("#map-status")).to_have_text(refusal)
    assert page.locator("path.grid").count() == 0
    assert page.locator("path.district").count() >= 11
    assert js_errors == []
