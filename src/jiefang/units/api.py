"""HTTP routes for units and teams."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, UploadFile, status
from fastapi.responses import StreamingResponse

from jiefang.api.deps import (
    STAFF_ONLY,
    BBoxDep,
    IdPath,
    IdQuery,
    PageDep,
    PrincipalDep,
    SearchQuery,
    SessionDep,
    SettingsDep,
    require_roles,
)
from jiefang.api.uploads import read_text_upload
from jiefang.schemas import Page
from jiefang.units import io, service
from jiefang.units.schemas import (
    Category,
    TeamIn,
    TeamOut,
    UnitCreate,
    UnitDetail,
    UnitImportReport,
    UnitOut,
    UnitStatus,
    UnitUpdate,
)

router = APIRouter(prefix="/api", tags=["units"])
OPERATORS = require_roles("city_admin", "district_operator")


@router.get("/units", response_model=Page[UnitOut])
def list_units(
    session: SessionDep,
    _who: PrincipalDep,
    page: PageDep,
    bbox: BBoxDep,
    district_id: IdQuery = None,
    street_id: IdQuery = None,
    grid_id: IdQuery = None,
    category: Category | None = None,
    status: UnitStatus | None = None,
    q: SearchQuery = None,
) -> Page[UnitOut]:
    """Units filtered by district, street, grid, category, status, bounding box or name."""
    return service.list_units(
        session,
        page,
        district_id=district_id,
        street_id=street_id,
        grid_id=grid_id,
        category=category,
        status=status,
        bbox=bbox,
        q=q,
    )


@router.get("/units/points")
def unit_points(session: SessionDep, _who: PrincipalDep, district_id: IdQuery = None) -> dict[str, Any]:
    """Every unit as a compact row (id, lon, lat, category, status, name) for the map."""
    return service.unit_points(session, district_id)


def _export_scope(who: Any, district_id: int | None) -> int | None:
    return who.district_id if who.role == "district_operator" else district_id


@router.get(
    "/units/export.csv",
    dependencies=[OPERATORS],
    response_model=None,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "CSV, header first"}},
)
def export_units_csv(session: SessionDep, who: PrincipalDep, district_id: IdQuery = None) -> StreamingResponse:
    """Units as CSV (a district operator gets their own district)."""
    return StreamingResponse(
        io.export_csv(session, _export_scope(who, district_id)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="units.csv"'},
    )


@router.get("/units/export.geojson", dependencies=[OPERATORS])
def export_units_geojson(session: SessionDep, who: PrincipalDep, district_id: IdQuery = None) -> dict[str, Any]:
    """Units as a GeoJSON FeatureCollection of points (a district operator gets their own district)."""
    return io.export_geojson(session, _export_scope(who, district_id))


@router.post("/units/import", response_model=UnitImportReport, dependencies=[OPERATORS])
async def import_units(
    session: SessionDep,
    who: PrincipalDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="CSV or GeoJSON of units")],
    format: Literal["csv", "geojson"] = "csv",
) -> UnitImportReport:
    """Create or update units by code; all or nothing."""
    text = await read_text_upload(file, settings.max_upload_bytes)
    return io.import_units(session, who, text, format)


@router.get("/units/{unit_id}", response_model=UnitDetail)
def get_unit(session: SessionDep, who: PrincipalDep, unit_id: IdPath) -> UnitDetail:
    return service.unit_detail(session, who, unit_id)


@router.post("/units", response_model=UnitDetail, status_code=status.HTTP_201_CREATED, dependencies=[OPERATORS])
def create_unit(session: SessionDep, who: PrincipalDep, data: UnitCreate) -> UnitDetail:
    unit = service.create_unit(session, who, data)
    return service.unit_detail(session, who, unit.id)


@router.patch("/units/{unit_id}", response_model=UnitDetail, dependencies=[STAFF_ONLY])
def update_unit(session: SessionDep, who: PrincipalDep, unit_id: IdPath, data: UnitUpdate) -> UnitDetail:
    service.update_unit(session, who, unit_id, data)
    return service.unit_detail(session, who, unit_id)


@router.post("/units/{unit_id}/teams", response_model=TeamOut, status_code=status.HTTP_201_CREATED,
             dependencies=[STAFF_ONLY])
def add_team(session: SessionDep, who: PrincipalDep, unit_id: IdPath, data: TeamIn) -> TeamOut:
    team = service.add_team(session, who, unit_id, data)
    return TeamOut(id=team.id, name=team.name, member_count=0)


@router.patch("/teams/{team_id}", response_model=TeamOut, dependencies=[STAFF_ONLY])
def rename_team(session: SessionDep, who: PrincipalDep, team_id: IdPath, data: TeamIn) -> TeamOut:
    team = service.rename_team(session, who, team_id, data)
    detail = service.unit_detail(session, who, team.unit_id)
    return next(t for t in detail.teams if t.id == team.id)


@router.delete("/teams/{team_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_team(session: SessionDep, who: PrincipalDep, team_id: IdPath) -> None:
    service.delete_team(session, who, team_id)
