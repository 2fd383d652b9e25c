"""The live position store in Redis, shared by several API workers (same API as PositionIndex).

Keys under ``prefix``: a geo set of everyone (``<prefix>:all``) and one per skill, unit and team
(``<prefix>:skill:first_aid``, ``<prefix>:unit:17``, ``<prefix>:team:3``); a hash of member
attributes (``<prefix>:attrs``) and a hash of the geo keys holding each member
(``<prefix>:keys``). Writes run as Lua scripts so a position update racing an off-duty removal
cannot leave a ghost in a geo set. Scripts touch keys derived from the prefix, so on Redis
Cluster put a hash tag in the prefix (``jf:{duty}``) to keep them in one slot.

Queries search the most selective geo key (team, unit, the rarest skill) with GEOSEARCH
BYRADIUS ... ASC COUNT, filter the rest from the attribute hash, and widen the radius (or the
count) until k members qualify — exact up to Redis's geohash precision (about 0.6 m).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import redis
import shapely
from numpy.typing import ArrayLike
from shapely.geometry.base import BaseGeometry

from jiefang.errors import InvalidInput
from jiefang.geo.projection import haversine_m
from jiefang.geo.travel import MODE_KEYS, TravelModel, mode_code
from jiefang.tracking.index import (
    EQUIPMENT_KEYS,
    ROLE_KEYS,
    SKILL_KEYS,
    Hit,
    MemberFilter,
    OnDutyMember,
    check_position,
    check_positions,
    check_query,
    names_mask,
)

FIRST_RADIUS_M = 1_000.0
MAX_RADIUS_M = 200_000.0  # a city and its surroundings
LUA_CHUNK = 2_000  # members per GEOADD inside the scripts (Lua's unpack has a stack limit)

_UPSERT = """
local member, lon, lat, attrs, keys = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local wanted = {}
for k in string.gmatch(keys, '%S+') do wanted[k] = true end
local old = redis.call('HGET', KEYS[2], member)
if old then
  for k in string.gmatch(old, '%S+') do
    if not wanted[k] then redis.call('ZREM', k, member) end
  end
