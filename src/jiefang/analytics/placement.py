"""Where to build the next units: maximal covering and set covering over candidate sites (pure).

The instance is a sparse 0/1 matrix ``reach`` (candidates × demand points: candidate j reaches
point i within the standard), demand weights, and the points already reached by existing units,
which count for nothing more. The maximal covering location problem (MCLP) picks K candidates
maximising the newly covered weight; set covering finds the fewest candidates that bring total
coverage to a target share.

Exact answers come from a MILP (HiGHS through ``scipy.optimize.milp``); big instances use lazy
greedy, which for this monotone submodular objective is within (1 − 1/e) of the optimum and,
better, reports a data-dependent upper bound: for any greedy prefix S, OPT ≤ f(S) + the sum of the
K largest marginal gains over S (Minoux; Leskovec et al. 2007). Stale lazy gains are themselves
upper bounds on true gains, so the bound stays valid without recomputing them.
"""

from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.spatial import cKDTree

from jiefang.errors import InvalidInput

Method = Literal["milp", "greedy"]
# MILP when the reduced instance (candidates + demand points reachable by some candidate) is at most this
EXACT_MAX_VARIABLES = 60_000


@dataclass(frozen=True)
class Placement:
    """Chosen candidates and how good the choice provably is."""

    chosen: NDArray[np.int64]  # candidate indexes, in the order picked (greedy) or ascending (MILP)
    covered_weight: float  # new weight covered by the chosen sites
    upper_bound: float  # no choice of the same size covers more new weight than this
    method: Method
    optimal: bool
    seconds: float

    @property
    def gap(self) -> float:
        """Return (upper bound − achieved) / upper bound, 0 when proved optimal or nothing to cover."""
        if self.optimal or self.upper_bound <= 0:
            return 0.0
        return max(0.0, (self.upper_bound - self.covered_weight) / self.upper_bound)


def reach_matrix(candidate_xy: NDArray[np.float64], demand_xy: NDArray[np.float64], radius_m: float) -> sp.csr_matrix:
    """Return the candidates × demand 0/1 CSR matrix of pairs within ``radius_m`` (planar metres)."""
    n_c, n_d = len(candidate_xy), len(demand_xy)
    if n_c == 0 or n_d == 0:
        return sp.csr_matrix((n_c, n_d), dtype=np.float64)
    tree = cKDTree(demand_xy)
    lists = tree.query_ball_point(candidate_xy, r=radius_m, workers=-1)
    lengths = np.fromiter((len(x) for x in lists), dtype=np.int64, count=n_c)
    indptr = np.concatenate(([0], np.cumsum(lengths)))
    indices = np.fromiter((i for x in lists for i in x), dtype=np.int64, count=int(indptr[-1]))
    data = np.ones(indices.size, dtype=np.float64)
    return sp.csr_matrix((data, indices, indptr), shape=(n_c, n_d))


def _residual(
    reach: sp.csr_matrix, weights: NDArray[np.float64], covered: NDArray[np.bool_] | None
) -> tuple[sp.csr_matrix, NDArray[np.float64]]:
    """Return the instance restricted to demand with weight not yet covered and reachable by someone."""
    w = np.asarray(weights, dtype=np.float64).copy()
    if w.size != reach.shape[1]:
        raise InvalidInput(f"{w.size} weights for {reach.shape[1]} demand points")
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        raise InvalidInput("demand weights must be finite and non-negative")
    if covered is not None:
        w[np.asarray(covered, dtype=bool)] = 0.0
    reachable = np.asarray(reach.sum(axis=0)).ravel() > 0
    keep = np.flatnonzero(reachable & (w > 0))
    return reach.tocsc()[:, keep].tocsr(), w[keep]


def _check_k(k: int, n: int) -> int:
    if k < 0:
        raise InvalidInput(f"K must be non-negative, got {k}")
    return min(k, n)


def mclp_greedy(
    reach: sp.csr_matrix, weights: NDArray[np.float64], k: int, covered: NDArray[np.bool_] | None = None
) -> Placement:
    """Return K sites by lazy greedy with its data-dependent upper bound. Raises InvalidInput on bad input."""
    started = time.perf_counter()
    a, w = _residual(reach, weights, covered)
    k = _check_k(k, a.shape[0])
    indptr, indices = a.indptr, a.indices
    done = np.zeros(w.size, dtype=bool)
    gains = np.asarray(a @ w).ravel()
    heap = [(-g, j) for j, g in enumerate(gains) if g > 0]
    heapq.heapify(heap)
    chosen: list[int] = []
    value = 0.0
    bound = _top_sum(heap, k)  # OPT ≤ f(∅) + K largest singleton gains
    while len(chosen) < k and heap:
        _, j = heapq.heappop(heap)
        rows = indices[indptr[j] : indptr[j + 1]]
        fresh = rows[~done[rows]]
        gain = float(w[fresh].sum())
        if heap and gain < -heap[0][0] - 1e-12:
            if gain > 0:
                heapq.heappush(heap, (-gain, j))
            continue
        if gain <= 0:
            break
        chosen.append(j)
        done[fresh] = True
        value += gain
        bound = min(bound, value + _top_sum(heap, k))
    bound = max(min(bound, float(w.sum())), value)
    return Placement(
        chosen=np.array(chosen, dtype=np.int64),
        covered_weight=value,
        upper_bound=bound,
        method="greedy",
        optimal=math.isclose(value, bound, rel_tol=1e-9, abs_tol=1e-12),
        seconds=time.perf_counter() - started,
    )


