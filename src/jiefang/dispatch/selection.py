"""Choosing responders for the three tiers of a 1-3-5 response, in one decision.

Pure: it reads a live position store and knows nothing of the database. For each tier, in order
(self-rescue, mutual aid, reinforcement), it asks the store for qualifying members on duty near
the incident and takes the best by ETA, never the same member twice:

* self-rescue takes members of the unit whose site it is; when that unit has nobody on duty (or
  the incident is at no unit's site) it takes the nearest unit with someone within the tier's
  radius (1 minute of reach) and its members.
* mutual aid and reinforcement take members of other units, nearest ETA first; when the tier asks
  for any of some skills, the best member holding one comes first, so the wave includes them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from jiefang.tracking.index import Hit, PositionStore

UnitOf = Callable[[int], int | None]  # the unit of a member on duty
SEARCH_FACTOR = 4  # candidates asked of the store per responder needed, to leave room for exclusions


@dataclass(frozen=True)
class TierNeed:
    """What one tier asks for now: how many, with what, how far to look."""

    tier: str
    responders: int
    radius_m: float
    skills_all: tuple[str, ...] = ()
    skills_any: tuple[str, ...] = ()
    equipment: tuple[str, ...] = ()
    own_unit: bool = False


@dataclass(frozen=True)
class Candidate:
    """A member picked for a tier."""

    member_id: int
    unit_id: int
    tier: str
    distance_m: float
    eta_s: float


@dataclass
class Decision:
    """The members picked per tier, and the tiers left short of what they need."""

    picked: dict[str, list[Candidate]] = field(default_factory=dict)
    short: dict[str, int] = field(default_factory=dict)

    def all(self) -> list[Candidate]:
        return [c for tier in self.picked.values() for c in tier]


def _query(store: PositionStore, lon: float, lat: float, need: TierNeed, k: int, skills: Iterable[str] = (),
           unit_id: int | None = None) -> list[Hit]:
    return store.nearest(lon, lat, k, skills=tuple(need.skills_all) + tuple(skills), equipment=need.equipment,
                         unit_id=unit_id, max_distance_m=need.radius_m)


def select_tier(store: PositionStore, lon: float, lat: float, need: TierNeed, taken: set[int],
                unit_of: UnitOf, site_unit_id: int | None = None) -> list[Candidate]:
    """Return up to ``need.responders`` candidates for one tier, best first, none from ``taken``.

    ``unit_of`` gives the unit of a member on duty; ``taken`` is updated with the picks.
    """
    if need.responders <= 0:
        return []
    k = need.responders * SEARCH_FACTOR + len(taken)
    if need.own_unit:
        hits = _query(store, lon, lat, need, k, unit_id=site_unit_id) if site_unit_id is not None else []
        hits = [h for h in hits if h.member_id not in taken]
        if not hits:  # nobody on duty at the site: the nearest unit within reach answers
            nearest = [h for h in _query(store, lon, lat, need, k) if h.member_id not in taken]
            if nearest:
                unit = unit_of(nearest[0].member_id)
                hits = [h for h in nearest if unit_of(h.member_id) == unit] if unit is not None else nearest[:1]
        chosen = hits
    else:
        hits = [h for h in _query(store, lon, lat, need, k) if h.member_id not in taken
                and (site_unit_id is None or unit_of(h.member_id) != site_unit_id)]
        chosen = hits
        if need.skills_any:
            skilled = _best_with_any(store, lon, lat, need, k, taken, unit_of, site_unit_id)
            if skilled is not None:
                chosen = [skilled] + [h for h in hits if h.member_id != skilled.member_id]
    out = []
    for h in chosen[: need.responders]:
        taken.add(h.member_id)
        out.append(Candidate(h.member_id, unit_of(h.member_id) or -1, need.tier, h.distance_m, h.eta_s))
    return out


def _best_with_any(store: PositionStore, lon: float, lat: float, need: TierNeed, k: int, taken: set[int],
                   unit_of: UnitOf, site_unit_id: int | None) -> Hit | None:
    """Return the qualifying member with the lowest ETA holding any of ``need.skills_any``."""
    best: Hit | None = None
    for skill in need.skills_any:
        for h in _query(store, lon, lat, need, k, skills=(skill,)):
            if h.member_id in taken or (site_unit_id is not None and unit_of(h.member_id) == site_unit_id):
                continue
            if best is None or (h.eta_s, h.member_id) < (best.eta_s, best.member_id):
                best = h
            break
    return best


def select_responders(store: PositionStore, lon: float, lat: float, needs: Sequence[TierNeed],
                      unit_of: UnitOf, *, site_unit_id: int | None = None,
                      exclude: Iterable[int] = ()) -> Decision:
    """Pick responders for every tier in order; members in ``exclude`` are never picked.

    ``unit_of`` gives the unit of a member on duty. Returns the picks and, per tier,
    how many it is still short.
    """
    taken = set(exclude)
    decision = Decision()
    for need in needs:
        picked = select_tier(store, lon, lat, need, taken, unit_of, site_unit_id)
        decision.picked[need.tier] = picked
        if len(picked) < need.responders:
            decision.short[need.tier] = need.responders - len(picked)
    return decision
