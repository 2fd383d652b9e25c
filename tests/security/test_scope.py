"""Scope beyond the role: nobody reads another district's or unit's objects, and personal data
(members' and mediation parties' phone and ID numbers, a unit leader's phone) is masked for every
role that does not need it. MemberOut's masking per role is tested in tests/people/test_member_privacy.py."""

from __future__ import annotations

from fastapi.testclient import TestClient

Headers = dict[str, str]
PHONE, ID_NUMBER = "13800138000", "440106199001011234"


def _me(client: TestClient, headers: Headers) -> dict:
    return client.get("/api/auth/me", headers=headers).json()


def _unit_elsewhere(client: TestClient, admin: Headers, district_id: int) -> dict:
    units = client.get("/api/units", headers=admin, params={"page_size": 500}).json()["items"]
    return next(u for u in units if u["district_id"] != district_id)


def test_nobody_reads_an_incident_of_another_district(client, admin, tianhe_operator, leader, member) -> None:  # type: ignore[no-untyped-def]
    elsewhere = _unit_elsewhere(client, admin, _me(client, tianhe_operator)["district_id"])
    r = client.post("/api/incidents", headers=admin, json={"type": "public_order", "lon": elsewhere["lon"],
                                                          "lat": elsewhere["lat"]})
    assert r.status_code == 201, r.text
    incident = r.json()["id"]
    for who in (tianhe_operator, leader, member):
        assert client.get(f"/api/incidents/{incident}", headers=who).status_code in (403, 404)
        assert client.get(f"/api/incidents/{incident}/cap.xml", headers=who).status_code in (403, 404)
        listed = client.get("/api/incidents", headers=who).json()
        items = listed["items"] if isinstance(listed, dict) else listed
        assert incident not in [i["id"] for i in items]
    note = client.post(f"/api/incidents/{incident}/notes", headers=tianhe_operator, json={"text": "我来处理"})
    assert note.status_code in (403, 404)


def test_leader_cannot_change_another_unit_and_sees_its_leader_phone_masked(client, admin, leader) -> None:  # type: ignore[no-untyped-def]
    mine = _me(client, leader)
    other = _unit_elsewhere(client, admin, mine["district_id"])
    assert client.patch(f"/api/units/{other['id']}", headers=leader, json={"name": "改名"}).status_code == 403
    assert client.post(f"/api/units/{other['id']}/teams", headers=leader, json={"name": "x"}).status_code == 403
    seen = client.get(f"/api/units/{other['id']}", headers=leader).json()
    full = client.get(f"/api/units/{other['id']}", headers=admin).json()
    if full.get("leader") and full["leader"]["phone"]:
        assert seen["leader"]["phone"] != full["leader"]["phone"] and "*" in seen["leader"]["phone"]


def test_member_sees_their_leaders_phone_masked(client, admin, member) -> None:  # type: ignore[no-untyped-def]
    unit_id = _me(client, member)["unit_id"]
    full = client.get(f"/api/units/{unit_id}", headers=admin).json()["leader"]["phone"]
    seen = client.get(f"/api/units/{unit_id}", headers=member).json()["leader"]["phone"]
    assert full and "*" not in full and seen != full and "*" in seen


def test_district_operator_cannot_read_another_districts_member(client, admin, login) -> None:  # type: ignore[no-untyped-def]
    other_operator = login("op-440111")
    tianhe_member = _me(client, login("member-demo"))["member_id"]
    r = client.get(f"/api/members/{tianhe_member}", headers=other_operator)
    assert r.status_code in (403, 404)
    assert tianhe_member not in [m["id"] for m in client.get("/api/members", headers=other_operator,
                                                              params={"page_size": 500}).json()["items"]]


def test_mediation_parties_data_only_for_the_mediator_and_district_operators(
    client, admin, leader, member, tianhe_operator, login,
) -> None:  # type: ignore[no-untyped-def]
    mediator = _me(client, member)["member_id"]
    r = client.post("/api/mediation/cases", headers=leader, json={
        "dispute_type": "neighbour", "summary": "楼上漏水", "mediator_member_id": mediator,
        "parties": [{"name": "张三", "phone": PHONE, "id_number": ID_NUMBER, "side": "applicant"}]})
    assert r.status_code == 201, r.text
    case = r.json()["id"]
    for who in (member, tianhe_operator, admin):
        (party,) = client.get(f"/api/mediation/cases/{case}", headers=who).json()["parties"]
        assert (party["phone"], party["id_number"]) == (PHONE, ID_NUMBER)
    (party,) = client.get(f"/api/mediation/cases/{case}", headers=leader).json()["parties"]
    assert PHONE not in str(party) and ID_NUMBER not in str(party)
    listed = client.get("/api/mediation/cases", headers=leader).json()
    assert PHONE not in str(listed) and ID_NUMBER not in str(listed)
    assert client.get(f"/api/mediation/cases/{case}", headers=login("op-440111")).status_code in (403, 404)
