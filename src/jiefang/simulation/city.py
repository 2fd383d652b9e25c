"""A deterministic synthetic Guangzhou inside the real district boundaries (pure, no database).

``build_city`` draws streets, comprehensive grids and police grids as Voronoi partitions of the
11 real districts, then units on a population-density surface, then their teams, equipment and
members. The same ``seed`` and ``as_of`` always give the same city. Everything is held column
by column (lists and numpy arrays) so ``jiefang.simulation.seed`` can bulk-insert it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
from numpy.typing import NDArray

from jiefang.areas.guangzhou import BY_CODE
from jiefang.errors import InvalidInput
from jiefang.simulation.city_areas import (
    CITY_PROJECTION,
    AreaLayer,
    Progress,
    Sites,
    allocate,
    build_areas,
    place_sites,
)
from jiefang.simulation.city_members import MemberTable, build_members
from jiefang.simulation.city_units import (
    CATEGORY_KEYS,
    UnitTable,
    addresses,
    draw_categories,
    equipment,
    site_names,
    team_names,
    unit_sizes,
)

__all__ = [
    "CITY_PROJECTION", "SCALES", "AreaLayer", "MemberTable", "Scale", "SyntheticCity", "UnitTable",
    "build_city",
]


@dataclass(frozen=True)
class Scale:
    """How big a synthetic city is."""

    units: int
    members: int
    grids: int  # comprehensive grids (综合网格)
    police_grids: int  # police professional grids (警务专业网格)
    street_fraction: float  # share of each district's real street/town count, at least one


# "city" is Guangzhou's published scale; "small" is about 1/100 of it, still all 11 districts.
SCALES: dict[str, Scale] = {
    "small": Scale(units=230, members=2_270, grids=208, police_grids=18, street_fraction=0.125),
    "city": Scale(units=23_000, members=227_000, grids=20_849, police_grids=1_781, street_fraction=1.0),
}

# Units per resident in the old core (越秀/天河/海珠/荔湾) relative to elsewhere: more shops,
# offices and footfall per resident there.
CORE_BOOST = 1.6


@dataclass
class SyntheticCity:
    """A generated city: four area levels, units and members (see the module docstring)."""

    scale: str
    seed: int
    as_of: date
    districts: AreaLayer
    streets: AreaLayer
    grids: AreaLayer
    police_grids: AreaLayer
    units: UnitTable
    members: MemberTable

    @property
    def area_layers(self) -> tuple[AreaLayer, AreaLayer, AreaLayer, AreaLayer]:
        """Return the area levels parents first: districts, streets, grids, police grids."""
        return (self.districts, self.streets, self.grids, self.police_grids)


def _ignore_progress(stage: str, done: int, total: int) -> None:
    return None


def build_city(
    scale: str = "small",
    seed: int = 0,
    progress: Progress | None = None,
    *,
    as_of: date | None = None,
) -> SyntheticCity:
    """Return the synthetic city of ``scale`` ("small" or "city") for ``seed``.

    ``progress(stage, done, total)`` is called as each stage advances (districts, streets,
    grids, police grids, units, members). Ages and insurance expiry are relative to ``as_of``
    (today by default). Raises InvalidInput for an unknown scale.
    """
    if scale not in SCALES:
        raise InvalidInput(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
    params, report = SCALES[scale], progress or _ignore_progress
    as_of = as_of or date.today()
    rng = np.random.default_rng(seed)

    areas = build_areas(rng, params.street_fraction, params.grids, params.police_grids, report)
    facts = [BY_CODE[c] for c in areas.districts.code]
    core = np.array([f.core for f in facts])
    weight = np.array([f.population_k for f in facts], dtype=np.float64) * np.where(core, CORE_BOOST, 1.0)
    counts = allocate(params.units, weight)
    report("units", 0, params.units)
    sites = place_sites(rng, areas, counts)
    units, category = _units(rng, areas.districts, areas.streets, areas.grids,
                             areas.police_grids, sites, core, params.members)
    report("units", params.units, params.units)
    report("members", 0, params.members)
    members = build_members(rng, units, category, as_of)
    report("members", params.members, params.members)
    return SyntheticCity(
        scale=scale, seed=seed, as_of=as_of, districts=areas.districts, streets=areas.streets,
        grids=areas.grids, police_grids=areas.police_grids, units=units, members=members,
    )


def _units(
    rng: np.random.Generator, districts: AreaLayer, streets: AreaLayer, grids: AreaLayer,
    police_grids: AreaLayer, sites: Sites, core: NDArray[np.bool_], n_members: int,
) -> tuple[UnitTable, NDArray[np.int64]]:
    """Return the unit table for ``sites`` and each unit's category index."""
    category = draw_categories(rng, core[sites.district])
    sizes = unit_sizes(rng, category, n_members)
    district_names = [districts.name[d] for d in sites.district]
    names, words = site_names(rng, category, district_names)
    starts = np.concatenate(([0], np.cumsum(np.bincount(sites.district, minlength=len(districts)))))
    number = np.arange(sites.district.size) - starts[sites.district] + 1
    member_start = np.cumsum(sizes) - sizes
    table = UnitTable(
        code=[f"GZ-{districts.code[d]}-{k:05d}" for d, k in zip(sites.district, number, strict=True)],
        name=names,
        category=[CATEGORY_KEYS[c] for c in category],
        lon=sites.lon,
        lat=sites.lat,
        address=addresses(rng, category, words, district_names, streets.name, sites.street,
                          len(streets)),
        district_code=[districts.code[d] for d in sites.district],
        street_code=[streets.code[s] for s in sites.street],
        grid_code=[grids.code[g] for g in sites.grid],
        police_grid_code=[police_grids.code[p] for p in sites.police_grid],
        teams=team_names(category, sizes),
        equipment=equipment(rng, category, sizes),
        size=sizes,
        member_start=member_start,
        leader=member_start.copy(),
    )
    return table, category
