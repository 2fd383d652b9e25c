"""Request and response shapes for shifts, rosters, posts, check-in/out and the board."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from jiefang.schemas import CleanStr, DbId

Lon = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
Lat = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
ShortName = Annotated[CleanStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
PostName = Annotated[CleanStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]


class ShiftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: ShortName
    start_time: time
    end_time: time
    team_id: DbId | None = None
    weekdays: list[Annotated[int, Field(ge=1, le=7)]] = Field(
        default_factory=lambda: [1, 2, 3, 4, 5, 6, 7],
        min_length=1,
        max_length=7,
        description="ISO weekdays the shift starts on (1 = Monday)",
    )
    min_on_duty: int = Field(1, ge=0, le=1000, description="fewer on duty than this flags an empty post")

    @field_validator("start_time", "end_time")
    @classmethod
    def _local_time(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise ValueError("a shift time is a local time of day, without a UTC offset")
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> ShiftIn:
        if self.start_time == self.end_time:
            raise ValueError("start_time and end_time are equal: a shift needs a length")
        return self


class ShiftOut(BaseModel):
    id: int
    unit_id: int
    team_id: int | None
    name: str
    start_time: time
    end_time: time
    weekdays: list[int]
    min_on_duty: int


class RosterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member_id: DbId
    valid_from: date
    valid_to: date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> RosterIn:
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        return self


class RosterOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    shift_id: int
    member_id: int
    valid_from: date
    valid_to: date | None


class MyShiftOut(BaseModel):
    """A shift window a member is rostered for."""

    shift_id: int
    unit_id: int
    name: str
    starts_at: datetime
    ends_at: datetime


class PostIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: PostName
    lon: Lon
    lat: Lat


class PostOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    unit_id: int
    name: str
    lon: float
    lat: float
    token_version: int
    active: bool


class CheckIn(BaseModel):
    """A scanned post code and the phone's GPS fix."""

    model_config = ConfigDict(extra="forbid")

    token: Annotated[CleanStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    lon: Lon
    lat: Lat
    accuracy_m: float | None = Field(None, ge=0, le=100_000, allow_inf_nan=False)


class CheckOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: Annotated[CleanStr, StringConstraints(strip_whitespace=True, max_length=200)] | None = None


class DutySessionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    member_id: int
    unit_id: int
    post_id: int | None
    shift_id: int | None
    as_helper: bool
    checked_in_at: datetime
    check_in_distance_m: float
    auto_checkout_at: datetime | None
    checked_out_at: datetime | None
    check_out_reason: str | None


class BoardCount(BaseModel):
    id: int
    code: str
    name: str
    on_duty: int


class EmptyPost(BaseModel):
    """A unit whose rostered shift is running with fewer members on duty than it needs."""

    unit_id: int
    unit_name: str
    district_id: int
    shift_id: int
    shift_name: str
    rostered: int
    on_duty: int
    min_on_duty: int


class BoardOut(BaseModel):
    level: Literal["city", "district", "street", "grid", "unit"]
    total_on_duty: int
    counts: list[BoardCount]
