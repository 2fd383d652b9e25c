"""Which units are drilled (拉动测试) on a day, and when: a pure planner over arrays.

``plan_drills`` picks the day's units by stratified random sampling:

* each district (stratum) gets a quota proportional to its number of units (largest remainder,
  so every quota is within one of its exact share); a district without enough eligible units
  passes what it cannot use to the others;
* a unit is eligible when it was not drilled inside the no-repeat window and a rostered shift
  expects someone on duty at some quarter-hour still ahead that day;
* units whose cycle deadline leaves no room are taken first (earliest deadline first, as many as
  the future quotas cannot absorb), so every unit is drilled at least once per cycle;
* the rest are drawn with weights: more for units with a poor record and for units not drilled
  for long (Efraimidis–Spirakis keys, without replacement);
* each picked unit gets a time in one of its on-duty quarter-hours, the least loaded first, so
  the drills spread over the day.

The same inputs and seed always give the same plan. Knows nothing of the database.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

SLOTS_PER_DAY = 96  # quarter-hours
SLOT_S = 86_400 // SLOTS_PER_DAY
NEVER = -(2**40)  # ``last_day`` of a unit never drilled
CITY_UNITS = 23_000  # Guangzhou's units ...
CITY_DRILLS_PER_DAY = 705  # ... and its drills per day on average


@dataclass(frozen=True)
class DrillPolicy:
    """How many drills a day, how often a unit may and must be drilled, how weights are made."""

    per_day: int
    window_days: int = 14  # no unit twice within this many days
    cycle_days: int = 45  # every unit at least once per this many days
    poor_weight: float = 3.0  # extra weight of a unit that failed all its recent drills
    stale_weight: float = 1.0  # extra weight of a unit not drilled for a whole cycle (or never)


@dataclass(frozen=True)
class UnitPool:
    """The units that may be drilled, one entry per unit in every array."""

    unit_ids: NDArray[np.int64]
    district: NDArray[np.int64]  # stratum label
    on_duty: NDArray[np.bool_]  # (units, SLOTS_PER_DAY): a rostered shift expects someone then
    last_day: NDArray[np.int64]  # ordinal day of the last drill, NEVER if none
    registered_day: NDArray[np.int64]  # ordinal day from which the unit's first cycle runs
    fail_share: NDArray[np.float64]  # share of failed drills among the recent ones (0 if none)

    def __len__(self) -> int:
        return int(self.unit_ids.size)


@dataclass(frozen=True)
class DayPlan:
    """The drills of one day: units, seconds after local midnight, and each district's count."""

    unit_ids: NDArray[np.int64]
    at_s: NDArray[np.int64]
    quotas: dict[int, int]


def drills_per_day(units: int, per_day: int | None = None) -> int:
    """Return the day's number of drills: ``per_day`` if set, else the city's 705 scaled by units."""
    if per_day is not None:
        return max(0, per_day)
    return max(1, round(CITY_DRILLS_PER_DAY * units / CITY_UNITS)) if units else 0


def proportional_quotas(counts: NDArray[np.int64], n: int) -> NDArray[np.int64]:
    """Return integer quotas summing to ``n``, each within one of ``n * count / total``
    (largest remainder; ties go to the lower index)."""
    total = int(counts.sum())
    if total == 0 or n <= 0:
        return np.zeros(counts.size, dtype=np.int64)
    exact = counts.astype(np.float64) * n / total
    base = np.floor(exact).astype(np.int64)
    left = n - int(base.sum())
    order = np.lexsort((np.arange(counts.size), -(exact - base)))
    base[order[:left]] += 1
    return base


def due_days(pool: UnitPool, cycle_days: int) -> NDArray[np.int64]:
    """Return the last day by which each unit must be drilled to keep its cycle."""
    never = pool.last_day == NEVER
    return np.where(never, pool.registered_day + cycle_days - 1, pool.last_day + cycle_days)


def drill_weights(pool: UnitPool, day: int, policy: DrillPolicy) -> NDArray[np.float64]:
    """Return each unit's sampling weight: 1, plus more for failures, plus more for staleness."""
    since = np.where(pool.last_day == NEVER, policy.cycle_days, day - pool.last_day)
    stale = np.clip(since / policy.cycle_days, 0.0, 1.0)
    return 1.0 + policy.poor_weight * np.clip(pool.fail_share, 0.0, 1.0) + policy.stale_weight * stale


def forced_count(due_rel: NDArray[np.int64], quota: int) -> int:
    """Return how many of a district's units must be drilled today so that, taking ``quota`` a day
    from now on, none misses its deadline (``due_rel``: days from today to each deadline)."""
    if due_rel.size == 0:
        return 0
    cum = np.cumsum(np.bincount(np.clip(due_rel, 0, None)))
    return int(max(0, (cum - quota * np.arange(cum.size)).max()))


