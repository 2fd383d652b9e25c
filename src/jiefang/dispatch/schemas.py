"""Response shapes of the 1-3-5 compliance roll-ups (达标统计)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

GroupBy = Literal["city", "district", "street", "grid", "unit", "type"]
TierKey = Literal["self_rescue", "mutual_aid", "reinforcement"]


class TierRollup(BaseModel):
    """How often one tier met its deadline."""

    tier: TierKey
    assessed: int = Field(description="incidents whose tier is decided: passed, or failed by its deadline")
    passed: int
    pending: int = Field(description="open incidents whose tier deadline has not come yet")
    pass_rate: float | None = Field(description="passed / assessed, 0..1; null when nothing was assessed")


class Seconds(BaseModel):
    """Distribution of a duration over the incidents that have one."""

    n: int
    median_s: float | None
    p90_s: float | None = Field(description="90th percentile, linear between closest ranks")


class GroupCompliance(BaseModel):
    """The 1-3-5 record of one group of incidents (a district, a unit, an incident type, ...)."""

    id: int | None = Field(description="area or unit id; null for the city, a type, or incidents outside any area")
    code: str | None = Field(description="area code, unit code or incident type; null when unknown")
    name: str | None = Field(description="Chinese name")
    name_en: str | None
    incidents: int = Field(description="all incidents reported in the window")
    false_alarms: int = Field(description="closed as false alarm: counted here, left out of every rate and time")
    tiers: list[TierRollup] = Field(description="self_rescue, mutual_aid, reinforcement in this order")
    all_assessed: int
    all_passed: int = Field(description="incidents where all three tiers passed")
    all_pass_rate: float | None
    self_rescue_first_action: Seconds = Field(description="seconds from report to the unit's first accept or arrival")
    first_arrival: Seconds = Field(description="seconds from report to the first responder on scene, any tier")
    arrival_histogram: list[int] = Field(
        description="first-arrival counts in 30 s bins from 0 to 600 s, then one bin for 600 s and later")


class ComplianceSummary(BaseModel):
    """1-3-5 compliance of the incidents you may see, reported in [since, until)."""

    group_by: GroupBy
    since: datetime
    until: datetime
    bin_s: int = Field(description="width of a histogram bin")
    histogram_max_s: int = Field(description="start of the overflow bin")
    total: GroupCompliance = Field(description="all groups together")
    groups: list[GroupCompliance]
