"""Gives the placed members of 天河 (root conftest) a place on this app's live map and a login each."""

from __future__ import annotations

import pytest

from jiefang.tracking.service import sync_on_duty


@pytest.fixture
def placed(placed, client, admin, sessions, settings):  # type: ignore[no-untyped-def]
    with sessions() as s:
        sync_on_duty(s, client.app.state.tracker)  # as the housekeeping loop would within 30 s
    for m in placed.inside + placed.outside:
        r = client.post("/api/accounts", headers=admin, json={
            "username": f"m-{m}", "password": settings.demo_password, "role": "member", "member_id": m})
        assert r.status_code == 201, r.text
        token = client.post("/api/auth/login", json={"username": f"m-{m}", "password": settings.demo_password})
        placed.headers[m] = {"Authorization": f"Bearer {token.json()['token']}"}
    return placed
