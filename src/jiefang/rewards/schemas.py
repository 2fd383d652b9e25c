"""Shapes of points, leaderboards and honours in the API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from jiefang.schemas import CleanStr, DbId


class EntryOut(BaseModel):
    rule: str
    source_type: str
    source_id: int
    points: int
    earned_at: datetime


class PointsOut(BaseModel):
    member_id: int
    balance: int
    entries: list[EntryOut]


class RankOut(BaseModel):
    rank: int
    member_id: int
    name: str
    unit_id: int
    points: int


class HonourIn(BaseModel):
    member_id: DbId
    kind: Literal["bravery"] = "bravery"
    citation: Annotated[CleanStr, Field(min_length=4, max_length=2000)]
    incident_id: DbId | None = None


class DecisionIn(BaseModel):
    approve: bool
    note: Annotated[CleanStr, Field(max_length=1000)] = ""


class HonourOut(BaseModel):
    id: int
    member_id: int
    kind: str
    citation: str
    incident_id: int | None
    status: str
    proposed_at: datetime
    decided_at: datetime | None
    note: str
