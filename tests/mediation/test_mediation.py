"""Mediation cases: parties' personal data protected, sessions, outcomes, statistics."""

from __future__ import annotations

PARTIES = [
    {"name": "张三", "phone": "13800138000", "id_number": "440106199001011234", "side": "applicant"},
    {"name": "李四", "phone": "13900139000", "side": "respondent"},
]


def _open(client, leader, mediator_id: int, kind: str = "neighbour"):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/mediation/cases",
        headers=leader,
        json={
            "dispute_type": kind,
            "summary": "楼上漏水引发邻里纠纷",
            "mediator_member_id": mediator_id,
            "parties": PARTIES,
        },
    )


def test_case_is_mediated_to_an_agreement_and_counted(client, leader, member, tianhe_operator):
    me = client.get("/api/auth/me", headers=member).json()
    r = _open(client, leader, me["member_id"])
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    r = client.post(
        f"/api/mediation/cases/{cid}/sessions",
        headers=member,
        json={"held_at": "2026-11-20T10:00:00+08:00", "note": "双方到场"},
    )
    assert r.status_code == 200 and len(r.json()["sessions"]) == 1
    r = client.post(
        f"/api/mediation/cases/{cid}/outcome", headers=member, json={"outcome": "agreement", "note": "赔偿"}
    )
    assert r.status_code == 200 and r.json()["status"] == "agreement"
    again = client.post(f"/api/mediation/cases/{cid}/outcome", headers=member, json={"outcome": "escalated"})
    assert again.status_code == 422
    _open(client, leader, me["member_id"], "family")
    stats = {row["dispute_type"]: row for row in client.get("/api/mediation/stats", headers=tianhe_operator).json()}
    assert stats["neighbour"] == {
        "dispute_type": "neighbour",
        "open": 0,
        "agreement": 1,
        "escalated": 0,
        "agreement_rate": 1.0,
    }
    assert stats["family"]["open"] == 1 and stats["family"]["agreement_rate"] is None


def test_parties_personal_data_is_masked_for_the_unit_leader_but_not_the_mediator(
    client, leader, member, tianhe_operator
):
    me = client.get("/api/auth/me", headers=member).json()
    cid = _open(client, leader, me["member_id"]).json()["id"]
    as_leader = client.get(f"/api/mediation/cases/{cid}", headers=leader).json()["parties"][0]
    assert as_leader["phone"] == "138****8000" and as_leader["id_number"] == "44**************34"
    for who in (member, tianhe_operator):
        party = client.get(f"/api/mediation/cases/{cid}", headers=who).json()["parties"][0]
        assert party["phone"] == "13800138000" and party["id_number"] == "440106199001011234"


def test_member_cannot_open_a_case_and_other_districts_do_not_see_it(client, leader, member, login):
    me = client.get("/api/auth/me", headers=member).json()
    assert _open(client, member, me["member_id"]).status_code == 403
    cid = _open(client, leader, me["member_id"]).json()["id"]
    assert client.get(f"/api/mediation/cases/{cid}", headers=login("op-440104")).status_code == 404
