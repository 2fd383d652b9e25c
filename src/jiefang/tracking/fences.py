"""Electronic fences (电子围栏) over live positions, and the comprehensive grid holding a point.

A fence is a WGS84 polygon or a circle (centre and radius in metres, tested exactly as
great-circle distance ≤ radius, never as a polygon approximation). Kinds:

* ``sensitive_area`` — anyone entering is an alert; ENTER and LEAVE events for everyone.
* ``incident_perimeter`` — ENTER and LEAVE events for everyone.
* ``patrol_zone`` — belongs to a team; only that team's members are tracked against it (ENTER
  and LEAVE events), and a member outside *all* their team's zones for longer than the zone's
  ``leave_after_s`` raises one PATROL_ABSENCE alert per absence, from ``tick``.

Events mark crossings by members, so they fire exactly once per crossing. Changing the fences
(add, replace, remove) re-derives memberships from the last known positions silently: a fence
drawn around people is not those people entering it (ask the position index who is inside).
A point on a polygon's boundary counts as inside.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from shapely.geometry.base import BaseGeometry

from jiefang.errors import Conflict, InvalidInput, NotFound
from jiefang.geo.projection import EARTH_RADIUS_M, haversine_m

# fence kind -> (中文, English)
FENCE_KINDS: dict[str, tuple[str, str]] = {
    "patrol_zone": ("巡逻区域", "Patrol zone"),
    "sensitive_area": ("敏感区域", "Sensitive area"),
    "incident_perimeter": ("事件警戒范围", "Incident perimeter"),
}
MAX_RADIUS_M = 50_000.0
MIN_RADIUS_M = 1.0  # smaller circles are not places (and below float precision, not geometry)
_NOWHERE: frozenset[int] = frozenset()
_M_PER_DEG = math.radians(1.0) * EARTH_RADIUS_M


class FenceEventKind(StrEnum):
    ENTER = "enter"
    LEAVE = "leave"
    PATROL_ABSENCE = "patrol_absence"


@dataclass(frozen=True)
class Fence:
    """An electronic fence (电子围栏): ``polygon``, or ``center`` (lon, lat) with ``radius_m``."""

    fence_id: int
    kind: str
    polygon: BaseGeometry | None = None
    center: tuple[float, float] | None = None
    radius_m: float | None = None
    team_id: int | None = None
    leave_after_s: float = 300.0

    def __post_init__(self) -> None:
        if self.kind not in FENCE_KINDS:
            raise InvalidInput(f"unknown fence kind {self.kind!r}; known: {', '.join(FENCE_KINDS)}")
        if (self.kind == "patrol_zone") != (self.team_id is not None):
            raise InvalidInput("a patrol zone needs a team_id, and only a patrol zone has one")
        if not (math.isfinite(self.leave_after_s) and self.leave_after_s >= 0):
            raise InvalidInput(f"leave_after_s must be a number of seconds ≥ 0, got {self.leave_after_s!r}")
        if (self.polygon is None) == (self.center is None):
            raise InvalidInput("a fence is either a polygon or a circle (center and radius_m)")
        if self.polygon is not None:
            if self.polygon.geom_type not in ("Polygon", "MultiPolygon") or self.polygon.is_empty:
                raise InvalidInput(f"fence {self.fence_id}: expected a non-empty (Multi)Polygon")
            if not self.polygon.is_valid:
                raise InvalidInput(f"fence {self.fence_id}: invalid polygon ({shapely.is_valid_reason(self.polygon)})")
            return
        lon, lat = self.center or (math.nan, math.nan)
        radius = math.nan if self.radius_m is None else self.radius_m
        if not (math.isfinite(lon) and math.isfinite(lat) and abs(lon) <= 180 and abs(lat) <= 85):
            raise InvalidInput(f"fence {self.fence_id}: circle centre {self.center!r} is not WGS84")
        if not MIN_RADIUS_M <= radius <= MAX_RADIUS_M:
            raise InvalidInput(f"fence {self.fence_id}: radius_m must be in [{MIN_RADIUS_M:.0f}, {MAX_RADIUS_M:.0f}]")

    def footprint(self) -> BaseGeometry:
        """Return the polygon, or a box in degrees surely holding the circle."""
        if self.polygon is not None:
            return self.polygon
        assert self.center is not None and self.radius_m is not None
        lon, lat = self.center
        dlat = self.radius_m / _M_PER_DEG * 1.01 + 1e-9
        dlon = min(dlat / max(math.cos(math.radians(abs(lat) + dlat)), 1e-6), 180.0)
        return shapely.box(lon - dlon, lat - dlat, lon + dlon, lat + dlat)


class FenceEvent(NamedTuple):
    """A member crossed a fence, or stayed out of their patrol zones too long."""

    kind: FenceEventKind
    fence_id: int
    fence_kind: str
    member_id: int
    t: float
    lon: float
    lat: float


class _Member:
    """What the engine knows of one member on duty."""

    __slots__ = ("absent_since", "absent_zone", "alerted", "inside", "lat", "lon", "seq", "t", "team_id")

    def __init__(self, team_id: int | None) -> None:
        self.team_id = team_id
        self.inside: frozenset[int] = frozenset()
        self.lon = self.lat = self.t = math.nan
        self.absent_since: float | None = None
        self.absent_zone = -1
        self.alerted = False
        self.seq = 0  # bumped at each new absence so stale deadlines on the heap are ignored


class FenceEngine:
    """Fences, each member's current fences, and patrol-absence deadlines (see module docstring)."""

    def __init__(self) -> None:
        self._fences: dict[int, Fence] = {}
        self._zones: dict[int, set[int]] = {}  # team -> its patrol zones
        self._members: dict[int, _Member] = {}
        self._deadlines: list[tuple[float, int, int]] = []  # (due, member, seq)
        self._compiled = False
        self._tree = shapely.STRtree([])
        self._ids = np.empty(0, dtype=np.int64)
        self._geoms = np.empty(0, dtype=object)
        self._radius = self._clon = self._clat = np.empty(0)
        self._team = np.empty(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self._fences)

    def add(self, fence: Fence) -> None:
        """Add a fence. Raises Conflict if its id is taken."""
        if fence.fence_id in self._fences:
            raise Conflict(f"fence {fence.fence_id} already exists")
        self._put(fence)

    def replace(self, fence: Fence) -> None:
        """Replace the fence of the same id. Raises NotFound if there is none."""
        if fence.fence_id not in self._fences:
            raise NotFound(f"fence {fence.fence_id} not found")
        self._drop(fence.fence_id)
        self._put(fence)

    def remove(self, fence_id: int) -> bool:
        """Remove a fence; return whether it existed."""
        if fence_id not in self._fences:
            return False
        self._drop(fence_id)
        return True

    def track(self, member_id: int, team_id: int | None = None) -> None:
        """Start tracking a member going on duty (their team decides their patrol zones)."""
        old = self._members.get(member_id)
        if old is not None and old.team_id == team_id:
            return
        member = self._members[member_id] = _Member(team_id)
        if old is not None:  # changing team: keep place and open fences, drop the old team's zones
            member.lon, member.lat, member.t = old.lon, old.lat, old.t
            member.inside = frozenset(f for f in old.inside if self._fences[f].team_id is None)
            if team_id in self._zones and math.isfinite(member.t):
                self._follow_absence(member_id, member, member.t)

    def forget(self, member_id: int) -> None:
        """Stop tracking a member going off duty, without events."""
        self._members.pop(member_id, None)

    def inside(self, member_id: int) -> frozenset[int]:
        """Return the ids of the fences the member is in now (empty if unknown)."""
        member = self._members.get(member_id)
        return member.inside if member else frozenset()

    def evaluate(self, member_ids: ArrayLike, lons: ArrayLike, lats: ArrayLike, ts: ArrayLike) -> list[FenceEvent]:
        """Move members to accepted fixes and return the ENTER/LEAVE events, in fix order.

        Members not tracked yet are tracked without a team. Fixes that are not finite numbers
        are skipped. Raises InvalidInput when the arrays differ in length.
        """
        ids = np.asarray(member_ids, dtype=np.int64).ravel()
        lon, lat, t = (np.asarray(a, dtype=np.float64).ravel() for a in (lons, lats, ts))
        if not ids.size == lon.size == lat.size == t.size:
            raise InvalidInput("member_ids, lons, lats and ts must have the same length")
        good = np.flatnonzero(np.isfinite(lon) & np.isfinite(lat) & np.isfinite(t))
        ids, lon, lat, t = ids[good], lon[good], lat[good], t[good]
        get, members = self._members.get, self._members
        states = []
        for m in ids.tolist():
            member = get(m)
            if member is None:
                member = members[m] = _Member(None)
            states.append(member)
        teams = np.fromiter((-1 if s.team_id is None else s.team_id for s in states), np.int64, len(states))
        start, found = self._containing(lon, lat, teams)
        events: list[FenceEvent] = []
        fences, zones = self._fences, self._zones
        for i, (m, member, x, y, when) in enumerate(zip(ids.tolist(), states, lon.tolist(), lat.tolist(),
                                                        t.tolist(), strict=True)):
            a, b = start[i], start[i + 1]
            now_in = _NOWHERE if a == b else frozenset(found[a:b])
            member.lon, member.lat, member.t = x, y, when
            if now_in != member.inside:
                left, entered = sorted(member.inside - now_in), sorted(now_in - member.inside)
                events.extend(FenceEvent(FenceEventKind.LEAVE, f, fences[f].kind, m, when, x, y) for f in left)
                events.extend(FenceEvent(FenceEventKind.ENTER, f, fences[f].kind, m, when, x, y) for f in entered)
                member.inside = now_in
                own = [f for f in left if fences[f].team_id is not None]
                if own:
                    member.absent_zone = own[-1]
            if member.team_id in zones:
                self._follow_absence(m, member, when)
        return events

    def tick(self, now: float) -> list[FenceEvent]:
        """Return a PATROL_ABSENCE alert for each member whose absence has now lasted too long.

        Each absence is alerted once; a member coming back into a zone ends it.
        """
        events: list[FenceEvent] = []
        while self._deadlines and self._deadlines[0][0] <= now:
            _, m, seq = heapq.heappop(self._deadlines)
            member = self._members.get(m)
            if member is None or member.seq != seq or member.absent_since is None or member.alerted:
                continue
            fence = self._fences.get(member.absent_zone)
            if fence is None:
                continue
            member.alerted = True
            events.append(FenceEvent(FenceEventKind.PATROL_ABSENCE, fence.fence_id, fence.kind, m, float(now),
                                     member.lon, member.lat))
        return events

    def _follow_absence(self, m: int, member: _Member, when: float) -> None:
        """Start or end the member's absence from their team's patrol zones."""
        team_zones = self._zones.get(member.team_id if member.team_id is not None else -1, set())
        if not team_zones or not team_zones.isdisjoint(member.inside):
            member.absent_since, member.alerted = None, False
            return
        if member.absent_since is not None:
            return
        if member.absent_zone not in team_zones:
            member.absent_zone = min(team_zones)
        member.absent_since, member.alerted, member.seq = when, False, member.seq + 1
        due = when + self._fences[member.absent_zone].leave_after_s
        heapq.heappush(self._deadlines, (due, m, member.seq))

    # -- geometry ----------------------------------------------------------------------------

    def _containing(
        self, lon: NDArray[np.float64], lat: NDArray[np.float64], teams: NDArray[np.int64],
    ) -> tuple[list[int], list[int]]:
        """Return the fences holding each (finite) point, as CSR: point i is in
        ``fence_ids[start[i]:start[i + 1]]``. A patrol zone holds only its team (``teams``, -1: none)."""
        if not self._compiled:
            self._compile()
        if not self._fences or lon.size == 0:
            return [0] * (lon.size + 1), []
        pi, fi = self._tree.query(shapely.points(lon, lat))
        zone_team = self._team[fi]
        keep = (zone_team < 0) | (zone_team == teams[pi])
        pi, fi = pi[keep], fi[keep]
        circle = self._radius[fi] > 0
        ok = np.empty(pi.size, dtype=bool)
        c, p = fi[circle], pi[circle]
        ok[circle] = haversine_m(self._clon[c], self._clat[c], lon[p], lat[p]) <= self._radius[c]
        g, p = fi[~circle], pi[~circle]
        ok[~circle] = shapely.intersects_xy(self._geoms[g], lon[p], lat[p])
        pi, fi = pi[ok], fi[ok]
        order = np.lexsort((self._ids[fi], pi))
        start = np.searchsorted(pi[order], np.arange(lon.size + 1))
        return start.tolist(), self._ids[fi[order]].tolist()

    def _compile(self) -> None:
        """Rebuild the STRtree and the per-fence arrays after the fences changed."""
        fences = list(self._fences.values())
        self._ids = np.array([f.fence_id for f in fences], dtype=np.int64)
        self._geoms = np.array([f.footprint() for f in fences], dtype=object)
        shapely.prepare(self._geoms)
        self._tree = shapely.STRtree(self._geoms)
        self._radius = np.array([f.radius_m or 0.0 for f in fences], dtype=np.float64)
        self._team = np.array([-1 if f.team_id is None else f.team_id for f in fences], dtype=np.int64)
        self._clon = np.array([f.center[0] if f.center else 0.0 for f in fences], dtype=np.float64)
        self._clat = np.array([f.center[1] if f.center else 0.0 for f in fences], dtype=np.float64)
        self._compiled = True

    def _put(self, fence: Fence) -> None:
        self._fences[fence.fence_id] = fence
        self._compiled = False
        if fence.team_id is not None:
            self._zones.setdefault(fence.team_id, set()).add(fence.fence_id)
        placed = [(m, s) for m, s in self._members.items() if math.isfinite(s.t)
                  and fence.team_id in (None, s.team_id)]
        if not placed:
            return
        inside = _holds(fence, np.array([s.lon for _, s in placed]), np.array([s.lat for _, s in placed]))
        for (m, member), holds in zip(placed, inside.tolist(), strict=True):
            if holds:
                member.inside = member.inside | {fence.fence_id}
            if fence.team_id is not None:
                self._follow_absence(m, member, member.t)

    def _drop(self, fence_id: int) -> None:
        fence = self._fences.pop(fence_id)
        self._compiled = False
        if fence.team_id is not None:
            self._zones[fence.team_id].discard(fence_id)
            if not self._zones[fence.team_id]:
                del self._zones[fence.team_id]
        for m, member in self._members.items():
            if fence_id in member.inside:
                member.inside = member.inside - {fence_id}
            if fence.team_id is not None and member.team_id == fence.team_id and math.isfinite(member.t):
                if member.absent_zone == fence_id:
                    member.absent_zone = -1
                    member.absent_since = None  # restarts below against the remaining zones
                self._follow_absence(m, member, member.t)


