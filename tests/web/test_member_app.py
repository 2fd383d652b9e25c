"""The member app (/app) on a 390×844 phone: sign in, go on duty with the post's QR token (injected
as the camera would hand it over), receive an alert live, accept, arrive; and actions taken with
the network cut are queued, shown pending and delivered exactly once when it comes back."""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from .conftest import Headers, LiveServer, call, login_http, map_pixel  # type: ignore[import-not-found]

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}
MEMBER = "member-demo"
INCIDENT_EAST_M = 120.0  # at the member's unit (site radius 150 m), outside the 100 m arrival radius


@dataclass
class Scene:
    url: str
    post_token: str
    lon: float
    lat: float
    admin: Headers
    member: Headers
    unit_id: int = 0
    unit_name: str = ""

    def east(self, metres: float) -> tuple[float, float]:
        return self.lon + metres / (111_195.0 * math.cos(math.radians(self.lat))), self.lat


@pytest.fixture
def scene(api: httpx.Client, live_server: LiveServer) -> Scene:
    """A duty post at the demo member's unit site, and the logins the test acts with."""
    leader = login_http(api, "leader-demo", live_server.password)
    unit_id = call(api, "GET", "/api/auth/me", leader)["unit_id"]
    unit = call(api, "GET", f"/api/units/{unit_id}", leader)
    post = call(
        api, "POST", f"/api/units/{unit_id}/posts", leader, {"name": "正门岗", "lon": unit["lon"], "lat": unit["lat"]}
    )
    token = call(api, "GET", f"/api/posts/{post['id']}/token", leader)["token"]
    return Scene(
        live_server.url,
        token,
        unit["lon"],
        unit["lat"],
        login_http(api, "admin", live_server.password),
        login_http(api, MEMBER, live_server.password),
        unit_id,
        unit["name"],
    )


@pytest.fixture
def phone(chromium, scene: Scene) -> Iterator[BrowserContext]:  # type: ignore[no-untyped-def]
    """A phone-sized browser context standing at the post, with location allowed."""
    context = chromium.new_context(
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        geolocation={"longitude": scene.lon, "latitude": scene.lat, "accuracy": 10},
        permissions=["geolocation"],
    )
    context.set_default_timeout(15_000)
    yield context
    context.close()


def _open(phone: BrowserContext, scene: Scene, errors: list[str]) -> Page:
    page = phone.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{scene.url}/app")
    return page


def _sign_in(page: Page, password: str) -> None:
    page.fill("#login-username", MEMBER)
    page.fill("#login-password", password)
    page.click("#login-submit")
    page.wait_for_selector("body[data-ready='true']")


def _go_on_duty(page: Page, scene: Scene) -> None:
    page.evaluate("token => window.jiefangMember.scan(token)", scene.post_token)
    expect(page.get_by_test_id("duty-state")).to_have_attribute("data-on", "true")


def _report_next_to_member(api: httpx.Client, scene: Scene) -> dict[str, Any]:
    lon, lat = scene.east(INCIDENT_EAST_M)
    return call(
        api,
        "POST",
        "/api/incidents",
        scene.admin,
        {"type": "public_order", "lon": lon, "lat": lat, "address": "正门东侧"},
    )


def _my_alert(api: httpx.Client, scene: Scene, incident_id: int) -> dict[str, Any]:
    mine = call(api, "GET", "/api/alerts/mine", scene.member)
    return next(a for a in mine if a["incident_id"] == incident_id)


def _wait_for_position(api: httpx.Client, scene: Scene, member_id: int, lon: float) -> None:
    deadline = time.monotonic() + 30  # a fix goes out at most every 10 s
    while time.monotonic() < deadline:
        live = call(api, "GET", "/api/positions/live", scene.admin)
        where = dict(zip(live["member_ids"], live["lons"], strict=True))
        if abs(where.get(member_id, 0.0) - lon) < 1e-5:
            return
        time.sleep(0.5)
    pytest.fail(f"the server never saw member {member_id} at lon {lon}")


def _shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"member-{name}.png")


