"""Push-to-talk between members on their phones (the member app in real Chromium with its fake
microphone): a member holds talk in their unit's group, another member of the unit hears the
Opus frames and plays them, a member of another unit hears nothing, and the stored recording
decodes with ffprobe at the length of the transmission (±10 %)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from jiefang.people.models import Member

from .conftest import audio_duration_s, call, login_http, need_ffprobe  # type: ignore[import-not-found]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
HOLD_S = 2.0


def _phone(chromium: Any, url: str, username: str, password: str) -> tuple[Any, Page]:
    context = chromium.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", has_touch=False)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{url}/app")
    page.fill("#login-username", username)
    page.fill("#login-password", password)
    page.click("#login-submit")
    expect(page.locator("[data-testid=voice-status]")).to_have_attribute("data-state", "live")
    return context, page


@pytest.mark.browser
def test_a_member_talks_to_their_unit_and_a_member_of_another_unit_hears_nothing(
    live_server: Any, chromium: Any, api: httpx.Client, sessions: Any, tmp_path: Path,
) -> None:
    need_ffprobe()
    admin = login_http(api, live_server.username, live_server.password)
    demo = call(api, "GET", "/api/auth/me", login_http(api, "member-demo", live_server.password))
    with sessions() as s:
        unit_id = s.get_one(Member, demo["member_id"]).unit_id
        mate = s.scalar(select(Member.id).where(Member.unit_id == unit_id, Member.id != demo["member_id"]))
        stranger = s.scalar(select(Member.id).where(Member.unit_id != unit_id))
    for name, member_id in (("voice-mate", mate), ("voice-stranger", stranger)):
        call(api, "POST", "/api/accounts", admin, {"username": name, "password": live_server.password,
                                                   "role": "member", "member_id": member_id})

    contexts = []
    try:
        ctx, speaker = _phone(chromium, live_server.url, "member-demo", live_server.password)
        contexts.append(ctx)
        ctx, mate_page = _phone(chromium, live_server.url, "voice-mate", live_server.password)
        contexts.append(ctx)
        ctx, stranger_page = _phone(chromium, live_server.url, "voice-stranger", live_server.password)
        contexts.append(ctx)
        unit_group = speaker.locator("[data-testid=voice-group]").input_value()
        assert mate_page.locator("[data-testid=voice-group]").input_value() == unit_group
        assert stranger_page.locator("[data-testid=voice-group]").input_value() != unit_group

        talk = speaker.locator("[data-testid=voice-talk]")
        talk.scroll_into_view_if_needed()
        talk.hover()
        speaker.mouse.down()
        speaker.wait_for_function("Number(document.body.dataset.voiceFramesOut) >= 1")
        started = time.monotonic()
        speaker.wait_for_timeout(HOLD_S * 1000)
        speaker.mouse.up()
        held_s = time.monotonic() - started
        mate_page.wait_for_function("Number(document.body.dataset.voiceFramesIn) >= 8")
        mate_page.wait_for_function("Number(document.body.dataset.voicePlayed) >= 1")
        expect(mate_page.locator("[data-testid=voice-history] li")).to_have_count(1)
        assert stranger_page.evaluate("document.body.dataset.voiceFramesIn") is None
        mate_page.locator("[data-testid=voice-card]").scroll_into_view_if_needed()
        mate_page.screenshot(path=str(SCREENSHOTS / "member-push-to-talk.png"))

        mate = login_http(api, "voice-mate", live_server.password)
        [tx] = call(api, "GET", f"/api/voice/groups/{unit_group}/transmissions", mate)
        stranger_headers = login_http(api, "voice-stranger", live_server.password)
        assert api.get(f"/api/voice/transmissions/{tx['id']}/audio", headers=stranger_headers).status_code == 404
        audio = api.get(f"/api/voice/transmissions/{tx['id']}/audio", headers=mate)
        path = tmp_path / "tx.webm"
        path.write_bytes(audio.content)
        decoded_s = audio_duration_s(path)
        recorded_s = int(speaker.evaluate("document.body.dataset.voiceRecordedMs")) / 1000
        assert abs(decoded_s - recorded_s) <= 0.1 * recorded_s, (decoded_s, recorded_s)
        assert abs(tx["duration_ms"] / 1000 - recorded_s) <= 0.1 * recorded_s, (tx, recorded_s)
        assert abs(decoded_s - held_s) <= 0.25 * held_s, (decoded_s, held_s)
    finally:
        for context in contexts:
            context.close()