def _top_sum(heap: list[tuple[float, int]], k: int) -> float:
    if k <= 0 or not heap:
        return 0.0
    return -float(sum(g for g, _ in heapq.nsmallest(k, heap)))


def mclp_milp(
    reach: sp.csr_matrix,
    weights: NDArray[np.float64],
    k: int,
    covered: NDArray[np.bool_] | None = None,
    time_limit_s: float = 60.0,
) -> Placement:
    """Return the K sites maximising newly covered weight, solved by HiGHS.

    Variables: x_j (site built, binary), y_i (point covered, 0..1); max Σ w_i y_i subject to
    y_i ≤ Σ_j reach_ji x_j and Σ x_j = K. y need not be declared integer: at an optimum with
    integral x it is min(1, Σ reach x), which is 0 or 1. When the time limit stops the solver, the
    answer is its best solution with the solver's dual bound. Raises InvalidInput on bad input.
    """
    started = time.perf_counter()
    a, w = _residual(reach, weights, covered)
    n_c, n_d = a.shape
    k = _check_k(k, n_c)
    if n_d == 0 or k == 0:
        return Placement(np.arange(0, dtype=np.int64), 0.0, 0.0, "milp", True, time.perf_counter() - started)
    c = np.concatenate((np.zeros(n_c), -w))
    cover = sp.hstack((-a.T.tocsr(), sp.identity(n_d, format="csr"))).tocsr()
    budget = sp.csr_matrix(np.concatenate((np.ones(n_c), np.zeros(n_d)))[None, :])
    constraints = [LinearConstraint(cover, -np.inf, 0.0), LinearConstraint(budget, k, k)]
    integrality = np.concatenate((np.ones(n_c), np.zeros(n_d)))
    res = milp(
        c,
        constraints=constraints,
        integrality=integrality,
        bounds=Bounds(0, 1),
        options={"time_limit": time_limit_s, "disp": False},
    )
    if res.x is None:
        raise InvalidInput(f"the MILP solver found no solution: {res.message}")
    x = res.x[:n_c] > 0.5
    chosen = np.flatnonzero(x).astype(np.int64)
    value = _covered_weight(a, w, chosen)
    optimal = res.status == 0
    dual = getattr(res, "mip_dual_bound", None)
    bound = value if optimal else max(value, -float(dual) if dual is not None and np.isfinite(dual) else float(w.sum()))
    return Placement(
        chosen=chosen,
        covered_weight=value,
        upper_bound=bound,
        method="milp",
        optimal=optimal,
        seconds=time.perf_counter() - started,
    )


def _covered_weight(a: sp.csr_matrix, w: NDArray[np.float64], chosen: NDArray[np.int64]) -> float:
    if chosen.size == 0:
        return 0.0
    hit = np.asarray(a[chosen].sum(axis=0)).ravel() > 0
    return float(w[hit].sum())


def covered_weight(
    reach: sp.csr_matrix,
    weights: NDArray[np.float64],
    chosen: NDArray[np.int64],
    covered: NDArray[np.bool_] | None = None,
) -> float:
    """Return the weight not in ``covered`` that the ``chosen`` candidates reach."""
    hit = np.zeros(reach.shape[1], dtype=bool)
    if len(chosen):
        hit = np.asarray(reach[np.asarray(chosen)].sum(axis=0)).ravel() > 0
    if covered is not None:
        hit &= ~np.asarray(covered, dtype=bool)
    return float(np.asarray(weights, dtype=np.float64)[hit].sum())


def mclp(
    reach: sp.csr_matrix,
    weights: NDArray[np.float64],
    k: int,
    covered: NDArray[np.bool_] | None = None,
    method: Method | None = None,
    time_limit_s: float = 60.0,
) -> Placement:
    """Return K sites: by MILP when the reduced instance is small enough (or asked), lazy greedy otherwise.

    Greedy runs first (it is cheap); when it proves itself optimal the MILP is skipped, and when the
    MILP stops at its time limit with a worse answer, greedy's sites are returned with the tighter bound.
    """
    if method is None:
        a, _ = _residual(reach, weights, covered)
        method = "milp" if sum(a.shape) <= EXACT_MAX_VARIABLES else "greedy"
    greedy = mclp_greedy(reach, weights, k, covered)
    if method == "greedy" or greedy.optimal:
        return greedy
    exact = mclp_milp(reach, weights, k, covered, time_limit_s)
    if exact.optimal or exact.covered_weight >= greedy.covered_weight:
        return exact
    # the solver ran out of time with a worse incumbent: keep greedy's sites, and the tighter bound
    bound = min(exact.upper_bound, greedy.upper_bound)
    return Placement(greedy.chosen, greedy.covered_weight, bound, "greedy", False, greedy.seconds + exact.seconds)


