"""Shifts and rosters, members' own shifts, automatic check-out and empty posts."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from jiefang.config import Settings
from jiefang.duty import board, service
from jiefang.duty.schemas import CheckIn
from jiefang.duty.windows import ShiftTimes, running_window, weekdays_mask
from jiefang.people.accounts import authenticate

TZ = ZoneInfo("Asia/Shanghai")


def _me(client, headers):
    return client.get("/api/auth/me", headers=headers).json()


def _local(hour, minute=0, day=date(2026, 11, 23)):
    return datetime.combine(day, time(hour, minute), TZ)


def test_leader_creates_three_shifts_and_rosters_a_member(client, leader, member):
    unit_id = _me(client, leader)["unit_id"]
    member_id = _me(client, member)["member_id"]
    made = []
    for name, start, end in (("早班", "08:00", "16:00"), ("中班", "16:00", "00:00"), ("夜班", "00:00", "08:00")):
        r = client.post(
            f"/api/units/{unit_id}/shifts", headers=leader, json={"name": name, "start_time": start, "end_time": end}
        )
        assert r.status_code == 201, r.text
        made.append(r.json())
    assert [s["name"] for s in client.get(f"/api/units/{unit_id}/shifts", headers=member).json()] == [
        "夜班",
        "早班",
        "中班",
    ]
    r = client.post(
        f"/api/shifts/{made[0]['id']}/roster", headers=leader, json={"member_id": member_id, "valid_from": "2020-01-01"}
    )
    assert r.status_code == 201
    again = client.post(
        f"/api/shifts/{made[0]['id']}/roster", headers=leader, json={"member_id": member_id, "valid_from": "2020-01-01"}
    )
    assert again.status_code == 409
    mine = client.get("/api/duty/my-shifts", headers=member).json()
    assert mine and all(s["name"] == "早班" for s in mine)


def test_member_cannot_edit_rosters_and_bad_shifts_are_422(client, leader, member):
    unit_id = _me(client, leader)["unit_id"]
    r = client.post(
        f"/api/units/{unit_id}/shifts", headers=member, json={"name": "x", "start_time": "08:00", "end_time": "16:00"}
    )
    assert r.status_code == 403
    r = client.post(
        f"/api/units/{unit_id}/shifts", headers=leader, json={"name": "x", "start_time": "08:00", "end_time": "08:00"}
    )
    assert r.status_code == 422 and "length" in r.json()["message"]
    r = client.post(
        f"/api/units/{unit_id}/shifts", headers=leader, json={"name": "x", "start_time": "25:00", "end_time": "08:00"}
    )
    assert r.status_code == 422


def test_overnight_shift_runs_past_midnight():
    night = ShiftTimes(time(22), time(6), weekdays_mask([1]))  # starts Mondays only
    monday = date(2026, 11, 23)
    assert running_window(night, _local(23, day=monday), TZ) is not None
    assert running_window(night, _local(5, 59, day=monday + timedelta(days=1)), TZ) is not None
    assert running_window(night, _local(6, 0, day=monday + timedelta(days=1)), TZ) is None
    assert running_window(night, _local(23, day=monday + timedelta(days=1)), TZ) is None


@given(st.integers(0, 23), st.integers(0, 23), st.integers(0, 24 * 60 * 3))
def test_a_daily_shift_is_running_exactly_inside_its_window(start_h, end_h, minute):
    if start_h == end_h:
        return
    shift = ShiftTimes(time(start_h), time(end_h), weekdays_mask([1, 2, 3, 4, 5, 6, 7]))
    now = _local(0) + timedelta(minutes=minute)
    window = running_window(shift, now, TZ)
    local = now.astimezone(TZ)
    inside = (start_h <= local.hour < end_h) if start_h < end_h else (local.hour >= start_h or local.hour < end_h)
    assert (window is not None) == inside
    if window:
        assert window[0] <= now < window[1] and window[1] - window[0] <= timedelta(hours=24)


def _rostered_member_on_duty(client, leader, member, sessions, settings, post, now):
    unit_id = _me(client, leader)["unit_id"]
    member_id = _me(client, member)["member_id"]
    local = now.astimezone(TZ)
    start = (local - timedelta(hours=1)).time().replace(second=0, microsecond=0)
    end = (local + timedelta(hours=1)).time().replace(second=0, microsecond=0)
    shift = client.post(
        f"/api/units/{unit_id}/shifts",
        headers=leader,
        json={"name": "测试班", "start_time": start.isoformat(), "end_time": end.isoformat(), "min_on_duty": 1},
    ).json()
    client.post(
        f"/api/shifts/{shift['id']}/roster",
        headers=leader,
        json={"member_id": member_id, "valid_from": (local.date() - timedelta(days=1)).isoformat()},
    )
    return shift


def test_empty_post_is_flagged_until_someone_checks_in(client, leader, member, admin, sessions, post):
    now = datetime.now(UTC)
    shift = _rostered_member_on_duty(client, leader, member, sessions, Settings(), post, now)
    empty = client.get("/api/duty/empty-posts", headers=admin).json()
    flagged = [e for e in empty if e["unit_id"] == post.unit_id]
    assert flagged and flagged[0]["shift_id"] == shift["id"] and flagged[0]["on_duty"] == 0
    client.post("/api/duty/check-in", headers=member, json={"token": post.token, "lon": post.lon, "lat": post.lat})
    empty = client.get("/api/duty/empty-posts", headers=admin).json()
    assert not [e for e in empty if e["unit_id"] == post.unit_id]


def test_rostered_check_in_ends_automatically_at_shift_end_plus_grace(client, leader, member, sessions, post):
    now = datetime.now(UTC)
    shift = _rostered_member_on_duty(client, leader, member, sessions, Settings(), post, now)
    settings = Settings(checkout_grace_s=600)
    token = member["Authorization"].split()[1]
    with sessions() as s:
        who = authenticate(s, token)
        duty = service.check_in(s, settings, who, CheckIn(token=post.token, lon=post.lon, lat=post.lat), now=now)
        assert duty.shift_id == shift["id"]
        expected_end = duty.auto_checkout_at
        assert timedelta(minutes=55) < expected_end - now < timedelta(minutes=75)
        assert service.close_expired(s, now=expected_end - timedelta(seconds=1)) == 0
        assert service.close_expired(s, now=expected_end + timedelta(seconds=1)) == 1
        s.refresh(duty)
        assert duty.check_out_reason == "shift_end" and duty.checked_out_at == expected_end
        assert board.board(s, "city").total_on_duty == 0


def test_shift_times_with_a_utc_offset_are_refused(client, leader):
    unit_id = client.get("/api/auth/me", headers=leader).json()["unit_id"]
    r = client.post(f"/api/units/{unit_id}/shifts", headers=leader,
                    json={"name": "夜班", "start_time": "00:00:00+16:00", "end_time": "08:00:00"})
    assert r.status_code == 422 and "UTC offset" in r.json()["message"]
