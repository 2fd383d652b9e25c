"""Hotspot detection: finds a planted cluster, stays quiet on background (seeded statistics)."""

from __future__ import annotations

import math

import numpy as np

from jiefang.reports.clustering import ScanParams, Signal, detect

DAY_S = 86400.0
NOW_S = 1_800_000_000.0
LON0, LAT0 = 113.30, 23.10  # a 20 km square over 天河 and its neighbours
SIDE_DEG = 0.2
PARAMS = ScanParams(window_s=DAY_S, baseline_s=28 * DAY_S, resolution=8, min_count=4, false_alarm_rate=0.01)


def background(rng: np.random.Generator, n: int, start_id: int = 0) -> list[Signal]:
    """Reports at uniformly random places and times over the window and its baseline."""
    span = PARAMS.window_s + PARAMS.baseline_s
    lon = LON0 + rng.random(n) * SIDE_DEG
    lat = LAT0 + rng.random(n) * SIDE_DEG
    t = NOW_S - rng.random(n) * span
    groups = rng.choice(["safety", "order", "fraud"], n)
    return [Signal(start_id + i, float(lon[i]), float(lat[i]), float(t[i]), str(groups[i])) for i in range(n)]


def planted(rng: np.random.Generator, n: int, lon: float, lat: float, radius_m: float) -> list[Signal]:
    """``n`` reports of one group within ``radius_m`` of a point over the last 12 hours."""
    out = []
    for i in range(n):
        angle, r = rng.random() * 2 * math.pi, radius_m * math.sqrt(rng.random())
        dlon = r * math.cos(angle) / (111_195.0 * math.cos(math.radians(lat)))
        out.append(
            Signal(
                10_000 + i, lon + dlon, lat + r * math.sin(angle) / 111_195.0, NOW_S - rng.random() * DAY_S / 2, "order"
            )
        )
    return out


def test_planted_cluster_is_found_among_background_reports() -> None:
    found_in = 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        signals = background(rng, 1500) + planted(rng, 6, 113.40, 23.20, 250.0)
        clusters = detect(signals, NOW_S, PARAMS)
        hit = [c for c in clusters if c.group == "order" and set(range(10_000, 10_006)) <= set(c.ids)]
        found_in += bool(hit)
        if hit:
            assert abs(hit[0].lon - 113.40) < 0.005 and abs(hit[0].lat - 23.20) < 0.005
    assert found_in >= 19  # power close to 1 for 6 reports in 250 m within a day


def test_pure_background_raises_alerts_no_more_often_than_the_false_alarm_rate() -> None:
    scans = 300
    alarmed = sum(bool(detect(background(np.random.default_rng(1000 + s), 1500), NOW_S, PARAMS)) for s in range(scans))
    # Bonferroni bounds the chance of any alert per scan by the rate; allow 3 sigma of sampling noise
    allowed = scans * PARAMS.false_alarm_rate + 3 * math.sqrt(scans * PARAMS.false_alarm_rate)
    assert alarmed <= allowed


def test_a_busy_place_that_stays_busy_is_not_a_hotspot() -> None:
    rng = np.random.default_rng(7)
    steady = [
        Signal(
            i, 113.35 + rng.normal(0, 0.001), 23.15 + rng.normal(0, 0.001), NOW_S - rng.random() * 29 * DAY_S, "safety"
        )
        for i in range(290)
    ]  # ~10 a day, every day
    assert detect(steady, NOW_S, PARAMS) == []


def test_signals_outside_the_window_and_baseline_are_ignored() -> None:
    rng = np.random.default_rng(3)
    old = [Signal(i, 113.40, 23.20, NOW_S - 40 * DAY_S, "order") for i in range(10)]
    future = [Signal(100 + i, 113.40, 23.20, NOW_S + 60, "order") for i in range(10)]
    assert detect(old + future + background(rng, 100, 1000), NOW_S, PARAMS) == []
