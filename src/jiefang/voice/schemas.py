"""Request and response shapes of talk groups, transmissions and messages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

from jiefang.commands.schemas import SelectionIn
from jiefang.schemas import CleanStr, DbId


class TalkGroupOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    ref_id: int | None
    name: str
    district_id: int | None


class OpenGroupIn(BaseModel):
    """The talk group of a unit, team, grid or incident."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["unit", "team", "grid", "incident"]
    ref_id: DbId


class AdhocIn(BaseModel):
    """An ad-hoc talk group of the members on duty inside a map selection."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[CleanStr, StringConstraints(min_length=1, max_length=120)]
    selection: SelectionIn


class TransmissionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    group_id: int
    incident_id: int | None
    speaker: str
    mime: str
    started_at: datetime
    ended_at: datetime | None
    duration_ms: int | None
    bytes: int
    ended_reason: str | None


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    group_id: int
    author: str
    text: str
    at: datetime
