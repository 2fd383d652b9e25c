"""Electronic fences: crossings fire once, circles are exact, patrol absence, grid lookup."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, Polygon, box

from jiefang.errors import Conflict, InvalidInput, NotFound
from jiefang.geo.projection import haversine_m
from jiefang.tracking.fences import Fence, FenceEngine, FenceEventKind, GridLocator

LON, LAT = 113.3, 23.1
M_LAT = 1 / 111_195.0  # degrees of latitude per metre
M_LON = M_LAT / math.cos(math.radians(LAT))
ENTER, LEAVE, ABSENT = FenceEventKind.ENTER, FenceEventKind.LEAVE, FenceEventKind.PATROL_ABSENCE


def at(east_m: float, north_m: float) -> tuple[float, float]:
    return LON + east_m * M_LON, LAT + north_m * M_LAT


def square(fence_id: int, kind: str = "sensitive_area", half_m: float = 100.0, **kw) -> Fence:
    (x0, y0), (x1, y1) = at(-half_m, -half_m), at(half_m, half_m)
    return Fence(fence_id, kind, polygon=box(x0, y0, x1, y1), **kw)


def walk(engine: FenceEngine, member_id: int, points: list[tuple[float, float]], t0: float = 0.0, step_s=10.0):
    events = []
    for i, (e, n) in enumerate(points):
        lon, lat = at(e, n)
        events += engine.evaluate([member_id], [lon], [lat], [t0 + i * step_s])
    return [(ev.kind, ev.fence_id) for ev in events]


# -- the property: exactly one event per crossing, against shapely / great-circle ground truth --

metres = st.floats(-600, 600)
fence_shapes = st.one_of(
    st.tuples(st.just("circle"), metres, metres, st.floats(20, 400)),
    st.tuples(st.just("box"), metres, metres, st.floats(20, 400)),
    st.tuples(st.just("triangle"), metres, metres, st.floats(50, 500)),
)
fence_kinds = st.sampled_from([("sensitive_area", None), ("incident_perimeter", None), ("patrol_zone", 1),
                               ("patrol_zone", 2)])


def make_fence(fence_id: int, shape, kind) -> Fence:
    form, e, n, size = shape
    kind_name, team = kind
    if form == "circle":
        return Fence(fence_id, kind_name, center=at(e, n), radius_m=size, team_id=team)
    if form == "box":
        (x0, y0), (x1, y1) = at(e - size, n - size), at(e + size, n + size)
        return Fence(fence_id, kind_name, polygon=box(x0, y0, x1, y1), team_id=team)
    return Fence(fence_id, kind_name, polygon=Polygon([at(e, n), at(e + size, n), at(e, n + size)]), team_id=team)


def truth(fence: Fence, lon: float, lat: float, team: int | None) -> bool:
    if fence.team_id is not None and fence.team_id != team:
        return False
    if fence.center is not None:
        return float(haversine_m(fence.center[0], fence.center[1], lon, lat)) <= fence.radius_m
    return fence.polygon.covers(Point(lon, lat))


def near_boundary(shapes):
    """Points within a few per cent of a fence's edge, where an inexact test would go wrong."""
    def place(args):
        m, j, bearing, factor = args
        _, e, n, size = shapes[j % len(shapes)][0]
        return m, e + size * factor * math.cos(bearing), n + size * factor * math.sin(bearing)
    return st.tuples(st.integers(0, 3), st.integers(0, 5), st.floats(0, 2 * math.pi),
                     st.floats(0.97, 1.03)).map(place)


@given(
    shapes=st.lists(st.tuples(fence_shapes, fence_kinds), min_size=1, max_size=6),
    data=st.data(),
    batch=st.integers(1, 9),
    drawn_late=st.booleans(),
)
@settings(max_examples=200, deadline=None)
def test_enter_and_leave_fire_exactly_once_per_crossing(shapes, data, batch, drawn_late):
    """Random tracks, some hugging fence edges; with ``drawn_late`` the last fence is drawn
    halfway through, around wherever members then are, which must not count as a crossing."""
    fences = [make_fence(i, shape, kind) for i, (shape, kind) in enumerate(shapes)]
    anywhere = st.tuples(st.integers(0, 3), metres, metres)
    track = data.draw(st.lists(st.one_of(anywhere, near_boundary(shapes)), max_size=40))
    teams = {0: None, 1: 1, 2: 2, 3: 1}
    late_at = len(track) // 2 if drawn_late else -1
    engine = FenceEngine()
    for f in fences[:-1] if drawn_late else fences:
        engine.add(f)
    for m, team in teams.items():
        engine.track(m, team)
    expected, inside, last = [], {m: set() for m in teams}, {}
    for t, (m, e, n) in enumerate(track):
        if t == late_at:
            for who, (lon, lat) in last.items():
                if truth(fences[-1], lon, lat, teams[who]):
                    inside[who].add(fences[-1].fence_id)
        present = fences if t >= late_at else fences[:-1]
        lon, lat = last[m] = at(e, n)
        now_in = {f.fence_id for f in present if truth(f, lon, lat, teams[m])}
        expected += [(LEAVE, f, m, t) for f in sorted(inside[m] - now_in)]
        expected += [(ENTER, f, m, t) for f in sorted(now_in - inside[m])]
        inside[m] = now_in
    got = []
    for start in range(0, len(track), batch):
        chunk, first = track[start:start + batch], start
        if start <= late_at < start + batch:  # split the batch where the fence is drawn
            head, chunk = chunk[:late_at - start], chunk[late_at - start:]
            got += evaluate(engine, head, start)
            engine.add(fences[-1])
            first = late_at
        got += evaluate(engine, chunk, first)
    assert got == expected
    for m in teams:
        assert engine.inside(m) == frozenset(inside[m])


