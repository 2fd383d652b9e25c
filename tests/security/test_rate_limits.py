"""Rate limits on login (per address, and a lockout per username after failures) and on report intake.

Counters live in memory in one process, or in Redis shared by every worker (tested over the real
Redis with two apps standing for two workers).
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from tests.conftest import DEMO_PASSWORD

from jiefang.api.app import create_app
from jiefang.config import Settings

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def _login(client: TestClient, username: str, password: str = DEMO_PASSWORD):  # type: ignore[no-untyped-def]
    return client.post("/api/auth/login", json={"username": username, "password": password})


def _limited(settings: Settings, **limits: object) -> TestClient:
    return TestClient(create_app(settings.model_copy(update=limits)))


def _assert_429(r) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == 429, r.text
    assert r.json()["error"] == "too_many_requests" and "try again" in r.json()["message"]
    assert int(r.headers["retry-after"]) >= 1


def test_username_is_locked_after_failed_logins_even_with_the_right_password(settings: Settings) -> None:
    with _limited(settings, login_failures_max=3, login_failure_window_s=600) as client:
        for _ in range(3):
            assert _login(client, "leader-demo", "wrong-password").status_code == 401
        locked = _login(client, "leader-demo")
        _assert_429(locked)
        assert 590 <= int(locked.headers["retry-after"]) <= 600
        assert _login(client, "member-demo").status_code == 200  # other usernames are not locked


def test_a_successful_login_forgets_earlier_failures(settings: Settings) -> None:
    with _limited(settings, login_failures_max=3) as client:
        for _ in range(2):
            _login(client, "admin", "wrong-password")
        assert _login(client, "admin").status_code == 200
        for _ in range(2):
            _login(client, "admin", "wrong-password")
        assert _login(client, "admin").status_code == 200


def test_logins_from_one_address_are_limited(settings: Settings) -> None:
    with _limited(settings, login_ip_limit=4) as client:
        for user in ("admin", "leader-demo", "member-demo", "op-440106"):
            assert _login(client, user).status_code == 200
        _assert_429(_login(client, "admin"))


def test_open311_intake_is_limited_per_address(settings: Settings) -> None:
    with _limited(settings, intake_ip_limit=2) as client:
        token = _login(client, "member-demo").json()["token"]
        form = {"api_key": token, "service_code": "fire_hazard", "lat": "23.13", "long": "113.33",
                "description": "消防通道被占用"}
        for _ in range(2):
            assert client.post("/open311/v2/requests.json", data=form).status_code == 201
        _assert_429(client.post("/open311/v2/requests.json", data=form))


@pytest.fixture
def shared_redis(settings: Settings, redis_url: str, redis_prefix: str) -> Settings:
    """Settings of workers sharing a Redis under a prefix of this test's own."""
    return settings.model_copy(update={"redis_url": redis_url, "redis_prefix": redis_prefix})


def test_failed_logins_count_across_workers_through_redis(shared_redis: Settings) -> None:
    limits = {"login_failures_max": 4}
    with _limited(shared_redis, **limits) as one, _limited(shared_redis, **limits) as two:
        for worker in (one, two, one, two):
            assert _login(worker, "op-440106", "wrong-password").status_code == 401
        _assert_429(_login(one, "op-440106"))
        _assert_429(_login(two, "op-440106"))


def test_logins_go_through_uncounted_while_redis_is_away(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    from jiefang.api.ratelimit import RateLimiter, RedisCounters
    from jiefang.events_redis import quick_client

    away = RateLimiter(settings.model_copy(update={"login_failures_max": 1}),
                       RedisCounters(quick_client("redis://127.0.0.1:1/0"), "jf-away"))
    with caplog.at_level("ERROR", logger="jiefang.api.ratelimit"):
        away.login_failed("admin")
        away.check_login("127.0.0.1", "admin")  # no lockout: the failure could not be counted
    assert any("unavailable" in r.getMessage() for r in caplog.records)