end
for k in pairs(wanted) do redis.call('GEOADD', k, lon, lat, member) end
redis.call('HSET', KEYS[1], member, attrs)
redis.call('HSET', KEYS[2], member, keys)
return 1
"""

_MOVE = """
local by_key, moved = {}, 0
for i = 1, #ARGV, 3 do
  local keys = redis.call('HGET', KEYS[1], ARGV[i])
  if keys then
    moved = moved + 1
    for k in string.gmatch(keys, '%S+') do
      local args = by_key[k]
      if not args then args = {}; by_key[k] = args end
      args[#args + 1] = ARGV[i + 1]; args[#args + 1] = ARGV[i + 2]; args[#args + 1] = ARGV[i]
    end
  end
end
for k, args in pairs(by_key) do
  for s = 1, #args, 3 * CHUNK do
    redis.call('GEOADD', k, unpack(args, s, math.min(s + 3 * CHUNK - 1, #args)))
  end
end
return moved
""".replace("CHUNK", str(LUA_CHUNK))

_REMOVE = """
local keys = redis.call('HGET', KEYS[2], ARGV[1])
if not keys then return 0 end
for k in string.gmatch(keys, '%S+') do redis.call('ZREM', k, ARGV[1]) end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
"""


class RedisPositionStore:
    """Live positions of members on duty in Redis (see the module docstring)."""

    def __init__(self, client: redis.Redis, prefix: str = "jf:duty", *, travel: TravelModel | None = None) -> None:
        self.client = client
        self.prefix = prefix
        self.travel = travel or TravelModel()
        self._attrs, self._keys = f"{prefix}:attrs", f"{prefix}:keys"
        self._upsert = client.register_script(_UPSERT)
        self._move = client.register_script(_MOVE)
        self._remove = client.register_script(_REMOVE)

    def __len__(self) -> int:
        return int(self.client.hlen(self._attrs))

    def key(self, kind: str, value: object = None) -> str:
        """Return the geo key of ``kind`` ("all", "skill", "unit", "team") and its value."""
        return f"{self.prefix}:all" if kind == "all" else f"{self.prefix}:{kind}:{value}"

    def upsert(self, member: OnDutyMember) -> None:
        """Add a member going on duty, or replace their attributes and position."""
        self._upsert(keys=[self._attrs, self._keys], args=self._upsert_args(member))

    def upsert_many(self, members: Iterable[OnDutyMember]) -> int:
        """Upsert members in one pipelined round trip (e.g. refilling after a restart); return how many."""
        pipe = self.client.pipeline(transaction=False)
        count = 0
        for member in members:
            self._upsert(keys=[self._attrs, self._keys], args=self._upsert_args(member), client=pipe)
            count += 1
        pipe.execute()
        return count

    def _upsert_args(self, member: OnDutyMember) -> list[str | int]:
        keys = [self.key("all"), self.key("unit", member.unit_id)]
        keys += [self.key("skill", s) for s in sorted(member.skills)]
        if member.team_id is not None:
            keys.append(self.key("team", member.team_id))
        attrs = "|".join(str(v) for v in (
            member.unit_id, "" if member.team_id is None else member.team_id,
            names_mask((member.role,), ROLE_KEYS, "role"), names_mask(member.skills, SKILL_KEYS, "skill"),
            names_mask(member.equipment, EQUIPMENT_KEYS, "equipment"), mode_code(member.mode)))
        return [member.member_id, repr(member.lon), repr(member.lat), attrs, " ".join(keys)]

    def update_positions(self, member_ids: ArrayLike, lons: ArrayLike, lats: ArrayLike) -> int:
        """Move members to new positions; ids not on duty are ignored. Return how many moved.

        When an id repeats, its last position wins. Raises InvalidInput, writing nothing, when
        the arrays differ in length or a position is not valid WGS84.
        """
        ids = np.asarray(member_ids, dtype=np.int64).ravel()
        lon = np.asarray(lons, dtype=np.float64).ravel()
        lat = np.asarray(lats, dtype=np.float64).ravel()
        if not ids.size == lon.size == lat.size:
            raise InvalidInput("member_ids, lons and lats must have the same length")
        check_positions(lon, lat)
        _, last = np.unique(ids[::-1], return_index=True)
        keep = np.sort(ids.size - 1 - last)
        args: list[str | int] = []
        for m, x, y in zip(ids[keep].tolist(), lon[keep].tolist(), lat[keep].tolist(), strict=True):
            args += (m, repr(x), repr(y))
        return int(self._move(keys=[self._keys], args=args)) if args else 0

    def remove(self, member_id: int) -> bool:
        """Take a member going off duty out of the store; return whether they were in it."""
        return bool(self._remove(keys=[self._attrs, self._keys], args=[member_id]))

    def clear(self) -> int:
        """Delete every key of this store; return how many were deleted."""
        keys = list(self.client.scan_iter(match=f"{self.prefix}:*", count=1000))
        return int(self.client.delete(*keys)) if keys else 0

    def nearest(
        self, lon: float, lat: float, k: int, *, skills: Iterable[str] = (), equipment: Iterable[str] = (),
        roles: Iterable[str] = (), team_id: int | None = None, unit_id: int | None = None,
        max_distance_m: float | None = None,
    ) -> list[Hit]:
        """Return up to ``k`` qualifying members nearest to (lon, lat), nearest first.

        Raises InvalidInput for an unknown skill, equipment or role, a bad k or distance.
        """
        check_position(lon, lat)
        check_query(k, max_distance_m)
        where = MemberFilter.of(skills, equipment, roles, team_id, unit_id)
        key, rest = self._search_key(where)
        limit = MAX_RADIUS_M if max_distance_m is None else float(max_distance_m)
        radius, count = min(FIRST_RADIUS_M, limit), k if rest == MemberFilter() else 4 * k
        while True:
            rows = self._search(key, lon, lat, radius, count)
            hits = self._qualifying(rows, rest)
            if len(hits) >= k or (len(rows) < count and radius >= limit):
                return hits[:k]
            if len(rows) < count:
                radius = min(radius * 4, limit)
            else:
                count *= 4

    def within_circle(
        self, lon: float, lat: float, radius_m: float, *, skills: Iterable[str] = (),
        equipment: Iterable[str] = (), roles: Iterable[str] = (), team_id: int | None = None,
        unit_id: int | None = None,
    ) -> list[Hit]:
        """Return every qualifying member within ``radius_m`` of (lon, lat), nearest first.

        Raises InvalidInput for an unknown skill, equipment or role or a bad radius.
        """
        check_position(lon, lat)
        check_query(radius_m=radius_m)
        key, rest = self._search_key(MemberFilter.of(skills, equipment, roles, team_id, unit_id))
        return self._qualifying(self._search(key, lon, lat, float(radius_m), None), rest)

    def within_polygon(
        self, polygon: BaseGeometry, *, skills: Iterable[str] = (), equipment: Iterable[str] = (),
        roles: Iterable[str] = (), team_id: int | None = None, unit_id: int | None = None,
    ) -> list[int]:
        """Return the ids, ascending, of qualifying members inside or on a WGS84 polygon.

        Raises InvalidInput for an unknown skill, equipment or role or an empty geometry.
        """
        if polygon.is_empty:
            raise InvalidInput("the selection polygon is empty")
        min_lon, min_lat, max_lon, max_lat = polygon.bounds
        c_lon, c_lat = (min_lon + max_lon) / 2, (min_lat + max_lat) / 2
        corners = haversine_m(c_lon, c_lat, [min_lon, min_lon, max_lon, max_lon], [min_lat, max_lat, min_lat, max_lat])
        radius = float(corners.max()) * 1.01 + 1.0  # margin for Redis's geohash rounding
        hits = self.within_circle(c_lon, c_lat, radius, skills=skills, equipment=equipment, roles=roles,
                                  team_id=team_id, unit_id=unit_id)
        inside = shapely.intersects_xy(polygon, [h.lon for h in hits], [h.lat for h in hits])
        return sorted(h.member_id for h, ok in zip(hits, inside.tolist(), strict=True) if ok)

    def _search_key(self, where: MemberFilter) -> tuple[str, MemberFilter]:
        """Return the most selective geo key for ``where`` and what is left to filter after it."""
        if where.team_id is not None:
            return self.key("team", where.team_id), where
        if where.unit_id is not None:
            return self.key("unit", where.unit_id), where
        skills = [s for b, s in enumerate(SKILL_KEYS) if where.skills >> b & 1]
        if not skills:
            return self.key("all"), where
        if len(skills) > 1:
            pipe = self.client.pipeline(transaction=False)
            for s in skills:
                pipe.zcard(self.key("skill", s))
            skills = [s for _, s in sorted(zip(pipe.execute(), skills, strict=True))]
        rest = MemberFilter(where.skills & ~(1 << SKILL_KEYS.index(skills[0])), where.equipment, where.roles)
        return self.key("skill", skills[0]), rest

    def _search(self, key: str, lon: float, lat: float, radius_m: float, count: int | None) -> list[Any]:
        """Return GEOSEARCH rows [member, distance_m, (lon, lat)] nearest first."""
        rows = self.client.geosearch(key, longitude=lon, latitude=lat, radius=radius_m, unit="m", sort="ASC",
                                     count=count, withdist=True, withcoord=True)
        return list(rows)

    def _qualifying(self, rows: Sequence[Any], where: MemberFilter) -> list[Hit]:
        """Return Hits for the rows whose attributes pass ``where``, nearest first (ties by id)."""
        if not rows:
            return []
        raw = self.client.hmget(self._attrs, [row[0] for row in rows])
        hits: list[Hit] = []
        for (name, distance, (x, y)), attrs in zip(rows, raw, strict=True):
            if attrs is None:  # removed between the search and now
                continue
            unit, team, role, skills, equipment, mode = _text(attrs).split("|")
            if ((int(skills) & where.skills) != where.skills or (int(equipment) & where.equipment) != where.equipment
                    or (where.roles and not int(role) & where.roles)
                    or (where.team_id is not None and team != str(where.team_id))
                    or (where.unit_id is not None and unit != str(where.unit_id))):
                continue
            eta = self.travel.eta_s(float(distance), MODE_KEYS[int(mode)])
            hits.append(Hit(int(_text(name)), float(distance), eta, float(x), float(y)))
        hits.sort(key=lambda h: (h.distance_m, h.member_id))
        return hits


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


if TYPE_CHECKING:  # both stores must satisfy the protocol the dispatcher relies on
    from jiefang.tracking.index import PositionIndex, PositionStore

    _IN_MEMORY: type[PositionStore] = PositionIndex
    _IN_REDIS: type[PositionStore] = RedisPositionStore
