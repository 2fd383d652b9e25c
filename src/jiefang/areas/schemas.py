"""Request and response shapes for areas."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Level = Literal["district", "street", "grid", "police_grid"]


class AreaRef(BaseModel):
    """A short reference to an area, embedded in other resources."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    name_en: str | None = None


class AreaOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    name_en: str | None
    level: Level
    parent_id: int | None
    district_id: int | None
    area_km2: float
    centroid_lon: float
    centroid_lat: float
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float


class ImportReport(BaseModel):
    created: int
    updated: int
