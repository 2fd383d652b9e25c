"""``jiefang simulate --mode des``: build the city, play the day (and each what-if), print and save."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from jiefang.simulation.city import build_city
from jiefang.simulation.des import day_figures, simulate_day
from jiefang.simulation.drills import drill_table, save_drill_chart
from jiefang.simulation.results import print_summary, save_charts, save_json
from jiefang.simulation.workload import Workload, apply_what_if


def run_des_study(console: Console, scale: str, hours: float, seed: int, what_ifs: Sequence[str],
                  out: Path | None) -> dict[str, Any]:
    """Simulate the baseline day and, when ``what_ifs`` are given, the day they change; print the
    figures (what-if against baseline) and save JSON + charts under ``out``. Returns the figures.

    Raises InvalidInput for an unknown scale or a bad what-if option.
    """
    baseline = Workload()
    changed = baseline
    for option in what_ifs:
        changed = apply_what_if(changed, option)
    city = build_city(scale, seed=seed)
    runs = [("baseline", baseline)] + ([("what-if " + ", ".join(what_ifs), changed)] if what_ifs else [])
    results: dict[str, Any] = {"mode": "des", "scale": scale, "hours": hours, "seed": seed,
                               "what_if": list(what_ifs)}
    for label, workload in runs:
        with Progress(TextColumn(f"{label:<28}"), BarColumn(), TextColumn("{task.fields[clock]}"),
                      TimeElapsedColumn(), console=console) as bar:
            task = bar.add_task(label, total=hours * 3600, clock="00:00")

            def advance(done_s: float, total_s: float, task: Any = task, bar: Progress = bar) -> None:
                done = min(done_s, total_s)
                bar.update(task, completed=done, clock=f"{int(done // 3600):02d}:{int(done % 3600 // 60):02d}")

            day = simulate_day(city, workload, seed=seed, hours=hours, progress=advance)
        figures = day_figures(city, day)
        key = "baseline" if label == "baseline" else "what_if_run"
        results[key] = figures
        console.print(f"[bold]{label}[/bold]: {figures['incidents']} incidents, peak {figures['peak_on_duty']:,} "
                      f"members on duty, simulated in {figures['wall_s']:.1f} s")
        print_summary(console, figures, results["baseline"] if key != "baseline" else None)
        console.print(drill_table(figures["drills"], results["baseline"]["drills"] if key != "baseline" else None))
        if out is not None:
            save_charts(out / key, day.tier_time_s, figures, label)
            save_drill_chart(out / key, day.drills, label)
    if out is not None:
        save_json(out / "simulation.json", results)
        console.print(f"saved {out / 'simulation.json'} and charts under {out}")
    return results
