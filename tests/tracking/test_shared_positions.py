"""Two API instances sharing Redis: a position sent through one is found through the other."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from jiefang.api.app import create_app
from jiefang.config import Settings


@pytest.fixture
def shared(settings: Settings, redis_url: str, redis_prefix: str) -> Iterator[tuple[TestClient, TestClient]]:
    """Two app instances on one database and one Redis namespace of this test alone."""
    both = settings.model_copy(update={"redis_url": redis_url, "redis_prefix": redis_prefix})
    with TestClient(create_app(both)) as one, TestClient(create_app(both)) as two:
        yield one, two


def _login(client: TestClient, username: str, password: str) -> dict[str, str]:
    r = client.post("/api/auth/login", json={"username": username, "password": password})
    return {"Authorization": f"Bearer {r.json()['token']}"}


def test_position_sent_through_one_instance_is_found_through_another(shared, settings, post):
    one, two = shared
    member = _login(one, "member-demo", settings.demo_password)
    r = one.post("/api/duty/check-in", headers=member, json={"token": post.token, "lon": post.lon, "lat": post.lat})
    assert r.status_code == 200, r.text
    member_id = r.json()["member_id"]
    fix = {"lon": post.lon + 0.003, "lat": post.lat, "t": time.time(), "accuracy_m": 8}
    assert one.post("/api/positions", headers=member, json=fix).json()["status"] == ["accepted"]
    admin = _login(two, "admin", settings.demo_password)
    hits = two.get("/api/positions/nearby", headers=admin,
                   params={"lon": post.lon + 0.003, "lat": post.lat, "k": 1}).json()
    assert hits[0]["member_id"] == member_id and hits[0]["distance_m"] < 1
    # and the fix reaches the other instance's live picture through the database on demand
    assert two.post("/api/positions", headers=member, json={**fix, "t": fix["t"] + 10}).json()["status"] == [
        "accepted"]


def _eventually(check, what: str, within_s: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_check_in_and_out_through_one_instance_reach_the_others_tracker_at_once(shared, settings, post):
    one, two = shared  # the tracker follows other workers' duty events: no wait for the 30 s sync
    member = _login(one, "member-demo", settings.demo_password)
    r = one.post("/api/duty/check-in", headers=member, json={"token": post.token, "lon": post.lon, "lat": post.lat})
    member_id = r.json()["member_id"]
    tracker = two.app.state.tracker
    _eventually(lambda: tracker.is_on_duty(member_id), "the check-in to reach the other instance")
    assert one.post("/api/duty/check-out", headers=member, json={}).status_code == 200
    _eventually(lambda: not tracker.is_on_duty(member_id), "the check-out to reach the other instance")


def test_fence_drawn_and_retired_through_one_instance_is_evaluated_by_the_other(shared, settings, post):
    one, two = shared
    admin = _login(one, "admin", settings.demo_password)
    fence = {"name": "共享敏感区", "kind": "sensitive_area", "center_lon": post.lon, "center_lat": post.lat,
             "radius_m": 300}
    r = one.post("/api/fences", headers=admin, json=fence)
    assert r.status_code == 201, r.text
    fence_id = r.json()["id"]
    tracker, district_id = two.app.state.tracker, r.json()["district_id"]
    assert district_id is not None
    _eventually(lambda: tracker.fence_scope(fence_id)[0] == district_id, "the fence to reach the other instance")
    assert one.delete(f"/api/fences/{fence_id}", headers=admin).status_code == 200
    _eventually(lambda: tracker.fence_scope(fence_id)[0] is None, "the retirement to reach the other instance")
