"""Synthetic streets and grids inside Guangzhou's real district boundaries (pure geometry).

Streets (街道/镇), comprehensive grids (综合网格) and police grids (警务网格) are Voronoi cells of
seed points drawn from a population-density surface, clipped to their parent polygon, so each
level nests in the one above and covers it without gaps. Construction happens in metres
(``CITY_PROJECTION``); the layers handed out are in WGS84 degrees.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

import numpy as np
import shapely
from numpy.typing import NDArray

from jiefang.areas.guangzhou import BY_CODE, GUANGZHOU_DISTRICTS
from jiefang.geo.projection import LocalProjection
from jiefang.simulation.city_names import place_names

Progress = Callable[[str, int, int], None]

CITY_PROJECTION = LocalProjection(lon0=113.5, lat0=23.25)

# Population centres per district: (lon, lat, weight, sigma_km). Approximate positions of the
# main commercial and town centres (e.g. 天河 珠江新城/体育中心, 从化 街口, 增城 荔城/新塘);
# weights and spreads are judgement, chosen so the old core is dense and the north is sparse.
CENTRES: dict[str, tuple[tuple[float, float, float, float], ...]] = {
    "440103": ((113.245, 23.120, 3.0, 1.2), (113.235, 23.085, 2.0, 1.5), (113.245, 23.148, 1.5, 1.0)),
    "440104": ((113.270, 23.125, 3.0, 1.0), (113.295, 23.135, 2.0, 1.0), (113.262, 23.145, 2.0, 1.0)),
    "440105": ((113.268, 23.100, 3.0, 1.2), (113.320, 23.095, 2.5, 1.5), (113.365, 23.100, 1.5, 1.5)),
    "440106": (
        (113.325, 23.120, 3.0, 1.2), (113.325, 23.142, 3.0, 1.0), (113.345, 23.133, 2.0, 1.0),
        (113.395, 23.125, 2.0, 1.5), (113.370, 23.195, 1.0, 1.5),
    ),
    "440111": (
        (113.320, 23.185, 2.0, 1.5), (113.270, 23.180, 2.5, 1.5), (113.285, 23.230, 1.5, 2.0),
        (113.400, 23.380, 0.6, 2.5), (113.350, 23.320, 0.6, 2.5), (113.220, 23.300, 0.6, 2.5),
    ),
    "440112": (
        (113.455, 23.105, 2.0, 1.5), (113.450, 23.170, 2.0, 2.0), (113.500, 23.370, 0.8, 2.5),
        (113.540, 23.210, 0.8, 2.0),
    ),
    "440113": (
        (113.360, 22.940, 3.0, 2.0), (113.300, 23.020, 2.0, 1.5), (113.385, 23.055, 1.5, 2.0),
        (113.500, 22.950, 0.6, 2.5),
    ),
    "440114": (
        (113.220, 23.400, 3.0, 2.5), (113.150, 23.460, 1.0, 2.5), (113.300, 23.420, 0.6, 3.0),
        (113.080, 23.330, 0.5, 2.5),
    ),
    "440115": (
        (113.550, 22.780, 2.0, 3.0), (113.520, 22.830, 1.0, 2.0), (113.460, 22.890, 1.0, 2.5),
        (113.550, 22.700, 0.4, 3.0),
    ),
    "440117": (
        (113.590, 23.550, 3.0, 2.5), (113.480, 23.450, 1.0, 3.0), (113.620, 23.640, 0.6, 3.0),
        (113.400, 23.630, 0.5, 3.0),
    ),
    "440118": (
        (113.830, 23.290, 2.5, 2.5), (113.610, 23.130, 3.0, 2.5), (113.650, 23.170, 1.0, 2.0),
        (113.620, 23.280, 0.5, 3.0), (113.800, 23.500, 0.3, 3.0),
    ),
}

# Towns (镇) among each outer district's street-level divisions (2020, approximate); the rest
# are streets (街道). The core four districts have streets only.
TOWNS: dict[str, int] = {
    "440111": 4, "440112": 1, "440113": 5, "440114": 6, "440115": 6, "440117": 5, "440118": 6,
}

# Share of seed points drawn uniformly over the district instead of around a centre.
BACKGROUND_STREETS = 0.35  # streets/towns: rural towns are large but exist everywhere
BACKGROUND_GRIDS = 0.10  # grids follow population (about one grid per 900 residents)
BACKGROUND_POLICE = 0.25
BACKGROUND_SITES = 0.06  # unit sites cluster even more than residents


@dataclass
class AreaLayer:
    """One level of the area hierarchy, column by column (WGS84 shapely geometries)."""

    level: str
    code: list[str]
    name: list[str]
    name_en: list[str | None]
    parent_code: list[str | None]
    district_code: list[str]
    geometry: NDArray[np.object_]

    def __len__(self) -> int:
        return len(self.code)

    def subset(self, keep: NDArray[np.bool_]) -> AreaLayer:
        """Return the areas where ``keep`` is true, in the same order."""
        rows = np.flatnonzero(keep).tolist()
        return AreaLayer(
            level=self.level,
            code=[self.code[i] for i in rows],
            name=[self.name[i] for i in rows],
            name_en=[self.name_en[i] for i in rows],
            parent_code=[self.parent_code[i] for i in rows],
            district_code=[self.district_code[i] for i in rows],
            geometry=self.geometry[rows],
        )


@dataclass(frozen=True)
class DensitySurface:
    """A Gaussian mixture of town centres plus a uniform background over one polygon (metres)."""

    region: shapely.Geometry
    centres_xy: NDArray[np.float64]
    weights: NDArray[np.float64]
    sigmas_m: NDArray[np.float64]

    def sample(self, rng: np.random.Generator, n: int, background: float) -> NDArray[np.float64]:
        """Return ``n`` points (x, y) inside the region, drawn by rejection from the mixture."""
        minx, miny, maxx, maxy = self.region.bounds
        chunks: list[NDArray[np.float64]] = []
        need = n
        while need > 0:
            m = max(64, 3 * need)
            comp = rng.choice(self.weights.size, size=m, p=self.weights)
            xy = self.centres_xy[comp] + rng.standard_normal((m, 2)) * self.sigmas_m[comp, None]
            uniform = rng.random(m) < background
            k = int(uniform.sum())
            xy[uniform] = np.column_stack((rng.uniform(minx, maxx, k), rng.uniform(miny, maxy, k)))
            inside = xy[shapely.contains_xy(self.region, xy[:, 0], xy[:, 1])][:need]
            chunks.append(inside)
            need -= len(inside)
        return np.concatenate(chunks) if chunks else np.empty((0, 2))


def allocate(total: int, weights: NDArray[np.float64], minimum: int = 0) -> NDArray[np.int64]:
    """Return integers summing to ``total``, proportional to ``weights``, each >= ``minimum``.

    Largest-remainder rounding. Raises ValueError if ``total`` cannot give every bucket its minimum.
    """
    w = np.asarray(weights, dtype=np.float64)
    spare = total - minimum * w.size
    if spare < 0:
        raise ValueError(f"cannot give {w.size} buckets at least {minimum} from {total}")
    exact = spare * w / w.sum()
    out = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - out), kind="stable")
    out[order[: spare - int(out.sum())]] += 1
    return out + minimum


def _polygonal(geoms: NDArray[np.object_]) -> NDArray[np.object_]:
    """Keep only the polygon parts of clipping results (drops stray lines and points)."""
    types = shapely.get_type_id(geoms)
    odd = np.flatnonzero((types != 3) & (types != 6))
    for i in odd:
        parts = [p for p in shapely.get_parts(geoms[i]) if p.geom_type in ("Polygon", "MultiPolygon")]
        geoms[i] = shapely.union_all(parts) if parts else shapely.Polygon()
    return geoms


def voronoi_cells(points_xy: NDArray[np.float64], region: shapely.Geometry) -> NDArray[np.object_]:
    """Return the Voronoi cell of each point (same order) clipped to ``region``."""
    if len(points_xy) == 1:
        return np.array([region], dtype=object)
    cells = shapely.voronoi_polygons(shapely.multipoints(points_xy), extend_to=region, ordered=True)
    return _polygonal(shapely.intersection(shapely.get_parts(cells), region))


def locate(
    points: NDArray[np.object_], tree: shapely.STRtree,
    allowed: NDArray[np.int64] | None = None, region_group: NDArray[np.int64] | None = None,
) -> NDArray[np.int64]:
    """Return, per point, the index of a region of ``tree`` holding it in its interior, or -1.

    With ``allowed`` and ``region_group``, a point only matches regions whose group equals
    ``allowed[point]`` (a unit only falls in grids of its own district).
    """
    pi, ri = tree.query(points, predicate="within")
    if allowed is not None and region_group is not None:
        keep = region_group[ri] == allowed[pi]
        pi, ri = pi[keep], ri[keep]
    found = np.full(len(points), -1, dtype=np.int64)
    found[pi[::-1]] = ri[::-1]  # the first match wins
    return found


def load_districts() -> tuple[list[str], NDArray[np.object_]]:
    """Return the 11 district codes (in ``GUANGZHOU_DISTRICTS`` order) and WGS84 geometries.

    Raises ValueError if the shipped file does not hold exactly the known districts.
    """
    text = resources.files("jiefang.areas").joinpath("data/guangzhou_districts.geojson").read_text(
        encoding="utf-8"
    )
    features = {f["properties"]["code"]: f["geometry"] for f in json.loads(text)["features"]}
    codes = [d.code for d in GUANGZHOU_DISTRICTS]
    if sorted(features) != sorted(codes):
        raise ValueError(f"district file holds {sorted(features)}, expected {sorted(codes)}")
    geoms = shapely.from_geojson([json.dumps(features[c]) for c in codes])
    return codes, np.asarray(geoms, dtype=object)


def density_surface(code: str, region_xy: shapely.Geometry) -> DensitySurface:
    """Return the population-density surface of district ``code`` over its projected polygon."""
    table = np.array(CENTRES[code], dtype=np.float64)
    x, y = CITY_PROJECTION.to_xy(table[:, 0], table[:, 1])
    shapely.prepare(region_xy)
    return DensitySurface(
        region=region_xy,
        centres_xy=np.column_stack((x, y)),
        weights=table[:, 2] / table[:, 2].sum(),
        sigmas_m=table[:, 3] * 1000.0,
    )


def to_lonlat(geoms: NDArray[np.object_]) -> NDArray[np.object_]:
    """Return projected geometries back in WGS84 degrees."""
    return shapely.transform(
        geoms, lambda c: np.column_stack(CITY_PROJECTION.to_lonlat(c[:, 0], c[:, 1]))
    )


def to_xy(geoms: NDArray[np.object_]) -> NDArray[np.object_]:
    """Return WGS84 geometries in ``CITY_PROJECTION`` metres."""
    return shapely.transform(geoms, lambda c: np.column_stack(CITY_PROJECTION.to_xy(c[:, 0], c[:, 1])))


@dataclass
class CityAreas:
    """The four area levels (WGS84) and each district's density surface (metres)."""

    districts: AreaLayer
    streets: AreaLayer
    grids: AreaLayer
    police_grids: AreaLayer
    surfaces: list[DensitySurface]


