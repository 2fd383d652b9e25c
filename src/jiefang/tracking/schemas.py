"""Request and response shapes for live positions, nearby queries, tracks and fences."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from jiefang.duty.schemas import Lat, Lon
from jiefang.schemas import CleanStr, DbId
from jiefang.tracking.fences import FENCE_KINDS, MAX_RADIUS_M, MIN_RADIUS_M

MAX_FIXES_PER_BATCH = 1000
MAX_FENCE_VERTICES = 2000


class FixIn(BaseModel):
    """One position fix from a phone or a radio gateway. ``t``: client time, epoch seconds."""

    model_config = ConfigDict(extra="forbid")

    member_id: DbId | None = Field(None, description="whose fix; omitted for your own")
    lon: float = Field(allow_inf_nan=False)
    lat: float = Field(allow_inf_nan=False)
    t: float = Field(gt=0, lt=1e11, allow_inf_nan=False, description="client timestamp, epoch seconds")
    accuracy_m: float = Field(50.0, ge=0, le=1e6, allow_inf_nan=False)
    speed_mps: float | None = Field(None, ge=0, le=1000, allow_inf_nan=False)
    heading_deg: float | None = Field(None, ge=0, le=360, allow_inf_nan=False)


class FixBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fixes: list[FixIn] = Field(min_length=1, max_length=MAX_FIXES_PER_BATCH)


FixStatusName = Literal[
    "accepted", "inaccurate", "duplicate", "out_of_order", "too_fast", "out_of_bounds", "future", "stale",
    "invalid", "not_on_duty",
]


class IngestOut(BaseModel):
    """What became of a batch: a status per fix in order, counts, and fence events raised."""

    accepted: int
    status: list[FixStatusName]
    counts: dict[str, int]
    fence_events: int


class NearbyOut(BaseModel):
    """A member on duty near a point: straight-line metres and the travel-time model's ETA."""

    member_id: int
    name: str
    role: str
    unit_id: int
    unit_name: str
    team_id: int | None
    skills: list[str]
    distance_m: float
    eta_s: float
    lon: float
    lat: float


class LivePositionsOut(BaseModel):
    """Members on duty and where they are, as parallel arrays (compact for the map)."""

    member_ids: list[int]
    unit_ids: list[int]
    lons: list[float]
    lats: list[float]


class TrackPointOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    t: datetime
    lon: float
    lat: float
    accuracy_m: float | None
    flagged: str | None


FenceName = Annotated[CleanStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]


class FenceIn(BaseModel):
    """An electronic fence (电子围栏): a GeoJSON polygon, or a circle (centre and radius)."""

    model_config = ConfigDict(extra="forbid")

    name: FenceName
    kind: Literal["patrol_zone", "sensitive_area", "incident_perimeter"]
    polygon: dict[str, Any] | None = Field(None, description="GeoJSON Polygon or MultiPolygon, WGS84")
    center_lon: Lon | None = None
    center_lat: Lat | None = None
    radius_m: float | None = Field(None, ge=MIN_RADIUS_M, le=MAX_RADIUS_M, allow_inf_nan=False)
    team_id: DbId | None = Field(None, description="the team patrolling a patrol zone")
    district_id: DbId | None = None
    leave_after_s: int = Field(300, ge=0, le=86_400, description="patrol zone: alert after this long outside")

    @model_validator(mode="after")
    def _shape(self) -> FenceIn:
        circle = (self.center_lon, self.center_lat, self.radius_m)
        if self.polygon is None and None in circle:
            raise ValueError("give either polygon, or center_lon, center_lat and radius_m")
        if self.polygon is not None and any(v is not None for v in circle):
            raise ValueError("give either a polygon or a circle, not both")
        if (self.kind == "patrol_zone") != (self.team_id is not None):
            raise ValueError("a patrol_zone needs team_id, and only a patrol_zone has one")
        return self


class FenceOut(BaseModel):
    id: int
    name: str
    kind: str
    kind_label: str
    polygon: dict[str, Any] | None
    center_lon: float | None
    center_lat: float | None
    radius_m: float | None
    team_id: int | None
    district_id: int | None
    leave_after_s: int
    active: bool
    created_at: datetime


class FenceEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    fence_id: int
    member_id: int
    kind: str
    at: datetime
    lon: float
    lat: float


def kind_label(kind: str) -> str:
    """Return the Chinese label of a fence kind."""
    return FENCE_KINDS[kind][0]
