"""Figures of a simulated day: 1-3-5 compliance, response-time percentiles, per district and hour;
printed as rich tables, saved as JSON and matplotlib PNG charts."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from rich.console import Console
from rich.table import Table

from jiefang.incidents.playbooks import TIER_ORDER

PERCENTILES = (50, 90, 99)
TIER_LABELS = {"self_rescue": "1 min self-rescue", "mutual_aid": "3 min mutual aid",
               "reinforcement": "5 min reinforcement"}


def percentiles(values: NDArray[np.float64]) -> dict[str, float | None]:
    """Return p50/p90/p99 of ``values``; None where the percentile falls on infinite values
    (incidents never answered)."""
    if values.size == 0:
        return {f"p{p}": None for p in PERCENTILES}
    found = np.percentile(values, PERCENTILES, method="inverted_cdf")
    return {f"p{p}": (round(float(v), 1) if math.isfinite(v) else None) for p, v in zip(PERCENTILES, found,
                                                                                       strict=True)}


def tier_time_s(tier: str, needed: int, first_action_s: float, arrivals_s: Sequence[float]) -> float:
    """Return when a tier was met, as ``dispatch.compliance`` judges it: self-rescue at its first
    acceptance or arrival, later tiers when their ``needed``-th responder arrived (inf: never)."""
    if needed == 0:
        return 0.0
    if tier == "self_rescue":
        return first_action_s
    arrived = sorted(arrivals_s)
    return arrived[needed - 1] if len(arrived) >= needed else math.inf


def tier_figures(passed: NDArray[np.bool_], times_s: NDArray[np.float64]) -> dict[str, Any]:
    """Return per tier the share passed and the response-time percentiles of ``(n, 3)`` arrays."""
    n = passed.shape[0]
    return {
        tier: {"compliance": round(float(passed[:, k].mean()), 4) if n else None,
               **percentiles(times_s[:, k])}
        for k, tier in enumerate(TIER_ORDER)
    }


def summarise(passed: NDArray[np.bool_], times_s: NDArray[np.float64], hour: NDArray[np.int64],
              groups: dict[str, tuple[NDArray[np.int64], Sequence[str]]]) -> dict[str, Any]:
    """Return the figures of a run: overall per tier, by each named grouping (labels index
    ``names``) and by hour (incidents and the share passing all three tiers)."""
    out: dict[str, Any] = {"incidents": int(passed.shape[0]), "tiers": tier_figures(passed, times_s)}
    for name, (labels, names) in groups.items():
        out[f"by_{name}"] = {
            names[g]: {"incidents": int((labels == g).sum()), **tier_figures(passed[labels == g], times_s[labels == g])}
            for g in range(len(names)) if (labels == g).any()
        }
    hours = int(hour.max(initial=-1)) + 1
    out["hourly"] = [
        {"hour": h, "incidents": int((hour == h).sum()),
         "all_tiers": round(float(passed[hour == h].all(axis=1).mean()), 4) if (hour == h).any() else None}
        for h in range(hours)
    ]
    return out


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:.1f} %"


def _secs(v: float | None) -> str:
    return "never" if v is None else f"{v:.0f} s"


def tier_table(title: str, figures: dict[str, Any], baseline: dict[str, Any] | None = None) -> Table:
    """Return a rich table of per-tier compliance and percentiles (with the change against
    ``baseline`` when given)."""
    table = Table(title=title)
    for col in ("tier", "compliance", *(f"p{p}" for p in PERCENTILES)):
        table.add_column(col, justify="left" if col == "tier" else "right")
    if baseline is not None:
        table.add_column("Δ compliance", justify="right")
    for tier in TIER_ORDER:
        f = figures[tier]
        row = [TIER_LABELS[tier], _pct(f["compliance"]), *(_secs(f[f"p{p}"]) for p in PERCENTILES)]
        if baseline is not None:
            b = baseline[tier]["compliance"]
            row.append("—" if b is None or f["compliance"] is None else f"{100 * (f['compliance'] - b):+.1f} pt")
        table.add_row(*row)
    return table


def group_table(title: str, groups: dict[str, Any]) -> Table:
    """Return a rich table of incidents and per-tier compliance by group (e.g. district)."""
    table = Table(title=title)
    table.add_column("")
    table.add_column("incidents", justify="right")
    for tier in TIER_ORDER:
        table.add_column(TIER_LABELS[tier], justify="right")
    for name, f in groups.items():
        table.add_row(name, str(f["incidents"]), *(_pct(f[t]["compliance"]) for t in TIER_ORDER))
    return table


def print_summary(console: Console, figures: dict[str, Any], baseline: dict[str, Any] | None = None) -> None:
    """Print the tier table, and the district table when the figures have one."""
    console.print(tier_table(f"1-3-5 compliance over {figures['incidents']} incidents", figures["tiers"],
                             baseline["tiers"] if baseline else None))
    if "night" in figures and figures["night"]["incidents"]:
        night = figures["night"]
        console.print(tier_table(f"night (20:00–06:00): {night['incidents']} incidents, "
                                 f"{_pct(night['covered_share'])} with a member within 1 min",
                                 night["tiers"], baseline["night"]["tiers"] if baseline else None))
    if "by_district" in figures:
        console.print(group_table("by district", figures["by_district"]))


def save_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as UTF-8 JSON (creating the directory)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")


def save_charts(out: Path, times_s: NDArray[np.float64], figures: dict[str, Any], label: str = "") -> list[Path]:
    """Write a response-time histogram per tier and the hourly incidents/compliance chart as PNG;
    return the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    bins = list(range(0, 630, 30))
    for k, tier in enumerate(TIER_ORDER):
        finite = times_s[:, k][np.isfinite(times_s[:, k])]
        ax.hist(np.minimum(finite, 600), bins=bins, histtype="step", linewidth=1.5, label=TIER_LABELS[tier])
    for deadline in (60, 180, 300):
        ax.axvline(deadline, color="grey", linestyle=":")
    ax.set_xlabel("seconds from intake (600 = 10 min or later)")
    ax.set_ylabel("incidents")
    ax.set_title(f"Response times {label}".strip())
    ax.legend()
    histogram = out / "response_times.png"
    fig.savefig(histogram, dpi=110, bbox_inches="tight")
    plt.close(fig)

    hourly = figures["hourly"]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    hours = [h["hour"] for h in hourly]
    ax.bar(hours, [h["incidents"] for h in hourly], color="#9ecae1", label="incidents")
    ax.set_xlabel("hour")
    ax.set_ylabel("incidents")
    ax2 = ax.twinx()
    ax2.plot(hours, [100 * (h["all_tiers"] or 0) for h in hourly], color="#d62728", marker="o",
             label="all three tiers met (%)")
    ax2.set_ylim(0, 100)
    ax2.set_ylabel("% of incidents meeting 1-3-5")
    ax.set_title(f"Incidents and 1-3-5 compliance by hour {label}".strip())
    hourly_png = out / "hourly.png"
    fig.savefig(hourly_png, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return [histogram, hourly_png]
