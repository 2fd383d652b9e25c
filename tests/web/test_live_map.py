"""The live picture of the command-centre map: members on duty, electronic fences and fence
alerts arriving over the WebSocket, against the real server and the small city."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from jiefang.tracking.fences import FENCE_KINDS

from .conftest import Headers, call, login_http  # type: ignore[import-not-found]

SignIn = Callable[..., None]

FENCES_LOADED_JS = "document.body.dataset.fencesShown !== undefined"
PICTURE_LOADED_JS = f"document.body.dataset.membersOnDuty !== undefined && {FENCES_LOADED_JS}"
METRES_PER_DEGREE_OF_LATITUDE = 111_320.0
FENCE_NAME = "测试围栏"
MAP_AT_REST_JS = "!document.querySelector('.leaflet-zoom-anim, .leaflet-cluster-anim, .leaflet-pan-anim')"
POPUP_SHOWN_JS = "getComputedStyle(document.querySelector('.leaflet-popup')).opacity === '1'"


def _put_demo_member_on_duty(api: httpx.Client, password: str) -> tuple[Headers, float, float]:
    """Check the demo member in at a new post of their unit; return their headers and the post's lon, lat."""
    leader = login_http(api, "leader-demo", password)
    unit_id = call(api, "GET", "/api/auth/me", leader)["unit_id"]
    unit = call(api, "GET", f"/api/units/{unit_id}", leader)
    lon, lat = unit["lon"], unit["lat"]
    post = call(api, "POST", f"/api/units/{unit_id}/posts", leader, {"name": "正门岗", "lon": lon, "lat": lat})
    token = call(api, "GET", f"/api/posts/{post['id']}/token", leader)["token"]
    member = login_http(api, "member-demo", password)
    call(api, "POST", "/api/duty/check-in", member, {"token": token, "lon": lon, "lat": lat})
    return member, lon, lat


def _send_fix(api: httpx.Client, member: Headers, lon: float, lat: float, t: float) -> None:
    answer = call(api, "POST", "/api/positions", member, {"lon": lon, "lat": lat, "t": t, "accuracy_m": 10})
    assert answer["accepted"] == 1, answer


def _shown(page: Page, name: str) -> int:
    return int(page.evaluate(f"document.body.dataset.{name}"))