def _reading_order(points_xy: NDArray[np.float64]) -> NDArray[np.int64]:
    """Order points north to south, then west to east, so numbers read like a map."""
    return np.lexsort((points_xy[:, 0], -np.round(points_xy[:, 1], -2)))


def _street_layer(
    rng: np.random.Generator, codes: list[str], surfaces: list[DensitySurface],
    street_counts: NDArray[np.int64], progress: Progress,
) -> tuple[AreaLayer, NDArray[np.object_]]:
    """Return the street layer and its projected cells."""
    taken: set[str] = set()
    layer = AreaLayer("street", [], [], [], [], [], np.empty(0, dtype=object))
    cells_xy: list[shapely.Geometry] = []
    for d, code in enumerate(codes):
        fact, n = BY_CODE[code], int(street_counts[d])
        cells = voronoi_cells(surfaces[d].sample(rng, n, BACKGROUND_STREETS), surfaces[d].region)
        cells = cells[np.argsort(shapely.area(cells), kind="stable")]  # town-like cells last
        towns = round(TOWNS.get(code, 0) * n / fact.streets)
        words = place_names(rng, n, taken)
        for k in range(n):
            is_town = k >= n - towns
            number = k - (n - towns) + 101 if is_town else k + 1
            kind_zh, kind_en = ("镇", "town") if is_town else ("街道", "street")
            layer.code.append(f"{code}{number:03d}")
            layer.name.append(words[k] + kind_zh)
            layer.name_en.append(f"{fact.name_en} {kind_en} {number % 100}")
            layer.parent_code.append(code)
            layer.district_code.append(code)
        cells_xy.extend(cells)
        progress("streets", d + 1, len(codes))
    projected = np.array(cells_xy, dtype=object)
    layer.geometry = to_lonlat(projected)
    return layer, projected


