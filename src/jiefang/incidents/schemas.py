"""Request and response shapes for incidents, alerts, alarm devices and compliance."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from jiefang.duty.schemas import Lat, Lon
from jiefang.schemas import CleanStr, DbId

TypeKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
Text200 = Annotated[CleanStr, StringConstraints(strip_whitespace=True, max_length=200)]
Text2000 = Annotated[CleanStr, StringConstraints(strip_whitespace=True, max_length=2000)]


class IncidentIn(BaseModel):
    """An incident reported at the console or by an external system."""

    model_config = ConfigDict(extra="forbid")

    type: TypeKey = Field(description="incident type: a playbook's key, e.g. fire, medical")
    severity: int | None = Field(None, ge=1, le=4, description="1 most severe; the playbook's default if omitted")
    lon: Lon
    lat: Lat
    address: Text200 | None = None
    description: Text2000 | None = None
    unit_id: DbId | None = Field(None, description="the unit whose site it is; found from the position if omitted")


class SosIn(BaseModel):
    """One-tap SOS from a member's phone: where they are, and optionally what it is."""

    model_config = ConfigDict(extra="forbid")

    lon: Lon
    lat: Lat
    accuracy_m: float | None = Field(None, ge=0, le=5000, allow_inf_nan=False)
    type: TypeKey = "public_order"
    description: Text2000 | None = None


class IncidentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    type: str
    severity: int
    status: str
    source: str
    lon: float
    lat: float
    address: str | None
    description: str | None
    unit_id: int | None
    district_id: int | None
    street_id: int | None
    grid_id: int | None
    police_handover: bool
    drill: bool = False  # 演练: a readiness drill, never a real incident
    reported_at: datetime
    on_scene_at: datetime | None
    closed_at: datetime | None
    outcome_notes: str | None


class AssignmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    incident_id: int
    member_id: int
    unit_id: int
    tier: str
    wave: int
    status: str
    distance_m: float
    eta_s: float
    alerted_at: datetime
    answer_by: datetime | None
    answered_at: datetime | None
    arrived_at: datetime | None
    notified: str
    member_name: str | None = Field(None, description="filled in an incident's detail")
    unit_name: str | None = None
    drill: bool = False  # the alert of a readiness drill (演练)


class TierOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    tier: str
    needed: int
    radius_m: float
    deadline_at: datetime
    status: str
    escalations: int


class TimelineOut(BaseModel):
    at: datetime
    kind: str
    account_id: int | None
    member_id: int | None
    detail: dict[str, Any]


class TierCompliance(BaseModel):
    """Whether a tier met its 1-3-5 deadline."""

    tier: str
    deadline_s: int
    needed: int
    on_scene_in_time: int
    first_action_s: float | None = Field(description="seconds from report to the tier's first accept or arrival")
    passed: bool


class IncidentDetail(IncidentOut):
    tiers: list[TierOut]
    assignments: list[AssignmentOut]
    timeline: list[TimelineOut]
    compliance: list[TierCompliance]


class CloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal["resolved", "false_alarm", "handed_to_police"]
    notes: Text2000 | None = None


class IncidentCreated(IncidentOut):
    created: bool = Field(description="false when the idempotency key named an incident already taken")


class DeviceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    device_key: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
    unit_id: DbId
    kind: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")] = "panic_button"
    lon: Lon
    lat: Lat
    incident_type: TypeKey = "public_order"


class DeviceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    device_key: str
    unit_id: int
    kind: str
    lon: float
    lat: float
    incident_type: str
    active: bool


class NoteIn(BaseModel):
    """A line of the incident's chat (现场沟通): what a responder or an operator wants the others to know."""

    model_config = ConfigDict(extra="forbid")

    text: Annotated[CleanStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


class NoteOut(BaseModel):
    id: int
    incident_id: int
    author: str
    text: str
    at: datetime


class ResponderIn(BaseModel):
    """An operator alerts a chosen member on duty for one tier."""

    model_config = ConfigDict(extra="forbid")

    member_id: DbId
    tier: Literal["self_rescue", "mutual_aid", "reinforcement"] = "mutual_aid"


class IncidentTypeOut(BaseModel):
    """An incident type the platform dispatches, with its 1-3-5 tiers (from its playbook)."""

    type: str
    name_zh: str
    name_en: str
    default_severity: int
    arrival_radius_m: float
    tiers: list[dict[str, Any]]