@dataclass(frozen=True)
class SetCover:
    """Fewest sites found to reach a target share, and the lower bound proved on that number."""

    chosen: NDArray[np.int64]
    share: float  # total share of weight covered, existing units included
    target_share: float
    reached: bool  # False when even every candidate cannot reach the target
    lower_bound: int  # no fewer sites can reach the target
    method: Method
    seconds: float


def set_cover(
    reach: sp.csr_matrix,
    weights: NDArray[np.float64],
    target_share: float,
    covered: NDArray[np.bool_] | None = None,
    method: Method | None = None,
    time_limit_s: float = 60.0,
) -> SetCover:
    """Return the fewest candidates bringing covered weight to ``target_share`` of the total.

    MILP: min Σ x_j s.t. Σ w_i y_i ≥ need, y_i ≤ Σ reach_ji x_j. Greedy adds the best site until the
    target is met; its lower bound is the number of largest single gains needed to add up to the need.
    Raises InvalidInput for a target outside 0..1.
    """
    started = time.perf_counter()
    if not 0.0 <= target_share <= 1.0:
        raise InvalidInput(f"target share must be within 0..1, got {target_share}")
    total = float(np.asarray(weights, dtype=np.float64).sum())
    already = 0.0 if covered is None else float(np.asarray(weights)[np.asarray(covered, dtype=bool)].sum())
    need = target_share * total - already
    a, w = _residual(reach, weights, covered)
    reachable_all = float(w.sum())
    if need <= 1e-12 * max(total, 1.0):
        return SetCover(
            np.arange(0, dtype=np.int64),
            already / total if total else 0.0,
            target_share,
            True,
            0,
            method or "milp",
            time.perf_counter() - started,
        )
    if need > reachable_all + 1e-9:
        chosen_all = np.flatnonzero(np.asarray(a.sum(axis=1)).ravel() > 0).astype(np.int64)
        return SetCover(
            chosen_all,
            (already + reachable_all) / total,
            target_share,
            False,
            chosen_all.size,
            method or "greedy",
            time.perf_counter() - started,
        )
    if method is None:
        method = "milp" if sum(a.shape) <= EXACT_MAX_VARIABLES else "greedy"
    gains = np.sort(np.asarray(a @ w).ravel())[::-1]
    lower = int(np.searchsorted(np.cumsum(gains), need - 1e-9) + 1)
    if method == "milp":
        chosen, optimal = _set_cover_milp(a, w, need, time_limit_s)
        if optimal:
            lower = chosen.size
    else:
        chosen = _set_cover_greedy(a, w, need)
    share = (already + _covered_weight(a, w, chosen)) / total
    return SetCover(chosen, share, target_share, True, min(lower, chosen.size), method, time.perf_counter() - started)


def _set_cover_milp(
    a: sp.csr_matrix, w: NDArray[np.float64], need: float, time_limit_s: float
) -> tuple[NDArray[np.int64], bool]:
    n_c, n_d = a.shape
    c = np.concatenate((np.ones(n_c), np.zeros(n_d)))
    cover = sp.hstack((-a.T.tocsr(), sp.identity(n_d, format="csr"))).tocsr()
    demand = sp.csr_matrix(np.concatenate((np.zeros(n_c), w))[None, :])
    # y integral here: a fractional y could buy coverage without building a site
    integrality = np.ones(n_c + n_d)
    res = milp(
        c,
        constraints=[LinearConstraint(cover, -np.inf, 0.0), LinearConstraint(demand, need * (1 - 1e-9), np.inf)],
        integrality=integrality,
        bounds=Bounds(0, 1),
        options={"time_limit": time_limit_s, "disp": False},
    )
    if res.x is None:
        raise InvalidInput(f"the MILP solver found no solution: {res.message}")
    return np.flatnonzero(res.x[:n_c] > 0.5).astype(np.int64), res.status == 0


def _set_cover_greedy(a: sp.csr_matrix, w: NDArray[np.float64], need: float) -> NDArray[np.int64]:
    result = mclp_greedy(a, w, a.shape[0])  # greedy order; stop as soon as the need is met
    running = 0.0
    done = np.zeros(w.size, dtype=bool)
    for n, j in enumerate(result.chosen, start=1):
        rows = a.indices[a.indptr[j] : a.indptr[j + 1]]
        running += float(w[rows[~done[rows]]].sum())
        done[rows] = True
        if running >= need - 1e-9:
            return result.chosen[:n]
    return result.chosen