def evaluate(engine: FenceEngine, chunk, first_t: int):
    points = [at(e, n) for _, e, n in chunk]
    events = engine.evaluate([m for m, _, _ in chunk], [p[0] for p in points], [p[1] for p in points],
                             list(range(first_t, first_t + len(chunk))))
    return [(ev.kind, ev.fence_id, ev.member_id, int(ev.t)) for ev in events]


# -- circles ----------------------------------------------------------------------------------

def test_circle_is_exact_great_circle_distance_not_a_polygon():
    engine = FenceEngine()
    engine.add(Fence(1, "incident_perimeter", center=(LON, LAT), radius_m=100.0))
    # on the diagonal, where a coarse polygon approximation of the circle would cut the corner
    lon_in, lat_in = at(99.98 / math.sqrt(2), 99.98 / math.sqrt(2))
    lon_out, lat_out = at(100.05 / math.sqrt(2), 100.05 / math.sqrt(2))
    assert float(haversine_m(LON, LAT, lon_in, lat_in)) < 100.0 < float(haversine_m(LON, LAT, lon_out, lat_out))
    assert [e.kind for e in engine.evaluate([7], [lon_in], [lat_in], [0.0])] == [ENTER]
    assert [e.kind for e in engine.evaluate([7], [lon_out], [lat_out], [1.0])] == [LEAVE]


# -- kinds ------------------------------------------------------------------------------------

def test_anyone_entering_a_sensitive_area_raises_one_enter_event():
    engine = FenceEngine()
    engine.add(square(1))
    assert walk(engine, 5, [(-300, 0), (0, 0), (10, 0), (20, 0), (300, 0)]) == [(ENTER, 1), (LEAVE, 1)]


def test_event_carries_the_fix_and_the_fence_kind():
    engine = FenceEngine()
    engine.add(square(1, "incident_perimeter"))
    (event,) = engine.evaluate([5], [LON], [LAT], [123.0])
    assert (event.kind, event.fence_kind, event.member_id, event.t, event.lon, event.lat) == (
        ENTER, "incident_perimeter", 5, 123.0, LON, LAT)


def test_patrol_zone_ignores_members_of_other_teams():
    engine = FenceEngine()
    engine.add(square(1, "patrol_zone", team_id=8))
    engine.track(5, team_id=9)
    assert walk(engine, 5, [(0, 0), (500, 0)]) == []
    assert engine.tick(10_000.0) == []


def test_member_outside_their_patrol_zone_too_long_raises_one_alert_per_absence():
    engine = FenceEngine()
    engine.add(square(1, "patrol_zone", team_id=8, leave_after_s=300))
    engine.track(5, team_id=8)
    assert walk(engine, 5, [(0, 0), (500, 0)], t0=1000.0) == [(ENTER, 1), (LEAVE, 1)]  # left at t=1010
    assert engine.tick(1010.0 + 299) == []
    (alert,) = engine.tick(1010.0 + 301)
    assert (alert.kind, alert.fence_id, alert.member_id, alert.t) == (ABSENT, 1, 5, 1311.0)
    assert engine.tick(5000.0) == []  # once per absence
    walk(engine, 5, [(0, 0), (600, 0)], t0=6000.0)  # back, then away again from t=6010
    assert [e.kind for e in engine.tick(6010.0 + 301)] == [ABSENT]


def test_coming_back_in_time_cancels_the_alert():
    engine = FenceEngine()
    engine.add(square(1, "patrol_zone", team_id=8, leave_after_s=300))
    engine.track(5, team_id=8)
    walk(engine, 5, [(0, 0), (500, 0), (0, 0)], t0=0.0)
    assert engine.tick(10_000.0) == []


def test_being_in_any_of_the_teams_zones_is_not_absence():
    engine = FenceEngine()
    engine.add(square(1, "patrol_zone", team_id=8, leave_after_s=60))
    (x0, y0), (x1, y1) = at(400, -100), at(600, 100)
    engine.add(Fence(2, "patrol_zone", polygon=box(x0, y0, x1, y1), team_id=8, leave_after_s=60))
    engine.track(5, team_id=8)
    walk(engine, 5, [(0, 0), (500, 0)], t0=0.0)
    assert engine.tick(1_000.0) == []
    walk(engine, 5, [(2000, 0)], t0=2_000.0)
    assert [(e.kind, e.fence_id) for e in engine.tick(2_061.0)] == [(ABSENT, 2)]  # the zone last left


