"""The city's H3 cells and the district and street each lies in, built from the areas table and cached.

Building the ~72,000 cells of the city and locating them takes about a second: ``CellCache`` does
it once per process and again only when the areas change. It also holds the road graph, read once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from numpy.typing import NDArray
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiefang.analytics.hexgrid import DEFAULT_RESOLUTION, HexCells, cells_covering, locate_points
from jiefang.analytics.roads import RoadGraph
from jiefang.areas.models import Area
from jiefang.errors import NotFound


@dataclass(frozen=True)
class AreaRef:
    id: int
    code: str
    name: str
    name_en: str | None
    area_km2: float


@dataclass(frozen=True)
class CityCells:
    """The city's cells and the district and street (indexes into the lists) each lies in."""

    cells: HexCells
    districts: list[AreaRef]
    streets: list[AreaRef]
    district_of: NDArray[np.int64]
    street_of: NDArray[np.int64]
    street_district: NDArray[np.int64]  # district index of each street
    grid_lon: NDArray[np.float64]
    grid_lat: NDArray[np.float64]
    grid_district: NDArray[np.int64]

    def district_index(self, district_id: int) -> int:
        """Return the index of district ``district_id``. Raises NotFound if it is not a district."""
        for i, d in enumerate(self.districts):
            if d.id == district_id:
                return i
        raise NotFound(f"no district with id {district_id}")


def _refs_and_geoms(session: Session, level: str) -> tuple[list[AreaRef], list[shapely.Geometry], list[int | None]]:
    rows = session.execute(
        select(Area.id, Area.code, Area.name, Area.name_en, Area.area_km2, Area.geometry, Area.district_id)
        .where(Area.level == level)
        .order_by(Area.code)
    ).all()
    refs = [AreaRef(r.id, r.code, r.name, r.name_en, r.area_km2) for r in rows]
    geoms = list(shapely.from_geojson([r.geometry for r in rows])) if rows else []
    return refs, geoms, [r.district_id for r in rows]


def build_city_cells(session: Session, resolution: int = DEFAULT_RESOLUTION) -> CityCells:
    """Return the cells of every district in the database and where each lies. Raises NotFound without districts."""
    districts, d_geoms, _ = _refs_and_geoms(session, "district")
    if not districts:
        raise NotFound("no districts loaded: import areas first")
    streets, s_geoms, s_district = _refs_and_geoms(session, "street")
    cells = cells_covering(d_geoms, resolution)
    index_of = {d.id: i for i, d in enumerate(districts)}
    grids = session.execute(
        select(Area.centroid_lon, Area.centroid_lat, Area.district_id).where(Area.level == "grid")
    ).all()
    return CityCells(
        cells=cells,
        districts=districts,
        streets=streets,
        district_of=locate_points(cells.lon, cells.lat, d_geoms),
        street_of=locate_points(cells.lon, cells.lat, s_geoms),
        street_district=np.array([index_of.get(d, -1) if d else -1 for d in s_district], dtype=np.int64),
        grid_lon=np.array([g[0] for g in grids], dtype=np.float64),
        grid_lat=np.array([g[1] for g in grids], dtype=np.float64),
        grid_district=np.array([index_of.get(g[2], -1) if g[2] else -1 for g in grids], dtype=np.int64),
    )


class CellCache:
    """The city's cells, built once per process and rebuilt when the areas table changes."""

    def __init__(self, resolution: int = DEFAULT_RESOLUTION) -> None:
        self.resolution = resolution
        self._lock = threading.Lock()
        self._key: tuple[object, ...] | None = None
        self._value: CityCells | None = None
        self._roads: tuple[tuple[str, int | None], RoadGraph] | None = None

    def road_graph(self, path: Path) -> RoadGraph:
        """Return the road graph stored at ``path``, read again only when the file changes."""
        key = (str(path), Path(path).stat().st_mtime_ns if Path(path).exists() else None)
        with self._lock:
            if self._roads is None or self._roads[0] != key:
                self._roads = (key, RoadGraph.load(path))
            return self._roads[1]

    def get(self, session: Session) -> CityCells:
        """Return the city's cells for the areas now in the database."""
        key = tuple(session.execute(select(func.count(Area.id), func.max(Area.updated_at))).one())
        with self._lock:
            if self._value is None or key != self._key:
                self._value = build_city_cells(session, self.resolution)
                self._key = key
            return self._value
