"""Browser fixtures: the real server on a loopback port and Debian's headless Chromium.

The server is uvicorn serving ``create_app`` in a background thread, on a fresh copy of the
seeded small city (the shared ``settings`` fixture). Chromium is the system's
/usr/bin/chromium, driven by Playwright; no browser is ever downloaded. Without Chromium the
browser tests are skipped, except under CI=true where they fail.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from jiefang.api.app import create_app
from jiefang.config import Settings

CHROMIUM = Path(os.environ.get("JIEFANG_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    # push-to-talk: a fake microphone (a tone), no permission prompt, sound may play without a click
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
SERVER_START_TIMEOUT_S = 30.0
UNITS_LOADED_JS = "Number(document.body.dataset.unitsLoaded) > 0"


@dataclass(frozen=True)
class LiveServer:
    url: str
    username: str
    password: str


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    """The real API and pages served by uvicorn on a free loopback port; the city admin's login."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))  # the kernel picks a free port; uvicorn serves this very socket
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(settings), log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    if not server.started:
        server.should_exit = True
        thread.join(5)
        sock.close()
        pytest.fail(f"uvicorn did not start within {SERVER_START_TIMEOUT_S:.0f} s on port {port}")
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", "admin", settings.demo_password)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture(scope="session")
def chromium():  # type: ignore[no-untyped-def]
    """A headless Debian Chromium shared by the browser tests of a session."""
    if not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
        reason = f"{CHROMIUM} not found (apt-get install -y chromium fonts-noto-cjk)"
        if IN_CI:
            pytest.fail(f"{reason}; CI must run the browser tests")
        pytest.skip(reason)
    from playwright.sync_api import Frame, Page, sync_playwright

    with sync_playwright() as playwright, pytest.MonkeyPatch.context() as patch:
        for cls in (Page, Frame):
            patch.setattr(cls, "wait_for_function", _compiled_once(cls.wait_for_function))
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _compiled_once(wait_for_function: Callable[..., Any]) -> Callable[..., Any]:
    """Playwright polls a bare expression with eval(), which the pages' Content-Security-Policy
    (no 'unsafe-eval') refuses; written as an arrow function it is compiled once, which is allowed.
    So the tests' waits run under the real policy."""

    def wait(self: Any, expression: str, *args: Any, **kwargs: Any) -> Any:
        text = expression.strip()
        if not (text.startswith(("(", "async ", "function")) or re.match(r"^[A-Za-z_$][\w$]*\s*=>", text)):
            expression = f"() => ({expression})"
        return wait_for_function(self, expression, *args, **kwargs)

    return wait


@pytest.fixture
def page(chromium):  # type: ignore[no-untyped-def]
    """A fresh browser page (own storage) at 1366×768, the smallest supported screen."""
    context = chromium.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    refused: list[str] = []  # the Content-Security-Policy blocked something the page does
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    yield page
    context.close()
    assert not refused, f"the page broke its Content-Security-Policy: {refused}"


@pytest.fixture
def js_errors(page) -> list[str]:  # type: ignore[no-untyped-def]
    """Uncaught JavaScript errors of the page, collected from the start of the test."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


@pytest.fixture
def sign_in(page, live_server: LiveServer) -> Callable[..., None]:  # type: ignore[no-untyped-def]
    """Sign in through the login form (the city admin unless another username is given, all with
    the demo password), then wait for the units on the map."""

    def _sign_in(username: str | None = None) -> None:
        page.goto(live_server.url)
        page.fill("#login-username", username or live_server.username)
        page.fill("#login-password", live_server.password)
        page.click("#login-submit")
        page.wait_for_function(UNITS_LOADED_JS)

    return _sign_in


Headers = dict[str, str]


@pytest.fixture
def api(live_server: LiveServer) -> Iterator[httpx.Client]:
    """An HTTP client of the live server: the page's server, with its own event bus and tracker."""
    with httpx.Client(base_url=live_server.url, timeout=10) as client:
        yield client


def login_http(api: httpx.Client, username: str, password: str) -> Headers:
    """Log in over HTTP; return the Authorization header."""
    answer = api.post("/api/auth/login", json={"username": username, "password": password})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def call(api: httpx.Client, method: str, path: str, headers: Headers, body: Any = None) -> Any:
    """Make an API call that must succeed; return its JSON body (None when empty)."""
    answer = api.request(method, path, headers=headers, json=body)
    assert answer.status_code < 300, answer.text
    return answer.json() if answer.content else None


def need_ffprobe() -> None:
    """Skip (fail under CI) when ffprobe, which checks recorded audio, is missing."""
    if shutil.which("ffprobe") is None:
        reason = "ffprobe not found (apt-get install -y ffmpeg)"
        if IN_CI:
            pytest.fail(f"{reason}; CI must check the recordings")
        pytest.skip(reason)


def audio_duration_s(path: Path) -> float:
    """The decoded length of an audio file: the end of its last packet, as ffprobe reads it."""
    import subprocess

    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "a", "-show_entries", "packet=pts_time,duration_time",
         "-of", "csv=p=0", str(path)], check=True, capture_output=True, text=True).stdout
    rows = [line.split(",") for line in out.split() if line]
    assert rows, "no audio packets decoded"
    last = rows[-1]
    return float(last[0]) + float(last[1] if len(last) > 1 and last[1] else 0)


MAP_AT_REST_JS = "!document.querySelector('.leaflet-zoom-anim, .leaflet-cluster-anim, .leaflet-pan-anim')"


def _mercator(lon: float, lat: float, zoom: int) -> tuple[float, float]:
    size = 256 * 2**zoom
    s = math.sin(math.radians(lat))
    return (lon + 180) / 360 * size, (0.5 - math.log((1 + s) / (1 - s)) / (4 * math.pi)) * size


def map_pixel(page: Any, lon: float, lat: float) -> tuple[float, float]:
    """Where a place is on screen, from the map's centre and zoom (Web Mercator)."""
    page.wait_for_function(MAP_AT_REST_JS)
    box = page.locator("#map").bounding_box()
    assert box is not None
    zoom = int(page.get_attribute("#map", "data-zoom") or 0)
    c_lat, c_lon = map(float, (page.get_attribute("#map", "data-center") or "").split(","))
    cx, cy = _mercator(c_lon, c_lat, zoom)
    px, py = _mercator(lon, lat, zoom)
    return box["x"] + box["width"] / 2 + px - cx, box["y"] + box["height"] / 2 + py - cy
