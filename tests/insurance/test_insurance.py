"""Insurance: policies per member, uncovered check-ins flagged (not refused), reminders, export."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from sqlalchemy import select, update

from jiefang.duty.models import DutyAudit
from jiefang.insurance.service import remind_expiring
from jiefang.people.models import Member


def _me(client, member):  # type: ignore[no-untyped-def]
    return client.get("/api/auth/me", headers=member).json()


def test_check_in_without_cover_is_flagged_not_refused(client, member, post, tianhe_operator, sessions):
    me = _me(client, member)
    with sessions() as s:
        s.execute(update(Member).where(Member.id == me["member_id"]).values(insurer=None, insurance_expires_on=None))
        s.commit()
    seen: list[dict] = []
    client.app.state.bus.subscribe(seen.append)
    r = client.post("/api/duty/check-in", headers=member, json={"token": post.token, "lon": post.lon, "lat": post.lat})
    assert r.status_code in (200, 201), r.text
    flagged = client.get("/api/insurance/uncovered-on-duty", headers=tianhe_operator).json()
    assert [f["member_id"] for f in flagged] == [me["member_id"]]
    assert any(e["type"] == "duty.check_in" and e["uninsured"] and e["member_id"] == me["member_id"] for e in seen)
    with sessions() as s:
        assert s.scalar(select(DutyAudit).where(DutyAudit.action == "check_in_uninsured")) is not None


def test_registered_policy_gives_cover_and_reaches_the_insurer_export(client, member, post, tianhe_operator, leader):
    me = _me(client, member)
    today = date.today()
    policy = {
        "member_id": me["member_id"],
        "insurer": "测试保险",
        "policy_no": "PX-0001",
        "cover": "意外伤害",
        "cover_amount_yuan": 500000,
        "starts_on": (today - timedelta(days=1)).isoformat(),
        "ends_on": (today + timedelta(days=365)).isoformat(),
    }
    assert client.post("/api/insurance/policies", headers=leader, json=policy).status_code == 403
    assert client.post("/api/insurance/policies", headers=tianhe_operator, json=policy).status_code == 201
    assert client.post("/api/insurance/policies", headers=tianhe_operator, json=policy).status_code == 409
    r = client.post("/api/duty/check-in", headers=member, json={"token": post.token, "lon": post.lon, "lat": post.lat})
    assert r.status_code in (200, 201), r.text
    assert me["member_id"] not in [
        f["member_id"] for f in client.get("/api/insurance/uncovered-on-duty", headers=tianhe_operator).json()
    ]
    exported = client.get("/api/insurance/export.csv", headers=tianhe_operator, params={"insurer": "测试保险"})
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["policy_no"], int(r["member_id"])) for r in rows] == [("PX-0001", me["member_id"])]
    assert "*" not in rows[0]["id_number"]  # the district's operator sees the ID number the insurer needs


def test_expiring_policy_is_reminded_once(client, member, tianhe_operator, sessions):
    me = _me(client, member)
    today = date.today()
    client.post(
        "/api/insurance/policies",
        headers=tianhe_operator,
        json={
            "member_id": me["member_id"],
            "insurer": "测试保险",
            "policy_no": "PX-0002",
            "cover_amount_yuan": 1000,
            "starts_on": (today - timedelta(days=300)).isoformat(),
            "ends_on": (today + timedelta(days=10)).isoformat(),
        },
    )
    seen: list[dict] = []
    client.app.state.bus.subscribe(seen.append)
    with sessions() as s:
        assert remind_expiring(s, client.app.state.bus, today, 30) == 1
        assert remind_expiring(s, client.app.state.bus, today, 30) == 0
    assert seen[0]["type"] == "insurance.expiring" and seen[0]["member_id"] == me["member_id"]
