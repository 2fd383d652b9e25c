"""``jiefang simulate --mode api`` against a live ``jiefang serve`` subprocess on the small city:
through HTTP and WebSocket only, its incidents are answered and the JSON holds compliance."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from jiefang.cli import app

START_TIMEOUT_S = 60.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    """``jiefang serve`` in its own process on the small city; the driver is a client, so one back end is enough."""
    if backend != "sqlite":
        pytest.skip("the driver only speaks HTTP; the server's back ends are tested elsewhere")
    database_url, settings = request.getfixturevalue("database_url"), request.getfixturevalue("settings")
    port, log = _free_port(), tmp_path / "server.log"
    env = {**os.environ, "JIEFANG_DATABASE_URL": database_url, "JIEFANG_DEMO_PASSWORD": settings.demo_password}
    env.pop("JIEFANG_REDIS_URL", None)
    server = subprocess.Popen([sys.executable, "-m", "jiefang.cli", "serve", "--port", str(port)], env=env,
                              stdout=log.open("ab"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/api/stats", timeout=1)  # 401 once it serves
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail(f"the server did not start: {log.read_text()[-2000:]}")
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(10)


def test_api_mode_refuses_a_wrong_login_then_plays_incidents_that_members_answer(
    server_url: str, settings, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    refused = CliRunner().invoke(app, ["simulate", "--mode", "api", "--url", server_url, "--password", "wrong-one"])
    assert refused.exit_code == 2
    assert "cannot log in" in refused.output

    out = tmp_path / "api-run"
    result = CliRunner().invoke(app, [
        "simulate", "--mode", "api", "--url", server_url, "--scale", "small", "--hours", "0.1", "--speed", "120",
        "--members", "9", "--incidents-per-hour", "30", "--seed", "6", "--password", settings.demo_password,
        "--out", str(out),
    ], catch_exceptions=False)

    assert result.exit_code == 0, result.output
    data = json.loads((out / "simulation.json").read_text(encoding="utf-8"))
    assert data["mode"] == "api" and data["members"] == 9
    assert data["incidents"] > 0
    assert data["answered"] > 0  # members got their alerts over /api/ws and accepted through the API
    for figures in (data["scaled"], data["server_measured"]):
        assert set(figures["tiers"]) == {"self_rescue", "mutual_aid", "reinforcement"}
        assert 0 <= figures["tiers"]["self_rescue"]["compliance"] <= 1
    drills = data["drills"]  # launched through POST /api/drills/adhoc, answered by the members, scored by the server
    assert drills["fired"] >= 1
    assert drills["passed"] + drills["failed"] >= 1, (drills, result.output)
    load = data["load"]
    assert load["groups"]["position"]["requests"] > 0
    assert load["total"]["errors"] == 0, load
    assert data["alert_delivery_ms"]["p50"] >= 0
    assert (out / "response_times.png").stat().st_size > 0


def test_api_mode_without_a_password_says_so() -> None:
    result = CliRunner().invoke(app, ["simulate", "--mode", "api", "--url", "http://127.0.0.1:9"])
    assert result.exit_code == 2
    assert "admin password" in result.output



@pytest.mark.parametrize("args, message", [
    (["--url", "ftp://example.org", "--password", "x"], "http:// or https://"),
    (["--what-if", "decline=0.2", "--password", "x"], "with --mode des"),
])
def test_api_mode_refuses_bad_options_with_a_message(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["simulate", "--mode", "api", *args])
    assert result.exit_code == 2
    assert message in result.output
