"""Validation of polygon input: GeoJSON geometry in, a valid shapely (Multi)Polygon out."""

from __future__ import annotations

import json
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from jiefang.errors import InvalidInput

MAX_VERTICES = 200_000


def parse_polygon(geometry: dict[str, Any] | str, what: str = "geometry") -> BaseGeometry:
    """Return a valid WGS84 Polygon/MultiPolygon from a GeoJSON geometry object or string.

    Raises InvalidInput naming ``what`` when the type is wrong, a coordinate is out of range,
    the geometry is too large, empty, or self-intersecting.
    """
    if isinstance(geometry, str):
        try:
            geometry = json.loads(geometry)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{what}: not JSON ({exc.msg})") from exc
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        got = geometry.get("type") if isinstance(geometry, dict) else type(geometry).__name__
        raise InvalidInput(f"{what}: expected a Polygon or MultiPolygon, got {got!r}")
    try:
        geom = shape(geometry)
    except (ValueError, TypeError, IndexError, AttributeError) as exc:
        raise InvalidInput(f"{what}: malformed coordinates ({exc})") from exc
    if geom.is_empty:
        raise InvalidInput(f"{what}: empty polygon")
    n = shapely.get_num_coordinates(geom)
    if n > MAX_VERTICES:
        raise InvalidInput(f"{what}: {n} vertices, more than the limit of {MAX_VERTICES}")
    min_lon, min_lat, max_lon, max_lat = geom.bounds
    if not (-180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
        raise InvalidInput(f"{what}: coordinates out of WGS84 range (lon -180..180, lat -90..90)")
    if shapely.has_z(geom):
        geom = shapely.force_2d(geom)
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        raise InvalidInput(f"{what}: invalid polygon ({reason})")
    return geom
