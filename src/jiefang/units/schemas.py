"""Request and response shapes for units, teams and equipment."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from jiefang.areas.schemas import AreaRef
from jiefang.schemas import CleanStr, DbId, PatchModel, SafeStr
from jiefang.units.vocab import CATEGORIES, EQUIPMENT

Category = Literal[
    "business_district", "scenic_spot", "key_target", "enterprise", "crowded_place",
    "community_public", "urban_village", "hotel", "shop", "market",
]
UnitStatus = Literal["active", "suspended", "disbanded"]
UnitCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{1,39}$")]
Name = Annotated[CleanStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
TeamName = Annotated[CleanStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
Lon = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
Lat = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]

assert set(Category.__args__) == set(CATEGORIES)  # type: ignore[attr-defined]


def _check_equipment(value: dict[str, int] | None) -> dict[str, int] | None:
    if value is None:
        return None
    unknown = sorted(set(value) - set(EQUIPMENT))
    if unknown:
        raise ValueError(f"unknown equipment kinds {unknown}; known: {sorted(EQUIPMENT)}")
    for kind, qty in value.items():
        if not 0 <= qty <= 10_000:
            raise ValueError(f"equipment {kind}: quantity must be between 0 and 10000")
    return value


class UnitCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: UnitCode
    name: Name
    category: Category
    lon: Lon
    lat: Lat
    address: SafeStr | None = Field(None, max_length=500)
    status: UnitStatus = "active"
    teams: list[TeamName] = Field(default_factory=list, max_length=50)
    equipment: dict[str, int] = Field(default_factory=dict)

    _equipment = field_validator("equipment")(_check_equipment)


class UnitUpdate(PatchModel):
    not_null = ("name", "category", "status", "lon", "lat", "equipment")

    name: Name | None = None
    category: Category | None = None
    status: UnitStatus | None = None
    lon: Lon | None = None
    lat: Lat | None = None
    address: SafeStr | None = Field(None, max_length=500)
    leader_member_id: DbId | None = None
    equipment: dict[str, int] | None = None

    _equipment = field_validator("equipment")(_check_equipment)


class TeamIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: TeamName


class TeamOut(BaseModel):
    id: int
    name: str
    member_count: int


class EquipmentOut(BaseModel):
    kind: str
    quantity: int


class LeaderOut(BaseModel):
    id: int
    name: str
    phone: str | None


class UnitBase(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    category: str
    status: str
    lon: float
    lat: float
    address: str | None


class UnitOut(UnitBase):
    """A unit in a list."""

    district_id: int
    street_id: int | None
    grid_id: int | None
    police_grid_id: int | None
    leader_member_id: int | None


class UnitDetail(UnitBase):
    """A unit with its areas, leader, teams and equipment."""

    district: AreaRef
    street: AreaRef | None
    grid: AreaRef | None
    police_grid: AreaRef | None
    leader: LeaderOut | None
    teams: list[TeamOut]
    equipment: list[EquipmentOut]
    member_count: int


class UnitImportReport(BaseModel):
    created: int
    updated: int