@pytest.mark.browser
def test_member_goes_on_duty_gets_the_alert_within_a_second_accepts_and_arrives(
    phone: BrowserContext, scene: Scene, api: httpx.Client, live_server: LiveServer
) -> None:
    errors: list[str] = []
    page = _open(phone, scene, errors)
    expect(page.locator("#login")).to_be_visible()
    _shot(page, "login")
    _sign_in(page, live_server.password)
    expect(page.get_by_test_id("duty-state")).to_have_attribute("data-on", "false")
    page.get_by_test_id("scan").click()
    expect(page.get_by_test_id("scan-dialog")).to_be_visible()
    expect(page.get_by_test_id("scan-code")).to_be_visible()  # manual entry where the camera cannot scan
    _shot(page, "scan")
    _go_on_duty(page, scene)
    expect(page.get_by_test_id("scan-dialog")).to_be_hidden()
    assert call(api, "GET", "/api/duty/me", scene.member) is not None
    _shot(page, "on-duty")

    incident = _report_next_to_member(api, scene)
    card = page.get_by_test_id("alert-card")
    expect(card).to_be_visible(timeout=1_000)
    expect(card).to_have_attribute("data-status", "alerted")
    expect(card).to_contain_text("正门东侧")
    alert = _my_alert(api, scene, incident["id"])
    assert card.get_attribute("data-assignment") == str(alert["id"])
    _shot(page, "alert")

    card.get_by_test_id("accept").click()
    expect(card).to_have_attribute("data-status", "accepted")
    expect(card.get_by_test_id("nav-geo")).to_have_attribute(
        "href",
        f"geo:{incident['lat']},{incident['lon']}"
        f"?q={incident['lat']},{incident['lon']}(%E6%AD%A3%E9%97%A8%E4%B8%9C%E4%BE%A7)",
    )
    expect(card.get_by_test_id("nav-amap")).to_have_attribute(
        "href",
        f"https://uri.amap.com/navigation?to="
        f"{incident['lon']},{incident['lat']},"
        "%E6%AD%A3%E9%97%A8%E4%B8%9C%E4%BE%A7&mode=walk"
        "&coordinate=wgs84&callnative=1",
    )
    expect(page.get_by_test_id("outbox")).to_be_hidden()  # the answer went out (shown at once, sent just after)
    expect(card.get_by_test_id("alert-pending")).to_have_count(0)
    assert _my_alert(api, scene, incident["id"])["status"] == "accepted"
    _shot(page, "accepted")

    card.get_by_test_id("arrived").click()
    expect(card).to_have_attribute("data-status", "arrived")
    expect(page.get_by_test_id("outbox")).to_be_hidden()
    expect(card.get_by_test_id("alert-pending")).to_have_count(0)
    assert _my_alert(api, scene, incident["id"])["status"] == "arrived"
    _shot(page, "arrived")

    # While on duty the phone's fixes go to the server: step 40 m west and the live picture follows.
    member_id = call(api, "GET", "/api/auth/me", scene.member)["member_id"]
    west_lon, _ = scene.east(-40.0)
    phone.set_geolocation({"longitude": west_lon, "latitude": scene.lat, "accuracy": 10})
    _wait_for_position(api, scene, member_id, west_lon)

    page.get_by_test_id("lang-switch").click()
    expect(card.get_by_test_id("alert-status")).to_contain_text("On scene")
    page.get_by_test_id("check-out").click()
    expect(page.get_by_test_id("duty-state")).to_have_attribute("data-on", "false")
    assert call(api, "GET", "/api/duty/me", scene.member) is None
    assert errors == []


