"""Areas: listing, GeoJSON export, import with validation, and locating a point."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import shapely
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from jiefang.areas.models import LEVELS, Area
from jiefang.areas.schemas import AreaOut, ImportReport
from jiefang.errors import InvalidInput, NotFound
from jiefang.geo.projection import LocalProjection
from jiefang.geo.validation import parse_polygon
from jiefang.pagination import paginate
from jiefang.schemas import BBox, Page, PageParams, printable

MAX_GEOJSON_FEATURES = 5_000
MAX_IMPORT_FEATURES = 50_000


def load_shipped_districts() -> dict[str, Any]:
    """Return Guangzhou's 11 district boundaries shipped with the package (WGS84 GeoJSON)."""
    text = resources.files("jiefang.areas").joinpath("data/guangzhou_districts.geojson").read_text(
        encoding="utf-8"
    )
    return json.loads(text)


def _filtered(
    level: str | None, district_id: int | None, bbox: BBox | None, q: str | None
) -> Select[Area]:
    stmt = select(Area)
    if level is not None:
        stmt = stmt.where(Area.level == level)
    if district_id is not None:
        stmt = stmt.where(Area.district_id == district_id)
    if bbox is not None:
        stmt = stmt.where(
            Area.max_lon >= bbox.min_lon,
            Area.min_lon <= bbox.max_lon,
            Area.max_lat >= bbox.min_lat,
            Area.min_lat <= bbox.max_lat,
        )
    if q:
        stmt = stmt.where(Area.name.contains(q) | Area.code.startswith(q))
    return stmt


def list_areas(
    session: Session,
    page: PageParams,
    level: str | None = None,
    district_id: int | None = None,
    bbox: BBox | None = None,
    q: str | None = None,
) -> Page[AreaOut]:
    """Return one page of areas matching the filters, ordered by code."""
    return paginate(session, _filtered(level, district_id, bbox, q), page, [Area.code], AreaOut.model_validate)


def get_area(session: Session, area_id: int) -> Area:
    """Return the area with ``area_id``; raises NotFound."""
    area = session.get(Area, area_id)
    if area is None:
        raise NotFound(f"area {area_id} not found")
    return area


def _feature(area: Area) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": area.id,
        "properties": {
            "id": area.id,
            "code": area.code,
            "name": area.name,
            "name_en": area.name_en,
            "level": area.level,
            "district_id": area.district_id,
            "parent_id": area.parent_id,
            "area_km2": round(area.area_km2, 4),
        },
        "geometry": json.loads(area.geometry),
    }


def areas_geojson(
    session: Session,
    level: str,
    bbox: BBox | None = None,
    district_id: int | None = None,
    limit: int | None = MAX_GEOJSON_FEATURES,
) -> dict[str, Any]:
    """Return a FeatureCollection of areas of ``level``.

    Raises InvalidInput when more than ``limit`` features match (ask for a smaller bbox).
    """
    stmt = _filtered(level, district_id, bbox, None)
    if limit is not None:
        total = session.scalar(stmt.with_only_columns(func.count(), maintain_column_froms=True)) or 0
        if total > limit:
            raise InvalidInput(
                f"{total} {level} areas match, more than {limit}: zoom in or narrow the bbox"
            )
    features = [_feature(a) for a in session.scalars(stmt.order_by(Area.code))]
    return {"type": "FeatureCollection", "features": features}


def _projection_for(geom: shapely.Geometry) -> LocalProjection:
    c = geom.centroid
    return LocalProjection(c.x, c.y)


def import_areas(
    session: Session, collection: dict[str, Any], default_level: str | None = None
) -> ImportReport:
    """Create or update areas (matched by code) from a GeoJSON FeatureCollection, all or nothing.

    Each feature needs properties ``code`` and ``name``, and ``level`` unless ``default_level`` is
    given; ``parent_code`` and ``name_en`` are optional. Parents may be in the same file or
    already stored. Raises InvalidInput naming the first bad features; nothing is written then.
    """
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        raise InvalidInput("expected a GeoJSON FeatureCollection")
    features = collection.get("features")
    if not isinstance(features, list) or not features:
        raise InvalidInput("the FeatureCollection has no features")
    if len(features) > MAX_IMPORT_FEATURES:
        raise InvalidInput(f"{len(features)} features, more than the limit of {MAX_IMPORT_FEATURES}")

    parsed, errors = _parse_features(features, default_level)
    if errors:
        raise InvalidInput(f"{len(errors)} invalid features: " + "; ".join(errors[:10]))

    by_code = {a.code: a for a in session.scalars(select(Area).where(Area.code.in_(list(parsed))))}
    created = updated = 0
    # parents before children: districts, streets, grids, police grids
    for code, (props, geom) in sorted(parsed.items(), key=lambda kv: LEVELS.index(kv[1][0]["level"])):
        area = by_code.get(code)
        if area is None:
            area = Area(code=code)
            session.add(area)
            by_code[code] = area
            created += 1
        else:
            updated += 1
        _fill(area, props, geom)
    session.flush()
    for code, (props, _geom) in sorted(parsed.items(), key=lambda kv: LEVELS.index(kv[1][0]["level"])):
        _link(session, by_code[code], props.get("parent_code"), by_code)
    session.commit()
    return ImportReport(created=created, updated=updated)