def _holds(fence: Fence, lon: NDArray[np.float64], lat: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Return whether ``fence`` holds each point (boundary included)."""
    if fence.polygon is not None:
        return np.asarray(shapely.intersects_xy(fence.polygon, lon, lat), dtype=bool)
    assert fence.center is not None and fence.radius_m is not None
    return np.asarray(haversine_m(fence.center[0], fence.center[1], lon, lat) <= fence.radius_m, dtype=bool)


class GridLocator:
    """Which comprehensive grid (综合网格) holds each point, for on-duty counts per grid."""

    def __init__(self, polygons: Sequence[BaseGeometry] | NDArray[np.object_]) -> None:
        self._geoms = np.asarray(polygons, dtype=object)
        shapely.prepare(self._geoms)
        self._tree = shapely.STRtree(self._geoms)

    def __len__(self) -> int:
        return int(self._geoms.size)

    def locate(self, lons: ArrayLike, lats: ArrayLike) -> NDArray[np.int64]:
        """Return the index of the grid holding each point, -1 outside all grids.

        A point on a boundary shared by grids gets the lowest index. Raises InvalidInput when
        the arrays differ in length.
        """
        lon = np.asarray(lons, dtype=np.float64).ravel()
        lat = np.asarray(lats, dtype=np.float64).ravel()
        if lon.size != lat.size:
            raise InvalidInput("lons and lats must have the same length")
        finite = np.isfinite(lon) & np.isfinite(lat)
        pi, gi = self._tree.query(shapely.points(np.where(finite, lon, 0.0), np.where(finite, lat, 0.0)))
        ok = finite[pi]
        pi, gi = pi[ok], gi[ok]
        ok = shapely.intersects_xy(self._geoms[gi], lon[pi], lat[pi])
        out = np.full(lon.size, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(out, pi[ok], gi[ok])
        out[out == np.iinfo(np.int64).max] = -1
        return out

    def count(self, lons: ArrayLike, lats: ArrayLike) -> NDArray[np.int64]:
        """Return how many of the points fall in each grid (length: number of grids)."""
        where = self.locate(lons, lats)
        return np.bincount(where[where >= 0], minlength=len(self)).astype(np.int64)
