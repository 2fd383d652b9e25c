"""Restart Redis (the shared live position store) under position updates: while it is down the
API answers 503 JSON, and once it is back the live picture is rebuilt and updates go on, with
no 5xx left behind.

The Redis is a private ``redis-server`` started by the test on a free port, nothing saved to disk;
skipped where ``redis-server`` is missing."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest
import redis

from ..conftest import INSIDE_M, OUTSIDE_M  # type: ignore[import-not-found]
from ..serving import free_port, serve  # type: ignore[import-not-found]
from .conftest import log_in  # type: ignore[import-not-found]

ROUNDS_DOWN = 3
REBUILT_WITHIN_S = 15.0


class PrivateRedis:
    def __init__(self, port: int) -> None:
        self.port, self.url, self.process = port, f"redis://127.0.0.1:{port}/0", None
        self.start()

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None
        self.process = subprocess.Popen([binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                         "--appendonly", "no"], stdout=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()  # everything in it is lost, as on a crash with no persistence
        self.process.wait(10)


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    store = PrivateRedis(free_port())
    try:
        yield store
    finally:
        store.kill()


def test_positions_recover_after_a_redis_restart(database_url, settings, placed_members, private_redis, tmp_path):
    port, members = free_port(), placed_members.inside + placed_members.outside
    server = serve(database_url, settings.demo_password, port, tmp_path / "server.log",
                   JIEFANG_REDIS_URL=private_redis.url)
    statuses: list[int] = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            admin = log_in(http, "admin", settings.demo_password)

            def send(north_m: float) -> httpx.Response:
                fixes = [{"member_id": m, "lon": placed_members.east(east_m, north_m)[0],
                          "lat": placed_members.east(east_m, north_m)[1], "t": time.time(), "accuracy_m": 5}
                         for m, east_m in zip(members, (*INSIDE_M, *OUTSIDE_M), strict=True)]
                r = http.post("/api/positions/batch", headers=admin, json={"fixes": fixes})
                statuses.append(r.status_code)
                return r

            def around() -> httpx.Response:
                return http.get("/api/positions/nearby", headers=admin,
                                params={"lon": placed_members.lon, "lat": placed_members.lat, "k": 20,
                                        "radius_m": 5000})

            assert send(0.0).json()["accepted"] == len(members)
            assert {n["member_id"] for n in around().json()} == set(members)
            private_redis.kill()
            for i in range(ROUNDS_DOWN):
                time.sleep(1.0)  # a walk of 10 m a second
                down = send(10.0 * (i + 1))
                assert down.status_code == 503 and down.json()["error"] == "unavailable", down.text
            assert around().status_code == 503
            private_redis.start()  # empty
            deadline = time.monotonic() + REBUILT_WITHIN_S
            while {n["member_id"] for n in around().json()} != set(members):
                assert time.monotonic() < deadline, "the live picture was not rebuilt in Redis"
                time.sleep(0.3)
            time.sleep(1.1)  # fixes a second apart
            statuses.clear()
            assert send(60.0).json()["accepted"] == len(members)
            moved = around().json()
            assert all(60.0 - 5 < _north_m(n, placed_members.lat) < 60.0 + 5 for n in moved), moved
            for _ in range(10):
                assert around().status_code == 200
    finally:
        server.kill()
        server.wait(10)
    assert statuses == [200]  # after the restart: no 5xx left behind


def _north_m(hit: dict, lat: float) -> float:  # type: ignore[type-arg]
    return (hit["lat"] - lat) * 111_195.0
