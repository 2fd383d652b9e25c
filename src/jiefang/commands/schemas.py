"""Request and response shapes of map selections and group commands."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from jiefang.duty.schemas import Lat, Lon
from jiefang.schemas import CleanStr, DbId
from jiefang.tracking.fences import MIN_RADIUS_M

MAX_SELECTION_RADIUS_M = 50_000.0
MAX_LISTED = 2000  # members or units listed one by one in a preview; the counts are always whole

Priority = Literal["normal", "urgent", "flash"]
CommandText = Annotated[CleanStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
ReplyText = Annotated[CleanStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class SelectionIn(BaseModel):
    """A map selection (地图圈选): a circle, a drawn polygon, or whole areas (grids, streets, districts)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["circle", "polygon", "areas"]
    center_lon: Lon | None = None
    center_lat: Lat | None = None
    radius_m: float | None = Field(None, ge=MIN_RADIUS_M, le=MAX_SELECTION_RADIUS_M, allow_inf_nan=False)
    polygon: dict[str, Any] | None = Field(None, description="GeoJSON Polygon or MultiPolygon, WGS84")
    area_ids: list[DbId] = Field(default_factory=list, max_length=200)
    skills: list[str] = Field(default_factory=list, max_length=20, description="only members with all of these")

    @model_validator(mode="after")
    def _complete(self) -> SelectionIn:
        given = {
            "circle": None not in (self.center_lon, self.center_lat, self.radius_m),
            "polygon": self.polygon is not None,
            "areas": bool(self.area_ids),
        }
        if not given[self.kind]:
            need = {"circle": "center_lon, center_lat and radius_m", "polygon": "polygon", "areas": "area_ids"}
            raise ValueError(f"a {self.kind} selection needs {need[self.kind]}")
        present = {
            "circle": any(v is not None for v in (self.center_lon, self.center_lat, self.radius_m)),
            "polygon": self.polygon is not None,
            "areas": bool(self.area_ids),
        }
        if any(present[kind] for kind in present if kind != self.kind):
            raise ValueError("give only the fields of the selection's kind")
        return self


class SelectedMember(BaseModel):
    member_id: int
    name: str
    unit_id: int
    unit_name: str
    skills: list[str]
    lon: float
    lat: float


class SelectionOut(BaseModel):
    """What a selection holds: units by category and members on duty by skill (no personal data)."""

    area_km2: float
    units: int
    units_by_category: dict[str, int]
    unit_ids: list[int] = Field(description=f"at most {MAX_LISTED}")
    members: int = Field(description="members on duty inside the selection now")
    members_by_skill: dict[str, int]
    member_list: list[SelectedMember] = Field(description=f"nearest the centre first, at most {MAX_LISTED}")


class CommandIn(BaseModel):
    """A group command (群指令) to the members on duty inside a selection."""

    model_config = ConfigDict(extra="forbid")

    selection: SelectionIn
    text: CommandText
    priority: Priority = "normal"
    reply_required: bool = False


class CommandOut(BaseModel):
    id: int
    text: str
    priority: str
    reply_required: bool
    sender: str
    sent_at: datetime
    recipients: int
    delivered: int
    read: int
    replied: int


class ReceiptOut(BaseModel):
    member_id: int
    name: str
    unit_id: int
    unit_name: str
    delivered_at: datetime | None
    read_at: datetime | None
    reply: str | None
    replied_at: datetime | None


class CommandDetail(CommandOut):
    selection: dict[str, Any]
    receipts: list[ReceiptOut]


class InboxItem(BaseModel):
    """A command in a member's inbox, with where it stands for them."""

    id: int
    text: str
    priority: str
    reply_required: bool
    sender: str
    sent_at: datetime
    delivered_at: datetime | None
    read_at: datetime | None
    reply: str | None
    replied_at: datetime | None


class ReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: ReplyText
