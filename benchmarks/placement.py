"""Where to build the next 500 units: MCLP at city scale, and the exact MILP beside PySAL spopt.

    python benchmarks/placement.py [--seed 0] [--candidates 5000] [--k 500] [--mode run] [--no-spopt]

City scale: the ~72,000 H3 cells of the synthetic city as demand (uniform weight = cell area),
5,000 candidate sites drawn among comprehensive-grid centres, the 23,000 existing units' 3-minute
reach counted as already covered, K = 500. Lazy greedy reports its covered demand and the upper
bound it proves; the MILP (HiGHS through scipy) is run on the same instance with a time limit to
check that the greedy answer lies within its bound.

Medium instances (a few hundred candidates, a few thousand demand points) are solved exactly by
our MILP and by spopt's MCLP (``from_cost_matrix``, CBC through PuLP), in the same run; the table
gives both objectives and the time ratio. spopt is a bench-only dependency (``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import shapely
from rich.console import Console
from rich.table import Table

from jiefang.analytics.coverage import StraightLineTimes, kth_nearest_m
from jiefang.analytics.hexgrid import cells_covering
from jiefang.analytics.placement import covered_weight, mclp_greedy, mclp_milp, reach_matrix
from jiefang.simulation.city import CITY_PROJECTION, build_city

console = Console(width=None if sys.stdout.isatty() else 160)


class ProgressTable(Table):
    """A rich table that also logs each row as it comes: the whole run takes minutes."""

    def add_row(self, *cells: str, **kwargs: object) -> None:  # type: ignore[override]
        console.log(" | ".join(cells))
        super().add_row(*cells)


def city_scale(args: argparse.Namespace, table: Table) -> None:
    rng = np.random.default_rng(args.seed)
    city = build_city("city", seed=args.seed)
    cells = cells_covering(list(city.districts.geometry))
    radius_m = StraightLineTimes(mode=args.mode).reach_m(180.0)
    dx, dy = CITY_PROJECTION.to_xy(cells.lon, cells.lat)
    demand = np.column_stack((dx, dy))
    ux, uy = CITY_PROJECTION.to_xy(city.units.lon, city.units.lat)
    covered = kth_nearest_m(demand, np.column_stack((ux, uy)), 1) <= radius_m
    centres = shapely.centroid(np.asarray(city.grids.geometry))
    pick = rng.choice(len(centres), size=min(args.candidates, len(centres)), replace=False)
    cx, cy = CITY_PROJECTION.to_xy(shapely.get_x(centres[pick]), shapely.get_y(centres[pick]))
    w = cells.area_km2
    t0 = time.perf_counter()
    reach = reach_matrix(np.column_stack((cx, cy)), demand, radius_m)
    build_s = time.perf_counter() - t0
    before = w[covered].sum() / w.sum()
    greedy = mclp_greedy(reach, w, args.k, covered)
    after = (w[covered].sum() + greedy.covered_weight) / w.sum()
    name = f"{len(pick):,} candidates × {len(cells):,} cells, K={args.k}, r={radius_m:.0f} m"
    table.add_row(name, "reach matrix", f"{build_s:.2f} s", f"{reach.nnz:,} pairs", "")
    table.add_row(
        name,
        "lazy greedy",
        f"{greedy.seconds:.2f} s",
        f"{greedy.covered_weight:.2f} km²",
        f"bound {greedy.upper_bound:.2f} km², gap ≤ {greedy.gap:.2%}; area within 3 min {before:.1%} → {after:.1%}",
    )
    exact = mclp_milp(reach, w, args.k, covered, time_limit_s=args.milp_limit)
    verdict = "optimal" if exact.optimal else f"stopped at {args.milp_limit:.0f} s, dual bound {exact.upper_bound:.2f}"
    inside = greedy.covered_weight <= exact.upper_bound + 1e-6 and exact.covered_weight <= greedy.upper_bound + 1e-6
    table.add_row(
        name,
        "MILP (HiGHS)",
        f"{exact.seconds:.2f} s",
        f"{exact.covered_weight:.2f} km²",
        f"{verdict}; optimum within greedy's bound: {'yes' if inside else 'NO'}; "
        f"greedy / MILP = {greedy.covered_weight / max(exact.covered_weight, 1e-12):.4f}",
    )


def medium(seed: int, n_candidates: int, n_demand: int, k: int, use_spopt: bool, table: Table) -> None:
    rng = np.random.default_rng(seed)
    side_m = 6_000.0
    cand = rng.uniform(0, side_m, size=(n_candidates, 2))
    demand = rng.uniform(0, side_m, size=(n_demand, 2))
    w = rng.integers(1, 20, size=n_demand).astype(float)
    radius_m = 415.0
    reach = reach_matrix(cand, demand, radius_m)
    name = f"medium {n_candidates} × {n_demand}, K={k}"
    ours = mclp_milp(reach, w, k)
    greedy = mclp_greedy(reach, w, k)
    table.add_row(
        name,
        "MILP (HiGHS)",
        f"{ours.seconds:.2f} s",
        f"{ours.covered_weight:.0f}",
        f"{'optimal' if ours.optimal else 'not proved'}; greedy {greedy.covered_weight:.0f} "
        f"(bound {greedy.upper_bound:.0f}) in {greedy.seconds:.3f} s",
    )
    if not use_spopt:
        return
    import pulp
    from spopt.locate import MCLP

    cost = np.hypot(cand[:, None, 0] - demand[None, :, 0], cand[:, None, 1] - demand[None, :, 1]).T
    t0 = time.perf_counter()
    model = MCLP.from_cost_matrix(cost, w, service_radius=radius_m, p_facilities=k)
    model.solve(pulp.PULP_CBC_CMD(msg=False), results=False)
    spopt_s = time.perf_counter() - t0
    chosen = np.array([j for j, v in enumerate(model.fac_vars) if v.value() > 0.5], dtype=np.int64)
    theirs = covered_weight(reach, w, chosen)
    verdict = (
        "equal"
        if abs(theirs - ours.covered_weight) < 1e-6
        else ("ours better" if ours.covered_weight > theirs else "SPOPT BETTER")
    )
    table.add_row(
        name,
        "spopt MCLP (CBC)",
        f"{spopt_s:.2f} s",
        f"{theirs:.0f}",
        f"{verdict}; time spopt / ours = {spopt_s / ours.seconds:.1f}×",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--candidates", type=int, default=5_000)
    parser.add_argument("--k", type=int, default=500)
    parser.add_argument("--mode", default="run")
    parser.add_argument("--milp-limit", type=float, default=120.0)
    parser.add_argument("--no-spopt", action="store_true")
    args = parser.parse_args()
    table = ProgressTable(title="Placement: maximal covering location problem")
    for col in ("instance", "method", "time", "covered", "note"):
        table.add_column(col)
    for seed, (n_c, n_d, k) in enumerate([(100, 2_000, 10), (200, 4_000, 20), (300, 5_000, 25)]):
        medium(args.seed + seed, n_c, n_d, k, not args.no_spopt, table)
    city_scale(args, table)
    console.print(table)


if __name__ == "__main__":
    main()
