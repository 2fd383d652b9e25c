"""Push-to-talk in real Chromium with its fake microphone: an operator holds talk in an incident's
talk group, a second operator in the same group receives the Opus frames and plays them, an
operator of another district in another group receives nothing; the stored recording decodes
with ffprobe and lasts as long as the transmission."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from jiefang.areas.models import Area
from jiefang.units.models import Unit

from .conftest import CHROMIUM_ARGS, audio_duration_s, call, login_http, need_ffprobe  # type: ignore[import-not-found]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
HOLD_S = 2.5


def _console(chromium: Any, url: str, username: str, password: str) -> tuple[Any, Page]:
    context = chromium.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(url)
    page.fill("#login-username", username)
    page.fill("#login-password", password)
    page.click("#login-submit")
    page.wait_for_function("document.body.dataset.console === 'on'")
    page.click("[data-testid=tool-voice]")
    expect(page.locator("[data-testid=voice-status]")).to_have_attribute("data-state", "live")
    return context, page


@pytest.mark.browser
def test_held_talk_reaches_the_same_group_only_and_the_recording_decodes_at_its_length(
    placed_members: Any, live_server: Any, chromium: Any, api: httpx.Client, sessions: Any, tmp_path: Path,
) -> None:
    need_ffprobe()
    assert "--use-fake-device-for-media-stream" in CHROMIUM_ARGS
    admin = login_http(api, live_server.username, live_server.password)
    tianhe = call(api, "POST", "/api/incidents", admin, {"type": "public_order", "lon": placed_members.lon,
                                                         "lat": placed_members.lat, "address": "天河对讲测试"})
    with sessions() as s:
        other = s.scalar(select(Unit).join(Area, Area.id == Unit.district_id).where(Area.code == "440111"))
    call(api, "POST", "/api/incidents", admin, {"type": "fire", "lon": other.lon, "lat": other.lat})

    speaker_ctx, speaker = _console(chromium, live_server.url, "op-440106", live_server.password)
    listener_ctx, listener = _console(chromium, live_server.url, "op-440106", live_server.password)
    outsider_ctx, outsider = _console(chromium, live_server.url, "op-440111", live_server.password)
    try:
        for page in (speaker, listener):  # the Tianhe incident's group comes first for both
            expect(page.locator("[data-testid=voice-group] option").first).to_contain_text("天河对讲测试")
        talk = speaker.locator("[data-testid=voice-talk]")
        talk.hover()
        speaker.mouse.down()
        expect(talk).to_have_attribute("aria-pressed", "true")
        speaker.wait_for_function("Number(document.body.dataset.voiceFramesOut) >= 1")
        started = time.monotonic()
        expect(listener.locator("[data-testid=voice-status]")).to_contain_text("讲话中")
        speaker.wait_for_timeout(HOLD_S * 1000)
        speaker.mouse.up()
        held_s = time.monotonic() - started
        listener.wait_for_function("Number(document.body.dataset.voiceFramesIn) >= 10")
        listener.wait_for_function("Number(document.body.dataset.voicePlayed) >= 1")  # it played
        expect(listener.locator("[data-testid=voice-history] li")).to_have_count(1)
        assert outsider.evaluate("document.body.dataset.voiceFramesIn") is None
        listener.screenshot(path=str(SCREENSHOTS / "console-push-to-talk.png"))

        groups = call(api, "GET", "/api/voice/groups", login_http(api, "op-440106", live_server.password))
        group = next(g for g in groups if g["kind"] == "incident" and g["ref_id"] == tianhe["id"])
        operator = login_http(api, "op-440106", live_server.password)
        [tx] = call(api, "GET", f"/api/voice/groups/{group['id']}/transmissions", operator)
        audio = api.get(f"/api/voice/transmissions/{tx['id']}/audio", headers=operator)
        assert audio.status_code == 200 and audio.headers["content-type"] == "audio/webm"
        path = tmp_path / "tx.webm"
        path.write_bytes(audio.content)
        decoded_s = audio_duration_s(path)
        recorded_s = int(speaker.evaluate("document.body.dataset.voiceRecordedMs")) / 1000
        assert abs(decoded_s - recorded_s) <= 0.1 * recorded_s, (decoded_s, recorded_s)
        assert abs(tx["duration_ms"] / 1000 - recorded_s) <= 0.1 * recorded_s, (tx, recorded_s)
        assert abs(decoded_s - held_s) <= 0.25 * held_s, (decoded_s, held_s)
    finally:
        for context in (speaker_ctx, listener_ctx, outsider_ctx):
            context.close()
