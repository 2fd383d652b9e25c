"""Validation of position fixes: one by one, in batches, and on garbage."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import box

from jiefang.errors import InvalidInput
from jiefang.tracking.fixes import Fix, FixRules, FixStatus, FixValidator

NOW = 1_700_000_000.0
LON, LAT = 113.32, 23.12
DEG_LAT_M = 111_195.0  # metres per degree of latitude


def north(metres: float) -> float:
    return LAT + metres / DEG_LAT_M


def fix(t: float, lat: float = LAT, lon: float = LON, accuracy_m: float = 10.0, member: int = 1) -> Fix:
    return Fix(member, lon, lat, t, accuracy_m)


def test_first_fix_of_a_member_is_accepted():
    assert FixValidator().check(fix(NOW), NOW) is FixStatus.ACCEPTED


def test_resent_fix_is_a_duplicate_and_an_older_one_out_of_order():
    v = FixValidator()
    v.check(fix(NOW), NOW)
    assert v.check(fix(NOW), NOW) is FixStatus.DUPLICATE
    assert v.check(fix(NOW - 5), NOW) is FixStatus.OUT_OF_ORDER


def test_ten_kilometres_in_ten_seconds_is_too_fast_but_a_brisk_walk_is_not():
    v = FixValidator()
    v.check(fix(NOW - 20), NOW)
    assert v.check(fix(NOW - 10, north(10_000)), NOW) is FixStatus.TOO_FAST
    assert v.check(fix(NOW, north(20)), NOW) is FixStatus.ACCEPTED


def test_jitter_within_the_accuracy_radius_is_not_taken_for_speed():
    v = FixValidator()
    v.check(fix(NOW - 1), NOW)
    assert v.check(fix(NOW, north(150), accuracy_m=120), NOW) is FixStatus.ACCEPTED


def test_rejected_fix_does_not_move_the_reference():
    v = FixValidator()
    v.check(fix(NOW - 20), NOW)
    v.check(fix(NOW - 10, north(10_000)), NOW)
    assert v.last_accepted(1) == (NOW - 20, LON, LAT)
    assert v.check(fix(NOW, north(30)), NOW) is FixStatus.ACCEPTED


def test_consistent_run_of_too_fast_fixes_reanchors_a_member_after_a_bad_first_fix():
    v = FixValidator(FixRules(reanchor_after=3))
    v.check(fix(NOW - 40, north(50_000)), NOW)  # a wild first fix is accepted: nothing to compare with
    statuses = [v.check(fix(NOW - 30 + 10 * i, north(10 * i)), NOW) for i in range(4)]
    assert statuses == [FixStatus.TOO_FAST, FixStatus.TOO_FAST, FixStatus.ACCEPTED, FixStatus.ACCEPTED]


def test_scattered_outliers_never_reanchor():
    v = FixValidator(FixRules(reanchor_after=2))
    v.check(fix(NOW - 40), NOW)
    assert v.check(fix(NOW - 30, north(30_000)), NOW) is FixStatus.TOO_FAST
    assert v.check(fix(NOW - 20, north(-30_000)), NOW) is FixStatus.TOO_FAST
    assert v.last_accepted(1) == (NOW - 40, LON, LAT)


@pytest.mark.parametrize(
    ("rules", "status"),
    [
        (FixRules(bbox=(113.0, 22.5, 113.2, 23.9)), FixStatus.OUT_OF_BOUNDS),
        (FixRules(area=box(113.4, 22.5, 114.0, 23.9)), FixStatus.OUT_OF_BOUNDS),
        (FixRules(bbox=(113.0, 22.5, 114.0, 23.9), area=box(113.0, 22.5, 114.0, 23.9)), FixStatus.ACCEPTED),
    ],
)
def test_fixes_outside_the_city_are_out_of_bounds(rules, status):
    assert FixValidator(rules).check(fix(NOW), NOW) is status


def test_coarse_fix_is_inaccurate_and_not_accepted():
    v = FixValidator(FixRules(max_accuracy_m=500))
    assert v.check(fix(NOW, accuracy_m=800), NOW) is FixStatus.INACCURATE
    assert v.last_accepted(1) is None


def test_clock_far_ahead_is_future_and_old_buffered_fix_is_stale():
    v = FixValidator(FixRules(max_future_s=60, max_age_s=600))
    assert v.check(fix(NOW + 120), NOW) is FixStatus.FUTURE
    assert v.check(fix(NOW + 30), NOW) is FixStatus.ACCEPTED
    assert v.check(fix(NOW - 3600, member=2), NOW) is FixStatus.STALE


@pytest.mark.parametrize(
    "bad",
    [
        Fix(1, math.nan, LAT, NOW, 10.0), Fix(1, LON, math.inf, NOW, 10.0), Fix(1, 181.0, LAT, NOW, 10.0),
        Fix(1, LON, -91.0, NOW, 10.0), Fix(1, LON, LAT, math.nan, 10.0), Fix(1, LON, LAT, NOW, -1.0),
        Fix(1, LON, LAT, NOW, math.nan), Fix(-3, LON, LAT, NOW, 10.0), Fix(10**30, LON, LAT, NOW, 10.0),
        Fix(1, 10**400, LAT, NOW, 10.0),  # type: ignore[arg-type]
        Fix(1, LON, LAT, "soon", 10.0),  # type: ignore[arg-type]
    ],
)
def test_garbage_values_are_invalid(bad):
    assert FixValidator().check(bad, NOW) is FixStatus.INVALID


def test_forgotten_member_starts_afresh():
    v = FixValidator()
    v.check(fix(NOW), NOW)
    v.forget(1)
    assert v.check(fix(NOW - 5), NOW) is FixStatus.ACCEPTED
    assert len(v) == 1


def test_batch_arrays_of_different_lengths_are_refused():
    with pytest.raises(InvalidInput, match="same length"):
        FixValidator().check_batch([1, 2], [LON], [LAT], [NOW], [10.0], NOW)


garbage = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-(10**400), 10**400),
    st.none(), st.text(max_size=3), st.booleans(),
)


@given(st.lists(st.tuples(garbage, garbage, garbage, garbage, garbage), max_size=20), garbage)
@settings(max_examples=300)
def test_validation_never_raises_on_garbage(rows, now):
    v = FixValidator(FixRules(area=box(113, 22, 114, 24)))
    for member, lon, lat, t, acc in rows:
        assert isinstance(v.check(Fix(member, lon, lat, t, acc), now), FixStatus)  # type: ignore[arg-type]
    columns = list(zip(*rows, strict=True)) if rows else [[]] * 5
    codes = v.check_batch(*columns, now=now)  # type: ignore[arg-type]
    assert codes.shape == (len(rows),) and set(codes.tolist()) <= {int(s) for s in FixStatus}


fixes = st.lists(
    st.tuples(
        st.integers(0, 4),  # member
        st.floats(-2_000, 2_000),  # metres north
        st.floats(-700, 100),  # seconds relative to NOW
        st.sampled_from([5.0, 50.0, 900.0]),  # accuracy
    ),
    max_size=60,
)


@given(fixes, st.integers(1, 7))
@settings(max_examples=200)
def test_batches_classify_exactly_as_one_by_one(rows, batch_size):
    one, batched = FixValidator(FixRules(reanchor_after=2)), FixValidator(FixRules(reanchor_after=2))
    expected = [one.check(fix(NOW + dt, north(dy), accuracy_m=acc, member=m), NOW) for m, dy, dt, acc in rows]
    got: list[int] = []
    for start in range(0, len(rows), batch_size):
        chunk = rows[start:start + batch_size]
        got += batched.check_batch(
            np.array([r[0] for r in chunk], dtype=np.int64), np.full(len(chunk), LON),
            np.array([north(r[1]) for r in chunk]), np.array([NOW + r[2] for r in chunk]),
            np.array([r[3] for r in chunk]), NOW,
        ).tolist()
    assert got == [int(s) for s in expected]
    for m in range(5):
        assert batched.last_accepted(m) == one.last_accepted(m)
