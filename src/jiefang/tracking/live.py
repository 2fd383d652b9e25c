"""The live picture of members on duty: validation, position store, fences and track sampling.

``LiveTracker`` joins the pure parts of tracking for one process: every batch of fixes is
validated (``FixValidator``), accepted fixes move members in the position store (in memory or
Redis) and through the fences (``FenceEngine``), and a down-sampled subset is picked for the
durable track. It knows nothing of the database: the tracking service feeds it members going on
and off duty and writes what it returns.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from jiefang.tracking.fences import Fence, FenceEngine, FenceEvent
from jiefang.tracking.fixes import FixStatus, FixValidator
from jiefang.tracking.index import OnDutyMember, PositionStore


@dataclass(frozen=True)
class Sampling:
    """Keep a fix in the durable track when this long or this far from the member's last kept one."""

    every_s: float = 60.0
    moved_m: float = 100.0


@dataclass(frozen=True, slots=True)
class Placed:
    """Where a member on duty is, and whose they are (for scoping what operators see)."""

    unit_id: int
    district_id: int | None
    lon: float
    lat: float


@dataclass
class Ingested:
    """What one batch did: a status per fix, which fixes to keep in the track, fence events."""

    status: NDArray[np.int8]
    keep: NDArray[np.bool_]
    events: list[FenceEvent] = field(default_factory=list)


class LiveTracker:
    """Members on duty in this process and their live positions (see the module docstring)."""

    def __init__(self, store: PositionStore, validator: FixValidator | None = None,
                 fences: FenceEngine | None = None, sampling: Sampling | None = None) -> None:
        self.store = store
        # `is None`, not `or`: an empty validator or engine has length 0 and is falsy
        self.validator = FixValidator() if validator is None else validator
        self.fences = FenceEngine() if fences is None else fences
        self.sampling = Sampling() if sampling is None else sampling
        self._lock = threading.Lock()
        self._placed: dict[int, Placed] = {}
        self._kept: dict[int, tuple[float, float, float]] = {}  # member -> t, x, y of last kept fix
        self._moved: set[int] = set()
        self._gone: dict[int, int | None] = {}  # member -> district, gone off duty
        self._fence_scope: dict[int, tuple[int | None, int | None]] = {}  # fence -> district, unit

    def __len__(self) -> int:
        return len(self._placed)

    def is_on_duty(self, member_id: int) -> bool:
        return member_id in self._placed

    def on_duty_ids(self) -> set[int]:
        """Return the ids of the members on duty here."""
        with self._lock:
            return set(self._placed)

    def go_on_duty(self, member: OnDutyMember, district_id: int | None) -> None:
        """Add (or refresh) a member on duty at their current position."""
        with self._lock:
            self.store.upsert(member)
            self.fences.track(member.member_id, member.team_id)
            if member.member_id not in self._placed:
                self.validator.forget(member.member_id)
            self._placed[member.member_id] = Placed(member.unit_id, district_id, member.lon, member.lat)
            self._moved.add(member.member_id)
            self._gone.pop(member.member_id, None)

    def go_off_duty(self, member_id: int) -> bool:
        """Forget a member going off duty; return whether they were on duty here."""
        with self._lock:
            placed = self._placed.pop(member_id, None)
            if placed is None:
                return False
            self.store.remove(member_id)
            self.fences.forget(member_id)
            self.validator.forget(member_id)
            self._kept.pop(member_id, None)
            self._moved.discard(member_id)
            self._gone[member_id] = placed.district_id
            return True

    def set_fence(self, fence: Fence, district_id: int | None = None, unit_id: int | None = None) -> None:
        """Add or replace a fence (memberships re-derived silently, see ``FenceEngine``); the
        district and unit it belongs to decide who hears of crossings."""
        with self._lock:
            self._fence_scope[fence.fence_id] = (district_id, unit_id)
            self.fences.remove(fence.fence_id)
            self.fences.add(fence)

    def fence_scope(self, fence_id: int) -> tuple[int | None, int | None]:
        """Return the (district, unit) a fence belongs to."""
        return self._fence_scope.get(fence_id, (None, None))

    def drop_fence(self, fence_id: int) -> None:
        with self._lock:
            self._fence_scope.pop(fence_id, None)
            self.fences.remove(fence_id)

    def ingest(self, member_ids: NDArray[np.int64], lons: NDArray[np.float64], lats: NDArray[np.float64],
               ts: NDArray[np.float64], accuracies_m: NDArray[np.float64], now: float) -> Ingested:
        """Validate a batch of fixes of members on duty here and apply the accepted ones.

        Fixes of members not on duty must be filtered out by the caller. Never raises on bad
        values (they get a rejecting status); raises InvalidInput if the arrays differ in length.
        """
        with self._lock:
            status = self.validator.check_batch(member_ids, lons, lats, ts, accuracies_m, now)
            ok = np.flatnonzero(status == FixStatus.ACCEPTED)
            ids, lon, lat, t = member_ids[ok], lons[ok], lats[ok], ts[ok]
            if ok.size:
                self.store.update_positions(ids, lon, lat)
            events = self.fences.evaluate(ids, lon, lat, t) if ok.size else []
            keep = np.zeros(status.size, dtype=np.bool_)
            keep[ok] = self._sample(ids, lon, lat, t)
            keep |= status == FixStatus.STALE  # buffered offline: too old to be live, still the track
            placed = self._placed
            for m, x, y in zip(ids.tolist(), lon.tolist(), lat.tolist(), strict=True):
                p = placed[m]
                placed[m] = Placed(p.unit_id, p.district_id, x, y)
            self._moved.update(ids.tolist())
            return Ingested(status, keep, events)

    def tick(self, now: float) -> list[FenceEvent]:
        """Return the patrol-absence alerts due at ``now``."""
        with self._lock:
            return self.fences.tick(now)

    def placed(self, member_id: int) -> Placed | None:
        return self._placed.get(member_id)

    def unit_of(self, member_id: int) -> int | None:
        """Return the unit of a member on duty here (None if not on duty here)."""
        placed = self._placed.get(member_id)
        return None if placed is None else placed.unit_id

    def snapshot(self) -> dict[int, Placed]:
        """Return every member on duty here and where they are."""
        with self._lock:
            return dict(self._placed)

    def take_changes(self) -> tuple[dict[int, Placed], dict[int, int | None]]:
        """Return the members moved or come on duty, and those gone off duty (with their district),
        since the last call."""
        with self._lock:
            moved = {m: self._placed[m] for m in self._moved if m in self._placed}
            gone, self._moved, self._gone = self._gone, set(), {}
            return moved, gone

    def _sample(self, ids: NDArray[np.int64], lon: NDArray[np.float64], lat: NDArray[np.float64],
                t: NDArray[np.float64]) -> NDArray[np.bool_]:
        """Pick the accepted fixes to keep, in order, updating each member's last kept fix."""
        every, far2 = self.sampling.every_s, self.sampling.moved_m ** 2
        kx = 111_195.0 * np.cos(np.radians(lat))
        x, y = lon * kx, lat * 111_195.0
        keep = np.zeros(ids.size, dtype=np.bool_)
        kept = self._kept
        for i, (m, xi, yi, ti) in enumerate(zip(ids.tolist(), x.tolist(), y.tolist(), t.tolist(), strict=True)):
            last = kept.get(m)
            if last is None or ti - last[0] >= every or (xi - last[1]) ** 2 + (yi - last[2]) ** 2 >= far2:
                kept[m] = (ti, xi, yi)
                keep[i] = True
        return keep
