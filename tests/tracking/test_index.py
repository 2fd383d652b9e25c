"""The in-memory position index: exact nearest members under filters, circles, polygons, updates."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon

from jiefang.errors import InvalidInput
from jiefang.geo.projection import LocalProjection
from jiefang.geo.travel import TravelModel
from jiefang.tracking.index import (
    EQUIPMENT_KEYS,
    ROLE_KEYS,
    SKILL_KEYS,
    OnDutyMember,
    PositionIndex,
    PositionStore,
)

PROJECTION = LocalProjection(lon0=113.3, lat0=23.1)
DEG = 1 / 111_195.0  # degrees of latitude per metre


def member(member_id: int, lon: float, lat: float, **kw) -> OnDutyMember:
    return OnDutyMember(member_id, kw.pop("unit_id", 1), lon, lat, **kw)


class Brute:
    """The reference: every member checked, distances computed the way the index does."""

    def __init__(self) -> None:
        self.rows: dict[int, OnDutyMember] = {}

    def qualifying(self, skills=(), equipment=(), roles=(), team_id=None, unit_id=None):
        for m in self.rows.values():
            if (set(skills) <= m.skills and set(equipment) <= m.equipment and (not roles or m.role in roles)
                    and team_id in (None, m.team_id) and unit_id in (None, m.unit_id)):
                yield m

    def by_distance(self, lon, lat, limit_m=math.inf, **filters):
        qx, qy = (float(v) for v in PROJECTION.to_xy(lon, lat))
        rows = list(self.qualifying(**filters))
        x, y = PROJECTION.to_xy(np.array([m.lon for m in rows]), np.array([m.lat for m in rows]))
        d2 = (x - qx) ** 2 + (y - qy) ** 2
        ids = np.array([m.member_id for m in rows], dtype=np.int64)
        keep = d2 <= limit_m * limit_m
        return ids[keep][np.lexsort((ids[keep], d2[keep]))].tolist()


def random_member(rng: np.random.Generator, member_id: int, spread_deg: float) -> OnDutyMember:
    unit = int(rng.integers(0, 8))
    return OnDutyMember(
        member_id=member_id, unit_id=unit, team_id=None if unit == 0 else unit * 10 + int(rng.integers(0, 2)),
        lon=113.3 + float(rng.normal(0, spread_deg)), lat=23.1 + float(rng.normal(0, spread_deg)),
        role=str(rng.choice(ROLE_KEYS)),
        skills=frozenset(s for s in SKILL_KEYS if rng.random() < 0.35),
        equipment=frozenset(e for e in EQUIPMENT_KEYS if rng.random() < 0.5),
        mode=str(rng.choice(["walk", "e_bike", "car"])),
    )


filters = st.fixed_dictionaries({}, optional={
    "skills": st.lists(st.sampled_from(SKILL_KEYS), max_size=2),
    "equipment": st.lists(st.sampled_from(EQUIPMENT_KEYS), max_size=2),
    "roles": st.lists(st.sampled_from(ROLE_KEYS), max_size=2),
    "team_id": st.integers(9, 42),
    "unit_id": st.integers(0, 8),
})


@given(
    seed=st.integers(0, 2**32 - 1), n=st.integers(0, 400), k=st.integers(1, 30), where=filters,
    cell_m=st.sampled_from([40.0, 250.0]), extent_m=st.sampled_from([1_500.0, 100_000.0]),
    max_distance_m=st.one_of(st.none(), st.floats(0, 5_000)),
)
@settings(max_examples=150, deadline=None)
def test_nearest_equals_brute_force_after_moves_and_removals(seed, n, k, where, cell_m, extent_m, max_distance_m):
    rng = np.random.default_rng(seed)
    index, brute = PositionIndex(PROJECTION, cell_m=cell_m, extent_m=extent_m), Brute()
    for i in range(n):
        m = random_member(rng, i, spread_deg=0.01)
        index.upsert(m)
        brute.rows[i] = m
    for _ in range(3):  # moves, some of them off the grid, some across cells
        ids = rng.choice(n + 5, size=min(n, 200), replace=True)
        lon = 113.3 + rng.normal(0, 0.015, ids.size)
        lat = 23.1 + rng.normal(0, 0.015, ids.size)
        index.update_positions(ids, lon, lat)
        for m, x, y in zip(ids.tolist(), lon.tolist(), lat.tolist(), strict=True):
            if m in brute.rows:
                old = brute.rows[m]
                brute.rows[m] = OnDutyMember(m, old.unit_id, x, y, old.team_id, old.role, old.skills,
                                             old.equipment, old.mode)
        for m in rng.choice(n + 1, size=n // 10, replace=False).tolist():
            assert index.remove(m) == (brute.rows.pop(m, None) is not None)
    for _ in range(5):
        lon, lat = 113.3 + float(rng.normal(0, 0.012)), 23.1 + float(rng.normal(0, 0.012))
        got = [h.member_id for h in index.nearest(lon, lat, k, max_distance_m=max_distance_m, **where)]
        limit = math.inf if max_distance_m is None else max_distance_m
        assert got == brute.by_distance(lon, lat, limit, **where)[:k]


@given(seed=st.integers(0, 2**32 - 1), radius_m=st.floats(0, 3_000), where=filters)
@settings(max_examples=60, deadline=None)
def test_within_circle_equals_brute_force(seed, radius_m, where):
    rng = np.random.default_rng(seed)
    index, brute = PositionIndex(PROJECTION), Brute()
    for i in range(300):
        brute.rows[i] = m = random_member(rng, i, spread_deg=0.02)
        index.upsert(m)
    got = [h.member_id for h in index.within_circle(113.3, 23.1, radius_m, **where)]
    assert got == brute.by_distance(113.3, 23.1, radius_m, **where)


def test_within_polygon_finds_exactly_the_members_inside():
    rng = np.random.default_rng(5)
    index = PositionIndex(PROJECTION, cell_m=100.0)
    members = [random_member(rng, i, spread_deg=0.01) for i in range(500)]
    for m in members:
        index.upsert(m)
    area = Polygon([(113.29, 23.09), (113.31, 23.095), (113.305, 23.11), (113.295, 23.105)])
    got = index.within_polygon(area, skills=["first_aid"])
    expected = sorted(m.member_id for m in members if "first_aid" in m.skills
                      and area.intersects(Polygon.from_bounds(m.lon, m.lat, m.lon, m.lat).centroid))
    assert got == expected and got


def test_hits_carry_distance_and_eta_by_mode_of_travel():
    index = PositionIndex(PROJECTION, travel=TravelModel(circuity=1.5))
    index.upsert(member(1, 113.3, 23.1 + 1000 * DEG, mode="walk"))
    index.upsert(member(2, 113.3, 23.1 + 2000 * DEG, mode="car"))
    walk, car = index.nearest(113.3, 23.1, 2)
    assert (walk.member_id, car.member_id) == (1, 2)
    assert walk.distance_m == pytest.approx(1000, rel=1e-3)
    assert walk.eta_s == pytest.approx(walk.distance_m * 1.5 / 1.4)
    assert car.eta_s == pytest.approx(car.distance_m * 1.5 / 8.0)
    assert (walk.lon, walk.lat) == (113.3, 23.1 + 1000 * DEG)


def test_member_going_off_duty_is_no_longer_found():
    index = PositionIndex(PROJECTION)
    index.upsert(member(1, 113.3, 23.1))
    assert index.remove(1) and not index.remove(1)
    assert index.nearest(113.3, 23.1, 5) == [] and 1 not in index


def test_updates_for_members_not_on_duty_are_ignored_and_last_repeat_wins():
    index = PositionIndex(PROJECTION)
    index.upsert(member(1, 113.3, 23.1))
    moved = index.update_positions([1, 99, 1], [113.31, 113.0, 113.32], [23.1, 23.0, 23.1])
    assert moved == 1
    assert index.nearest(113.32, 23.1, 1)[0].lon == 113.32


def test_upsert_replaces_attributes():
    index = PositionIndex(PROJECTION)
    index.upsert(member(1, 113.3, 23.1, team_id=5, skills=frozenset({"fire"})))
    index.upsert(member(1, 113.3, 23.1, team_id=6, skills=frozenset()))
    assert index.nearest(113.3, 23.1, 1, team_id=5) == [] and index.nearest(113.3, 23.1, 1, skills=["fire"]) == []
    assert [h.member_id for h in index.nearest(113.3, 23.1, 1, team_id=6)] == [1]
    assert len(index) == 1


def test_unit_equipment_change_applies_to_its_members_on_duty():
    index = PositionIndex(PROJECTION)
    index.upsert(member(1, 113.3, 23.1, unit_id=7))
    index.set_unit_equipment(7, ["aed"])
    assert [h.member_id for h in index.nearest(113.3, 23.1, 1, equipment=["aed"])] == [1]


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda ix: ix.nearest(113.3, 23.1, 3, skills=["juggling"]), "unknown skill"),
        (lambda ix: ix.nearest(113.3, 23.1, 0), "k must be"),
        (lambda ix: ix.nearest(113.3, 95.0, 3), "not a valid WGS84"),
        (lambda ix: ix.within_circle(113.3, 23.1, -1.0), "radius"),
        (lambda ix: ix.update_positions([1], [math.nan], [23.1]), "not a valid WGS84"),
        (lambda ix: ix.update_positions([1, 2], [113.3], [23.1]), "same length"),
        (lambda ix: ix.upsert(member(2, 113.3, 23.1, role="boss")), "unknown role"),
        (lambda ix: ix.upsert(member(2, 113.3, 23.1, mode="boat")), "unknown travel mode"),
    ],
)
def test_bad_input_is_refused(call, fragment):
    index = PositionIndex(PROJECTION)
    index.upsert(member(1, 113.3, 23.1))
    with pytest.raises(InvalidInput, match=fragment):
        call(index)


def test_positions_lists_everyone_on_duty():
    index = PositionIndex(PROJECTION)
    for i in range(3):
        index.upsert(member(i, 113.3 + i * 0.01, 23.1))
    index.remove(1)
    ids, lons, _ = index.positions()
    assert sorted(zip(ids.tolist(), lons.tolist(), strict=True)) == [(0, 113.3), (2, 113.32)]


def test_index_satisfies_the_position_store_protocol():
    assert isinstance(PositionIndex(PROJECTION), PositionStore)


def test_nearest_stays_exact_through_many_batches_of_moves_at_larger_scale():
    rng = np.random.default_rng(11)
    index, brute = PositionIndex(PROJECTION), Brute()
    for i in range(4_000):
        brute.rows[i] = m = random_member(rng, i, spread_deg=0.05)
        index.upsert(m)
    ids = np.arange(4_000)
    lon = np.array([brute.rows[i].lon for i in ids])
    lat = np.array([brute.rows[i].lat for i in ids])
    for _ in range(20):
        batch = rng.choice(ids, 500, replace=False)
        lon[batch] += rng.normal(0, 0.003, batch.size)
        lat[batch] += rng.normal(0, 0.003, batch.size)
        index.update_positions(batch, lon[batch], lat[batch])
        old = brute.rows
        brute.rows = {i: OnDutyMember(i, old[i].unit_id, float(lon[i]), float(lat[i]), old[i].team_id,
                                      old[i].role, old[i].skills, old[i].equipment, old[i].mode) for i in old}
        for q in range(10):
            qlon, qlat = 113.3 + float(rng.normal(0, 0.05)), 23.1 + float(rng.normal(0, 0.05))
            skills = [str(rng.choice(SKILL_KEYS))] if q % 2 else []
            got = [h.member_id for h in index.nearest(qlon, qlat, 20, skills=skills)]
            assert got == brute.by_distance(qlon, qlat, skills=skills)[:20]
