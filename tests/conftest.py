"""Shared fixtures: one database per back end (SQLite and PostgreSQL), app client, users per role.

Every test that takes ``client`` runs twice, once on SQLite and once on PostgreSQL. A small
synthetic city is built once, seeded once per back end into a template database, and each test
gets a fresh copy of that template, so tests may write freely.
"""

from __future__ import annotations

import asyncio
import math
import os
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from jiefang.api.app import create_app
from jiefang.areas.models import Area
from jiefang.config import Settings
from jiefang.db import make_engine, session_factory, session_scope, upgrade, utcnow
from jiefang.duty.models import DutySession
from jiefang.people.models import Member
from jiefang.units.models import Unit

PG_ADMIN_URL = os.environ.get(
    "JIEFANG_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
DEMO_PASSWORD = "test-demo-password"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


T = TypeVar("T")


def run_coroutine(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to its end in a loop of its own, on a thread of its own: the browser tests'
    session-long Playwright keeps an event loop running in the main thread, where asyncio.run fails."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
REDIS_URL = os.environ.get("JIEFANG_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _pg_unavailable_reason() -> str | None:
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {type(exc).__name__}"
    return None


def _pg_admin(sql: str) -> None:
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(sql))
    engine.dispose()


def _pg_url(dbname: str) -> str:
    return make_url(PG_ADMIN_URL).set(database=dbname).render_as_string(hide_password=False)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """The database back end under test."""
    if request.param == "postgresql":
        reason = _pg_unavailable_reason()
        if reason:
            if IN_CI:
                pytest.fail(f"{reason} (CI must run the PostgreSQL tests)")
            pytest.skip(reason)
    return request.param


@pytest.fixture(scope="session")
def small_city():  # type: ignore[no-untyped-def]
    """The small synthetic city (about 1/100 of Guangzhou), built once."""
    from jiefang.simulation.city import build_city

    return build_city("small", seed=0)


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The Redis server the tests use; skipped with a reason where absent (a failure in CI)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        reason = f"Redis not reachable at {REDIS_URL}: {type(exc).__name__}"
        if IN_CI:
            pytest.fail(f"{reason} (CI must run the Redis tests)")
        pytest.skip(reason)
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A Redis key prefix of this test alone (``JIEFANG_REDIS_PREFIX``); its keys are deleted afterwards."""
    import redis

    name = f"jftest{uuid.uuid4().hex[:12]}"
    yield name
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=f"{name}:*"):
        client.delete(key)
    client.close()


@dataclass
class Template:
    backend: str
    url: str
    path: Path | None = None


def _seed_into(url: str, city) -> None:  # type: ignore[no-untyped-def]
    from jiefang.simulation.accounts import create_demo_accounts
    from jiefang.simulation.seed import seed_database

    upgrade(url)
    engine = make_engine(url)
    seed_database(engine, city)
    with session_scope(session_factory(engine)) as session:
        create_demo_accounts(session, DEMO_PASSWORD)
    engine.dispose()


@pytest.fixture(scope="session")
def seeded_template(backend: str, small_city, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Template]:  # type: ignore[no-untyped-def]
    """A database with the small city and demo accounts, copied for each test."""
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("template") / "seeded.sqlite3"
        url = f"sqlite:///{path}"
        _seed_into(url, small_city)
        con = sqlite3.connect(path)
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.close()
        yield Template(backend, url, path)
        return
    name = f"jf_tpl_{uuid.uuid4().hex[:10]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        _seed_into(_pg_url(name), small_city)
        yield Template(backend, _pg_url(name))
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _fresh_copy(template: Template, tmp_path: Path) -> Iterator[str]:
    if template.backend == "sqlite":
        assert template.path is not None
        path = tmp_path / "db.sqlite3"
        shutil.copyfile(template.path, path)
        yield f"sqlite:///{path}"
        return
    name = f"jf_t_{uuid.uuid4().hex[:10]}"
    template_name = make_url(template.url).database
    _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"')
    try:
        yield _pg_url(name)
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_url(seeded_template: Template, tmp_path: Path) -> Iterator[str]:
    """A fresh database holding the small city and demo accounts."""
    yield from _fresh_copy(seeded_template, tmp_path)


@pytest.fixture
def empty_database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A fresh migrated database with no data."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        upgrade(url)
        yield url
        return
    name = f"jf_e_{uuid.uuid4().hex[:10]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        upgrade(_pg_url(name))
        yield _pg_url(name)
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, demo_password=DEMO_PASSWORD, voice_dir=tmp_path / "voice",
                    upload_dir=tmp_path / "uploads")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """An API client on a fresh seeded database (not logged in)."""
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def sessions(settings: Settings):  # type: ignore[no-untyped-def]
    """A session factory on the test database, for checking what was stored."""
    engine = make_engine(settings.database_url)
    yield session_factory(engine)
    engine.dispose()


Headers = dict[str, str]


@pytest.fixture
def login(client: TestClient) -> Callable[[str], Headers]:
    """Log in a demo account by username and return its Authorization header."""

    def _login(username: str, password: str = DEMO_PASSWORD) -> Headers:
        r = client.post("/api/auth/login", json={"username": username, "password": password})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['token']}"}

    return _login


@pytest.fixture
def admin(login: Callable[[str], Headers]) -> Headers:
    return login("admin")


@pytest.fixture
def tianhe_operator(login: Callable[[str], Headers]) -> Headers:
    """The district operator of 天河区 (440106)."""
    return login("op-440106")


@pytest.fixture
def leader(login: Callable[[str], Headers]) -> Headers:
    return login("leader-demo")


@pytest.fixture
def member(login: Callable[[str], Headers]) -> Headers:
    return login("member-demo")


@dataclass
class Post:
    id: int
    unit_id: int
    lon: float
    lat: float
    token: str


@pytest.fixture
def post(client: TestClient, leader: Headers) -> Post:
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


# ---- members of 天河 on duty at chosen points (map selection, group commands, the console) ----

INSIDE_M = (0.0, 120.0, 240.0)  # metres east of the centre: inside a 300 m half-width square
OUTSIDE_M = (900.0, 1500.0)


@dataclass
class Placed:
    lon: float
    lat: float
    district_id: int
    inside: list[int] = field(default_factory=list)
    outside: list[int] = field(default_factory=list)
    headers: dict[int, dict[str, str]] = field(default_factory=dict)

    def east(self, metres: float, north: float = 0.0) -> tuple[float, float]:
        return (self.lon + metres / (111_195.0 * math.cos(math.radians(self.lat))),
                self.lat + north / 111_195.0)

    def square(self, half_m: float = 300.0) -> dict:
        (w, s), (e, n) = self.east(-half_m, -half_m), self.east(half_m, half_m)
        return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


@pytest.fixture
def placed_members(sessions) -> Placed:  # type: ignore[no-untyped-def]
    """Five members of 天河 units on duty (open duty sessions, no logins yet) east of a 天河 unit's
    site: three inside a 600 m square around it, two outside. A server started afterwards, or the
    housekeeping sync, puts them on its live map."""
    with sessions() as s:
        tianhe = s.scalar(select(Area).where(Area.code == "440106"))
        assert tianhe is not None
        unit = s.scalars(select(Unit).where(Unit.district_id == tianhe.id).order_by(Unit.id)).first()
        assert unit is not None
        members = list(s.scalars(select(Member).join(Unit, Unit.id == Member.unit_id)
                                 .where(Unit.district_id == tianhe.id, Member.status == "active")
                                 .order_by(Member.id).limit(len(INSIDE_M) + len(OUTSIDE_M))))
        where = Placed(unit.lon, unit.lat, tianhe.id)
        now = utcnow()
        for m, metres in zip(members, INSIDE_M + OUTSIDE_M, strict=True):
            lon, lat = where.east(metres)
            s.add(DutySession(member_id=m.id, unit_id=m.unit_id, checked_in_at=now, check_in_lon=lon,
                              check_in_lat=lat, check_in_distance_m=5.0, auto_checkout_at=now + timedelta(hours=8)))
            (where.inside if metres in INSIDE_M else where.outside).append(m.id)
        s.commit()
    return where


@pytest.fixture
def placed(placed_members, client, admin, sessions, settings) -> Placed:  # type: ignore[no-untyped-def]
    """The placed members of 天河 on this app's live map, each with a login (``placed.headers``)."""
    from jiefang.tracking.service import sync_on_duty

    with sessions() as s:
        sync_on_duty(s, client.app.state.tracker)  # as the housekeeping loop would within 30 s
    for m in placed_members.inside + placed_members.outside:
        r = client.post("/api/accounts", headers=admin, json={
            "username": f"m-{m}", "password": settings.demo_password, "role": "member", "member_id": m})
        assert r.status_code == 201, r.text
        token = client.post("/api/auth/login", json={"username": f"m-{m}", "password": settings.demo_password})
        placed_members.headers[m] = {"Authorization": f"Bearer {token.json()['token']}"}
    return placed_members
