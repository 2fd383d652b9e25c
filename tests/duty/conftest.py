"""Duty fixtures: the demo member's unit with a post, and its scannable token."""

from __future__ import annotations

from dataclasses import dataclass

import pytest


@dataclass
class Post:
    id: int
    unit_id: int
    lon: float
    lat: float
    token: str


@pytest.fixture
def post(client, leader) -> Post:
    """A post at the site of the demo leader's (and demo member's) unit."""
    me = client.get("/api/auth/me", headers=leader).json()
    unit = client.get(f"/api/units/{me['unit_id']}", headers=leader).json()
    r = client.post(
        f"/api/units/{unit['id']}/posts",
        headers=leader,
        json={"name": "正门岗", "lon": unit["lon"], "lat": unit["lat"]},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    r = client.get(f"/api/posts/{body['id']}/token", headers=leader)
    assert r.status_code == 200, r.text
    token = r.json()["token"]
    return Post(body["id"], unit["id"], unit["lon"], unit["lat"], token)
