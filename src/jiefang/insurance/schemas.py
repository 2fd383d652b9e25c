"""Shapes of insurance policies and cover checks in the API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field, model_validator

from jiefang.schemas import CleanStr, DbId


class PolicyIn(BaseModel):
    member_id: DbId
    insurer: Annotated[CleanStr, Field(min_length=2, max_length=80)]
    policy_no: Annotated[CleanStr, Field(min_length=3, max_length=40)]
    cover: Annotated[CleanStr, Field(min_length=2, max_length=80)] = "意外伤害"
    cover_amount_yuan: Annotated[int, Field(ge=0, le=100_000_000)]
    starts_on: date
    ends_on: date

    @model_validator(mode="after")
    def _order(self) -> PolicyIn:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        return self


class PolicyOut(BaseModel):
    id: int
    member_id: int
    insurer: str
    policy_no: str
    cover: str
    cover_amount_yuan: int
    starts_on: date
    ends_on: date


class UncoveredOut(BaseModel):
    """A member on duty now without valid cover today."""

    member_id: int
    name: str
    unit_id: int
    duty_session_id: int
    checked_in_at: datetime
    cover_ended_on: date | None
