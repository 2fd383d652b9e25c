"""Validation of position fixes sent by members' phones, one at a time or in vectorised batches.

Every fix gets exactly one ``FixStatus``; the checks run in this order and the first that fails
decides: INVALID (not finite numbers, outside WGS84, negative accuracy, negative member id) →
FUTURE (client clock ahead of the server by more than ``max_future_s``) → STALE (older than
``max_age_s``: a phone flushing fixes buffered offline; kept for the track, not live) →
OUT_OF_BOUNDS (outside the city box or polygon) → INACCURATE → DUPLICATE (same ``t`` as the last
accepted fix) → OUT_OF_ORDER (older than it) → TOO_FAST.

Decisions, open to argument:

* INACCURATE fixes (accuracy radius above ``max_accuracy_m``) are *not* accepted: a 30 s old
  fix good to 10 m says more about where a walking member is than a fresh one good to 800 m,
  and a coarse fix would fire spurious fence crossings. They prove the phone is alive, so the
  ingest may count them as heartbeats and keep them, flagged, in the durable track.
* TOO_FAST compares the distance moved *beyond the new fix's accuracy radius* with the time
  elapsed, so GPS jitter on fixes a second apart is not mistaken for teleporting.
* A wrong accepted fix would make every later true fix look too fast. So ``reanchor_after``
  consecutive too-fast fixes that are plausible *among themselves* re-anchor the member: the
  last of them is accepted and becomes the new reference.
* Only ACCEPTED fixes move the position, feed the fences and update the per-member state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from shapely.geometry.base import BaseGeometry

from jiefang.errors import InvalidInput
from jiefang.geo.projection import haversine_m


class FixStatus(IntEnum):
    """What the validator made of one fix; only ACCEPTED moves the member."""

    ACCEPTED = 0
    INACCURATE = 1
    DUPLICATE = 2
    OUT_OF_ORDER = 3
    TOO_FAST = 4
    OUT_OF_BOUNDS = 5
    FUTURE = 6
    STALE = 7
    INVALID = 8


@dataclass(frozen=True, slots=True)
class Fix:
    """One position report (定位) from a member's phone; ``t`` is the client's epoch seconds."""

    member_id: int
    lon: float
    lat: float
    t: float
    accuracy_m: float
    speed_mps: float | None = None
    heading_deg: float | None = None


@dataclass(frozen=True)
class FixRules:
    """Thresholds of the validator. ``bbox`` is (min_lon, min_lat, max_lon, max_lat);
    ``area`` a WGS84 polygon; a fix must lie inside both when they are given."""

    max_speed_mps: float = 60.0
    max_accuracy_m: float = 500.0
    max_future_s: float = 60.0
    max_age_s: float = 600.0
    bbox: tuple[float, float, float, float] | None = None
    area: BaseGeometry | None = None
    reanchor_after: int = 3


class FixValidator:
    """Classifies fixes against the last accepted fix of each member (see the module docstring)."""

    def __init__(self, rules: FixRules | None = None) -> None:
        self.rules = rules or FixRules()
        if self.rules.reanchor_after < 1:
            raise InvalidInput("reanchor_after must be at least 1")
        if self.rules.area is not None:
            shapely.prepare(self.rules.area)
        self._slot: dict[int, int] = {}
        self._free: list[int] = []
        # per slot: last accepted fix, and the run of consecutive too-fast fixes
        self._t = np.empty(0)
        self._lon = np.empty(0)
        self._lat = np.empty(0)
        self._run_t = np.empty(0)
        self._run_lon = np.empty(0)
        self._run_lat = np.empty(0)
        self._run_n = np.empty(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self._slot)

    def check(self, fix: Fix, now: float) -> FixStatus:
        """Return the status of one fix at server time ``now``; never raises on bad values."""
        row = [_float(v) for v in (fix.lon, fix.lat, fix.t, fix.accuracy_m)]
        codes = self.check_batch([_int(fix.member_id)], [row[0]], [row[1]], [row[2]], [row[3]], _float(now))
        return FixStatus(int(codes[0]))

    def check_batch(
        self, member_ids: ArrayLike, lons: ArrayLike, lats: ArrayLike, ts: ArrayLike,
        accuracies_m: ArrayLike, now: float,
    ) -> NDArray[np.int8]:
        """Return a ``FixStatus`` code per fix, as if the fixes were checked one by one in order.

        Never raises on bad values (NaN, infinities, huge numbers give INVALID or another
        rejection). Raises InvalidInput only when the arrays differ in length.
        """
        ids = _int_array(member_ids)
        lon, lat, t, acc = (_float_array(a) for a in (lons, lats, ts, accuracies_m))
        n = ids.size
        if not lon.size == lat.size == t.size == acc.size == n:
            raise InvalidInput("member_ids, lons, lats, ts and accuracies_m must have the same length")
        status = np.zeros(n, dtype=np.int8)
        with np.errstate(all="ignore"):
            self._check_values(status, ids, lon, lat, t, acc, _float(now))
            todo = np.flatnonzero(status == FixStatus.ACCEPTED)
            if todo.size:
                self._check_against_last(status, todo, ids, lon, lat, t, acc)
        return status

    def last_accepted(self, member_id: int) -> tuple[float, float, float] | None:
        """Return (t, lon, lat) of the member's last accepted fix, or None if there is none."""
        slot = self._slot.get(member_id)
        if slot is None or not math.isfinite(self._t[slot]):
            return None
        return float(self._t[slot]), float(self._lon[slot]), float(self._lat[slot])

    def forget(self, member_id: int) -> None:
        """Drop what is known of a member (going off duty); their next fix starts afresh."""
        slot = self._slot.pop(member_id, None)
        if slot is not None:
            self._free.append(slot)

    def _check_values(
        self, status: NDArray[np.int8], ids: NDArray[np.int64], lon: NDArray[np.float64],
        lat: NDArray[np.float64], t: NDArray[np.float64], acc: NDArray[np.float64], now: float,
    ) -> None:
        """Set the statuses decided by the fix alone, in order of precedence."""
        r = self.rules
        finite = np.isfinite(lon) & np.isfinite(lat) & np.isfinite(t) & np.isfinite(acc)
        invalid = ~finite | (np.abs(lon) > 180) | (np.abs(lat) > 90) | (acc < 0) | (ids < 0)
        if not math.isfinite(now):
            invalid[:] = True
        checks: list[tuple[FixStatus, NDArray[np.bool_]]] = [
            (FixStatus.INVALID, invalid),
            (FixStatus.FUTURE, t > now + r.max_future_s),
            (FixStatus.STALE, t < now - r.max_age_s),
            (FixStatus.OUT_OF_BOUNDS, ~self._inside(lon, lat)),
            (FixStatus.INACCURATE, acc > r.max_accuracy_m),
        ]
        for code, failed in checks:
            status[failed & (status == FixStatus.ACCEPTED)] = code

    def _inside(self, lon: NDArray[np.float64], lat: NDArray[np.float64]) -> NDArray[np.bool_]:
        inside = np.ones(lon.size, dtype=bool)
        if self.rules.bbox is not None:
            x0, y0, x1, y1 = self.rules.bbox
            inside &= (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)
        if self.rules.area is not None:
            rows = np.flatnonzero(inside & np.isfinite(lon) & np.isfinite(lat))
            inside[rows] = shapely.intersects_xy(self.rules.area, lon[rows], lat[rows])
        return inside

    def _check_against_last(
        self, status: NDArray[np.int8], todo: NDArray[np.intp], ids: NDArray[np.int64],
        lon: NDArray[np.float64], lat: NDArray[np.float64], t: NDArray[np.float64], acc: NDArray[np.float64],
    ) -> None:
        """Set DUPLICATE / OUT_OF_ORDER / TOO_FAST and update per-member state.

        A member may appear several times in a batch: the k-th fix of every member is checked in
        round k, so each round touches each member once and the outcome equals one-by-one order.
        """
        slots = np.array([self._slot_of(m) for m in ids[todo].tolist()], dtype=np.intp)
        order = np.argsort(slots, kind="stable")
        ordered = slots[order]
        first = np.r_[True, ordered[1:] != ordered[:-1]]
        group_start = np.maximum.accumulate(np.where(first, np.arange(ordered.size), 0))
        rank = np.empty(ordered.size, dtype=np.intp)
        rank[order] = np.arange(ordered.size) - group_start
        for k in range(int(rank.max()) + 1):
            in_round = rank == k
            self._check_round(status, todo[in_round], slots[in_round], lon, lat, t, acc)

    def _check_round(
        self, status: NDArray[np.int8], rows: NDArray[np.intp], s: NDArray[np.intp],
        lon: NDArray[np.float64], lat: NDArray[np.float64], t: NDArray[np.float64], acc: NDArray[np.float64],
    ) -> None:
        r = self.rules
        ft, fx, fy = t[rows], lon[rows], lat[rows]
        last_t = self._t[s]
        seen = np.isfinite(last_t)
        status[rows[seen & (ft == last_t)]] = FixStatus.DUPLICATE
        status[rows[seen & (ft < last_t)]] = FixStatus.OUT_OF_ORDER
        ahead = seen & (ft > last_t)
        moved = np.maximum(haversine_m(self._lon[s], self._lat[s], fx, fy) - acc[rows], 0.0)
        fast = ahead & (moved > r.max_speed_mps * (ft - last_t))
        # a run of too-fast fixes continues when this one is plausible from the run's last fix
        run_t = self._run_t[s]
        from_run = haversine_m(self._run_lon[s], self._run_lat[s], fx, fy) - acc[rows]
        continues = np.isfinite(run_t) & (ft > run_t) & (from_run <= r.max_speed_mps * (ft - run_t))
        run_n = np.where(continues, self._run_n[s] + 1, 1)
        reanchor = fast & (run_n >= r.reanchor_after)
        rejected = fast & ~reanchor
        status[rows[rejected]] = FixStatus.TOO_FAST
        rs = s[rejected]
        self._run_t[rs], self._run_lon[rs], self._run_lat[rs] = ft[rejected], fx[rejected], fy[rejected]
        self._run_n[rs] = run_n[rejected]
        accept = ~seen | (ahead & ~rejected)
        a = s[accept]
        self._t[a], self._lon[a], self._lat[a] = ft[accept], fx[accept], fy[accept]
        self._run_t[a] = -np.inf
        self._run_n[a] = 0

    def _slot_of(self, member_id: int) -> int:
        slot = self._slot.get(member_id)
        if slot is not None:
            return slot
        if not self._free:
            self._grow()
        slot = self._free.pop()
        self._slot[member_id] = slot
        self._t[slot] = self._run_t[slot] = -np.inf
        self._run_n[slot] = 0
        return slot

    def _grow(self) -> None:
        old = self._t.size
        new = max(1024, 2 * old)
        for name in ("_t", "_lon", "_lat", "_run_t", "_run_lon", "_run_lat", "_run_n"):
            array = getattr(self, name)
            grown = np.zeros(new, dtype=array.dtype)
            grown[:old] = array
            setattr(self, name, grown)
        self._free.extend(range(new - 1, old - 1, -1))


def _float(value: object) -> float:
    """Return ``value`` as a float, NaN when it is not a number."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return math.nan


def _float_array(values: ArrayLike) -> NDArray[np.float64]:
    try:
        return np.asarray(values, dtype=np.float64).ravel()
    except (TypeError, ValueError, OverflowError):
        return np.array([_float(v) for v in np.asarray(values, dtype=object).ravel()], dtype=np.float64)


def _int_array(values: ArrayLike) -> NDArray[np.int64]:
    """Return member ids as int64; anything that is not an integer in range becomes -1."""
    try:
        array = np.asarray(values)
        if array.dtype.kind in "iu" and array.dtype.itemsize <= 8 and array.dtype != np.uint64:
            return array.astype(np.int64, copy=False).ravel()
    except (TypeError, ValueError, OverflowError):
        pass
    flat = np.asarray(values, dtype=object).ravel()
    return np.array([_int(v) for v in flat], dtype=np.int64)


def _int(value: object) -> int:
    if isinstance(value, bool | np.bool_):
        return -1
    if isinstance(value, int | np.integer) and 0 <= int(value) < 2**63:
        return int(value)
    return -1
