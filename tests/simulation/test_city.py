"""The synthetic city: determinism, nesting of areas, realism of units and members."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

import numpy as np
import pytest
import shapely

from jiefang.areas.guangzhou import BY_CODE, GUANGZHOU_DISTRICTS
from jiefang.errors import InvalidInput
from jiefang.people.idcard import id_check_digit
from jiefang.people.vocab import MEMBER_ROLES, SKILLS
from jiefang.simulation.city import (
    CITY_PROJECTION,
    SCALES,
    AreaLayer,
    SyntheticCity,
    build_city,
)
from jiefang.units.vocab import CATEGORIES, EQUIPMENT

AS_OF = date(2025, 6, 1)


@pytest.fixture(scope="module")
def city() -> SyntheticCity:
    return build_city("small", seed=7, as_of=AS_OF)


def _snapshot(city: SyntheticCity) -> dict[str, Any]:
    """Every generated value, comparable with ==."""
    out: dict[str, Any] = {}
    for layer in city.area_layers:
        for name in ("code", "name", "name_en", "parent_code", "district_code"):
            out[f"{layer.level}.{name}"] = getattr(layer, name)
        out[f"{layer.level}.wkb"] = list(shapely.to_wkb(layer.geometry))
    for table, prefix in ((city.units, "unit"), (city.members, "member")):
        for name, value in vars(table).items():
            out[f"{prefix}.{name}"] = value.tolist() if isinstance(value, np.ndarray) else value
    return out


def _by_code(layer: AreaLayer) -> dict[str, shapely.Geometry]:
    return dict(zip(layer.code, layer.geometry, strict=True))


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def test_same_seed_builds_identical_city(city: SyntheticCity) -> None:
    assert _snapshot(build_city("small", seed=7, as_of=AS_OF)) == _snapshot(city)


def test_different_seed_builds_different_city(city: SyntheticCity) -> None:
    other = build_city("small", seed=8, as_of=AS_OF)
    assert other.units.name != city.units.name
    assert not np.array_equal(other.units.lon, city.units.lon)
    assert other.members.id_number != city.members.id_number


def test_small_city_has_all_eleven_real_districts(city: SyntheticCity) -> None:
    assert city.districts.code == [d.code for d in GUANGZHOU_DISTRICTS]
    assert city.districts.name == [d.name for d in GUANGZHOU_DISTRICTS]
    total_km2 = sum(CITY_PROJECTION.area_km2(g) for g in city.districts.geometry)
    assert 7_300 < total_km2 < 7_500  # Guangzhou is 7,434 km²
    assert set(city.streets.district_code) == set(city.districts.code)


def test_small_scale_has_the_scale_counts_exactly(city: SyntheticCity) -> None:
    scale = SCALES["small"]
    assert len(city.units) == scale.units
    assert len(city.members) == scale.members
    assert int(city.units.size.sum()) == scale.members
    assert len(city.grids) == scale.grids
    assert len(city.police_grids) == scale.police_grids
    assert 11 <= len(city.streets) < sum(d.streets for d in GUANGZHOU_DISTRICTS)


def test_area_codes_are_unique_and_parents_exist(city: SyntheticCity) -> None:
    codes = [c for layer in city.area_layers for c in layer.code]
    assert len(codes) == len(set(codes))
    streets = dict(zip(city.streets.code, city.streets.district_code, strict=True))
    for parent, district in zip(city.grids.parent_code, city.grids.district_code, strict=True):
        assert streets[parent] == district
    assert set(city.police_grids.parent_code) <= set(city.districts.code)


def test_every_unit_lies_inside_its_grid_street_district_and_police_grid(
    city: SyntheticCity,
) -> None:
    u = city.units
    for layer, codes in (
        (city.districts, u.district_code),
        (city.streets, u.street_code),
        (city.grids, u.grid_code),
        (city.police_grids, u.police_grid_code),
    ):
        geoms = np.array([_by_code(layer)[c] for c in codes], dtype=object)
        assert shapely.contains_xy(geoms, u.lon, u.lat).all(), layer.level


def test_grids_nest_in_their_street_and_district_and_cover_it(city: SyntheticCity) -> None:
    districts, streets = _by_code(city.districts), _by_code(city.streets)
    for child, parents in ((city.grids, (streets, districts)), (city.streets, (districts,))):
        for code, parent_code, district_code, geom in zip(
            child.code, child.parent_code, child.district_code, child.geometry, strict=True
        ):
            for parent in parents:
                outer = parent[parent_code] if parent is streets else parent[district_code]
                assert geom.difference(outer).area <= 1e-9 * geom.area, code
    for level in (city.streets, city.grids, city.police_grids):
        for code, geom in districts.items():
            parts = level.geometry[np.array(level.district_code) == code]
            assert sum(shapely.area(parts)) == pytest.approx(geom.area, rel=1e-6)


def test_each_unit_has_exactly_one_leader_and_points_to_them(city: SyntheticCity) -> None:
    m, u = city.members, city.units
    roles = np.array(m.role)
    assert Counter(m.unit[roles == "leader"].tolist()) == Counter(range(len(u)))
    assert (m.unit[u.leader] == np.arange(len(u))).all()
    assert set(roles[u.leader]) == {"leader"}
    assert set(m.role) <= set(MEMBER_ROLES)


def test_every_team_has_members_and_members_are_in_a_team_of_their_unit(
    city: SyntheticCity,
) -> None:
    m, u = city.members, city.units
    n_teams = np.array([len(t) for t in u.teams])
    assert (m.team < n_teams[m.unit]).all()
    staffed = {(a, b) for a, b in zip(m.unit.tolist(), m.team.tolist(), strict=True)}
    assert len(staffed) == n_teams.sum()
    assert all(t == [f"第{k}小队" for k in range(1, len(t) + 1)] for t in u.teams)


def test_id_numbers_are_valid_for_district_birth_date_and_sex(city: SyntheticCity) -> None:
    m = city.members
    assert len(set(m.id_number)) == len(m)
    for i, number in enumerate(m.id_number):
        assert len(number) == 18 and number[:17].isdigit()
        assert number[17] == id_check_digit(number[:17])
        assert number[:6] == city.units.district_code[m.unit[i]]
        assert number[6:14] == m.birth_date[i].strftime("%Y%m%d")
        assert int(number[16]) % 2 == int(m.male[i])
        assert 18 <= _age(m.birth_date[i], AS_OF) <= 65


def test_phones_are_distinct_mainland_mobile_numbers(city: SyntheticCity) -> None:
    phones = city.members.phone
    assert len(set(phones)) == len(phones)
    assert all(len(p) == 11 and p.isdigit() and p[:2] in ("13", "15", "18") for p in phones)


def test_insurance_is_mostly_current_with_some_lapsed(city: SyntheticCity) -> None:
    expiry = [d for d in city.members.insurance_expires_on if d is not None]
    current = sum(d >= AS_OF for d in expiry) / len(city.members)
    assert 0.7 < current < 0.97
    assert any(d < AS_OF for d in expiry)
    insured = [p for p in city.members.insurance_policy_no if p is not None]
    assert len(set(insured)) == len(insured)


def test_vocabularies_are_respected(city: SyntheticCity) -> None:
    assert set(city.units.category) <= set(CATEGORIES)
    assert all(set(kit) <= set(EQUIPMENT) and min(kit.values()) >= 1 for kit in city.units.equipment)
    assert all(set(city.members.skill_names(i)) <= set(SKILLS) for i in range(len(city.members)))
    assert len(set(city.units.code)) == len(city.units)
    assert len(set(city.units.name)) == len(city.units)
    assert all(c.startswith(f"GZ-{d}-") for c, d in zip(city.units.code, city.units.district_code,
                                                         strict=True))


def test_core_districts_are_denser_in_units_than_conghua_and_zengcheng(
    city: SyntheticCity,
) -> None:
    counts = Counter(city.units.district_code)
    density = {
        code: counts[code] / CITY_PROJECTION.area_km2(geom)
        for code, geom in _by_code(city.districts).items()
    }
    core = [density[c] for c in density if BY_CODE[c].core]
    assert min(core) > 5 * max(density["440117"], density["440118"])


def test_urban_villages_are_larger_than_shops(city: SyntheticCity) -> None:
    category = np.array(city.units.category)
    sizes = city.units.size
    assert np.median(sizes[category == "urban_village"]) > 3 * np.median(sizes[category == "shop"])


def test_progress_reports_every_stage_to_completion() -> None:
    seen: dict[str, tuple[int, int]] = {}
    build_city("small", seed=1, progress=lambda s, d, t: seen.__setitem__(s, (d, t)), as_of=AS_OF)
    stages = ("districts", "streets", "grids", "police grids", "units", "members")
    assert set(stages) <= set(seen)
    assert all(done == total for done, total in seen.values())


def test_unknown_scale_is_rejected() -> None:
    with pytest.raises(InvalidInput):
        build_city("huge")


@pytest.mark.slow
def test_city_scale_has_guangzhou_published_counts() -> None:
    city = build_city("city", seed=0, as_of=AS_OF)
    assert (len(city.units), len(city.members)) == (23_000, 227_000)
    assert (len(city.grids), len(city.police_grids)) == (20_849, 1_781)
    assert len(city.streets) == sum(d.streets for d in GUANGZHOU_DISTRICTS)
    assert 100 <= city.units.size.max() <= 220  # an urban village the size of 车陂村 (156)
