"""Honours for bravery (见义勇为), points with their sources, and leaderboards."""

from __future__ import annotations


def test_bravery_proposed_by_leader_and_approved_by_operator_earns_traceable_points(
    client, leader, member, tianhe_operator, admin
):
    me = client.get("/api/auth/me", headers=member).json()
    r = client.post(
        "/api/honours",
        headers=leader,
        json={"member_id": me["member_id"], "citation": "勇救落水儿童", "kind": "bravery"},
    )
    assert r.status_code == 201, r.text
    assert (
        client.post(f"/api/honours/{r.json()['id']}/decision", headers=leader, json={"approve": True}).status_code
        == 403
    )
    decided = client.post(f"/api/honours/{r.json()['id']}/decision", headers=tianhe_operator, json={"approve": True})
    assert decided.status_code == 200 and decided.json()["status"] == "approved"
    assert client.post("/api/rewards/award", headers=admin).json()["added"] >= 1
    mine = client.get("/api/rewards/mine", headers=member).json()
    assert mine["balance"] == 100
    assert mine["entries"] == [
        {
            "rule": "honour_bravery",
            "source_type": "honour",
            "source_id": r.json()["id"],
            "points": 100,
            "earned_at": mine["entries"][0]["earned_at"],
        }
    ]
    board = client.get("/api/rewards/leaderboard", headers=leader, params={"unit_id": me["unit_id"]}).json()
    assert board[0] == {
        "rank": 1,
        "member_id": me["member_id"],
        "name": board[0]["name"],
        "unit_id": me["unit_id"],
        "points": 100,
    }
    district = client.get("/api/auth/me", headers=tianhe_operator).json()["district_id"]
    assert (
        client.get("/api/rewards/leaderboard", headers=tianhe_operator, params={"district_id": district}).json()[0][
            "member_id"
        ]
        == me["member_id"]
    )
    assert client.get("/api/rewards/leaderboard", headers=member, params={"district_id": district}).status_code == 403


def test_member_cannot_propose_an_honour(client, member):
    me = client.get("/api/auth/me", headers=member).json()
    r = client.post("/api/honours", headers=member, json={"member_id": me["member_id"], "citation": "自荐见义勇为"})
    assert r.status_code == 403


def test_honour_naming_an_unknown_incident_is_refused(client, leader, member):
    me = client.get("/api/auth/me", headers=member).json()
    r = client.post(
        "/api/honours",
        headers=leader,
        json={"member_id": me["member_id"], "citation": "勇救落水儿童", "incident_id": 999999},
    )
    assert r.status_code == 422 and "incident 999999 does not exist" in r.json()["message"]