def _pick_district(
    rng: np.random.Generator,
    idx: NDArray[np.int64],
    due: NDArray[np.int64],
    weight: NDArray[np.float64],
    quota: int,
    forced_n: int,
) -> NDArray[np.int64]:
    """Return up to ``quota`` of the eligible units ``idx``: the ``forced_n`` most urgent, then by weight."""
    keys = np.log(rng.random(idx.size)) / weight[idx]  # Efraimidis–Spirakis: larger key wins
    if forced_n:
        urgent = np.lexsort((-keys, due[idx]))[:forced_n]
        keys[urgent] = np.inf
    take = min(quota, idx.size)
    return idx[np.argsort(-keys, kind="stable")[:take]]


def _spread(rng: np.random.Generator, on_duty: NDArray[np.bool_]) -> NDArray[np.int64]:
    """Return a slot per row, in the row's on-duty slots, least loaded first (most constrained rows first)."""
    load = np.zeros(on_duty.shape[1], dtype=np.float64)
    slots = np.empty(on_duty.shape[0], dtype=np.int64)
    order = np.lexsort((rng.random(on_duty.shape[0]), on_duty.sum(axis=1)))
    for row in order:
        cost = np.where(on_duty[row], load + rng.random(load.size) * 0.5, np.inf)
        slot = int(np.argmin(cost))
        slots[row] = slot
        load[slot] += 1
    return slots


def plan_drills(pool: UnitPool, day: int, policy: DrillPolicy, seed: int, from_slot: int = 0) -> DayPlan:
    """Return the drills of ordinal ``day`` (see the module docstring); ``from_slot`` leaves out
    the quarter-hours already past when planning the current day.

    Raises ValueError if the arrays of ``pool`` do not line up.
    """
    n = len(pool)
    arrays = (pool.district, pool.last_day, pool.registered_day, pool.fail_share)
    if any(a.shape != (n,) for a in arrays) or pool.on_duty.shape != (n, SLOTS_PER_DAY):
        raise ValueError("every array of the pool must have one entry per unit")
    rng = np.random.default_rng([seed, day])
    on_duty = pool.on_duty.copy()
    on_duty[:, :from_slot] = False
    available = np.asarray(on_duty.any(axis=1), dtype=np.bool_)
    rostered = np.asarray(pool.on_duty.any(axis=1), dtype=np.bool_)
    eligible: NDArray[np.bool_] = available & ((pool.last_day == NEVER) | (day - pool.last_day >= policy.window_days))
    due = due_days(pool, policy.cycle_days)
    weight = drill_weights(pool, day, policy)

    labels, stratum = np.unique(pool.district, return_inverse=True)
    quotas = proportional_quotas(np.bincount(stratum, minlength=labels.size), policy.per_day)
    picked: list[NDArray[np.int64]] = []
    counts = np.zeros(labels.size, dtype=np.int64)
    spare = np.zeros(labels.size, dtype=np.int64)
    left_by: list[NDArray[np.int64]] = []
    for s in range(labels.size):
        members = np.flatnonzero(stratum == s)
        idx = members[eligible[members]]
        forced_n = forced_count(due[members[rostered[members]]] - day, int(quotas[s]))
        chosen = _pick_district(rng, idx, due, weight, int(quotas[s]), min(forced_n, int(quotas[s])))
        picked.append(chosen)
        counts[s] = chosen.size
        rest = np.setdiff1d(idx, chosen, assume_unique=True)
        left_by.append(rest)
        spare[s] = rest.size
    _redistribute(rng, policy.per_day - int(counts.sum()), left_by, spare, counts, picked, weight)

    units = np.concatenate(picked) if picked else np.zeros(0, dtype=np.int64)
    units = np.sort(units)
    slots = _spread(rng, on_duty[units]) if units.size else np.zeros(0, dtype=np.int64)
    at_s = slots * SLOT_S + rng.integers(0, SLOT_S, size=slots.size)
    order = np.argsort(at_s, kind="stable")
    return DayPlan(
        pool.unit_ids[units[order]],
        at_s[order].astype(np.int64),
        {int(labels[s]): int(counts[s]) for s in range(labels.size)},
    )


def _redistribute(
    rng: np.random.Generator,
    short: int,
    left_by: list[NDArray[np.int64]],
    spare: NDArray[np.int64],
    counts: NDArray[np.int64],
    picked: list[NDArray[np.int64]],
    weight: NDArray[np.float64],
) -> None:
    """Hand the drills districts could not use to districts with eligible units left, in proportion."""
    while short > 0 and spare.sum() > 0:
        extra = np.minimum(proportional_quotas(np.where(spare > 0, counts + spare, 0), short), spare)
        if extra.sum() == 0:  # rounding gave everything to full districts: one each to those with room
            extra = np.zeros_like(spare)
            extra[np.flatnonzero(spare > 0)[:short]] = 1
        for s in np.flatnonzero(extra):
            rest = left_by[s]
            more = _pick_district(rng, rest, np.zeros(weight.size, dtype=np.int64), weight, int(extra[s]), 0)
            picked[s] = np.concatenate([picked[s], more])
            left_by[s] = np.setdiff1d(rest, more, assume_unique=True)
            spare[s] -= more.size
            counts[s] += more.size
            short -= more.size