def _parse_features(
    features: list[Any], default_level: str | None
) -> tuple[dict[str, tuple[dict[str, Any], shapely.Geometry]], list[str]]:
    parsed: dict[str, tuple[dict[str, Any], shapely.Geometry]] = {}
    errors: list[str] = []
    for i, feat in enumerate(features):
        props = (feat or {}).get("properties") or {} if isinstance(feat, dict) else {}
        code = str(props.get("code") or "").strip()
        name = str(props.get("name") or "").strip()
        level = props.get("level") or default_level
        where = f"feature {i}" + (f" ({code})" if code else "")
        if not code or len(code) > 40:
            errors.append(f"{where}: property 'code' is required (at most 40 characters)")
            continue
        if not name or len(name) > 120:
            errors.append(f"{where}: property 'name' is required (at most 120 characters)")
            continue
        try:
            printable(code + name + str(props.get("name_en") or ""))
        except ValueError as exc:
            errors.append(f"{where}: code and names {exc}")
            continue
        if level not in LEVELS:
            errors.append(f"{where}: level must be one of {', '.join(LEVELS)}, got {level!r}")
            continue
        if code in parsed:
            errors.append(f"{where}: code {code} appears twice")
            continue
        try:
            geom = parse_polygon(feat.get("geometry"), where)
        except InvalidInput as exc:
            errors.append(exc.message)
            continue
        parsed[code] = ({**props, "code": code, "name": name, "level": level}, geom)
    return parsed, errors


def _fill(area: Area, props: dict[str, Any], geom: shapely.Geometry) -> None:
    area.name = props["name"]
    area.name_en = props.get("name_en") or None
    area.level = props["level"]
    area.geometry = shapely.to_geojson(geom)
    area.min_lon, area.min_lat, area.max_lon, area.max_lat = geom.bounds
    centroid = geom.point_on_surface() if not geom.contains(geom.centroid) else geom.centroid
    area.centroid_lon, area.centroid_lat = centroid.x, centroid.y
    area.area_km2 = _projection_for(geom).area_km2(geom)


def _link(session: Session, area: Area, parent_code: str | None, by_code: dict[str, Area]) -> None:
    if area.level == "district":
        area.parent_id, area.district_id = None, area.id
        return
    parent = by_code.get(parent_code) if parent_code else None
    if parent_code and parent is None:
        parent = session.scalar(select(Area).where(Area.code == parent_code))
        if parent is None:
            raise InvalidInput(f"area {area.code}: parent_code {parent_code} does not exist")
    if parent is None:
        district = locate_level(session, "district", area.centroid_lon, area.centroid_lat)
        parent = district
    area.parent_id = parent.id if parent else None
    area.district_id = (parent.district_id if parent else None)


def locate_level(session: Session, level: str, lon: float, lat: float) -> Area | None:
    """Return the area of ``level`` containing the point, or None."""
    candidates = session.scalars(
        select(Area).where(
            Area.level == level,
            Area.min_lon <= lon,
            Area.max_lon >= lon,
            Area.min_lat <= lat,
            Area.max_lat >= lat,
        )
    ).all()
    point = shapely.Point(lon, lat)
    return next((a for a in candidates if shapely.from_geojson(a.geometry).covers(point)), None)


def area_at(session: Session, level: str, lon: float, lat: float) -> dict[str, Any]:
    """Return the area of ``level`` containing the point as a GeoJSON Feature. Raises NotFound."""
    area = locate_level(session, level, lon, lat)
    if area is None:
        raise NotFound(f"no {level} contains ({lon}, {lat})")
    return _feature(area)


def locate(session: Session, lon: float, lat: float) -> dict[str, int | None]:
    """Return the ids of the district, street, grid and police grid containing the point."""
    found = {level: locate_level(session, level, lon, lat) for level in LEVELS}
    return {level: (area.id if area else None) for level, area in found.items()}


class AreaLocator:
    """Every area in memory behind one STRtree per level, for placing many points at once."""

    def __init__(self, session: Session) -> None:
        self._trees: dict[str, tuple[shapely.STRtree, list[int]]] = {}
        for level in LEVELS:
            rows = session.execute(select(Area.id, Area.geometry).where(Area.level == level)).all()
            geoms = shapely.from_geojson([g for _, g in rows]) if rows else []
            self._trees[level] = (shapely.STRtree(geoms), [i for i, _ in rows])

    def __call__(self, lon: float, lat: float) -> dict[str, int | None]:
        """Return the ids of the areas of each level containing the point (None where none)."""
        point = shapely.Point(lon, lat)
        out: dict[str, int | None] = {}
        for level, (tree, ids) in self._trees.items():
            hits = tree.query(point, predicate="covered_by")
            out[level] = ids[int(min(hits))] if len(hits) else None
        return out


def stats(session: Session) -> dict[str, int]:
    """Return counts of areas per level."""
    rows = session.execute(select(Area.level, func.count()).group_by(Area.level)).all()
    counts = dict.fromkeys(LEVELS, 0)
    counts.update({level: n for level, n in rows})
    return counts