@pytest.mark.browser
def test_actions_taken_offline_are_queued_and_delivered_exactly_once(
    phone: BrowserContext, scene: Scene, api: httpx.Client, live_server: LiveServer
) -> None:
    errors: list[str] = []
    page = _open(phone, scene, errors)
    _sign_in(page, live_server.password)
    _go_on_duty(page, scene)
    incident = _report_next_to_member(api, scene)
    card = page.locator(f"[data-testid=alert-card][data-assignment='{_my_alert(api, scene, incident['id'])['id']}']")
    expect(card).to_be_visible(timeout=1_000)
    page.wait_for_function("navigator.serviceWorker.controller !== null")  # the app shell is kept

    phone.set_offline(True)
    page.wait_for_function("!navigator.onLine")
    expect(page.get_by_test_id("net-state")).to_have_attribute("data-state", "offline")
    card.get_by_test_id("accept").click()
    expect(card.get_by_test_id("alert-pending")).to_be_visible()
    page.get_by_test_id("sos").click()
    page.get_by_test_id("sos-confirm").click()
    outbox = page.get_by_test_id("outbox-item")
    expect(outbox).to_have_count(2)
    expect(page.locator("[data-testid=outbox-item][data-kind=sos][data-state=pending]")).to_be_visible()
    _shot(page, "offline")
    kept = page.evaluate("window.jiefangMember.outboxItems()")
    assert [item["kind"] for item in kept] == ["accept", "sos"]
    assert _my_alert(api, scene, incident["id"])["status"] == "alerted"
    assert _sos_incidents(api, scene) == []

    page.reload()  # a closed and reopened app, still offline: the shell and the queue are still there
    expect(page.get_by_test_id("outbox-item")).to_have_count(2)

    phone.set_offline(False)
    expect(page.get_by_test_id("outbox")).to_be_hidden(timeout=15_000)
    assert _my_alert(api, scene, incident["id"])["status"] == "accepted"
    assert len(_sos_incidents(api, scene)) == 1

    # The answers could have been lost on the way back: the same items flushed again, twice at once.
    page.evaluate(
        """async items => {
        window.jiefangMember.restoreOutbox(items);
        await Promise.all([window.jiefangMember.flush(), window.jiefangMember.flush()]);
    }""",
        kept,
    )
    expect(page.get_by_test_id("outbox")).to_be_hidden()
    assert _my_alert(api, scene, incident["id"])["status"] == "accepted"
    assert len(_sos_incidents(api, scene)) == 1
    expect(card).to_have_attribute("data-status", "accepted")
    assert errors == []


@pytest.mark.browser
def test_an_answer_no_longer_possible_ends_with_a_message(
    phone: BrowserContext, scene: Scene, api: httpx.Client, live_server: LiveServer
) -> None:
    errors: list[str] = []
    page = _open(phone, scene, errors)
    _sign_in(page, live_server.password)
    page.get_by_test_id("scan").click()  # typed in by hand, where the camera cannot read the code
    page.get_by_test_id("scan-code").fill("JF1.0.0.forged")
    page.get_by_test_id("scan-submit").click()
    expect(page.locator("#scan-message")).not_to_be_empty()  # the server's refusal, in the dialog
    page.get_by_test_id("scan-code").fill(scene.post_token)
    page.get_by_test_id("scan-submit").click()
    expect(page.get_by_test_id("duty-state")).to_have_attribute("data-on", "true")
    incident = _report_next_to_member(api, scene)
    card = page.get_by_test_id("alert-card")
    expect(card).to_be_visible(timeout=1_000)
    phone.set_offline(True)
    page.wait_for_function("!navigator.onLine")
    card.get_by_test_id("decline").click()
    call(api, "POST", f"/api/incidents/{incident['id']}/close", scene.admin, {"outcome": "false_alarm"})
    phone.set_offline(False)
    refused = page.locator("[data-testid=outbox-item][data-state=failed]")
    expect(refused).to_be_visible(timeout=15_000)
    expect(page.get_by_test_id("notice")).to_contain_text("情况已变化")
    expect(refused).to_contain_text("already closed")  # the server's own words stay on the item
    _shot(page, "refused")
    refused.get_by_test_id("outbox-dismiss").click()
    expect(page.get_by_test_id("outbox")).to_be_hidden()
    assert errors == []


def _sos_incidents(api: httpx.Client, scene: Scene) -> list[dict[str, Any]]:
    return [i for i in call(api, "GET", "/api/incidents?limit=100", scene.admin) if i["source"] == "sos"]


