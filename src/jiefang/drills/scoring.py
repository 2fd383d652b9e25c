"""Did a drill pass? Its three 1-3-5 tiers from acknowledgements, arrivals and the video check. Pure.

* 1 minute (``self_rescue``): a member of the unit acknowledged the drill alert (accepted it, or
  confirmed being at the post) within 60 s: the unit is reachable and answers.
* 3 minutes (``mutual_aid``): at least ``muster_needed`` alerted members are at the post within
  180 s (confirmed by the member or seen there by position): the unit can muster.
* 5 minutes (``reinforcement``): when a video check-in was asked, the operator confirmed it
  within 300 s; without one the tier is not assessed.

A tier is *pending* until it passes or its deadline has gone by. A drill is over when no tier is
pending and passes when every assessed tier passed. A unit with nobody on duty to alert fails.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

Verdict = Literal["passed", "failed", "pending", "skipped"]
ACK_DEADLINE_S = 60
MUSTER_DEADLINE_S = 180
VIDEO_DEADLINE_S = 300
DRILL_TIERS = ("self_rescue", "mutual_aid", "reinforcement")


@dataclass(frozen=True)
class DrillFacts:
    """What happened in one drill so far."""

    started_at: datetime
    alerted: int
    muster_needed: int
    acks: Sequence[datetime]  # explicit acknowledgements: accepted, or "I am at the post"
    arrivals: Sequence[datetime]  # at the post, by the member's word or position
    video_requested: bool = False
    video_confirmed_at: datetime | None = None


@dataclass(frozen=True)
class DrillScore:
    """The verdict of each tier, the measures behind them, and whether the drill is over."""

    first_ack_s: float | None
    mustered: int
    tiers: dict[str, Verdict]

    @property
    def done(self) -> bool:
        return "pending" not in self.tiers.values()

    @property
    def passed(self) -> bool | None:
        """True or False once the drill is over; None while a tier is pending."""
        if not self.done:
            return None
        return all(v in ("passed", "skipped") for v in self.tiers.values())


def _verdict(met: bool, now: datetime, deadline: datetime, hopeless: bool = False) -> Verdict:
    if met:
        return "passed"
    return "failed" if hopeless or now > deadline else "pending"


def score_drill(facts: DrillFacts, now: datetime) -> DrillScore:
    """Return the drill's score at ``now`` (see the module docstring)."""
    start = facts.started_at
    nobody = facts.alerted == 0
    acks = sorted(t for t in facts.acks if t >= start)
    first_ack_s = (acks[0] - start).total_seconds() if acks else None
    muster_by = start + timedelta(seconds=MUSTER_DEADLINE_S)
    mustered = sum(1 for t in facts.arrivals if t <= muster_by)
    ack_by = start + timedelta(seconds=ACK_DEADLINE_S)
    tiers: dict[str, Verdict] = {
        "self_rescue": _verdict(first_ack_s is not None and first_ack_s <= ACK_DEADLINE_S, now, ack_by, nobody),
        "mutual_aid": _verdict(not nobody and mustered >= facts.muster_needed, now, muster_by, nobody),
        "reinforcement": "skipped",
    }
    if facts.video_requested:
        video_by = start + timedelta(seconds=VIDEO_DEADLINE_S)
        confirmed = facts.video_confirmed_at is not None and facts.video_confirmed_at <= video_by
        tiers["reinforcement"] = _verdict(confirmed, now, video_by, nobody)
    return DrillScore(first_ack_s, mustered, tiers)
