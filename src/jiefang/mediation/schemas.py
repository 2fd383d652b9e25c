"""Shapes of mediation cases in the API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from jiefang.schemas import CleanStr, DbId, UtcDatetime

DisputeType = Literal["neighbour", "family", "property", "consumer", "labour", "land", "traffic", "other"]


class PartyIn(BaseModel):
    name: Annotated[CleanStr, Field(min_length=1, max_length=80)]
    phone: Annotated[str, Field(pattern=r"^\+?[0-9-]{5,20}$")] | None = None
    id_number: Annotated[str, Field(pattern=r"^[0-9]{17}[0-9Xx]$")] | None = None
    side: Literal["applicant", "respondent"]


class CaseIn(BaseModel):
    dispute_type: DisputeType
    summary: Annotated[CleanStr, Field(min_length=2, max_length=4000)]
    mediator_member_id: DbId
    report_id: DbId | None = None
    parties: Annotated[list[PartyIn], Field(min_length=1, max_length=20)]


class SessionIn(BaseModel):
    held_at: UtcDatetime
    note: Annotated[CleanStr, Field(max_length=4000)] = ""


class OutcomeIn(BaseModel):
    outcome: Literal["agreement", "escalated"]
    note: Annotated[CleanStr, Field(max_length=4000)] = ""


class PartyOut(BaseModel):
    name: str
    phone: str | None
    id_number: str | None
    side: str


class SessionOut(BaseModel):
    held_at: UtcDatetime
    note: str


class CaseOut(BaseModel):
    id: int
    dispute_type: str
    summary: str
    district_id: int
    unit_id: int
    mediator_member_id: int
    report_id: int | None
    status: str
    outcome_note: str
    opened_at: datetime
    closed_at: datetime | None
    parties: list[PartyOut]
    sessions: list[SessionOut]


class StatsRow(BaseModel):
    dispute_type: str
    open: int
    agreement: int
    escalated: int
    agreement_rate: float | None  # agreements over closed cases