def _grid_seeds(
    rng: np.random.Generator, surface: DensitySurface, cells: NDArray[np.object_], n: int
) -> list[NDArray[np.float64]]:
    """Return grid seed points per street cell, at least one in each, ``n`` in all."""
    pts = surface.sample(rng, n, BACKGROUND_GRIDS)
    tree = shapely.STRtree(cells)
    owner = locate(shapely.points(pts), tree)
    while (lost := np.flatnonzero(owner < 0)).size:  # on a cell boundary: draw again
        pts[lost] = surface.sample(rng, lost.size, BACKGROUND_GRIDS)
        owner[lost] = locate(shapely.points(pts[lost]), tree)
    for s in range(len(cells)):
        if not (owner == s).any():  # an empty street takes one seed from the fullest street
            richest = np.flatnonzero(owner == np.bincount(owner, minlength=len(cells)).argmax())[0]
            pts[richest] = shapely.get_coordinates(shapely.point_on_surface(cells[s]))[0]
            owner[richest] = s
    return [pts[owner == s] for s in range(len(cells))]


def _grid_layer(
    rng: np.random.Generator, streets: AreaLayer, streets_xy: NDArray[np.object_],
    surfaces: list[DensitySurface], codes: list[str], grid_counts: NDArray[np.int64],
    progress: Progress,
) -> AreaLayer:
    """Return the comprehensive-grid layer: Voronoi cells clipped to each street."""
    layer = AreaLayer("grid", [], [], [], [], [], np.empty(0, dtype=object))
    street_district = np.array([codes.index(c) for c in streets.district_code])
    cells_xy: list[NDArray[np.object_]] = []
    done = 0
    for d in range(len(codes)):
        members = np.flatnonzero(street_district == d)
        seeds = _grid_seeds(rng, surfaces[d], streets_xy[members], int(grid_counts[d]))
        for s, pts in zip(members, seeds, strict=True):
            pts = pts[_reading_order(pts)]
            cells_xy.append(voronoi_cells(pts, streets_xy[s]))
            for k in range(1, len(pts) + 1):
                layer.code.append(f"{streets.code[s]}G{k:04d}")
                layer.name.append(f"{streets.name[s]}第{k}网格")
                layer.name_en.append(f"{streets.name_en[s]} grid {k}")
                layer.parent_code.append(streets.code[s])
                layer.district_code.append(codes[d])
        done += len(members)
        progress("grids", done, len(streets))
    layer.geometry = to_lonlat(np.concatenate(cells_xy))
    return layer


