"""HTTP routes for areas."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, UploadFile

from jiefang.api.deps import (
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
from jiefang.api.uploads import read_json_upload
from jiefang.areas import service
from jiefang.areas.schemas import AreaOut, ImportReport, Level
from jiefang.duty.schemas import Lat, Lon
from jiefang.schemas import Page

router = APIRouter(prefix="/api/areas", tags=["areas"])


@router.get("", response_model=Page[AreaOut])
def list_areas(
    session: SessionDep,
    _who: PrincipalDep,
    page: PageDep,
    bbox: BBoxDep,
    level: Level | None = None,
    district_id: IdQuery = None,
    q: SearchQuery = None,
) -> Page[AreaOut]:
    """Areas of every level, filtered by level, district, bounding box or name."""
    return service.list_areas(session, page, level=level, district_id=district_id, bbox=bbox, q=q)


@router.get("/geojson")
def areas_geojson(
    session: SessionDep,
    _who: PrincipalDep,
    bbox: BBoxDep,
    level: Level = "district",
    district_id: IdQuery = None,
) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of one level (at most 5,000 features: narrow with bbox)."""
    return service.areas_geojson(session, level, bbox=bbox, district_id=district_id)


@router.get("/at")
def area_at(session: SessionDep, _who: PrincipalDep, lon: Lon, lat: Lat, level: Level = "grid") -> dict[str, Any]:
    """The area of a level containing a point, as a GeoJSON Feature (picking areas on the map)."""
    return service.area_at(session, level, lon, lat)


@router.get("/{area_id}", response_model=AreaOut)
def get_area(session: SessionDep, _who: PrincipalDep, area_id: IdPath) -> AreaOut:
    return AreaOut.model_validate(service.get_area(session, area_id))


@router.post("/import", response_model=ImportReport, dependencies=[require_roles("city_admin")])
async def import_areas(
    session: SessionDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="GeoJSON FeatureCollection")],
    level: Level | None = None,
) -> ImportReport:
    """Create or update areas by code from a GeoJSON file; all or nothing."""
    collection = await read_json_upload(file, settings.max_upload_bytes)
    return service.import_areas(session, collection, default_level=level)
