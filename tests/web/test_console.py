"""The command console in a real browser, as the 天河 district operator: a polygon drawn on the
map selects the expected units and members, a group command reaches exactly the members inside
with receipts shown live; an incident reported by clicking the map is followed through its
responders, notes and closing; fences drawn and deleted; the on-duty board."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import shapely
from playwright.sync_api import Page, expect
from sqlalchemy import select

from jiefang.units.models import Unit

from .conftest import Headers, call, login_http, map_pixel  # type: ignore[import-not-found]

SignIn = Callable[..., None]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CONSOLE_ON_JS = "document.body.dataset.console === 'on'"
CLOCK = re.compile(r"^\d+:\d\d$")


def _go_to_placed_unit(page: Page, sessions: Any, placed_members: Any) -> None:
    """Find the unit at whose site the members were placed_members; the map centres on it."""
    with sessions() as s:
        unit = s.scalar(select(Unit).where(Unit.lon == placed_members.lon, Unit.lat == placed_members.lat))
    page.fill("#unit-search", unit.name)
    page.click(f'#unit-search-results [data-unit-id="{unit.id}"]')
    expect(page.locator("#unit-panel")).to_be_visible()
    page.click("[data-testid=unit-panel-close]")


def _logins(api: httpx.Client, admin: Headers, members: list[int], password: str) -> dict[int, Headers]:
    out = {}
    for m in members:
        call(api, "POST", "/api/accounts", admin, {"username": f"m-{m}", "password": password, "role": "member",
                                                   "member_id": m})
        out[m] = login_http(api, f"m-{m}", password)
    return out


def _shoot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name))


@pytest.mark.browser
def test_a_drawn_polygon_selects_the_units_and_members_inside_and_the_command_reaches_exactly_them(
    placed_members: Any, live_server: Any, page: Page, sign_in: SignIn, api: httpx.Client, sessions: Any,
    js_errors: list[str],
) -> None:
    admin = login_http(api, live_server.username, live_server.password)
    members = _logins(api, admin, placed_members.inside + placed_members.outside, live_server.password)
    sign_in("op-440106")
    page.wait_for_function(CONSOLE_ON_JS)
    _go_to_placed_unit(page, sessions, placed_members)

    sent: list[dict[str, Any]] = []
    page.on("request", lambda r: sent.append(json.loads(r.post_data or "{}")) if r.url.endswith("/api/selection")
            else None)
    page.click("[data-testid=tool-polygon]")
    expect(page.locator("#console-panel")).to_have_attribute("data-view", "draw-polygon")
    ring = placed_members.square()["coordinates"][0][:4]
    for lon, lat in ring:
        page.mouse.click(*map_pixel(page, lon, lat))
    expect(page.locator("[data-testid=draw-corners]")).to_contain_text("4")
    page.click("[data-testid=draw-finish]")

    members_inside = str(len(placed_members.inside))
    expect(page.locator("[data-testid=selection-members]")).to_have_attribute("data-value", members_inside)
    drawn = shapely.geometry.shape(sent[-1]["polygon"])
    with sessions() as s:
        units = s.scalars(select(Unit).where(Unit.district_id == placed_members.district_id,
                                             Unit.status == "active")).all()
        expected_units = sum(drawn.contains(shapely.Point(u.lon, u.lat)) for u in units)
    assert expected_units >= 1
    expect(page.locator("[data-testid=selection-units]")).to_have_attribute("data-value", str(expected_units))
    listed = page.locator("[data-testid=selection-list] [data-member]")
    assert sorted(int(x) for x in listed.evaluate_all("rows => rows.map(r => r.dataset.member)")) == sorted(
        placed_members.inside)

    page.fill("[data-testid=command-text]", "请立即到正门集合，带上灭火器")
    page.select_option("[data-testid=command-priority]", "urgent")
    page.check("[data-testid=command-reply]")
    page.click("[data-testid=command-send]")
    receipts = page.locator("[data-testid=receipts] tbody tr")
    expect(receipts).to_have_count(len(placed_members.inside))
    assert sorted(int(x) for x in receipts.evaluate_all("rows => rows.map(r => r.dataset.member)")) == sorted(
        placed_members.inside)
    expect(page.locator("[data-testid=command-progress]")).to_have_attribute("data-delivered", "0")

    first, second, _third = placed_members.inside
    inbox = call(api, "GET", "/api/commands/mine", members[first])
    command_id = inbox[0]["id"]
    call(api, "POST", f"/api/commands/{command_id}/read", members[first])
    call(api, "POST", f"/api/commands/{command_id}/reply", members[second], {"text": "收到，两分钟到"})
    expect(page.locator(f'[data-testid=receipts] tr[data-member="{first}"]')).to_have_attribute("data-state", "read")
    expect(page.locator(f'[data-testid=receipts] tr[data-member="{second}"]')).to_have_attribute(
        "data-state", "replied")
    expect(page.locator(f'[data-testid=receipts] tr[data-member="{second}"] .reply')).to_have_text("收到，两分钟到")
    expect(page.locator("[data-testid=command-progress]")).to_have_attribute("data-replied", "1")
    for m in placed_members.outside:
        assert call(api, "GET", "/api/commands/mine", members[m]) == []
    _shoot(page, "console-group-command.png")
    assert js_errors == []


@pytest.mark.browser
def test_an_incident_reported_on_the_map_is_followed_through_responders_notes_and_closing(
    placed_members: Any, live_server: Any, page: Page, sign_in: SignIn, api: httpx.Client, sessions: Any,
    js_errors: list[str],
) -> None:
    admin = login_http(api, live_server.username, live_server.password)
    members = _logins(api, admin, placed_members.inside + placed_members.outside, live_server.password)
    sign_in("op-440106")
    page.wait_for_function(CONSOLE_ON_JS)
    _go_to_placed_unit(page, sessions, placed_members)

    page.click("[data-testid=tool-new-incident]")
    # 200 m and more from everyone: nobody arrives by position alone
    page.mouse.click(*map_pixel(page, *placed_members.east(-200)))
    page.select_option("[data-testid=incident-type]", "public_order")
    page.fill("[data-testid=incident-address]", "天河路正门")
    page.click("[data-testid=submit-incident]")
    expect(page.locator("#console-panel")).to_have_attribute("data-view", "incident")
    rows = page.locator("[data-testid=responders] tbody tr")
    expect(rows.first).to_be_visible()
    expect(page.locator("[data-testid=tiers] li")).to_have_count(3)
    expect(page.locator("[data-testid=incident-clock]")).to_have_text(CLOCK)
    incident = call(api, "GET", "/api/incidents?open_only=true", admin)[0]
    assert incident["address"] == "天河路正门"
    page.wait_for_function("Number(document.body.dataset.openIncidents) >= 1")
    assert page.locator(".reach-ring").count() == 3

    alert = call(api, "GET", "/api/alerts/mine", members[placed_members.inside[1]])[0]
    call(api, "POST", f"/api/alerts/{alert['id']}/accept", members[placed_members.inside[1]])
    row = page.locator(f'[data-testid=responders] tr[data-member="{placed_members.inside[1]}"]')
    expect(row).to_have_attribute("data-status", "accepted")
    now = time.time()
    for metres, t in ((60, now - 3), (20, now)):  # on the way: the trail grows from live positions
        lon, lat = placed_members.east(metres)
        fix = {"lon": lon, "lat": lat, "t": t, "accuracy_m": 10}
        call(api, "POST", "/api/positions", members[placed_members.inside[1]], fix)
    expect(page.locator(".responder-trail")).to_have_count(1)
    call(api, "POST", f"/api/alerts/{alert['id']}/arrived", members[placed_members.inside[1]])
    expect(row).to_have_attribute("data-status", "arrived")

    page.fill("[data-testid=note-text]", "请注意北门方向")
    page.press("[data-testid=note-text]", "Enter")
    expect(page.locator("[data-testid=notes]")).to_contain_text("请注意北门方向")
    note = {"text": "已控制现场"}
    call(api, "POST", f"/api/incidents/{incident['id']}/notes", members[placed_members.inside[1]], note)
    expect(page.locator("[data-testid=notes]")).to_contain_text("已控制现场")
    _shoot(page, "console-incident.png")

    page.select_option("[data-testid=close-outcome]", "resolved")
    page.click("[data-testid=close-incident]")
    expect(page.locator("[data-testid=incident-status]")).to_contain_text("已处置")
    assert call(api, "GET", f"/api/incidents/{incident['id']}", admin)["status"] == "resolved"
    assert js_errors == []


@pytest.mark.browser
def test_fences_are_drawn_saved_and_deleted_and_the_board_counts_who_is_on_duty(
    placed_members: Any, live_server: Any, page: Page, sign_in: SignIn, api: httpx.Client, sessions: Any,
    js_errors: list[str],
) -> None:
    sign_in("op-440106")
    page.wait_for_function(CONSOLE_ON_JS)
    _go_to_placed_unit(page, sessions, placed_members)
    page.click("[data-testid=tool-fences]")
    page.click("[data-testid=fence-draw-circle]")
    page.mouse.click(*map_pixel(page, placed_members.lon, placed_members.lat))
    page.mouse.click(*map_pixel(page, *placed_members.east(250)))
    page.fill("[data-testid=fence-name]", "天河测试敏感区")
    page.select_option("[data-testid=fence-kind]", "sensitive_area")
    page.click("[data-testid=fence-save]")
    item = page.locator("[data-testid=fence-list] li", has_text="天河测试敏感区")
    expect(item).to_have_count(1)
    operator = login_http(api, "op-440106", live_server.password)
    fence = next(f for f in call(api, "GET", "/api/fences", operator) if f["name"] == "天河测试敏感区")
    assert 200 < fence["radius_m"] < 300
    page.click(f"[data-testid=retire-{fence['id']}]")
    expect(item).to_have_count(0)

    page.click("[data-testid=tool-areas]")
    page.mouse.click(*map_pixel(page, placed_members.lon, placed_members.lat))
    picked = page.locator("[data-testid=picked-areas] li")
    expect(picked).to_have_count(1)
    grid_id = int(picked.first.get_attribute("data-area") or 0)
    page.click("[data-testid=draw-finish]")
    answer = call(api, "POST", "/api/selection", operator, {"kind": "areas", "area_ids": [grid_id]})
    assert answer["members"] >= 1  # the placed_members unit's site is in this grid, and someone stands on it
    expect(page.locator("[data-testid=selection-members]")).to_have_attribute("data-value", str(answer["members"]))
    expect(page.locator("[data-testid=selection-units]")).to_have_attribute("data-value", str(answer["units"]))
    page.click("[data-testid=selection-drill]")  # an ad-hoc readiness drill of the units in the grid
    expect(page.locator(".console-info")).to_contain_text(str(answer["units"]))
    drills = call(api, "GET", "/api/drills", operator)
    assert len(drills) == answer["units"] and {d["kind"] for d in drills} == {"adhoc"}

    page.click("[data-testid=tool-board]")
    expect(page.locator("[data-testid=board] tbody tr").first).to_be_visible()
    deadline = time.monotonic() + 5
    while "在岗合计" not in (page.text_content("[data-testid=board-total]") or "") and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    total = int("".join(ch for ch in page.text_content("[data-testid=board-total]") or "" if ch.isdigit()))
    assert total >= len(placed_members.inside) + len(placed_members.outside)
    page.click("[data-testid=lang-switch]")
    expect(page.locator("[data-testid=console-title]")).to_have_text("Duty board")
    expect(page.locator("[data-testid=tool-board]")).to_have_text("Duty board")
    assert js_errors == []


@pytest.mark.browser
def test_the_console_fits_a_1920_by_1080_wall_screen_in_english(
    placed_members: Any, live_server: Any, chromium: Any, api: httpx.Client,
) -> None:
    context = chromium.new_context(viewport={"width": 1920, "height": 1080}, locale="en-GB")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        operator = login_http(api, "op-440106", live_server.password)
        fire = {"type": "fire", "lon": placed_members.lon, "lat": placed_members.lat, "address": "Tianhe Road gate"}
        call(api, "POST", "/api/incidents", operator, fire)
        page.goto(live_server.url)
        page.click("[data-testid=lang-switch]")
        page.fill("#login-username", "op-440106")
        page.fill("#login-password", live_server.password)
        page.click("#login-submit")
        page.wait_for_function(CONSOLE_ON_JS)
        page.click("[data-testid=tool-incidents]")
        expect(page.locator("[data-testid=console-title]")).to_have_text("Open incidents")
        page.click("[data-testid=incident-list] .console-row")
        expect(page.locator("[data-testid=tiers] li").first).to_contain_text("1-min self-rescue")
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
        page.keyboard.press("Tab")  # the console is reachable from the keyboard
        _shoot(page, "console-wall-screen-en.png")
        assert errors == []
    finally:
        context.close()
