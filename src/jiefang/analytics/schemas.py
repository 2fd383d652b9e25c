"""Request and response shapes of coverage, placement and the governance index."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from jiefang.analytics.placement import Method

Weighting = Literal["uniform", "incidents", "population"]


class Shares(BaseModel):
    """Shares (0..1) within 1, 3 and 5 minutes, in this order."""

    area: list[float] = Field(description="share of area reached by the k-th nearest responder")
    weight: list[float] = Field(description="share of demand weight reached by the k-th nearest responder")
    unit_area: list[float] = Field(description="share of area within reach of the nearest unit site")


class AreaCoverage(BaseModel):
    """One district's or street's coverage, for the ranking and the gap list."""

    id: int
    code: str
    name: str
    name_en: str | None
    area_km2: float
    weight_share: list[float] = Field(description="demand share within 1/3/5 min (k-th responder)")
    unit_area_share: list[float] = Field(description="area share within 1/3/5 min of a unit site")
    uncovered_km2_3min: float = Field(description="area beyond 3 minutes of the k-th responder")


class CoverageOut(BaseModel):
    """Coverage of the city or one district at an hour (from rosters) or live (on-duty board)."""

    source: Literal["roster", "live"]
    at: datetime = Field(description="the moment whose on-duty responders were counted")
    hour: int | None
    k: int
    mode: str
    weighting: Weighting
    thresholds_s: list[float]
    district_id: int | None
    responders: int
    units: int = Field(description="active units in the scope (all units count for travel times)")
    cells: int
    shares: Shares
    grid_share: list[float] = Field(description="share of comprehensive grids whose centre is reached within 1/3/5 min")
    areas: list[AreaCoverage] = Field(description="districts (city view) or streets (district view), worst first")
    cell_ids: list[str] = Field(default_factory=list, description="H3 cells of the district view")
    unit_s: list[float | None] = Field(default_factory=list, description="seconds to the nearest unit per cell")
    responder_s: list[float | None] = Field(
        default_factory=list, description="seconds to the k-th nearest responder per cell; null if fewer than k"
    )


class CellsOut(BaseModel):
    """The H3 cells of one district with their boundaries, for drawing the hex map once."""

    district_id: int
    resolution: int
    cell_ids: list[str]
    boundaries: list[list[list[float]]] = Field(description="per cell a ring of [lat, lon]")


class PointIn(BaseModel):
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)


class PlacementIn(BaseModel):
    """Where to build K new units within 3 minutes of the most uncovered demand."""

    district_id: int | None = Field(default=None, description="limit demand and candidates to a district")
    k: int = Field(default=10, ge=1, le=2000)
    target_share: float | None = Field(
        default=None, ge=0, le=1, description="also find the fewest sites for this share"
    )
    candidates: list[PointIn] | None = Field(
        default=None, max_length=20_000, description="candidate sites; comprehensive-grid centres if omitted"
    )
    weighting: Weighting = "uniform"
    method: Method | None = Field(default=None, description="force milp or greedy; chosen by size if omitted")
    threshold_s: float = Field(default=180.0, gt=0, le=1800)


class SiteOut(BaseModel):
    lon: float
    lat: float
    gain: float = Field(description="demand weight this site newly covers, in the order picked")


class SetCoverOut(BaseModel):
    sites: int
    lower_bound: int
    share: float
    target_share: float
    reached: bool
    method: Method


class PlacementOut(BaseModel):
    method: Method
    optimal: bool
    gap: float = Field(description="(bound − achieved) ÷ bound; 0 when proved optimal")
    covered_weight: float
    upper_bound: float
    seconds: float
    candidates: int
    demand_cells: int
    before_share: float = Field(description="share of demand within the threshold of existing units")
    after_share: float
    sites: list[SiteOut]
    set_cover: SetCoverOut | None = None


class PartOut(BaseModel):
    key: str
    name: str
    name_en: str
    value: float | None = Field(description="0..1; null = no data, left out and the others re-weighted")
    weight: float
    effective_weight: float
    points: float = Field(description="effective_weight × value × 100; the parts add up to the score")
    detail: str = Field(description="the inputs behind the value, e.g. 123 / 456")


class IndexRow(BaseModel):
    area_id: int
    code: str
    name: str
    name_en: str | None
    level: str
    period: str
    score: float | None
    rank: int | None
    parts: list[PartOut]


class IndexOut(BaseModel):
    period: str
    level: str
    rows: list[IndexRow]


class HistoryPoint(BaseModel):
    period: str
    score: float | None


class IndexHistory(BaseModel):
    area_id: int
    name: str
    points: list[HistoryPoint]
