"""Acceptance: the city-scale synthetic Guangzhou seeded on SQLite, read back through the API."""

from __future__ import annotations

from fastapi.testclient import TestClient

from jiefang.api.app import create_app
from jiefang.config import Settings
from jiefang.db import make_engine, session_factory, session_scope, upgrade
from jiefang.simulation.accounts import create_demo_accounts
from jiefang.simulation.city import build_city
from jiefang.simulation.seed import seed_database


def test_city_scale_seed_answers_guangzhou_counts_through_the_api(tmp_path):
    url = f"sqlite:///{tmp_path / 'city.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    seed_database(engine, build_city("city", seed=0))
    with session_scope(session_factory(engine)) as session:
        create_demo_accounts(session, "city-scale-pass")
    engine.dispose()
    with TestClient(create_app(Settings(database_url=url))) as client:
        token = client.post("/api/auth/login", json={"username": "admin", "password": "city-scale-pass"}).json()
        headers = {"Authorization": f"Bearer {token['token']}"}
        stats = client.get("/api/stats", headers=headers).json()
        assert (stats["districts"], stats["units"], stats["members"]) == (11, 23_000, 227_000)
        assert (stats["grids"], stats["police_grids"]) == (20_849, 1_781)
        assert client.get("/api/units", headers=headers).json()["total"] == 23_000
        assert client.get("/api/members", headers=headers).json()["total"] == 227_000
        assert client.get("/api/areas", headers=headers, params={"level": "district"}).json()["total"] == 11
