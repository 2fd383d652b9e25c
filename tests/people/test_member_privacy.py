"""What each role may see of members: phone and ID number masked unless the role needs them."""

from __future__ import annotations


def _me(client, headers):
    return client.get("/api/auth/me", headers=headers).json()


def _other_unit_member(client, admin, unit_id):
    page = client.get("/api/members", headers=admin, params={"page_size": 500}).json()
    return next(m for m in page["items"] if m["unit_id"] != unit_id)


def test_member_cannot_read_another_units_member(client, admin, member):
    me = _me(client, member)
    other = _other_unit_member(client, admin, me["unit_id"])
    r = client.get(f"/api/members/{other['id']}", headers=member)
    assert r.status_code == 403 and r.json()["error"] == "forbidden"


def test_member_cannot_read_teammates_phone_or_id(client, admin, member):
    me = _me(client, member)
    roster = client.get("/api/members", headers=member).json()["items"]
    assert roster and all(m["unit_id"] == me["unit_id"] for m in roster)
    full = {m["id"]: m for m in client.get("/api/members", headers=admin,
                                            params={"unit_id": me["unit_id"]}).json()["items"]}
    for m in roster:
        if m["id"] == me["member_id"]:
            continue
        assert "*" in m["phone"] and m["phone"] != full[m["id"]]["phone"]
        assert m["id_number"] is None or "*" in m["id_number"]
        assert m["insurance_policy_no"] is None and m["pii_masked"] is True


def test_member_sees_own_phone_and_id_in_full(client, admin, member):
    me = _me(client, member)
    mine = client.get(f"/api/members/{me['member_id']}", headers=member).json()
    theirs = client.get(f"/api/members/{me['member_id']}", headers=admin).json()
    assert mine["phone"] == theirs["phone"] and "*" not in mine["phone"]
    assert mine["id_number"] == theirs["id_number"]


def test_unit_leader_sees_phones_but_not_id_numbers_of_own_unit(client, leader):
    roster = client.get("/api/members", headers=leader).json()["items"]
    me = _me(client, leader)
    others = [m for m in roster if m["id"] != me["member_id"]]
    assert others and all("*" not in m["phone"] for m in others)
    assert all(m["id_number"] is None or "*" in m["id_number"] for m in others)


def test_unit_leader_cannot_list_another_unit(client, admin, leader):
    me = _me(client, leader)
    other = _other_unit_member(client, admin, me["unit_id"])
    r = client.get("/api/members", headers=leader, params={"unit_id": other["unit_id"]})
    assert r.status_code == 403


def test_district_operator_sees_only_own_district(client, tianhe_operator):
    me = _me(client, tianhe_operator)
    page = client.get("/api/members", headers=tianhe_operator, params={"page_size": 500}).json()
    assert page["total"] > 0
    units = {m["unit_id"] for m in page["items"]}
    for unit_id in list(units)[:5]:
        unit = client.get(f"/api/units/{unit_id}", headers=tianhe_operator).json()
        assert unit["district"]["id"] == me["district_id"]
    assert all("*" not in m["phone"] for m in page["items"])


def test_district_operator_cannot_ask_for_another_district(client, admin, tianhe_operator):
    me = _me(client, tianhe_operator)
    districts = client.get("/api/areas", headers=admin, params={"level": "district"}).json()["items"]
    other = next(d for d in districts if d["id"] != me["district_id"])
    r = client.get("/api/members", headers=tianhe_operator, params={"district_id": other["id"]})
    assert r.status_code == 403


def test_member_list_filters_by_skill(client, admin):
    page = client.get("/api/members", headers=admin, params={"skill": "first_aid", "page_size": 200}).json()
    assert page["total"] > 0 and all("first_aid" in m["skills"] for m in page["items"])


def test_unit_leader_adds_member_to_own_unit_only(client, admin, leader):
    me = _me(client, leader)
    new = {"unit_id": me["unit_id"], "name": "陈新队员", "phone": "13800001111",
           "id_number": "44010619900101001X", "role": "volunteer", "skills": ["first_aid"]}
    r = client.post("/api/members", headers=leader, json=new)
    assert r.status_code == 422 and "check digit" in r.json()["message"]
    from jiefang.people.idcard import id_check_digit
    new["id_number"] = "44010619900101001" + id_check_digit("44010619900101001")
    r = client.post("/api/members", headers=leader, json=new)
    assert r.status_code == 201, r.text
    other = _other_unit_member(client, admin, me["unit_id"])
    r = client.post("/api/members", headers=leader, json={**new, "unit_id": other["unit_id"]})
    assert r.status_code == 403


def test_member_cannot_create_accounts_or_members(client, member):
    me = _me(client, member)
    r = client.post("/api/members", headers=member,
                    json={"unit_id": me["unit_id"], "name": "某人", "phone": "13800002222"})
    assert r.status_code == 403
    r = client.post("/api/accounts", headers=member,
                    json={"username": "sneaky", "password": "long-enough-pw", "role": "city_admin"})
    assert r.status_code == 403
