"""Login, tokens, expiry and revocation, and the 401 on every protected endpoint."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from jiefang.db import utcnow
from jiefang.people.models import Account, ApiToken

PROTECTED = [
    ("GET", "/api/auth/me"),
    ("GET", "/api/stats"),
    ("GET", "/api/areas"),
    ("GET", "/api/areas/geojson"),
    ("GET", "/api/units"),
    ("GET", "/api/units/points"),
    ("GET", "/api/units/1"),
    ("GET", "/api/units/export.csv"),
    ("GET", "/api/members"),
    ("GET", "/api/members/1"),
    ("GET", "/api/accounts"),
    ("GET", "/api/map/config"),
    ("POST", "/api/units"),
    ("PATCH", "/api/units/1"),
    ("POST", "/api/members"),
]


def test_unauthenticated_requests_get_401_json(client):
    for method, path in PROTECTED:
        r = client.request(method, path, json={})
        assert r.status_code == 401, (method, path, r.status_code)
        body = r.json()
        assert body["error"] == "unauthorized" and body["message"], (method, path)


def test_login_returns_token_that_opens_the_api(client, login):
    headers = login("admin")
    me = client.get("/api/auth/me", headers=headers).json()
    assert me["username"] == "admin" and me["role"] == "city_admin"


def test_wrong_password_is_refused_without_saying_which_part(client):
    bad_pw = client.post("/api/auth/login", json={"username": "admin", "password": "nope-nope"})
    no_user = client.post("/api/auth/login", json={"username": "ghost", "password": "nope-nope"})
    assert bad_pw.status_code == no_user.status_code == 401
    assert bad_pw.json()["message"] == no_user.json()["message"]


def test_passwords_are_stored_as_argon2id_hashes(client, sessions):
    with sessions() as s:
        account = s.scalar(select(Account).where(Account.username == "admin"))
        assert account.password_hash.startswith("$argon2id$")


def test_logout_revokes_the_token(client, login):
    headers = login("admin")
    assert client.post("/api/auth/logout", headers=headers).status_code == 204
    assert client.get("/api/auth/me", headers=headers).status_code == 401


def test_expired_token_is_refused(client, login, sessions):
    headers = login("admin")
    with sessions() as s:
        s.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
        s.commit()
    r = client.get("/api/auth/me", headers=headers)
    assert r.status_code == 401 and "expired" in r.json()["message"]


def test_garbage_token_is_refused(client):
    r = client.get("/api/auth/me", headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401


def test_password_change_revokes_old_tokens_and_new_password_works(client, login):
    headers = login("member-demo")
    r = client.post("/api/auth/password", headers=headers,
                    json={"old_password": "test-demo-password", "new_password": "a-much-better-pass"})
    assert r.status_code == 204
    assert client.get("/api/auth/me", headers=headers).status_code == 401
    login("member-demo", "a-much-better-pass")


def test_password_change_needs_the_old_password(client, member):
    r = client.post("/api/auth/password", headers=member,
                    json={"old_password": "wrong-password", "new_password": "a-much-better-pass"})
    assert r.status_code == 422 and "old password" in r.json()["message"]


def test_deactivated_account_cannot_use_its_token(client, admin, login):
    headers = login("member-demo")
    me = client.get("/api/auth/me", headers=headers).json()
    r = client.post(f"/api/accounts/{me['id']}/deactivate", headers=admin)
    assert r.status_code == 200 and r.json()["active"] is False
    assert client.get("/api/auth/me", headers=headers).status_code == 401
    assert client.post("/api/auth/login", json={"username": "member-demo",
                                                "password": "test-demo-password"}).status_code == 401