def test_member_starting_duty_outside_their_zone_is_alerted_after_the_threshold():
    engine = FenceEngine()
    engine.add(square(1, "patrol_zone", team_id=8, leave_after_s=120))
    engine.track(5, team_id=8)
    walk(engine, 5, [(900, 0)], t0=0.0)
    assert [e.kind for e in engine.tick(121.0)] == [ABSENT]


def test_member_going_off_duty_is_forgotten_without_events_or_alerts():
    engine = FenceEngine()
    engine.add(square(1, "patrol_zone", team_id=8, leave_after_s=60))
    engine.track(5, team_id=8)
    walk(engine, 5, [(900, 0)])
    engine.forget(5)
    assert engine.tick(1_000.0) == [] and engine.inside(5) == frozenset()


# -- changing fences at run time ----------------------------------------------------------------

def test_drawing_a_fence_around_a_member_is_silent_and_their_leaving_is_an_event():
    engine = FenceEngine()
    walk(engine, 5, [(0, 0)])
    engine.add(square(1))
    assert engine.inside(5) == {1}
    assert walk(engine, 5, [(10, 0), (500, 0)], t0=10.0) == [(LEAVE, 1)]


def test_removing_a_fence_drops_its_members_silently():
    engine = FenceEngine()
    engine.add(square(1))
    walk(engine, 5, [(0, 0)])
    assert engine.remove(1) and not engine.remove(1)
    assert walk(engine, 5, [(500, 0)], t0=10.0) == [] and len(engine) == 0


def test_replacing_a_fence_changes_its_shape():
    engine = FenceEngine()
    engine.add(square(1, half_m=100))
    walk(engine, 5, [(0, 0)])
    engine.replace(square(1, half_m=1000))
    assert walk(engine, 5, [(500, 0)], t0=10.0) == []  # still inside the larger square
    assert walk(engine, 5, [(1500, 0)], t0=20.0) == [(LEAVE, 1)]


def test_removing_the_patrol_zone_ends_the_absence():
    engine = FenceEngine()
    engine.add(square(1, "patrol_zone", team_id=8, leave_after_s=60))
    engine.track(5, team_id=8)
    walk(engine, 5, [(900, 0)])
    engine.remove(1)
    assert engine.tick(1_000.0) == []


def test_duplicate_and_missing_fence_ids_are_refused():
    engine = FenceEngine()
    engine.add(square(1))
    with pytest.raises(Conflict):
        engine.add(square(1))
    with pytest.raises(NotFound):
        engine.replace(square(2))


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"kind": "no_fly_zone", "center": (LON, LAT), "radius_m": 10.0}, "unknown fence kind"),
        ({"kind": "patrol_zone", "center": (LON, LAT), "radius_m": 10.0}, "needs a team_id"),
        ({"kind": "sensitive_area", "center": (LON, LAT), "radius_m": 10.0, "team_id": 3}, "needs a team_id"),
        ({"kind": "sensitive_area"}, "either a polygon or a circle"),
        ({"kind": "sensitive_area", "center": (LON, LAT), "radius_m": -5.0}, "radius_m"),
        ({"kind": "sensitive_area", "center": (LON, math.nan), "radius_m": 5.0}, "not WGS84"),
        ({"kind": "sensitive_area", "polygon": Point(LON, LAT)}, "expected a non-empty"),
        ({"kind": "sensitive_area", "polygon": Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])}, "invalid polygon"),
    ],
)
def test_malformed_fences_are_refused(kwargs, fragment):
    with pytest.raises(InvalidInput, match=fragment):
        Fence(1, **kwargs)


def test_non_finite_fixes_are_skipped():
    engine = FenceEngine()
    engine.add(square(1))
    walk(engine, 5, [(0, 0)])
    assert engine.evaluate([5], [math.nan], [LAT], [5.0]) == [] and engine.inside(5) == {1}


# -- comprehensive grids ----------------------------------------------------------------------

def test_grid_locator_agrees_with_shapely_on_the_small_city(small_city):
    grids = small_city.grids.geometry
    locator = GridLocator(grids)
    rng = np.random.default_rng(3)
    lon = small_city.units.lon + rng.normal(0, 0.01, len(small_city.units))
    lat = small_city.units.lat + rng.normal(0, 0.01, len(small_city.units))
    lon, lat = np.append(lon, [0.0, math.nan]), np.append(lat, [0.0, 23.0])
    got = locator.locate(lon, lat)
    for g, x, y in zip(got.tolist(), lon.tolist(), lat.tolist(), strict=True):
        containing = [i for i, poly in enumerate(grids) if math.isfinite(x) and poly.covers(Point(x, y))]
        assert g == (containing[0] if containing else -1)
    counts = locator.count(lon, lat)
    assert counts.shape == (len(grids),) and counts.sum() == (got >= 0).sum()
