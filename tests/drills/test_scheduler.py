"""The drill planner over simulated months: quotas, no repeats, weights, the cycle, the clock."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.stats import mannwhitneyu

from jiefang.drills.scheduler import (
    NEVER,
    SLOT_S,
    SLOTS_PER_DAY,
    DayPlan,
    DrillPolicy,
    UnitPool,
    drills_per_day,
    plan_drills,
    proportional_quotas,
)

DAY0 = 739_000  # an ordinal day


def make_pool(sizes: list[int], seed: int = 0, fail_share: np.ndarray | None = None) -> UnitPool:
    """Units in districts of the given sizes, each on one of three shift patterns (24 h, day, evening)."""
    rng = np.random.default_rng(seed)
    n = sum(sizes)
    district = np.repeat(np.arange(len(sizes), dtype=np.int64) * 10 + 7, sizes)
    on_duty = np.zeros((n, SLOTS_PER_DAY), dtype=np.bool_)
    pattern = rng.integers(0, 3, n)
    on_duty[pattern == 0] = True
    on_duty[pattern == 1, 32:72] = True  # 08:00-18:00
    on_duty[pattern == 2, 64:96] = True  # 16:00-24:00
    return UnitPool(
        unit_ids=np.arange(1, n + 1, dtype=np.int64) * 3,
        district=district,
        on_duty=on_duty,
        last_day=np.full(n, NEVER, dtype=np.int64),
        registered_day=np.full(n, DAY0, dtype=np.int64),
        fail_share=np.zeros(n) if fail_share is None else fail_share,
    )


def simulate(
    pool: UnitPool,
    policy: DrillPolicy,
    days: int,
    seed: int,
    each_day: Callable[[int, DayPlan], None] = lambda day, plan: None,
) -> dict[int, list[int]]:
    """Plan ``days`` days in a row, as the service would (each plan updates the units' last drill day);
    return the days each unit was drilled."""
    last = pool.last_day.copy()
    position = {int(u): i for i, u in enumerate(pool.unit_ids)}
    drilled: dict[int, list[int]] = {int(u): [] for u in pool.unit_ids}
    for day in range(DAY0, DAY0 + days):
        current = UnitPool(pool.unit_ids, pool.district, pool.on_duty, last, pool.registered_day, pool.fail_share)
        plan = plan_drills(current, day, policy, seed)
        each_day(day, plan)
        for u in plan.unit_ids:
            last[position[int(u)]] = day
            drilled[int(u)].append(day)
    return drilled


district_sizes = st.lists(st.integers(20, 150), min_size=1, max_size=12)


@given(counts=st.lists(st.integers(0, 5000), min_size=1, max_size=30), n=st.integers(0, 2000))
def test_quotas_add_up_and_stay_within_one_of_the_exact_share(counts: list[int], n: int) -> None:
    c = np.array(counts, dtype=np.int64)
    q = proportional_quotas(c, n)
    if c.sum() == 0:
        assert q.sum() == 0
        return
    assert q.sum() == n
    assert np.all(np.abs(q - c * n / c.sum()) < 1)


@settings(max_examples=25, deadline=None)
@given(sizes=district_sizes, share=st.floats(0.01, 0.05), seed=st.integers(0, 2**31 - 1))
def test_each_district_gets_its_proportional_quota_within_one_every_day(
    sizes: list[int], share: float, seed: int
) -> None:
    pool = make_pool(sizes, seed)
    total = sum(sizes)
    per_day = max(1, round(total * share))
    # A quota must be possible: a district drilled up to exact + 1 times a day needs that many units
    # per day of the no-repeat window (when it has not, its quota rightly moves to other districts).
    window = max(1, min(14, *(size // (per_day * size / total + 1) for size in sizes)))
    policy = DrillPolicy(per_day=per_day, window_days=int(window), cycle_days=60)

    def check(day: int, plan: DayPlan) -> None:
        assert plan.unit_ids.size == policy.per_day
        labels, counts = np.unique(pool.district, return_counts=True)
        picked = dict(
            zip(
                *np.unique(pool.district[np.searchsorted(pool.unit_ids, plan.unit_ids)], return_counts=True),
                strict=True,
            )
        )
        for label, count in zip(labels, counts, strict=True):
            exact = policy.per_day * count / total
            assert abs(picked.get(label, 0) - exact) <= 1, (day, label)
            assert plan.quotas[int(label)] == picked.get(label, 0)

    simulate(pool, policy, 60, seed, check)


@settings(max_examples=25, deadline=None)
@given(sizes=district_sizes, window=st.integers(1, 30), share=st.floats(0.005, 0.03), seed=st.integers(0, 1000))
def test_no_unit_is_drilled_twice_inside_the_window(sizes: list[int], window: int, share: float, seed: int) -> None:
    pool = make_pool(sizes, seed)
    policy = DrillPolicy(per_day=max(1, round(sum(sizes) * share)), window_days=window, cycle_days=window + 60)
    for days in simulate(pool, policy, 90, seed).values():
        assert all(b - a >= window for a, b in itertools.pairwise(days))


@settings(max_examples=20, deadline=None)
@given(sizes=district_sizes, cycle=st.integers(20, 60), slack=st.floats(1.1, 2.0), seed=st.integers(0, 1000))
def test_every_unit_is_drilled_at_least_once_per_cycle(sizes: list[int], cycle: int, slack: float, seed: int) -> None:
    total = sum(sizes)
    per_day = math.ceil(total * slack / cycle)
    quotas = proportional_quotas(np.array(sizes, dtype=np.int64), per_day)
    assume(all(q * cycle >= s for q, s in zip(quotas, sizes, strict=True)))  # the districts' quotas can cover them
    pool = make_pool(sizes, seed)
    policy = DrillPolicy(per_day=per_day, window_days=min(14, cycle // 2), cycle_days=cycle)
    days = 3 * cycle
    for unit, drilled in simulate(pool, policy, days, seed).items():
        assert drilled, unit
        marks = [DAY0 - 1, *drilled]  # the first cycle runs from the registration day
        assert all(b - a <= cycle for a, b in itertools.pairwise(marks)), (unit, drilled)
        assert DAY0 + days - 1 - drilled[-1] < cycle


def test_units_with_a_worse_record_are_drilled_more_often() -> None:
    sizes = [100] * 10
    poor = np.zeros(1000)
    poor[np.random.default_rng(5).permutation(1000)[:500]] = 1.0  # half the units failed their recent drills
    pool = make_pool(sizes, seed=5, fail_share=poor)
    policy = DrillPolicy(per_day=25, window_days=7, cycle_days=365)
    counts = {u: len(d) for u, d in simulate(pool, policy, 90, seed=2024).items()}
    picks = np.array([counts[int(u)] for u in pool.unit_ids])
    worse, better = picks[poor == 1], picks[poor == 0]
    assert worse.mean() > 1.5 * better.mean()
    assert mannwhitneyu(worse, better, alternative="greater").pvalue < 1e-6


def test_the_same_seed_gives_the_same_plan_and_another_seed_another() -> None:
    pool = make_pool([80, 120, 60])
    policy = DrillPolicy(per_day=20)
    a, b = plan_drills(pool, DAY0, policy, seed=1), plan_drills(pool, DAY0, policy, seed=1)
    assert np.array_equal(a.unit_ids, b.unit_ids) and np.array_equal(a.at_s, b.at_s)
    assert not np.array_equal(a.unit_ids, plan_drills(pool, DAY0, policy, seed=2).unit_ids)


def test_drills_fall_in_rostered_quarter_hours_spread_over_the_day() -> None:
    pool = make_pool([400, 300, 300], seed=3)
    plan = plan_drills(pool, DAY0, DrillPolicy(per_day=240), seed=9)
    rows = np.searchsorted(pool.unit_ids, plan.unit_ids)
    assert np.all(pool.on_duty[rows, plan.at_s // SLOT_S])
    assert np.all(np.diff(plan.at_s) >= 0)
    hourly = np.bincount(plan.at_s // 3600, minlength=24)
    assert hourly.min() >= 5 and hourly.max() <= 2 * hourly.mean()  # every hour drilled, none crowded


def test_units_with_nobody_rostered_or_only_past_shifts_are_never_picked() -> None:
    pool = make_pool([50, 50], seed=1)
    pool.on_duty[:30] = False  # no rostered shift
    plan = plan_drills(pool, DAY0, DrillPolicy(per_day=30), seed=4, from_slot=72)  # planned at 18:00
    rows = np.searchsorted(pool.unit_ids, plan.unit_ids)
    assert rows.min() >= 30
    assert np.all(plan.at_s >= 72 * SLOT_S)
    assert np.all(pool.on_duty[rows, plan.at_s // SLOT_S])


def test_a_district_short_of_eligible_units_passes_its_drills_to_the_others() -> None:
    pool = make_pool([30, 200, 200], seed=2)
    pool.on_duty[:28] = False  # the small district (a quota of 3) has two units with a shift
    plan = plan_drills(pool, DAY0, DrillPolicy(per_day=43), seed=1)
    assert plan.unit_ids.size == 43
    assert plan.quotas == {7: 2, 17: 21, 27: 20}


def test_the_city_plans_705_drills_a_day_scaled_with_its_units() -> None:
    assert drills_per_day(23_000) == 705
    assert drills_per_day(230) == 7
    assert drills_per_day(3) == 1
    assert drills_per_day(0) == 0
    assert drills_per_day(5000, per_day=42) == 42
