"""Coverage core: k-th nearest travel times, shares, and the Poisson closed form."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import box

from jiefang.analytics.coverage import (
    StraightLineTimes,
    kth_nearest_m,
    measure,
    poisson_share_within,
    shares_by_group,
    shares_within,
)
from jiefang.analytics.hexgrid import aggregate_points, cells_covering, locate_points
from jiefang.errors import InvalidInput
from jiefang.geo.projection import LocalProjection
from jiefang.geo.travel import TravelModel

SIDE_M = 20_000.0
MARGIN_M = 1_500.0  # demand points stay this far inside the square: no edge effect at the radii tested


@pytest.mark.parametrize(("k", "radius_m"), [(1, 150.0), (1, 300.0), (1, 500.0), (3, 400.0), (3, 700.0)])
def test_share_within_radius_of_poisson_layout_matches_closed_form(k: int, radius_m: float) -> None:
    rng = np.random.default_rng(7)
    density = 4e-6  # 4 sources per km², about Guangzhou's on-duty density in the suburbs
    n = rng.poisson(density * SIDE_M**2)
    sources = rng.uniform(0, SIDE_M, size=(n, 2))
    demand = rng.uniform(MARGIN_M, SIDE_M - MARGIN_M, size=(40_000, 2))
    measured = float(np.mean(kth_nearest_m(demand, sources, k) <= radius_m))
    expected = poisson_share_within(density, radius_m, k)
    # 40,000 demand points over one layout: sampling error ~ 0.005; layout variance adds a little
    assert measured == pytest.approx(expected, abs=0.02)


def test_closed_form_for_k1_is_one_minus_exp() -> None:
    assert poisson_share_within(1e-5, 200.0) == pytest.approx(1 - np.exp(-1e-5 * np.pi * 200.0**2))


def test_straight_line_time_is_distance_times_circuity_over_speed() -> None:
    proj = LocalProjection(113.3, 23.1)
    lon, lat = proj.to_lonlat(np.array([0.0, 0.0]), np.array([0.0, 0.0]))
    slon, slat = proj.to_lonlat(np.array([300.0, 0.0]), np.array([0.0, 900.0]))
    times = StraightLineTimes(TravelModel(circuity=1.5), mode="walk")
    got = times.kth_nearest_s(lon, lat, slon, slat, k=2)
    assert got == pytest.approx([900.0 * 1.5 / 1.4] * 2, rel=1e-3)


def test_fewer_sources_than_k_gives_infinite_time() -> None:
    times = StraightLineTimes()
    got = times.kth_nearest_s(np.array([113.3]), np.array([23.1]), np.array([113.3]), np.array([23.1]), k=2)
    assert np.isinf(got).all()


def test_k_below_one_is_refused() -> None:
    with pytest.raises(InvalidInput):
        StraightLineTimes().kth_nearest_s(np.array([113.3]), np.array([23.1]), np.array([113.3]), np.array([23.1]), 0)


def test_shares_are_weighted_and_grouped() -> None:
    times = np.array([30.0, 100.0, 200.0, 400.0])
    weights = np.array([1.0, 1.0, 2.0, 4.0])
    assert shares_within(times, weights).tolist() == pytest.approx([1 / 8, 2 / 8, 4 / 8])
    group = np.array([0, 0, 1, -1])
    by = shares_by_group(times, weights, group, 3)
    assert by[0].tolist() == pytest.approx([0.5, 1.0, 1.0])
    assert by[1].tolist() == pytest.approx([0.0, 0.0, 1.0])
    assert by[2].tolist() == [0.0, 0.0, 0.0]  # no weight, no share


def test_measure_counts_units_responders_and_grids() -> None:
    lon = np.array([113.30, 113.31])
    lat = np.array([23.10, 23.10])
    cov = measure(
        StraightLineTimes(),
        lon,
        lat,
        np.ones(2),
        np.array([3.0, 1.0]),
        unit_lon=np.array([113.30]),
        unit_lat=np.array([23.10]),
        responder_lon=np.array([113.30, 113.3005]),
        responder_lat=np.array([23.10, 23.10]),
        k=2,
        grid_lon=np.array([113.30]),
        grid_lat=np.array([23.10]),
    )
    # cell 0 has both responders within ~51 m; cell 1 is ~1 km away (≈ 430 s running)
    assert cov.area_share.tolist() == [0.5, 0.5, 0.5]
    assert cov.weight_share.tolist() == [0.75, 0.75, 0.75]
    assert cov.grid_share.tolist() == [1.0, 1.0, 1.0]
    assert cov.unit_s[0] == 0.0


def test_cells_cover_a_polygon_with_its_area() -> None:
    square = box(113.30, 23.10, 113.33, 23.13)  # ~3.07 km × 3.33 km
    cells = cells_covering([square])
    projected_km2 = LocalProjection(113.315, 23.115).area_km2(square)
    assert cells.area_km2.sum() == pytest.approx(projected_km2, rel=0.05)
    assert np.all(shapely.contains_xy(square, cells.lon, cells.lat))


def test_points_are_located_in_their_polygon_or_minus_one() -> None:
    left, right = box(0, 0, 1, 1), box(1, 0, 2, 1)
    got = locate_points(np.array([0.5, 1.5, 5.0]), np.array([0.5, 0.5, 5.0]), [left, right])
    assert got.tolist() == [0, 1, -1]


def test_points_are_summed_into_their_cells() -> None:
    cells = cells_covering([box(113.30, 23.10, 113.31, 23.11)])
    lon = np.array([cells.lon[0], cells.lon[0], cells.lon[1], 120.0])
    lat = np.array([cells.lat[0], cells.lat[0], cells.lat[1], 30.0])
    got = aggregate_points(cells, lon, lat)
    assert got[0] == 2 and got[1] == 1 and got.sum() == 3


def test_population_file_weights_the_cells_it_falls_in(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from jiefang.analytics.service import population_weights

    cells = cells_covering([box(113.30, 23.10, 113.31, 23.11)])
    path = tmp_path / "population.csv"
    path.write_text(
        f"lon,lat,population\n{cells.lon[0]},{cells.lat[0]},120\n{cells.lon[0]},{cells.lat[0]},30\n"
        f"{cells.lon[2]},{cells.lat[2]},50\n120.0,30.0,999\n",
        encoding="utf-8",
    )
    got = population_weights(path, cells)
    assert got[0] == 150 and got[2] == 50 and got.sum() == 200
    path.write_text("x,y\n1,2\n", encoding="utf-8")
    with pytest.raises(InvalidInput):
        population_weights(path, cells)
    with pytest.raises(InvalidInput):
        population_weights(None, cells)
