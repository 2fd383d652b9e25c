"""Shapes of hazard reports, their workflow and hotspots in the API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from jiefang.schemas import CleanStr, DbId

Category = Literal[
    "fire_hazard", "public_order", "suspicious", "dispute", "fraud", "traffic", "facility_damage", "other"
]
CATEGORIES: dict[str, tuple[str, str]] = {  # code: (中文, English)
    "fire_hazard": ("消防隐患", "Fire hazard"),
    "public_order": ("治安隐患", "Public-order risk"),
    "suspicious": ("可疑人员/车辆", "Suspicious person or vehicle"),
    "dispute": ("矛盾纠纷", "Dispute"),
    "fraud": ("诈骗线索", "Fraud or scam"),
    "traffic": ("交通隐患", "Traffic hazard"),
    "facility_damage": ("设施损坏", "Facility damage"),
    "other": ("其他", "Other"),
}
# Categories whose reports count together when looking for hotspots (related signals).
CATEGORY_GROUPS: dict[str, str] = {
    "fire_hazard": "safety",
    "facility_damage": "safety",
    "traffic": "safety",
    "public_order": "order",
    "suspicious": "order",
    "dispute": "order",
    "fraud": "fraud",
    "other": "other",
}
Status = Literal["new", "assigned", "in_progress", "resolved", "rejected"]
OPEN_STATUSES = ("new", "assigned", "in_progress")
# which status may follow which; rejected and resolved are final
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "new": ("assigned", "in_progress", "rejected"),
    "assigned": ("assigned", "in_progress", "resolved", "rejected"),
    "in_progress": ("resolved", "rejected"),
    "resolved": (),
    "rejected": (),
}
Lon = Annotated[float, Field(ge=-180, le=180)]
Lat = Annotated[float, Field(ge=-90, le=90)]
ReportText = Annotated[CleanStr, Field(max_length=2000)]


class ReportIn(BaseModel):
    """A new report; without lon/lat the position is read from the first photo's EXIF GPS."""

    category: Category
    text: ReportText = ""
    lon: Lon | None = None
    lat: Lat | None = None


class StatusIn(BaseModel):
    """Move a report on in its workflow; ``assignee_member_id`` names who handles it (assigned)."""

    status: Status
    note: Annotated[CleanStr, Field(max_length=1000)] = ""
    assignee_member_id: DbId | None = None


class PhotoOut(BaseModel):
    id: int
    url: str
    content_type: str
    width: int
    height: int
    size_bytes: int


class UpdateOut(BaseModel):
    at: datetime
    status: str
    note: str


class ReportOut(BaseModel):
    id: int
    category: str
    category_name: str
    text: str
    lon: float
    lat: float
    position_source: str
    channel: str
    status: str
    district_id: int | None
    street_id: int | None
    grid_id: int | None
    reporter_member_id: int | None
    assignee_member_id: int | None
    due_at: datetime | None
    overdue: bool
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    photos: list[PhotoOut]
    updates: list[UpdateOut]


class CategoryOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    group: str


class HotspotOut(BaseModel):
    id: int
    category_group: str
    cell: str
    lon: float
    lat: float
    radius_m: float
    district_id: int | None
    reports: int
    expected: float
    p_value: float
    report_ids: list[int]
    detected_at: datetime
    updated_at: datetime
    status: str
