"""Did the response meet 1-3-5? Per incident and tier, from the stored alerts and arrivals.

* self-rescue (1 minute): the first acceptance or arrival of a self-rescue responder within the
  tier's deadline — the unit at the scene started handling it;
* mutual aid (3 minutes) and reinforcement (5 minutes): at least as many of the tier's
  responders on scene by the deadline as the playbook asks for.

A tier that asks for nobody passes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from jiefang.dispatch.models import Assignment, TierState
from jiefang.incidents.schemas import TierCompliance


def _seconds(later: datetime | None, earlier: datetime) -> float | None:
    return None if later is None else (later - earlier).total_seconds()


def tier_compliance(reported_at: datetime, tiers: Iterable[TierState],
                    assignments: Iterable[Assignment]) -> list[TierCompliance]:
    """Return the pass/fail of each tier of one incident."""
    by_tier: dict[str, list[Assignment]] = {}
    for a in assignments:
        by_tier.setdefault(a.tier, []).append(a)
    out = []
    for tier in tiers:
        deadline_s = round((tier.deadline_at - reported_at).total_seconds())
        mine = by_tier.get(tier.tier, [])
        actions = [t for a in mine for t in (_seconds(a.answered_at, reported_at) if a.status in ("accepted", "arrived")
                                             else None, _seconds(a.arrived_at, reported_at)) if t is not None]
        first = min(actions) if actions else None
        on_time = sum(1 for a in mine if a.arrived_at is not None and a.arrived_at <= tier.deadline_at)
        if tier.needed == 0:
            passed = True
        elif tier.tier == "self_rescue":
            passed = first is not None and first <= deadline_s
        else:
            passed = on_time >= tier.needed
        out.append(TierCompliance(tier=tier.tier, deadline_s=deadline_s, needed=tier.needed,
                                  on_scene_in_time=on_time, first_action_s=first, passed=passed))
    return out