def _wait_until(page: Page, condition: Callable[[], bool], what: str, timeout_s: float = 15.0) -> None:
    """Let the page run until a condition on what the test has seen holds."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        page.wait_for_timeout(100)


@pytest.mark.browser
def test_member_on_duty_a_new_fence_and_its_alert_appear_without_reloading(
    page: Page, live_server: Any, sign_in: SignIn, api: httpx.Client, js_errors: list[str], tmp_path: Path
) -> None:
    sign_in()
    page.wait_for_function(PICTURE_LOADED_JS)
    page.evaluate("window.sameDocument = true")  # gone if the page were reloaded
    members_before, fences_before = _shown(page, "membersOnDuty"), _shown(page, "fencesShown")
    expect(page.locator("#on-duty-count")).to_have_text(f"在岗 {members_before:,} 人")

    member, lon, lat = _put_demo_member_on_duty(api, live_server.password)
    now = time.time()
    _send_fix(api, member, lon, lat, now - 90)
    page.wait_for_function(f"Number(document.body.dataset.membersOnDuty) >= {members_before + 1}")
    expect(page.locator("#on-duty-count")).to_have_text(f"在岗 {members_before + 1:,} 人")
    expect(page.locator('[data-overlay="members"] .legend-count')).to_have_text(f"{members_before + 1:,}")

    admin = login_http(api, live_server.username, live_server.password)
    fence = {"name": FENCE_NAME, "kind": "sensitive_area", "center_lon": lon, "center_lat": lat, "radius_m": 300}
    fence_id = call(api, "POST", "/api/fences", admin, fence)["id"]
    d = 0.01
    ring = [[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d], [lon - d, lat - d]]
    perimeter = {"name": "警戒区", "kind": "incident_perimeter", "polygon": {"type": "Polygon", "coordinates": [ring]}}
    perimeter_id = call(api, "POST", "/api/fences", admin, perimeter)["id"]
    page.wait_for_function(f"Number(document.body.dataset.fencesShown) === {fences_before + 2}")
    expect(page.locator("path.fence-sensitive_area")).to_have_count(1)
    expect(page.locator("path.fence-incident_perimeter")).to_have_count(1)

    # Out of the area and back in (33 m/s, a plausible speed): entering it is an alert.
    _send_fix(api, member, lon, lat + 1000 / METRES_PER_DEGREE_OF_LATITUDE, now - 60)
    _send_fix(api, member, lon, lat, now - 30)
    member_id = call(api, "GET", "/api/auth/me", member)["member_id"]
    member_name = call(api, "GET", f"/api/members/{member_id}", admin)["name"]
    alert = page.locator("[data-testid=alert]").first
    expect(alert).to_contain_text(f"{member_name} 进入{FENCE_KINDS['sensitive_area'][0]}“{FENCE_NAME}”")
    page.mouse.move(700, 80)
    page.screenshot(path=tmp_path / "live-zh.png", full_page=True)

    # The alert takes the map to the member, who stands alone there: click for who it is.
    alert.click()
    page.wait_for_function(MAP_AT_REST_JS)
    page.locator("path.member-marker").click()
    expect(page.locator(".member-popup")).to_contain_text(member_name)
    page.wait_for_function(POPUP_SHOWN_JS)  # faded in
    # Beside the member, the pointer goes through the members' layer to the fence.
    box = page.locator("path.member-marker").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2 + 60)
    expect(page.locator(".fence-label")).to_have_text(f"{FENCE_NAME} · {FENCE_KINDS['sensitive_area'][0]}")
    page.screenshot(path=tmp_path / "live-member-zh.png", full_page=True)

    page.click("#lang-switch")
    expect(page.locator("#on-duty-count")).to_have_text(f"On duty: {members_before + 1:,}")
    expect(alert).to_contain_text(f"{member_name} entered sensitive area “{FENCE_NAME}”")
    page.click("#lang-switch")

    # Retiring the fence and going off duty take them off the map again.
    for retired in (fence_id, perimeter_id):
        call(api, "DELETE", f"/api/fences/{retired}", admin)
    page.wait_for_function(f"Number(document.body.dataset.fencesShown) === {fences_before}")
    expect(page.locator("path.fence")).to_have_count(0)
    call(api, "POST", "/api/duty/check-out", member, {})
    page.wait_for_function(f"Number(document.body.dataset.membersOnDuty) === {members_before}")
    assert page.evaluate("window.sameDocument") is True
    assert js_errors == []


@pytest.mark.browser
def test_unit_leader_sees_fences_but_no_members_layer(page: Page, sign_in: SignIn, js_errors: list[str]) -> None:
    sign_in("leader-demo")
    page.wait_for_function(FENCES_LOADED_JS)  # positions are refused (403): no members layer
    expect(page.locator("#on-duty")).to_be_hidden()
    expect(page.locator('[data-overlay="members"]')).to_have_count(0)
    expect(page.locator('[data-overlay="fences"]')).to_be_visible()
    assert page.evaluate("document.body.dataset.membersOnDuty") is None
    assert js_errors == []


@pytest.mark.browser
def test_feed_reconnects_for_the_missed_events_and_reloads_on_resync(
    page: Page, sign_in: SignIn, js_errors: list[str]
) -> None:
    """The socket is staged: its server drops the connection, replays, and asks for a resync."""
    sockets: list[Any] = []
    auths: list[dict[str, Any]] = []
    snapshots: list[str] = []

    def serve(ws: Any) -> None:
        def on_message(text: str | bytes) -> None:
            frame = json.loads(text)
            if frame["type"] == "auth":
                auths.append(frame)
                ws.send(json.dumps({"type": "hello", "seq": 7 if len(auths) > 1 else 5}))

        ws.on_message(on_message)
        sockets.append(ws)

    def send(frame: dict[str, Any]) -> None:
        sockets[-1].send(json.dumps(frame))

    page.on("request", lambda request: request.url.endswith("/api/positions/live") and snapshots.append(request.url))
    page.route_web_socket("**/api/ws", serve)
    sign_in()
    page.wait_for_function(PICTURE_LOADED_JS)
    before = _shown(page, "membersOnDuty")
    assert auths[0].get("since") is None and len(snapshots) == 1

    send({"type": "positions", "seq": 6, "moved": [[990001, 1, 113.3, 23.1]], "gone": []})
    page.wait_for_function(f"Number(document.body.dataset.membersOnDuty) === {before + 1}")

    sockets[-1].close(code=1012)  # the server restarts its worker: reconnect, asking for seq > 6
    _wait_until(page, lambda: len(auths) == 2, "the reconnection")
    assert auths[1]["since"] == 6
    send({"type": "positions", "seq": 6, "moved": [[990002, 1, 113.3, 23.1]], "gone": []})  # seen: ignored
    send({"type": "positions", "seq": 7, "moved": [], "gone": [990001]})
    page.wait_for_function(f"Number(document.body.dataset.membersOnDuty) === {before}")
    assert len(snapshots) == 1  # replayed, not reloaded

    send({"type": "resync"})
    sockets[-1].close(code=1013)
    _wait_until(page, lambda: len(snapshots) == 2, "the reload after resync")
    assert auths[2].get("since") is None
    expect(page.locator("#live-dot")).to_have_attribute("data-state", "live")
    assert _shown(page, "membersOnDuty") == before
    assert js_errors == []
