"""H3 hexagonal cells over area polygons, and which polygon each point falls in (pure).

Resolution 9 cells are about 0.105 km² (edge ≈ 174 m): fine enough that a cell's centre stands
for the whole cell when travel times are counted in minutes, coarse enough that the 7,434 km²
city is ~70,000 cells.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import h3
import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from jiefang.errors import InvalidInput

DEFAULT_RESOLUTION = 9


@dataclass(frozen=True)
class HexCells:
    """Cells of one resolution, column by column; ``cell`` holds the H3 indexes as strings."""

    cell: NDArray[np.str_]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    area_km2: NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.cell.size)

    def subset(self, keep: NDArray[np.bool_] | NDArray[np.intp]) -> HexCells:
        """Return the cells selected by a mask or index array."""
        return HexCells(self.cell[keep], self.lon[keep], self.lat[keep], self.area_km2[keep])


def cells_covering(geoms: Sequence[BaseGeometry], resolution: int = DEFAULT_RESOLUTION) -> HexCells:
    """Return the cells whose centres fall inside any of ``geoms`` (WGS84), sorted by index.

    Raises InvalidInput for a resolution outside 0..15.
    """
    if not 0 <= resolution <= 15:
        raise InvalidInput(f"H3 resolution must be 0..15, got {resolution}")
    found: set[str] = set()
    for geom in geoms:
        found.update(h3.geo_to_cells(geom.__geo_interface__, resolution))
    cells = np.array(sorted(found), dtype=str)
    centres = np.array([h3.cell_to_latlng(c) for c in cells], dtype=np.float64).reshape(-1, 2)
    areas = np.array([h3.cell_area(c, unit="km^2") for c in cells], dtype=np.float64)
    return HexCells(cell=cells, lon=centres[:, 1].copy(), lat=centres[:, 0].copy(), area_km2=areas)


def locate_points(
    lon: NDArray[np.float64], lat: NDArray[np.float64], geoms: Sequence[BaseGeometry]
) -> NDArray[np.int64]:
    """Return for each point the index in ``geoms`` of a polygon containing it, or -1 if none.

    Where polygons overlap (they should not), the lowest index wins.
    """
    out = np.full(np.asarray(lon).size, -1, dtype=np.int64)
    if out.size == 0 or len(geoms) == 0:
        return out
    tree = shapely.STRtree(list(geoms))
    points = shapely.points(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
    point_idx, geom_idx = tree.query(points, predicate="intersects")
    order = np.lexsort((-geom_idx, point_idx))  # within a point, the lowest polygon index last
    out[point_idx[order]] = geom_idx[order]
    return out


def cell_boundaries(cells: Sequence[str]) -> list[list[list[float]]]:
    """Return each cell's boundary as a ring of [lat, lon] pairs, rounded to 6 decimals (~0.1 m)."""
    return [[[round(a, 6), round(b, 6)] for a, b in h3.cell_to_boundary(c)] for c in cells]


def aggregate_points(
    cells: HexCells,
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    value: NDArray[np.float64] | None = None,
    resolution: int = DEFAULT_RESOLUTION,
) -> NDArray[np.float64]:
    """Return the sum of ``value`` (1 per point by default) of the points falling in each cell.

    Points outside every cell are dropped. Used for demand weight from incidents or a population file.
    """
    lon_a, lat_a = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    vals = np.ones(lon_a.size) if value is None else np.asarray(value, dtype=np.float64)
    if lon_a.size == 0:
        return np.zeros(len(cells))
    of_point = np.array([h3.latlng_to_cell(b, a, resolution) for a, b in zip(lon_a, lat_a, strict=True)], dtype=str)
    pos = np.searchsorted(cells.cell, of_point)
    pos = np.clip(pos, 0, max(len(cells) - 1, 0))
    hit = cells.cell[pos] == of_point
    return np.bincount(pos[hit], weights=vals[hit], minlength=len(cells)).astype(np.float64)
