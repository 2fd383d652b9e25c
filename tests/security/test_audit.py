"""Audit log: every operator action and every view of personal data is recorded once; who may read it."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from jiefang.audit import service
from jiefang.audit.models import AuditEntry

Headers = dict[str, str]


def _entries(sessions) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    with sessions() as s:
        return list(s.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def _me(client: TestClient, headers: Headers) -> dict:
    return client.get("/api/auth/me", headers=headers).json()


def test_an_operator_action_makes_exactly_one_entry(client, leader, sessions) -> None:  # type: ignore[no-untyped-def]
    unit_id = _me(client, leader)["unit_id"]
    before = len(_entries(sessions))
    r = client.post(f"/api/units/{unit_id}/teams", headers=leader, json={"name": "夜巡小队"})
    assert r.status_code == 201
    made = _entries(sessions)[before:]
    assert len(made) == 1
    entry = made[0]
    assert (entry.username, entry.role, entry.kind, entry.method) == ("leader-demo", "unit_leader", "action", "POST")
    assert entry.route == "/api/units/{unit_id}/teams" and entry.target == f"unit_id={unit_id}"
    assert entry.status == 201 and entry.client_ip == "testclient" and entry.at is not None


def test_a_refused_operator_action_is_recorded_with_its_status(client, tianhe_operator, sessions) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/api/areas/import", headers=tianhe_operator, json={})
    assert r.status_code == 403
    assert [(e.route, e.status) for e in _entries(sessions)] == [("/api/areas/import", 403)]


def test_a_personal_data_view_makes_exactly_one_entry(client, admin, member, sessions) -> None:  # type: ignore[no-untyped-def]
    member_id = _me(client, member)["member_id"]
    assert client.get(f"/api/members/{member_id}", headers=member).status_code == 200  # one's own: not audited
    assert _entries(sessions) == []
    assert client.get(f"/api/members/{member_id}", headers=admin).status_code == 200
    (entry,) = _entries(sessions)
    assert (entry.kind, entry.method, entry.route, entry.target) == (
        "view", "GET", "/api/members/{member_id}", f"member_id={member_id}")


def test_reads_without_personal_data_are_not_audited(client, admin, sessions) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/api/incidents", headers=admin).status_code == 200
    assert client.get("/api/areas", headers=admin).status_code == 200
    assert _entries(sessions) == []


def test_a_member_cannot_read_the_audit(client, member, leader) -> None:  # type: ignore[no-untyped-def]
    for who in (member, leader):
        r = client.get("/api/audit", headers=who)
        assert r.status_code == 403 and r.json()["error"] == "forbidden"


def test_city_admin_filters_and_pages_the_audit(client, admin, leader, tianhe_operator) -> None:  # type: ignore[no-untyped-def]
    unit_id = _me(client, leader)["unit_id"]
    for name in ("一队", "二队", "三队"):
        client.post(f"/api/units/{unit_id}/teams", headers=leader, json={"name": name})
    client.get("/api/members", headers=tianhe_operator, params={"unit_id": unit_id})
    page = client.get("/api/audit", headers=admin, params={"username": "leader-demo", "page_size": 2}).json()
    assert page["total"] == 3 and len(page["items"]) == 2 and page["page_size"] == 2
    assert page["items"][0]["id"] > page["items"][1]["id"]  # newest first
    views = client.get("/api/audit", headers=admin, params={"kind": "view"}).json()
    assert [e["username"] for e in views["items"]] == ["op-440106"]
    assert views["items"][0]["target"] == f"?unit_id={unit_id}"
    since = page["items"][0]["at"]
    later = client.get("/api/audit", headers=admin, params={"since": since, "username": "leader-demo"}).json()
    assert later["total"] == 1
    until = client.get("/api/audit", headers=admin, params={"until": since, "username": "leader-demo"}).json()
    assert until["total"] == 2
    bad = client.get("/api/audit", headers=admin, params={"kind": "everything"})
    assert bad.status_code == 422 and bad.json()["message"]


def test_district_operator_reads_only_their_districts_entries(client, admin, leader, login) -> None:  # type: ignore[no-untyped-def]
    unit_id = _me(client, leader)["unit_id"]
    client.post(f"/api/units/{unit_id}/teams", headers=leader, json={"name": "一队"})  # a 天河 leader
    client.get(f"/api/units/{unit_id}", headers=admin)  # the city admin
    other = login("op-440111")
    client.get("/api/members", headers=other)  # another district's operator
    tianhe = login("op-440106")
    seen = client.get("/api/audit", headers=tianhe).json()["items"]
    assert [e["username"] for e in seen] == ["leader-demo"]
    assert [e["username"] for e in client.get("/api/audit", headers=other).json()["items"]] == ["op-440111"]


def test_a_failed_audit_write_is_logged_and_the_answer_still_goes_out(
    client, leader, sessions, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:  # type: ignore[no-untyped-def]
    def broken(_session, _entry):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk full")

    monkeypatch.setattr(service, "record", broken)
    unit_id = _me(client, leader)["unit_id"]
    with caplog.at_level(logging.ERROR, logger="jiefang.audit"):
        r = client.post(f"/api/units/{unit_id}/teams", headers=leader, json={"name": "夜巡小队"})
    assert r.status_code == 201
    assert any("audit entry lost" in rec.getMessage() and rec.levelno == logging.ERROR for rec in caplog.records)
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_the_audit_cli_lists_entries(client, leader, settings, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from jiefang.cli import app

    unit_id = _me(client, leader)["unit_id"]
    client.post(f"/api/units/{unit_id}/teams", headers=leader, json={"name": "夜巡小队"})
    monkeypatch.setenv("JIEFANG_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("COLUMNS", "250")
    result = CliRunner().invoke(app, ["audit", "--username", "leader-demo"], catch_exceptions=False)
    assert result.exit_code == 0
    assert "1 of 1 entries" in result.stdout and "leader-demo" in result.stdout
    assert "/api/units/{unit_id}/teams" in result.stdout
    assert CliRunner().invoke(app, ["audit", "--kind", "everything"]).exit_code == 2


def test_position_fixes_from_a_gateway_are_not_audited(client, admin, sessions) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/api/positions/batch", headers=admin, json={"fixes": []})
    assert r.status_code in (200, 422)
    assert _entries(sessions) == []
