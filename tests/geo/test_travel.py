"""Travel time from straight-line distance, road circuity and the speed of each mode."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jiefang.errors import InvalidInput
from jiefang.geo.travel import DEFAULT_SPEEDS_MPS, MODE_KEYS, TravelModel, mode_code


def test_walking_a_kilometre_takes_circuity_times_distance_over_walking_speed():
    model = TravelModel()
    assert model.eta_s(1000.0, "walk") == pytest.approx(1000 * 1.3 / 1.4)


def test_faster_modes_arrive_sooner_over_the_same_distance():
    model = TravelModel()
    etas = [model.eta_s(800.0, mode) for mode in ("walk", "run", "e_bike", "car")]
    assert etas == sorted(etas, reverse=True)


def test_speeds_and_circuity_are_configurable():
    model = TravelModel(speeds_mps={**DEFAULT_SPEEDS_MPS, "walk": 1.0}, circuity=1.0)
    assert model.eta_s(120.0, "walk") == pytest.approx(120.0)


@given(st.floats(0, 100_000), st.sampled_from(MODE_KEYS))
def test_reach_is_the_inverse_of_eta(distance_m, mode):
    model = TravelModel()
    assert model.reach_m(model.eta_s(distance_m, mode), mode) == pytest.approx(distance_m, abs=1e-6)


def test_vectorised_etas_equal_one_by_one():
    model = TravelModel()
    distance = np.array([0.0, 10.0, 500.0, 2500.0])
    modes = ["walk", "run", "e_bike", "car"]
    got = model.etas_s(distance, [mode_code(m) for m in modes])
    assert got.tolist() == pytest.approx([model.eta_s(d, m) for d, m in zip(distance, modes, strict=True)])


def test_unknown_mode_is_refused():
    with pytest.raises(InvalidInput, match="unknown travel mode"):
        TravelModel().eta_s(100.0, "helicopter")


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"speeds_mps": {**DEFAULT_SPEEDS_MPS, "car": 0.0}}, "positive"),
        ({"speeds_mps": {**DEFAULT_SPEEDS_MPS, "run": math.nan}}, "positive"),
        ({"speeds_mps": {"walk": 1.4}}, "no speed"),
        ({"speeds_mps": {**DEFAULT_SPEEDS_MPS, "boat": 3.0}}, "unknown travel modes"),
        ({"circuity": 0.9}, "circuity"),
    ],
)
def test_nonsense_settings_are_refused(kwargs, fragment):
    with pytest.raises(InvalidInput, match=fragment):
        TravelModel(**kwargs)
