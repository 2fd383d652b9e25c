"""GCJ-02 ⇄ WGS84 conversion."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from jiefang.geo.chinacrs import gcj02_to_wgs84, wgs84_to_gcj02
from jiefang.geo.projection import haversine_m


def test_known_reference_point_beijing_railway_station():
    lon, lat = wgs84_to_gcj02(116.42079, 39.90105)
    assert abs(lon - 116.42703) < 2e-5 and abs(lat - 39.90245) < 2e-5


@given(st.floats(112.9, 114.1), st.floats(22.5, 23.95))
def test_inverse_recovers_wgs84_within_a_centimetre_in_guangzhou(lon, lat):
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    w_lon, w_lat = gcj02_to_wgs84(g_lon, g_lat)
    assert haversine_m(lon, lat, w_lon, w_lat) < 0.01
    # the offset itself is a few hundred metres, so the conversion matters
    assert 100 < haversine_m(lon, lat, g_lon, g_lat) < 1000


def test_vectorised_over_arrays():
    lon = np.linspace(113.0, 114.0, 1000)
    lat = np.linspace(22.6, 23.9, 1000)
    w_lon, w_lat = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert np.max(haversine_m(lon, lat, w_lon, w_lat)) < 0.01
