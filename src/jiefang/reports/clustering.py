"""Space-time hotspot detection over H3 cells: a pure core (no database, no web).

For each group of related categories, every H3 cell holding a recent report is a candidate
centre; its neighbourhood is the cell and its ring of neighbours (``grid_disk(cell, 1)``). Of the
``n`` reports that fell in the neighbourhood during the recent window and the baseline before it,
a steady rate would put each in the window with probability ``p = window / (window + baseline)``,
whatever the place's own rate — so the recent count is tested against Binomial(n, p). This is
the conditional test of space-time scan statistics: busy streets do not raise alarms for being
busy, only for getting busier. A Bonferroni correction over every neighbourhood that could alert
keeps the chance of any alert on pure background at most ``false_alarm_rate`` per scan.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import h3
from scipy.stats import binom

from jiefang.geo.projection import haversine_m


@dataclass(frozen=True)
class Signal:
    id: int
    lon: float
    lat: float
    t_s: float  # seconds since the epoch
    group: str


@dataclass(frozen=True)
class Cluster:
    group: str
    cell: str
    lon: float
    lat: float
    radius_m: float
    count: int
    expected: float
    p_value: float
    ids: tuple[int, ...]


@dataclass(frozen=True)
class ScanParams:
    window_s: float
    baseline_s: float
    resolution: int = 8
    min_count: int = 4
    false_alarm_rate: float = 0.01


def _disk_sum(counts: Counter[str], cells: Iterable[str]) -> int:
    return sum(counts.get(c, 0) for c in cells)


def _tests(recent: dict[str, Counter[str]], base: dict[str, Counter[str]], min_count: int) -> int:
    """Return how many neighbourhoods could raise an alert: every centre, with or without a report
    of its own, whose neighbourhood holds at least ``min_count`` reports in all. This depends on
    the totals only (not on when the reports came), so the correction stays valid under the null."""
    total = 0
    for group in set(recent) | set(base):
        counts = recent[group] + base[group]
        centres = {c for cell in counts for c in h3.grid_disk(cell, 1)}
        total += sum(1 for c in centres if _disk_sum(counts, h3.grid_disk(c, 1)) >= min_count)
    return max(total, 1)


def detect(signals: Sequence[Signal], now_s: float, params: ScanParams) -> list[Cluster]:
    """Return the hotspots among ``signals`` at time ``now_s``, most significant first.

    Signals older than window + baseline, or later than ``now_s``, are ignored. Overlapping
    alerting neighbourhoods of one group are reported once, by their most significant centre.
    """
    start_recent = now_s - params.window_s
    start_base = start_recent - params.baseline_s
    p = params.window_s / (params.window_s + params.baseline_s)
    recent: dict[str, Counter[str]] = defaultdict(Counter)
    base: dict[str, Counter[str]] = defaultdict(Counter)
    members: dict[tuple[str, str], list[Signal]] = defaultdict(list)
    for s in signals:
        if not start_base <= s.t_s <= now_s:
            continue
        cell = h3.latlng_to_cell(s.lat, s.lon, params.resolution)
        if s.t_s > start_recent:
            recent[s.group][cell] += 1
            members[(s.group, cell)].append(s)
        else:
            base[s.group][cell] += 1
    candidates = [(g, c) for g, cells in recent.items() for c in cells]
    if not candidates:
        return []
    alpha = params.false_alarm_rate / _tests(recent, base, params.min_count)
    found: list[tuple[float, int, str, str, list[str], int, int]] = []
    for group, cell in candidates:
        disk = h3.grid_disk(cell, 1)
        r = _disk_sum(recent[group], disk)
        if r < params.min_count:
            continue
        n = r + _disk_sum(base[group], disk)
        p_value = float(binom.sf(r - 1, n, p))
        if p_value <= alpha:
            found.append((p_value, -r, group, cell, disk, r, n))
    found.sort()
    chosen: list[Cluster] = []
    for p_value, _, group, cell, disk, r, n in found:
        if any(c.group == group and h3.grid_distance(c.cell, cell) <= 2 for c in chosen):
            continue
        pts = [s for d in disk for s in members.get((group, d), [])]
        lon = sum(s.lon for s in pts) / len(pts)
        lat = sum(s.lat for s in pts) / len(pts)
        radius = max(float(haversine_m(lon, lat, s.lon, s.lat)) for s in pts)
        chosen.append(
            Cluster(
                group, cell, lon, lat, round(radius, 1), r, round(n * p, 3), p_value, tuple(sorted(s.id for s in pts))
            )
        )
    return chosen