def _police_layer(
    rng: np.random.Generator, codes: list[str], surfaces: list[DensitySurface],
    police_counts: NDArray[np.int64], progress: Progress,
) -> AreaLayer:
    """Return the police-grid layer: Voronoi cells clipped to each district."""
    layer = AreaLayer("police_grid", [], [], [], [], [], np.empty(0, dtype=object))
    cells_xy: list[NDArray[np.object_]] = []
    for d, code in enumerate(codes):
        fact = BY_CODE[code]
        pts = surfaces[d].sample(rng, int(police_counts[d]), BACKGROUND_POLICE)
        pts = pts[_reading_order(pts)]
        cells_xy.append(voronoi_cells(pts, surfaces[d].region))
        for k in range(1, len(pts) + 1):
            layer.code.append(f"{code}P{k:03d}")
            layer.name.append(f"{fact.name}警务网格{k:03d}")
            layer.name_en.append(f"{fact.name_en} police grid {k:03d}")
            layer.parent_code.append(code)
            layer.district_code.append(code)
        progress("police grids", d + 1, len(codes))
    layer.geometry = to_lonlat(np.concatenate(cells_xy))
    return layer


def build_areas(
    rng: np.random.Generator, street_fraction: float, n_grids: int, n_police: int,
    progress: Progress,
) -> CityAreas:
    """Return districts (real boundaries), streets, comprehensive grids and police grids.

    Grid and police-grid counts are shared among districts by resident population.
    Raises ValueError if there are fewer grids than streets.
    """
    codes, geoms = load_districts()
    facts = [BY_CODE[c] for c in codes]
    surfaces = [density_surface(c, g) for c, g in zip(codes, to_xy(geoms), strict=True)]
    progress("districts", len(codes), len(codes))
    districts = AreaLayer(
        "district", list(codes), [f.name for f in facts], [f.name_en for f in facts],
        [None] * len(codes), list(codes), geoms,
    )
    population = np.array([f.population_k for f in facts], dtype=np.float64)
    street_counts = np.array([max(1, round(f.streets * street_fraction)) for f in facts])
    if n_grids < street_counts.sum():
        raise ValueError(f"{n_grids} grids cannot cover {street_counts.sum()} streets")
    grid_counts = street_counts + allocate(n_grids - int(street_counts.sum()), population)
    police_counts = allocate(n_police, population, minimum=1)

    streets, streets_xy = _street_layer(rng, codes, surfaces, street_counts, progress)
    grids = _grid_layer(rng, streets, streets_xy, surfaces, codes, grid_counts, progress)
    police = _police_layer(rng, codes, surfaces, police_counts, progress)
    return CityAreas(districts, streets, grids, police, surfaces)


