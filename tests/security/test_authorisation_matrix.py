"""Authorisation matrix: every route of the app × every role, against a declared table.

The routes are read from ``create_app(...)`` itself, so a new route that is not in ``EXPECTED``
fails ``test_every_route_is_declared`` with its name. For each declared route and role the test
sends a request whose path names objects that exist and lie in the scope of the demo accounts
(all in one 天河 unit), so a refusal is the role check and not a 404:

* anonymous callers get 401, except on the short ``PUBLIC`` list;
* roles not allowed get 403 — never 2xx, never 5xx — before their input is even looked at
  (requests carry no body: a 422 where a 403 is due means the role check came too late);
* allowed roles are let through: no 401/403/5xx, and reads answer 200.

It runs on SQLite only: the role checks do not depend on the back end, and one pass over about
150 routes × 5 roles is enough (the PostgreSQL run of the other tests covers the queries).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.routing import Mount, Route
from starlette.websockets import WebSocketDisconnect

from jiefang.config import Settings
from jiefang.db import utcnow
from jiefang.voice.models import Transmission

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

ANON, MB, LD, OP, AD = "anonymous", "member", "unit_leader", "district_operator", "city_admin"
ROLES = (ANON, MB, LD, OP, AD)
USERS = {MB: "member-demo", LD: "leader-demo", OP: "op-440106", AD: "admin"}
ANY = frozenset({MB, LD, OP, AD})  # any signed-in account (scope is the service's business)
STAFF = frozenset({LD, OP, AD})  # unit leaders and operators
OPS = frozenset({OP, AD})  # district operators and city admins
ADMIN = frozenset({AD})
MEMBERS = frozenset({MB, LD})  # accounts tied to a member record (their own duty, alerts, receipts)
SENDERS = frozenset({MB, LD, AD})  # positions: members their own, a city admin account as a radio gateway
PHOTO_VIEWERS = frozenset({MB, OP, AD})  # report photos: the reporter, the handler, the district's operators
PUBLIC = "public"

EXPECTED: dict[str, frozenset[str] | str] = {
    # login, Open311 discovery, pages, API description: open to anyone
    "POST /api/auth/login": PUBLIC,
    "GET /api/reports/categories": PUBLIC,
    "GET /open311/v2/services.json": PUBLIC,
    "GET /openapi.json": PUBLIC,
    "GET /docs": PUBLIC,
    "GET /docs/oauth2-redirect": PUBLIC,
    "GET /redoc": PUBLIC,
    "GET /": PUBLIC,
    "GET /compliance.html": PUBLIC,
    "GET /analytics.html": PUBLIC,
    "GET /drills.html": PUBLIC,
    "GET /reports.html": PUBLIC,
    "GET /app": PUBLIC,
    "GET /app/manifest.webmanifest": PUBLIC,
    "GET /app/sw.js": PUBLIC,
    # accounts and members
    "POST /api/auth/logout": ANY,
    "GET /api/auth/me": ANY,
    "POST /api/auth/password": ANY,
    "GET /api/accounts": ANY,
    "POST /api/accounts": STAFF,
    "POST /api/accounts/{account_id}/deactivate": STAFF,
    "GET /api/members": ANY,
    "GET /api/members/{member_id}": ANY,
    "POST /api/members": STAFF,
    "PATCH /api/members/{member_id}": STAFF,
    # areas and units
    "GET /api/areas": ANY,
    "GET /api/areas/geojson": ANY,
    "GET /api/areas/at": ANY,
    "GET /api/areas/{area_id}": ANY,
    "POST /api/areas/import": ADMIN,
    "GET /api/units": ANY,
    "GET /api/units/points": ANY,
    "GET /api/units/export.csv": OPS,
    "GET /api/units/export.geojson": OPS,
    "POST /api/units/import": OPS,
    "GET /api/units/{unit_id}": ANY,
    "POST /api/units": OPS,
    "PATCH /api/units/{unit_id}": STAFF,
    "POST /api/units/{unit_id}/teams": STAFF,
    "PATCH /api/teams/{team_id}": STAFF,
    "DELETE /api/teams/{team_id}": STAFF,
    # duty: shifts, rosters, posts, check-in
    "GET /api/units/{unit_id}/shifts": ANY,
    "POST /api/units/{unit_id}/shifts": STAFF,
    "DELETE /api/shifts/{shift_id}": STAFF,
    "GET /api/shifts/{shift_id}/roster": STAFF,
    "POST /api/shifts/{shift_id}/roster": STAFF,
    "DELETE /api/roster/{entry_id}": STAFF,
    "GET /api/duty/my-shifts": ANY,
    "GET /api/units/{unit_id}/posts": ANY,
    "POST /api/units/{unit_id}/posts": STAFF,
    "POST /api/posts/{post_id}/rotate": STAFF,
    "GET /api/posts/{post_id}/qr.png": STAFF,
    "GET /api/posts/{post_id}/token": STAFF,
    "GET /api/posts/{post_id}/sheet": STAFF,
    "POST /api/units/{unit_id}/helpers": STAFF,
    "POST /api/duty/check-in": MEMBERS,
    "POST /api/duty/check-out": MEMBERS,
    "GET /api/duty/me": ANY,
    "POST /api/duty/sessions/{session_id}/check-out": STAFF,
    "GET /api/duty/board": OPS,
    "GET /api/duty/on-duty": STAFF,
    "GET /api/duty/empty-posts": OPS,
    # tracking
    "POST /api/positions": SENDERS,
    "POST /api/positions/batch": SENDERS,
    "GET /api/positions/live": OPS,
    "GET /api/positions/nearby": OPS,
    "POST /api/positions/within": OPS,
    "GET /api/members/{member_id}/track": ANY,
    "GET /api/fences": STAFF,
    "POST /api/fences": STAFF,
    "DELETE /api/fences/{fence_id}": STAFF,
    "GET /api/fence-events": STAFF,
    # incidents and dispatch
    "POST /api/incidents": OPS,
    "POST /api/incidents/sos": MEMBERS,
    "POST /api/incidents/external": ADMIN,
    "GET /api/incident-types": ANY,
    "GET /api/incidents": ANY,
    "GET /api/incidents/{incident_id}": ANY,
    "GET /api/incidents/{incident_id}/cap.xml": ANY,
    "GET /api/incidents/{incident_id}/geojson": ANY,
    "POST /api/incidents/{incident_id}/close": OPS,
    "GET /api/incidents/{incident_id}/notes": ANY,
    "POST /api/incidents/{incident_id}/notes": ANY,
    "POST /api/incidents/{incident_id}/responders": OPS,
    "POST /api/incidents/{incident_id}/responders/{assignment_id}/stand-down": OPS,
    "POST /api/alarm-devices": STAFF,
    "GET /api/alerts/mine": ANY,
    "POST /api/alerts/{assignment_id}/accept": MEMBERS,
    "POST /api/alerts/{assignment_id}/decline": MEMBERS,
    "POST /api/alerts/{assignment_id}/arrived": MEMBERS,
    "GET /api/compliance": STAFF,
    "GET /api/compliance.csv": STAFF,
    # drills
    "POST /api/drills/plan": ADMIN,
    "POST /api/drills/adhoc": OPS,
    "GET /api/drills": STAFF,
    "GET /api/drills/summary": STAFF,
    "GET /api/drills/summary.csv": STAFF,
    "GET /api/drills/weak-units": STAFF,
    "GET /api/drills/units/{unit_id}": STAFF,
    "GET /api/drills/{drill_id}": STAFF,
    "POST /api/drills/{drill_id}/video": OPS,
    "POST /api/drills/{drill_id}/cancel": OPS,
    # group commands
    "POST /api/selection": OPS,
    "POST /api/commands": OPS,
    "GET /api/commands": OPS,
    "GET /api/commands/mine": ANY,
    "GET /api/commands/{command_id}": OPS,
    "POST /api/commands/{command_id}/delivered": MEMBERS,
    "POST /api/commands/{command_id}/read": MEMBERS,
    "POST /api/commands/{command_id}/reply": MEMBERS,
    # push-to-talk
    "GET /api/voice/groups": ANY,
    "POST /api/voice/groups/open": ANY,
    "POST /api/voice/groups": OPS,
    "DELETE /api/voice/groups/{group_id}/members/{member_id}": OPS,
    "GET /api/voice/groups/{group_id}/transmissions": ANY,
    "GET /api/voice/groups/{group_id}/messages": ANY,
    "GET /api/voice/transmissions/{tx_id}/audio": ANY,
    "GET /api/incidents/{incident_id}/recordings.zip": OPS,
    "WS /api/voice/ws": ANY,
    "WS /api/ws": ANY,
    # hazard reports (弱信号) and Open311
    "POST /api/reports": ANY,
    "GET /api/reports": ANY,
    "GET /api/reports/mine": ANY,
    "GET /api/reports/{report_id}": ANY,
    "POST /api/reports/{report_id}/status": STAFF,
    "POST /api/reports/{report_id}/photos": ANY,
    "GET /api/reports/{report_id}/photos/{photo_id}": PHOTO_VIEWERS,
    "GET /api/hotspots": OPS,
    "POST /api/hotspots/scan": ADMIN,
    "POST /open311/v2/requests.json": ANY,
    "GET /open311/v2/requests.json": ANY,
    "GET /open311/v2/requests/{request_id}.json": ANY,
    # rewards, insurance, mediation
    "GET /api/rewards/mine": MEMBERS,
    "GET /api/rewards/members/{member_id}": ANY,
    "GET /api/rewards/leaderboard": ANY,
    "POST /api/rewards/award": ADMIN,
    "POST /api/honours": STAFF,
    "POST /api/honours/{honour_id}/decision": OPS,
    "GET /api/honours": ANY,
    "POST /api/insurance/policies": OPS,
    "GET /api/insurance/uncovered-on-duty": OPS,
    "GET /api/insurance/export.csv": OPS,
    "POST /api/mediation/cases": STAFF,
    "GET /api/mediation/cases": ANY,
    "GET /api/mediation/stats": ANY,
    "GET /api/mediation/cases/{case_id}": ANY,
    "POST /api/mediation/cases/{case_id}/sessions": ANY,
    "POST /api/mediation/cases/{case_id}/outcome": ANY,
    # overview, analytics, audit
    "GET /api/stats": ANY,
    "GET /api/map/config": ANY,
    "GET /api/analytics/coverage": OPS,
    "GET /api/analytics/cells": OPS,
    "POST /api/analytics/placement": OPS,
    "GET /api/analytics/index": OPS,
    "GET /api/analytics/index/history/{area_id}": OPS,
    "GET /api/audit": OPS,
}

# Query strings some reads need to answer 200 (required parameters).
QUERY: dict[str, dict[str, Any]] = {
    "GET /api/areas/at": {"lon": "{lon}", "lat": "{lat}"},
    "GET /api/positions/nearby": {"lon": "{lon}", "lat": "{lat}"},
    "GET /api/rewards/leaderboard": {"unit_id": "{unit_id}"},
    "GET /api/insurance/export.csv": {"insurer": "中国人保"},
    "GET /api/analytics/cells": {"district_id": "{area_id}"},
    "GET /api/analytics/index": {"month": "2026-10"},
}
# Paths naming another object than the common one.
ROUTE_IDS: dict[str, dict[str, str]] = {
    "DELETE /api/voice/groups/{group_id}/members/{member_id}": {"group_id": "adhoc_group_id"},
}
# Reads that may rightly answer something other than 200 to an allowed role.
READ_STATUS: dict[str, set[int]] = {}
# Objects made anew for each request naming them.
FRESH = ("team_id", "shift_id", "entry_id", "fence_id")
# Requests that revoke the caller's token: sent with a token of their own.
OWN_TOKEN = {"POST /api/auth/logout"}


def route_keys(app: Any) -> dict[str, str]:
    """Return {"METHOD /path": kind} of every HTTP and WebSocket route (mounts of static files left out)."""
    keys: dict[str, str] = {}
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIWebSocketRoute):
            keys[f"WS {context.path}"] = "ws"
        elif isinstance(route, APIRoute | Route) and not isinstance(route, Mount):
            for method in sorted(context.methods or ()):
                if method != "HEAD":
                    keys[f"{method} {context.path}"] = "http"
    return keys


def test_every_route_is_declared(client: TestClient) -> None:
    keys = route_keys(client.app)
    missing = sorted(set(keys) - set(EXPECTED))
    assert not missing, f"routes missing from the authorisation matrix (declare who may call them): {missing}"
    stale = sorted(set(EXPECTED) - set(keys))
    assert not stale, f"routes declared in the matrix that the app no longer has: {stale}"


# ---- the objects the paths name, all in the demo unit's scope ----


def _ok(r: Any) -> Any:
    assert r.status_code < 300, r.text
    return r.json() if r.content and r.headers.get("content-type", "").startswith("application/json") else None


class World:
    """Objects of the demo unit (in 天河) made through the API, and the logins of every role."""

    def __init__(self, client: TestClient, login: Callable[[str], dict[str, str]], sessions: Any,
                 post: Any, voice_dir: Path) -> None:
        self.client = client
        self.login = login
        self.headers = {role: login(user) for role, user in USERS.items()}
        h = self.headers
        me = _ok(client.get("/api/auth/me", headers=h[MB]))
        unit = _ok(client.get(f"/api/units/{me['unit_id']}", headers=h[MB]))
        self.lon, self.lat = unit["lon"], unit["lat"]
        self.ids: dict[str, int] = {"unit_id": unit["id"], "member_id": me["member_id"], "post_id": post.id,
                                    "area_id": me["district_id"]}
        for role in (MB, LD):
            _ok(client.post("/api/duty/check-in", headers=h[role], json={
                "token": post.token, "lon": self.lon, "lat": self.lat, "accuracy_m": 10}))
        duty = _ok(client.get("/api/duty/me", headers=h[MB]))
        self.ids["session_id"] = duty["session"]["id"] if "session" in duty else duty["id"]
        others = _ok(client.get("/api/members", headers=h[LD], params={"page_size": 500}))["items"]
        spare = next(m for m in others if m["id"] not in (me["member_id"], unit.get("leader", {}).get("id")))
        self.ids["account_id"] = _ok(client.post("/api/accounts", headers=h[AD], json={
            "username": "matrix-spare", "password": "matrix-password", "role": "member",
            "member_id": spare["id"]}))["id"]
        incident = _ok(client.post("/api/incidents", headers=h[OP], json={
            "type": "public_order", "lon": self.lon, "lat": self.lat}))
        self.ids["incident_id"] = incident["id"]
        detail = _ok(client.get(f"/api/incidents/{incident['id']}", headers=h[OP]))
        alerted = {a["member_id"]: a["id"] for a in detail["assignments"]}
        self.ids["assignment_id"] = alerted[me["member_id"]]
        leader_me = _ok(client.get("/api/auth/me", headers=h[LD]))
        self.own = {LD: {"assignment_id": alerted[leader_me["member_id"]]}}  # a leader answers their own alert
        circle = {"kind": "circle", "center_lon": self.lon, "center_lat": self.lat, "radius_m": 300}
        self.ids["drill_id"] = _ok(client.post("/api/drills/adhoc", headers=h[OP], json={"selection": circle}))[0]["id"]
        self.ids["command_id"] = _ok(client.post("/api/commands", headers=h[OP], json={
            "selection": circle, "text": "到正门集合"}))["id"]
        self.ids["adhoc_group_id"] = _ok(client.post("/api/voice/groups", headers=h[OP], json={
            "name": "矩阵组", "selection": circle}))["id"]
        self.ids["group_id"] = _ok(client.post("/api/voice/groups/open", headers=h[MB], json={
            "kind": "unit", "ref_id": unit["id"]}))["id"]
        voice_dir.mkdir(parents=True, exist_ok=True)
        (voice_dir / "matrix.webm").write_bytes(b"\x1aE\xdf\xa3")
        with sessions() as s:
            tx = Transmission(group_id=self.ids["group_id"], account_id=None, member_id=me["member_id"],
                              speaker="member-demo", mime="audio/webm", path="matrix.webm", bytes=4,
                              ended_at=utcnow(), duration_ms=1000, ended_reason="released")
            s.add(tx)
            s.commit()
            self.ids["tx_id"] = tx.id
        report = _ok(client.post("/api/reports", headers=h[MB], data={
            "category": "fire_hazard", "text": "楼道堆放杂物", "lon": str(self.lon), "lat": str(self.lat)},
            files=[("photos", ("p.png", _png(), "image/png"))]))
        self.ids["report_id"] = self.ids["request_id"] = report["id"]
        self.ids["photo_id"] = report["photos"][0]["id"]
        self.ids["honour_id"] = _ok(client.post("/api/honours", headers=h[LD], json={
            "member_id": me["member_id"], "citation": "见义勇为"}))["id"]
        self.ids["case_id"] = _ok(client.post("/api/mediation/cases", headers=h[LD], json={
            "dispute_type": "neighbour", "summary": "楼上漏水", "mediator_member_id": me["member_id"],
            "parties": [{"name": "张三", "phone": "13800138000", "id_number": "440106199001011234",
                         "side": "applicant"}]}))["id"]

    def fresh(self, param: str) -> int:
        """A new object for a request that deletes one (each allowed role deletes its own)."""
        h, c, unit = self.headers[AD], self.client, self.ids["unit_id"]
        if param == "team_id":
            return _ok(c.post(f"/api/units/{unit}/teams", headers=h, json={"name": "临时小队"}))["id"]
        if param in ("shift_id", "entry_id"):
            shift = _ok(c.post(f"/api/units/{unit}/shifts", headers=h,
                               json={"name": "临时班", "start_time": "08:00", "end_time": "16:00"}))["id"]
            if param == "shift_id":
                return shift
            return _ok(c.post(f"/api/shifts/{shift}/roster", headers=h,
                              json={"member_id": self.ids["member_id"], "valid_from": "2020-01-01"}))["id"]
        if param == "fence_id":  # a team's patrol zone: unit leaders manage those
            team = self.fresh("team_id")
            return _ok(c.post("/api/fences", headers=h, json={
                "name": "临时围栏", "kind": "patrol_zone", "team_id": team, "center_lon": self.lon,
                "center_lat": self.lat, "radius_m": 100}))["id"]
        return self.ids[param]

    def path(self, key: str, role: str) -> str:
        """The path of ``key`` naming objects ``role`` may reach (new teams, shifts, roster entries and
        fences each time, as each allowed role may delete its own)."""
        template = key.split(" ", 1)[1]
        names = {**self.ids, **{k: self.ids[v] for k, v in ROUTE_IDS.get(key, {}).items()},
                 **self.own.get(role, {})}
        wanted = [name for name in [*names, *FRESH] if "{" + name + "}" in template]
        return template.format(**{name: names[name] if name in names else self.fresh(name) for name in wanted})


def _png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (32, 32), (10, 120, 200)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def world(client: TestClient, login: Callable[[str], dict[str, str]], sessions: Any, post: Any,
          settings: Settings) -> World:
    return World(client, login, sessions, post, settings.voice_dir)


def _call(world: World, key: str, role: str) -> int:
    method = key.split(" ", 1)[0]
    url = world.path(key, role)
    headers = {}
    if role != ANON:
        headers = world.login(USERS[role]) if key in OWN_TOKEN else world.headers[role]
    params = {k: str(v).format(lon=world.lon, lat=world.lat, **world.ids) for k, v in QUERY.get(key, {}).items()}
    return world.client.request(method, url, headers=headers, params=params).status_code


def _ws(world: World, path: str, role: str) -> str:
    token = "not-a-token" if role == ANON else world.headers[role]["Authorization"].split()[1]
    with world.client.websocket_connect(path) as ws:
        ws.send_json({"type": "auth", "token": token})
        first = ws.receive_json()
        if first["type"] != "hello":
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()
            return f"closed {closed.value.code}"
        return "hello"


def test_every_route_answers_every_role_as_declared(world: World) -> None:
    keys = route_keys(world.client.app)
    wrong: list[str] = []
    for key, kind in keys.items():
        allowed = EXPECTED.get(key)
        if allowed is None:
            continue  # reported by test_every_route_is_declared
        for role in ROLES:
            if kind == "ws":
                got: int | str = _ws(world, key.split(" ", 1)[1], role)
                want = "hello" if role in allowed else "closed 4401"
                if got != want:
                    wrong.append(f"{key} as {role}: {got}, expected {want}")
                continue
            got = _call(world, key, role)
            if allowed == PUBLIC or (role != ANON and role in allowed):
                reads = key.startswith("GET ")
                fine = got == 200 or got in READ_STATUS.get(key, ()) if reads else got not in (401, 403) and got < 500
                if not fine:
                    wrong.append(f"{key} as {role}: {got}, expected it let through")
            elif role == ANON and got != 401:
                wrong.append(f"{key} as anonymous: {got}, expected 401")
            elif role != ANON and got != 403:
                wrong.append(f"{key} as {role}: {got}, expected 403")
    assert not wrong, "authorisation matrix mismatches:\n" + "\n".join(wrong)


def test_pages_are_public_and_carry_no_data(client: TestClient) -> None:
    """The pages are static shells: they hold no data and get everything through the API with a token."""
    for key, allowed in EXPECTED.items():
        method, path = key.split(" ", 1)
        if allowed != PUBLIC or method != "GET" or path.startswith(("/api", "/open311", "/openapi", "/docs", "/redoc")):
            continue
        r = client.get(path)
        assert r.status_code == 200, path
        assert "Bearer" not in r.text or path.endswith(".js"), path
    with client.app.state.sessions() as s:
        from jiefang.people.models import Member

        phone = s.scalar(select(Member.phone).limit(1))
    for path in ("/", "/app", "/static/app.js", "/static/member/member.js"):
        assert phone not in client.get(path).text
