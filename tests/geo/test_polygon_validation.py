"""Polygon input validation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jiefang.errors import InvalidInput
from jiefang.geo.validation import parse_polygon


def _ring(lon, lat, d):
    return [[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]


@given(st.floats(-179, 178), st.floats(-89, 88), st.floats(1e-4, 0.9))
def test_any_axis_aligned_square_in_range_is_accepted(lon, lat, d):
    geom = parse_polygon({"type": "Polygon", "coordinates": [_ring(lon, lat, d)]})
    assert geom.is_valid and geom.area > 0


@pytest.mark.parametrize(
    ("geometry", "fragment"),
    [
        ({"type": "Point", "coordinates": [1, 2]}, "expected a Polygon"),
        ({"type": "Polygon", "coordinates": [_ring(179.5, 0, 1)]}, "out of WGS84 range"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}, "invalid polygon"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1]]]}, "malformed"),
        ("{not json", "not JSON"),
    ],
)
def test_bad_polygons_are_rejected_with_a_reason(geometry, fragment):
    with pytest.raises(InvalidInput, match=fragment):
        parse_polygon(geometry)