@dataclass
class Sites:
    """Unit sites: WGS84 position and the index of their district, street, grid and police grid."""

    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    district: NDArray[np.int64]
    street: NDArray[np.int64]
    grid: NDArray[np.int64]
    police_grid: NDArray[np.int64]


def place_sites(rng: np.random.Generator, areas: CityAreas, counts: NDArray[np.int64]) -> Sites:
    """Return ``counts[d]`` sites in each district ``d``, drawn from its density surface.

    Every site lies in the interior of its district, street, grid and police grid (WGS84);
    points that land on a boundary are drawn again.
    """
    codes = areas.districts.code
    street_index = {c: i for i, c in enumerate(areas.streets.code)}
    grid_street = np.array([street_index[str(c)] for c in areas.grids.parent_code])
    grid_group = np.array([codes.index(c) for c in areas.grids.district_code], dtype=np.int64)
    police_group = np.array([codes.index(c) for c in areas.police_grids.district_code])
    grid_tree = shapely.STRtree(areas.grids.geometry)
    police_tree = shapely.STRtree(areas.police_grids.geometry)
    for layer in (areas.districts, areas.streets):
        shapely.prepare(layer.geometry)

    district = np.repeat(np.arange(len(codes)), counts)
    xy = np.empty((district.size, 2))
    grid = np.full(district.size, -1, dtype=np.int64)
    police = np.full(district.size, -1, dtype=np.int64)
    lon, lat = np.empty(district.size), np.empty(district.size)
    todo = np.arange(district.size)
    while todo.size:
        for d in np.unique(district[todo]):
            rows = todo[district[todo] == d]
            xy[rows] = areas.surfaces[d].sample(rng, rows.size, BACKGROUND_SITES)
        lon[todo], lat[todo] = CITY_PROJECTION.to_lonlat(xy[todo, 0], xy[todo, 1])
        points = shapely.points(lon[todo], lat[todo])
        grid[todo] = locate(points, grid_tree, district[todo], grid_group)
        police[todo] = locate(points, police_tree, district[todo], police_group)
        found = todo[(grid[todo] >= 0) & (police[todo] >= 0)]
        # grids nest in streets and districts up to rounding: check the parents too
        inside = shapely.contains_xy(
            areas.districts.geometry[district[found]], lon[found], lat[found]
        ) & shapely.contains_xy(
            areas.streets.geometry[grid_street[grid[found]]], lon[found], lat[found]
        )
        todo = np.setdiff1d(todo, found[inside])
    return Sites(lon, lat, district, grid_street[grid], grid, police)
