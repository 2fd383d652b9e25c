"""Analytics over the API: coverage by hour and live, cells, placement, governance index and history."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import func, select

from jiefang.analytics.index import load_components
from jiefang.areas.models import Area
from jiefang.drills.models import Drill
from jiefang.duty.models import DutySession, RosterAssignment, Shift
from jiefang.incidents.models import Incident
from jiefang.people.models import Member
from jiefang.reports.models import HazardReport
from jiefang.units.models import Unit

MONTH = "2026-10"


def _tianhe(sessions) -> Area:  # type: ignore[no-untyped-def]
    with sessions() as s:
        return s.scalars(select(Area).where(Area.code == "440106")).one()


def _roster_day_shift(sessions, district_id: int, members: int = 3) -> int:  # type: ignore[no-untyped-def]
    """Roster ``members`` members of one Tianhe unit on a 08:00–20:00 shift every day; return the unit id."""
    with sessions() as s:
        unit = s.scalars(select(Unit).where(Unit.district_id == district_id).order_by(Unit.id)).first()
        shift = Shift(unit_id=unit.id, name="白班", start_time=time(8), end_time=time(20), weekdays=0b1111111)
        s.add(shift)
        s.flush()
        ids = s.scalars(select(Member.id).where(Member.unit_id == unit.id).limit(members)).all()
        for m in ids:
            s.add(RosterAssignment(shift_id=shift.id, member_id=m, valid_from=date(2020, 1, 1)))
        s.commit()
        return unit.id


def test_coverage_by_hour_counts_rostered_responders(client, admin, sessions) -> None:  # type: ignore[no-untyped-def]
    tianhe = _tianhe(sessions)
    _roster_day_shift(sessions, tianhe.id, members=3)
    day = client.get(
        "/api/analytics/coverage",
        headers=admin,
        params={"hour": 10, "on": "2026-10-14", "k": 1, "district_id": tianhe.id},
    ).json()
    night = client.get(
        "/api/analytics/coverage",
        headers=admin,
        params={"hour": 22, "on": "2026-10-14", "k": 1, "district_id": tianhe.id},
    ).json()
    assert day["source"] == "roster" and day["responders"] == 3 and night["responders"] == 0
    assert day["cells"] == len(day["cell_ids"]) == len(day["responder_s"]) > 100
    assert 0 < day["shares"]["area"][2] < 1 and night["shares"]["area"] == [0, 0, 0]
    assert all(t is None for t in night["responder_s"])
    assert day["shares"]["unit_area"] == night["shares"]["unit_area"]  # unit sites do not go off duty
    assert [a["weight_share"][1] for a in day["areas"]] == sorted(a["weight_share"][1] for a in day["areas"])


def test_city_coverage_lists_every_district_without_cells(client, admin) -> None:  # type: ignore[no-untyped-def]
    got = client.get("/api/analytics/coverage", headers=admin, params={"hour": 10}).json()
    assert len(got["areas"]) == 11 and got["cell_ids"] == []
    assert got["units"] > 0 and got["cells"] > 50_000


def test_live_coverage_reads_the_on_duty_board(client, admin) -> None:  # type: ignore[no-untyped-def]
    got = client.get("/api/analytics/coverage", headers=admin).json()
    assert got["source"] == "live" and got["hour"] is None


def test_operator_sees_only_their_district(client, tianhe_operator, sessions) -> None:  # type: ignore[no-untyped-def]
    tianhe = _tianhe(sessions)
    mine = client.get("/api/analytics/coverage", headers=tianhe_operator, params={"hour": 9})
    assert mine.status_code == 200 and mine.json()["district_id"] == tianhe.id
    other = client.get("/api/analytics/coverage", headers=tianhe_operator, params={"hour": 9, "district_id": 1})
    assert other.status_code == 403 or tianhe.id == 1


def test_members_and_leaders_cannot_read_analytics(client, member, leader) -> None:  # type: ignore[no-untyped-def]
    for who in (member, leader):
        assert client.get("/api/analytics/coverage", headers=who).status_code == 403


def test_cells_of_a_district_come_with_boundaries(client, admin, sessions) -> None:  # type: ignore[no-untyped-def]
    tianhe = _tianhe(sessions)
    got = client.get("/api/analytics/cells", headers=admin, params={"district_id": tianhe.id}).json()
    assert len(got["cell_ids"]) == len(got["boundaries"]) > 100
    assert len(got["boundaries"][0]) == 6
    assert client.get("/api/analytics/cells", headers=admin).status_code == 422


def test_placement_adds_coverage_and_states_its_method(client, admin, sessions) -> None:  # type: ignore[no-untyped-def]
    tianhe = _tianhe(sessions)
    got = client.post(
        "/api/analytics/placement", headers=admin, json={"district_id": tianhe.id, "k": 5, "target_share": 0.5}
    ).json()
    assert got["method"] in ("milp", "greedy") and len(got["sites"]) == 5
    assert got["after_share"] > got["before_share"]
    assert got["covered_weight"] <= got["upper_bound"] + 1e-9
    gains = [s["gain"] for s in got["sites"]]
    assert gains == sorted(gains, reverse=True) and sum(gains) == pytest.approx(got["covered_weight"])
    assert got["set_cover"]["lower_bound"] <= got["set_cover"]["sites"]


def test_placement_takes_given_candidates(client, admin, sessions) -> None:  # type: ignore[no-untyped-def]
    tianhe = _tianhe(sessions)
    spots = [{"lon": tianhe.centroid_lon, "lat": tianhe.centroid_lat}, {"lon": 113.40, "lat": 23.20}]
    got = client.post(
        "/api/analytics/placement",
        headers=admin,
        json={"district_id": tianhe.id, "k": 1, "candidates": spots, "method": "milp"},
    ).json()
    assert got["candidates"] == 2 and got["optimal"] and len(got["sites"]) <= 1


def test_index_of_a_district_recomputes_by_hand(client, admin, sessions) -> None:  # type: ignore[no-untyped-def]
    tianhe = _tianhe(sessions)
    october = datetime(2026, 10, 10, 4, tzinfo=UTC)
    with sessions() as s:
        units = s.scalars(select(Unit).where(Unit.district_id == tianhe.id).order_by(Unit.id).limit(2)).all()
        on_duty = s.scalars(
            select(Member).where(Member.unit_id.in_([u.id for u in units]), Member.status == "active")
        ).all()[:4]
        for m in on_duty:
            s.add(
                DutySession(
                    member_id=m.id,
                    unit_id=m.unit_id,
                    checked_in_at=october,
                    check_in_lon=units[0].lon,
                    check_in_lat=units[0].lat,
                    check_in_distance_m=5.0,
                    checked_out_at=october.replace(hour=8),
                    check_out_reason="manual",
                )
            )
        for when, n in ((october, 2), (october.replace(year=2025), 4)):
            for _ in range(n):
                s.add(
                    Incident(
                        type="dispute",
                        severity=3,
                        status="closed",
                        source="console",
                        lon=units[0].lon,
                        lat=units[0].lat,
                        district_id=tianhe.id,
                        reported_at=when,
                    )
                )
        for status in ("resolved", "resolved", "in_progress", "rejected"):
            s.add(HazardReport(category="fire_hazard", lon=units[0].lon, lat=units[0].lat, position_source="device",
                               district_id=tianhe.id, status=status, created_at=october, updated_at=october))
        for status in ("passed", "passed", "passed", "failed", "cancelled"):
            s.add(
                Drill(
                    unit_id=units[0].id,
                    district_id=tianhe.id,
                    kind="scheduled",
                    plan_date=date(2026, 10, 9),
                    planned_at=october,
                    status=status,
                    scenario="public_order",
                )
            )
        s.commit()
        active = s.scalar(
            select(func.count(Member.id))
            .join(Unit, Unit.id == Member.unit_id)
            .where(Unit.district_id == tianhe.id, Member.status == "active")
        )
    got = client.get("/api/analytics/index", headers=admin, params={"month": MONTH}).json()
    row = next(r for r in got["rows"] if r["area_id"] == tianhe.id)
    parts = {p["key"]: p for p in row["parts"]}
    assert parts["participation"]["value"] == pytest.approx(len(on_duty) / active)
    assert parts["incident_trend"]["value"] == pytest.approx(1 - (2 / 4) / 2)
    assert parts["drill_pass"]["value"] == pytest.approx(3 / 4)  # the cancelled drill is not scored
    assert parts["hazard_resolution"]["value"] == pytest.approx(2 / 3)  # the rejected report is not counted
    # by hand: re-weight over the components with data, then the weighted mean × 100
    weights = {c.key: c.weight for c in load_components()}
    present = {k: p["value"] for k, p in parts.items() if p["value"] is not None}
    total = sum(weights[k] for k in present)
    assert row["score"] == pytest.approx(100 * sum(weights[k] / total * v for k, v in present.items()), abs=1e-3)
    assert row["score"] == pytest.approx(sum(p["points"] for p in row["parts"]), abs=1e-3)
    assert sorted(r["rank"] for r in got["rows"] if r["rank"]) == list(range(1, 12))


def test_index_history_keeps_one_score_per_month(client, admin, sessions) -> None:  # type: ignore[no-untyped-def]
    tianhe = _tianhe(sessions)
    for month in ("2026-09", MONTH, MONTH):
        assert client.get("/api/analytics/index", headers=admin, params={"month": month}).status_code == 200
    got = client.get(f"/api/analytics/index/history/{tianhe.id}", headers=admin).json()
    assert [p["period"] for p in got["points"]] == ["2026-09", MONTH]


def test_operator_index_is_their_district_and_streets(client, tianhe_operator, sessions) -> None:  # type: ignore[no-untyped-def]
    tianhe = _tianhe(sessions)
    got = client.get("/api/analytics/index", headers=tianhe_operator, params={"month": MONTH, "level": "street"}).json()
    with sessions() as s:
        streets = set(s.scalars(select(Area.id).where(Area.level == "street", Area.district_id == tianhe.id)))
    assert {r["area_id"] for r in got["rows"]} == streets


def test_incident_weighting_needs_incidents_and_then_counts_them(client, admin, sessions) -> None:  # type: ignore[no-untyped-def]
    tianhe = _tianhe(sessions)
    params = {"hour": 10, "district_id": tianhe.id, "weighting": "incidents", "k": 1}
    assert client.get("/api/analytics/coverage", headers=admin, params=params).status_code == 422
    with sessions() as s:
        unit = s.scalars(select(Unit).where(Unit.district_id == tianhe.id).order_by(Unit.id)).first()
        s.add(
            Incident(
                type="dispute",
                severity=3,
                status="closed",
                source="console",
                lon=unit.lon,
                lat=unit.lat,
                district_id=tianhe.id,
                reported_at=datetime.now(UTC),
            )
        )
        s.commit()
    _roster_day_shift(sessions, tianhe.id, members=1)  # the same first unit of Tianhe
    got = client.get("/api/analytics/coverage", headers=admin, params=params).json()
    # the district's only incident lies at the site of the unit whose member is rostered at 10:00
    assert got["weighting"] == "incidents" and got["responders"] == 1
    assert got["shares"]["weight"][1:] == [1.0, 1.0]  # (its cell centre may lie ~170 m off: 1 min not sure)
    assert got["shares"]["area"][0] < 0.05
