"""Request and response shapes of readiness drills (拉动测试)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from jiefang.commands.schemas import SelectionIn

Seed = Annotated[int, Field(ge=0, le=2**31 - 1)]
Scenario = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,39}$")]
DrillGroupBy = Literal["district", "street", "grid", "unit"]


class PlanIn(BaseModel):
    """Plan the scheduled drills of one local day."""

    model_config = ConfigDict(extra="forbid")

    date: date
    seed: Seed | None = None  # random when omitted; stored with every drill, so a plan can be redone
    count: int | None = Field(default=None, ge=0, le=100_000)  # the setting (705 scaled by units) when omitted


class AdhocIn(BaseModel):
    """An ad-hoc drill of the active units inside a map selection (地图圈选): circle, polygon or areas."""

    model_config = ConfigDict(extra="forbid")

    selection: SelectionIn
    scenario: Scenario | None = None
    video: bool = False  # ask for a video check-in, confirmed by the operator
    max_units: int = Field(default=50, ge=1, le=500)


class VideoIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    confirmed: bool = True


class DrillOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    unit_id: int
    district_id: int | None
    kind: str
    plan_date: date
    planned_at: datetime
    status: str
    scenario: str
    video_requested: bool
    seed: int | None
    incident_id: int | None
    started_at: datetime | None
    ended_at: datetime | None
    alerted: int
    muster_needed: int
    mustered: int
    first_ack_s: float | None
    video_confirmed_at: datetime | None
    self_rescue_passed: bool | None
    mutual_aid_passed: bool | None
    reinforcement_passed: bool | None
    passed: bool | None
    note: str | None
    drill: bool = True  # always: lets every client mark it 演练 / DRILL


class DistrictQuota(BaseModel):
    district_id: int
    planned: int


class PlanOut(BaseModel):
    date: date
    seed: int
    planned: int
    eligible_units: int
    quotas: list[DistrictQuota]
    drills: list[DrillOut]


class DrillGroup(BaseModel):
    """Drill results of one area or unit, ranked by pass rate."""

    id: int | None
    code: str | None
    name: str | None
    name_en: str | None = None
    rank: int = 0
    drills: int
    passed: int
    failed: int
    pass_rate: float | None
    median_ack_s: float | None
    flagged_units: int
    trend: list[float | None]  # pass rate per week, oldest first


class AckBin(BaseModel):
    from_s: int
    to_s: int | None  # None: the overflow bin
    count: int


class DrillSummary(BaseModel):
    group_by: DrillGroupBy
    since: datetime
    until: datetime
    weeks: list[date]  # the first day of each trend week
    total: DrillGroup
    groups: list[DrillGroup]
    ack_histogram: list[AckBin]


class WeakUnit(BaseModel):
    """A unit that failed drills: where it is, how often it failed, whether it failed twice running."""

    unit_id: int
    code: str
    name: str
    lon: float
    lat: float
    district_id: int
    drills: int
    failed: int
    pass_rate: float | None
    flagged: bool  # the last two drills failed: follow up
    last_drill_at: datetime | None