def test_manifest_and_service_worker_are_served_with_their_types(api: httpx.Client) -> None:
    page = api.get("/app")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'rel="manifest" href="/app/manifest.webmanifest"' in page.text
    manifest = api.get("/app/manifest.webmanifest")
    assert manifest.headers["content-type"] == "application/manifest+json"
    body = json.loads(manifest.text)
    assert body["start_url"] == "/app" and body["display"] == "standalone"
    sizes = {icon["sizes"] for icon in body["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in body["icons"]:
        answer = api.get(icon["src"])
        assert answer.status_code == 200 and answer.headers["content-type"] == icon["type"]
    worker = api.get("/app/sw.js")
    assert worker.headers["content-type"].startswith("text/javascript")
    assert worker.headers["service-worker-allowed"] == "/app"
    assert worker.headers["cache-control"] == "no-cache"


@pytest.mark.browser
def test_group_command_arrives_live_and_a_reply_and_a_note_sent_offline_arrive_once(
    phone: BrowserContext, scene: Scene, api: httpx.Client, live_server: LiveServer
) -> None:
    if api.get("/api/commands/mine", headers=scene.member).status_code == 404:
        pytest.skip("group commands and incident notes are not in this build")
    errors: list[str] = []
    page = _open(phone, scene, errors)
    _sign_in(page, live_server.password)
    _go_on_duty(page, scene)
    circle = {"kind": "circle", "center_lon": scene.lon, "center_lat": scene.lat, "radius_m": 300}
    command = call(
        api,
        "POST",
        "/api/commands",
        scene.admin,
        {"selection": circle, "text": "请到正门集合", "priority": "urgent", "reply_required": True},
    )
    item = page.locator(f"[data-testid=command][data-command='{command['id']}']")
    expect(item).to_be_visible(timeout=2_000)
    expect(item).to_have_attribute("data-priority", "urgent")
    incident = _report_next_to_member(api, scene)
    card = page.locator(f"[data-testid=alert-card][data-assignment='{_my_alert(api, scene, incident['id'])['id']}']")
    expect(card).to_be_visible(timeout=1_000)
    call(api, "POST", f"/api/incidents/{incident['id']}/notes", scene.admin, {"text": "注意安全"})
    expect(card.get_by_test_id("notes")).to_contain_text("注意安全")

    phone.set_offline(True)
    page.wait_for_function("!navigator.onLine")
    item.get_by_test_id("command-reply-text").fill("收到，5分钟到")
    item.get_by_test_id("command-reply-send").click()
    card.get_by_test_id("note-text").fill("已在东门")
    card.get_by_test_id("note-send").click()
    expect(item.get_by_test_id("command-reply")).to_contain_text("收到，5分钟到")
    expect(card.get_by_test_id("notes").locator(".m-pending")).to_be_visible()
    page.get_by_test_id("commands").scroll_into_view_if_needed()
    _shot(page, "commands")
    kept = page.evaluate("window.jiefangMember.outboxItems()")
    phone.set_offline(False)
    expect(page.get_by_test_id("outbox")).to_be_hidden(timeout=15_000)
    page.evaluate("items => { window.jiefangMember.restoreOutbox(items); return window.jiefangMember.flush(); }", kept)
    expect(page.get_by_test_id("outbox")).to_be_hidden()

    receipts = call(api, "GET", f"/api/commands/{command['id']}", scene.admin)["receipts"]
    mine = [r for r in receipts if r["reply"] is not None]
    assert [r["reply"] for r in mine] == ["收到，5分钟到"] and mine[0]["read_at"] is not None
    notes = call(api, "GET", f"/api/incidents/{incident['id']}/notes", scene.admin)
    assert [n["text"] for n in notes].count("已在东门") == 1
    expect(card.get_by_test_id("notes")).to_contain_text("已在东门")
    assert errors == []


def test_member_strings_exist_in_chinese_and_english() -> None:
    text = (ROOT / "src" / "jiefang" / "web" / "static" / "i18n.js").read_text(encoding="utf-8")
    zh, en = text.split("\n  en: {\n", 1)
    keys = [sorted(re.findall(r'^\s+"(member\.[\w.]+)":', part, re.MULTILINE)) for part in (zh, en)]
    assert keys[0] == keys[1] and len(keys[0]) > 50
    used = set(re.findall(r'"(member\.[\w.]+)"', (ROOT / "src/jiefang/web/static/member/index.html").read_text()))
    assert used <= set(keys[0])


@pytest.mark.browser
def test_operator_console_and_member_phone_follow_one_incident_step_by_step(
    chromium, phone: BrowserContext, scene: Scene, live_server: LiveServer  # type: ignore[no-untyped-def]
) -> None:
    errors: list[str] = []
    member = _open(phone, scene, errors)
    _sign_in(member, live_server.password)
    _go_on_duty(member, scene)  # the QR token handed over as the camera would

    desk = chromium.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    desk.set_default_timeout(15_000)
    try:
        operator = desk.new_page()
        operator.on("pageerror", lambda exc: errors.append(str(exc)))
        operator.goto(scene.url)
        operator.fill("#login-username", "admin")
        operator.fill("#login-password", live_server.password)
        operator.click("#login-submit")
        operator.wait_for_function("document.body.dataset.console === 'on'")
        operator.fill("#unit-search", scene.unit_name)
        operator.click(f'#unit-search-results [data-unit-id="{scene.unit_id}"]')
        operator.click("[data-testid=unit-panel-close]")

        operator.click("[data-testid=tool-new-incident]")
        operator.mouse.click(*map_pixel(operator, *scene.east(INCIDENT_EAST_M)))
        operator.select_option("[data-testid=incident-type]", "public_order")
        operator.fill("[data-testid=incident-address]", "正门东侧")
        operator.click("[data-testid=submit-incident]")
        card = member.get_by_test_id("alert-card")
        expect(card).to_be_visible(timeout=1_000)  # on the phone within a second of the report
        member_id = call(httpx.Client(base_url=scene.url), "GET", "/api/auth/me", scene.member)["member_id"]
        staffed = operator.locator(f'[data-testid=unit-marker][data-unit-id="{scene.unit_id}"]')
        expect(staffed).to_have_class(re.compile(r"\bis-staffed\b"))  # the unit shows someone on duty
        row = operator.locator(f'[data-testid=responders] tr[data-member="{member_id}"]')
        expect(row).to_have_attribute("data-status", "alerted")

        card.get_by_test_id("accept").click()
        expect(row).to_have_attribute("data-status", "accepted")
        card.get_by_test_id("arrived").click()
        expect(row).to_have_attribute("data-status", "arrived")
        expect(operator.locator("[data-testid=tiers] li").first).to_contain_text("达标")
        operator.screenshot(path=str(SCREENSHOTS / "console-member-arrived.png"))
        _shot(member, "arrived-with-console")
        assert errors == []
    finally:
        desk.close()


@pytest.mark.browser
def test_member_reports_a_hazard_with_a_photo_and_sees_it_resolved(
    phone: BrowserContext, scene: Scene, api: httpx.Client, live_server: LiveServer, tmp_path: Path
) -> None:
    import io

    from PIL import Image

    photo = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 90, 30)).save(photo, "JPEG")
    errors: list[str] = []
    page = _open(phone, scene, errors)
    _sign_in(page, live_server.password)
    expect(page.get_by_test_id("report-category").locator("option").first).to_be_attached()
    page.get_by_test_id("report-category").select_option("fire_hazard")
    page.get_by_test_id("report-text").fill("楼道堆放杂物，堵塞消防通道")
    page.get_by_test_id("report-photos").set_input_files(
        files=[{"name": "hazard.jpg", "mimeType": "image/jpeg", "buffer": photo.getvalue()}])
    page.get_by_test_id("report-submit").click()
    mine = page.get_by_test_id("my-report")
    expect(mine).to_have_count(1)
    expect(mine).to_have_attribute("data-status", "new")
    report_id = int(mine.get_attribute("data-report") or 0)
    stored = call(api, "GET", f"/api/reports/{report_id}", scene.admin)
    assert len(stored["photos"]) == 1 and stored["text"] == "楼道堆放杂物，堵塞消防通道"
    assert abs(stored["lon"] - scene.lon) < 1e-4 and abs(stored["lat"] - scene.lat) < 1e-4  # the phone's fix

    call(api, "POST", f"/api/reports/{report_id}/status", scene.admin, {"status": "in_progress"})
    expect(mine).to_have_attribute("data-status", "in_progress")
    call(api, "POST", f"/api/reports/{report_id}/status", scene.admin, {"status": "resolved", "note": "已清理"})
    expect(mine).to_have_attribute("data-status", "resolved")  # live, without reloading
    expect(mine).to_contain_text("已办结")
    _shot(page, "hazard-resolved")
    assert errors == []
