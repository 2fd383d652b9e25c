"""Placement: MCLP and set covering checked against brute force and against each other."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from jiefang.analytics.placement import covered_weight, mclp, mclp_greedy, mclp_milp, reach_matrix, set_cover
from jiefang.errors import InvalidInput


def _instance(seed: int, n_candidates: int, n_demand: int, side_m: float = 2_000.0, radius_m: float = 400.0):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    cand = rng.uniform(0, side_m, size=(n_candidates, 2))
    demand = rng.uniform(0, side_m, size=(n_demand, 2))
    weights = rng.integers(1, 10, size=n_demand).astype(float)
    covered = rng.random(n_demand) < 0.2
    return reach_matrix(cand, demand, radius_m), weights, covered


def _brute_force_mclp(reach: sp.csr_matrix, w: np.ndarray, k: int, covered: np.ndarray) -> float:
    return max(
        covered_weight(reach, w, np.array(c, dtype=np.int64), covered)
        for c in itertools.combinations(range(reach.shape[0]), k)
    )


def _brute_force_set_cover(reach: sp.csr_matrix, w: np.ndarray, target: float, covered: np.ndarray) -> int | None:
    need = target * w.sum() - w[covered].sum()
    for size in range(reach.shape[0] + 1):
        for c in itertools.combinations(range(reach.shape[0]), size):
            if covered_weight(reach, w, np.array(c, dtype=np.int64), covered) >= need - 1e-9:
                return size
    return None


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(1, 4))
def test_milp_equals_brute_force_and_greedy_stays_within_its_bound(seed: int, k: int) -> None:
    reach, w, covered = _instance(seed, n_candidates=9, n_demand=60)
    best = _brute_force_mclp(reach, w, k, covered)
    exact = mclp_milp(reach, w, k, covered)
    assert exact.optimal and exact.method == "milp"
    assert exact.covered_weight == pytest.approx(best)
    assert covered_weight(reach, w, exact.chosen, covered) == pytest.approx(best)
    greedy = mclp_greedy(reach, w, k, covered)
    assert greedy.covered_weight <= best + 1e-9
    assert greedy.upper_bound >= best - 1e-9  # the bound it reports really bounds the optimum
    assert greedy.covered_weight >= (1 - 1 / np.e) * best - 1e-9


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), target=st.sampled_from([0.5, 0.7, 0.9]))
def test_set_cover_finds_the_fewest_sites_like_brute_force(seed: int, target: float) -> None:
    reach, w, covered = _instance(seed, n_candidates=8, n_demand=40, radius_m=700.0)
    fewest = _brute_force_set_cover(reach, w, target, covered)
    found = set_cover(reach, w, target, covered, method="milp")
    if fewest is None:
        assert not found.reached
        return
    assert found.reached and found.chosen.size == fewest == found.lower_bound
    assert found.share >= target - 1e-9
    greedy = set_cover(reach, w, target, covered, method="greedy")
    assert greedy.share >= target - 1e-9
    assert greedy.lower_bound <= fewest <= greedy.chosen.size


def test_greedy_matches_milp_closely_on_a_medium_instance() -> None:
    reach, w, covered = _instance(3, n_candidates=300, n_demand=4_000, side_m=8_000.0, radius_m=400.0)
    exact = mclp_milp(reach, w, 25, covered)
    greedy = mclp_greedy(reach, w, 25, covered)
    assert exact.optimal
    assert greedy.covered_weight <= exact.covered_weight + 1e-6 <= greedy.upper_bound + 2e-6
    assert greedy.gap < 0.10


def test_automatic_choice_uses_the_milp_on_small_instances() -> None:
    reach, w, covered = _instance(1, n_candidates=20, n_demand=200)
    assert mclp(reach, w, 3, covered).method == "milp"


def test_greedy_gap_is_reported_relative_to_its_bound() -> None:
    reach, w, covered = _instance(5, n_candidates=50, n_demand=500)
    got = mclp_greedy(reach, w, 5, covered)
    assert got.gap == pytest.approx(0.0 if got.optimal else (got.upper_bound - got.covered_weight) / got.upper_bound)


def test_already_covered_demand_counts_for_nothing() -> None:
    reach = sp.csr_matrix(np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]))
    w = np.array([5.0, 5.0, 1.0])
    got = mclp_milp(reach, w, 1, covered=np.array([True, True, False]))
    assert got.chosen.tolist() == [1] and got.covered_weight == 1.0


def test_bad_inputs_are_refused() -> None:
    reach = sp.csr_matrix(np.ones((2, 2)))
    with pytest.raises(InvalidInput):
        mclp_greedy(reach, np.array([1.0, -1.0]), 1)
    with pytest.raises(InvalidInput):
        mclp_greedy(reach, np.array([1.0]), 1)
    with pytest.raises(InvalidInput):
        set_cover(reach, np.ones(2), 1.5)
